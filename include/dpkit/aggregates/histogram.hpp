#pragma once
/// \file
/// dpkit::histogram: counts of values in fixed numeric bins, kept exactly and
/// released once with Laplace or Gaussian noise on every bin.
///
/// Neighbouring datasets: add or remove one privacy unit, which changes at most
/// `max_partitions` bins (L0), each by at most `max_per_partition` rows (Linf);
/// both are 1 unless contribution bounding enforces larger caps. One unit then
/// moves the vector of counts by at most L1 = L0' * Linf and L2 = sqrt(L0') * Linf,
/// with L0' = min(L0, number of released counts): Laplace noise is calibrated to
/// the L1 sensitivity, Gaussian noise to the L2 sensitivity.
///
/// The noise and its cost. Every released count gets independent noise of one
/// integer mechanism, and the release is booked ONCE, as one ledger line, with
/// that mechanism's cost, which is the cost of the whole vector:
///  - Laplace: laplace_mechanism<std::int64_t>(epsilon, l1_sensitivity{L1}) adds
///    discrete Laplace noise of scale L1 / epsilon to each count; the loss of the
///    vector is ||c - c'||_1 / scale <= epsilon, so cost() = pure_dp{epsilon}
///    covers the whole histogram.
///  - Gaussian: gaussian_mechanism<std::int64_t>(epsilon, delta, l2_sensitivity{L2},
///    dimension{counts}) adds discrete Gaussian noise of one sigma to each count;
///    the multivariate discrete Gaussian is rho-zCDP with rho = L2^2 / (2 sigma^2)
///    (Canonne, Kamath, Steinke 2020), and cost() = (epsilon, delta) and
///    zcdp_cost() = rho are those of the whole vector.
///  When L0' = 1 a unit changes one count only, so the vector's privacy loss is
///  that of one scalar release with sensitivity Linf: the scalar mechanisms
///  (dimension 1) are used then, and their exact scalar accounting (Renyi, PLD)
///  applies. For L0' > 1 the mechanisms are built with dimension{counts}, and
///  Renyi and PLD accountants book their vector bound (the pure-DP curve for
///  Laplace, the zCDP curve or the worst case of (epsilon, delta) for Gaussian).
///  Caps above 2^21 rows follow release.hpp: counts are rounded to multiples of
///  2^k first (k from Linf only) and neighbours are floor(Linf / 2^k) + 1 coarse
///  steps apart per count.
///
/// Bins. With edges e_0 < e_1 < ... < e_n, bin i holds [e_i, e_{i+1}) and the
/// last bin [e_{n-1}, e_n] (closed). Values below e_0 or above e_n follow the
/// out-of-range rule chosen at construction: histogram_outliers::clamp counts
/// them in the first or last bin (the default); histogram_outliers::separate_bins
/// counts them in an underflow and an overflow bin, released like the others
/// (then the released vector is [underflow, bin 0, ..., bin n-1, overflow]).
/// -infinity and +infinity are out of range like any value; NaN follows the
/// nan_policy (rejected by default, or dropped: then it is counted nowhere).
///
/// Locating a value is exact for any edges. When the edges are equally spaced
/// (to within half a bin), the bin is computed by arithmetic and corrected with
/// one comparison against the real edge (checked at construction to be exact
/// for every double); otherwise a branch-free binary search is used. add(range)
/// on contiguous doubles reads the range once, in place.
///
/// Intervals. Each released count comes with an interval that holds the exact
/// count with probability >= level: per bin (histogram_coverage::per_bin, the
/// default), or for all bins at once (histogram_coverage::simultaneous, a
/// Bonferroni correction: each bin at level 1 - (1 - level) / counts).
///
/// Post-processing (free; histogram_postprocessing):
///  - none: the noisy counts, unbiased.
///  - non_negative: max(0, noisy count). This biases small counts upwards: an
///    empty bin's estimate has expectation E[max(0, Z)] = E|Z| / 2 > 0, half
///    the mean absolute noise (see OpenDP issue #2749).
///  - non_negative_total: the Euclidean projection of the noisy counts onto
///    {c >= 0, sum c = max(0, T)}, T the sum of the noisy counts (every counted
///    row lands in exactly one bin, so T estimates the number of rows without
///    bias). The projection is c_i = max(0, x_i - tau) with one tau >= 0 (Held,
///    Wolfe, Crowder 1974; Duchi, Shalev-Shwartz, Singer, Chandra 2008): small
///    counts are biased upwards as with non_negative, and every positive count is
///    lowered by tau, so large counts are biased downwards.
///  The intervals are always computed around the noisy counts (before
///  post-processing); with non_negative or non_negative_total both ends are
///  raised to at least 0, which keeps their coverage since exact counts are
///  never negative. A non_negative count lies in its interval; a
///  non_negative_total count may not (it was lowered by tau).
///
/// State. Counts are exact 64-bit integers (at most 2^62 per bin: merge throws
/// dpkit::overflow_error beyond, deserialize refuses more); merging adds them,
/// so the state is the same under any order and any split into shards.
///
/// The released<T> shape is kept, with T = histogram_estimate (counts,
/// noisy counts and one interval per count). Since a vector has no single
/// interval, released::confidence holds the noise interval [-w, w] shared by
/// every count (each count's interval is its noisy count minus it, before
/// clipping at 0): the interval noise_interval() predicts before spending.

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
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
#include "fixed_point.hpp"
#include "release.hpp"
#include "serialization.hpp"

