#pragma once
/// \file
/// dpkit::quantile_tree: a mergeable hierarchical histogram over declared
/// bounds (the quantile tree of Google's Quantiles aggregation; the hierarchical
/// method of Hay, Rastogi, Miklau, Suciu, VLDB 2010) that answers any set of
/// quantiles, each with a rank interval, from one release.
///
/// Neighbouring datasets: add or remove one privacy unit, which contributes at
/// most `max_contributions` values. A value is clamped to the bounds,
/// quantised on the bounds' fixed-point grid (fixed_point.hpp) and counted in
/// leaf floor((q - q_lower) M / W) of M = branching^height leaves, where W is
/// the number of grid steps: a deterministic, non-decreasing function of the
/// value, so merge(split(D)) equals one pass byte for byte. Every value adds 1
/// to one node on each of the `height` levels below the root, so one unit moves
/// the node counts by at most height * max_contributions in L1 and
/// sqrt(height) * max_contributions in L2: every node is noised once with
/// discrete Laplace or discrete Gaussian noise calibrated to that (a vector
/// release over all nodes).
///
/// Answers (post-processing, free): a quantile descends from the root, at each
/// node choosing the child where the requested fraction of the children's
/// noisy counts (negative counts read as 0) falls, and interpolates linearly in
/// the leaf. The answers are non-decreasing in the requested fraction and lie
/// within the bounds.
///
/// Rank intervals: the number of values <= an answer v lies between the exact
/// counts of the leaves before v's leaf and up to v's leaf. Each such prefix
/// count is estimated by a sum of the noisy nodes that tile it (one per nonzero
/// base-`branching` digit of the leaf index: at most height * (branching - 1)
/// nodes), and its noise is bounded by a Chernoff bound: discrete Laplace noise
/// through its moment generating function, discrete Gaussian noise as
/// sigma^2-subgaussian (Canonne, Kamath, Steinke 2020). A union
/// bound over all M leaf edges makes the bound hold for every edge at once with
/// probability >= level, so the rank interval of every answer, and of any later
/// query of the released tree, holds simultaneously with probability >= level.
/// The bound's floating-point arithmetic rounds toward wider intervals.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../detail/format.hpp"
#include "../detail/int128.hpp"
#include "../detail/rounding.hpp"
#include "../mechanisms/gaussian.hpp"
#include "../mechanisms/laplace.hpp"
#include "../mechanisms/parameters.hpp"
#include "fixed_point.hpp"
#include "release.hpp"
#include "serialization.hpp"

