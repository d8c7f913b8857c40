#pragma once
/// \file
/// dpkit::bounded_mean: the mean of values clamped to declared bounds, from a
/// noisy count and a noisy sum of centred values (Google's BoundedMean does the
/// same): centring on the middle c of the bounds halves the sum's sensitivity to
/// max_contributions * (upper - lower) / 2.
///
/// Neighbouring datasets: add or remove one privacy unit, which contributes at
/// most `max_contributions` values. The budget is split between the count and
/// the sum (mean_split, half each by default); both parts are spent as one
/// (all or nothing). The released mean c + S'/max(1, N') is clamped to the
/// bounds (post-processing, free). Its interval holds the mean of the clamped,
/// quantised values with probability >= level: the count and the sum each get
/// an interval at level 1 - (1 - level)/2 (a union bound), and the mean's
/// interval is every ratio they allow, intersected with the bounds.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "moments.hpp"
#include "release.hpp"
#include "serialization.hpp"

namespace dpkit {

/// How bounded_mean splits its budget (fractions of epsilon and delta, adding up to 1).
struct mean_split {
    double count = 0.5;
    double sum = 0.5;
};

namespace detail {

/// Every value c + s / n for s in [s_lo, s_hi] and n in [n_lo, n_hi], n >= 1,
/// intersected with [lower, upper] (the whole bounds when n_hi < 1).
inline interval mean_interval(double centre, interval s, interval n, double lower, double upper) {
    if (!(n.upper >= 1)) return interval{lower, upper};
    const double n_lo = std::max(1.0, n.lower);
    const double lo = s.lower >= 0 ? s.lower / n.upper : s.lower / n_lo;
    const double hi = s.upper >= 0 ? s.upper / n_lo : s.upper / n.upper;
    return interval{std::clamp(next_down(centre + lo), lower, upper), std::clamp(next_up(centre + hi), lower, upper)};
}

}  // namespace detail

/// A mergeable mean of clamped values with one release.
class bounded_mean {
public:
    /// Values are clamped to `b`; each unit adds at most `max_contributions` values.
    explicit bounded_mean(dpkit::bounds b, nan_policy nan = nan_policy::reject, std::uint64_t max_contributions = 1)
        : m_(who, b, nan, max_contributions) {}

    /// Adds one value (clamped; NaN by the nan_policy).
    void add(double x) {
        check_open("add");
        m_.add(who, x);
    }
    /// Adds every value of a range (no copy).
    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_value_t<R>, double>
    void add(R&& values) {
        check_open("add");
        m_.add_all(who, values);
    }
    /// Adds another shard's state (same bounds, cap and NaN policy; neither released).
    void merge(const bounded_mean& other) {
        check_open("merge");
        if (other.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        m_.merge(who, other.m_);
    }

    dpkit::bounds bounds() const noexcept { return {m_.grid.lower, m_.grid.upper}; }
    std::uint64_t max_contributions() const noexcept { return m_.max_contributions; }
    bool is_released() const noexcept { return released_; }

    /// The interval a release would report if the exact count were `assumed_count`
    /// (a public guess), computed without spending anything.
    template <noise_spec Noise>
    interval predicted_interval(const Noise& noise, double level, double assumed_count, mean_split split = {}) const {
        detail::check_level(level);
        const auto parts = shares(noise, split);
        const Noise& count_noise = parts[0];
        const Noise& sum_noise = parts[1];
        const double part_level = 1 - (1 - level) / 2;
        const interval cn = detail::planned_noise_interval(count_noise, m_.count_sensitivity, part_level);
        const interval sn = detail::planned_noise_interval(sum_noise, m_.sum_sensitivity, part_level);
        const double r = m_.grid.resolution();
        // Centred on the middle of the bounds with an exact count of assumed_count.
        const interval mean = detail::mean_interval(0.0, interval{-sn.upper * r, -sn.lower * r},
                                                    interval{assumed_count - cn.upper, assumed_count - cn.lower},
                                                    -detail::infinity, detail::infinity);
        return mean;
    }

    /// Releases the noisy mean once (two ledger lines: "<label> (count)" and
    /// "<label> (sum)", spent together).
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    released<double> release(accountant<Rule>& acct, const Noise& noise, double level, G& g, std::string_view label,
                             mean_split split = {}) {
        check_open("release");
        detail::check_level(level);
        const auto parts = shares(noise, split);
        const Noise& count_noise = parts[0];
        const Noise& sum_noise = parts[1];
        const double part_level = 1 - (1 - level) / 2;
        const auto c = detail::draw_integer<Rule>(static_cast<detail::i128>(m_.n), m_.count_sensitivity, count_noise, part_level, g);
        const auto s = detail::draw_integer<Rule>(m_.sum, m_.sum_sensitivity, sum_noise, part_level, g);
        auto costs = detail::spend_parts(acct, std::array{std::pair{std::string(label) + " (count)", c.cost},
                                                          std::pair{std::string(label) + " (sum)", s.cost}});
        released_ = true;
        const double lower = m_.grid.lower;
        const double upper = m_.grid.upper;
        const double noisy_count = std::max(1.0, c.scaled(0));
        const double value = std::clamp(m_.centre_value() + s.scaled(m_.grid.exponent) / noisy_count, lower, upper);
        const interval n_ci = around(c.scaled(0), c.noise);
        const interval s_ci = around(s.scaled(m_.grid.exponent), s.scaled_noise(m_.grid.exponent));
        return released<double>{value, detail::mean_interval(m_.centre_value(), s_ci, n_ci, lower, upper), level,
                                std::move(costs)};
    }

    /// The versioned, platform-independent state (see serialization.hpp).
    std::vector<std::byte> serialize() const {
        detail::byte_writer w(aggregate_kind::bounded_mean, released_);
        m_.write(w);
        return w.take();
    }
    /// Rebuilds an unreleased state; refuses anything malformed, released or out of range.
    static bounded_mean deserialize(std::span<const std::byte> bytes) {
        detail::byte_reader r(who, bytes, aggregate_kind::bounded_mean);
        bounded_mean out(detail::centred_moments<1>::read(who, r));
        return out;
    }

private:
    static constexpr const char* who = "dpkit::bounded_mean";
    explicit bounded_mean(detail::centred_moments<1> m) : m_(std::move(m)) {}

    template <noise_spec Noise>
    static std::vector<Noise> shares(const Noise& noise, const mean_split& split) {
        return detail::split_noise(who, noise, std::array{split.count, split.sum});
    }

    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the mean was already released");
    }

    detail::centred_moments<1> m_;
    bool released_ = false;
};

}  // namespace dpkit