namespace dpkit {

/// Where histogram puts values below its first edge or above its last.
enum class histogram_outliers : std::uint8_t {
    clamp,          ///< into the first or last bin (the default)
    separate_bins,  ///< into an underflow and an overflow bin, released too
};

/// Optional post-processing of released counts (free: it only reads the noisy counts).
enum class histogram_postprocessing : std::uint8_t {
    none,                ///< the noisy counts (unbiased)
    non_negative,        ///< max(0, count): biases small counts upwards
    non_negative_total,  ///< Euclidean projection onto {c >= 0, sum c = max(0, sum of noisy counts)}
};

/// What a histogram's intervals cover with probability >= level.
enum class histogram_coverage : std::uint8_t {
    per_bin,       ///< each bin's exact count, bin by bin
    simultaneous,  ///< every bin's exact count at once (Bonferroni)
};

/// A released histogram: one entry per released count, in bin order.
struct histogram_estimate {
    std::vector<double> counts;       ///< after post-processing
    std::vector<double> noisy;        ///< the noisy counts before post-processing (unbiased)
    std::vector<interval> intervals;  ///< each holds its exact count with probability >= level (see coverage)
    double noisy_total = 0;           ///< the sum of the noisy counts
    histogram_coverage coverage = histogram_coverage::per_bin;
    histogram_postprocessing postprocessing = histogram_postprocessing::none;
};

namespace detail {

/// The largest count a bin may hold (merge throws beyond; add cannot get there).
inline constexpr std::uint64_t max_bin_count = std::uint64_t{1} << 62;

/// The Euclidean projection of x onto {c >= 0, sum c = total} (total >= 0):
/// c_i = max(0, x_i - tau), tau found by sorting (Held, Wolfe, Crowder 1974).
inline std::vector<double> project_onto_simplex(std::span<const double> x, double total) {
    std::vector<double> out(x.size(), 0.0);
    if (!(total > 0) || x.empty()) return out;
    std::vector<double> sorted(x.begin(), x.end());
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    double cumulative = 0;
    double tau = 0;
    for (std::size_t j = 0; j < sorted.size(); ++j) {
        cumulative += sorted[j];
        const double candidate = (cumulative - total) / static_cast<double>(j + 1);
        if (sorted[j] - candidate > 0) tau = candidate;
    }
    for (std::size_t i = 0; i < x.size(); ++i) out[i] = std::max(0.0, x[i] - tau);
    return out;
}

/// The exact state shared by histogram and category_histogram: one 64-bit count
/// per released cell and the contribution caps that give the sensitivity.
struct cell_counts {
    std::vector<std::uint64_t> n;
    std::uint64_t max_partitions = 1;
    std::uint64_t max_per_partition = 1;

    cell_counts(const char* who, std::size_t cells, std::uint64_t l0, std::uint64_t linf)
        : n(cells, 0), max_partitions(l0), max_per_partition(linf) {
        if (l0 == 0) throw_invalid(who, "max_partitions must be >= 1", l0);
        if (linf == 0) throw_invalid(who, "max_per_partition must be >= 1", linf);
    }