namespace dpkit {

/// The shape of a quantile tree: `height` levels of `branching` children below
/// the root. Limits: branching in [2, 256], height in [1, 16], and at most 2^20
/// leaves (branching^height). The default (16, 4) has 65536 leaves.
struct tree_shape {
    std::uint32_t branching = 16;
    std::uint32_t height = 4;
    friend constexpr bool operator==(const tree_shape&, const tree_shape&) = default;
};

/// One released quantile: the requested fraction, the value, and an interval
/// that holds the number of values <= value (its true rank).
struct quantile_estimate {
    double quantile;
    double value;
    interval rank;
};

namespace detail {

/// The nearest double <= v (and >= v) of a 128-bit integer.
inline double to_double_down(i128 v) noexcept {
    double d = static_cast<double>(v);
    if (d >= 0x1p127 || (d > -0x1p127 && static_cast<i128>(d) > v)) d = next_down(d);
    return d;
}
inline double to_double_up(i128 v) noexcept {
    double d = static_cast<double>(v);
    if (d <= -0x1p127 || (d < 0x1p127 && static_cast<i128>(d) < v)) d = next_up(d);
    return d;
}
inline double to_double_down(u128 v) noexcept {
    double d = static_cast<double>(v);
    if (d >= 0x1p128 || static_cast<u128>(d) > v) d = next_down(d);
    return d;
}
inline double to_double_up(u128 v) noexcept {
    double d = static_cast<double>(v);
    if (d < 0x1p128 && static_cast<u128>(d) < v) d = next_up(d);
    return d;
}

inline double expm1_up(double a) noexcept { return next_up(next_up(std::expm1(a))); }
inline double expm1_down(double a) noexcept { return next_down(next_down(std::expm1(a))); }

/// Upper bound on log E[exp(t Z)] for Z discrete Laplace with P[k] ~ exp(-a |k|),
/// a in [a_lo, a_hi], 0 < t < a_lo:
/// log M(t) = 2 log(1 - e^-a) - log(1 - e^(t-a)) - log(1 - e^(-t-a)).
/// Returns +infinity where the bound cannot be evaluated.
inline double discrete_laplace_log_mgf_up(double t, double a_lo, double a_hi) noexcept {
    const double one_minus_p = -expm1_down(-a_hi);  // >= 1 - e^-a
    const double y1 = -expm1_up(sub_up(t, a_lo));    // <= 1 - e^(t-a)
    const double y2 = -expm1_up(-add_down(t, a_lo)); // <= 1 - e^(-t-a)
    if (!(y1 > 0) || !(y2 > 0) || !(one_minus_p > 0)) return infinity;
    const double first = 2 * log_up(std::fmin(one_minus_p, 1.0));
    return add_up(add_up(first, -log_down(y1)), -log_down(y2));
}

/// The smallest integer k found such that a sum of `terms` independent copies of
/// the noise exceeds k in absolute value with probability <= alpha (Chernoff
/// bounds, rounded toward a larger k). `laplace_rate` = (a_lo, a_hi) for discrete
/// Laplace noise, or `sigma2_up` > 0 for discrete Gaussian noise.
struct noise_sum_bound {
    bool laplace = true;
    double a_lo = 1;
    double a_hi = 1;
    double sigma2_up = 1;

