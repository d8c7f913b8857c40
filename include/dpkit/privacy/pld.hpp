#pragma once
/// \file
/// Privacy-loss distributions (PLDs): the distribution of the privacy loss
/// L = ln(P(o)/Q(o)) of a mechanism's output o ~ P on one dataset against Q on
/// a neighbour; delta(eps) = E[(1 - e^(eps - L))_+] + P[L = inf]. Composition
/// convolves PLDs, which is tight (Meiser & Mohammadi 2018; Koskela, Jalko,
/// Honkela 2020; Google dp_accounting).
///
/// Discretisation: "connect the dots" (Doroshenko, Ghazi, Kamath, Kumar,
/// Manurangsi 2022): losses on the grid i*h carry masses chosen so that the
/// discrete delta(eps) equals the mechanism's exact privacy profile at every grid
/// point and interpolates it linearly in e^eps in between; the profile is convex
/// in e^eps, so the discrete PLD dominates the true one (pessimistic). Mass
/// above the grid becomes P[L = inf]; mass below it sits at the lowest grid
/// point (a larger loss). Composition convolves the pmfs by FFT and truncates
/// the same pessimistic way. Add/remove neighbours are kept as two directions
/// and every query takes the worse one.
///
/// Profiles: Gaussian (Balle & Wang 2018), Laplace, discrete Laplace, m-ary
/// randomized response, Poisson-subsampled Gaussian (both directions), and the
/// worst case for a pure or approximate DP guarantee ((eps, delta)-randomized
/// response: Kairouz, Oh, Viswanath 2015).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "../detail/fft.hpp"
#include "../detail/format.hpp"
#include "../detail/rounding.hpp"
#include "cost.hpp"
#include "gaussian.hpp"

namespace dpkit {

/// Grid and truncation of a discretised PLD.
struct pld_options {
    double interval = 1e-4;        ///< grid spacing h of the losses
    double tail_mass = 1e-15;      ///< mass allowed to move to the grid's ends (pessimistically)
};

class privacy_loss_distribution {
public:
    /// One direction: masses at losses (offset + i) * h, plus the mass at +infinity.
    struct pmf {
        std::int64_t offset = 0;
        std::vector<double> mass;
        double infinity_mass = 0;
    };

    /// Builds a PLD from exact privacy profiles delta(eps) of each direction
    /// (for a symmetric mechanism pass the same profile twice).
    static privacy_loss_distribution from_profiles(const std::function<double(double)>& remove_profile,
                                                   const std::function<double(double)>& add_profile,
                                                   pld_options options = {}) {
        check_options(options);
        privacy_loss_distribution out;
        out.options_ = options;
        out.remove_ = connect_the_dots(remove_profile, options);
        out.add_ = connect_the_dots(add_profile, options);
        return out;
    }

    /// Gaussian mechanism with noise multiplier sigma / sensitivity.
    static privacy_loss_distribution gaussian(double noise_multiplier, pld_options options = {}) {
        positive("noise multiplier", noise_multiplier);
        auto profile = [noise_multiplier](double eps) {
            if (eps < 0) return 1 - std::exp(eps) * (1 - gaussian_delta(-eps, noise_multiplier, 1.0));
            return gaussian_delta(eps, noise_multiplier, 1.0);
        };
        return from_profiles(profile, profile, options);
    }

    /// Laplace mechanism with b = scale / sensitivity.
    static privacy_loss_distribution laplace(double b, pld_options options = {}) {
        positive("b", b);
        // Loss under P = Lap(0,b) against Q = Lap(1,b): 1/b w.p. 1/2, -1/b w.p. e^{-1/b}/2,
        // continuous in between with P[L > l] = 1 - e^{-(1 - l b)/(2b)}/2 for |l| < 1/b.
        auto profile = [b](double eps) {
            const double top = 1 / b;
            if (eps >= top) return 0.0;
            if (eps <= -top) return 1 - std::exp(eps);
            // delta = E_P[(1 - e^{eps - L})_+]: atom at 1/b plus the continuous part.
            const double atom = 0.5 * (1 - std::exp(eps - top));
            // Continuous part: x in (0, x*) with x* = (1 - eps b)/2, L(x) = (1 - 2x)/b,
            // density e^{-x/b}/(2b): int (1 - e^{eps - (1-2x)/b}) e^{-x/b}/(2b) dx.
            const double xs = (1 - eps * b) / 2;
            const double part1 = 0.5 * (1 - std::exp(-xs / b));
            const double part2 = std::exp(eps - 1 / b) * 0.5 * std::expm1(xs / b);
            return std::max(0.0, atom + part1 - part2);
        };
        return from_profiles(profile, profile, options);
    }

