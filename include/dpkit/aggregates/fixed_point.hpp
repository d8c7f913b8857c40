#pragma once
/// \file
/// Declared bounds and the fixed-point representation that makes dpkit's sums
/// exact. A value is clamped to its declared bounds [L, U] (infinities clamp
/// like any other value), then rounded to the nearest multiple of the
/// resolution r = 2^e, the largest power of two <= (U - L) 2^-30: r depends on
/// the bounds only. Sums of the resulting integers are exact (checked 128-bit
/// arithmetic), so they are the same under any order of addition and any split
/// into shards, and one value moves them by at most max(|round(L/r)|, |round(U/r)|)
/// steps: rounding is monotone, so the declared sensitivity holds for every
/// input, including the repeated-rounding and absorption cases in which a
/// floating-point sum exceeds it (Casacuberta, Shoemate, Vadhan, Wagaman, CCS
/// 2022, "Widespread underestimation of sensitivity in differentially private
/// libraries and how to fix it").

#include <cmath>
#include <cstdint>
#include <limits>

#include "../detail/format.hpp"
#include "../detail/int128.hpp"

namespace dpkit {

/// The public range [lower, upper] that every value is clamped to. Declare it
/// from what the column can hold (ages: 0 to 120), never from the data.
struct bounds {
    double lower;
    double upper;
    friend constexpr bool operator==(const bounds&, const bounds&) = default;
};

/// What add() does with NaN, which has no place between the bounds.
enum class nan_policy : std::uint8_t {
    reject,  ///< throw dpkit::invalid_argument (the default)
    drop,    ///< skip the row (the number skipped is private and is never released)
};

namespace detail {

/// Values in [lower, upper] as integers q = round(x / 2^exponent).
struct fixed_point {
    double lower = 0;
    double upper = 1;
    int exponent = 0;
    std::int64_t q_lower = 0;
    std::int64_t q_upper = 0;

    /// Bits of resolution below the width of the bounds.
    static constexpr int resolution_bits = 30;

    /// Validates the bounds (finite, lower < upper, magnitudes within 2^21 widths
    /// and a normal resolution) and derives the resolution 2^(ilogb(width) - bits).
    static fixed_point for_bounds(const char* who, const bounds& b, int bits = resolution_bits) {
        if (!std::isfinite(b.lower)) throw_invalid(who, "bounds.lower must be finite", b.lower);
        if (!std::isfinite(b.upper)) throw_invalid(who, "bounds.upper must be finite", b.upper);
        if (!(b.lower < b.upper)) throw_invalid(who, "bounds.lower must be < bounds.upper", b.lower);
        const double width = b.upper - b.lower;
        if (!std::isfinite(width)) throw_invalid(who, "bounds too wide: upper - lower must be finite", width);
        fixed_point f;
        f.lower = b.lower;
        f.upper = b.upper;
        f.exponent = std::ilogb(width) - bits;
        if (f.exponent < std::numeric_limits<double>::min_exponent - 1) {
            throw_invalid(who, "bounds too narrow: upper - lower must be >= 2^-990", width);
        }
        const double magnitude = std::fmax(std::fabs(b.lower), std::fabs(b.upper));
        if (!(std::ldexp(magnitude, -f.exponent) < 0x1p52)) {
            throw_invalid(who, "bounds too narrow for their magnitude: max(|lower|, |upper|) / (upper - lower) must be < 2^21",
                          magnitude);
        }
        f.q_lower = f.to_units(b.lower);
        f.q_upper = f.to_units(b.upper);
        return f;
    }

    /// round(x / r) for x already within the bounds (ties away from zero; exact).
    std::int64_t to_units(double x) const noexcept {
        return static_cast<std::int64_t>(std::round(std::ldexp(x, -exponent)));
    }

    /// The clamped, quantised value of x (not NaN).
    std::int64_t quantize(double x) const noexcept {
        const double c = x < lower ? lower : (x > upper ? upper : x);
        return to_units(c);
    }

    /// The most one value moves a sum of quantised values (add/remove neighbours).
    std::uint64_t sum_sensitivity() const noexcept {
        const auto a = static_cast<std::uint64_t>(q_lower < 0 ? -q_lower : q_lower);
        const auto b = static_cast<std::uint64_t>(q_upper < 0 ? -q_upper : q_upper);
        return a > b ? a : b;
    }

    /// A quantity in steps as a double (post-processing).
    double to_value(i128 units) const noexcept { return std::ldexp(static_cast<double>(units), exponent); }
    double resolution() const noexcept { return std::ldexp(1.0, exponent); }
};

/// a + b, refusing to wrap (never happens below 2^64 values of at most 2^53 steps).
inline i128 checked_add(const char* who, i128 a, i128 b) {
    i128 out = 0;
    if (__builtin_add_overflow(a, b, &out)) throw overflow_error(std::string(who) + ": the exact sum would overflow 128 bits");
    return out;
}

}  // namespace detail
}  // namespace dpkit