    double width(std::uint64_t terms, double alpha) const {
        if (terms == 0) return 0;
        const double n = static_cast<double>(terms);
        const double log_term = log_up(div_up(2.0, alpha));  // log(2 / alpha), two-sided
        if (!laplace) {
            // P[S >= w] <= exp(-w^2 / (2 n sigma^2)).
            return std::floor(sqrt_up(mul_up(mul_up(2.0 * n, sigma2_up), log_term)));
        }
        // P[S >= w] <= exp(n log M(t) - t w) for every t in (0, a): w(t) = (n log M(t) + log(2/alpha)) / t.
        auto w_at = [&](double s) {
            const double t = a_lo * s;
            if (!(t > 0) || !(t < a_lo)) return infinity;
            const double lm = discrete_laplace_log_mgf_up(t, a_lo, a_hi);
            if (!std::isfinite(lm)) return infinity;
            return div_up(add_up(mul_up(n, std::fmax(lm, 0.0)), log_term), t);
        };
        double lo = 0;
        double hi = 1;
        const double golden = 0.6180339887498949;
        double x1 = hi - golden * (hi - lo);
        double x2 = lo + golden * (hi - lo);
        double f1 = w_at(x1);
        double f2 = w_at(x2);
        for (int i = 0; i < 80; ++i) {
            if (f1 <= f2) {
                hi = x2;
                x2 = x1;
                f2 = f1;
                x1 = hi - golden * (hi - lo);
                f1 = w_at(x1);
            } else {
                lo = x1;
                x1 = x2;
                f1 = f2;
                x2 = lo + golden * (hi - lo);
                f2 = w_at(x2);
            }
        }
        const double best = std::fmin(f1, f2);
        return std::isfinite(best) ? std::floor(best) : infinity;
    }
};

inline noise_sum_bound sum_bound_of(const laplace_mechanism<std::int64_t>& m) {
    const rational& b = m.noise_distribution().scale();  // P[k] ~ exp(-|k| / b), a = 1 / b
    noise_sum_bound s;
    s.laplace = true;
    s.a_lo = div_down(to_double_down(b.denominator()), to_double_up(b.numerator()));
    s.a_hi = div_up(to_double_up(b.denominator()), to_double_down(b.numerator()));
    return s;
}
inline noise_sum_bound sum_bound_of(const gaussian_mechanism<std::int64_t>& m) {
    const rational& s2 = m.noise_distribution().sigma2();
    noise_sum_bound s;
    s.laplace = false;
    s.sigma2_up = div_up(to_double_up(s2.numerator()), to_double_down(s2.denominator()));
    return s;
}

}  // namespace detail

/// A released quantile tree: the noisy node counts and, for every leaf edge, a
/// rank interval that holds (for all edges at once) with probability >= level.
/// Every query is post-processing of the one release and costs nothing more.
class released_quantile_tree {
public:
    /// The value at fraction q in [0, 1] of the noisy distribution, with the
    /// interval holding its true rank (the number of values <= it).
    quantile_estimate quantile(double q) const {
        if (!(q >= 0 && q <= 1)) detail::throw_invalid(who, "quantile must be in [0, 1]", q);
        std::size_t node = 0;  // index at the current level
        double f = q;
        for (std::uint32_t l = 0; l < shape_.height; ++l) {
            const std::vector<std::int64_t>& level = nodes_[l];
            const std::size_t first = node * shape_.branching;
            detail::i128 total = 0;
            for (std::uint32_t c = 0; c < shape_.branching; ++c) total += std::max<std::int64_t>(0, level[first + c]);
            const bool uniform = total == 0;
            auto weight = [&](std::uint32_t c) {
                return uniform ? 1.0 : static_cast<double>(std::max<std::int64_t>(0, level[first + c]));
            };
            const double sum = uniform ? static_cast<double>(shape_.branching) : static_cast<double>(total);
            const double target = f * sum;
            double cum = 0;
            std::uint32_t chosen = shape_.branching;
            std::uint32_t last_positive = 0;
            for (std::uint32_t c = 0; c < shape_.branching; ++c) {
                const double w = weight(c);
                if (w <= 0) continue;
                last_positive = c;
                if (target < cum + w) {
                    chosen = c;
                    break;
                }
                cum += w;
            }
            if (chosen == shape_.branching) {
                chosen = last_positive;
                f = 1;
            } else {
                f = std::clamp((target - cum) / weight(chosen), 0.0, 1.0);
            }
            node = first + chosen;
        }
        const double lo = edge_value(node);
        const double hi = edge_value(node + 1);
        const double value = std::clamp(lo + f * (hi - lo), lo, hi);
        return quantile_estimate{q, value, rank_interval(value)};
    }

    /// Answers for several fractions (any order; each in [0, 1]).
    std::vector<quantile_estimate> quantiles(std::span<const double> qs) const {
        for (double q : qs) {
            if (!(q >= 0 && q <= 1)) detail::throw_invalid(who, "quantile must be in [0, 1]", q);
        }
        std::vector<quantile_estimate> out;
        out.reserve(qs.size());
        for (double q : qs) out.push_back(quantile(q));
        return out;
    }

    /// An interval holding the number of values <= x (x not NaN), simultaneously
    /// with every other interval of this release, with probability >= level().
    interval rank_interval(double x) const {
        if (std::isnan(x)) detail::throw_invalid(who, "value must not be NaN", x);
        const std::size_t j = leaf_of(x);
        double lo = lower_[j];
        double hi = upper_[j + 1];
        if (lo > hi) std::swap(lo, hi);
        return interval{lo, hi};
    }

    /// An interval holding the true q-quantile of the values, q in [0, 1]: the
    /// smallest value v with at least max(1, q n) of the n values <= v (q = 0
    /// gives the minimum, q = 1 the maximum), simultaneously with every other
    /// interval of this release, with probability >= level(). Post-processing
    /// of the rank and count intervals: v >= the edge x_j when C(< x_j) is
    /// surely below the target rank, and v < x_j when it is surely at or above.
    interval value_interval(double q) const {
        if (!(q >= 0 && q <= 1)) detail::throw_invalid(who, "quantile must be in [0, 1]", q);
        const interval n = count_interval();
        const double target_lo = std::fmax(1.0, detail::mul_down(q, n.lower));
        const double target_hi = std::fmax(1.0, detail::mul_up(q, n.upper));
        std::size_t below = 0;        // the last edge with C(< edge) surely < target
        std::size_t above = leaves_;  // the first edge with C(< edge) surely >= target
        for (std::size_t j = 0; j <= leaves_; ++j) {
            if (upper_[j] < target_lo) below = j;
        }
        for (std::size_t j = leaves_ + 1; j-- > 0;) {
            if (lower_[j] >= target_hi) above = j;
        }
        double lo = edge_value(below);
        double hi = edge_value(above);
        if (lo > hi) std::swap(lo, hi);
        return interval{lo, hi};
    }

