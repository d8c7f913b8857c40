#pragma once
// Directed rounding for privacy arithmetic. Each *_up result is >= the exact
// real result and each *_down result is <= it, assuming the default
// round-to-nearest floating-point mode: a correctly rounded operation is within
// half an ulp, so one step of nextafter in the wanted direction is a bound.
// libm's exp/log/expm1/log1p are not guaranteed correctly rounded, so their
// bounds step two ulps (glibc documents errors below 1 ulp for these).

#include <cmath>
#include <limits>

namespace dpkit::detail {

inline constexpr double infinity = std::numeric_limits<double>::infinity();

inline double next_up(double x) noexcept { return std::nextafter(x, infinity); }
inline double next_down(double x) noexcept { return std::nextafter(x, -infinity); }

inline double add_up(double a, double b) noexcept { return next_up(a + b); }
inline double add_down(double a, double b) noexcept { return next_down(a + b); }
inline double sub_up(double a, double b) noexcept { return next_up(a - b); }
inline double sub_down(double a, double b) noexcept { return next_down(a - b); }
inline double mul_up(double a, double b) noexcept { return next_up(a * b); }
inline double mul_down(double a, double b) noexcept { return next_down(a * b); }
inline double div_up(double a, double b) noexcept { return next_up(a / b); }
inline double div_down(double a, double b) noexcept { return next_down(a / b); }
inline double sqrt_up(double a) noexcept { return next_up(std::sqrt(a)); }
inline double sqrt_down(double a) noexcept { return next_down(std::sqrt(a)); }
inline double exp_up(double a) noexcept { return next_up(next_up(std::exp(a))); }
inline double exp_down(double a) noexcept { return next_down(next_down(std::exp(a))); }
inline double log_up(double a) noexcept { return next_up(next_up(std::log(a))); }
inline double log_down(double a) noexcept { return next_down(next_down(std::log(a))); }
inline double log1p_up(double a) noexcept { return next_up(next_up(std::log1p(a))); }
inline double log1p_down(double a) noexcept { return next_down(next_down(std::log1p(a))); }

}  // namespace dpkit::detail