    /// L0' = min(L0, cells): how many counts one unit can change.
    std::uint64_t touched() const noexcept {
        return std::min<std::uint64_t>(max_partitions, static_cast<std::uint64_t>(n.size()));
    }
    double l1_sensitivity() const noexcept { return mul_up(static_cast<double>(touched()), static_cast<double>(max_per_partition)); }
    double l2_sensitivity() const noexcept {
        return mul_up(sqrt_up(static_cast<double>(touched())), static_cast<double>(max_per_partition));
    }

    void check_mergeable(const char* who, const char* what, const cell_counts& o) const {
        if (o.max_partitions != max_partitions) {
            throw_invalid(who, std::string("cannot merge ") + what + " with different max_partitions", o.max_partitions);
        }
        if (o.max_per_partition != max_per_partition) {
            throw_invalid(who, std::string("cannot merge ") + what + " with different max_per_partition", o.max_per_partition);
        }
    }

    /// Adds other counts (all or nothing).
    void add_counts(const char* who, std::span<const std::uint64_t> other) {
        for (std::size_t i = 0; i < n.size(); ++i) {
            if (n[i] > max_bin_count || other[i] > max_bin_count - n[i]) {
                throw overflow_error(std::string(who) + ": a bin count would exceed 2^62");
            }
        }
        for (std::size_t i = 0; i < n.size(); ++i) n[i] += other[i];
    }

    void write(byte_writer& w) const {
        for (std::uint64_t c : n) w.u64(c);
    }
    void read(byte_reader& r) {
        for (auto& c : n) {
            c = r.u64();
            if (c > max_bin_count) r.fail("malformed state (a bin count exceeds 2^62)");
        }
    }

    /// The mechanism noising each count (scalar when one unit changes one count),
    /// reused from the per-thread cache of release.hpp when seen recently.
    static laplace_mechanism<std::int64_t> mechanism(const laplace_noise& noise, const integer_release_plan& p, std::uint64_t touched,
                                                     std::size_t cells) {
        if (touched == 1) return integer_mechanism(noise, p.units);
        const double l1 = mul_up(static_cast<double>(touched), p.units);
        return recent_mechanism<laplace_mechanism<std::int64_t>>(noise.epsilon.value, 0.0, l1, cells, [&] {
            return laplace_mechanism<std::int64_t>(noise.epsilon, dpkit::l1_sensitivity{l1}, dpkit::dimension{cells});
        });
    }
    static gaussian_mechanism<std::int64_t> mechanism(const gaussian_noise& noise, const integer_release_plan& p,
                                                      std::uint64_t touched, std::size_t cells) {
        if (touched == 1) return integer_mechanism(noise, p.units);
        const double l2 = mul_up(sqrt_up(static_cast<double>(touched)), p.units);
        return recent_mechanism<gaussian_mechanism<std::int64_t>>(noise.epsilon.value, noise.delta.value, l2, cells, [&] {
            return gaussian_mechanism<std::int64_t>(noise.epsilon, noise.delta, dpkit::l2_sensitivity{l2}, dpkit::dimension{cells});
        });
    }

    /// The per-cell level that gives the requested coverage.
    double cell_level(const char* who, double level, histogram_coverage coverage) const {
        check_level(level);
        if (coverage == histogram_coverage::per_bin) return level;
        if (coverage != histogram_coverage::simultaneous) throw_invalid(who, "unknown histogram_coverage");
        // Each cell misses with probability <= (1 - level) / cells (rounded down), so all hold with >= level.
        const double miss = div_down(sub_down(1.0, level), static_cast<double>(n.size()));
        const double per_cell = sub_up(1.0, miss);
        if (!(miss > 0) || !(per_cell < 1)) {
            throw_invalid(who, "level too close to 1 for simultaneous coverage: (1 - level) / counts must be >= 2^-53", level);
        }
        return per_cell;
    }

