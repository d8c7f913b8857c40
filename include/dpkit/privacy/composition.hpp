#pragma once
/// \file
/// Closed-form composition theorems for epsilon-DP mechanisms (each result rounded up):
///  - basic: k eps0 (Dwork, McSherry, Nissim, Smith 2006);
///  - advanced: eps0 sqrt(2k ln(1/delta')) + k eps0 (e^eps0 - 1) at extra delta'
///    (Dwork, Rothblum, Vadhan 2010; Dwork & Roth Thm 3.20), and its heterogeneous form;
///  - Kairouz, Oh, Viswanath 2015 ("The Composition Theorem for Differential
///    Privacy"): Theorem 3.4's bound and Theorem 3.3's exact optimum for k
///    homogeneous eps0-DP mechanisms.

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "../detail/format.hpp"
#include "../detail/rounding.hpp"

namespace dpkit {

namespace detail {
inline void check_composition(const char* who, double eps0, long long k, double delta) {
    if (!std::isfinite(eps0) || !(eps0 > 0)) throw_invalid(who, "epsilon must be finite and > 0", eps0);
    if (k < 1) throw_invalid(who, "k must be >= 1", k);
    if (!(delta > 0 && delta < 1)) throw_invalid(who, "delta must be in (0, 1)", delta);
}
}  // namespace detail

/// Advanced composition (DRV10): k eps0-DP mechanisms are
/// (eps0 sqrt(2k ln(1/delta)) + k eps0 (e^eps0 - 1), delta)-DP (plus their own deltas).
inline double advanced_composition_epsilon(double eps0, long long k, double delta) {
    detail::check_composition("dpkit::advanced_composition_epsilon", eps0, k, delta);
    using namespace detail;
    const double kd = static_cast<double>(k);
    const double first = mul_up(eps0, sqrt_up(mul_up(2 * kd, -log_down(delta))));
    const double second = mul_up(mul_up(kd, eps0), next_up(next_up(std::expm1(eps0))));
    return add_up(first, second);
}

/// Heterogeneous advanced composition: sqrt(2 ln(1/delta) sum eps_i^2) + sum eps_i (e^eps_i - 1).
inline double advanced_composition_epsilon(const std::vector<double>& epsilons, double delta) {
    constexpr const char* who = "dpkit::advanced_composition_epsilon";
    if (!(delta > 0 && delta < 1)) detail::throw_invalid(who, "delta must be in (0, 1)", delta);
    using namespace detail;
    double squares = 0;
    double drift = 0;
    for (double e : epsilons) {
        if (!std::isfinite(e) || !(e >= 0)) throw_invalid(who, "epsilons must be finite and >= 0", e);
        squares = add_up(squares, mul_up(e, e));
        drift = add_up(drift, mul_up(e, next_up(next_up(std::expm1(e)))));
    }
    return add_up(sqrt_up(mul_up(2.0, mul_up(-log_down(delta), squares))), drift);
}

/// KOV15 Theorem 3.4: min(k eps0, k eps0 tanh(eps0/2) + eps0 sqrt(2k ln(e + sqrt(k eps0^2)/delta)),
/// k eps0 tanh(eps0/2) + eps0 sqrt(2k ln(1/delta))).
inline double kov_composition_epsilon(double eps0, long long k, double delta) {
    detail::check_composition("dpkit::kov_composition_epsilon", eps0, k, delta);
    using namespace detail;
    const double kd = static_cast<double>(k);
    const double drift = mul_up(mul_up(kd, eps0), next_up(next_up(std::tanh(eps0 / 2))));
    const double a = add_up(drift, mul_up(eps0, sqrt_up(mul_up(2 * kd, log_up(add_up(std::numbers::e, div_up(sqrt_up(kd * eps0 * eps0), delta)))))));
    const double b = add_up(drift, mul_up(eps0, sqrt_up(mul_up(2 * kd, -log_down(delta)))));
    return std::min({mul_up(kd, eps0), a, b});
}

/// delta(eps) of k-fold composition of eps0-DP mechanisms, exactly (KOV15 Thm 3.3,
/// the privacy profile of k-fold binary randomized response):
/// (1 + e^eps0)^-k sum_l C(k,l) max(0, e^{eps0 (k-l)} - e^eps e^{eps0 l}).
inline double kov_optimal_delta(double eps0, long long k, double eps) {
    const double kd = static_cast<double>(k);
    double total = 0;
    for (long long l = 0; l <= k; ++l) {
        const double ld = static_cast<double>(l);
        const double loss = eps0 * (kd - 2 * ld);  // privacy loss of outcome with l "flips"
        if (loss <= eps) break;
        // C(k,l) e^{eps0 (k-l)} (1 - e^{eps - loss}) / (1+e^eps0)^k, in log space.
        const double log_binom = std::lgamma(kd + 1) - std::lgamma(ld + 1) - std::lgamma(kd - ld + 1);
        const double log_term = log_binom + eps0 * (kd - ld) - kd * std::log1p(std::exp(eps0));
        total += std::exp(log_term) * -std::expm1(eps - loss);
    }
    return total;
}

/// The smallest eps with kov_optimal_delta(eps0, k, eps) <= delta: the exact
/// optimal composition (KOV15 Thm 3.3), solved continuously; rounded up.
inline double kov_optimal_epsilon(double eps0, long long k, double delta) {
    detail::check_composition("dpkit::kov_optimal_epsilon", eps0, k, delta);
    double lo = 0;
    double hi = eps0 * static_cast<double>(k);
    if (kov_optimal_delta(eps0, k, 0) <= delta) return 0;
    for (int i = 0; i < 200 && hi - lo > hi * 1e-15; ++i) {
        const double mid = lo + (hi - lo) / 2;
        (kov_optimal_delta(eps0, k, mid) <= delta ? hi : lo) = mid;
    }
    return detail::next_up(hi * (1 + 1e-12));
}

}  // namespace dpkit
