#pragma once
// The state shared by bounded_mean and bounded_variance: the count of values,
// the sum of centred fixed-point values d = q - c (c the fixed-point centre of
// the bounds) and, for the variance, the sum of d^2. Centring halves the sum's
// sensitivity (Google's BoundedMean / BoundedVariance do the same); every sum
// is an exact 128-bit integer.

#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <ranges>
#include <string>

#include "../detail/exact_decimal.hpp"
#include "../detail/format.hpp"
#include "../detail/int128.hpp"
#include "../detail/rounding.hpp"
#include "fixed_point.hpp"
#include "serialization.hpp"

namespace dpkit::detail {

/// Count, centred sum and (Order 2) centred sum of squares of clamped fixed-point values.
template <int Order>
struct centred_moments {
    fixed_point grid;
    std::int64_t centre = 0;
    nan_policy nan = nan_policy::reject;
    std::uint64_t max_contributions = 1;
    std::uint64_t count_sensitivity = 1;
    std::uint64_t sum_sensitivity = 1;
    std::uint64_t square_sensitivity = 1;
    std::uint64_t n = 0;
    i128 sum = 0;
    i128 squares = 0;

    /// Fixed-point bits below the width: d^2 must fit the sensitivity's 64 bits.
    static constexpr int bits = Order == 1 ? 30 : 24;

    centred_moments(const char* who, const bounds& b, nan_policy policy, std::uint64_t cap)
        : grid(fixed_point::for_bounds(who, b, bits)), nan(policy), max_contributions(cap) {
        if (cap == 0) throw_invalid(who, "max_contributions must be >= 1", cap);
        centre = grid.q_lower + (grid.q_upper - grid.q_lower) / 2;
        const auto half = static_cast<u128>(std::max(centre - grid.q_lower, grid.q_upper - centre));
        const u128 s1 = half * cap;
        const u128 s2 = half * half * cap;
        if ((Order == 1 ? s1 : s2) >> 64 != 0) {
            throw_invalid(who, "max_contributions too large for the fixed-point sums (sensitivity must be < 2^64)", cap);
        }
        count_sensitivity = cap;
        sum_sensitivity = static_cast<std::uint64_t>(s1);
        square_sensitivity = Order == 1 ? 0 : static_cast<std::uint64_t>(s2);
    }

    /// False when the value was dropped (NaN under nan_policy::drop).
    bool add(const char* who, double x) {
        if (std::isnan(x)) {
            if (nan == nan_policy::reject) throw_invalid(who, "value must not be NaN (nan_policy::reject)", x);
            return false;
        }
        const std::int64_t d = grid.quantize(x) - centre;
        if (n == UINT64_MAX) throw overflow_error(std::string(who) + ": more than 2^64 - 1 values");
        ++n;
        sum = checked_add(who, sum, d);
        if constexpr (Order == 2) squares = checked_add(who, squares, static_cast<i128>(d) * d);
        return true;
    }

    /// Adds every value of a range; contiguous doubles go by blocks (same state,
    /// same exceptions at the same value as one at a time).
    template <class R>
    void add_all(const char* who, R&& values) {
        if constexpr (std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
                      std::same_as<std::ranges::range_value_t<R>, double>) {
            add_contiguous(who, std::ranges::data(values), static_cast<std::size_t>(std::ranges::size(values)));
        } else {
            for (auto&& v : values) add(who, static_cast<double>(v));
        }
    }

    void add_contiguous(const char* who, const double* values, std::size_t size) {
        std::size_t i = 0;
        const block_quantizer kernel(grid);
        const bool usable = Order == 1 ? kernel.usable() : kernel.squares_usable();
        if (size >= block_length && usable && default_float_environment()) {
            for (; i + block_length <= size; i += block_length) {
                block_sums b = kernel.sums<Order == 2>(values + i);
                if (!b.finite && nan == nan_policy::drop) b = kernel.sums<Order == 2, true>(values + i);
                if (b.finite && n <= UINT64_MAX - block_length && far_from_limits(sum) && far_from_limits(squares)) {
                    n += b.kept;
                    sum += static_cast<i128>(b.sum) - static_cast<i128>(b.kept) * centre;
                    if constexpr (Order == 2) squares += kernel.centred_squares(b, centre);
                } else {
                    for (std::size_t j = 0; j < block_length; ++j) add(who, values[i + j]);
                }
            }
        }
        for (; i < size; ++i) add(who, values[i]);
    }

    void merge(const char* who, const centred_moments& o) {
        if (o.grid.lower != grid.lower || o.grid.upper != grid.upper) {
            throw_invalid(who, "cannot merge states with different bounds", o.grid.lower);
        }
        if (o.grid.exponent != grid.exponent) throw_invalid(who, "cannot merge states with different fixed-point resolutions");
        if (o.max_contributions != max_contributions) {
            throw_invalid(who, "cannot merge states with different max_contributions", o.max_contributions);
        }
        if (o.nan != nan) throw_invalid(who, "cannot merge states with different nan_policy");
        if (n > UINT64_MAX - o.n) throw overflow_error(std::string(who) + ": more than 2^64 - 1 values");
        n += o.n;
        sum = checked_add(who, sum, o.sum);
        if constexpr (Order == 2) squares = checked_add(who, squares, o.squares);
    }

    /// The centre of the bounds in the values' units.
    double centre_value() const noexcept { return grid.to_value(centre); }

    void write(byte_writer& w) const {
        w.f64(grid.lower);
        w.f64(grid.upper);
        w.i64(grid.exponent);
        w.u8(static_cast<std::uint8_t>(nan));
        w.u64(max_contributions);
        w.u64(n);
        w.i128v(sum);
        if constexpr (Order == 2) w.i128v(squares);
    }

    static centred_moments read(const char* who, byte_reader& r, bool last = true) {
        const double lower = r.f64();
        const double upper = r.f64();
        const std::int64_t exponent = r.i64();
        const std::uint8_t policy = r.u8();
        if (policy > 1) r.fail("malformed state (bad nan_policy)");
        const std::uint64_t cap = r.u64();
        centred_moments m(who, bounds{lower, upper}, static_cast<nan_policy>(policy), cap);  // validates
        if (exponent != m.grid.exponent) r.fail("malformed state (fixed-point resolution does not match the bounds)");
        m.n = r.u64();
        m.sum = r.i128v();
        if constexpr (Order == 2) m.squares = r.i128v();
        // Each centred value lies in [q_lower - c, q_upper - c]: the sums must too.
        const i128 lo = static_cast<i128>(m.grid.q_lower - m.centre) * static_cast<i128>(m.n);
        const i128 hi = static_cast<i128>(m.grid.q_upper - m.centre) * static_cast<i128>(m.n);
        if (m.sum < lo || m.sum > hi) r.fail("malformed state (sum outside what the bounds and count allow)");
        if constexpr (Order == 2) {
            const i128 half = std::max(m.centre - m.grid.q_lower, m.grid.q_upper - m.centre);
            if (m.squares < 0 || m.squares > half * half * static_cast<i128>(m.n)) {
                r.fail("malformed state (sum of squares outside what the bounds and count allow)");
            }
        }
        if (last) r.finish();
        return m;
    }
};

}  // namespace dpkit::detail