    /// An interval holding the number of values counted (simultaneously with the rank intervals).
    interval count_interval() const {
        double lo = lower_[leaves_];
        double hi = upper_[leaves_];
        if (lo > hi) std::swap(lo, hi);
        return interval{lo, hi};
    }

    /// The confidence level of the intervals.
    double level() const noexcept { return level_; }
    /// What the release cost, as the accountant's ledger recorded it.
    const std::vector<release_cost>& costs() const noexcept { return costs_; }
    const tree_shape& shape() const noexcept { return shape_; }
    dpkit::bounds bounds() const noexcept { return {grid_.lower, grid_.upper}; }
    /// The noisy counts of level l (1 = the root's children, height = the leaves).
    std::span<const std::int64_t> noisy_level(std::uint32_t l) const {
        if (l < 1 || l > shape_.height) detail::throw_invalid(who, "level must be in [1, height]", l);
        return nodes_[l - 1];
    }

private:
    friend class quantile_tree;
    static constexpr const char* who = "dpkit::released_quantile_tree";
    released_quantile_tree() = default;  // made by quantile_tree::release only

    std::size_t leaf_of(double x) const noexcept {
        const std::int64_t q = grid_.quantize(x);
        return static_cast<std::size_t>((static_cast<std::uint64_t>(q - grid_.q_lower) * leaves_) / steps_);
    }
    double edge_value(std::size_t j) const noexcept {
        if (j == 0) return grid_.lower;
        if (j >= leaves_) return grid_.upper;
        const std::uint64_t offset = (j * steps_ + leaves_ - 1) / leaves_;  // ceil(j W / M)
        const double v = grid_.to_value(static_cast<detail::i128>(grid_.q_lower) + static_cast<detail::i128>(offset));
        return std::clamp(v, grid_.lower, grid_.upper);
    }

    detail::fixed_point grid_;
    tree_shape shape_;
    std::size_t leaves_ = 0;
    std::uint64_t steps_ = 1;
    std::vector<std::vector<std::int64_t>> nodes_;  // nodes_[l - 1]: level l
    std::vector<double> lower_;                     // lower_[j] <= C(< j) for every j (on the event)
    std::vector<double> upper_;                     // upper_[j] >= C(< j)
    double level_ = 0;
    std::vector<release_cost> costs_;
};

/// A mergeable quantile accumulator (hierarchical histogram) with one release.
class quantile_tree {
public:
    /// Values are clamped to `b`; each unit adds at most `max_contributions`
    /// values (in [1, 2^32]); `shape` as tree_shape describes.
    explicit quantile_tree(dpkit::bounds b, nan_policy nan = nan_policy::reject, std::uint64_t max_contributions = 1,
                           tree_shape shape = {})
        : grid_(detail::fixed_point::for_bounds(who, b)), nan_(nan), max_contributions_(max_contributions), shape_(shape) {
        if (max_contributions_ == 0 || max_contributions_ > (std::uint64_t{1} << 32)) {
            detail::throw_invalid(who, "max_contributions must be in [1, 2^32]", max_contributions_);
        }
        if (shape_.branching < 2 || shape_.branching > 256) {
            detail::throw_invalid(who, "shape.branching must be in [2, 256]", shape_.branching);
        }
        if (shape_.height < 1 || shape_.height > 16) detail::throw_invalid(who, "shape.height must be in [1, 16]", shape_.height);
        std::uint64_t leaves = 1;
        for (std::uint32_t l = 0; l < shape_.height; ++l) {
            leaves *= shape_.branching;
            if (leaves > (std::uint64_t{1} << 20)) {
                detail::throw_invalid(who, "shape must have at most 2^20 leaves (branching^height)", leaves);
            }
        }
        leaves_ = static_cast<std::size_t>(leaves);
        steps_ = static_cast<std::uint64_t>(grid_.q_upper - grid_.q_lower) + 1;
        inverse_steps_ = 1.0 / static_cast<double>(steps_);
        counts_.assign(leaves_, 0);
    }

