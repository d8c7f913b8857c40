#pragma once
/// \file
/// Privacy curves and calibration of the Gaussian mechanism.
///  - gaussian_delta: the exact delta(epsilon) of the continuous Gaussian
///    mechanism (Balle & Wang 2018, "Improving the Gaussian Mechanism for
///    Differential Privacy: Analytical Calibration and Optimal Denoising", Thm 8).
///  - analytic_gaussian_sigma: the smallest sigma meeting (epsilon, delta),
///    returned rounded up (never below the exact value).
///  - discrete_gaussian_delta_upper: a rigorous upper bound on delta(epsilon)
///    of the discrete Gaussian mechanism (Canonne, Kamath, Steinke 2020, Thm 7),
///    used to calibrate dpkit's lattice Gaussian.

#include <cmath>
#include <limits>
#include <numbers>

#include "../detail/format.hpp"
#include "../detail/rounding.hpp"

namespace dpkit {

namespace detail {

/// P[N(0,1) > x] (nearest double; for accuracy answers, not privacy bounds).
inline double normal_sf(double x) noexcept { return 0.5 * std::erfc(x / std::numbers::sqrt2); }
/// P[N(0,1) <= x] (nearest double).
inline double normal_cdf(double x) noexcept { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

/// Rigorous bounds on a logarithm.
struct log_bounds {
    double lower;
    double upper;
};

/// log(sqrt(2 pi)), rounded down and up.
inline constexpr double log_root_two_pi_down = 0.9189385332046727;
inline constexpr double log_root_two_pi_up = 0.9189385332046728;

/// Bounds on log P[N(0,1) > x]. For x <= 30 the tail is >= 4.9e-198, a normal
/// double, and erfc is within an ulp or two; the rounding of x / sqrt(2) moves
/// it by a relative ~x^2 u more, and both are covered by a relative margin
/// 1e-14 + 8 x^2 u. Beyond x = 30 erfc's results approach or enter the
/// subnormal range, where glibc's are off by percents, so the Mills-ratio
/// bounds phi(x) x / (x^2 + 1) <= P[N > x] <= phi(x) / x are used, in logs.
inline log_bounds log_normal_sf(double x) noexcept {
    if (x <= 30) {
        const double v = normal_sf(x);
        const double rel = 1e-14 + 8 * 0x1p-53 * (x > 0 ? x * x : 0.0);
        return {sub_down(log_down(v), 2 * rel), add_up(log_up(v), 2 * rel)};
    }
    // log phi(x) = -x^2/2 - log sqrt(2 pi).
    const double half_sq_up = mul_up(mul_up(x, x), 0.5);
    const double half_sq_down = mul_down(mul_down(x, x), 0.5);
    const double log_phi_up = sub_up(-half_sq_down, log_root_two_pi_down);
    const double log_phi_down = sub_down(-half_sq_up, log_root_two_pi_up);
    const double upper = sub_up(log_phi_up, log_down(x));
    const double lower = sub_down(add_down(log_phi_down, log_down(x)), log_up(add_up(mul_up(x, x), 1.0)));
    return {lower, upper};
}

/// P[N(0,1) > x] rounded up and down (through the log bounds; may underflow to 0 below).
inline double normal_sf_upper(double x) noexcept { return std::fmin(1.0, exp_up(log_normal_sf(x).upper)); }
inline double normal_sf_lower(double x) noexcept { return exp_down(log_normal_sf(x).lower); }

}  // namespace detail

/// delta at which the Gaussian mechanism with noise sigma and L2 sensitivity
/// `sensitivity` is (epsilon, delta)-DP (Balle & Wang 2018, Thm 8):
/// Phi(D/(2s) - eps s/D) - e^eps Phi(-D/(2s) - eps s/D), as a rigorous upper
/// bound (within about 1e-13 relative of the exact value where the first
/// tail is a normal double): each argument is rounded the way that enlarges
/// delta and the tails come from log_normal_sf, so no subnormal erfc is used.
inline double gaussian_delta(double epsilon, double sigma, double sensitivity) noexcept {
    using namespace detail;
    const double a_up = div_up(sensitivity, mul_up(2.0, sigma));
    const double b_up = div_up(mul_up(epsilon, sigma), sensitivity);
    const double b_down = div_down(mul_down(epsilon, sigma), sensitivity);
    const double first = normal_sf_upper(sub_down(b_down, a_up));
    const double log_second = add_down(epsilon, log_normal_sf(add_up(b_up, a_up)).lower);
    const double second = log_second < -745 ? 0.0 : exp_down(log_second);
    const double value = sub_up(first, second);
    return value > 0 ? std::fmin(value, 1.0) : 0;
}

/// The smallest sigma for which the Gaussian mechanism with L2 sensitivity
/// `sensitivity` is (epsilon, delta)-DP (analytic Gaussian mechanism, Balle &
/// Wang 2018, Algorithm 1), found by bisection on the exact curve and rounded
/// up by a relative 1e-12 (far above the solver's error), so the result is
/// never below the true sigma. Throws dpkit::invalid_argument on bad parameters.
inline double analytic_gaussian_sigma(double epsilon, double delta, double sensitivity) {
    constexpr const char* who = "dpkit::analytic_gaussian_sigma";
    if (!std::isfinite(epsilon) || !(epsilon > 0)) detail::throw_invalid(who, "epsilon must be finite and > 0", epsilon);
    if (!(delta > 0 && delta < 1)) detail::throw_invalid(who, "delta must be in (0, 1)", delta);
    if (!std::isfinite(sensitivity) || !(sensitivity > 0)) {
        detail::throw_invalid(who, "sensitivity must be finite and > 0", sensitivity);
    }
    // Work with sensitivity 1 and scale at the end (sigma is linear in it).
    double lo = 1e-3;
    double hi = 1.0;
    while (gaussian_delta(epsilon, hi, 1.0) > delta) {
        lo = hi;
        hi *= 2;
        if (hi > 1e300) detail::throw_invalid(who, "no finite sigma meets these parameters", delta);
    }
    while (lo > 1e-300 && gaussian_delta(epsilon, lo, 1.0) <= delta) lo /= 2;
    for (int i = 0; i < 2000 && hi - lo > hi * 1e-16; ++i) {
        const double mid = lo + (hi - lo) / 2;
        if (gaussian_delta(epsilon, mid, 1.0) > delta) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return detail::mul_up(detail::mul_up(hi, 1 + 1e-12), sensitivity);
}

namespace detail {

/// Rigorous bounds {lower, upper} on P[Y >= m] for Y ~ N_Z(0, s2), s2 >= 1/4.
/// With f(x) = exp(-x^2 / (2 s2)), S(m) = sum_{k>=m} f(k) and Z = sum_k f(k):
///  - Z: sqrt(2 pi s2) <= Z <= sqrt(2 pi s2)(1 + 3 e^{-2 pi^2 s2}) (Poisson summation);
///  - s2 < 2^16: S(m) summed term by term (relative rounding error < 1e-12 allowed
///    for), the remainder after the last term bounded by the integral of f;
///  - s2 >= 2^16: where f is convex (x >= sigma) Hermite-Hadamard gives
///    int_m^inf f + f(m)/2 <= S(m) <= int_{m-1/2}^inf f, elsewhere
///    int_m^inf f <= S(m) <= int_{m-1}^inf f (f decreasing), exact to ~(m/s2)^2/24.
/// m <= 0 uses P[Y >= m] = 1 - P[Y >= 1 - m].
struct probability_bounds {
    double lower;
    double upper;
    double log_lower;  ///< log of lower (-inf when lower is 0), computed without underflow
    double log_upper;
};

inline probability_bounds probability_from_logs(double log_lower, double log_upper) noexcept {
    log_upper = std::fmin(log_upper, 0.0);
    log_lower = std::fmin(log_lower, log_upper);
    return {log_lower < -745 ? 0.0 : exp_down(log_lower), std::fmin(1.0, exp_up(log_upper)), log_lower, log_upper};
}

inline probability_bounds discrete_gaussian_upper_tail(double m, double sigma2) noexcept {
    constexpr double u = 0x1p-53;
    if (std::isnan(m)) return {0, 1, -infinity, 0};
    if (m == infinity) return {0, 0, -infinity, -infinity};
    if (m <= 0) {
        // P[Y >= m] = 1 - P[Y >= 1 - m].
        const probability_bounds other = discrete_gaussian_upper_tail(1 - m, sigma2);
        const double lower = sub_down(1.0, other.upper);
        const double upper = sub_up(1.0, other.lower);
        return {lower, upper, lower > 0 ? log_down(lower) : -infinity, log_up(upper)};
    }
    const double sigma_down = sqrt_down(sigma2);
    const double sigma_up = sqrt_up(sigma2);
    // log Z - log sqrt(2 pi s2) lies in [0, log1p(3 e^{-2 pi^2 s2})].
    const double theta = log1p_up(mul_up(3.0, exp_up(-mul_down(2 * std::numbers::pi * std::numbers::pi, sigma2))));
    // log f(m) = -m^2 / (2 s2).
    const double log_f_up = -div_down(mul_down(m, m), mul_up(2.0, sigma2));
    const double log_f_down = -div_up(mul_up(m, m), mul_down(2.0, sigma2));
    const double log_root_two_pi_s2_up = add_up(log_root_two_pi_up, mul_up(0.5, log_up(sigma2)));
    const double log_root_two_pi_s2_down = add_down(log_root_two_pi_down, mul_down(0.5, log_down(sigma2)));
    double log_s_low = 0;   // bounds on log(S(m) / sqrt(2 pi s2))
    double log_s_high = 0;
    if (sigma2 < 0x1p16) {
        // S(m) = f(m) sum_{j>=0} r_j, r_j = exp(-(2 m j + j^2) / (2 s2)) <= 1: summed
        // until a term is below 1e-20 of the sum (each term normal, exponent <= 47,
        // so each is within 4 * 48 u relative and the sum within J u more).
        double sum = 0;
        double j = 0;
        for (;; j += 1) {
            const double r = std::exp(-(2 * m * j + j * j) / (2 * sigma2));
            sum += r;
            if (r == 0 || r < sum * 1e-20) break;
        }
        const double rel = 4 * 48 * u + (j + 2) * u;
        // The rest: sum_{k >= m+j+1} f(k) <= int_{m+j}^inf f = sqrt(2 pi s2) P[N > (m+j)/sigma].
        const double log_rest = add_up(log_root_two_pi_s2_up, log_normal_sf(div_down(m + j, sigma_up)).upper);
        const double log_sum_low = sub_down(log_down(sum), rel);
        const double log_sum_high = add_up(log_up(sum), rel);
        const double log_main_high = add_up(log_f_up, log_sum_high);
        const double hi = std::fmax(log_main_high, log_rest);
        const double lo_part = std::fmin(log_main_high, log_rest);
        const double log_total_high = add_up(hi, log1p_up(exp_up(sub_up(lo_part, hi))));
        log_s_low = sub_down(add_down(log_f_down, log_sum_low), log_root_two_pi_s2_up);
        log_s_high = sub_up(log_total_high, log_root_two_pi_s2_down);
    } else {
        // Hermite-Hadamard, where f is convex (x >= sigma):
        // int_m^inf f + f(m)/2 <= S(m) <= int_{m-1/2}^inf f; elsewhere (f decreasing)
        // int_m^inf f <= S(m) <= int_{m-1}^inf f.
        const double shift = (m - 0.5 >= sigma_up) ? 0.5 : 1.0;
        log_s_high = log_normal_sf(div_down(m - shift, sigma_up)).upper;
        const double log_integral = log_normal_sf(div_up(m, sigma_down)).lower;
        if (m >= sigma_up) {
            const double log_half_f = sub_down(add_down(log_f_down, -0.6931471805599454), log_root_two_pi_s2_up);
            const double hi = std::fmax(log_integral, log_half_f);
            const double lo_part = std::fmin(log_integral, log_half_f);
            log_s_low = add_down(hi, log1p_down(exp_down(sub_down(lo_part, hi))));
        } else {
            log_s_low = log_integral;
        }
    }
    return probability_from_logs(sub_down(log_s_low, theta), log_s_high);
}

/// Upper bound on delta(epsilon) of the discrete Gaussian mechanism with
/// variance parameter sigma2 (>= 1/4) on integer queries of sensitivity
/// `sensitivity` (a positive integer). CKS20 Theorem 7 gives
///   delta = P[Y >= m1] - e^eps P[Y >= m1 + D],  m1 = floor(eps s2/D - D/2) + 1;
/// any other integer m gives a value <= delta (that of a smaller set), so the
/// largest bound over m1 - 1, m1, m1 + 1 covers a rounding of m1 by one. The
/// tails come as rigorous log bounds (discrete_gaussian_upper_tail), and the
/// subtraction is rounded up.
inline double discrete_gaussian_delta_upper(double epsilon, double sigma2, double sensitivity) noexcept {
    if (!(sigma2 >= 0.25)) return 1.0;  // outside the range of the normaliser bound: claim nothing
    if (epsilon == infinity) return 0.0;    // no output has an infinite privacy loss
    const double m1 = std::floor(epsilon * sigma2 / sensitivity - sensitivity / 2) + 1;
    if (!std::isfinite(m1)) return m1 > 0 ? 0.0 : 1.0;
    double worst = 0;
    for (double m : {m1 - 1, m1, m1 + 1}) {
        const probability_bounds first = discrete_gaussian_upper_tail(m, sigma2);
        const probability_bounds second = discrete_gaussian_upper_tail(m + sensitivity, sigma2);
        const double log_scaled = add_down(epsilon, second.log_lower);
        const double scaled = log_scaled < -745 ? 0.0 : exp_down(log_scaled);
        worst = std::fmax(worst, sub_up(first.upper, scaled));
    }
    return std::fmin(worst, 1.0);
}

}  // namespace detail

}  // namespace dpkit
