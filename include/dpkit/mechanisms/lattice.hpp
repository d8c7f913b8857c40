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
///
/// Input range: an input is noised around itself when |x| <= 2^125 steps (at
/// least 2^104 times the smaller of the noise scale and the per-coordinate
/// sensitivity, since the step is more than half of 2^-20 times that); beyond that, and at +-infinity, it is clamped to
/// that public range first. Clamping is 1-Lipschitz, so the declared
/// sensitivity still holds, and no input makes a call fail except NaN: whether
/// a release throws never depends on a private value.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include "../detail/format.hpp"
#include "../detail/int128.hpp"

namespace dpkit::detail {

/// A lattice step 2^exponent. Inputs are rounded to a 128-bit multiple of the
/// step and clamped to the public range |x| <= max_input() = 2^(exponent + 125)
/// (see above); clamping is 1-Lipschitz, so it never
/// increases the distance between neighbours and the guarantee holds for every
/// input. Whether a call succeeds never depends on the value: only NaN is
/// refused (it is no point of the line); +-infinity clamps like any large value.
struct lattice {
    int exponent = 0;

    /// Bits of the clamped input index: |n| <= 2^125 steps, so n + noise fits 128 bits.
    static constexpr int index_bits = 125;

    double step() const noexcept { return std::ldexp(1.0, exponent); }

    /// Largest |x| noised around itself; larger inputs are clamped to +-max_input().
    double max_input() const noexcept { return std::ldexp(1.0, exponent + index_bits); }

    /// x rounded to the nearest multiple of the step (ties away from zero, which
    /// does not depend on the floating-point rounding mode), in steps, clamped to
    /// +-2^125; x / step is exact. Throws only for NaN.
    i128 round(std::string_view who, double x) const {
        if (std::isnan(x)) throw_invalid(who, "input must not be NaN (infinities are clamped, NaN is refused)", x);
        const double units = std::ldexp(x, -exponent);
        constexpr double limit = 0x1p125;
        if (!(std::fabs(units) < limit)) return units > 0 ? max_index() : -max_index();
        return static_cast<i128>(std::round(units));  // |units| < 2^125: exact conversion
    }

    /// (n + z) * step: exact when |n + z| < 2^53, otherwise the nearest double
    /// (a function of the noisy value only, so post-processing); saturates at
    /// the largest finite double.
    double value(i128 n, std::int64_t z) const noexcept {
        const double v = std::ldexp(static_cast<double>(n + z), exponent);  // |n + z| < 2^126: no overflow
        if (std::isinf(v)) return v > 0 ? std::numeric_limits<double>::max() : std::numeric_limits<double>::lowest();
        return v;
    }

private:
    static constexpr i128 max_index() noexcept { return static_cast<i128>(1) << index_bits; }
};

/// Bits of resolution of the lattice below the per-coordinate sensitivity: the
/// rounding then inflates the sensitivity by at most a relative 2^-20.
inline constexpr int lattice_sensitivity_bits = 20;

/// The lattice whose step is the largest power of two that is at most both
/// 2^-bits * scale (resolution of the noise) and 2^-20 * unit_sensitivity
/// (cost of rounding). Throws when the step would be subnormal or the noise
/// range (2^64 steps) would overflow a double.
inline lattice lattice_for_scale(std::string_view who, double scale, int bits, double unit_sensitivity) {
    const int exponent = std::min(std::ilogb(scale) - bits, std::ilogb(unit_sensitivity) - lattice_sensitivity_bits);
    if (exponent < std::numeric_limits<double>::min_exponent - 1 || exponent + 64 > std::numeric_limits<double>::max_exponent - 1) {
        throw_invalid(who, "noise scale outside the range the lattice can represent (lattice would overflow)", scale);
    }
    return lattice{exponent};
}

}  // namespace dpkit::detail