    /// The noise interval of one count, in rows, at the given coverage.
    template <noise_spec Noise>
    interval noise_interval(const char* who, const Noise& noise, double level, histogram_coverage coverage) const {
        const double per_cell = cell_level(who, level, coverage);
        const auto plan = plan_integer_release(max_per_partition);
        return mechanism_interval(mechanism(noise, plan, touched(), n.size()), plan, per_cell);
    }
    template <class Mechanism>
    static interval mechanism_interval(const Mechanism& m, const integer_release_plan& plan, double per_cell) {
        const interval ci = confidence_interval(m, per_cell);
        const double rounding = plan.shift == 0 ? 0.0 : std::ldexp(0.5, plan.shift);
        return interval{std::ldexp(ci.lower, plan.shift) - rounding, std::ldexp(ci.upper, plan.shift) + rounding};
    }

    /// Draws every count's noise, then spends the cost once (budget_exhausted,
    /// and nothing spent, on refusal), then post-processes.
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    released<histogram_estimate> release(const char* who, accountant<Rule>& acct, const Noise& noise, double level, G& g,
                                         std::string_view label, histogram_postprocessing post,
                                         histogram_coverage coverage) const {
        return release_with<Rule>(who, spend_now<Rule>{acct}, noise, level, g, label, post, coverage);
    }
    /// The same with the spend made by `spend` (spend_now or spend_later).
    template <class Rule, class Spend, noise_spec Noise, std::uniform_random_bit_generator G>
    released<histogram_estimate> release_with(const char* who, const Spend& spend, const Noise& noise, double level, G& g,
                                              std::string_view label, histogram_postprocessing post,
                                              histogram_coverage coverage) const {
        if (post != histogram_postprocessing::none && post != histogram_postprocessing::non_negative &&
            post != histogram_postprocessing::non_negative_total) {
            throw_invalid(who, "unknown histogram_postprocessing");
        }
        const double per_cell = cell_level(who, level, coverage);
        const auto plan = plan_integer_release(max_per_partition);
        const auto m = mechanism(noise, plan, touched(), n.size());
        const interval noise_ci = mechanism_interval(m, plan, per_cell);
        std::vector<i128> noisy(n.size());
        i128 total = 0;
        for (std::size_t i = 0; i < n.size(); ++i) {
            noisy[i] = round_shift(static_cast<i128>(n[i]), plan.shift) + static_cast<i128>(m.noise_distribution()(g));
            total += noisy[i];
        }
        auto costs = spend(std::array{std::pair{std::string(label), Rule::cost_of(m)}});

        histogram_estimate e;
        e.coverage = coverage;
        e.postprocessing = post;
        e.noisy.resize(n.size());
        e.intervals.resize(n.size());
        for (std::size_t i = 0; i < n.size(); ++i) {
            e.noisy[i] = std::ldexp(static_cast<double>(noisy[i]), plan.shift);
            e.intervals[i] = around(e.noisy[i], noise_ci);
            if (post != histogram_postprocessing::none) {
                e.intervals[i] = interval{std::max(0.0, e.intervals[i].lower), std::max(0.0, e.intervals[i].upper)};
            }
        }
        e.noisy_total = std::ldexp(static_cast<double>(total), plan.shift);
        switch (post) {
            case histogram_postprocessing::none:
                e.counts = e.noisy;
                break;
            case histogram_postprocessing::non_negative:
                e.counts.resize(n.size());
                for (std::size_t i = 0; i < n.size(); ++i) e.counts[i] = std::max(0.0, e.noisy[i]);
                break;
            case histogram_postprocessing::non_negative_total:
                e.counts = project_onto_simplex(e.noisy, std::max(0.0, e.noisy_total));
                break;
        }
        return released<histogram_estimate>{std::move(e), noise_ci, level, std::move(costs)};
    }
};

}  // namespace detail

/// A mergeable histogram over fixed numeric bins with one release.
class histogram {
public:
    /// Bins between `edges` (public: finite, strictly increasing, at least 2);
    /// each unit changes at most `max_partitions` bins by at most `max_per_partition` rows.
    explicit histogram(std::vector<double> edges, nan_policy nan = nan_policy::reject,
                       histogram_outliers outliers = histogram_outliers::clamp, std::uint64_t max_partitions = 1,
                       std::uint64_t max_per_partition = 1)
        : edges_(validated(std::move(edges))),
          nan_(nan),
          outliers_(outliers),
          state_(who, cells_for(edges_.size() - 1, outliers), max_partitions, max_per_partition) {
        if (nan != nan_policy::reject && nan != nan_policy::drop) detail::throw_invalid(who, "unknown nan_policy");
        bins_ = edges_.size() - 1;
        // Cell c holds the values x with padded_[c] <= x < padded_[c + 1]:
        // padded_ is -inf, the interior edges, +inf, and with separate bins e_0
        // in front of the interior edges and next_up(e_n) behind them (the last
        // bin is closed).
        const bool separate = outliers_ == histogram_outliers::separate_bins;
        padded_.reserve(cells() + 1);
        padded_.push_back(-detail::infinity);
        if (separate) padded_.push_back(edges_.front());
        for (std::size_t i = 1; i + 1 < edges_.size(); ++i) padded_.push_back(edges_[i]);
        if (separate) padded_.push_back(std::nextafter(edges_.back(), detail::infinity));
        padded_.push_back(detail::infinity);
        plan_guess();
    }

