#pragma once
// The noise-adding step shared by the Laplace and Gaussian mechanisms: integer
// values get integer noise directly (saturating at the type's range); doubles
// are rounded onto the lattice, get integer noise in steps, and come back as
// exact multiples of the step. Every input of a vector is validated before any
// noise is drawn, so a rejected call consumes no randomness.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <ranges>
#include <span>
#include <type_traits>
#include <vector>

#include "../detail/int128.hpp"
#include "../detail/validate.hpp"
#include "lattice.hpp"

namespace dpkit::detail {

template <class T>
concept mechanism_value = std::same_as<T, double> || (std::signed_integral<T> && sizeof(T) <= 8);

/// x + z for integers, saturated to T's range (post-processing of the noisy value).
template <std::signed_integral T>
T saturating_add(T x, std::int64_t z) noexcept {
    i128 sum = static_cast<i128>(x) + z;
    if (sum > std::numeric_limits<T>::max()) sum = std::numeric_limits<T>::max();
    if (sum < std::numeric_limits<T>::min()) sum = std::numeric_limits<T>::min();
    return static_cast<T>(sum);
}

/// A range whose elements convert to T but that is not already a contiguous span of T.
template <class R, class T>
concept noisable_range = std::ranges::input_range<R> && !std::convertible_to<R, std::span<const T>> &&
                         std::convertible_to<std::ranges::range_value_t<R>, T>;

template <class T, class Distribution>
struct additive_noise {
    lattice grid{};  // used for doubles only
    Distribution noise;

    double step() const noexcept {
        if constexpr (std::is_integral_v<T>) {
            return 1.0;
        } else {
            return grid.step();
        }
    }

    double max_input() const noexcept {
        if constexpr (std::is_integral_v<T>) {
            return static_cast<double>(std::numeric_limits<T>::max());
        } else {
            return grid.max_input();
        }
    }

    template <std::uniform_random_bit_generator G>
    T apply(const char* who, T value, G& g) const {
        if constexpr (std::is_integral_v<T>) {
            return saturating_add(value, noise(g));
        } else {
            const std::int64_t n = grid.round(who, value);
            return grid.value(n, noise(g));
        }
    }

    template <std::uniform_random_bit_generator G>
    std::vector<T> apply(const char* who, std::span<const T> values, std::size_t dimension, G& g) const {
        require_size(who, values.size(), dimension);
        std::vector<T> out(values.begin(), values.end());
        if constexpr (std::is_integral_v<T>) {
            for (T& v : out) v = saturating_add(v, noise(g));
        } else {
            std::vector<std::int64_t> units;
            units.reserve(values.size());
            for (T v : values) units.push_back(grid.round(who, v));  // validate all before any noise
            for (std::size_t i = 0; i < out.size(); ++i) out[i] = grid.value(units[i], noise(g));
        }
        return out;
    }
};

}  // namespace dpkit::detail
