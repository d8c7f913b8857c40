#pragma once
/// \file
/// Renyi differential privacy (Mironov 2017): a mechanism is (alpha, eps(alpha))-RDP
/// if the Renyi divergence of order alpha between its outputs on neighbouring
/// datasets is at most eps(alpha). dpkit keeps the curve on a fixed set of
/// orders (by default Google dp_accounting's: 1.1, 1.2, ..., 10.9, 11, ..., 63,
/// 128, 256, 512, 1024), composes by adding curves order by order, and converts
/// to (epsilon, delta) with the best order.
///
/// Curves (each rounded up by a relative 1e-12, plus 1e-300, to cover rounding):
///  - Gaussian with noise multiplier z = sigma / sensitivity: alpha / (2 z^2)
///    (Mironov 2017, Prop 7); also the discrete Gaussian's (CKS20 Thm 4 gives rho-zCDP);
///  - Laplace with b = scale / sensitivity (Mironov 2017, Prop 6);
///  - discrete Laplace with integer shift, exact closed form (geometric sums);
///  - m-ary randomized response, replace-one (exact divergence of two discrete distributions);
///  - Poisson-subsampled Gaussian, add/remove-one (Mironov, Talwar, Zhang 2019,
///    "Renyi Differential Privacy of the Sampled Gaussian Mechanism": the exact
///    binomial expansion at integer orders, their two-sided series at fractional
///    orders, summed to terms below e^-45: within 1e-9 of the exact curve, and
///    tighter than dp_accounting 0.6.0's fractional orders);
///  - zCDP rho: rho * alpha; pure epsilon: min(epsilon, alpha epsilon^2 / 2).
/// Conversion to (epsilon, delta): Balle et al. 2020 / Canonne-Kamath-Steinke 2020
/// (Prop 12): eps(alpha) + ln((alpha-1)/alpha) - (ln delta + ln alpha)/(alpha-1),
/// minimised over the orders; and the classic eps(alpha) + ln(1/delta)/(alpha-1)
/// (Mironov 2017, Prop 3).

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

#include "../detail/format.hpp"
#include "../detail/rounding.hpp"
#include "cost.hpp"

