#pragma once
/// \file
/// The Gaussian mechanism, done exactly with discrete Gaussian noise.
///
/// Guarantee: for any query whose values on neighbouring datasets differ by at
/// most `l2_sensitivity` in L2 norm, releasing value + noise is
/// (epsilon, delta)-DP for the (epsilon, delta) it was built for, and rho-zCDP
/// with rho = D'^2 / (2 sigma^2) as reported by zcdp_cost(), where D' is the
/// sensitivity after lattice rounding (Canonne, Kamath, Steinke 2020, Thm 4 and 14).
///
/// Calibration: scalars (dimension 1) start from the analytic Gaussian sigma
/// (Balle & Wang 2018) and raise the integer variance until CKS20 Theorem 7's
/// delta for the discrete Gaussian, bounded rigorously (privacy/gaussian.hpp),
/// is at most delta; the increase is about one lattice step. Vectors (dimension
/// d > 1) use the multivariate discrete Gaussian's zCDP guarantee and the CKS20
/// zCDP-to-(epsilon, delta) conversion, because the discrete Gaussian is not
/// rotation-invariant and the one-dimensional curve does not apply.
///
/// Integer values get discrete Gaussian noise with rational sigma^2 directly.
/// Real values are rounded to a power-of-two lattice with step g (the largest
/// power of two <= min(sigma 2^-14, (D/sqrt(d)) 2^-20), from public parameters
/// only); the rounding is charged to the
/// sensitivity (scalars: floor(D/g) + 1 steps; vectors: D/g + sqrt(d) steps),
/// and noise is drawn in steps with an integer variance. Outputs are exact
/// multiples of g (see lattice.hpp).
///
/// Batches: add_noise(span, g) in place and fill_noise(span, g), one pool of
/// random bits for the whole span. Timing: gaussian_mechanism's sampler is
/// exact but not timing-safe; timing_safe_gaussian_mechanism below is (at a
/// tiny extra delta).

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <span>
#include <type_traits>
#include <vector>

#include "../detail/exact_decimal.hpp"
#include "../detail/format.hpp"
#include "../detail/rounding.hpp"
#include "../detail/validate.hpp"
#include "../privacy/cost.hpp"
#include "../privacy/gaussian.hpp"
#include "../privacy/zcdp.hpp"
#include "../random/samplers.hpp"
#include "../random/timing_safe.hpp"
#include "../rational.hpp"
#include "accuracy.hpp"
#include "additive_noise.hpp"
#include "lattice.hpp"
#include "parameters.hpp"

namespace dpkit {

namespace detail {
/// Bits of lattice resolution below sigma: sigma / step >= 2^14 (and < 2^15
/// unless the sensitivity asks for a finer step), which keeps the sampler's
/// arithmetic in 64 and 128 bits.
inline constexpr int gaussian_lattice_bits = 14;
}  // namespace detail

/// The Gaussian mechanism for values of type T (double, or a signed integer
/// type). Immutable; validated at construction; thread-safe to share.
template <class T = double>
    requires detail::mechanism_value<T>
class gaussian_mechanism : public detail::additive_mechanism<T, discrete_gaussian_distribution> {
    using base = detail::additive_mechanism<T, discrete_gaussian_distribution>;
    using base::dimension_;
    using base::noise_;

public:

    /// (epsilon, delta)-DP for queries with the given L2 sensitivity, applied to
    /// scalars or to vectors of length `dim`.
    gaussian_mechanism(dpkit::epsilon eps, dpkit::delta del, dpkit::l2_sensitivity sensitivity,
                       dpkit::dimension dim = dpkit::dimension{1})
        : base(who, dim.value, discrete_gaussian_distribution(rational(1))),
          epsilon_(detail::require_positive_finite(who, "epsilon", eps.value)),
          delta_(detail::require_open_unit(who, "delta", del.value)),
          sensitivity_(detail::require_positive_finite(who, "l2_sensitivity", sensitivity.value)),
          // Calibrate to the decimal (epsilon, delta) the accountant books (never to more).
          target_epsilon_(detail::at_most_declared(epsilon_)),
          target_delta_(detail::at_most_declared(delta_)) {
        if (!(target_delta_ > 0)) detail::throw_invalid(who, "delta must be in (0, 1)", delta_);
        if constexpr (std::is_integral_v<T>) {
            // Integer queries: neighbours differ by an integer vector of L2 norm <= D.
            const double units = dimension_ == 1 ? std::fmax(1.0, std::floor(sensitivity_)) : sensitivity_;
            calibrate(units, 62);
        } else {
            const double sigma0 = dimension_ == 1 ? analytic_gaussian_sigma(target_epsilon_, target_delta_, sensitivity_)
                                                  : vector_sigma(sensitivity_);
            noise_.grid = detail::lattice_for_scale(
                who, sigma0, detail::gaussian_lattice_bits,
                sensitivity_ / detail::sqrt_up(static_cast<double>(dimension_)));
            const double scaled = std::ldexp(sensitivity_, -noise_.grid.exponent);  // exact
            const double units = dimension_ == 1
                                     ? std::floor(scaled) + 1
                                     : detail::add_up(scaled, detail::sqrt_up(static_cast<double>(dimension_)));
            calibrate(units, 0);
        }
    }