    /// Counts one row (out-of-range values by the outlier rule; NaN by the nan_policy).
    void add(double x) {
        check_open("add");
        const std::size_t c = cell_of(x);
        if (c != dropped) ++state_.n[c];
    }

    /// Counts every value of a range, without copying it. All or nothing: if a
    /// NaN is rejected, none of the range's rows are counted.
    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_value_t<R>, double>
    void add(R&& values) {
        check_open("add");
        if constexpr (std::ranges::sized_range<R>) {
            const auto size = static_cast<std::size_t>(std::ranges::size(values));
            if (size < state_.n.size()) {
                // Short ranges: locate every row first, then count.
                std::vector<std::size_t> found;
                found.reserve(size);
                for (auto&& v : values) found.push_back(cell_of(static_cast<double>(v)));
                for (std::size_t c : found) {
                    if (c != dropped) ++state_.n[c];
                }
                return;
            }
        }
        if constexpr (std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
                      std::same_as<std::remove_cvref_t<std::ranges::range_reference_t<R>>, double>) {
            add_contiguous(std::ranges::data(values), static_cast<std::size_t>(std::ranges::size(values)));
        } else {
            std::vector<std::uint64_t> local(state_.n.size(), 0);
            for (auto&& v : values) {
                const std::size_t c = cell_of(static_cast<double>(v));
                if (c != dropped) ++local[c];
            }
            state_.add_counts(who, local);
        }
    }

