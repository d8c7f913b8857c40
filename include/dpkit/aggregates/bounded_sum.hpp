#pragma once
/// \file
/// dpkit::bounded_sum<T>: the sum of values clamped to declared bounds, summed
/// exactly and released once with Laplace or Gaussian noise.
///
/// Neighbouring datasets: add or remove one privacy unit, which contributes at
/// most `max_contributions` values (1 unless contribution bounding enforces a
/// larger cap). Doubles are clamped and mapped to fixed-point integers whose
/// resolution comes from the bounds only (fixed_point.hpp); integers are
/// clamped. The state is an exact 128-bit integer, identical under any order of
/// addition and any split into shards, and one unit moves it by at most
/// max_contributions * max(|lower|, |upper|) (in fixed-point steps: exactly the
/// quantised bounds), which is the sensitivity the noise is calibrated to.
/// NaN follows the nan_policy (rejected by default); infinities clamp.

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "../detail/format.hpp"
#include "../detail/int128.hpp"
#include "fixed_point.hpp"
#include "release.hpp"
#include "serialization.hpp"

namespace dpkit {

/// A mergeable, exact sum of clamped values with one release. T is double or a
/// signed integer type of at most 64 bits.
template <class T = double>
    requires(std::same_as<T, double> || (std::signed_integral<T> && sizeof(T) <= 8))
class bounded_sum {
public:
    /// Values are clamped to `b`; each unit adds at most `max_contributions` values.
    explicit bounded_sum(dpkit::bounds b, nan_policy nan = nan_policy::reject, std::uint64_t max_contributions = 1)
        : nan_(nan), max_contributions_(max_contributions) {
        if (max_contributions_ == 0) detail::throw_invalid(who, "max_contributions must be >= 1", max_contributions_);
        if constexpr (std::is_floating_point_v<T>) {
            grid_ = detail::fixed_point::for_bounds(who, b);
        } else {
            if (!(b.lower < b.upper)) detail::throw_invalid(who, "bounds.lower must be < bounds.upper", b.lower);
            if (b.lower != std::floor(b.lower) || !(b.lower >= -0x1p63) || !(b.lower < 0x1p63)) {
                detail::throw_invalid(who, "bounds.lower must be an integer in T's range", b.lower);
            }
            if (b.upper != std::floor(b.upper) || !(b.upper >= -0x1p63) || !(b.upper < 0x1p63)) {
                detail::throw_invalid(who, "bounds.upper must be an integer in T's range", b.upper);
            }
            grid_.lower = b.lower;
            grid_.upper = b.upper;
            grid_.exponent = 0;
            grid_.q_lower = static_cast<std::int64_t>(b.lower);
            grid_.q_upper = static_cast<std::int64_t>(b.upper);
            if (grid_.q_lower < std::numeric_limits<T>::min() || grid_.q_upper > std::numeric_limits<T>::max()) {
                detail::throw_invalid(who, "bounds must lie in T's range", b.upper);
            }
        }
        const detail::u128 s = static_cast<detail::u128>(grid_.sum_sensitivity()) * max_contributions_;
        if (s >> 64 != 0 || s == 0) detail::throw_invalid(who, "max_contributions * max(|lower|, |upper|) must be in [1, 2^64)", max_contributions_);
        sensitivity_steps_ = static_cast<std::uint64_t>(s);
    }

