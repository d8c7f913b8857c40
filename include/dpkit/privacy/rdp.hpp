#pragma once
/// \file
/// Renyi differential privacy (Mironov 2017): a mechanism is (alpha, eps(alpha))-RDP
/// if the Renyi divergence of order alpha between its outputs on neighbouring
/// datasets is at most eps(alpha). dpkit keeps the curve on a fixed set of
/// orders (by default Google dp_accounting's: 1.1, 1.2, ..., 10.9, 11, ..., 63,
/// 128, 256, 512, 1024), composes by adding curves order by order, and converts
/// to (epsilon, delta) with the best order.
///
/// Curves (each evaluated with a derived error bound and rounded up by an
/// explicit margin that covers it; see each function):
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
/// (Mironov 2017, Prop 3). Both are evaluated with directed rounding (upper bounds).
///
/// Error analysis conventions: u = 2^-53; +, -, *, / are correctly rounded; exp,
/// expm1, log and log1p are within 2u relative (glibc documents < 1 ulp). Where a
/// curve grows with a parameter (less noise, more loss), that parameter is rounded
/// toward more loss first, so only the evaluation error remains; every sum of
/// non-negative terms has relative error at most the largest term's plus one u each.

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>
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

/// A curve's evaluation error bound: exact <= computed + relative * computed + absolute.
struct rdp_margin {
    double relative;
    double absolute;
};

/// v pushed past its error bound (plus 1e-300 for underflow in intermediate
/// results), then capped by `cap`, a known upper bound on the exact value (for
/// mechanisms with a pure-DP epsilon, D_alpha <= D_infinity = epsilon).
inline double rdp_round_up(double v, rdp_margin m, double cap) {
    if (std::isnan(v)) v = infinity;
    v = std::max(v, 0.0);
    return std::min(next_up(v + v * m.relative + m.absolute + 1e-300), cap);
}

inline void check_orders(const char* who, const std::vector<double>& orders) {
    if (orders.empty()) throw_invalid(who, "there must be at least one order");
    for (double a : orders) {
        if (!std::isfinite(a) || !(a > 1)) throw_invalid(who, "orders must be finite and > 1", a);
    }
}

template <class F>
rdp_curve make_curve(const char* who, const std::vector<double>& orders, rdp_margin margin, F eps_at,
                     double cap = infinity) {
    check_orders(who, orders);
    rdp_curve c{orders, {}};
    for (double a : orders) c.epsilons.push_back(rdp_round_up(eps_at(a), margin, cap));
    return c;
}

/// Above this order a - 1 and 2a - 1 may be inexact; the Laplace-type curves
/// then report their pure-DP cap (D_alpha <= D_infinity).
inline constexpr double rdp_largest_exact_order = 0x1p52;

/// f(t) = e^t - 1 - t >= 0, within 80u relative. For |t| < 1, t^2 sum_{j=0}^{18}
/// t^j/(j+2)! by Horner: coefficients within u, Horner within 36u of
/// sum |c_j t^j| <= (e-2)/e^-1 < 1.95 times the sum, the tail below u, so <= 75u
/// with the products. Otherwise expm1(t) - t: within 2u expm1(t)/f(t) + u <= 5.8u
/// for t >= 1 and 2u |expm1(t)|/f(t) + u <= 4.4u for t <= -1.
inline double expm1_minus_linear(double t) {
    if (std::fabs(t) < 1) {
        static const auto coef = [] {
            std::vector<double> c(19);
            double fact = 2;  // (j+2)!, exact in double up to 20!
            for (std::size_t j = 0; j < c.size(); ++j) {
                c[j] = 1 / fact;
                fact *= static_cast<double>(j + 3);
            }
            return c;
        }();
        double h = coef.back();
        for (std::size_t j = coef.size() - 1; j-- > 0;) h = h * t + coef[j];
        return t * t * h;
    }
    return std::expm1(t) - t;
}