    /// Discrete Laplace noise with scale t (P[k] ~ exp(-|k|/t)) on integer queries of
    /// sensitivity `shift` (a positive integer): the exact profile, by geometric sums.
    static privacy_loss_distribution discrete_laplace(double t, double shift, pld_options options = {}) {
        positive("t", t);
        if (!(shift >= 1) || shift != std::floor(shift)) {
            detail::throw_invalid("dpkit::privacy_loss_distribution", "shift must be a positive integer", shift);
        }
        const double d = shift;
        const double p = std::exp(-1 / t);
        const double one_minus_p = -std::expm1(-1 / t);
        const double c = one_minus_p / (1 + p);
        // Losses: d/t w.p. 1/(1+p) (k <= 0); -d/t w.p. p^d/(1+p) (k >= d);
        // (d - 2k)/t w.p. c p^k for 0 < k < d.
        auto profile = [=](double eps) {
            double out = 0;
            if (eps < d / t) out += (1 / (1 + p)) * -std::expm1(eps - d / t);
            if (eps < -d / t) out += std::exp(-d / t) / (1 + p) * -std::expm1(eps + d / t);
            // Middle: k = 1..K with (d - 2k)/t > eps, K = min(d - 1, ceil((d - eps t)/2) - 1).
            const double kmax = std::min(d - 1, std::ceil((d - eps * t) / 2) - 1);
            if (kmax >= 1) {
                // sum c p^k (1 - e^{eps - (d - 2k)/t}) = c [sum p^k - e^{eps - d/t} sum e^{k/t}]
                const double geo_p = p * -std::expm1(-kmax / t) / one_minus_p;           // sum_{k=1}^K p^k
                const double geo_q = std::exp(1 / t) * std::expm1(kmax / t) / std::expm1(1 / t);  // sum e^{k/t}
                out += c * (geo_p - std::exp(eps - d / t) * geo_q);
            }
            return std::clamp(out, 0.0, 1.0);
        };
        return from_profiles(profile, profile, options);
    }

    /// Discrete Gaussian noise with variance parameter sigma2 on integer queries of
    /// sensitivity `shift`, from the rigorous upper bound on its profile
    /// (detail::discrete_gaussian_delta_upper; negative eps by symmetry).
    static privacy_loss_distribution discrete_gaussian(double sigma2, double shift, pld_options options = {}) {
        positive("sigma2", sigma2);
        positive("shift", shift);
        auto profile = [=](double eps) {
            if (eps < 0) return 1 - std::exp(eps) * (1 - detail::discrete_gaussian_delta_upper(-eps, sigma2, shift));
            return detail::discrete_gaussian_delta_upper(eps, sigma2, shift);
        };
        return from_profiles(profile, profile, options);
    }

    /// Binary or m-ary randomized response, replace-one: truth with p_truth, each other value with p_other.
    static privacy_loss_distribution randomized_response(double p_truth, double p_other, int m, pld_options options = {}) {
        if (m < 2 || !(p_other > 0) || !(p_truth >= p_other)) {
            detail::throw_invalid("dpkit::privacy_loss_distribution", "need m >= 2 and p_truth >= p_other > 0", p_truth);
        }
        // Losses: ln(p_truth/p_other) w.p. p_truth, -that w.p. p_other, 0 w.p. (m-2) p_other.
        const double l = std::log(p_truth / p_other);
        auto profile = [=](double eps) {
            double d = 0;
            if (eps < l) d += p_truth * -std::expm1(eps - l);
            if (eps < 0) d += (m - 2) * p_other * -std::expm1(eps);
            if (eps < -l) d += p_other * -std::expm1(eps + l);
            return d;
        };
        return from_profiles(profile, profile, options);
    }

