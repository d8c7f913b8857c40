#pragma once
/// \file
/// dpkit::bounded_variance: the (population) variance of values clamped to
/// declared bounds, from a noisy count N', a noisy sum S' and a noisy sum of
/// squares Q' of values centred on the middle of the bounds (Google's
/// BoundedVariance does the same): var = Q'/N' - (S'/N')^2, clamped to
/// [0, ((upper - lower)/2)^2] (post-processing, free). The standard deviation is
/// its square root (released_stddev).
///
/// Neighbouring datasets: add or remove one privacy unit, which contributes at
/// most `max_contributions` values: sensitivities max_contributions (count),
/// max_contributions (upper - lower)/2 (sum) and max_contributions
/// ((upper - lower)/2)^2 (squares). The budget is split in thirds by default
/// (variance_split); the three parts are spent as one. The interval holds the
/// variance of the clamped, quantised values with probability >= level: each
/// part gets an interval at level 1 - (1 - level)/3 (a union bound) and the
/// variance's interval is every value they allow.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "moments.hpp"
#include "release.hpp"
#include "serialization.hpp"

namespace dpkit {

/// How bounded_variance splits its budget (fractions of epsilon and delta, adding up to 1).
struct variance_split {
    double count = 1.0 / 3;
    double sum = 1.0 / 3;
    double squares = 1.0 / 3;
};

namespace detail {

/// Every Q/n - (S/n)^2 for Q, S, n in their intervals (n >= 1), within [0, top].
inline interval variance_interval(interval q, interval s, interval n, double top) {
    if (!(n.upper >= 1)) return interval{0, top};
    const double n_lo = std::max(1.0, n.lower);
    const double q_lo = std::max(0.0, q.lower);
    const double mean_sq_max = std::max(s.lower * s.lower, s.upper * s.upper) / (n_lo * n_lo);
    const double mean_sq_min = (s.lower <= 0 && s.upper >= 0) ? 0.0 : std::min(s.lower * s.lower, s.upper * s.upper) / (n.upper * n.upper);
    const double lo = q_lo / n.upper - mean_sq_max;
    const double hi = q.upper / n_lo - mean_sq_min;
    return interval{std::clamp(next_down(lo), 0.0, top), std::clamp(next_up(hi), 0.0, top)};
}

}  // namespace detail

/// The square root of a released variance and of its interval's ends (same cost).
inline released<double> released_stddev(const released<double>& variance) {
    return released<double>{std::sqrt(variance.value),
                            interval{std::sqrt(variance.confidence.lower), std::sqrt(variance.confidence.upper)},
                            variance.level, variance.costs};
}

/// A mergeable variance of clamped values with one release.
class bounded_variance {
public:
    /// Values are clamped to `b`; each unit adds at most `max_contributions` values.
    explicit bounded_variance(dpkit::bounds b, nan_policy nan = nan_policy::reject, std::uint64_t max_contributions = 1)
        : m_(who, b, nan, max_contributions) {}

    void add(double x) {
        check_open("add");
        m_.add(who, x);
    }
    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_value_t<R>, double>
    void add(R&& values) {
        check_open("add");
        m_.add_all(who, values);
    }
    void merge(const bounded_variance& other) {
        check_open("merge");
        if (other.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        m_.merge(who, other.m_);
    }

    dpkit::bounds bounds() const noexcept { return {m_.grid.lower, m_.grid.upper}; }
    std::uint64_t max_contributions() const noexcept { return m_.max_contributions; }
    bool is_released() const noexcept { return released_; }

    /// The interval a release would report if the exact count were
    /// `assumed_count` and the exact centred moments were those of values spread
    /// evenly over the bounds (a public guess), computed without spending.
    template <noise_spec Noise>
    interval predicted_interval(const Noise& noise, double level, double assumed_count, variance_split split = {}) const {
        detail::check_level(level);
        const auto parts = shares(noise, split);
        const double part_level = 1 - (1 - level) / 3;
        const int e = m_.grid.exponent;
        const interval cn = detail::planned_noise_interval(parts[0], m_.count_sensitivity, part_level);
        const interval sn = detail::planned_noise_interval(parts[1], m_.sum_sensitivity, part_level);
        const interval qn = detail::planned_noise_interval(parts[2], m_.square_sensitivity, part_level);
        const double half = (m_.grid.upper - m_.grid.lower) / 2;
        const double q = assumed_count * half * half / 3;  // sum of d^2 for values spread evenly
        return detail::variance_interval(interval{q - std::ldexp(qn.upper, 2 * e), q - std::ldexp(qn.lower, 2 * e)},
                                         interval{-std::ldexp(sn.upper, e), -std::ldexp(sn.lower, e)},
                                         interval{assumed_count - cn.upper, assumed_count - cn.lower}, half * half);
    }

    /// Releases the noisy variance once (three ledger lines, spent together).
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    released<double> release(accountant<Rule>& acct, const Noise& noise, double level, G& g, std::string_view label,
                             variance_split split = {}) {
        check_open("release");
        detail::check_level(level);
        const auto parts = shares(noise, split);
        const double part_level = 1 - (1 - level) / 3;
        const int e = m_.grid.exponent;
        const auto c = detail::draw_integer<Rule>(static_cast<detail::i128>(m_.n), m_.count_sensitivity, parts[0], part_level, g);
        const auto s = detail::draw_integer<Rule>(m_.sum, m_.sum_sensitivity, parts[1], part_level, g);
        const auto q = detail::draw_integer<Rule>(m_.squares, m_.square_sensitivity, parts[2], part_level, g);
        auto costs = detail::spend_parts(acct, std::array{std::pair{std::string(label) + " (count)", c.cost},
                                                          std::pair{std::string(label) + " (sum)", s.cost},
                                                          std::pair{std::string(label) + " (sum of squares)", q.cost}});
        released_ = true;
        const double half = (m_.grid.upper - m_.grid.lower) / 2;
        const double top = half * half;
        const double n = std::max(1.0, c.scaled(0));
        const double mean = s.scaled(e) / n;
        const double value = std::clamp(q.scaled(2 * e) / n - mean * mean, 0.0, top);
        const interval ci = detail::variance_interval(around(q.scaled(2 * e), q.scaled_noise(2 * e)),
                                                      around(s.scaled(e), s.scaled_noise(e)), around(c.scaled(0), c.noise), top);
        return released<double>{value, ci, level, std::move(costs)};
    }

    std::vector<std::byte> serialize() const {
        detail::byte_writer w(aggregate_kind::bounded_variance, released_);
        m_.write(w);
        return w.take();
    }
    static bounded_variance deserialize(std::span<const std::byte> bytes) {
        detail::byte_reader r(who, bytes, aggregate_kind::bounded_variance);
        return bounded_variance(detail::centred_moments<2>::read(who, r));
    }

private:
    static constexpr const char* who = "dpkit::bounded_variance";

    template <noise_spec Noise>
    static std::vector<Noise> shares(const Noise& noise, const variance_split& split) {
        return detail::split_noise(who, noise, std::array{split.count, split.sum, split.squares});
    }
    explicit bounded_variance(detail::centred_moments<2> m) : m_(std::move(m)) {}

    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the variance was already released");
    }

    detail::centred_moments<2> m_;
    bool released_ = false;
};

}  // namespace dpkit