    double epsilon() const noexcept { return epsilon_; }
    double delta() const noexcept { return delta_; }
    double l2_sensitivity() const noexcept { return sensitivity_; }
    /// How many steps apart neighbours' (rounded) values can be in L2 norm: the
    /// sensitivity the discrete noise is calibrated for.
    double sensitivity_in_steps() const noexcept { return units_; }
    /// Standard deviation parameter sigma of the noise, in the units of the values.
    double stddev() const noexcept { return std::sqrt(noise_.noise.sigma2().to_double()) * this->step(); }

    /// What one release costs in (epsilon, delta)-DP.
    approx_dp cost() const noexcept { return approx_dp{epsilon_, delta_}; }
    /// What one release costs in zCDP: rho = D'^2 / (2 sigma^2), rounded up so
    /// that its shortest decimal (what an accountant books) is an upper bound too.
    zcdp zcdp_cost() const noexcept { return zcdp{rho_}; }

private:
    static constexpr const char* who = "dpkit::gaussian_mechanism";

    double vector_sigma(double sensitivity) const {
        const double rho = zcdp_rho_for(target_epsilon_, target_delta_);
        return detail::div_up(sensitivity, detail::sqrt_down(detail::mul_down(2.0, rho)));
    }

    /// Chooses the variance (in steps^2) for neighbours `units` steps apart.
    /// fraction_bits > 0 allows a dyadic sigma^2 (integer values); 0 forces an
    /// integer sigma^2 (lattice values, for the fast sampler path).
    void calibrate(double units, int fraction_bits) {
        units_ = units;
        double sigma = dimension_ == 1 ? analytic_gaussian_sigma(target_epsilon_, target_delta_, units) : vector_sigma(units);
        double s2 = detail::mul_up(sigma, sigma);
        if (!(s2 <= 0x1p100)) detail::throw_invalid(who, "noise variance too large (sigma^2 > 2^100 steps)", s2);
        auto to_rational = [&](double v) {
            return fraction_bits > 0 ? rational::at_least(v, fraction_bits) : rational::exactly(std::ceil(v));
        };
        rational r = to_rational(s2);
        if (dimension_ == 1) {
            // Raise sigma^2 until the rigorous discrete-Gaussian delta bound meets
            // delta: bracket with growing steps, then bisect. `hi` always meets it.
            auto meets = [&](const rational& v) {
                return detail::discrete_gaussian_delta_upper(target_epsilon_, detail::next_down(v.to_double()), units) <=
                       target_delta_;
            };
            if (!meets(r)) {
                double lo = s2;
                double hi = s2;
                double growth = 0x1p-20;
                do {
                    lo = hi;
                    hi = detail::mul_up(s2, 1 + growth);
                    growth *= 2;
                    if (!(hi <= 0x1p100)) detail::throw_invalid(who, "could not calibrate the discrete Gaussian", delta_);
                } while (!meets(to_rational(hi)));
                for (int i = 0; i < 60 && hi - lo > hi * 0x1p-40; ++i) {
                    const double mid = lo + (hi - lo) / 2;
                    (meets(to_rational(mid)) ? hi : lo) = mid;
                }
                r = to_rational(hi);
            }
        }
        noise_.noise = discrete_gaussian_distribution(r);
        const double rho = detail::div_up(detail::mul_up(units, units), detail::mul_down(2.0, detail::next_down(r.to_double())));
        if (!std::isfinite(rho)) {
            detail::throw_invalid(who, "epsilon too large: its zCDP cost rho = D^2 / (2 sigma^2) overflows a double", epsilon_);
        }
        rho_ = detail::booked_up(rho);
    }

