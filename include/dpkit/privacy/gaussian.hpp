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

/// P[N(0,1) > x].
inline double normal_sf(double x) noexcept { return 0.5 * std::erfc(x / std::numbers::sqrt2); }
/// P[N(0,1) <= x].
inline double normal_cdf(double x) noexcept { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

/// e^eps * P[N(0,1) > x] without overflowing e^eps when the tail is tiny.
inline double exp_times_normal_sf(double eps, double x) noexcept {
    const double tail = normal_sf(x);
    if (tail == 0) return 0;
    return std::exp(eps + std::log(tail));
}

}  // namespace detail

/// Exact delta at which the Gaussian mechanism with noise sigma and L2
/// sensitivity `sensitivity` is (epsilon, delta)-DP (Balle & Wang 2018, Thm 8):
/// Phi(D/(2s) - eps s/D) - e^eps Phi(-D/(2s) - eps s/D). Double precision.
inline double gaussian_delta(double epsilon, double sigma, double sensitivity) noexcept {
    const double a = sensitivity / (2 * sigma);
    const double b = epsilon * sigma / sensitivity;
    const double value = detail::normal_sf(b - a) - detail::exp_times_normal_sf(epsilon, b + a);
    return value > 0 ? value : 0;
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
};

inline probability_bounds discrete_gaussian_upper_tail(double m, double sigma2) noexcept {
    const double sigma = std::sqrt(sigma2);
    const double root_two_pi_sigma = std::sqrt(2 * std::numbers::pi) * sigma;
    const double theta_high = 1 + 3 * std::exp(-2 * std::numbers::pi * std::numbers::pi * sigma2);
    if (m <= 0) {
        const probability_bounds other = discrete_gaussian_upper_tail(1 - m, sigma2);
        return {1 - other.upper, 1 - other.lower};
    }
    double s_low = 0;  // bounds on S(m) / sqrt(2 pi s2)
    double s_high = 0;
    if (sigma2 < 0x1p16) {
        double sum = 0;
        double k = m;
        for (;; k += 1) {
            const double term = std::exp(-k * k / (2 * sigma2));
            sum += term;
            if (term == 0 || term < sum * 1e-20) break;
        }
        const double remainder = normal_sf(k / sigma);  // int_k^inf f / sqrt(2 pi s2) >= S(k+1)
        s_low = sum * (1 - 1e-12) / root_two_pi_sigma;
        s_high = sum * (1 + 1e-12) / root_two_pi_sigma + remainder;
    } else {
        s_high = (m - 0.5 >= sigma) ? normal_sf((m - 0.5) / sigma) : normal_sf((m - 1) / sigma);
        const double integral = normal_sf(m / sigma);
        s_low = (m >= sigma) ? integral + 0.5 * std::exp(-m * m / (2 * sigma2)) / root_two_pi_sigma : integral;
        s_low *= 1 - 1e-12;
        s_high *= 1 + 1e-12;
    }
    return {s_low / theta_high, std::fmin(1.0, s_high)};
}

/// Upper bound on delta(epsilon) of the discrete Gaussian mechanism with
/// variance parameter sigma2 (>= 1/4) on integer queries of sensitivity
/// `sensitivity` (a positive integer). CKS20 Theorem 7 gives
///   delta = P[Y >= m1] - e^eps P[Y >= m1 + D],  m1 = floor(eps s2/D - D/2) + 1;
/// the tails are bounded by discrete_gaussian_upper_tail and the result is
/// inflated by a relative 1e-10 for the error of erfc and exp.
inline double discrete_gaussian_delta_upper(double epsilon, double sigma2, double sensitivity) noexcept {
    if (!(sigma2 >= 0.25)) return 1.0;  // outside the range of the normaliser bound: claim nothing
    const double m1 = std::floor(epsilon * sigma2 / sensitivity - sensitivity / 2) + 1;
    const double first = discrete_gaussian_upper_tail(m1, sigma2).upper;
    const double second = discrete_gaussian_upper_tail(m1 + sensitivity, sigma2).lower;
    const double scaled_second = second > 0 ? std::exp(epsilon + std::log(second)) : 0.0;
    const double value = first - scaled_second * (1 - 1e-10);
    return value > 0 ? value * (1 + 1e-10) : 0;
}

}  // namespace detail

}  // namespace dpkit
