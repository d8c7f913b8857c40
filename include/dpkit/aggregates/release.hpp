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

#include <array>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../accounting/accountant.hpp"
#include "../detail/exact_decimal.hpp"
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

/// One spend of a release, as the accountant's ledger records it.
struct release_cost {
    std::string label;
    any_cost cost;
};

/// A released statistic: the noisy value, what the release cost (one entry per
/// noisy part, as recorded in the accountant's ledger) and an interval that
/// holds the exact pre-noise statistic with probability at least `level`.
template <class T>
struct released {
    T value;
    interval confidence;
    double level;
    std::vector<release_cost> costs;
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
/// Calibrating takes up to ~0.4 ms (the discrete Gaussian's search, the Laplace
/// scale's exact decimal bound); repeated releases with the same parameters (one
/// per shard, partition, part or trial) reuse one of the last few: a per-thread
/// cache of immutable values keyed by every parameter of the calibration
/// (`dimension` 0 stands for the scalar calibration).
template <class Mechanism, class Make>
Mechanism recent_mechanism(double epsilon, double delta, double sensitivity, std::size_t dimension, Make&& make) {
    struct cached {
        double epsilon, delta, sensitivity;
        std::size_t dimension;
        Mechanism mechanism;
    };
    constexpr std::size_t slots = 8;
    thread_local std::vector<cached> recent;
    for (const auto& c : recent) {
        if (c.epsilon == epsilon && c.delta == delta && c.sensitivity == sensitivity && c.dimension == dimension) return c.mechanism;
    }
    Mechanism m = make();
    if (recent.size() == slots) recent.erase(recent.begin());
    recent.push_back(cached{epsilon, delta, sensitivity, dimension, m});
    return m;
}
inline laplace_mechanism<std::int64_t> integer_mechanism(const laplace_noise& n, double units) {
    return recent_mechanism<laplace_mechanism<std::int64_t>>(
        n.epsilon.value, 0.0, units, 0, [&] { return laplace_mechanism<std::int64_t>(n.epsilon, l1_sensitivity{units}); });
}
inline gaussian_mechanism<std::int64_t> integer_mechanism(const gaussian_noise& n, double units) {
    return recent_mechanism<gaussian_mechanism<std::int64_t>>(
        n.epsilon.value, n.delta.value, units, 0, [&] { return gaussian_mechanism<std::int64_t>(n.epsilon, n.delta, l2_sensitivity{units}); });
}

/// A noisy state: (S' + Z) 2^k steps, its noise interval in steps, its cost.
template <class Cost>
struct noisy_integer {
    i128 value = 0;
    int shift = 0;
    interval noise{0, 0};
    Cost cost;

    /// The noisy value in units of 2^exponent (post-processing).
    double scaled(int exponent) const noexcept { return std::ldexp(static_cast<double>(value), shift + exponent); }
    /// The noise interval in units of 2^exponent.
    interval scaled_noise(int exponent) const noexcept {
        return interval{std::ldexp(noise.lower, exponent), std::ldexp(noise.upper, exponent)};
    }
};

/// Half-width (in steps) of the interval a release of this plan would report:
/// the noise interval plus half a coarse step of rounding.
template <class Mechanism>
interval plan_noise_interval(const Mechanism& m, const integer_release_plan& plan, double level) {
    const interval ci = confidence_interval(m, level);
    const double rounding = plan.shift == 0 ? 0.0 : std::ldexp(0.5, plan.shift);
    return interval{std::ldexp(ci.lower, plan.shift) - rounding, std::ldexp(ci.upper, plan.shift) + rounding};
}
template <class Noise>
interval planned_noise_interval(const Noise& noise, std::uint64_t sensitivity, double level) {
    const auto plan = plan_integer_release(sensitivity);
    return plan_noise_interval(integer_mechanism(noise, plan.units), plan, level);
}

inline void check_level(double level) {
    if (!(level > 0 && level < 1)) throw_invalid("dpkit::release", "level must be in (0, 1)", level);
}

/// Draws the noise for an exact state with integer sensitivity; nothing is spent yet.
template <class Rule, class Noise, std::uniform_random_bit_generator G>
auto draw_integer(i128 exact, std::uint64_t sensitivity, const Noise& noise, double level, G& g) {
    check_level(level);
    const auto plan = plan_integer_release(sensitivity);
    const auto m = integer_mechanism(noise, plan.units);
    noisy_integer<decltype(Rule::cost_of(m))> out{0, plan.shift, plan_noise_interval(m, plan, level), Rule::cost_of(m)};
    out.value = round_shift(exact, plan.shift) + static_cast<i128>(m.noise_distribution()(g));
    return out;
}

/// Spends the parts' costs as one (all or nothing; budget_exhausted on refusal)
/// and returns what the ledger recorded.
template <class Rule, class Cost, std::size_t N>
std::vector<release_cost> spend_parts(accountant<Rule>& acct, const std::array<std::pair<std::string, Cost>, N>& parts) {
    acct.spend_all(std::span<const std::pair<std::string, Cost>>(parts));
    std::vector<release_cost> out;
    for (const auto& p : parts) out.push_back(release_cost{p.first, to_any_cost(p.second)});
    return out;
}

/// Spends a release's parts through the accountant at once (the usual path).
template <class Rule>
struct spend_now {
    accountant<Rule>& acct;
    template <class Cost, std::size_t N>
    std::vector<release_cost> operator()(const std::array<std::pair<std::string, Cost>, N>& parts) const {
        return spend_parts(acct, parts);
    }
};

/// Collects a release's parts for one later spend_all together with other
/// releases' parts (a release made of several aggregates, such as describe).
struct spend_later {
    std::vector<std::pair<std::string, any_cost>>& parts;
    template <class Cost, std::size_t N>
    std::vector<release_cost> operator()(const std::array<std::pair<std::string, Cost>, N>& new_parts) const {
        std::vector<release_cost> out;
        for (const auto& p : new_parts) {
            parts.emplace_back(p.first, to_any_cost(p.second));
            out.push_back(release_cost{p.first, to_any_cost(p.second)});
        }
        return out;
    }
};

/// A noise specification split into parts with the given fractions (each in
/// (0, 1], adding up to 1): epsilon, and delta for Gaussian noise, by
/// split_amount, so the decimals booked for the parts add up to at most the whole.
template <noise_spec Noise>
std::vector<Noise> split_noise(const char* who, const Noise& noise, std::span<const double> fractions) {
    const std::vector<double> eps = split_amount(who, noise.epsilon.value, fractions);
    std::vector<Noise> parts(eps.size(), noise);
    if constexpr (std::same_as<Noise, gaussian_noise>) {
        const std::vector<double> del = split_amount(who, noise.delta.value, fractions);
        for (std::size_t i = 0; i < parts.size(); ++i) parts[i] = gaussian_noise{dpkit::epsilon{eps[i]}, dpkit::delta{del[i]}};
    } else {
        for (std::size_t i = 0; i < parts.size(); ++i) parts[i] = laplace_noise{dpkit::epsilon{eps[i]}};
    }
    return parts;
}

/// A fraction of a noise specification: epsilon (and delta) scaled by f in (0, 1].
inline laplace_noise share(const laplace_noise& n, double f) { return laplace_noise{dpkit::epsilon{n.epsilon.value * f}}; }
inline gaussian_noise share(const gaussian_noise& n, double f) {
    return gaussian_noise{dpkit::epsilon{n.epsilon.value * f}, dpkit::delta{n.delta.value * f}};
}

}  // namespace detail
}  // namespace dpkit