namespace dpkit {

/// A Renyi-DP curve: eps[i] at order orders[i] (all orders > 1).
struct rdp_curve {
    std::vector<double> orders;
    std::vector<double> epsilons;
    friend bool operator==(const rdp_curve&, const rdp_curve&) = default;
};

/// dp_accounting's default orders: 1.1 to 10.9 by 0.1, 11 to 63, 128, 256, 512, 1024.
inline const std::vector<double>& default_rdp_orders() {
    static const std::vector<double> orders = [] {
        std::vector<double> o;
        for (int i = 11; i <= 109; ++i) o.push_back(i / 10.0);
        for (int i = 11; i <= 63; ++i) o.push_back(i);
        for (double v : {128.0, 256.0, 512.0, 1024.0}) o.push_back(v);
        return o;
    }();
    return orders;
}

namespace detail {

inline double rdp_round_up(double v) { return v > 0 ? next_up(v * (1 + 1e-12)) + 1e-300 : 1e-300; }

inline void check_orders(const char* who, const std::vector<double>& orders) {
    if (orders.empty()) throw_invalid(who, "there must be at least one order");
    for (double a : orders) {
        if (!std::isfinite(a) || !(a > 1)) throw_invalid(who, "orders must be finite and > 1", a);
    }
}

template <class F>
rdp_curve make_curve(const char* who, const std::vector<double>& orders, F eps_at) {
    check_orders(who, orders);
    rdp_curve c{orders, {}};
    for (double a : orders) c.epsilons.push_back(rdp_round_up(eps_at(a)));
    return c;
}

/// log(e^a + e^b).
inline double log_add(double a, double b) {
    if (a == -infinity) return b;
    if (b == -infinity) return a;
    const double m = std::max(a, b);
    return m + std::log1p(std::exp(-std::fabs(a - b)));
}

/// log(e^a - e^b), a >= b.
inline double log_sub(double a, double b) {
    if (b == -infinity) return a;
    if (a <= b) return -infinity;
    return a + std::log1p(-std::exp(b - a));
}

/// log(erfc(x)), accurate where erfc underflows.
inline double log_erfc(double x) {
    const double e = std::erfc(x);
    if (e > 1e-300) return std::log(e);
    // Asymptotic expansion: erfc(x) ~ e^{-x^2} / (x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6)).
    const double x2 = x * x;
    return -x2 - std::log(x) - 0.5 * std::log(std::numbers::pi) +
           std::log1p(-1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2));
}

/// log A_alpha of the Poisson-subsampled Gaussian (MTZ19), as dp_accounting computes it.
inline double sampled_gaussian_log_a(double q, double sigma, double alpha) {
    if (alpha == std::floor(alpha)) {
        double log_a = -infinity;
        double log_coef = 0;  // log C(alpha, i)
        for (int n = 0; n <= static_cast<int>(alpha); ++n) {
            const double i = n;
            if (n > 0) log_coef += std::log((alpha - i + 1) / i);
            const double s = log_coef + i * std::log(q) + (alpha - i) * std::log1p(-q) + (i * i - i) / (2 * sigma * sigma);
            log_a = log_add(log_a, s);
        }
        return log_a;
    }
    double log_a0 = -infinity;
    double log_a1 = -infinity;
    const double z0 = sigma * sigma * std::log(1 / q - 1) + 0.5;
    double coef = 1;  // C(alpha, i), sign included
    for (int n = 0;; ++n) {
        const double i = n;  // terms run to tens of thousands: keep the index in floating point
        if (n > 0) coef *= (alpha - i + 1) / i;
        const double log_coef = std::log(std::fabs(coef));
        const double j = alpha - i;
        const double log_t0 = log_coef + i * std::log(q) + j * std::log1p(-q);
        const double log_t1 = log_coef + j * std::log(q) + i * std::log1p(-q);
        const double log_e0 = std::log(0.5) + log_erfc((i - z0) / (std::numbers::sqrt2 * sigma));
        const double log_e1 = std::log(0.5) + log_erfc((z0 - j) / (std::numbers::sqrt2 * sigma));
        const double log_s0 = log_t0 + (i * i - i) / (2 * sigma * sigma) + log_e0;
        const double log_s1 = log_t1 + (j * j - j) / (2 * sigma * sigma) + log_e1;
        if (coef > 0) {
            log_a0 = log_add(log_a0, log_s0);
            log_a1 = log_add(log_a1, log_s1);
        } else {
            log_a0 = log_sub(log_a0, log_s0);
            log_a1 = log_sub(log_a1, log_s1);
        }
        // Terms decay geometrically at rate ~ln(1-q) per step; after e^-45 the tail
        // is below 1e-18, inside the 2e-15 margin added by the caller.
        if (std::max(log_s0, log_s1) < -45 || n > 1000000) break;
    }
    return log_add(log_a0, log_a1);
}

}  // namespace detail

/// RDP of the Gaussian mechanism with noise multiplier sigma / sensitivity.
inline rdp_curve gaussian_rdp(double noise_multiplier, const std::vector<double>& orders = default_rdp_orders()) {
    if (!std::isfinite(noise_multiplier) || !(noise_multiplier > 0)) {
        detail::throw_invalid("dpkit::gaussian_rdp", "noise multiplier must be finite and > 0", noise_multiplier);
    }
    return detail::make_curve("dpkit::gaussian_rdp", orders,
                              [&](double a) { return a / (2 * noise_multiplier * noise_multiplier); });
}

