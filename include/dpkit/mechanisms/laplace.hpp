#pragma once
/// \file
/// The Laplace mechanism (Dwork, McSherry, Nissim, Smith 2006), done exactly.
///
/// Guarantee: for any query whose values on neighbouring datasets differ by at
/// most `l1_sensitivity` in L1 norm, releasing value + noise is epsilon-DP with
/// the epsilon reported by cost() (never more than the epsilon requested). The
/// noise is calibrated to the decimal an accountant books for the requested
/// epsilon (its shortest round-trip form), and a computed cost is rounded so
/// that its decimal is at least the exact loss.
///
/// Integer values (T integral) get discrete Laplace noise, P[z] proportional to
/// exp(-|z|/b) with b >= sensitivity/epsilon rounded up to a rational
/// (Ghosh, Roughgarden, Sundararajan 2009; sampler: the exact table-driven one of
/// random/digit_samplers.hpp, with CKS20 Algorithm 2's sign): an integer query's neighbours differ by at most floor(D), so the
/// loss is at most D/b <= epsilon.
///
/// Real values (T = double) are rounded to a power-of-two lattice with step g
/// (the largest power of two <= min(b 2^-20, (D/d) 2^-20): public parameters
/// only), and discrete
/// Laplace noise with integer scale t (in steps) is added: rounding moves
/// neighbours at most floor(D/g) + d steps apart in L1 for vectors of length d,
/// so t = ceil((floor(D/g) + d) / epsilon) gives epsilon-DP exactly. Outputs are
/// exact multiples of g, the same set for every input (see lattice.hpp).
///
/// Batches: add_noise(span, g) adds noise to a whole vector in place and
/// fill_noise(span, g) writes independent noise draws, sharing one pool of
/// random bits. Timing: laplace_mechanism's sampler is exact but not
/// timing-safe; timing_safe_laplace_mechanism below is (at a tiny delta).

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <type_traits>
#include <vector>

#include "../detail/exact_decimal.hpp"
#include "../detail/format.hpp"
#include "../detail/rounding.hpp"
#include "../detail/validate.hpp"
#include "../privacy/cost.hpp"
#include "../random/samplers.hpp"
#include "../random/timing_safe.hpp"
#include "../rational.hpp"
#include "accuracy.hpp"
#include "additive_noise.hpp"
#include "lattice.hpp"
#include "parameters.hpp"

namespace dpkit {

namespace detail {

/// Bits of lattice resolution below the Laplace scale: b / step >= 2^20 (and
/// < 2^21 unless the sensitivity asks for a finer step).
inline constexpr int laplace_lattice_bits = 20;

}  // namespace detail

/// The Laplace mechanism for values of type T (double, or a signed integer
/// type). Immutable; validated at construction; thread-safe to share.
template <class T = double>
    requires detail::mechanism_value<T>
class laplace_mechanism : public detail::additive_mechanism<T, discrete_laplace_distribution> {
    using base = detail::additive_mechanism<T, discrete_laplace_distribution>;
    using base::dimension_;
    using base::noise_;

public:

    /// epsilon-DP for queries with the given L1 sensitivity, applied to scalars
    /// or to vectors of length `dim`.
    laplace_mechanism(dpkit::epsilon eps, dpkit::l1_sensitivity sensitivity, dpkit::dimension dim = dpkit::dimension{1})
        : base(who, dim.value, discrete_laplace_distribution(rational(1))),
          sensitivity_(detail::require_positive_finite(who, "l1_sensitivity", sensitivity.value)) {
        detail::require_positive_finite(who, "epsilon", eps.value);
        // Calibrate to the decimal epsilon the accountant books (never to more).
        const double target = detail::at_most_declared(eps.value);
        const double b = detail::div_up(sensitivity_, target);
        if constexpr (std::is_integral_v<T>) {
            init_integer(b, eps.value);
        } else {
            noise_.grid = detail::lattice_for_scale(who, b, detail::laplace_lattice_bits, per_coordinate());
            const double units = lattice_units();
            const double t = std::ceil(detail::div_up(units, target));
            init_lattice(t, units);
            epsilon_ = std::fmin(epsilon_, eps.value);  // both decimals bound units / t <= target
        }
    }

