#pragma once
/// \file
/// Calibration: the smallest noise that keeps k releases within a target
/// (epsilon, delta) under a composition rule. Results are in units of the
/// sensitivity (Gaussian: sigma / L2 sensitivity; Laplace: scale / L1
/// sensitivity), rounded up, and always satisfy the target under the rule
/// (bisections return their feasible end).
///
/// Gaussian: basic (each release gets epsilon/k, delta/k, analytic sigma),
/// zcdp (rho split evenly, CKS20 conversion), renyi, pld.
/// Laplace: basic (k/epsilon), advanced, optimal_homogeneous (KOV15), zcdp, renyi, pld.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "../detail/format.hpp"
#include "../detail/rounding.hpp"
#include "../privacy/composition.hpp"
#include "../privacy/gaussian.hpp"
#include "../privacy/pld.hpp"
#include "../privacy/rdp.hpp"
#include "../privacy/zcdp.hpp"
#include "rules.hpp"

namespace dpkit {

namespace detail {

inline void check_target(const char* who, std::uint64_t k, const approx_dp& t, bool need_delta) {
    if (k == 0) throw_invalid(who, "k must be >= 1", k);
    if (!std::isfinite(t.epsilon) || !(t.epsilon > 0)) throw_invalid(who, "epsilon must be finite and > 0", t.epsilon);
    if (need_delta ? !(t.delta > 0 && t.delta < 1) : !(t.delta >= 0 && t.delta < 1)) {
        throw_invalid(who, need_delta ? "delta must be in (0, 1)" : "delta must be in [0, 1)", t.delta);
    }
}

/// The smallest noise in [lo, hi] (up to a relative `tolerance`) for which
/// fits(noise) holds, assuming more noise never hurts; returns a value that fits.
template <class Fits>
double smallest_fitting(const char* who, double lo, double hi, double tolerance, Fits fits) {
    while (!fits(hi)) {
        lo = hi;
        hi *= 2;
        if (hi > 1e300) throw_invalid(who, "no finite noise meets the target");
    }
    while (lo > 1e-300 && fits(lo)) lo /= 2;
    while (hi - lo > hi * tolerance) {
        const double mid = lo + (hi - lo) / 2;
        (fits(mid) ? hi : lo) = mid;
    }
    return hi;
}

/// The smallest noise in [lo, hi] (up to a relative `tolerance`) whose epsilon
/// epsilon_of(noise) is at most `target`, assuming epsilon decreases with the
/// noise: bracketing (doubling hi, halving lo), then the Illinois variant of
/// regula falsi on epsilon - target, bisecting where epsilon is infinite.
/// Returns a noise that fits (its epsilon was computed and is <= target).
template <class Epsilon>
double smallest_fitting_noise(const char* who, double lo, double hi, double tolerance, double target, Epsilon epsilon_of) {
    double f_hi = epsilon_of(hi) - target;
    while (!(f_hi <= 0)) {
        lo = hi;
        hi *= 2;
        if (hi > 1e300) throw_invalid(who, "no finite noise meets the target");
        f_hi = epsilon_of(hi) - target;
    }
    double f_lo = epsilon_of(lo) - target;
    while (f_lo <= 0) {
        if (!(lo > 1e-300)) return lo;
        hi = lo;
        f_hi = f_lo;
        lo /= 2;
        f_lo = epsilon_of(lo) - target;
    }
    int side = 0;  // which end moved last (Illinois halving of the stale end's value)
    while (hi - lo > hi * tolerance) {
        double mid = lo + (hi - lo) / 2;
        if (std::isfinite(f_lo)) {
            const double t = f_lo / (f_lo - f_hi);
            // Keep the step inside the bracket, away from its ends.
            mid = lo + std::clamp(t, 0.02, 0.98) * (hi - lo);
            // Aim a little past the root so the step tends to fit and shrink the bracket from above.
            mid = std::min(hi, mid + 0.25 * hi * tolerance);
        }
        const double f = epsilon_of(mid) - target;
        if (f <= 0) {
            hi = mid;
            f_hi = f;
            if (side == 1) f_lo /= 2;
            side = 1;
        } else {
            lo = mid;
            f_lo = f;
            if (side == -1) f_hi /= 2;
            side = -1;
        }
    }
    return hi;
}

/// Whether k uses of a mechanism with this RDP curve fit the target.
inline bool rdp_fits(rdp_curve curve, double k, const approx_dp& target) {
    for (auto& e : curve.epsilons) e = mul_up(e, k);
    return rdp_to_approx_dp(curve, target.delta).epsilon <= target.epsilon;
}

}  // namespace detail

/// Smallest Gaussian noise multiplier (sigma / L2 sensitivity) keeping k releases
/// within `target` under Rule (basic_composition, zcdp_composition,
/// renyi_composition or pld_composition).
template <class Rule>
double calibrate_gaussian(std::uint64_t k, const approx_dp& target, pld_options options = {}) {
    constexpr const char* who = "dpkit::calibrate_gaussian";
    detail::check_target(who, k, target, true);
    const double kd = static_cast<double>(k);
    if constexpr (std::is_same_v<Rule, basic_composition>) {
        return analytic_gaussian_sigma(detail::div_down(target.epsilon, kd), detail::div_down(target.delta, kd), 1.0);
    } else if constexpr (std::is_same_v<Rule, zcdp_composition>) {
        const double rho = detail::div_down(zcdp_rho_for(target.epsilon, target.delta), kd);
        return detail::sqrt_up(detail::div_up(1.0, detail::mul_down(2.0, rho)));
    } else if constexpr (std::is_same_v<Rule, renyi_composition>) {
        return detail::smallest_fitting(who, 1e-3, 1.0, 1e-12,
                                        [&](double z) { return detail::rdp_fits(gaussian_rdp(z), kd, target); });
    } else if constexpr (std::is_same_v<Rule, pld_composition>) {
        // k Gaussians compose exactly to one with sigma / sqrt(k), and the discretised PLD
        // dominates the exact one, so nothing below `exact` fits: on a fine grid the first
        // try, exact (1 + 1e-6), is already within the tolerance.
        const double exact = detail::mul_up(std::sqrt(kd), analytic_gaussian_sigma(target.epsilon, target.delta, 1.0));
        auto epsilon_of = [&](double z) {
            return privacy_loss_distribution::gaussian(z, options).self_compose(k).epsilon_for_delta(target.delta);
        };
        const double first = exact * (1 + 1e-6);
        if (epsilon_of(first) <= target.epsilon) return first;
        return detail::smallest_fitting_noise(who, first, exact * 1.001, 1e-6, target.epsilon, epsilon_of);
    } else {
        static_assert(!sizeof(Rule), "calibrate_gaussian: the rule must be basic, zcdp, renyi or pld composition");
    }
}

/// Smallest Laplace scale per unit of L1 sensitivity keeping k releases within
/// `target` under Rule (basic, advanced, optimal_homogeneous, zcdp, renyi or pld composition).
template <class Rule>
double calibrate_laplace(std::uint64_t k, const approx_dp& target, pld_options options = {}) {
    constexpr const char* who = "dpkit::calibrate_laplace";
    const double kd = static_cast<double>(k);
    if constexpr (std::is_same_v<Rule, basic_composition>) {
        detail::check_target(who, k, target, false);
        return detail::div_up(kd, target.epsilon);
    } else {
        detail::check_target(who, k, target, true);
        if constexpr (std::is_same_v<Rule, advanced_composition> || std::is_same_v<Rule, optimal_homogeneous_composition>) {
            return detail::smallest_fitting(who, 1e-3, 1.0, 1e-12, [&](double b) {
                const double eps0 = detail::div_up(1.0, b);
                const double basic = detail::mul_up(kd, eps0);
                const double theorem = std::is_same_v<Rule, advanced_composition>
                                           ? advanced_composition_epsilon(eps0, static_cast<long long>(k), target.delta)
                                           : kov_optimal_epsilon(eps0, static_cast<long long>(k), target.delta);
                return std::min(basic, theorem) <= target.epsilon;
            });
        } else if constexpr (std::is_same_v<Rule, zcdp_composition>) {
            // Each release is (1/b)-DP, i.e. rho = 1/(2 b^2); k of them must fit rho*.
            const double rho = detail::div_down(zcdp_rho_for(target.epsilon, target.delta), kd);
            return detail::sqrt_up(detail::div_up(1.0, detail::mul_down(2.0, rho)));
        } else if constexpr (std::is_same_v<Rule, renyi_composition>) {
            return detail::smallest_fitting(who, 1e-3, 1.0, 1e-12,
                                            [&](double b) { return detail::rdp_fits(laplace_rdp(b), kd, target); });
        } else if constexpr (std::is_same_v<Rule, pld_composition>) {
            // Laplace is tighter than any (1/b)-DP mechanism: the optimal homogeneous
            // composition's scale fits, and the search starts below it.
            const double kov = calibrate_laplace<optimal_homogeneous_composition>(k, target);
            return detail::smallest_fitting_noise(who, kov / 2, kov, 1e-6, target.epsilon, [&](double b) {
                return privacy_loss_distribution::laplace(b, options).self_compose(k).epsilon_for_delta(target.delta);
            });
        } else {
            static_assert(!sizeof(Rule), "calibrate_laplace: unsupported rule");
        }
    }
}

}  // namespace dpkit