    /// Adds another shard's counts (same edges, outlier rule, nan_policy and caps; neither released).
    void merge(const histogram& other) {
        check_open("merge");
        if (other.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        if (other.edges_ != edges_) detail::throw_invalid(who, "cannot merge histograms with different edges");
        if (other.outliers_ != outliers_) detail::throw_invalid(who, "cannot merge histograms with different histogram_outliers");
        if (other.nan_ != nan_) detail::throw_invalid(who, "cannot merge histograms with different nan_policy");
        state_.check_mergeable(who, "histograms", other.state_);
        state_.add_counts(who, other.state_.n);
    }

    /// The bin edges.
    const std::vector<double>& edges() const noexcept { return edges_; }
    /// Number of bins between the edges (edges().size() - 1).
    std::size_t bins() const noexcept { return bins_; }
    /// Number of released counts: bins(), plus 2 with separate underflow and overflow bins.
    std::size_t cells() const noexcept { return state_.n.size(); }
    histogram_outliers outliers() const noexcept { return outliers_; }
    dpkit::nan_policy nan() const noexcept { return nan_; }
    /// L0: how many bins one privacy unit may change.
    std::uint64_t max_partitions() const noexcept { return state_.max_partitions; }
    /// Linf: by how many rows one privacy unit may change a bin.
    std::uint64_t max_per_partition() const noexcept { return state_.max_per_partition; }
    /// L1 sensitivity in rows: min(L0, cells()) * Linf.
    double l1_sensitivity() const noexcept { return state_.l1_sensitivity(); }
    /// L2 sensitivity in rows: sqrt(min(L0, cells())) * Linf (rounded up).
    double l2_sensitivity() const noexcept { return state_.l2_sensitivity(); }
    bool is_released() const noexcept { return released_; }

    /// The noise interval [-w, w] of each count that a release with this noise,
    /// level and coverage would report, computed without spending anything.
    template <noise_spec Noise>
    interval noise_interval(const Noise& noise, double level, histogram_coverage coverage = histogram_coverage::per_bin) const {
        return state_.noise_interval(who, noise, level, coverage);
    }

    /// Releases every count once with one spend (one ledger line, `label`);
    /// budget_exhausted, and nothing changed, when the accountant refuses.
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    released<histogram_estimate> release(accountant<Rule>& acct, const Noise& noise, double level, G& g, std::string_view label,
                                         histogram_postprocessing post = histogram_postprocessing::none,
                                         histogram_coverage coverage = histogram_coverage::per_bin) {
        check_open("release");
        auto r = state_.release(who, acct, noise, level, g, label, post, coverage);
        released_ = true;
        return r;
    }

    /// The versioned, platform-independent state (see serialization.hpp).
    std::vector<std::byte> serialize() const {
        detail::byte_writer w(aggregate_kind::histogram, released_);
        w.u64(state_.max_partitions);
        w.u64(state_.max_per_partition);
        w.u8(static_cast<std::uint8_t>(nan_));
        w.u8(static_cast<std::uint8_t>(outliers_));
        w.u64(edges_.size());
        for (double e : edges_) w.f64(e);
        state_.write(w);
        return w.take();
    }
    /// Rebuilds an unreleased state; refuses anything malformed, released or out of range.
    static histogram deserialize(std::span<const std::byte> bytes) {
        detail::byte_reader r(who, bytes, aggregate_kind::histogram);
        const std::uint64_t l0 = r.u64();
        const std::uint64_t linf = r.u64();
        const std::uint8_t nan = r.u8();
        if (nan > 1) r.fail("malformed state (bad nan_policy)");
        const std::uint8_t outliers = r.u8();
        if (outliers > 1) r.fail("malformed state (bad histogram_outliers)");
        const std::uint64_t n_edges = r.u64();
        std::vector<double> edges;
        for (std::uint64_t i = 0; i < n_edges; ++i) edges.push_back(r.f64());  // stops at the end of the bytes
        histogram h(std::move(edges), static_cast<nan_policy>(nan), static_cast<histogram_outliers>(outliers), l0, linf);
        h.state_.read(r);
        r.finish();
        return h;
    }

private:
    static constexpr const char* who = "dpkit::histogram";
    static constexpr std::size_t dropped = std::numeric_limits<std::size_t>::max();

    static std::vector<double> validated(std::vector<double> edges) {
        if (edges.size() < 2) detail::throw_invalid(who, "edges must hold at least 2 values", edges.size());
        for (std::size_t i = 0; i < edges.size(); ++i) {
            if (!std::isfinite(edges[i])) detail::throw_invalid(who, "edges must be finite", edges[i]);
            if (i > 0 && !(edges[i - 1] < edges[i])) detail::throw_invalid(who, "edges must be strictly increasing", edges[i]);
        }
        return edges;
    }
    static std::size_t cells_for(std::size_t bins, histogram_outliers outliers) {
        if (outliers == histogram_outliers::clamp) return bins;
        if (outliers == histogram_outliers::separate_bins) return bins + 2;
        detail::throw_invalid(who, "unknown histogram_outliers");
    }

    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the histogram was already released");
    }

    // Locating a value. With (nearly) equally spaced edges, a guess
    //   g(x) = trunc(clamp((x - base) * scale, 0, cells - 1))
    // is checked at construction to be the cell of x or the one below it for
    // every x (g is monotone, so it suffices that g(next_down(padded_[c])) < c
    // and g(padded_[c + 1]) >= c for every cell c >= 1: base puts g's steps half
    // a bin after the edges); the cell is then g + (x >= padded_[g + 1]), exact
    // with one comparison. NaN and +inf come out as `cells` and are located
    // apart. Other edges use a branch-free binary search. Both are exact.

