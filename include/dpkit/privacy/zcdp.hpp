#pragma once
/// \file
/// Conversions from rho-zCDP to (epsilon, delta)-DP:
///  - the tight bound of Canonne, Kamath, Steinke 2020 ("The Discrete Gaussian
///    for Differential Privacy", Corollary 13):
///      eps = inf_{a>1} a rho + (ln(1/delta) + (a-1) ln(1 - 1/a) - ln a) / (a-1);
///  - the simple bound rho + 2 sqrt(rho ln(1/delta)) (Bun & Steinke 2016, Prop 1.3).
/// Every value is rounded up: the reported epsilon is never below the exact one.

#include <cmath>

#include "../detail/exact_decimal.hpp"
#include "../detail/format.hpp"
#include "../detail/rounding.hpp"
#include "cost.hpp"

namespace dpkit {

namespace detail {

/// The CKS20 expression at order alpha = 1 + am1 (am1 > 0, the real number
/// 1 + am1, which need not be a double), each operation rounded up:
///   alpha rho + (ln(1/delta) + (alpha-1) ln(1 - 1/alpha) - ln alpha) / (alpha-1),
/// with (alpha-1) ln(1 - 1/alpha) = -am1 log1p(1/am1) and ln alpha = log1p(am1),
/// which cancel nothing at any order.
inline double cks20_epsilon_at(double rho, double delta, double am1) noexcept {
    const double log_inv_delta = -log_down(delta);
    const double log_term = -mul_down(am1, log1p_down(div_down(1.0, am1)));  // (alpha-1) ln(1-1/alpha), rounded up
    double numerator = add_up(log_inv_delta, log_term);
    numerator = sub_up(numerator, log1p_down(am1));
    return add_up(mul_up(add_up(1.0, am1), rho), div_up(numerator, am1));
}

inline void check_zcdp_args(const char* who, double rho, double delta) {
    if (!std::isfinite(rho) || !(rho > 0)) throw_invalid(who, "rho must be finite and > 0", rho);
    if (!(delta > 0 && delta < 1)) throw_invalid(who, "delta must be in (0, 1)", delta);
}

}  // namespace detail

/// Smallest epsilon such that rho-zCDP implies (epsilon, delta)-DP by CKS20's
/// conversion, minimised over the order by golden-section search (any order
/// gives a valid bound, so the search error only costs tightness). Never
/// negative: (epsilon, delta)-DP for epsilon < 0 implies (0, delta)-DP.
inline double zcdp_to_approx_dp_epsilon(double rho, double delta) {
    detail::check_zcdp_args("dpkit::zcdp_to_approx_dp_epsilon", rho, delta);
    // Search u = ln(alpha - 1) over [-40, 700]: the objective is unimodal in alpha,
    // and the best order 1 + sqrt(ln(1/delta)/rho) lies inside for every rho >= 1e-300.
    auto f = [&](double u) { return detail::cks20_epsilon_at(rho, delta, std::exp(u)); };
    double a = -40;
    double b = 700;
    const double phi = (std::sqrt(5.0) - 1) / 2;
    double c = b - phi * (b - a);
    double d = a + phi * (b - a);
    double fc = f(c);
    double fd = f(d);
    for (int i = 0; i < 120; ++i) {
        if (fc < fd) {
            b = d;
            d = c;
            fd = fc;
            c = b - phi * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + phi * (b - a);
            fd = f(d);
        }
    }
    return std::fmax(0.0, std::fmin(fc, fd));
}

/// rho-zCDP implied by pure epsilon-DP: rho = epsilon^2 / 2 (Bun & Steinke 2016, Prop 1.4), rounded up.
inline zcdp to_zcdp(const pure_dp& c) {
    if (!std::isfinite(c.epsilon) || !(c.epsilon >= 0)) {
        detail::throw_invalid("dpkit::to_zcdp", "epsilon must be finite and >= 0", c.epsilon);
    }
    return zcdp{detail::booked_up(detail::mul_up(detail::mul_up(c.epsilon, c.epsilon), 0.5))};
}

/// The simple conversion rho + 2 sqrt(rho ln(1/delta)), rounded up.
inline double zcdp_to_approx_dp_epsilon_simple(double rho, double delta) {
    detail::check_zcdp_args("dpkit::zcdp_to_approx_dp_epsilon_simple", rho, delta);
    return detail::add_up(rho, detail::mul_up(2.0, detail::sqrt_up(detail::mul_up(rho, -detail::log_down(delta)))));
}

/// The largest rho (rounded down) whose CKS20 conversion gives at most
/// epsilon at delta: the zCDP budget that meets an (epsilon, delta) target.
inline double zcdp_rho_for(double epsilon, double delta) {
    constexpr const char* who = "dpkit::zcdp_rho_for";
    if (!std::isfinite(epsilon) || !(epsilon > 0)) detail::throw_invalid(who, "epsilon must be finite and > 0", epsilon);
    if (!(delta > 0 && delta < 1)) detail::throw_invalid(who, "delta must be in (0, 1)", delta);
    double lo = 0;
    double hi = epsilon;  // rho = epsilon already gives more than epsilon
    for (int i = 0; i < 80 && hi - lo > hi * 1e-15; ++i) {
        const double mid = lo + (hi - lo) / 2;
        if (zcdp_to_approx_dp_epsilon(mid, delta) <= epsilon) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    if (!(lo > 0)) detail::throw_invalid(who, "no positive rho meets these parameters", epsilon);
    return lo;
}

}  // namespace dpkit
