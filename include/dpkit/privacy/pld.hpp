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
/// discrete delta(eps) equals the mechanism's privacy profile at every grid
/// point and interpolates it linearly in e^eps in between; the profile is convex
/// in e^eps, so the discrete PLD dominates the true one (pessimistic). The grid
/// of one PLD spans at most detail::pld_max_grid_points points: its top is the
/// first grid point where delta(eps) is within tail_mass/1024 of delta(+inf) or the
/// end of that span, and delta there becomes P[L = inf] (so a delta > 0 of an
/// approximate-DP guarantee, or a loss beyond the grid, lands in the infinity
/// mass); mass below the grid sits at its lowest point (a larger loss).
/// Add/remove neighbours are kept as two directions (one when the mechanism is
/// symmetric) and every query takes the worse one.
///
/// Composition (compose, self_compose, compose_powers) multiplies the
/// spectra of the pmfs: one real FFT per distinct PLD, raised to its count,
/// and one inverse FFT, on a window [L, L + N) of the composed losses chosen by
/// Chernoff bounds from each pmf's moment generating function. Every mass of the
/// result is an upper bound on the exact composed mass at its loss, and
/// everything the FFT gets wrong is made pessimistic:
///  - the circular FFT folds mass above the window onto lower losses: the
///    Chernoff bound on the composed mass above the window goes to P[L = inf];
///    the bound on the mass below the window is added at its lowest loss;
///  - FFT round-off: a rigorous bound on the error of every output (uniform
///    over the outputs, see spectral_pass) is added to every mass. Added to every
///    loss rather than to P[L = inf], it moves delta(eps) only by the bound times
///    the number of losses above eps;
///  - that absolute bound would still dominate the smallest masses of the upper
///    tail, so a second pass composes the pmfs tilted by e^{lambda l} (lambda the
///    Chernoff-optimal order near the 1e-11 tail), whose error bound, mapped
///    back by e^{-lambda l} M(lambda)^k, is relative to the tail itself; each mass
///    keeps the smaller of the two bounds;
///  - a composition whose window would exceed detail::pld_max_fft_size points is
///    composed on a grid 2^j times coarser, every loss rounded up to it (the
///    result's options().interval is the grid it was composed on);
///  - after composing, at most tail_mass/2 is moved from the top to +infinity
///    and from the bottom up to the lowest kept loss, and masses below
///    tail_mass/1000 move up to the next kept loss.
///
/// Profiles: Gaussian (Balle & Wang 2018), Laplace, discrete Laplace, m-ary
/// randomized response, Poisson-subsampled Gaussian (both directions), and the
/// worst case for a pure or approximate DP guarantee ((eps, delta)-randomized
/// response: Kairouz, Oh, Viswanath 2015).

#include <algorithm>
#include <bit>
#include <cmath>
#include <complex>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
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

namespace detail {

/// Most grid points one direction of a discretised PLD spans (losses beyond go to +infinity).
inline constexpr std::int64_t pld_max_grid_points = std::int64_t{1} << 22;
/// Largest FFT a PLD composition uses.
inline constexpr std::size_t pld_max_fft_size = std::size_t{1} << 23;

/// Orders lambda = 2^(j/4), j = -40..40, at which PLD moment bounds are kept.
inline const std::vector<double>& pld_orders() {
    static const std::vector<double> orders = [] {
        std::vector<double> v;
        for (int j = -40; j <= 40; ++j) v.push_back(std::exp2(j / 4.0));
        return v;
    }();
    return orders;
}

/// Upper bounds on ln E[e^(lambda L); L finite] at lambda = +orders[j] (up) and
/// -orders[j] (down), and the finite support [lowest, highest] of the losses.
struct pld_moments {
    std::vector<double> up;
    std::vector<double> down;
    double lowest = 0;
    double highest = 0;
    bool empty = true;  ///< no finite mass
};

}  // namespace detail

class privacy_loss_distribution {
public:
    /// One direction: masses at losses (offset + i) * h, plus the mass at +infinity.
    struct pmf {
        std::int64_t offset = 0;
        std::vector<double> mass;
        double infinity_mass = 0;
        friend bool operator==(const pmf&, const pmf&) = default;
    };

    /// A PLD and how many times it is composed (compose_powers).
    struct power {
        const privacy_loss_distribution* pld;
        std::uint64_t count;
    };

    /// Builds a PLD from privacy profiles delta(eps) (exact or upper bounds) of
    /// each direction; profile(+inf) should give P[L = inf] (it only decides where the grid ends).
    static privacy_loss_distribution from_profiles(const std::function<double(double)>& remove_profile,
                                                   const std::function<double(double)>& add_profile,
                                                   pld_options options = {}) {
        check_options(options);
        privacy_loss_distribution out;
        out.options_ = options;
        out.remove_ = std::make_shared<const pmf>(connect_the_dots(remove_profile, options));
        out.add_ = std::make_shared<const pmf>(connect_the_dots(add_profile, options));
        return out;
    }

    /// Builds a PLD of a symmetric mechanism (both directions share one profile).
    static privacy_loss_distribution from_profile(const std::function<double(double)>& profile, pld_options options = {}) {
        check_options(options);
        privacy_loss_distribution out;
        out.options_ = options;
        out.remove_ = std::make_shared<const pmf>(connect_the_dots(profile, options));
        out.add_ = out.remove_;
        return out;
    }

    /// Gaussian mechanism with noise multiplier sigma / sensitivity.
    static privacy_loss_distribution gaussian(double noise_multiplier, pld_options options = {}) {
        positive("noise multiplier", noise_multiplier);
        auto profile = [noise_multiplier](double eps) {
            if (eps < 0) return 1 - std::exp(eps) * (1 - gaussian_delta(-eps, noise_multiplier, 1.0));
            return gaussian_delta(eps, noise_multiplier, 1.0);
        };
        return from_profile(profile, options);
    }

