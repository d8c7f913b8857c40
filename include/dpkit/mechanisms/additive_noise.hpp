#pragma once
// The noise-adding step shared by the Laplace and Gaussian mechanisms: integer
// values get integer noise directly (saturating at the type's range); doubles
// are rounded onto the lattice, get integer noise in steps, and come back as
// exact multiples of the step. Every input of a vector is validated before any
// noise is drawn, so a rejected call (NaN) consumes no randomness.

#include <bit>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <ranges>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "../detail/int128.hpp"
#include "../detail/validate.hpp"
#include "../random/bits.hpp"
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

/// 2^e for a normal exponent e in [-1022, 1023], built from its bits (no libm call).
inline double power_of_two(int e) noexcept {
    return std::bit_cast<double>(static_cast<std::uint64_t>(e + 1023) << 52);
}

/// x rounded to the nearest multiple of the lattice step (ties away from
/// zero), in steps, when |x| < 2^62 steps: the same value as lattice::round,
/// without a libm call. Returns false (leaving n alone) otherwise, NaN included.
inline bool fast_round(const lattice& grid, double x, std::int64_t& n) noexcept {
    const double units = x * power_of_two(-grid.exponent);  // exact (a power of two; no overflow below 2^62)
    if (!(std::fabs(units) < 0x1p62)) return false;
    const auto whole = static_cast<std::int64_t>(units);      // truncation
    const double fraction = units - static_cast<double>(whole);  // exact
    n = whole + static_cast<std::int64_t>(fraction >= 0.5) - static_cast<std::int64_t>(fraction <= -0.5);
    return true;
}

/// (n + z) * step when n + z fits in 64 bits: the same double as lattice::value
/// (one rounding of the same integer, then an exact power-of-two scaling).
inline bool fast_value(const lattice& grid, std::int64_t n, std::int64_t z, double& out) noexcept {
    std::int64_t sum = 0;
    if (__builtin_add_overflow(n, z, &sum)) return false;
    out = static_cast<double>(sum) * power_of_two(grid.exponent);
    return true;
}

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
            std::int64_t n = 0;
            if (fast_round(grid, value, n)) [[likely]] {
                const std::int64_t z = noise(g);
                double out = 0;
                if (fast_value(grid, n, z, out)) [[likely]] return out;
                return grid.value(n, z);
            }
            return grid.value(grid.round(who, value), noise(g));
        }
    }

    /// One noisy value with noise drawn from an existing bit pool.
    template <class Pool>
    T apply_from(T value, std::int64_t n, Pool& bits) const {
        if constexpr (std::is_integral_v<T>) {
            (void)n;
            return saturating_add(value, noise.draw(bits));
        } else {
            const std::int64_t z = noise.draw(bits);
            double out = 0;
            if (fast_value(grid, n, z, out)) [[likely]] return out;
            return grid.value(n, z);
        }
    }

    /// out[i] = noise in the units of the values (the output for input 0), one
    /// bit pool for the whole span.
    template <std::uniform_random_bit_generator G>
    void fill(std::span<T> out, G& g) const {
        bit_pool<G> bits(g);
        for (T& v : out) v = apply_from(T{0}, 0, bits);
    }

    /// values[i] += noise, in place; all values are validated (NaN throws)
    /// before any noise is drawn, and large values clamp as in apply().
    template <std::uniform_random_bit_generator G>
    void add_in_place(const char* who, std::span<T> values, std::size_t dimension, G& g) const {
        require_size(who, values.size(), dimension);
        bit_pool<G> bits(g);
        if constexpr (std::is_integral_v<T>) {
            for (T& v : values) v = apply_from(v, 0, bits);
        } else {
            for (const double v : values) {
                std::int64_t n = 0;
                if (!fast_round(grid, v, n)) (void)grid.round(who, v);  // NaN throws here, before any noise
            }
            for (double& v : values) {
                std::int64_t n = 0;
                if (fast_round(grid, v, n)) [[likely]] {
                    v = apply_from(v, n, bits);
                } else {
                    v = grid.value(grid.round(who, v), noise.draw(bits));
                }
            }
        }
    }

    template <std::uniform_random_bit_generator G>
    std::vector<T> apply(const char* who, std::span<const T> values, std::size_t dimension, G& g) const {
        std::vector<T> out(values.begin(), values.end());
        add_in_place(who, std::span<T>(out), dimension, g);
        return out;
    }
};

/// What the Laplace and Gaussian mechanisms share: the dimension, the noise
/// (lattice and exact distribution) and the operators that apply it.
template <class T, class Distribution>
class additive_mechanism {
public:
    using value_type = T;