    /// Adds one value (clamped; NaN by the nan_policy).
    void add(double x) {
        check_open("add");
        if (std::isnan(x)) {
            if (nan_ == nan_policy::reject) detail::throw_invalid(who, "value must not be NaN (nan_policy::reject)", x);
            return;
        }
        if (n_ == max_total) throw overflow_error(std::string(who) + ": more than 2^62 values");
        ++counts_[leaf_of(x)];
        ++n_;
    }
    /// Adds every value of a range (no copy).
    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_value_t<R>, double>
    void add(R&& values) {
        for (auto&& v : values) add(static_cast<double>(v));
    }

    /// Adds another shard's state (same bounds, shape, cap and NaN policy; neither released).
    void merge(const quantile_tree& other) {
        check_open("merge");
        if (other.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        if (other.grid_.lower != grid_.lower || other.grid_.upper != grid_.upper) {
            detail::throw_invalid(who, "cannot merge trees with different bounds", other.grid_.lower);
        }
        if (!(other.shape_ == shape_)) detail::throw_invalid(who, "cannot merge trees with different shapes");
        if (other.max_contributions_ != max_contributions_) {
            detail::throw_invalid(who, "cannot merge trees with different max_contributions", other.max_contributions_);
        }
        if (other.nan_ != nan_) detail::throw_invalid(who, "cannot merge trees with different nan_policy");
        if (other.n_ > max_total - n_) throw overflow_error(std::string(who) + ": more than 2^62 values");
        for (std::size_t i = 0; i < leaves_; ++i) counts_[i] += other.counts_[i];
        n_ += other.n_;
    }

    dpkit::bounds bounds() const noexcept { return {grid_.lower, grid_.upper}; }
    const tree_shape& shape() const noexcept { return shape_; }
    std::uint64_t max_contributions() const noexcept { return max_contributions_; }
    /// Number of noisy nodes a release draws (branching + ... + branching^height).
    std::size_t nodes() const noexcept {
        std::size_t total = 0;
        std::size_t width = 1;
        for (std::uint32_t l = 0; l < shape_.height; ++l) total += (width *= shape_.branching);
        return total;
    }
    /// L1 sensitivity of the node counts: height * max_contributions.
    double l1_sensitivity() const noexcept { return static_cast<double>(shape_.height) * static_cast<double>(max_contributions_); }
    /// L2 sensitivity of the node counts: sqrt(height) * max_contributions (rounded up).
    double l2_sensitivity() const noexcept {
        return detail::mul_up(detail::sqrt_up(static_cast<double>(shape_.height)), static_cast<double>(max_contributions_));
    }
    bool is_released() const noexcept { return released_; }

    /// The interval [-k, k] within which every noisy prefix count of a release
    /// with this noise lies around the exact one, all at once with probability
    /// >= level (computed without spending). A rank interval is at most the
    /// exact leaf's range widened by k on each side.
    template <noise_spec Noise>
    interval noise_interval(const Noise& noise, double level) const {
        detail::check_level(level);
        const auto& widths = plan(noise, level).widths;
        const double k = *std::max_element(widths.begin(), widths.end());
        return interval{-k, k};
    }

    /// Releases the noisy tree once (one ledger line): spends the noise's cost
    /// through `acct` (budget_exhausted, and nothing changed, when refused).
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    released_quantile_tree release(accountant<Rule>& acct, const Noise& noise, double level, G& g, std::string_view label) {
        check_open("release");
        released_quantile_tree out = release_with<Rule>(detail::spend_now<Rule>{acct}, noise, level, g, label);
        released_ = true;
        return out;
    }

    /// Releases once and answers `quantiles` (each in [0, 1], checked before
    /// anything is drawn or spent). `confidence` holds the number of values
    /// counted; every rank interval and it hold together with probability >= level.
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    released<std::vector<quantile_estimate>> release(accountant<Rule>& acct, const Noise& noise, double level, G& g,
                                                     std::string_view label, std::span<const double> quantiles) {
        for (double q : quantiles) {
            if (!(q >= 0 && q <= 1)) detail::throw_invalid(who, "quantile must be in [0, 1]", q);
        }
        const released_quantile_tree tree = release(acct, noise, level, g, label);
        return released<std::vector<quantile_estimate>>{tree.quantiles(quantiles), tree.count_interval(), level, tree.costs()};
    }

    /// The versioned, platform-independent state (see serialization.hpp): the
    /// parameters, then the nonzero leaves as (index, count) in increasing index order.
    std::vector<std::byte> serialize() const {
        detail::byte_writer w(aggregate_kind::quantile_tree, released_);
        w.f64(grid_.lower);
        w.f64(grid_.upper);
        w.i64(grid_.exponent);
        w.u8(static_cast<std::uint8_t>(nan_));
        w.u64(max_contributions_);
        w.u64(shape_.branching);
        w.u64(shape_.height);
        std::uint64_t nonzero = 0;
        for (auto c : counts_) nonzero += c != 0;
        w.u64(nonzero);
        for (std::size_t i = 0; i < leaves_; ++i) {
            if (counts_[i] == 0) continue;
            w.u64(i);
            w.u64(counts_[i]);
        }
        return w.take();
    }

    /// Rebuilds an unreleased state; refuses anything malformed, released or out of range.
    static quantile_tree deserialize(std::span<const std::byte> bytes) {
        detail::byte_reader r(who, bytes, aggregate_kind::quantile_tree);
        const double lower = r.f64();
        const double upper = r.f64();
        const std::int64_t exponent = r.i64();
        const std::uint8_t nan = r.u8();
        if (nan > 1) r.fail("malformed state (bad nan_policy)");
        const std::uint64_t cap = r.u64();
        const std::uint64_t branching = r.u64();
        const std::uint64_t height = r.u64();
        if (branching > 256 || height > 16) r.fail("malformed state (shape out of range)");
        quantile_tree t(dpkit::bounds{lower, upper}, static_cast<nan_policy>(nan), cap,
                        tree_shape{static_cast<std::uint32_t>(branching), static_cast<std::uint32_t>(height)});
        if (exponent != t.grid_.exponent) r.fail("malformed state (fixed-point resolution does not match the bounds)");
        const std::uint64_t nonzero = r.u64();
        if (nonzero > t.leaves_) r.fail("malformed state (more nonzero leaves than leaves)");
        std::uint64_t previous = 0;
        for (std::uint64_t e = 0; e < nonzero; ++e) {
            const std::uint64_t index = r.u64();
            const std::uint64_t c = r.u64();
            if (index >= t.leaves_) r.fail("malformed state (leaf index out of range)");
            if (e > 0 && index <= previous) r.fail("malformed state (leaf indices must increase)");
            if (c == 0) r.fail("malformed state (a listed leaf must have a nonzero count)");
            if (c > max_total - t.n_) r.fail("malformed state (more than 2^62 values)");
            t.counts_[index] = c;
            t.n_ += c;
            previous = index;
        }
        r.finish();
        return t;
    }

private:
    friend class column_describer;
    static constexpr const char* who = "dpkit::quantile_tree";
    static constexpr std::uint64_t max_total = std::uint64_t{1} << 62;

    /// Draws the noisy tree and has `spend` pay for it (spend_now or spend_later);
    /// does not mark the state released.
    template <class Rule, class Spend, noise_spec Noise, std::uniform_random_bit_generator G>
    released_quantile_tree release_with(const Spend& spend, const Noise& noise, double level, G& g, std::string_view label) const {
        detail::check_level(level);
        const auto& p = plan(noise, level);
        const auto& m = p.mechanism;
        const auto& widths = p.widths;
        released_quantile_tree out;
        out.grid_ = grid_;
        out.shape_ = shape_;
        out.leaves_ = leaves_;
        out.steps_ = steps_;
        out.level_ = level;
        // Exact counts, leaves up, then one noise draw per node.
        out.nodes_.resize(shape_.height);
        std::vector<std::uint64_t> exact(counts_);
        for (std::uint32_t l = shape_.height; l >= 1; --l) {
            auto& level_nodes = out.nodes_[l - 1];
            level_nodes.resize(exact.size());
            for (std::size_t k = 0; k < exact.size(); ++k) {
                level_nodes[k] = detail::saturating_add(static_cast<std::int64_t>(exact[k]), m.noise_distribution()(g));
            }
            if (l == 1) break;
            std::vector<std::uint64_t> parent(exact.size() / shape_.branching, 0);
            for (std::size_t k = 0; k < exact.size(); ++k) parent[k / shape_.branching] += exact[k];
            exact = std::move(parent);
        }
        bound_prefixes(out, widths);
        out.costs_ = spend(std::array{std::pair{std::string(label), Rule::cost_of(m)}});
        return out;
    }

    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the tree was already released");
    }

