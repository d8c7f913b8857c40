#pragma once
// Directed rounding for privacy arithmetic. Each *_up result is >= the exact
// real result and each *_down result is <= it, assuming the default
// round-to-nearest floating-point mode (a correctly rounded result is within
// half an ulp, so one nextafter step in the wanted direction is a bound).
// libm's exp/log/expm1/log1p are not guaranteed correctly rounded, so their
// bounds step two ulps (glibc documents errors below 1 ulp for these).

#include <cmath>
#include <limits>

namespace dpkit::detail {

inline constexpr double infinity = std::numeric_limits<double>::infinity();

inline double next_up(double x) noexcept { return std::nextafter(x, infinity); }
inline double next_down(double x) noexcept { return std::nextafter(x, -infinity); }

// For +, -, *, / and sqrt the rounding error of the correctly rounded result is
// computed exactly (two-sum; fused multiply-add residuals), so a result is only
// stepped when it lies on the wrong side of the exact value: exact results stay exact.

/// Sign of the exact a + b minus its rounded value r (Knuth's two-sum).
inline double sum_error(double a, double b, double r) noexcept {
    const double bb = r - a;
    return (a - (r - bb)) + (b - bb);
}

inline double add_up(double a, double b) noexcept {
    const double r = a + b;
    return std::isfinite(r) && sum_error(a, b, r) > 0 ? next_up(r) : r;
}
inline double add_down(double a, double b) noexcept {
    const double r = a + b;
    return std::isfinite(r) && sum_error(a, b, r) < 0 ? next_down(r) : r;
}
inline double sub_up(double a, double b) noexcept { return add_up(a, -b); }
inline double sub_down(double a, double b) noexcept { return add_down(a, -b); }
/// True when a product or quotient involves a value below 2^-960 (zero
/// included): its fma residual may then underflow and no longer tell on which
/// side the rounded result lies, so the result is stepped unconditionally.
inline bool tiny(double a, double b, double r) noexcept {
    constexpr double limit = 0x1p-960;
    return std::fabs(a) < limit || std::fabs(b) < limit || std::fabs(r) < limit;
}

inline double mul_up(double a, double b) noexcept {
    const double r = a * b;
    if (!std::isfinite(r)) return r;
    if (tiny(a, b, r)) return (a == 0 || b == 0) ? r : next_up(r);
    return std::fma(a, b, -r) > 0 ? next_up(r) : r;
}
inline double mul_down(double a, double b) noexcept {
    const double r = a * b;
    if (!std::isfinite(r)) return r;
    if (tiny(a, b, r)) return (a == 0 || b == 0) ? r : next_down(r);
    return std::fma(a, b, -r) < 0 ? next_down(r) : r;
}
/// a / b rounded up: the residual a - r b is exact (for normal r), and its sign
/// (times b's) tells whether r is below the quotient.
inline double div_up(double a, double b) noexcept {
    const double r = a / b;
    if (!std::isfinite(r)) return r;
    if (tiny(a, b, r)) return a == 0 ? r : next_up(r);
    const double residual = -std::fma(r, b, -a);  // a - r b
    return (residual != 0 && (residual > 0) == (b > 0)) ? next_up(r) : r;
}
inline double div_down(double a, double b) noexcept {
    const double r = a / b;
    if (!std::isfinite(r)) return r;
    if (tiny(a, b, r)) return a == 0 ? r : next_down(r);
    const double residual = -std::fma(r, b, -a);
    return (residual != 0 && (residual > 0) != (b > 0)) ? next_down(r) : r;
}
inline double sqrt_up(double a) noexcept {
    const double r = std::sqrt(a);
    return std::isfinite(r) && std::fma(r, r, -a) < 0 ? next_up(r) : r;
}
inline double sqrt_down(double a) noexcept {
    const double r = std::sqrt(a);
    return std::isfinite(r) && std::fma(r, r, -a) > 0 ? next_down(r) : r;
}
inline double exp_up(double a) noexcept { return next_up(next_up(std::exp(a))); }
inline double exp_down(double a) noexcept { return next_down(next_down(std::exp(a))); }
inline double log_up(double a) noexcept { return next_up(next_up(std::log(a))); }
inline double log_down(double a) noexcept { return next_down(next_down(std::log(a))); }
inline double log1p_up(double a) noexcept { return next_up(next_up(std::log1p(a))); }
inline double log1p_down(double a) noexcept { return next_down(next_down(std::log1p(a))); }

}  // namespace dpkit::detail