    /// Noise of the given scale b; the cost is the epsilon this gives for the
    /// sensitivity (L1 sensitivity / b, rounded up, plus lattice rounding for doubles).
    laplace_mechanism(dpkit::scale b, dpkit::l1_sensitivity sensitivity, dpkit::dimension dim = dpkit::dimension{1})
        : base(who, dim.value, discrete_laplace_distribution(rational(1))),
          sensitivity_(detail::require_positive_finite(who, "l1_sensitivity", sensitivity.value)) {
        detail::require_positive_finite(who, "scale", b.value);
        if constexpr (std::is_integral_v<T>) {
            init_integer(b.value, detail::booked_up(detail::div_up(sensitivity_, b.value)));
        } else {
            noise_.grid = detail::lattice_for_scale(who, b.value, detail::laplace_lattice_bits, per_coordinate());
            const double t = std::ceil(std::ldexp(b.value, -noise_.grid.exponent));  // b / step is exact
            init_lattice(t, lattice_units());
        }
    }

    /// The epsilon this mechanism guarantees (<= the epsilon it was built for).
    double epsilon() const noexcept { return epsilon_; }
    /// The L1 sensitivity it was built for.
    double l1_sensitivity() const noexcept { return sensitivity_; }
    /// How many steps apart neighbours' (rounded) values can be: the integer
    /// sensitivity the discrete noise is calibrated for (L1, over the whole vector).
    double sensitivity_in_steps() const {
        if constexpr (std::is_integral_v<T>) {
            return std::fmax(1.0, std::floor(sensitivity_));
        } else {
            return lattice_units();
        }
    }
    /// The noise scale b, in the units of the values.
    double scale() const noexcept { return noise_.noise.scale().to_double() * this->step(); }

    /// What one release costs: an epsilon whose shortest decimal (the amount an
    /// accountant books) is at least the exact privacy loss.
    pure_dp cost() const noexcept { return pure_dp{epsilon_}; }

private:
    static constexpr const char* who = "dpkit::laplace_mechanism";

    // The sensitivity shared out over the coordinates: rounding adds up to one
    // step per coordinate, so the step is kept below 2^-20 of D / d.
    double per_coordinate() const noexcept { return sensitivity_ / static_cast<double>(dimension_); }

    // Neighbours' distance in lattice steps after rounding: floor(D/g) + d.
    double lattice_units() const {
        const double units = std::floor(std::ldexp(sensitivity_, -noise_.grid.exponent)) + static_cast<double>(dimension_);
        if (!(units < 0x1p52)) detail::throw_invalid(who, "epsilon too large for the lattice (sensitivity/step >= 2^52)", units);
        return units;
    }

    void init_lattice(double t, double units) {
        if (!(t <= 0x1p56)) detail::throw_invalid(who, "noise scale too large for the lattice", t);
        noise_.noise = discrete_laplace_distribution(rational(static_cast<std::uint64_t>(t)));
        epsilon_ = detail::booked_up(detail::div_up(units, t));
    }

    void init_integer(double b, double eps) {
        if (!(b <= 0x1p56)) detail::throw_invalid(who, "noise scale must be <= 2^56 for integer values", b);
        // Scales below 2^-62 are raised to it (more noise, never less privacy: the
        // noise is then 0 with probability 1 - 2e^(-2^62) anyway); numerator bits
        // shrink with the scale so that the dyadic denominator stays below 2^63.
        const double scale = std::fmax(b, 0x1p-62);
        const int exponent = std::ilogb(scale) + 1;  // 2^(exponent-1) <= scale < 2^exponent
        noise_.noise = discrete_laplace_distribution(rational::at_least(scale, std::min(62, 62 + exponent)));
        epsilon_ = eps;
    }