    /// Adds one value (clamped; NaN by the nan_policy).
    void add(T x) {
        check_open("add");
        if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(x)) {
                if (nan_ == nan_policy::reject) detail::throw_invalid(who, "value must not be NaN (nan_policy::reject)", x);
                return;
            }
            sum_ = detail::checked_add(who, sum_, grid_.quantize(x));
        } else {
            const auto v = static_cast<std::int64_t>(x);
            sum_ = detail::checked_add(who, sum_, v < grid_.q_lower ? grid_.q_lower : (v > grid_.q_upper ? grid_.q_upper : v));
        }
    }

    /// Adds every value of a range (no copy). Contiguous ranges of T are summed
    /// in blocks, with the same state, and the same exceptions at the same
    /// value, as adding the values one at a time.
    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_value_t<R>, T>
    void add(R&& values) {
        if constexpr (std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
                      std::same_as<std::ranges::range_value_t<R>, T>) {
            add_contiguous(std::ranges::data(values), static_cast<std::size_t>(std::ranges::size(values)));
        } else {
            for (auto&& v : values) add(static_cast<T>(v));
        }
    }

    /// Adds another shard's state (same bounds, resolution, cap and NaN policy; neither released).
    void merge(const bounded_sum& other) {
        check_open("merge");
        if (other.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        check_same(other);
        sum_ = detail::checked_add(who, sum_, other.sum_);
    }

    dpkit::bounds bounds() const noexcept { return {grid_.lower, grid_.upper}; }
    std::uint64_t max_contributions() const noexcept { return max_contributions_; }
    /// The L1 (= L2) sensitivity in the values' units: what one unit can move the sum.
    double sensitivity() const noexcept { return std::ldexp(static_cast<double>(sensitivity_steps_), grid_.exponent); }
    /// The fixed-point resolution (1 for integers).
    double resolution() const noexcept { return grid_.resolution(); }
    bool is_released() const noexcept { return released_; }

    /// The interval around a release with this noise at `level`, without spending.
    template <noise_spec Noise>
    interval noise_interval(const Noise& noise, double level) const {
        const interval steps = detail::planned_noise_interval(noise, sensitivity_steps_, level);
        return interval{std::ldexp(steps.lower, grid_.exponent), std::ldexp(steps.upper, grid_.exponent)};
    }

    /// Releases the noisy sum once. The interval holds the exact (clamped,
    /// quantised) sum with probability >= level.
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    released<double> release(accountant<Rule>& acct, const Noise& noise, double level, G& g, std::string_view label) {
        check_open("release");
        const auto r = detail::draw_integer<Rule>(sum_, sensitivity_steps_, noise, level, g);
        auto costs = detail::spend_parts(acct, std::array{std::pair{std::string(label), r.cost}});
        released_ = true;
        const double value = r.scaled(grid_.exponent);
        return released<double>{value, around(value, r.scaled_noise(grid_.exponent)), level, std::move(costs)};
    }

    /// The versioned, platform-independent state (see serialization.hpp).
    std::vector<std::byte> serialize() const {
        detail::byte_writer w(kind(), released_);
        w.f64(grid_.lower);
        w.f64(grid_.upper);
        w.i64(grid_.exponent);
        w.u8(static_cast<std::uint8_t>(nan_));
        w.u64(max_contributions_);
        w.i128v(sum_);
        return w.take();
    }

    /// Rebuilds an unreleased state; refuses anything malformed, released or out of range.
    static bounded_sum deserialize(std::span<const std::byte> bytes) {
        detail::byte_reader r(who, bytes, kind());
        const double lower = r.f64();
        const double upper = r.f64();
        const std::int64_t exponent = r.i64();
        const std::uint8_t nan = r.u8();
        if (nan > 1) r.fail("malformed state (bad nan_policy)");
        const std::uint64_t cap = r.u64();
        bounded_sum s(dpkit::bounds{lower, upper}, static_cast<nan_policy>(nan), cap);  // validates the parameters
        if (exponent != s.grid_.exponent) r.fail("malformed state (fixed-point resolution does not match the bounds)");
        s.sum_ = r.i128v();
        r.finish();
        return s;
    }

private:
    static constexpr const char* who = "dpkit::bounded_sum";
    static constexpr aggregate_kind kind() noexcept {
        return std::is_floating_point_v<T> ? aggregate_kind::bounded_sum_real : aggregate_kind::bounded_sum_integer;
    }

    void add_contiguous(const T* values, std::size_t size) {
        if (size == 0) return;
        check_open("add");
        std::size_t i = 0;
        if constexpr (std::is_floating_point_v<T>) {
            const detail::block_quantizer kernel(grid_);
            if (size >= detail::block_length && kernel.usable() && detail::default_float_environment()) {
                for (; i + detail::block_length <= size; i += detail::block_length) {
                    detail::block_sums b = kernel.sums<false>(values + i);
                    if (!b.finite && nan_ == nan_policy::drop) b = kernel.sums<false, true>(values + i);
                    if (b.finite && detail::far_from_limits(sum_)) {
                        sum_ += b.sum;
                    } else {
                        for (std::size_t j = 0; j < detail::block_length; ++j) add(values[i + j]);
                    }
                }
            }
        } else {
            // Clamped values have |v| <= 2^63, so a block's sum stays below 2^71.
            const std::int64_t lo = grid_.q_lower;
            const std::int64_t hi = grid_.q_upper;
            for (; i + detail::block_length <= size && detail::far_from_limits(sum_); i += detail::block_length) {
                detail::i128 block = 0;
                for (std::size_t j = 0; j < detail::block_length; ++j) {
                    const auto v = static_cast<std::int64_t>(values[i + j]);
                    block += v < lo ? lo : (v > hi ? hi : v);
                }
                sum_ += block;
            }
        }
        for (; i < size; ++i) add(values[i]);
    }

    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the sum was already released");
    }
    void check_same(const bounded_sum& o) const {
        if (o.grid_.lower != grid_.lower || o.grid_.upper != grid_.upper) {
            detail::throw_invalid(who, "cannot merge sums with different bounds", o.grid_.lower);
        }
        if (o.grid_.exponent != grid_.exponent) detail::throw_invalid(who, "cannot merge sums with different fixed-point resolutions");
        if (o.max_contributions_ != max_contributions_) {
            detail::throw_invalid(who, "cannot merge sums with different max_contributions", o.max_contributions_);
        }
        if (o.nan_ != nan_) detail::throw_invalid(who, "cannot merge sums with different nan_policy");
    }

    detail::fixed_point grid_;
    nan_policy nan_;
    std::uint64_t max_contributions_;
    std::uint64_t sensitivity_steps_ = 1;
    detail::i128 sum_ = 0;
    bool released_ = false;
};

}  // namespace dpkit