    /// Laplace mechanism with b = scale / sensitivity.
    static privacy_loss_distribution laplace(double b, pld_options options = {}) {
        positive("b", b);
        // Loss under P = Lap(0,b) against Q = Lap(1,b) lies in [-1/b, 1/b], with an atom
        // of 1/2 at 1/b; delta(eps) = 1 - e^{(eps - 1/b)/2} for |eps| < 1/b.
        const double top = 1 / b;
        auto profile = [top](double eps) {
            if (eps >= top) return 0.0;
            if (eps <= -top) return -std::expm1(eps);
            return -std::expm1((eps - top) / 2);
        };
        return from_profile(profile, options);
    }

    /// Discrete Laplace noise with scale t (P[k] ~ exp(-|k|/t)) on integer queries of
    /// sensitivity `shift` (a positive integer): the exact profile, by geometric sums.
    static privacy_loss_distribution discrete_laplace(double t, double shift, pld_options options = {}) {
        positive("t", t);
        if (!(shift >= 1) || shift != std::floor(shift) || !std::isfinite(shift)) {
            detail::throw_invalid("dpkit::privacy_loss_distribution", "shift must be a positive integer", shift);
        }
        const double d = shift;
        const double p = std::exp(-1 / t);
        // Losses: d/t w.p. 1/(1+p) (k <= 0); -d/t w.p. p^d/(1+p) (k >= d);
        // (d - 2k)/t w.p. (1-p)/(1+p) p^k for 0 < k < d.
        auto profile = [=](double eps) {
            double out = 0;
            if (eps < d / t) out += -std::expm1(eps - d / t) / (1 + p);
            if (eps < -d / t) out += std::exp(-d / t) / (1 + p) * -std::expm1(eps + d / t);
            // Middle: k = 1..K, K = min(d - 1, ceil((d - eps t)/2) - 1), where (d - 2k)/t > eps:
            // (1-p)/(1+p) sum_k (e^{-k/t} - e^{eps - (d-k)/t})
            //   = (1 - e^{-K/t})/(1+p) (p - e^{eps - (d-K)/t}), both exponents <= 0.
            const double kmax = std::min(d - 1, std::ceil((d - eps * t) / 2) - 1);
            if (kmax >= 1) out += -std::expm1(-kmax / t) / (1 + p) * (p - std::exp(eps - (d - kmax) / t));
            return std::clamp(out, 0.0, 1.0);
        };
        return from_profile(profile, options);
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
        return from_profile(profile, options);
    }

    /// Tolerance on p_truth + (m - 1) p_other = 1 in randomized_response.
    static constexpr double distribution_tolerance = 1e-12;

    /// m-ary randomized response, replace-one: truth with p_truth, each other value
    /// with p_other. Requires m >= 2, p_truth >= p_other > 0 and p_truth + (m - 1)
    /// p_other = 1 within distribution_tolerance (a deficit counts as P[L = inf]).
    static privacy_loss_distribution randomized_response(double p_truth, double p_other, int m, pld_options options = {}) {
        constexpr const char* who = "dpkit::privacy_loss_distribution";
        if (m < 2) detail::throw_invalid(who, "need m >= 2", m);
        if (!(p_other > 0) || !(p_truth >= p_other) || !(p_truth <= 1)) {
            detail::throw_invalid(who, "need 1 >= p_truth >= p_other > 0", p_truth);
        }
        const double md = static_cast<double>(m);
        const double total = p_truth + (md - 1) * p_other;
        if (!(std::fabs(total - 1) <= distribution_tolerance)) {
            detail::throw_invalid(who, "p_truth + (m - 1) p_other must be 1 within 1e-12", total);
        }
        const double loss = detail::next_up(detail::next_up(std::log(p_truth) - std::log(p_other)));
        return rr_from_loss(loss, p_truth, p_other, md, std::max(0.0, 1 - total), options);
    }

    /// m-ary epsilon-randomized response (truth with probability e^eps / (e^eps + m - 1)),
    /// computed without overflow for any finite eps >= 0.
    static privacy_loss_distribution randomized_response_epsilon(double epsilon, double m, pld_options options = {}) {
        constexpr const char* who = "dpkit::privacy_loss_distribution";
        if (!std::isfinite(epsilon) || !(epsilon >= 0)) detail::throw_invalid(who, "epsilon must be finite and >= 0", epsilon);
        if (!(m >= 2) || !std::isfinite(m)) detail::throw_invalid(who, "need m >= 2", m);
        const double small = std::exp(-epsilon);  // e^-eps, may underflow to 0 (then so does p_other)
        const double norm = 1 + (m - 1) * small;
        const double p_truth = 1 / norm;
        const double p_other = small / norm;
        // The two probabilities are within 5 ulps (relative) of the exact ones; rr_from_loss
        // raises the profile by more than that, relatively (so tiny deltas stay reachable).
        return rr_from_loss(epsilon, p_truth, p_other, m, 0.0, options);
    }