    /// The guess (x - base) * scale clamped to [0, last] (NaN -> last). `zero`
    /// is 0 held in a variable: compilers then clamp with branch-free max/min
    /// instructions (a literal 0 gets a branch). The form (x - base) * scale
    /// cannot be contracted into a fused multiply-add, so it rounds the same
    /// way everywhere.
    static std::size_t guess(double x, double base, double scale, double zero, double last) noexcept {
        double t = (x - base) * scale;
        t = t < last ? t : last;
        t = t > zero ? t : zero;
        return static_cast<std::size_t>(static_cast<std::int64_t>(t));  // t in [0, cells - 1]
    }
    /// The cell of x by the guess: `cells` for NaN and +infinity.
    static std::size_t guided_cell(double x, const double* p, double base, double scale, double zero, double last) noexcept {
        const std::size_t g = guess(x, base, scale, zero, last);
        return g + static_cast<std::size_t>(!(x < p[g + 1]));
    }

    void plan_guess() {
        const double lower = edges_.front();
        const double width_total = edges_.back() - lower;
        const double width = width_total / static_cast<double>(bins_);
        scale_ = static_cast<double>(bins_) / width_total;
        base_ = lower - (outliers_ == histogram_outliers::separate_bins ? width : 0.0) + width / 2;
        last_ = static_cast<double>(cells() - 1);
        if (!std::isfinite(width_total) || !std::isfinite(scale_) || !(scale_ > 0) || !std::isfinite(base_)) return;
        for (std::size_t c = 1; c < cells(); ++c) {
            const double below = std::nextafter(padded_[c], -detail::infinity);
            if (!(guess(below, base_, scale_, zero_, last_) < c)) return;
            if (!(guess(padded_[c + 1], base_, scale_, zero_, last_) >= c)) return;
        }
        guided_ = true;
    }

    /// The number of interior boundaries <= x (branch-free binary search; x not NaN).
    std::size_t search(double x) const noexcept {
        const double* base = padded_.data() + 1;
        std::size_t n = padded_.size() - 2;
        if (n == 0) return 0;
        while (n > 1) {
            const std::size_t half = n / 2;
            base += half * static_cast<std::size_t>(base[half - 1] <= x);
            n -= half;
        }
        return static_cast<std::size_t>(base - (padded_.data() + 1)) + static_cast<std::size_t>(*base <= x);
    }

    /// The cell of x, or `dropped` (NaN under nan_policy::drop).
    std::size_t cell_of(double x) const {
        if (guided_) {
            const std::size_t c = guided_cell(x, padded_.data(), base_, scale_, zero_, last_);
            if (c < cells()) [[likely]] return c;
        }
        return cell_searched(x);
    }
    [[gnu::noinline]] std::size_t cell_searched(double x) const {
        if (std::isnan(x)) {
            if (nan_ == nan_policy::reject) detail::throw_invalid(who, "value must not be NaN (nan_policy::reject)", x);
            return dropped;
        }
        return search(x);
    }

    /// The hot loop: rows [0, size) (a multiple of 4) by the guess into four
    /// interleaved lanes of `stride` = cells + 1 counts (the last for NaN and
    /// +infinity). Out of line and call-free, so that its constants stay in registers.
    [[gnu::noinline]] static void count_guided(const double* x, std::size_t size, const double* p, double base, double scale,
                                               double zero, double last, std::uint64_t* out, std::size_t stride) noexcept {
        for (std::size_t i = 0; i < size; i += 4) {
            const std::size_t c0 = guided_cell(x[i], p, base, scale, zero, last);
            const std::size_t c1 = guided_cell(x[i + 1], p, base, scale, zero, last);
            const std::size_t c2 = guided_cell(x[i + 2], p, base, scale, zero, last);
            const std::size_t c3 = guided_cell(x[i + 3], p, base, scale, zero, last);
            ++out[c0];
            ++out[stride + c1];
            ++out[2 * stride + c2];
            ++out[3 * stride + c3];
        }
    }