    /// floor((q - q_lower) M / W), exactly: a floating-point estimate of the
    /// quotient (relative error below 2^-50, so off by at most one for a
    /// quotient below 2^20) corrected with the exact integer remainder.
    std::size_t leaf_of(double x) const noexcept {
        const std::int64_t q = grid_.quantize(x);
        const std::uint64_t n = static_cast<std::uint64_t>(q - grid_.q_lower) * leaves_;
        auto estimate = static_cast<std::uint64_t>(static_cast<double>(n) * inverse_steps_);
        if (estimate > leaves_) estimate = leaves_;
        const auto remainder = static_cast<detail::i128>(n) - static_cast<detail::i128>(estimate) * steps_;
        if (remainder < 0) return static_cast<std::size_t>(estimate - 1);
        if (remainder >= static_cast<detail::i128>(steps_)) return static_cast<std::size_t>(estimate + 1);
        return static_cast<std::size_t>(estimate);
    }

    /// The mechanism and the edge widths of a release: calibrating them takes
    /// up to a millisecond, so repeated releases with the same public
    /// parameters reuse one of the last few (a per-thread cache of immutable values).
    template <class M>
    struct release_plan {
        double epsilon;
        double delta;
        double level;
        std::uint64_t cap;
        tree_shape shape;
        M mechanism;
        std::vector<double> widths;
    };
    template <noise_spec Noise>
    const auto& plan(const Noise& noise, double level) const {
        using M = decltype(mechanism(noise));
        double del = 0;
        if constexpr (std::same_as<Noise, gaussian_noise>) del = noise.delta.value;
        constexpr std::size_t slots = 8;
        thread_local std::vector<release_plan<M>> recent;
        for (const auto& c : recent) {
            if (c.epsilon == noise.epsilon.value && c.delta == del && c.level == level && c.cap == max_contributions_ &&
                c.shape == shape_) {
                return c;
            }
        }
        M m = mechanism(noise);
        auto widths = edge_widths(detail::sum_bound_of(m), level);
        if (recent.size() == slots) recent.erase(recent.begin());
        recent.push_back(release_plan<M>{noise.epsilon.value, del, level, max_contributions_, shape_, std::move(m), std::move(widths)});
        return recent.back();
    }