    /// The worst case for an (epsilon, delta)-DP guarantee: (eps, delta)-randomized
    /// response (KOV15), which dominates every (epsilon, delta)-DP mechanism.
    static privacy_loss_distribution worst_case(const approx_dp& c, pld_options options = {}) {
        if (!std::isfinite(c.epsilon) || !(c.epsilon >= 0) || !(c.delta >= 0 && c.delta < 1)) {
            detail::throw_invalid("dpkit::privacy_loss_distribution", "need finite epsilon >= 0 and delta in [0, 1)", c.epsilon);
        }
        const double e = c.epsilon;
        const double d = c.delta;
        auto profile = [=](double eps) {
            const double hi = (1 - d) / (1 + std::exp(-e));  // mass at +e
            const double lo = (1 - d) / (1 + std::exp(e));   // mass at -e
            double out = d;
            if (eps < e) out += hi * -std::expm1(eps - e);
            if (eps < -e) out += lo * -std::expm1(eps + e);
            return out;
        };
        return from_profiles(profile, profile, options);
    }
    static privacy_loss_distribution worst_case(const pure_dp& c, pld_options options = {}) {
        return worst_case(approx_dp{c.epsilon, 0}, options);
    }

    /// Poisson-subsampled Gaussian (rate q, noise multiplier sigma), add/remove neighbours.
    static privacy_loss_distribution poisson_subsampled_gaussian(double q, double sigma, pld_options options = {}) {
        if (!(q > 0 && q <= 1)) detail::throw_invalid("dpkit::privacy_loss_distribution", "q must be in (0, 1]", q);
        positive("noise multiplier", sigma);
        if (q == 1) return gaussian(sigma, options);
        const double s2 = sigma * sigma;
        const double log1mq = std::log1p(-q);
        // x such that (1-q) + q e^{(2x-1)/(2 s2)} = e^m   (m > ln(1-q)).
        auto x_of = [=](double m) { return s2 * (std::log(-std::expm1(log1mq - m)) + m - std::log(q)) + 0.5; };
        auto sf = [sigma](double x) { return detail::normal_sf(x / sigma); };
        auto cdf = [sigma](double x) { return detail::normal_cdf(x / sigma); };
        // Remove: P = (1-q) N(0) + q N(1), Q = N(0); L increasing in x.
        auto remove = [=](double eps) {
            if (eps <= log1mq) return 1 - std::exp(eps);  // every loss exceeds eps
            const double x = x_of(eps);
            const double p_tail = (1 - q) * sf(x) + q * sf(x - 1);
            const double q_tail = sf(x);
            return std::max(0.0, p_tail - (q_tail > 0 ? std::exp(eps + std::log(q_tail)) : 0.0));
        };
        // Add: P = N(0), Q = mixture; L = -ln((1-q) + q e^{(2x-1)/(2 s2)}), decreasing in x.
        auto add = [=](double eps) {
            if (eps >= -log1mq) return 0.0;
            const double x = x_of(-eps);  // L > eps  <=>  X < x
            const double p_tail = cdf(x);
            const double q_tail = (1 - q) * cdf(x) + q * cdf(x - 1);
            return std::max(0.0, p_tail - std::exp(eps) * q_tail);
        };
        return from_profiles(remove, add, options);
    }

    const pld_options& options() const noexcept { return options_; }
    const pmf& remove_direction() const noexcept { return remove_; }
    const pmf& add_direction() const noexcept { return add_; }

    /// The PLD of running both mechanisms (same grid spacing required).
    privacy_loss_distribution compose(const privacy_loss_distribution& other) const {
        if (other.options_.interval != options_.interval) {
            detail::throw_invalid("dpkit::privacy_loss_distribution::compose", "both PLDs must use the same interval",
                                  other.options_.interval);
        }
        privacy_loss_distribution out = *this;
        out.remove_ = convolve(remove_, other.remove_, options_.tail_mass);
        out.add_ = convolve(add_, other.add_, options_.tail_mass);
        return out;
    }

    /// The PLD of k runs (k >= 1), by repeated squaring.
    privacy_loss_distribution self_compose(std::uint64_t k) const {
        if (k == 0) detail::throw_invalid("dpkit::privacy_loss_distribution::self_compose", "k must be >= 1", k);
        privacy_loss_distribution result = *this;
        privacy_loss_distribution power = *this;
        bool have = false;
        while (k > 0) {
            if (k & 1u) {
                result = have ? result.compose(power) : power;
                have = true;
            }
            k >>= 1;
            if (k > 0) power = power.compose(power);
        }
        return result;
    }

    /// delta(eps) of the discretised PLD (the worse direction).
    double delta_for_epsilon(double eps) const { return std::max(delta_of(remove_, eps), delta_of(add_, eps)); }