    /// Rows [0, size) (a multiple of 4) by four interleaved branch-free binary
    /// searches over the `n` interior boundaries `b` (n >= 1), into four lanes of
    /// `stride` counts. NaN lands in cell 0 (every comparison is false); the
    /// number of NaN rows is returned so that the caller can take them out.
    [[gnu::noinline]] static std::uint64_t count_searched(const double* x, std::size_t size, const double* b, std::size_t n,
                                                          std::uint64_t* out, std::size_t stride) noexcept {
        std::uint64_t nan_rows = 0;
        for (std::size_t i = 0; i < size; i += 4) {
            const double x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
            const double* b0 = b;
            const double* b1 = b;
            const double* b2 = b;
            const double* b3 = b;
            for (std::size_t m = n; m > 1;) {
                const std::size_t half = m / 2;
                b0 += half * static_cast<std::size_t>(b0[half - 1] <= x0);
                b1 += half * static_cast<std::size_t>(b1[half - 1] <= x1);
                b2 += half * static_cast<std::size_t>(b2[half - 1] <= x2);
                b3 += half * static_cast<std::size_t>(b3[half - 1] <= x3);
                m -= half;
            }
            ++out[static_cast<std::size_t>(b0 - b) + static_cast<std::size_t>(*b0 <= x0)];
            ++out[stride + static_cast<std::size_t>(b1 - b) + static_cast<std::size_t>(*b1 <= x1)];
            ++out[2 * stride + static_cast<std::size_t>(b2 - b) + static_cast<std::size_t>(*b2 <= x2)];
            ++out[3 * stride + static_cast<std::size_t>(b3 - b) + static_cast<std::size_t>(*b3 <= x3)];
            nan_rows += static_cast<std::uint64_t>((x0 != x0) + (x1 != x1) + (x2 != x2) + (x3 != x3));
        }
        return nan_rows;
    }

    /// Counts contiguous doubles into four interleaved scratch histograms
    /// (independent increments when neighbouring rows share a bin), then adds
    /// them to the state (all or nothing).
    void add_contiguous(const double* x, std::size_t size) {
        const std::size_t cells = state_.n.size();
        const std::size_t stride = cells + 1;
        const std::size_t lanes = cells <= 4096 && size >= 16 * cells ? 4 : 1;
        std::vector<std::uint64_t> local(lanes * stride, 0);
        std::uint64_t* out = local.data();
        std::size_t i = 0;
        if (lanes == 4 && guided_) {
            i = size - size % 4;
            count_guided(x, i, padded_.data(), base_, scale_, zero_, last_, out, stride);
            for (std::size_t l = 1; l < lanes; ++l) {
                for (std::size_t c = 0; c < stride; ++c) out[c] += out[l * stride + c];
            }
            if (out[cells] != 0) {
                // NaN or +infinity among the rows: +infinity belongs to the last cell.
                std::uint64_t nan_rows = 0;
                std::uint64_t infinite_rows = 0;
                for (std::size_t j = 0; j < i; ++j) {
                    nan_rows += std::isnan(x[j]) ? 1U : 0U;
                    infinite_rows += x[j] == detail::infinity ? 1U : 0U;
                }
                if (nan_rows != 0 && nan_ == nan_policy::reject) {
                    detail::throw_invalid(who, "value must not be NaN (nan_policy::reject)", std::nan(""));
                }
                out[cells - 1] += infinite_rows;
                out[cells] = 0;
            }
        } else if (lanes == 4 && padded_.size() > 2) {
            i = size - size % 4;
            const std::uint64_t nan_rows = count_searched(x, i, padded_.data() + 1, padded_.size() - 2, out, stride);
            for (std::size_t l = 1; l < lanes; ++l) {
                for (std::size_t c = 0; c < stride; ++c) out[c] += out[l * stride + c];
            }
            if (nan_rows != 0 && nan_ == nan_policy::reject) {
                detail::throw_invalid(who, "value must not be NaN (nan_policy::reject)", std::nan(""));
            }
            out[0] -= nan_rows;
        }
        for (; i < size; ++i) {
            const std::size_t c = cell_of(x[i]);
            if (c != dropped) ++out[c];
        }
        state_.add_counts(who, std::span<const std::uint64_t>(out, cells));
    }

    std::vector<double> edges_;
    nan_policy nan_;
    histogram_outliers outliers_;
    detail::cell_counts state_;
    std::size_t bins_ = 1;
    std::vector<double> padded_;
    bool guided_ = false;
    double base_ = 0;
    double scale_ = 0;
    double last_ = 0;
    double zero_ = 0;
    bool released_ = false;
};

}  // namespace dpkit