    laplace_mechanism<std::int64_t> mechanism(const laplace_noise& n) const {
        return laplace_mechanism<std::int64_t>(n.epsilon, dpkit::l1_sensitivity{l1_sensitivity()}, dpkit::dimension{nodes()});
    }
    gaussian_mechanism<std::int64_t> mechanism(const gaussian_noise& n) const {
        return gaussian_mechanism<std::int64_t>(n.epsilon, n.delta, dpkit::l2_sensitivity{l2_sensitivity()},
                                                dpkit::dimension{nodes()});
    }

    /// Number of noisy nodes tiling the prefix [0, j) of the leaves.
    std::uint64_t prefix_terms(std::size_t j) const noexcept {
        if (j >= leaves_) return shape_.branching;
        std::uint64_t terms = 0;
        for (std::uint32_t l = 0; l < shape_.height; ++l) {
            terms += j % shape_.branching;
            j /= shape_.branching;
        }
        return terms;
    }

    /// widths[n]: the integer half-width for a sum of n noisy nodes, each edge
    /// failing with probability <= (1 - level) / M (a union bound over the M edges).
    std::vector<double> edge_widths(const detail::noise_sum_bound& bound, double level) const {
        const double alpha = detail::div_down(detail::sub_down(1.0, level), static_cast<double>(leaves_));
        const std::size_t most = static_cast<std::size_t>(shape_.height) * (shape_.branching - 1);
        std::vector<double> widths(std::max<std::size_t>(most, shape_.branching) + 1, 0.0);
        std::vector<bool> used(widths.size(), false);
        for (std::size_t j = 1; j <= leaves_; ++j) used[prefix_terms(j)] = true;
        for (std::size_t n = 1; n < widths.size(); ++n) {
            if (used[n]) widths[n] = bound.width(n, alpha);
        }
        return widths;
    }