    /// The smallest eps >= 0 with delta(eps) <= delta (the worse direction), rounded up.
    double epsilon_for_delta(double delta) const {
        if (!(delta > 0 && delta < 1)) {
            detail::throw_invalid("dpkit::privacy_loss_distribution::epsilon_for_delta", "delta must be in (0, 1)", delta);
        }
        return std::max(epsilon_of(remove_, delta), epsilon_of(add_, delta));
    }

private:
    static void positive(const char* what, double v) {
        if (!std::isfinite(v) || !(v > 0)) {
            detail::throw_invalid("dpkit::privacy_loss_distribution", std::string(what) + " must be finite and > 0", v);
        }
    }

    static void check_options(const pld_options& o) {
        if (!(o.interval > 0) || !std::isfinite(o.interval)) {
            detail::throw_invalid("dpkit::pld_options", "interval must be finite and > 0", o.interval);
        }
        if (!(o.tail_mass >= 0 && o.tail_mass < 1e-3)) detail::throw_invalid("dpkit::pld_options", "tail_mass must be in [0, 1e-3)", o.tail_mass);
    }

    /// Connect-the-dots masses from the profile at grid points, with the anchor delta(-inf) = 1.
    static pmf connect_the_dots(const std::function<double(double)>& profile, const pld_options& o) {
        const double h = o.interval;
        // Upper end: the first grid point where delta <= tail_mass (that delta becomes
        // the infinity mass), found by doubling then bisection.
        auto above = [&](std::int64_t i) { return profile(static_cast<double>(i) * h) > o.tail_mass; };
        std::int64_t hi = 1;
        while (above(hi)) {
            hi *= 2;
            if (hi > (std::int64_t{1} << 40)) detail::throw_invalid("dpkit::privacy_loss_distribution", "privacy loss too large for the grid");
        }
        for (std::int64_t lo_known = hi / 2; hi - lo_known > 1;) {
            const std::int64_t mid = lo_known + (hi - lo_known) / 2;
            (above(mid) ? lo_known : hi) = mid;
        }
        // Lower end: where delta is within tail_mass of 1 - e^eps (no loss mass below).
        auto has_mass_below = [&](std::int64_t i) {
            const double eps = static_cast<double>(i) * h;
            return profile(eps) - (1 - std::exp(eps)) > o.tail_mass;
        };
        std::int64_t lo = -1;
        while (has_mass_below(lo) && lo > -(std::int64_t{1} << 40)) lo *= 2;
        for (std::int64_t hi_known = lo / 2; hi_known - lo > 1;) {
            const std::int64_t mid = lo + (hi_known - lo) / 2;
            (has_mass_below(mid) ? hi_known : lo) = mid;
        }
        const auto n = static_cast<std::size_t>(hi - lo + 1);
        std::vector<double> x(n);      // e^{eps_i}
        std::vector<double> delta(n);  // profile at eps_i
        for (std::size_t i = 0; i < n; ++i) {
            const double eps = static_cast<double>(lo + static_cast<std::int64_t>(i)) * h;
            x[i] = std::exp(eps);
            delta[i] = std::clamp(profile(eps), 0.0, 1.0);
        }
        // Masses come from the lower convex hull of the points (x_i, delta_i), with
        // the anchor (0, 1) and slope 0 after the last point. The true profile is
        // convex in x and lies below every point, so it lies below the hull too:
        // the discrete PLD dominates even when `profile` is only an upper bound or
        // carries rounding error, and every mass is >= 0.
        for (std::size_t i = n - 1; i-- > 0;) delta[i] = std::max(delta[i], delta[i + 1]);
        std::vector<std::size_t> hull;  // indices into x/delta; the anchor is implicit before them
        auto cross_below = [&](double ax, double ay, std::size_t b, std::size_t c) {
            // true when b lies on or above the segment a-c (so b is not a hull vertex)
            return (delta[b] - ay) * (x[c] - ax) >= (delta[c] - ay) * (x[b] - ax);
        };
        for (std::size_t i = 0; i < n; ++i) {
            while (!hull.empty()) {
                const std::size_t b = hull.back();
                const double ax = hull.size() >= 2 ? x[hull[hull.size() - 2]] : 0.0;
                const double ay = hull.size() >= 2 ? delta[hull[hull.size() - 2]] : 1.0;
                if (cross_below(ax, ay, b, i)) {
                    hull.pop_back();
                } else {
                    break;
                }
            }
            hull.push_back(i);
        }
        pmf out;
        out.offset = lo;
        out.mass.assign(n, 0.0);
        out.infinity_mass = delta[n - 1];
        // Mass at a hull vertex v: x_v * (slope right - slope left); non-vertices carry none.
        for (std::size_t k = 0; k < hull.size(); ++k) {
            const std::size_t v = hull[k];
            const double left = k == 0 ? (delta[v] - 1) / x[v]
                                       : (delta[v] - delta[hull[k - 1]]) / (x[v] - x[hull[k - 1]]);
            const double right = k + 1 < hull.size() ? (delta[hull[k + 1]] - delta[v]) / (x[hull[k + 1]] - x[v]) : 0.0;
            out.mass[v] = std::max(0.0, x[v] * (right - left));
        }
        sweep_up_dust(out, o.tail_mass);
        return out;
    }