    /// Vector length this mechanism was built for (1 for scalars).
    std::size_t dimension() const noexcept { return dimension_; }
    /// Lattice step g (1 for integer values): every output is a multiple of it.
    double step() const noexcept { return noise_.step(); }
    /// Largest |input| noised around itself (doubles: 2^125 steps, integers:
    /// the type's range); larger doubles, and +-infinity, are clamped to it.
    double max_input() const noexcept { return noise_.max_input(); }
    /// The exact integer noise distribution, in units of step().
    const Distribution& noise_distribution() const noexcept { return noise_.noise; }

    /// value + noise. Doubles beyond +-max_input() (and +-infinity) are clamped
    /// to it first; NaN throws dpkit::invalid_argument (never noised), so
    /// whether a call throws never depends on a real value.
    template <std::uniform_random_bit_generator G>
    T operator()(T value, G& g) const {
        return noise_.apply(who_, value, g);
    }

    /// Element-wise noise for a vector of length dimension().
    template <std::uniform_random_bit_generator G>
    std::vector<T> operator()(std::span<const T> values, G& g) const {
        return noise_.apply(who_, values, dimension_, g);
    }

    /// Element-wise noise for any other range of length dimension() (copied first).
    template <class R, std::uniform_random_bit_generator G>
        requires noisable_range<R, T>
    std::vector<T> operator()(R&& values, G& g) const {
        std::vector<T> copy;
        for (auto&& v : values) copy.push_back(static_cast<T>(v));
        return noise_.apply(who_, std::span<const T>(copy), dimension_, g);
    }

    /// Adds independent noise to every element of `values` (length
    /// dimension()) in place, exactly as operator() on the vector would: NaN
    /// anywhere throws before any noise is drawn; one pool of random bits feeds
    /// the whole span, so it is faster per element than scalar calls.
    template <std::uniform_random_bit_generator G>
    void add_noise(std::span<T> values, G& g) const {
        noise_.add_in_place(who_, values, dimension_, g);
    }

    /// Fills `out` (any length) with independent draws of the noise, in the
    /// units of the values (each is what operator() would add to 0).
    template <std::uniform_random_bit_generator G>
    void fill_noise(std::span<T> out, G& g) const {
        noise_.fill(out, g);
    }

protected:
    additive_mechanism(const char* who, std::size_t dim, Distribution initial)
        : who_(who), dimension_(require_dimension(who, dim)), noise_{{}, std::move(initial)} {}

    const char* who_;
    std::size_t dimension_;
    additive_noise<T, Distribution> noise_;
};

/// What the timing-safe Laplace and Gaussian mechanisms share: an exact
/// mechanism's calibration and lattice, with noise from a timing-safe sampler
/// (random/timing_safe.hpp), whose distance eta to the exact noise costs
/// (1 + e^epsilon) d eta of extra delta.
template <class Exact, class Safe>
class timing_safe_additive {
public:
    using value_type = typename Exact::value_type;
    using T = value_type;

    /// The exact mechanism whose calibration this one uses (for accuracy questions).
    const Exact& exact() const noexcept { return exact_; }
    std::size_t dimension() const noexcept { return exact_.dimension(); }
    double step() const noexcept { return exact_.step(); }
    double max_input() const noexcept { return exact_.max_input(); }
    /// The timing-safe noise distribution, in units of step().
    const Safe& noise_distribution() const noexcept { return noise_.noise; }
    /// The delta added for the sampler's distance to the exact noise.
    double timing_delta() const noexcept { return timing_delta_; }

    /// value + noise (clamping and NaN as for the exact mechanism).
    template <std::uniform_random_bit_generator G>
    T operator()(T value, G& g) const {
        return noise_.apply(who_, value, g);
    }
    /// Element-wise noise for a vector of length dimension().
    template <std::uniform_random_bit_generator G>
    std::vector<T> operator()(std::span<const T> values, G& g) const {
        return noise_.apply(who_, values, exact_.dimension(), g);
    }
    /// Adds noise to every element in place (length dimension(); NaN throws first).
    template <std::uniform_random_bit_generator G>
    void add_noise(std::span<T> values, G& g) const {
        noise_.add_in_place(who_, values, exact_.dimension(), g);
    }
    /// Fills `out` with independent draws of the noise, in the units of the values.
    template <std::uniform_random_bit_generator G>
    void fill_noise(std::span<T> out, G& g) const {
        noise_.fill(out, g);
    }

protected:
    timing_safe_additive(const char* who, Exact exact, Safe safe)
        : who_(who), exact_(std::move(exact)), noise_{lattice{std::ilogb(exact_.step())}, std::move(safe)} {}

    const char* who_;
    Exact exact_;
    additive_noise<T, Safe> noise_;
    double timing_delta_ = 0;
};

}  // namespace dpkit::detail