/// RDP of the (continuous) Laplace mechanism with b = scale / sensitivity.
inline rdp_curve laplace_rdp(double b, const std::vector<double>& orders = default_rdp_orders()) {
    if (!std::isfinite(b) || !(b > 0)) detail::throw_invalid("dpkit::laplace_rdp", "b must be finite and > 0", b);
    return detail::make_curve("dpkit::laplace_rdp", orders, [&](double a) {
        // (1/(a-1)) log( a/(2a-1) e^{(a-1)/b} + (a-1)/(2a-1) e^{-a/b} ), in log space.
        const double t1 = std::log(a / (2 * a - 1)) + (a - 1) / b;
        const double t2 = std::log((a - 1) / (2 * a - 1)) - a / b;
        return detail::log_add(t1, t2) / (a - 1);
    });
}

/// RDP of discrete Laplace noise with scale t (P[k] ~ exp(-|k|/t)) on integer
/// queries of sensitivity `shift` (a positive integer): exact closed form.
inline rdp_curve discrete_laplace_rdp(double t, double shift, const std::vector<double>& orders = default_rdp_orders()) {
    constexpr const char* who = "dpkit::discrete_laplace_rdp";
    if (!std::isfinite(t) || !(t > 0)) detail::throw_invalid(who, "t must be finite and > 0", t);
    if (!(shift >= 1) || shift != std::floor(shift)) detail::throw_invalid(who, "shift must be a positive integer", shift);
    return detail::make_curve(who, orders, [&](double a) {
        // S = sum_k P(k)^a Q(k)^(1-a), Q shifted by D. With p = e^{-1/t} and log c = log((1-p)/(1+p)):
        //   k <= 0:     p^{(1-a)D} / (1-p);   k >= D: p^{aD} / (1-p);
        //   0 < k < D:  p^{(1-a)D} sum_{k=1}^{D-1} r^k,  r = p^{2a-1}.
        const double log_p = -1 / t;
        const double log_one_minus_p = std::log(-std::expm1(log_p));
        const double log_c = log_one_minus_p - std::log1p(std::exp(log_p));
        const double d = shift;
        double log_s = detail::log_add((1 - a) * d * log_p - log_one_minus_p, a * d * log_p - log_one_minus_p);
        if (d > 1) {
            const double log_r = (2 * a - 1) * log_p;  // < 0
            // sum_{k=1}^{D-1} r^k = r (1 - r^{D-1}) / (1 - r)
            const double log_geo = log_r + std::log(-std::expm1((d - 1) * log_r)) - std::log(-std::expm1(log_r));
            log_s = detail::log_add(log_s, (1 - a) * d * log_p + log_geo);
        }
        return (log_c + log_s) / (a - 1);
    });
}

/// RDP of m-ary randomized response, replace-one neighbours: reports the truth
/// with probability p_truth and each of the other m-1 values with p_other.
inline rdp_curve randomized_response_rdp(double p_truth, double p_other, int m,
                                         const std::vector<double>& orders = default_rdp_orders()) {
    constexpr const char* who = "dpkit::randomized_response_rdp";
    if (m < 2) detail::throw_invalid(who, "m must be >= 2", m);
    if (!(p_other > 0) || !(p_truth >= p_other) || !(p_truth + (m - 1) * p_other <= 1 + 1e-12)) {
        detail::throw_invalid(who, "need p_truth >= p_other > 0 and p_truth + (m-1) p_other = 1", p_truth);
    }
    return detail::make_curve(who, orders, [&](double a) {
        const double lt = std::log(p_truth);
        const double lo = std::log(p_other);
        double log_s = detail::log_add(a * lt + (1 - a) * lo, a * lo + (1 - a) * lt);
        if (m > 2) log_s = detail::log_add(log_s, std::log(m - 2.0) + lo);
        return log_s / (a - 1);
    });
}