    /// Noisy prefix counts at every leaf edge, their intervals, and the
    /// monotone tightening C(< i) <= C(< j) for i <= j.
    void bound_prefixes(released_quantile_tree& out, const std::vector<double>& widths) const {
        const std::uint32_t b = shape_.branching;
        // Inclusive prefix sums within each group of siblings.
        std::vector<std::vector<detail::i128>> within(shape_.height);
        for (std::uint32_t l = 0; l < shape_.height; ++l) {
            const auto& level_nodes = out.nodes_[l];
            within[l].resize(level_nodes.size());
            for (std::size_t k = 0; k < level_nodes.size(); ++k) {
                within[l][k] = (k % b == 0 ? 0 : within[l][k - 1]) + level_nodes[k];
            }
        }
        out.lower_.assign(leaves_ + 1, 0.0);
        out.upper_.assign(leaves_ + 1, 0.0);
        std::vector<std::size_t> per_node(shape_.height);  // leaves under one node of each level
        std::size_t size = leaves_;
        for (std::uint32_t l = 0; l < shape_.height; ++l) per_node[l] = (size /= b);
        for (std::size_t j = 1; j <= leaves_; ++j) {
            detail::i128 sum = 0;
            std::size_t parent_first = 0;  // b * (index of the ancestor at the level above)
            for (std::uint32_t l = 0; l < shape_.height; ++l) {
                const std::size_t complete = j / per_node[l];
                if (complete > parent_first) sum += within[l][complete - 1];
                parent_first = complete * b;
                if (complete * per_node[l] == j) break;  // the rest of the levels add nothing
            }
            const double k = widths[prefix_terms(j)];
            out.lower_[j] = detail::sub_down(detail::to_double_down(sum), k);
            out.upper_[j] = detail::add_up(detail::to_double_up(sum), k);
        }
        double running = 0;
        for (std::size_t j = 0; j <= leaves_; ++j) out.lower_[j] = running = std::fmax(running, out.lower_[j]);
        double min_above = detail::infinity;
        for (std::size_t j = leaves_ + 1; j-- > 0;) out.upper_[j] = min_above = std::fmin(min_above, out.upper_[j]);
    }

    detail::fixed_point grid_;
    nan_policy nan_;
    std::uint64_t max_contributions_;
    tree_shape shape_;
    std::size_t leaves_ = 1;
    std::uint64_t steps_ = 1;
    double inverse_steps_ = 1;
    std::vector<std::uint64_t> counts_;
    std::uint64_t n_ = 0;
    bool released_ = false;
};

}  // namespace dpkit