/// 1 - e^-z for z >= 0 (within 2u).
inline double one_minus_exp_neg(double z) { return -std::expm1(-z); }

/// K(a, s) = a (e^{-(2a-1)s} - e^{-s}) + (a-1)(1 - e^{-2as}) >= 0, the discrete
/// Laplace curve's excess term (see discrete_laplace_rdp), within 320u relative.
/// K = 2 e^{-as} ((a-1) sinh(as) - a sinh((a-1)s)). For as <= 4, its Taylor series
/// 2 e^{-as} a (a-1) s sum_{k>=1} (as)^{2k} (1 - ((a-1)/a)^{2k}) / (2k+1)!, whose
/// terms are positive (k terms each within (12k+4)u, about 25 of them; e^{-as} and
/// the factors add 9u). For as > 4, (a-1)(1 - e^{-s})(1 + e^{-(2a-1)s}) - e^{-s}(1 - e^{-2(a-1)s}):
/// each term within 8u, and the second is at most half the first, so the difference
/// is within 3 * 8u + u. (Half: equivalent to tanh((a - 1/2)s) <= a tanh(s/2). For
/// s <= 3, a tanh(s/2) >= 0.3017 as > 1; for s > 3 and a >= 1.105, a tanh(s/2) >=
/// 1.105 tanh(1.5) > 1; for a < 1.105, concavity gives tanh((a - 1/2)s) <=
/// tanh(s/2) + (a-1)s sech^2(s/2) <= a tanh(s/2) because sinh(s) >= 2s.)
inline double discrete_laplace_excess(double a, double s) {
    const double as = a * s;
    if (as <= 4) {
        const double as2 = as * as;
        const double ratio2 = ((a - 1) / a) * ((a - 1) / a);
        const double step = (2 * a - 1) / (a * a);  // 1 - ((a-1)/a)^2
        double c = as2 / 6;                          // (as)^{2k} / (2k+1)!
        double e = step;                             // 1 - ((a-1)/a)^{2k}
        double q = 1;                                // ((a-1)/a)^{2k-2}
        double sum = 0;
        for (int k = 1; k <= 200; ++k) {
            const double term = c * e;
            sum += term;
            if (term <= 1e-20 * sum) break;
            q *= ratio2;
            e += step * q;
            const double kk = k;
            c *= as2 / ((2 * kk + 2) * (2 * kk + 3));
        }
        return 2 * std::exp(-as) * a * (a - 1) * s * sum;
    }
    return (a - 1) * one_minus_exp_neg(s) * (1 + std::exp(-(2 * a - 1) * s)) -
           std::exp(-s) * one_minus_exp_neg(2 * (a - 1) * s);
}

/// ln S of m-ary randomized response at order a whose likelihood ratio is e^eps,
/// within 700u relative in the curve (see randomized_response_rdp).
inline double randomized_response_rdp_at(double eps, double m, double a) {
    // S = sum_k P^a Q^{1-a} with p_other = 1/(e^eps + m - 1), p_truth = e^eps p_other:
    //   S - 1 = (e^{a eps} - 1)(1 - e^{-(a-1) eps}) / (e^eps + m - 1),
    // a product of non-negative factors. The factors grow with a eps and (a-1) eps,
    // which are rounded up; the denominator uses eps itself.
    const double y = mul_up(a, eps);
    const double x = mul_up(a - 1, eps);
    if (y < 700) {
        // expm1, 1 - e^-x, exp + (m-1), two products/divisions: 10u; log1p 2u more.
        const double s1 = std::expm1(y) * one_minus_exp_neg(x) / (std::exp(eps) + (m - 1));
        return std::log1p(s1) / (a - 1);
    }
    // L = ln(S - 1) = x + ln(1 - e^-y) + ln(1 - e^-x) - ln(1 + (m-1) e^-eps), within
    // u (4x + 270) absolute; ln S = ln(1 + e^L) is then within 14u relative when
    // x >= 104 (L >= x/2) and within 690u otherwise (d ln S / ln S <= dL).
    const double big_l = x + std::log(one_minus_exp_neg(y)) + std::log(one_minus_exp_neg(x)) -
                         std::log1p((m - 1) * std::exp(-eps));
    const double log_s = big_l > 0 ? big_l + std::log1p(std::exp(-big_l)) : std::log1p(std::exp(big_l));
    return log_s / (a - 1);
}