    static pmf convolve(const pmf& a, const pmf& b, double tail_mass) {
        pmf out;
        out.offset = a.offset + b.offset;
        out.mass = detail::convolve(a.mass, b.mass);
        out.infinity_mass = std::min(1.0, a.infinity_mass + b.infinity_mass - a.infinity_mass * b.infinity_mass);
        truncate(out, tail_mass);
        sweep_up_dust(out, tail_mass * 1e-3);
        return out;
    }

    /// Moves every mass below tail_mass up to the next loss that carries mass (or
    /// to +infinity): pessimistic, and it keeps rounding dust from defeating the
    /// sparse convolution of atomic PLDs.
    static void sweep_up_dust(pmf& p, double tail_mass) {
        double carried = 0;
        for (std::size_t i = 0; i < p.mass.size(); ++i) {
            const double here = p.mass[i] + carried;
            if (here < tail_mass) {
                p.mass[i] = 0;
                carried = here;
            } else {
                p.mass[i] = here;
                carried = 0;
            }
        }
        p.infinity_mass = std::min(1.0, p.infinity_mass + carried);
    }

    /// Moves at most tail_mass from the top to +infinity and from the bottom up to the lowest kept loss.
    static void truncate(pmf& p, double tail_mass) {
        std::size_t top = p.mass.size();
        double moved = 0;
        while (top > 1 && moved + p.mass[top - 1] <= tail_mass / 2) moved += p.mass[--top];
        p.infinity_mass = std::min(1.0, p.infinity_mass + moved);
        p.mass.resize(top);
        std::size_t bottom = 0;
        double low = 0;
        while (bottom + 1 < p.mass.size() && low + p.mass[bottom] <= tail_mass / 2) low += p.mass[bottom++];
        if (bottom > 0) {
            p.mass.erase(p.mass.begin(), p.mass.begin() + static_cast<std::ptrdiff_t>(bottom));
            p.mass.front() += low;
            p.offset += static_cast<std::int64_t>(bottom);
        }
    }

    double delta_of(const pmf& p, double eps) const {
        double d = p.infinity_mass;
        for (std::size_t i = 0; i < p.mass.size(); ++i) {
            const double loss = static_cast<double>(p.offset + static_cast<std::int64_t>(i)) * options_.interval;
            if (loss > eps) d += p.mass[i] * -std::expm1(eps - loss);
        }
        return d;
    }

    double epsilon_of(const pmf& p, double delta) const {
        if (p.infinity_mass > delta) return detail::infinity;
        // For eps in [l_{j-1}, l_j): delta(eps) = A_j - e^{eps - l_j} B_j + inf, with
        // A_j = sum_{i>=j} m_i and B_j = sum_{i>=j} m_i e^{-(l_i - l_j)} (relative to
        // l_j, so nothing overflows for large losses). Walk down from the top.
        const double h = options_.interval;
        const double decay = std::exp(-h);
        double a = 0;
        double b = 0;
        for (std::size_t j = p.mass.size(); j-- > 0;) {
            const double lj = static_cast<double>(p.offset + static_cast<std::int64_t>(j)) * h;
            a += p.mass[j];
            b = p.mass[j] + b * decay;
            const double at_lower = a - decay * b + p.infinity_mass;  // delta at eps = l_{j-1}
            if (at_lower > delta || j == 0) {
                const double excess = a + p.infinity_mass - delta;
                const double eps = excess > 0 && b > 0 ? lj + std::log(excess / b) : lj - h;
                return std::max(0.0, detail::next_up(std::clamp(eps, lj - h, lj) + 1e-12 * (1 + std::fabs(lj))));
            }
        }
        return 0;
    }

    pld_options options_{};
    pmf remove_;
    pmf add_;
};

}  // namespace dpkit