    double epsilon_;
    double delta_;
    double sensitivity_;
    double target_epsilon_;
    double target_delta_;
    double units_ = 1;
    double rho_ = 0;
};

/// The Gaussian mechanism with a timing-safe sampler (random/timing_safe.hpp):
/// the same calibration, lattice and outputs as gaussian_mechanism<T>, but
/// every draw does the same work (a fixed number of CKS20 rounds, words and
/// iterations) whatever the noise. The sampler is within total variation eta
/// of the exact discrete Gaussian (R rounds' comparisons and the chance that
/// none accepts), so a release is (epsilon, delta + (1 + e^epsilon) d eta)-DP
/// (rounded up): cost() is approx_dp with that delta; no zCDP cost is offered.
/// Needs sigma^2 in [1/64, 2^100] steps^2 (dpkit::invalid_argument otherwise).
template <class T = double>
    requires detail::mechanism_value<T>
class timing_safe_gaussian_mechanism
    : public detail::timing_safe_additive<gaussian_mechanism<T>, timing_safe_discrete_gaussian> {
    using base = detail::timing_safe_additive<gaussian_mechanism<T>, timing_safe_discrete_gaussian>;

public:
    /// As gaussian_mechanism(epsilon, delta, l2_sensitivity, dimension).
    timing_safe_gaussian_mechanism(dpkit::epsilon eps, dpkit::delta del, dpkit::l2_sensitivity sensitivity,
                                   dpkit::dimension dim = dpkit::dimension{1})
        : timing_safe_gaussian_mechanism(gaussian_mechanism<T>(eps, del, sensitivity, dim)) {}

    double epsilon() const noexcept { return this->exact_.epsilon(); }
    /// The requested delta plus timing_delta().
    double delta() const noexcept { return delta_; }
    approx_dp cost() const noexcept { return approx_dp{this->exact_.epsilon(), delta_}; }

private:
    static constexpr const char* who = "dpkit::timing_safe_gaussian_mechanism";

    explicit timing_safe_gaussian_mechanism(gaussian_mechanism<T> exact)
        : base(who, exact, timing_safe_discrete_gaussian(exact.noise_distribution().sigma2())) {
        const double factor = detail::add_up(1.0, detail::exp_up(this->exact_.epsilon()));
        const double d = static_cast<double>(this->exact_.dimension());
        const double extra = detail::mul_up(detail::mul_up(factor, d), this->noise_.noise.eta());
        const double total = detail::add_up(this->exact_.delta(), extra);
        if (!(total < 1)) detail::throw_invalid(who, "epsilon too large for the timing-safe sampler (its delta reaches 1)", this->exact_.epsilon());
        this->timing_delta_ = detail::booked_up(extra);
        delta_ = detail::booked_up(total);
    }

    double delta_ = 0;
};

/// P[|noise| > x] for the mechanism's noise: the upper end of rigorous bounds
/// that are exact to 1e-12 relative for sigma < 256 steps (term-by-term sums)
/// and to about (x/sigma^2)^2/24 relative above (Hermite-Hadamard bounds; see
/// detail::discrete_gaussian_upper_tail).
template <class T>
double tail_probability(const gaussian_mechanism<T>& m, double x) {
    if (std::isnan(x)) detail::throw_invalid("dpkit::tail_probability", "x must not be NaN", x);
    if (x < 0) return 1.0;
    const double k = std::floor(x / m.step());
    const double s2 = m.noise_distribution().sigma2().to_double();
    return std::fmin(1.0, 2 * detail::discrete_gaussian_upper_tail(k + 1, s2).upper);
}

/// A symmetric interval [-w, w] (w a multiple of the step) holding the noise
/// with probability at least `level`: w from the Gaussian tail bound
/// P[|Y| > k] <= 2 P[N(0, sigma^2) > k], so coverage is never below level and
/// the width exceeds the smallest one by at most about one step.
template <class T>
interval confidence_interval(const gaussian_mechanism<T>& m, double level) {
    if (!(level > 0 && level < 1)) detail::throw_invalid("dpkit::confidence_interval", "level must be in (0, 1)", level);
    const double sigma = std::sqrt(m.noise_distribution().sigma2().to_double());
    auto covers = [&](double k) { return 2 * detail::normal_sf_upper(k / sigma) <= 1 - level; };
    double lo = -1;  // k = 0 never covers: P[|Y| > 0] bound is 1
    double hi = std::ceil(sigma);
    while (!covers(hi)) hi *= 2;
    while (hi - lo > 1) {
        const double mid = std::floor((lo + hi) / 2);
        (covers(mid) ? hi : lo) = mid;
    }
    return interval{-hi * m.step(), hi * m.step()};
}

}  // namespace dpkit