    /// The worst case for an (epsilon, delta)-DP guarantee: (eps, delta)-randomized
    /// response (KOV15), which dominates every (epsilon, delta)-DP mechanism; delta
    /// is the mass at +infinity.
    static privacy_loss_distribution worst_case(const approx_dp& c, pld_options options = {}) {
        if (!std::isfinite(c.epsilon) || !(c.epsilon >= 0) || !(c.delta >= 0 && c.delta < 1)) {
            detail::throw_invalid("dpkit::privacy_loss_distribution", "need finite epsilon >= 0 and delta in [0, 1)", c.epsilon);
        }
        const double e = c.epsilon;
        const double d = c.delta;
        const double small = std::exp(-e);
        const double hi = (1 - d) / (1 + small);          // mass at +e
        const double lo = (1 - d) * small / (1 + small);  // mass at -e
        auto profile = [=](double eps) {
            double out = d;
            if (eps < e) out += hi * -std::expm1(eps - e);
            if (eps < -e) out += lo * -std::expm1(eps + e);
            return out;
        };
        return from_profile(profile, options);
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
            if (eps <= log1mq) return -std::expm1(eps);  // every loss exceeds eps
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
    const pmf& remove_direction() const noexcept { return *remove_; }
    const pmf& add_direction() const noexcept { return *add_; }
    /// Whether both directions are the same distribution (stored and composed once).
    bool symmetric() const noexcept { return remove_ == add_; }

    /// Same grid, same masses in both directions.
    friend bool operator==(const privacy_loss_distribution& a, const privacy_loss_distribution& b) {
        return a.options_.interval == b.options_.interval && a.options_.tail_mass == b.options_.tail_mass &&
               (a.remove_ == b.remove_ || *a.remove_ == *b.remove_) && (a.add_ == b.add_ || *a.add_ == *b.add_);
    }

    /// The PLD of running both mechanisms (same grid spacing required).
    privacy_loss_distribution compose(const privacy_loss_distribution& other) const {
        const power parts[] = {{this, 1}, {&other, 1}};
        return compose_powers(parts);
    }

    /// The PLD of k runs (k >= 1): one FFT raised to the k-th power.
    privacy_loss_distribution self_compose(std::uint64_t k) const {
        if (k == 0) detail::throw_invalid("dpkit::privacy_loss_distribution::self_compose", "k must be >= 1", k);
        const power parts[] = {{this, k}};
        return compose_powers(parts);
    }

    /// The PLD of running parts[i].pld parts[i].count times each (counts may be 0,
    /// not all; same grid spacing required): one FFT per distinct PLD.
    static privacy_loss_distribution compose_powers(std::span<const power> parts) {
        constexpr const char* who = "dpkit::privacy_loss_distribution::compose";
        const privacy_loss_distribution* first = nullptr;
        bool symmetric = true;
        for (const auto& part : parts) {
            if (part.pld == nullptr) detail::throw_invalid(who, "the PLD must not be null");
            if (part.count == 0) continue;
            if (first == nullptr) first = part.pld;
            if (part.pld->options_.interval != first->options_.interval) {
                detail::throw_invalid(who, "both PLDs must use the same interval", part.pld->options_.interval);
            }
            symmetric = symmetric && part.pld->symmetric();
        }
        if (first == nullptr) detail::throw_invalid(who, "at least one count must be >= 1");
        privacy_loss_distribution out;
        out.options_ = first->options_;
        std::vector<pmf_power> remove;
        std::vector<pmf_power> add;
        for (const auto& part : parts) {
            if (part.count == 0) continue;
            remove.push_back({part.pld->remove_.get(), part.count});
            add.push_back({part.pld->add_.get(), part.count});
        }
        // A window beyond the largest FFT: compose on a grid 2^j times coarser, every
        // loss rounded up to it (the result's options().interval says which grid).
        std::vector<pmf> coarse;
        const bool single = remove.size() == 1 && remove[0].count == 1;
        for (std::int64_t factor = 1; !single; factor *= 2) {
            const double h = out.options_.interval;
            const double fits = static_cast<double>(detail::pld_max_fft_size);
            auto needed = [&](const std::vector<pmf_power>& ps) { return plan_window(ps, h, out.options_.tail_mass).needed; };
            if (needed(remove) <= fits && (symmetric || needed(add) <= fits)) break;
            if (factor >= (std::int64_t{1} << 40)) detail::throw_invalid(who, "the composed PLD is too wide for any grid", h);
            // Coarsen the originals by 2 * factor (from the fine grid, so each loss is rounded up once).
            const std::int64_t next = factor * 2;
            coarse.clear();
            coarse.reserve(2 * remove.size());
            for (const auto& part : parts) {
                if (part.count == 0) continue;
                coarse.push_back(coarsen(*part.pld->remove_, next));
                coarse.push_back(symmetric ? pmf{} : coarsen(*part.pld->add_, next));
            }
            for (std::size_t i = 0; i < remove.size(); ++i) {
                remove[i].p = &coarse[2 * i];
                add[i].p = symmetric ? &coarse[2 * i] : &coarse[2 * i + 1];
            }
            out.options_.interval = first->options_.interval * static_cast<double>(next);
        }
        out.remove_ = std::make_shared<const pmf>(compose_pmfs(remove, out.options_));
        out.add_ = symmetric ? out.remove_ : std::make_shared<const pmf>(compose_pmfs(add, out.options_));
        return out;
    }

    /// delta(eps) of the discretised PLD (the worse direction).
    double delta_for_epsilon(double eps) const {
        const double r = delta_of(*remove_, eps);
        return symmetric() ? r : std::max(r, delta_of(*add_, eps));
    }

    /// The smallest eps >= 0 with delta(eps) <= delta (the worse direction), rounded up.
    double epsilon_for_delta(double delta) const {
        if (!(delta > 0 && delta < 1)) {
            detail::throw_invalid("dpkit::privacy_loss_distribution::epsilon_for_delta", "delta must be in (0, 1)", delta);
        }
        const double r = epsilon_of(*remove_, delta);
        return symmetric() ? r : std::max(r, epsilon_of(*add_, delta));
    }

    /// Moment bounds of one direction (see detail::pld_moments), from `bins` bins of the pmf.
    static detail::pld_moments moments(const pmf& p, double interval, std::size_t bins = 2048) {
        detail::pld_moments out;
        const auto& orders = detail::pld_orders();
        out.up.assign(orders.size(), -detail::infinity);
        out.down.assign(orders.size(), -detail::infinity);
        std::size_t first = 0;
        std::size_t last = p.mass.size();
        while (first < last && !(p.mass[first] > 0)) ++first;
        while (last > first && !(p.mass[last - 1] > 0)) --last;
        if (first == last) return out;
        out.empty = false;
        const double h = interval;
        out.lowest = static_cast<double>(p.offset + static_cast<std::int64_t>(first)) * h;
        out.highest = static_cast<double>(p.offset + static_cast<std::int64_t>(last - 1)) * h;
        // Bins of `width` points: mass s and mean position theta in [0, 1] of each; by
        // convexity e^{lambda l} lies below its chord over the bin, so
        // sum_bin m e^{lambda l} <= s ((1 - theta) e^{lambda a} + theta e^{lambda b}).
        const std::size_t n = last - first;
        const std::size_t width = std::max<std::size_t>(1, (n + bins - 1) / bins);
        const std::size_t count = (n + width - 1) / width;
        std::vector<double> s(count, 0.0);
        std::vector<double> theta(count, 0.0);
        for (std::size_t b = 0; b < count; ++b) {
            const std::size_t lo = first + b * width;
            const std::size_t hi = std::min(last, lo + width);
            double s0 = 0;
            double s1 = 0;
            for (std::size_t i = lo; i < hi; ++i) {
                s0 += p.mass[i];
                s1 += p.mass[i] * static_cast<double>(i - lo);
            }
            s[b] = s0;
            theta[b] = (hi - lo > 1 && s0 > 0) ? std::clamp(s1 / (s0 * static_cast<double>(hi - lo - 1)), 0.0, 1.0) : 0.0;
        }
        auto span_of = [&](std::size_t b) {
            const std::size_t lo = first + b * width;
            return static_cast<double>(std::min(last, lo + width) - lo - 1) * h;
        };
        const double full = static_cast<double>(width) * h;
        for (std::size_t j = 0; j < orders.size(); ++j) {
            const double lambda = orders[j];
            // Upward: terms relative to the top of the top bin, walking down.
            {
                double sum = 0;
                double scale = 1;  // e^{lambda (top of bin b - top of last bin)}
                const double step = std::exp(-lambda * full);
                for (std::size_t b = count; b-- > 0;) {
                    const double w = span_of(b);
                    sum += s[b] * scale * ((1 - theta[b]) * std::exp(-lambda * w) + theta[b]);
                    if (b + 1 == count) {
                        // the last bin may be short: the next bin's top lies `full` lower than its start + full
                        scale = std::exp(-lambda * (w + h));
                    } else {
                        scale *= step;
                    }
                }
                out.up[j] = with_margin(std::log(sum) + lambda * out.highest);
            }
            // Downward (order -lambda): relative to the bottom of the first bin, walking up.
            {
                double sum = 0;
                double scale = 1;
                const double step = std::exp(-lambda * full);
                for (std::size_t b = 0; b < count; ++b) {
                    const double w = span_of(b);
                    sum += s[b] * scale * ((1 - theta[b]) + theta[b] * std::exp(-lambda * w));
                    scale *= step;
                }
                out.down[j] = with_margin(std::log(sum) - lambda * out.lowest);
            }
        }
        return out;
    }

private:
    struct pmf_power {
        const pmf* p;
        std::uint64_t count;
    };

    /// x plus a margin for the rounding of the sums that produced it.
    static double with_margin(double x) { return x + 1e-12 * (1 + std::fabs(x)); }
    static double mag(std::complex<double> z) { return std::sqrt(z.real() * z.real() + z.imag() * z.imag()); }

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

    /// Randomized response from its loss l = ln(p_truth/p_other) (p_other may underflow to 0).
    /// The profile is a sum of non-negative terms, each within 8 ulps of its exact value
    /// when the probabilities are within 5 ulps: it is raised by 64 u, relatively.
    static privacy_loss_distribution rr_from_loss(double l, double p_truth, double p_other, double m, double slack,
                                                  const pld_options& options) {
        auto profile = [=](double eps) {
            double d = 0;
            if (eps < l) d += p_truth * -std::expm1(eps - l);
            if (eps < 0) d += (m - 2) * p_other * -std::expm1(eps);
            if (eps < -l) d += p_other * -std::expm1(eps + l);
            return slack + d * (1 + 64 * 0x1p-53);
        };
        return from_profile(profile, options);
    }

    /// Connect-the-dots masses from the profile at grid points, with the anchor delta(-inf) = 1.
    static pmf connect_the_dots(const std::function<double(double)>& profile, const pld_options& o) {
        const double h = o.interval;
        // A profile that fails (NaN) claims nothing: delta = 1.
        auto value = [&](double eps) {
            const double d = profile(eps);
            return std::isnan(d) ? 1.0 : std::clamp(d, 0.0, 1.0);
        };
        const double at_infinity = [&] {
            const double d = profile(detail::infinity);
            return std::isnan(d) ? 0.0 : std::clamp(d, 0.0, 1.0);
        }();
        constexpr std::int64_t cap = detail::pld_max_grid_points;
        // Lower end: where delta is within tail_mass of 1 - e^eps (no loss mass below).
        auto has_mass_below = [&](std::int64_t i) {
            const double eps = static_cast<double>(i) * h;
            return value(eps) + std::expm1(eps) > o.tail_mass;
        };
        std::int64_t lo = -1;
        while (lo > -cap / 4 && has_mass_below(lo)) lo = std::max(lo * 2, -cap / 4);
        for (std::int64_t hi_known = lo / 2; hi_known - lo > 1;) {
            const std::int64_t mid = lo + (hi_known - lo) / 2;
            (has_mass_below(mid) ? hi_known : lo) = mid;
        }
        // Upper end: the first grid point where delta is within tail_mass / 1024 of its value
        // at the end of the span (or at +inf, if larger); delta there becomes the infinity
        // mass (so a thousand-fold composition moves at most about tail_mass to infinity).
        const std::int64_t top_cap = lo + cap - 1;
        const double floor = std::max(at_infinity, value(static_cast<double>(top_cap) * h));
        auto above = [&](std::int64_t i) { return value(static_cast<double>(i) * h) > floor + o.tail_mass / 1024; };
        std::int64_t hi = 1;
        while (hi < top_cap && above(hi)) hi = std::min(hi * 2, top_cap);
        for (std::int64_t lo_known = hi / 2; hi - lo_known > 1;) {
            const std::int64_t mid = lo_known + (hi - lo_known) / 2;
            (above(mid) ? lo_known : hi) = mid;
        }
        const auto n = static_cast<std::size_t>(hi - lo + 1);
        std::vector<double> delta(n);
        for (std::size_t i = 0; i < n; ++i) delta[i] = value(static_cast<double>(lo + static_cast<std::int64_t>(i)) * h);
        // Masses come from the lower convex hull of the points (e^{eps_i}, delta_i), with
        // the anchor (0, 1) and slope 0 after the last point. The true profile is
        // convex in e^eps and lies below every point, so it lies below the hull too:
        // the discrete PLD dominates even when `profile` is only an upper bound or
        // carries rounding error, and every mass is >= 0. Everything is computed from
        // differences of grid indices (scale-free in e^eps), so no exponential overflows.
        for (std::size_t i = n - 1; i-- > 0;) delta[i] = std::max(delta[i], delta[i + 1]);
        // Mass at vertex v between hull neighbours a < v < c: e^{eps_v} (slope(v,c) - slope(a,v))
        //   = (delta_c - delta_v) / expm1((c - v) h) + (delta_a - delta_v) / -expm1(-(v - a) h);
        // the anchor's term is 1 - delta_v.
        auto left_term = [&](const std::vector<std::size_t>& hull, std::size_t pos, std::size_t v) {
            if (pos == 0) return 1 - delta[v];
            const std::size_t a = hull[pos - 1];
            return (delta[a] - delta[v]) / -std::expm1(-static_cast<double>(v - a) * h);
        };
        auto right_term = [&](std::size_t v, std::size_t c) {
            return (delta[c] - delta[v]) / std::expm1(static_cast<double>(c - v) * h);
        };
        std::vector<std::size_t> hull;
        for (std::size_t i = 0; i < n; ++i) {
            while (!hull.empty()) {
                const std::size_t b = hull.back();
                if (left_term(hull, hull.size() - 1, b) + right_term(b, i) <= 0) {
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
        for (std::size_t k = 0; k < hull.size(); ++k) {
            const std::size_t v = hull[k];
            const double right = k + 1 < hull.size() ? right_term(v, hull[k + 1]) : 0.0;
            out.mass[v] = std::max(0.0, left_term(hull, k, v) + right);
        }
        sweep_up_dust(out, o.tail_mass / 1024);
        trim(out);
        return out;
    }

    /// z^c by repeated squaring (c >= 1), in real arithmetic.
    static std::complex<double> complex_power(std::complex<double> z, std::uint64_t c) {
        double rr = 1, ri = 0;
        double br = z.real(), bi = z.imag();
        while (true) {
            if (c & 1u) {
                const double t = rr * br - ri * bi;
                ri = rr * bi + ri * br;
                rr = t;
            }
            c >>= 1;
            if (c == 0) break;
            const double t = br * br - bi * bi;
            bi = 2 * br * bi;
            br = t;
        }
        return {rr, ri};
    }

    static double real_power(double x, std::uint64_t c) {
        double r = 1;
        while (c > 0) {
            if (c & 1u) r *= x;
            c >>= 1;
            if (c > 0) x *= x;
        }
        return r;
    }

    /// The window of a composition: loss indices [lo, lo + needed) hold all but a
    /// Chernoff-bounded tail on each side.
    struct composition_window {
        std::int64_t lo = 0;
        double needed = 0;        // grid points (a double: it may exceed every integer type's range)
        std::int64_t base = 0;    // sum of count * offset
        double support_lo = 0;    // the composed finite support (losses)
        double support_hi = 0;
        std::vector<detail::pld_moments> mom;
        bool empty = false;       // some part has no finite mass
    };

    static double log_mgf(const composition_window& w, const std::vector<pmf_power>& parts, std::size_t j, bool up) {
        double s = 0;
        for (std::size_t i = 0; i < parts.size(); ++i) s += static_cast<double>(parts[i].count) * (up ? w.mom[i].up[j] : w.mom[i].down[j]);
        return s;
    }

    /// Chernoff bounds on P[L >= t] (up) or P[L <= t] (down) of the composed finite part, as logarithms.
    static double log_tail_bound(const composition_window& w, const std::vector<pmf_power>& parts, double t, bool up) {
        const auto& orders = detail::pld_orders();
        double best = 0;
        for (std::size_t j = 0; j < orders.size(); ++j) {
            best = std::min(best, log_mgf(w, parts, j, up) + (up ? -orders[j] : orders[j]) * t);
        }
        return best;
    }

    static composition_window plan_window(const std::vector<pmf_power>& parts, double h, double tail_mass) {
        composition_window w;
        double support_lo = 0;
        double support_hi = 0;
        for (const auto& part : parts) {
            w.mom.push_back(moments(*part.p, h, 512));
            if (w.mom.back().empty) {
                w.empty = true;
                return w;
            }
            const double c = static_cast<double>(part.count);
            support_lo += c * w.mom.back().lowest;
            support_hi += c * w.mom.back().highest;
            w.base += static_cast<std::int64_t>(part.count) * part.p->offset;
        }
        const auto& orders = detail::pld_orders();
        const double log_tau = std::log(std::max(tail_mass / 8, 1e-300));
        double t_hi = support_hi;
        double t_lo = support_lo;
        for (std::size_t j = 0; j < orders.size(); ++j) {
            t_hi = std::min(t_hi, (log_mgf(w, parts, j, true) - log_tau) / orders[j]);
            t_lo = std::max(t_lo, (log_tau - log_mgf(w, parts, j, false)) / orders[j]);
        }
        if (!(t_lo <= t_hi)) t_lo = t_hi;
        w.support_lo = support_lo;
        w.support_hi = support_hi;
        const double lo = std::floor(t_lo / h) - 1;
        w.needed = std::ceil(t_hi / h) + 1 - lo + 1;
        w.lo = w.needed <= 0x1p52 ? static_cast<std::int64_t>(lo) : 0;
        return w;
    }

    /// A pmf on a grid `factor` times coarser, every loss rounded up to it (pessimistic);
    /// sums of masses are rounded up.
    static pmf coarsen(const pmf& p, std::int64_t factor) {
        auto ceil_div = [factor](std::int64_t a) { return a >= 0 ? (a + factor - 1) / factor : -((-a) / factor); };
        pmf out;
        out.offset = ceil_div(p.offset);
        out.infinity_mass = p.infinity_mass;
        const std::int64_t last = p.offset + static_cast<std::int64_t>(p.mass.size()) - 1;
        out.mass.assign(static_cast<std::size_t>(ceil_div(last) - out.offset + 1), 0.0);
        for (std::size_t i = 0; i < p.mass.size(); ++i) {
            out.mass[static_cast<std::size_t>(ceil_div(p.offset + static_cast<std::int64_t>(i)) - out.offset)] += p.mass[i];
        }
        // A sum of `factor` non-negative terms is within (factor - 1) u of its exact value.
        const double up = 1 + 2 * static_cast<double>(factor + 1) * 0x1p-53;
        for (double& m : out.mass) m *= up;
        return out;
    }

    /// Where a tilted pass maps back: its composed values at loss index J, times
    /// exp(g (top - J) + log_scale), bound the composition's masses.
    struct tilt_map {
        std::int64_t top = 0;     // sum of count * (highest loss index)
        double log_scale = 0;     // -sum count ln K, K the normalisation of each tilted part
        double log_slack = 0;     // sum count -ln(1 - eps_i): the tilted inputs' relative rounding
        double abs_terms = 0;     // sum of the magnitudes entering log_scale (for its rounding)
        double missing = 0;       // tilted mass dropped below 2^-1000 (times count)
    };

    /// One pass of the spectral composition on size n, with the inputs tilted by
    /// e^{g j} (g = 0: none). Leaves n times the circular composition in x (position p
    /// is loss index base + p mod n) and returns a bound on each entry's error after
    /// dividing by n.
    ///
    /// Error bound. Let the computed spectrum Z of an input of mass s be within e =
    /// (fft_error_factor(n) + f u) s of the exact one at every frequency (detail/fft.hpp;
    /// f summands folded into one position add f u s). Then |exact^c - Z^c| <= c e
    /// (|Z| + e)^(c-1), and computing Z^c rounds by at most 3 c u |Z^c|; products of parts
    /// combine their bounds as |ab - a'b'| <= |a - a'| |b'| + |a| |b - b'|. An output of
    /// the exact inverse is (1/n) sum_k Y_k w^{jk}, so an error E_k at each frequency
    /// moves every output by at most (1/n) sum_k E_k, and the inverse's own rounding
    /// moves it by at most (1/n) fft_error_factor(n) sum_k |Y_k| (over all n frequencies).
    /// The bound is uniform over the outputs; alternatively the forward part is at most
    /// sqrt(n) times its 2-norm (Higham's normwise bound), whichever is smaller.
    static double spectral_pass(const std::vector<pmf_power>& parts, std::size_t n, double g, tilt_map& tilt, std::vector<double>& x) {
        constexpr double u = 0x1p-53;
        constexpr double tiny = 0x1p-1000;
        const std::size_t half = n / 2;
        const auto plan_ptr = detail::fft_plan(n);
        const detail::real_fft_plan& plan = *plan_ptr;
        const double factor = detail::fft_error_factor(n);
        std::vector<std::complex<double>> spec;
        const bool single = parts.size() == 1;
        std::vector<std::complex<double>> prod(single ? 0 : half, {0, 0});
        std::vector<double> err(single ? 0 : half + 1, 0.0);
        std::vector<double> magnitude(single ? 0 : half + 1, 0.0);
        double sum_forward = 0;
        double sum_power = 0;
        double max_rc1 = 0;
        double forward_norm = 0;
        tilt = {};
        x.assign(n, 0.0);
        for (std::size_t i = 0; i < parts.size(); ++i) {
            const pmf& p = *parts[i].p;
            const std::uint64_t c = parts[i].count;
            const double cd = static_cast<double>(c);
            std::fill(x.begin(), x.end(), 0.0);
            const double folds = std::ceil(static_cast<double>(p.mass.size()) / static_cast<double>(n));
            double mass = 0;
            if (g == 0) {
                for (std::size_t j = 0; j < p.mass.size(); ++j) {
                    x[j & (n - 1)] += p.mass[j];
                    mass += p.mass[j];
                }
            } else {
                // x_j = p_j e^{g (j - last)} K: each within eps_i (relative) of its exact value.
                std::size_t last = p.mass.size();
                while (last > 1 && !(p.mass[last - 1] > 0)) --last;
                --last;
                double s = 0;
                double dropped = 0;
                for (std::size_t j = 0; j <= last; ++j) {
                    if (!(p.mass[j] > 0)) continue;
                    const double v = p.mass[j] * std::exp(g * (static_cast<double>(j) - static_cast<double>(last)));
                    if (!(v >= tiny)) {
                        dropped += tiny;
                        continue;
                    }
                    x[j & (n - 1)] += v;
                    s += v;
                }
                const double k = 1 / s;
                for (double& v : x) {
                    v *= k;
                    mass += v;
                }
                const double eps_i = 2 * u * (g * static_cast<double>(last) + folds + 4);
                tilt.top += static_cast<std::int64_t>(c) * (p.offset + static_cast<std::int64_t>(last));
                tilt.log_scale -= cd * std::log(k);
                tilt.log_slack -= cd * std::log1p(-eps_i);
                tilt.abs_terms += cd * (std::fabs(std::log(k)) + 2 * eps_i);
                tilt.missing += cd * dropped * k;
            }
            mass *= 1 + (folds + 1) * 2 * u;
            if (single) {
                double squares = 0;
                for (double v : x) squares += v * v;
                forward_norm = factor * std::sqrt(static_cast<double>(n) * squares) * (1 + 1e-9) + folds * u * mass;
            }
            plan.forward(x, spec);
            const double e = (factor + folds * u) * mass * (1 + 1e-9);
            auto raise = [&](std::complex<double> z, double& forward, double& power, double& rc1) {
                const double r = mag(z) * (1 + 4 * u) + e;
                rc1 = real_power(r, c - 1) * (1 + 2 * cd * u);
                if (!(rc1 * r > 1e-290)) {
                    forward = 0;
                    power = rc1 * r + 1e-300;  // the exact value is at most r^c: drop it
                    return std::complex<double>(0, 0);
                }
                const std::complex<double> zc = complex_power(z, c);
                forward = cd * e * rc1 * (1 + 1e-6);
                power = 3 * cd * u * mag(zc) * (1 + 1e-6);
                return zc;
            };
            auto combine = [&](std::size_t k, double zc_abs, double forward, double power, double rc1, double weight) {
                if (single) {
                    sum_forward += weight * forward;
                    sum_power += weight * power;
                    max_rc1 = std::max(max_rc1, rc1);
                    return;
                }
                const double bound = forward + power;
                if (i == 0) {
                    err[k] = bound;
                } else {
                    err[k] = (err[k] * (zc_abs + bound) + magnitude[k] * bound + 3 * u * magnitude[k] * zc_abs) * (1 + 1e-9);
                }
            };
            double f0 = 0, p0 = 0, r0 = 0, fm = 0, pm = 0, rm = 0;
            const double z0 = raise({spec[0].real(), 0}, f0, p0, r0).real();
            const double zm = raise({spec[0].imag(), 0}, fm, pm, rm).real();
            combine(0, std::fabs(z0), f0, p0, r0, 1);
            combine(half, std::fabs(zm), fm, pm, rm, 1);
            if (single) {
                spec[0] = {z0, zm};
            } else {
                prod[0] = i == 0 ? std::complex<double>(z0, zm) : std::complex<double>(prod[0].real() * z0, prod[0].imag() * zm);
                magnitude[0] = std::fabs(prod[0].real());
                magnitude[half] = std::fabs(prod[0].imag());
            }
            // |z| at or below `negligible` means (|z| + e)^c < 1e-290: the power is dropped
            // (its exact value is below that; counted below) without computing it.
            const double r_max = std::exp(-290 * std::log(10.0) / cd) * (1 - 1e-9);
            const double negligible = r_max > e ? (r_max - e) / (1 + 8 * u) : -1.0;
            const double negligible2 = negligible > 0 ? negligible * negligible : -1.0;
            for (std::size_t k = 1; k < half; ++k) {
                const std::complex<double> z = spec[k];
                if (z.real() * z.real() + z.imag() * z.imag() <= negligible2) {
                    if (single) {
                        spec[k] = {0, 0};
                    } else {
                        combine(k, 0, 0, 1e-290, 0, 2);
                        prod[k] = {0, 0};
                        magnitude[k] = 0;
                    }
                    continue;
                }
                double forward = 0, power = 0, rc1 = 0;
                const std::complex<double> zc = raise(z, forward, power, rc1);
                combine(k, mag(zc), forward, power, rc1, 2);
                if (single) {
                    spec[k] = zc;
                } else {
                    prod[k] = i == 0 ? zc : prod[k] * zc;
                    magnitude[k] = mag(prod[k]);
                }
            }
        }
        if (single) prod.swap(spec);
        double spectral = 0;  // 1-norm of the spectral error over all n frequencies
        if (single) {
            const double cd = static_cast<double>(parts[0].count);
            spectral = std::min(sum_forward, std::sqrt(static_cast<double>(n)) * cd * max_rc1 * forward_norm) + sum_power;
        } else {
            spectral = err[0] + err[half];
            for (std::size_t k = 1; k < half; ++k) spectral += 2 * err[k];
        }
        // Dropped powers: each below 1e-290.
        spectral += static_cast<double>(n) * 1e-290 * 2 * static_cast<double>(parts.size());
        double y1 = std::fabs(prod[0].real()) + std::fabs(prod[0].imag());
        for (std::size_t k = 1; k < half; ++k) y1 += 2 * mag(prod[k]);
        plan.inverse(prod, x);
        return (spectral + factor * y1 * (1 + 1e-9)) / static_cast<double>(n) * (1 + 1e-6) + 1e-300;
    }

    /// The tilt per grid step for the second pass: the Chernoff-optimal order for the
    /// loss whose Chernoff bound is 1e-11 (or the top of the window), times h.
    static double tail_tilt(const composition_window& w, const std::vector<pmf_power>& parts, double h, std::size_t n) {
        const double target = std::log(1e-11);
        double lo = static_cast<double>(w.lo) * h;
        double hi = static_cast<double>(w.lo + static_cast<std::int64_t>(n)) * h;
        if (log_tail_bound(w, parts, lo, true) > target) {
            for (int it = 0; it < 60; ++it) {
                const double mid = lo + (hi - lo) / 2;
                (log_tail_bound(w, parts, mid, true) > target ? lo : hi) = mid;
            }
        }
        const auto& orders = detail::pld_orders();
        double best = detail::infinity;
        double lambda = 0;
        for (std::size_t j = 0; j < orders.size(); ++j) {
            const double b = log_mgf(w, parts, j, true) - orders[j] * lo;
            if (b < best) {
                best = b;
                lambda = orders[j];
            }
        }
        return lambda * h;
    }

    /// Composition of pmfs raised to counts on the grid of `o` (see the file comment
    /// for the error accounting); the window must fit detail::pld_max_fft_size.
    static pmf compose_pmfs(const std::vector<pmf_power>& parts, const pld_options& o) {
        constexpr double u = 0x1p-53;
        const double h = o.interval;
        if (parts.size() == 1 && parts[0].count == 1) return *parts[0].p;
        // P[L = inf] of the composition: 1 - prod (1 - inf_i)^c_i, rounded up.
        double log_keep = 0;
        for (const auto& part : parts) {
            if (part.p->infinity_mass >= 1) return pmf{0, {0.0}, 1.0};
            log_keep += static_cast<double>(part.count) * std::log1p(-part.p->infinity_mass);
        }
        double infinity = log_keep < 0 ? std::min(1.0, -std::expm1(log_keep) * (1 + 1e-12) + 1e-300) : 0.0;
        // Two short or sparse pmfs: direct convolution. Each output is a sum of at most
        // `terms` non-negative products, within 2 (terms + 1) u of its exact value
        // (relative): every mass is raised by that much.
        if (parts.size() == 2 && parts[0].count == 1 && parts[1].count == 1) {
            const pmf& a = *parts[0].p;
            const pmf& b = *parts[1].p;
            const auto nnz = [](const pmf& p) {
                return static_cast<double>(std::count_if(p.mass.begin(), p.mass.end(), [](double m) { return m != 0; }));
            };
            const double out_size = static_cast<double>(a.mass.size() + b.mass.size());
            if (nnz(a) * nnz(b) <= 4 * out_size * std::log2(out_size + 2)) {
                pmf out;
                out.offset = a.offset + b.offset;
                out.mass = detail::convolve_direct(a.mass, b.mass);
                const double up = 1 + 2 * (std::min(nnz(a), nnz(b)) + 2) * u;
                for (double& m : out.mass) m *= up;
                out.infinity_mass = infinity;
                finish(out, o);
                return out;
            }
        }
        const composition_window w = plan_window(parts, h, o.tail_mass);
        if (w.empty) return pmf{0, {0.0}, 1.0};  // no finite mass left: claim nothing
        if (!(w.needed <= static_cast<double>(detail::pld_max_fft_size))) {
            detail::throw_invalid("dpkit::privacy_loss_distribution::compose", "the window exceeds the largest FFT", w.needed);
        }
        const std::size_t n = std::max<std::size_t>(16, std::bit_ceil(static_cast<std::size_t>(w.needed)));
        const auto n64 = static_cast<std::int64_t>(n);
        // Mass at losses >= (lo + n) h folds onto lower losses: its Chernoff bound goes to
        // infinity. Mass below lo h: its bound is added at lo (losses rounded up).
        // (None beyond the support; the supports are sums of exact grid losses, up to rounding.)
        const double above = static_cast<double>(w.lo + n64) * h;
        if (above <= w.support_hi + 1e-12 * (1 + std::fabs(w.support_hi))) {
            infinity = std::min(1.0, infinity + std::exp(log_tail_bound(w, parts, above, true)) * (1 + 1e-9));
        }
        const double lowest = static_cast<double>(w.lo) * h;
        const double below =
            lowest > w.support_lo - 1e-12 * (1 + std::fabs(w.support_lo))
                ? std::exp(log_tail_bound(w, parts, lowest, false)) * (1 + 1e-9)
                : 0.0;
        std::vector<double> x;
        tilt_map tilt;
        const double bound = spectral_pass(parts, n, 0, tilt, x);
        pmf out;
        out.offset = w.lo;
        out.mass.assign(n, 0.0);
        const auto start = static_cast<std::size_t>(((w.lo - w.base) % n64 + n64) % n64);
        const double scale = 1 / static_cast<double>(n);
        // Each exact mass is at most the computed one plus the bound.
        for (std::size_t i = 0; i < n; ++i) out.mass[i] = std::max(0.0, x[(start + i) & (n - 1)] * scale + bound);
        // Second pass, tilted towards the upper tail, where the first pass's absolute
        // bound would dominate the small masses: m_J <= (t_J + bound') exp(g (top - J) +
        // log_scale + log_slack), t_J the tilted pass's output. Keep the smaller bound.
        const double g = tail_tilt(w, parts, h, n);
        if (g > 0) {
            const double tilted_bound = spectral_pass(parts, n, g, tilt, x) + 2 * tilt.missing;
            const auto tilted_start = static_cast<std::size_t>(((w.lo - w.base) % n64 + n64) % n64);
            // Rounding of the exponent (each term within a few u of its magnitude) and of
            // the block products below, as one relative margin.
            constexpr std::size_t block = 64;
            const double span = std::fabs(static_cast<double>(tilt.top - w.lo)) + static_cast<double>(n);
            const double margin = 8 * u * (tilt.abs_terms + g * span + tilt.log_slack + g * block + 8);
            if (margin < 1e-6) {
                const double inflate = (1 + 2 * margin) * (1 + 1e-12);
                std::vector<double> step(block);
                for (std::size_t i = 0; i < block; ++i) step[i] = std::exp(-g * static_cast<double>(i));
                for (std::size_t b0 = 0; b0 < n; b0 += block) {
                    const double exponent = g * static_cast<double>(tilt.top - (w.lo + static_cast<std::int64_t>(b0))) +
                                            tilt.log_scale + tilt.log_slack;
                    if (exponent > 700) continue;
                    const double head = std::exp(std::max(exponent, -690.0)) * inflate;
                    for (std::size_t i = b0; i < std::min(n, b0 + block); ++i) {
                        const double t = x[(tilted_start + i) & (n - 1)] * scale + tilted_bound;
                        // (Products are kept above 1e-300 so that nothing underflows to 0.)
                        const double candidate = t > 0 ? std::max(t * head * step[i - b0], 1e-300) : 0.0;
                        if (candidate < out.mass[i]) out.mass[i] = candidate;
                    }
                }
            }
        }
        out.mass[0] += below;
        out.infinity_mass = infinity;
        finish(out, o);
        return out;
    }

    /// Truncation and dust sweeping after a composition.
    static void finish(pmf& p, const pld_options& o) {
        truncate(p, o.tail_mass);
        sweep_up_dust(p, o.tail_mass * 1e-3);
        trim(p);
    }

    /// Drops zero masses at both ends (keeping at least one entry).
    static void trim(pmf& p) {
        std::size_t last = p.mass.size();
        while (last > 1 && p.mass[last - 1] == 0) --last;
        p.mass.resize(last);
        std::size_t first = 0;
        while (first + 1 < p.mass.size() && p.mass[first] == 0) ++first;
        if (first > 0) {
            p.mass.erase(p.mass.begin(), p.mass.begin() + static_cast<std::ptrdiff_t>(first));
            p.offset += static_cast<std::int64_t>(first);
        }
    }

    /// Moves every mass below tail_mass up to the next loss that carries mass (or
    /// to +infinity): pessimistic, and it keeps rounding dust out of the pmf.
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

    /// Moves at most tail_mass/2 from the top to +infinity and from the bottom up to the lowest kept loss.
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
        return std::min(1.0, d);
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
    std::shared_ptr<const pmf> remove_;
    std::shared_ptr<const pmf> add_;
};

}  // namespace dpkit