    double sensitivity_;
    double epsilon_ = 0;
};

/// The Laplace mechanism with a timing-safe sampler (random/timing_safe.hpp):
/// the same calibration, lattice and outputs as laplace_mechanism<T>, but
/// every draw does the same work (words and iterations) whatever the noise,
/// so its running time reveals nothing about it (Jin et al., S&P 2022). The
/// sampler is within total variation eta of the exact discrete Laplace, so a
/// release is (epsilon, delta)-DP with delta = (1 + e^epsilon) d eta (rounded
/// up; about 1e-17 at epsilon = 1): cost() is approx_dp. Throws
/// dpkit::invalid_argument when that delta would reach 1 (epsilon above ~40).
template <class T = double>
    requires detail::mechanism_value<T>
class timing_safe_laplace_mechanism
    : public detail::timing_safe_additive<laplace_mechanism<T>, timing_safe_discrete_laplace> {
    using base = detail::timing_safe_additive<laplace_mechanism<T>, timing_safe_discrete_laplace>;

public:
    /// As laplace_mechanism(epsilon, l1_sensitivity, dimension).
    timing_safe_laplace_mechanism(dpkit::epsilon eps, dpkit::l1_sensitivity sensitivity,
                                  dpkit::dimension dim = dpkit::dimension{1})
        : timing_safe_laplace_mechanism(laplace_mechanism<T>(eps, sensitivity, dim)) {}
    /// As laplace_mechanism(scale, l1_sensitivity, dimension).
    timing_safe_laplace_mechanism(dpkit::scale b, dpkit::l1_sensitivity sensitivity,
                                  dpkit::dimension dim = dpkit::dimension{1})
        : timing_safe_laplace_mechanism(laplace_mechanism<T>(b, sensitivity, dim)) {}

    double epsilon() const noexcept { return this->exact_.epsilon(); }
    /// (epsilon, delta) with delta = timing_delta(): the sampler's distance to the exact noise.
    approx_dp cost() const noexcept { return approx_dp{this->exact_.epsilon(), this->timing_delta_}; }

private:
    static constexpr const char* who = "dpkit::timing_safe_laplace_mechanism";

    explicit timing_safe_laplace_mechanism(laplace_mechanism<T> exact)
        : base(who, exact, timing_safe_discrete_laplace(exact.noise_distribution().scale())) {
        const double factor = detail::add_up(1.0, detail::exp_up(this->exact_.epsilon()));
        const double d = static_cast<double>(this->exact_.dimension());
        const double delta = detail::mul_up(detail::mul_up(factor, d), this->noise_.noise.eta());
        if (!(delta < 1)) detail::throw_invalid(who, "epsilon too large for the timing-safe sampler (its delta reaches 1)", this->exact_.epsilon());
        this->timing_delta_ = detail::booked_up(delta);
    }
};

/// P[|noise| > x] for the mechanism's noise, exactly (discrete Laplace tail:
/// 2 p^(k+1) / (1 + p) with k = floor(x / step), p = exp(-1/t)).
template <class T>
double tail_probability(const laplace_mechanism<T>& m, double x) {
    if (std::isnan(x)) detail::throw_invalid("dpkit::tail_probability", "x must not be NaN", x);
    if (x < 0) return 1.0;
    const double k = std::floor(x / m.step());
    const double t = m.noise_distribution().scale().to_double();
    const double p = std::exp(-1.0 / t);
    return std::fmin(1.0, 2 * std::exp(-(k + 1) / t) / (1 + p));
}

/// The smallest symmetric interval [-w, w] (w a multiple of the step) holding
/// the mechanism's noise with probability at least `level`, in (0, 1).
template <class T>
interval confidence_interval(const laplace_mechanism<T>& m, double level) {
    if (!(level > 0 && level < 1)) detail::throw_invalid("dpkit::confidence_interval", "level must be in (0, 1)", level);
    const double t = m.noise_distribution().scale().to_double();
    const double p = std::exp(-1.0 / t);
    // 2 p^(k+1) / (1+p) <= 1 - level  <=>  k + 1 >= t ln(2 / ((1 - level)(1 + p)))
    double k = std::fmax(0.0, std::ceil(t * std::log(2 / ((1 - level) * (1 + p)))) - 1);
    const double step = m.step();
    while (k > 0 && tail_probability(m, (k - 1) * step) <= 1 - level) k -= 1;
    while (tail_probability(m, k * step) > 1 - level) k += 1;
    return interval{-k * step, k * step};
}

}  // namespace dpkit
