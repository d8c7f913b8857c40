#pragma once
/// \file
/// How an aggregate releases: the noise the caller chooses and pays for
/// (laplace_noise for pure epsilon-DP, gaussian_noise for (epsilon, delta)-DP
/// and rho-zCDP), and released<T>, the noisy value with the cost recorded in the
/// ledger and a confidence interval. There is no default budget: every release
/// names its noise and its accountant.
///
/// An aggregate's exact state is an integer S (a count, or a sum in fixed-point
/// steps) that one privacy unit moves by at most an integer D. Releasing it
/// follows the lattice mechanisms: S is rounded to a multiple of 2^k, with k
/// chosen from D only so that D / 2^k is about 2^20 (neighbours are then at most
/// floor(D / 2^k) + 1 coarse steps apart, or D steps when k = 0), and discrete
/// Laplace or discrete Gaussian noise calibrated to that distance is added
/// (integer arithmetic throughout: Canonne, Kamath, Steinke 2020). The noise is
/// drawn first, the cost is spent second: a refused spend throws
/// dpkit::budget_exhausted and changes nothing, neither the accountant nor the
/// aggregate.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>

#include "../accounting/accountant.hpp"
#include "../detail/int128.hpp"
#include "../mechanisms/accuracy.hpp"
#include "../mechanisms/gaussian.hpp"
#include "../mechanisms/laplace.hpp"
#include "../mechanisms/parameters.hpp"

namespace dpkit {

/// Laplace noise: the release costs pure_dp{epsilon}.
struct laplace_noise {
    dpkit::epsilon epsilon;
};

/// Gaussian noise: the release is (epsilon, delta)-DP, and rho-zCDP as reported.
struct gaussian_noise {
    dpkit::epsilon epsilon;
    dpkit::delta delta;
};

/// The noise specifications an aggregate accepts.
template <class N>
concept noise_spec = std::same_as<N, laplace_noise> || std::same_as<N, gaussian_noise>;

/// A released statistic: the noisy value, what the release cost (as recorded in
/// the accountant's ledger) and an interval that holds the exact pre-noise
/// value with probability at least `level`.
template <class T>
struct released {
    T value;
    any_cost cost;
    interval confidence;
    double level;
};

namespace detail {

/// The integer release of an exact state S with sensitivity D (in steps).
struct integer_release_plan {
    int shift = 0;            ///< k: S is released in units of 2^k steps
    double units = 1;         ///< neighbours' distance in those units
};

inline integer_release_plan plan_integer_release(std::uint64_t sensitivity) {
    integer_release_plan p;
    const int width = static_cast<int>(std::bit_width(sensitivity));
    p.shift = width > 21 ? width - 21 : 0;
    p.units = p.shift == 0 ? static_cast<double>(sensitivity)
                           : static_cast<double>(sensitivity >> p.shift) + 1;  // floor(D / 2^k) + 1
    if (p.units < 1) p.units = 1;
    return p;
}

/// S / 2^k rounded to nearest, ties away from zero (exact integer arithmetic).
inline i128 round_shift(i128 s, int k) {
    if (k == 0) return s;
    const i128 half = static_cast<i128>(1) << (k - 1);
    return s >= 0 ? (s + half) >> k : -((-s + half) >> k);
}

/// The mechanism that noises a state `units` apart between neighbours.
inline auto integer_mechanism(const laplace_noise& n, double units) {
    return laplace_mechanism<std::int64_t>(n.epsilon, l1_sensitivity{units});
}
inline gaussian_mechanism<std::int64_t> integer_mechanism(const gaussian_noise& n, double units) {
    // Calibrating the discrete Gaussian takes ~0.4 ms; repeated releases with the
    // same parameters (one per shard, partition or trial) reuse the last one.
    struct cached {
        double epsilon, delta, units;
        gaussian_mechanism<std::int64_t> mechanism;
    };
    thread_local std::optional<cached> last;
    if (!last || last->epsilon != n.epsilon.value || last->delta != n.delta.value || last->units != units) {
        last.emplace(cached{n.epsilon.value, n.delta.value, units,
                            gaussian_mechanism<std::int64_t>(n.epsilon, n.delta, l2_sensitivity{units})});
    }
    return last->mechanism;
}

/// A noisy state: (S' + Z) 2^k steps, its noise interval in steps, its cost.
struct noisy_integer {
    i128 value = 0;
    int shift = 0;
    interval noise{0, 0};
    any_cost cost;
};

/// Half-width (in steps) of the interval a release of this plan would report:
/// the noise interval plus half a coarse step of rounding.
template <class Noise>
interval planned_noise_interval(const Noise& noise, std::uint64_t sensitivity, double level) {
    const auto plan = plan_integer_release(sensitivity);
    const auto m = integer_mechanism(noise, plan.units);
    const interval ci = confidence_interval(m, level);
    const double rounding = plan.shift == 0 ? 0.0 : std::ldexp(0.5, plan.shift);
    return interval{std::ldexp(ci.lower, plan.shift) - rounding, std::ldexp(ci.upper, plan.shift) + rounding};
}

/// Draws the noise, then spends its cost: nothing is spent when the noise
/// cannot be drawn, nothing is returned when the spend is refused.
template <class Rule, class Noise, std::uniform_random_bit_generator G>
noisy_integer release_integer(accountant<Rule>& acct, i128 exact, std::uint64_t sensitivity, const Noise& noise,
                              double level, G& g, std::string_view label) {
    if (!(level > 0 && level < 1)) throw_invalid("dpkit::release", "level must be in (0, 1)", level);
    const auto plan = plan_integer_release(sensitivity);
    const auto m = integer_mechanism(noise, plan.units);
    noisy_integer out;
    out.shift = plan.shift;
    out.value = round_shift(exact, plan.shift) + static_cast<i128>(m.noise_distribution()(g));
    out.noise = planned_noise_interval(noise, sensitivity, level);
    auto cost = Rule::cost_of(m);
    acct.spend(cost, label);
    out.cost = to_any_cost(cost);
    return out;
}

}  // namespace detail
}  // namespace dpkit
