#pragma once
/// \file
/// The power-of-two lattice on which dpkit's real-valued mechanisms work
/// (the "snapping" defence of Mironov 2012, "On Significance of the Least
/// Significant Bits for Differential Privacy", done exactly: Balcer & Vadhan
/// 2018; Canonne, Kamath, Steinke 2020 §6). An input x is rounded to the
/// nearest multiple of the step g = 2^k, integer noise from an exact sampler is
/// added in units of g, and the result is returned as (n + Z) g, an exact
/// double. The step depends only on public parameters (the noise scale), so
/// the set of possible outputs is the same for every input, and no
/// floating-point operation touches the noise: the attacks of Mironov 2012 and
/// Haney et al. 2022 ("Precision-based attacks and interval refining") have
/// nothing to read in the low-order bits.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include "../detail/format.hpp"

namespace dpkit::detail {

/// A lattice step 2^exponent and the input range it can represent exactly.
struct lattice {
    int exponent = 0;

    double step() const noexcept { return std::ldexp(1.0, exponent); }

    /// Largest |x| accepted: 2^52 steps, so n + noise stays an exact double.
    double max_input() const noexcept { return std::ldexp(1.0, exponent + 52); }

    /// Round x to the nearest multiple of the step (ties away from zero, which
    /// does not depend on the floating-point rounding mode); x / step is exact.
    std::int64_t round(std::string_view who, double x) const {
        if (!std::isfinite(x)) throw_invalid(who, "input must be finite (NaN and infinities are never noised)", x);
        const double units = std::ldexp(x, -exponent);
        if (!(std::fabs(units) <= 0x1p52)) {
            throw_invalid(who, "input outside the representable range |x| <= 2^52 * lattice step (" +
                                   to_string_exact(max_input()) + "); clamp it first", x);
        }
        return static_cast<std::int64_t>(std::round(units));
    }

    /// (n + z) * step as an exact double when |n + z| < 2^53; larger sums are
    /// rounded to a coarser multiple of the step (a function of the noisy value
    /// only, so post-processing). z is saturated into range first.
    double value(std::int64_t n, std::int64_t z) const noexcept {
        std::int64_t sum = 0;
        if (__builtin_add_overflow(n, z, &sum)) {
            sum = z > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
        }
        return std::ldexp(static_cast<double>(sum), exponent);
    }
};

/// Bits of resolution of the lattice below the per-coordinate sensitivity: the
/// rounding then inflates the sensitivity by at most a relative 2^-20.
inline constexpr int lattice_sensitivity_bits = 20;

/// The lattice whose step is the largest power of two that is at most both
/// 2^-bits * scale (resolution of the noise) and 2^-20 * unit_sensitivity
/// (cost of rounding). Throws when the step would be subnormal or the
/// representable range would overflow.
inline lattice lattice_for_scale(std::string_view who, double scale, int bits, double unit_sensitivity) {
    const int exponent = std::min(std::ilogb(scale) - bits, std::ilogb(unit_sensitivity) - lattice_sensitivity_bits);
    if (exponent < std::numeric_limits<double>::min_exponent - 1 || exponent + 64 > std::numeric_limits<double>::max_exponent - 1) {
        throw_invalid(who, "noise scale outside the range the lattice can represent (lattice would overflow)", scale);
    }
    return lattice{exponent};
}

}  // namespace dpkit::detail