/// RDP of the Poisson-subsampled Gaussian (sampling rate q, noise multiplier
/// sigma), add/remove-one neighbours (MTZ19).
inline rdp_curve poisson_subsampled_gaussian_rdp(double q, double noise_multiplier,
                                                 const std::vector<double>& orders = default_rdp_orders()) {
    constexpr const char* who = "dpkit::poisson_subsampled_gaussian_rdp";
    if (!(q > 0 && q <= 1)) detail::throw_invalid(who, "q must be in (0, 1]", q);
    if (!std::isfinite(noise_multiplier) || !(noise_multiplier > 0)) {
        detail::throw_invalid(who, "noise multiplier must be finite and > 0", noise_multiplier);
    }
    if (q == 1) return gaussian_rdp(noise_multiplier, orders);
    // log A is a sum of many terms near 1: allow 2e-15 absolute for its rounding
    // error (the series is truncated at terms below e^-45, leaving a tail below 1e-18).
    return detail::make_curve(who, orders, [&](double a) {
        return (detail::sampled_gaussian_log_a(q, noise_multiplier, a) + 2e-15) / (a - 1);
    });
}

/// RDP implied by rho-zCDP: rho * alpha.
inline rdp_curve to_rdp(const zcdp& c, const std::vector<double>& orders = default_rdp_orders()) {
    if (!std::isfinite(c.rho) || !(c.rho >= 0)) detail::throw_invalid("dpkit::to_rdp", "rho must be finite and >= 0", c.rho);
    return detail::make_curve("dpkit::to_rdp", orders, [&](double a) { return a * c.rho; });
}

/// RDP implied by pure epsilon-DP: min(epsilon, alpha epsilon^2 / 2) (Bun & Steinke 2016).
inline rdp_curve to_rdp(const pure_dp& c, const std::vector<double>& orders = default_rdp_orders()) {
    if (!std::isfinite(c.epsilon) || !(c.epsilon >= 0)) {
        detail::throw_invalid("dpkit::to_rdp", "epsilon must be finite and >= 0", c.epsilon);
    }
    return detail::make_curve("dpkit::to_rdp", orders,
                              [&](double a) { return std::min(c.epsilon, a * c.epsilon * c.epsilon / 2); });
}

/// Best (epsilon, order) from an RDP curve at delta, with the improved
/// conversion (CKS20 Prop 12 / Balle et al. 2020); epsilon rounded up.
struct rdp_conversion {
    double epsilon;
    double order;
};

inline rdp_conversion rdp_to_approx_dp(const rdp_curve& curve, double delta) {
    constexpr const char* who = "dpkit::rdp_to_approx_dp";
    if (!(delta > 0 && delta < 1)) detail::throw_invalid(who, "delta must be in (0, 1)", delta);
    if (curve.orders.size() != curve.epsilons.size() || curve.orders.empty()) {
        detail::throw_invalid(who, "the curve needs one epsilon per order");
    }
    rdp_conversion best{detail::infinity, 0};
    for (std::size_t i = 0; i < curve.orders.size(); ++i) {
        const double a = curve.orders[i];
        const double e = curve.epsilons[i] + std::log((a - 1) / a) - (std::log(delta) + std::log(a)) / (a - 1);
        if (e < best.epsilon) best = {e, a};
    }
    best.epsilon = std::max(0.0, detail::next_up(best.epsilon + 1e-12 * std::fabs(best.epsilon)));
    return best;
}

/// The classic conversion eps(alpha) + ln(1/delta)/(alpha - 1) (Mironov 2017, Prop 3).
inline rdp_conversion rdp_to_approx_dp_classic(const rdp_curve& curve, double delta) {
    constexpr const char* who = "dpkit::rdp_to_approx_dp_classic";
    if (!(delta > 0 && delta < 1)) detail::throw_invalid(who, "delta must be in (0, 1)", delta);
    rdp_conversion best{detail::infinity, 0};
    for (std::size_t i = 0; i < curve.orders.size(); ++i) {
        const double a = curve.orders[i];
        const double e = curve.epsilons[i] - std::log(delta) / (a - 1);
        if (e < best.epsilon) best = {e, a};
    }
    best.epsilon = detail::next_up(best.epsilon + 1e-12 * std::fabs(best.epsilon));
    return best;
}

}  // namespace dpkit