/// The curve of m-ary randomized response with likelihood ratio e^eps (eps exact,
/// finite and >= 0): within 700u < 7.8e-14 (randomized_response_rdp_at); margin
/// 1e-13 relative; capped by eps (= D_infinity).
inline rdp_curve randomized_response_rdp_of_loss(double eps, double m, const std::vector<double>& orders) {
    return make_curve(
        "dpkit::randomized_response_rdp", orders, {1e-13, 0},
        [&](double a) { return a < rdp_largest_exact_order ? randomized_response_rdp_at(eps, m, a) : eps; }, eps);
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

/// An upper bound on log A_alpha at an integer order alpha (MTZ19, Thm 9),
/// free of cancellation: since the binomial weights sum to 1,
///   A - 1 = sum_{i>=2} C(alpha, i) q^i (1-q)^(alpha-i) expm1((i^2 - i) / (2 sigma^2)),
/// a sum of non-negative terms, each formed as exp(L_i) with
///   L_i = log C(alpha, i) + i log q + (alpha - i) log1p(-q) + log expm1(x_i).
/// Each L_i is a sum of at most alpha + 4 libm results and roundings, each
/// within 2 ulps of its value, so |error(L_i)| <= 4 u (alpha + 4) M, where M
/// bounds the magnitudes of the summed parts (u = 2^-53); the sum of the
/// positive exp(L_i - L_max) adds a relative (alpha + 2) 2u. Both go on top,
/// then log A = log1p(A - 1) is rounded up.
inline double sampled_gaussian_log_a_integer_upper(double q, double sigma, double alpha) {
    constexpr double u = 0x1p-53;
    const double log_q = std::log(q);
    const double log_1mq = std::log1p(-q);
    const double two_s2 = 2 * sigma * sigma;
    const int n_max = static_cast<int>(alpha);
    std::vector<double> logs;
    logs.reserve(static_cast<std::size_t>(n_max));
    double log_coef = std::log(alpha);  // log C(alpha, 1)
    double coef_magnitude = std::fabs(log_coef);
    double magnitude = 0;
    for (int n = 2; n <= n_max; ++n) {
        const double i = n;
        const double step = std::log((alpha - i + 1) / i);
        log_coef += step;
        coef_magnitude += std::fabs(step);
        const double x = (i * i - i) / two_s2;
        const double log_expm1 = x < 1 ? std::log(std::expm1(x)) : x + std::log1p(-std::exp(-x));
        const double a = i * log_q;
        const double b = (alpha - i) * log_1mq;
        logs.push_back(log_coef + a + b + log_expm1);
        magnitude = std::fmax(magnitude, coef_magnitude + std::fabs(a) + std::fabs(b) + std::fabs(log_expm1) + x);
    }
    if (logs.empty()) return 0;  // alpha = 1 is never asked for (orders > 1); alpha = 2.. have terms
    const double top = *std::max_element(logs.begin(), logs.end());
    double sum = 0;
    for (double l : logs) sum += std::exp(l - top);
    const double error = 4 * u * (alpha + 4) * magnitude + 2 * u * (alpha + 2) + 4 * u;
    const double log_s = next_up(top + std::log(sum) + error);  // >= log(A - 1)
    // log A = log1p(e^log_s), without overflow for large log_s.
    if (log_s > 700) return next_up(next_up(log_s + std::log1p(std::exp(-log_s))));
    return log1p_up(exp_up(log_s));
}

/// log A_alpha of the Poisson-subsampled Gaussian (MTZ19), as dp_accounting computes it.
inline double sampled_gaussian_log_a(double q, double sigma, double alpha) {
    if (alpha == std::floor(alpha)) return sampled_gaussian_log_a_integer_upper(q, sigma, alpha);
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
    // a / z / z rounded up at each step; halving is exact unless the result underflows.
    return detail::make_curve("dpkit::gaussian_rdp", orders, {0, 0}, [&](double a) {
        return detail::div_up(detail::div_up(a, noise_multiplier), noise_multiplier) / 2;
    });
}

/// RDP of the (continuous) Laplace mechanism with b = scale / sensitivity.
inline rdp_curve laplace_rdp(double b, const std::vector<double>& orders = default_rdp_orders()) {
    if (!std::isfinite(b) || !(b > 0)) detail::throw_invalid("dpkit::laplace_rdp", "b must be finite and > 0", b);
    const double lambda = detail::div_up(1, b);  // the curve grows with 1/b (Laplace(b') = Laplace(b) + noise for b' > b)
    // S = a/(2a-1) e^{(a-1)lambda} + (a-1)/(2a-1) e^{-a lambda} and D = ln S / (a-1). With
    // x = (a-1) lambda, y = a lambda and f(t) = e^t - 1 - t the linear terms cancel exactly:
    //   S - 1 = (a f(x) + (a-1) f(-y)) / (2a-1),
    // non-negative terms each growing with its argument (x, y rounded up): within
    // 80u + 4u, then log1p (2u) and the division by a-1 (u): 87u. When that overflows
    // (or x >= 700), ln S = x - ln(1 + (a-1)/a) + ln(1 + (a-1)/a e^{-x-y}), whose last
    // term is below e^-673 there: within 4u. The margin, 1e-13 relative, exceeds both.
    return detail::make_curve(
        "dpkit::laplace_rdp", orders, {1e-13, 0},
        [&](double a) {
            if (!(a < detail::rdp_largest_exact_order)) return lambda;
            const double x = detail::mul_up(a - 1, lambda);
            const double y = detail::mul_up(a, lambda);
            if (x < 700) {
                const double s1 =
                    (a * detail::expm1_minus_linear(x) + (a - 1) * detail::expm1_minus_linear(-y)) / (2 * a - 1);
                if (std::isfinite(s1)) return std::log1p(s1) / (a - 1);
            }
            return (x - std::log1p((a - 1) / a) + 1e-300) / (a - 1);
        },
        lambda);
}

/// RDP of discrete Laplace noise with scale t (P[k] ~ exp(-|k|/t)) on integer
/// queries of sensitivity `shift` (a positive integer): exact closed form.
inline rdp_curve discrete_laplace_rdp(double t, double shift, const std::vector<double>& orders = default_rdp_orders()) {
    constexpr const char* who = "dpkit::discrete_laplace_rdp";
    if (!std::isfinite(t) || !(t > 0)) detail::throw_invalid(who, "t must be finite and > 0", t);
    if (!(shift >= 1) || shift != std::floor(shift)) detail::throw_invalid(who, "shift must be a positive integer", shift);
    // The curve grows with s = 1/t: for p' > p, DL(p') = DL(p) + independent noise, since
    // (1 - p z)/(1 - p' z) has non-negative coefficients. So s and eps = D s are rounded up.
    const double s = detail::div_up(1, t);
    const double eps = detail::mul_up(shift, s);
    // S = sum_k P(k)^a Q(k)^{1-a} with p = e^-s, r = p^{2a-1}, E = e^{(a-1)eps}, F = e^{-a eps},
    // w = (1-p)/(1-r) (the geometric sums over k <= 0, 0 < k < D, k >= D):
    //   (1+p) S = E (1 + w r) + F (1 - w),   and (1 + w r) + (1 - w) = 1 + p, so
    //   (1+p)(S - 1) = (1 + w r) f(x) + (1 - w) f(-y) + kappa eps,
    // with x = (a-1) eps, y = a eps, f(t) = e^t - 1 - t and kappa = w (a + (a-1) r) - 1
    // = K(a, s) / (1 - r) >= 0 (detail::discrete_laplace_excess). All three terms are
    // non-negative and grow with x, y, eps (rounded up). Error: f 80u, K 320u, w and
    // 1 - w = e^-s (1 - e^{-2(a-1)s}) / (1 - r) 10u, 1 + w r 11u, so the sum is within
    // 322u, and log1p and / (a-1) make it 325u < 3.7e-14. For x >= 700:
    //   ln S = x + ln(1 + w r) - ln(1 + p) + ln(1 + F (1-w) / (E (1 + w r))),
    // the last term below e^-699, within 3u. The margin is 1e-13 relative.
    return detail::make_curve(
        who, orders, {1e-13, 0},
        [&](double a) {
            if (!(a < detail::rdp_largest_exact_order)) return eps;
            const double x = detail::mul_up(a - 1, eps);
            const double y = detail::mul_up(a, eps);
            const double one_minus_r = detail::one_minus_exp_neg((2 * a - 1) * s);
            const double r = std::exp(-(2 * a - 1) * s);
            const double w = detail::one_minus_exp_neg(s) / one_minus_r;
            const double p = std::exp(-s);
            if (x >= 700) return (x + std::log1p(w * r) - std::log1p(p) + 1e-300) / (a - 1);
            const double one_minus_w = p * detail::one_minus_exp_neg(2 * (a - 1) * s) / one_minus_r;
            const double kappa = detail::discrete_laplace_excess(a, s) / one_minus_r;
            const double n = (1 + w * r) * detail::expm1_minus_linear(x) +
                             one_minus_w * detail::expm1_minus_linear(-y) + kappa * eps;
            return std::log1p(n / (1 + p)) / (a - 1);
        },
        eps);
}

/// RDP of m-ary randomized response, replace-one neighbours: reports the truth
/// with probability p_truth and each of the other m-1 values with p_other
/// (p_truth + (m-1) p_other = 1 within 1e-12; only their ratio enters the curve).
inline rdp_curve randomized_response_rdp(double p_truth, double p_other, int m,
                                         const std::vector<double>& orders = default_rdp_orders()) {
    constexpr const char* who = "dpkit::randomized_response_rdp";
    if (m < 2) detail::throw_invalid(who, "m must be >= 2", m);
    if (!std::isfinite(p_other) || !(p_other > 0)) detail::throw_invalid(who, "p_other must be finite and > 0", p_other);
    if (!std::isfinite(p_truth) || !(p_truth >= p_other)) detail::throw_invalid(who, "p_truth must be >= p_other", p_truth);
    const double total = p_truth + (m - 1) * p_other;
    if (!(std::fabs(total - 1) <= 1e-12)) {
        detail::throw_invalid(who, "p_truth + (m-1) p_other must be 1 (within 1e-12)", total);
    }
    // eps = ln(p_truth / p_other) = log1p((p_truth - p_other) / p_other), rounded up: the
    // curve grows with eps (RR at a smaller eps is RR at eps with the answer re-randomised).
    const double eps = detail::log1p_up(detail::div_up(detail::sub_up(p_truth, p_other), p_other));
    return detail::randomized_response_rdp_of_loss(eps, m, orders);
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
    // error (the series is truncated at terms below e^-45, leaving a tail below 1e-18),
    // and 1e-12 relative for the rest.
    return detail::make_curve(who, orders, {1e-12, 0}, [&](double a) {
        return (detail::sampled_gaussian_log_a(q, noise_multiplier, a) + 2e-15) / (a - 1);
    });
}

/// RDP implied by rho-zCDP: rho * alpha.
inline rdp_curve to_rdp(const zcdp& c, const std::vector<double>& orders = default_rdp_orders()) {
    if (!std::isfinite(c.rho) || !(c.rho >= 0)) detail::throw_invalid("dpkit::to_rdp", "rho must be finite and >= 0", c.rho);
    return detail::make_curve("dpkit::to_rdp", orders, {0, 0}, [&](double a) { return detail::mul_up(a, c.rho); });
}

/// RDP implied by pure epsilon-DP: min(epsilon, alpha epsilon^2 / 2) (Bun & Steinke 2016).
inline rdp_curve to_rdp(const pure_dp& c, const std::vector<double>& orders = default_rdp_orders()) {
    if (!std::isfinite(c.epsilon) || !(c.epsilon >= 0)) {
        detail::throw_invalid("dpkit::to_rdp", "epsilon must be finite and >= 0", c.epsilon);
    }
    // Rounded up at each product; halving is exact unless the result underflows.
    return detail::make_curve(
        "dpkit::to_rdp", orders, {0, 0},
        [&](double a) { return detail::mul_up(detail::mul_up(a, c.epsilon), c.epsilon) / 2; }, c.epsilon);
}

/// Best (epsilon, order) from an RDP curve at delta, with the improved
/// conversion (CKS20 Prop 12 / Balle et al. 2020); epsilon rounded up.
struct rdp_conversion {
    double epsilon;
    double order;
};

namespace detail {

inline void check_curve(const char* who, const rdp_curve& curve) {
    check_orders(who, curve.orders);
    if (curve.orders.size() != curve.epsilons.size()) {
        throw_invalid(who, "the curve needs one epsilon per order",
                      to_string_exact(curve.epsilons.size()) + " epsilons for " + to_string_exact(curve.orders.size()) +
                          " orders");
    }
    for (double e : curve.epsilons) {
        if (!std::isfinite(e) || !(e >= 0)) throw_invalid(who, "RDP epsilons must be finite and >= 0", e);
    }
}

/// x / (a - 1) rounded up, for a > 1.
inline double div_by_order_gap_up(double x, double a) {
    return x >= 0 ? div_up(x, sub_down(a, 1)) : div_up(x, sub_up(a, 1));
}

}  // namespace detail

/// Every term is rounded up (log_down(delta) and log_down(alpha) where they are
/// subtracted), so the result is an upper bound; it is never negative.
inline rdp_conversion rdp_to_approx_dp(const rdp_curve& curve, double delta) {
    constexpr const char* who = "dpkit::rdp_to_approx_dp";
    if (!(delta > 0 && delta < 1)) detail::throw_invalid(who, "delta must be in (0, 1)", delta);
    detail::check_curve(who, curve);
    rdp_conversion best{detail::infinity, 0};
    for (std::size_t i = 0; i < curve.orders.size(); ++i) {
        using namespace detail;
        const double a = curve.orders[i];
        const double log_ratio = log_up(div_up(sub_up(a, 1), a));  // ln((a-1)/a)
        const double tail = div_by_order_gap_up(add_up(-log_down(delta), -log_down(a)), a);
        const double e = add_up(add_up(curve.epsilons[i], log_ratio), tail);
        if (e < best.epsilon) best = {e, a};
    }
    best.epsilon = std::max(0.0, best.epsilon);
    return best;
}

/// The classic conversion eps(alpha) + ln(1/delta)/(alpha - 1) (Mironov 2017, Prop 3),
/// rounded up.
inline rdp_conversion rdp_to_approx_dp_classic(const rdp_curve& curve, double delta) {
    constexpr const char* who = "dpkit::rdp_to_approx_dp_classic";
    if (!(delta > 0 && delta < 1)) detail::throw_invalid(who, "delta must be in (0, 1)", delta);
    detail::check_curve(who, curve);
    rdp_conversion best{detail::infinity, 0};
    for (std::size_t i = 0; i < curve.orders.size(); ++i) {
        const double a = curve.orders[i];
        const double e = detail::add_up(curve.epsilons[i], detail::div_by_order_gap_up(-detail::log_down(delta), a));
        if (e < best.epsilon) best = {e, a};
    }
    return best;
}

}  // namespace dpkit
