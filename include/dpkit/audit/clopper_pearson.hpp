#pragma once
/// \file
/// Exact (Clopper-Pearson 1934) confidence bounds for a binomial proportion,
/// from the regularized incomplete beta function and its inverse (Boost.Math,
/// header-only: this header needs the dpkit::audit CMake target).
///
/// For k successes in n trials, the one-sided lower bound at level 1 - alpha is
/// the p with P[Binomial(n, p) >= k] = alpha, i.e. I_p(k, n - k + 1) = alpha
/// (0 when k = 0); the upper bound is the p with P[Binomial(n, p) <= k] = alpha,
/// i.e. 1 - I_p(k + 1, n - k) = alpha (1 when k = n). Each covers the true
/// proportion with probability at least 1 - alpha, whatever the proportion.
/// Boost's inverse is accurate to far better than 1e-10 relative (tested against
/// 60-digit values); the bounds are moved outward by 1e-9 relative so that the
/// floating-point result never claims more than the exact bound.

#include <boost/math/special_functions/beta.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../detail/format.hpp"

namespace dpkit {

namespace detail {

/// Relative margin by which the Clopper-Pearson bounds are widened.
inline constexpr double clopper_pearson_margin = 1e-9;

inline void check_binomial(const char* who, std::uint64_t k, std::uint64_t n, double alpha) {
    if (n == 0) throw_invalid(who, "n must be >= 1", n);
    if (k > n) throw_invalid(who, "k must be <= n", k);
    if (!(alpha > 0 && alpha < 1)) throw_invalid(who, "alpha must be in (0, 1)", alpha);
}

}  // namespace detail

/// The regularized incomplete beta function I_x(a, b), for a, b > 0 and x in [0, 1].
inline double regularized_beta(double a, double b, double x) {
    if (!(a > 0) || !(b > 0) || !std::isfinite(a) || !std::isfinite(b)) {
        detail::throw_invalid("dpkit::regularized_beta", "a and b must be finite and > 0", std::fmin(a, b));
    }
    if (!(x >= 0 && x <= 1)) detail::throw_invalid("dpkit::regularized_beta", "x must be in [0, 1]", x);
    return boost::math::ibeta(a, b, x);
}

/// The x in [0, 1] with I_x(a, b) = p, for a, b > 0 and p in [0, 1].
inline double regularized_beta_inverse(double a, double b, double p) {
    if (!(a > 0) || !(b > 0) || !std::isfinite(a) || !std::isfinite(b)) {
        detail::throw_invalid("dpkit::regularized_beta_inverse", "a and b must be finite and > 0", std::fmin(a, b));
    }
    if (!(p >= 0 && p <= 1)) detail::throw_invalid("dpkit::regularized_beta_inverse", "p must be in [0, 1]", p);
    return boost::math::ibeta_inv(a, b, p);
}

/// The x in [0, 1] with 1 - I_x(a, b) = q (accurate for tiny q, where 1 - q rounds to 1).
inline double regularized_beta_complement_inverse(double a, double b, double q) {
    if (!(a > 0) || !(b > 0) || !std::isfinite(a) || !std::isfinite(b)) {
        detail::throw_invalid("dpkit::regularized_beta_complement_inverse", "a and b must be finite and > 0",
                              std::fmin(a, b));
    }
    if (!(q >= 0 && q <= 1)) detail::throw_invalid("dpkit::regularized_beta_complement_inverse", "q must be in [0, 1]", q);
    return boost::math::ibetac_inv(a, b, q);
}

/// One-sided lower confidence bound at level 1 - alpha on a proportion from k
/// successes in n trials (0 when k = 0).
inline double clopper_pearson_lower(std::uint64_t k, std::uint64_t n, double alpha) {
    detail::check_binomial("dpkit::clopper_pearson_lower", k, n, alpha);
    if (k == 0) return 0;
    const double p = boost::math::ibeta_inv(static_cast<double>(k), static_cast<double>(n - k + 1), alpha);
    return std::max(0.0, p * (1 - detail::clopper_pearson_margin));
}

/// One-sided upper confidence bound at level 1 - alpha on a proportion from k
/// successes in n trials (1 when k = n).
inline double clopper_pearson_upper(std::uint64_t k, std::uint64_t n, double alpha) {
    detail::check_binomial("dpkit::clopper_pearson_upper", k, n, alpha);
    if (k == n) return 1;
    const double p = boost::math::ibetac_inv(static_cast<double>(k + 1), static_cast<double>(n - k), alpha);
    return std::min(1.0, p * (1 + detail::clopper_pearson_margin));
}

}  // namespace dpkit
