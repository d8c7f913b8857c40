#pragma once
/// \file
/// dpkit::describe: a differentially private summary of a column or a table,
/// like pandas' DataFrame.describe(), from one pass over the data (the states
/// merge and serialize like every aggregate) and one total budget.
///
/// A numeric column with declared bounds gets count, mean, std, min, 25%, 50%,
/// 75% and max. They come from four noisy parts, spent together as one release
/// (four ledger lines):
///   count           the noisy count N'                 (count, mean, std)
///   sum             the noisy centred sum S'           (mean, std)
///   sum of squares  the noisy centred sum of squares   (std)
///   quantile tree   a noisy hierarchical histogram     (min, 25%, 50%, 75%, max)
/// The default split of the column's epsilon (and delta) is 0.1 / 0.2 / 0.2 /
/// 0.5 (describe_split; any fractions adding up to 1). The split is returned
/// with the result and printed by to_string.
///
/// A categorical column gets a frequency table: noisy counts for declared
/// categories (category_histogram), or for keys that arrive with the data,
/// only those that partition selection lets through (key_histogram; a key that
/// one unit alone holds appears with probability at most the selection's delta).
///
/// Neighbouring datasets: add or remove one privacy unit, which contributes at
/// most `max_contributions` rows (values). Every sensitivity follows from the
/// declared bounds and caps, never from the data.
///
/// Intervals: every statistic of a column carries an interval, and all of them
/// hold together with probability >= level (each noisy part is given level
/// 1 - (1 - level) / 4, a union bound). count, mean and std are bounded as in
/// bounded_mean and bounded_variance; a quantile's interval holds its true
/// value (released_quantile_tree::value_interval), min and max being the
/// quantiles 0 and 1. The intervals are for the true statistics of the clamped,
/// quantised values.
///
/// Consistency (post-processing of the noisy parts, free of privacy cost):
///   count >= 0 (rounded to an integer), 0 <= std <= (upper - lower) / 2,
///   lower <= min <= 25% <= 50% <= 75% <= max <= upper, min <= mean <= max.
/// The quartiles are the tree's estimates, clamped into their intervals and
/// made monotone. min is the smallest value that the release certifies the data
/// reaches (at least one value lies below it, on the intervals' event), max the
/// largest: the ends of their intervals that face the data. Both are then
/// widened to the quartiles if needed. The mean is clamped into [min, max].
///
/// A table (table_describer) runs several columns under one budget: the
/// epsilon (and delta) is split between the columns (equally by default, or by
/// given weights), and every part of every column is spent in one all-or-nothing
/// spend, one ledger line per noisy part, labelled "<column>: <part>". A refused
/// spend throws dpkit::budget_exhausted and changes nothing.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "bounded_mean.hpp"
#include "bounded_variance.hpp"
#include "category_histogram.hpp"
#include "key_histogram.hpp"
#include "moments.hpp"
#include "partition_selection.hpp"
#include "quantiles.hpp"
#include "release.hpp"
#include "serialization.hpp"

namespace dpkit {

/// How describe splits a numeric column's budget between its four noisy parts
/// (fractions of epsilon and delta, each > 0, adding up to 1).
struct describe_split {
    double count = 0.1;
    double sum = 0.2;
    double squares = 0.2;
    double quantiles = 0.5;
};

/// One released statistic: its name ("count", "mean", "25%", or a category),
/// value, and an interval that holds the true statistic.
struct described_statistic {
    std::string name;
    double value;
    interval confidence;
};

/// One line of the budget split: a noisy part, the statistics it serves, its
/// fraction of the column's budget and its cost as the ledger booked it.
struct budget_share {
    std::string part;
    std::string used_by;
    double fraction;
    any_cost cost;
};

/// What a column is.
enum class column_kind : std::uint8_t { numeric, categorical };

/// The description of one column.
struct column_description {
    std::string column;
    column_kind kind = column_kind::numeric;
    /// numeric: count, mean, std, min, 25%, 50%, 75%, max; categorical: one per released category.
    std::vector<described_statistic> statistics;
    double level = 0;
    /// For a column of a table, its fraction of the table's budget (else 1).
    double table_fraction = 1;
    std::vector<budget_share> split;

    /// The statistic named `name` (dpkit::invalid_argument if there is none).
    const described_statistic& operator[](std::string_view name) const {
        for (const auto& s : statistics) {
            if (s.name == name) return s;
        }
        detail::throw_invalid("dpkit::column_description", "no statistic named '" + std::string(name) + "'");
    }
};

/// The description of a table: one entry per column, in the declared order.
struct table_description {
    std::vector<column_description> columns;
    double level = 0;
    /// Every ledger line of the release.
    std::vector<release_cost> costs;

    /// The column named `name` (dpkit::invalid_argument if there is none).
    const column_description& operator[](std::string_view name) const {
        for (const auto& c : columns) {
            if (c.column == name) return c;
        }
        detail::throw_invalid("dpkit::table_description", "no column named '" + std::string(name) + "'");
    }
};

namespace detail {

inline std::string format_number(double v) {
    char buf[64];
    if (v == 0 || (std::fabs(v) >= 1e-3 && std::fabs(v) < 1e9)) {
        std::snprintf(buf, sizeof buf, "%.6g", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.4e", v);
    }
    return buf;
}

inline std::string pad(std::string s, std::size_t width, bool right) {
    if (s.size() >= width) return s;
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

}  // namespace detail

/// One numeric column's mergeable describe state (a centred count, sum and sum
/// of squares, and a quantile tree over the same declared bounds).
class column_describer {
public:
    /// Values are clamped to `b`; NaN follows `nan`; each unit adds at most
    /// `max_contributions` values; `shape` is the quantile tree's.
    explicit column_describer(dpkit::bounds b, nan_policy nan = nan_policy::reject, std::uint64_t max_contributions = 1,
                              tree_shape shape = {})
        : m_(who, b, nan, max_contributions), tree_(b, nan, max_contributions, shape) {}

    /// Adds one value (clamped; NaN by the nan_policy).
    void add(double x) {
        check_open("add");
        if (std::isnan(x) && m_.nan == nan_policy::reject) detail::throw_invalid(who, "value must not be NaN (nan_policy::reject)", x);
        m_.add(who, x);
        tree_.add(x);
    }
    /// Adds every value of a range (no copy). With nan_policy::reject, a NaN
    /// throws after the values before it were added, as one at a time would.
    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_value_t<R>, double>
    void add(R&& values) {
        check_open("add");
        if constexpr (std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
                      std::same_as<std::ranges::range_value_t<R>, double>) {
            const double* data = std::ranges::data(values);
            const auto size = static_cast<std::size_t>(std::ranges::size(values));
            std::size_t end = size;
            if (m_.nan == nan_policy::reject) {
                end = static_cast<std::size_t>(std::find_if(data, data + size, [](double v) { return std::isnan(v); }) - data);
            }
            m_.add_contiguous(who, data, end);
            tree_.add(std::span<const double>(data, end));
            if (end < size) add(data[end]);  // throws
        } else {
            for (auto&& v : values) add(static_cast<double>(v));
        }
    }
    /// Adds another shard's state (same bounds, caps, NaN policy and shape; neither released).
    void merge(const column_describer& other) {
        check_open("merge");
        if (other.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        if (!(other.tree_.shape() == tree_.shape())) detail::throw_invalid(who, "cannot merge states with different tree shapes");
        auto merged = m_;
        merged.merge(who, other.m_);  // validates bounds, cap, policy
        auto tree = tree_;
        tree.merge(other.tree_);
        m_ = std::move(merged);
        tree_ = std::move(tree);
    }

    dpkit::bounds bounds() const noexcept { return {m_.grid.lower, m_.grid.upper}; }
    std::uint64_t max_contributions() const noexcept { return m_.max_contributions; }
    const tree_shape& shape() const noexcept { return tree_.shape(); }
    bool is_released() const noexcept { return released_; }

    /// Releases the description once (four ledger lines "<column>: <part>", spent together).
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    column_description release(accountant<Rule>& acct, const Noise& noise, double level, G& g, std::string_view column,
                               describe_split split = {}) {
        check_open("release");
        auto out = release_with<Rule>(detail::spend_now<Rule>{acct}, noise, level, g, column, split);
        released_ = true;
        return out;
    }

    /// The versioned, platform-independent state (see serialization.hpp).
    std::vector<std::byte> serialize() const {
        detail::byte_writer w(aggregate_kind::column_describer, released_);
        m_.write(w);
        w.bytes(tree_.serialize());
        return w.take();
    }
    /// Rebuilds an unreleased state; refuses anything malformed, released or out of range.
    static column_describer deserialize(std::span<const std::byte> bytes) {
        detail::byte_reader r(who, bytes, aggregate_kind::column_describer);
        auto m = detail::centred_moments<2>::read(who, r, false);
        auto tree = quantile_tree::deserialize(r.bytes());
        r.finish();
        if (tree.bounds().lower != m.grid.lower || tree.bounds().upper != m.grid.upper ||
            tree.max_contributions() != m.max_contributions) {
            r.fail("malformed state (the moments and the tree disagree on bounds or caps)");
        }
        return column_describer(std::move(m), std::move(tree));
    }

private:
    friend class table_describer;
    static constexpr const char* who = "dpkit::column_describer";

    column_describer(detail::centred_moments<2> m, quantile_tree t) : m_(std::move(m)), tree_(std::move(t)) {}

    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the column was already described");
    }

    template <class Rule, class Spend, noise_spec Noise, std::uniform_random_bit_generator G>
    column_description release_with(const Spend& spend, const Noise& noise, double level, G& g, std::string_view column,
                                    const describe_split& split) const {
        detail::check_level(level);
        const auto parts = detail::split_noise(who, noise, std::array{split.count, split.sum, split.squares, split.quantiles});
        const double part_level = 1 - (1 - level) / 4;
        const int e = m_.grid.exponent;
        const std::string name(column);
        const auto c = detail::draw_integer<Rule>(static_cast<detail::i128>(m_.n), m_.count_sensitivity, parts[0], part_level, g);
        const auto s = detail::draw_integer<Rule>(m_.sum, m_.sum_sensitivity, parts[1], part_level, g);
        const auto q = detail::draw_integer<Rule>(m_.squares, m_.square_sensitivity, parts[2], part_level, g);
        std::vector<std::pair<std::string, any_cost>> tree_part;
        const released_quantile_tree tree = tree_.release_with<Rule>(detail::spend_later{tree_part}, parts[3], part_level, g,
                                                                     name + ": quantile tree");
        const auto costs = spend(std::array{std::pair{name + ": count", to_any_cost(c.cost)},
                                            std::pair{name + ": sum", to_any_cost(s.cost)},
                                            std::pair{name + ": sum of squares", to_any_cost(q.cost)}, tree_part.front()});

        const double lower = m_.grid.lower;
        const double upper = m_.grid.upper;
        const double half = (upper - lower) / 2;
        // count, mean, variance (as bounded_mean and bounded_variance release them).
        const double noisy_n = c.scaled(0);
        const interval n_ci = around(noisy_n, c.noise);
        const interval s_ci = around(s.scaled(e), s.scaled_noise(e));
        const interval q_ci = around(q.scaled(2 * e), q.scaled_noise(2 * e));
        const double n = std::max(1.0, noisy_n);
        const double centred_mean = s.scaled(e) / n;
        double mean = std::clamp(m_.centre_value() + centred_mean, lower, upper);
        const interval mean_ci = detail::mean_interval(m_.centre_value(), s_ci, n_ci, lower, upper);
        const double variance = std::clamp(q.scaled(2 * e) / n - centred_mean * centred_mean, 0.0, half * half);
        const interval var_ci = detail::variance_interval(q_ci, s_ci, n_ci, half * half);
        // Quantiles, made consistent.
        const std::array<double, 3> fractions{0.25, 0.5, 0.75};
        std::array<double, 3> quartile{};
        std::array<interval, 3> quartile_ci{};
        for (std::size_t i = 0; i < 3; ++i) {
            quartile_ci[i] = tree.value_interval(fractions[i]);
            quartile[i] = std::clamp(tree.quantile(fractions[i]).value, quartile_ci[i].lower, quartile_ci[i].upper);
            if (i > 0) quartile[i] = std::max(quartile[i], quartile[i - 1]);
        }
        const interval min_ci = tree.value_interval(0);
        const interval max_ci = tree.value_interval(1);
        const double min = std::min(min_ci.upper, quartile[0]);
        const double max = std::max(max_ci.lower, quartile[2]);
        mean = std::clamp(mean, min, max);

        column_description d;
        d.column = name;
        d.kind = column_kind::numeric;
        d.level = level;
        d.statistics = {
            {"count", std::max(0.0, std::round(noisy_n)), interval{std::max(0.0, n_ci.lower), std::max(0.0, n_ci.upper)}},
            {"mean", mean, mean_ci},
            {"std", std::sqrt(variance), interval{std::sqrt(var_ci.lower), std::sqrt(var_ci.upper)}},
            {"min", min, min_ci},
            {"25%", quartile[0], quartile_ci[0]},
            {"50%", quartile[1], quartile_ci[1]},
            {"75%", quartile[2], quartile_ci[2]},
            {"max", max, max_ci},
        };
        const std::array<const char*, 4> part_names{"count", "sum", "sum of squares", "quantile tree"};
        const std::array<const char*, 4> used_by{"count, mean, std", "mean, std", "std", "min, 25%, 50%, 75%, max"};
        const std::array<double, 4> shares{split.count, split.sum, split.squares, split.quantiles};
        for (std::size_t i = 0; i < 4; ++i) d.split.push_back(budget_share{part_names[i], used_by[i], shares[i], costs[i].cost});
        return d;
    }

    detail::centred_moments<2> m_;
    quantile_tree tree_;
    bool released_ = false;
};

/// One categorical column's mergeable describe state: declared categories, or
/// keys not known in advance with partition selection.
class category_describer {
public:
    /// Declared categories (public, distinct); an undeclared value follows
    /// `undeclared`; each unit adds at most `max_contributions` rows.
    explicit category_describer(std::vector<std::string> categories, undeclared_category undeclared = undeclared_category::reject,
                                std::uint64_t max_contributions = 1)
        : state_(std::in_place_index<0>, std::move(categories), undeclared,
                 // A unit's rows may fall in up to max_contributions categories with up
                 // to max_contributions rows each: exact for one row per unit, an upper
                 // bound on the sensitivity (loose by up to the cap) above.
                 max_contributions, max_contributions),
          cap_(max_contributions) {}

    /// Keys that arrive with the data, one row per privacy unit: a key is
    /// released only if partition selection (`method`, with `selection_delta`
    /// and its share of epsilon, describe's `selection` fraction) lets it through.
    explicit category_describer(dpkit::delta selection_delta,
                                partition_selection_method method = partition_selection_method::truncated_geometric)
        : state_(std::in_place_index<1>, dpkit::max_partitions{1}, 1),
          cap_(1),
          selection_delta_(detail::require_open_unit(who, "selection_delta", selection_delta.value)),
          method_(method) {}

    /// Counts one row.
    void add(std::string_view value) {
        check_open("add");
        if (state_.index() == 0) {
            std::get<0>(state_).add(std::string(value));
        } else {
            std::get<1>(state_).add(std::string(value), 1);
        }
    }
    /// Adds another shard's state (same declaration; neither released).
    void merge(const category_describer& other) {
        check_open("merge");
        if (other.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        if (other.state_.index() != state_.index()) detail::throw_invalid(who, "cannot merge declared categories with selected keys");
        if (other.selection_delta_ != selection_delta_ || other.method_ != method_) {
            detail::throw_invalid(who, "cannot merge states with different partition selection");
        }
        if (state_.index() == 0) {
            std::get<0>(state_).merge(std::get<0>(other.state_));
        } else {
            std::get<1>(state_).merge(std::get<1>(other.state_));
        }
    }

    /// True for keys not known in advance (partition selection).
    bool selects_keys() const noexcept { return state_.index() == 1; }
    std::uint64_t max_contributions() const noexcept { return cap_; }
    bool is_released() const noexcept { return released_; }

    /// Releases the frequency table once: declared categories give one ledger
    /// line "<column>: counts"; selected keys give "<column>: selection" and
    /// "<column>: counts" (fractions `selection` and 1 - `selection` of epsilon;
    /// the selection's delta is the one declared at construction).
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    column_description release(accountant<Rule>& acct, const Noise& noise, double level, G& g, std::string_view column,
                               double selection = 0.5) {
        check_open("release");
        auto out = release_with<Rule>(detail::spend_now<Rule>{acct}, noise, level, g, column, selection);
        released_ = true;
        return out;
    }

    /// The versioned, platform-independent state (see serialization.hpp).
    std::vector<std::byte> serialize() const {
        detail::byte_writer w(aggregate_kind::category_describer, released_);
        w.u8(static_cast<std::uint8_t>(state_.index()));
        w.u64(cap_);
        w.f64(selection_delta_);
        w.u8(static_cast<std::uint8_t>(method_));
        if (state_.index() == 0) {
            w.bytes(std::get<0>(state_).serialize());
        } else {
            w.bytes(std::get<1>(state_).serialize());
        }
        return w.take();
    }
    /// Rebuilds an unreleased state; refuses anything malformed, released or out of range.
    static category_describer deserialize(std::span<const std::byte> bytes) {
        detail::byte_reader r(who, bytes, aggregate_kind::category_describer);
        const std::uint8_t index = r.u8();
        const std::uint64_t cap = r.u64();
        const double del = r.f64();
        const std::uint8_t method = r.u8();
        if (index > 1) r.fail("malformed state (bad column form)");
        if (method < 1 || method > static_cast<std::uint8_t>(partition_selection_method::truncated_geometric)) {
            r.fail("malformed state (bad partition selection method)");
        }
        const auto nested = r.bytes();
        r.finish();
        if (index == 0) {
            auto h = category_histogram<std::string>::deserialize(nested);
            if (cap == 0 || h.max_per_partition() != cap) r.fail("malformed state (caps disagree)");
            category_describer d(std::move(h), cap);
            return d;
        }
        if (cap != 1 || !(del > 0 && del < 1)) r.fail("malformed state (selected keys need cap 1 and delta in (0, 1))");
        auto h = key_histogram<std::string>::deserialize(nested);
        if (h.max_partitions() != 1 || h.max_per_partition() != 1) r.fail("malformed state (caps disagree)");
        category_describer d(dpkit::delta{del}, static_cast<partition_selection_method>(method));
        d.state_.emplace<1>(std::move(h));
        return d;
    }

private:
    friend class table_describer;
    static constexpr const char* who = "dpkit::category_describer";

    category_describer(category_histogram<std::string> h, std::uint64_t cap) : state_(std::in_place_index<0>, std::move(h)), cap_(cap) {}

    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the column was already described");
    }

    template <class Rule, class Spend, noise_spec Noise, std::uniform_random_bit_generator G>
    column_description release_with(const Spend& spend, const Noise& noise, double level, G& g, std::string_view column,
                                    double selection) const {
        detail::check_level(level);
        const std::string name(column);
        column_description d;
        d.column = name;
        d.kind = column_kind::categorical;
        d.level = level;
        if (state_.index() == 0) {
            const auto& h = std::get<0>(state_);
            const auto r = h.template release_with<Rule>(spend, noise, level, g, name + ": counts",
                                                         histogram_postprocessing::non_negative);
            for (std::size_t i = 0; i < h.categories().size(); ++i) {
                d.statistics.push_back(described_statistic{h.categories()[i], std::round(r.value.counts[i]), r.value.intervals[i]});
            }
            d.split.push_back(budget_share{"counts", "every category", 1.0, r.costs.front().cost});
            return d;
        }
        if (!(selection > 0 && selection < 1)) detail::throw_invalid(who, "selection must be in (0, 1)", selection);
        const auto eps = detail::split_amount(who, noise.epsilon.value, std::array{selection, 1 - selection});
        const partition_selection sel(method_, dpkit::epsilon{eps[0]}, dpkit::delta{selection_delta_}, dpkit::max_partitions{1});
        Noise counts_noise = noise;
        counts_noise.epsilon = dpkit::epsilon{eps[1]};
        // One level for the selected keys' counts together (a union bound over the released keys is the caller's).
        const auto r = std::get<1>(state_).template release_with<Rule>(spend, sel, counts_noise, level, g, name);
        for (const auto& k : r.value) {
            d.statistics.push_back(described_statistic{k.key, std::max(0.0, std::round(k.count)),
                                                       interval{std::max(0.0, k.confidence.lower), std::max(0.0, k.confidence.upper)}});
        }
        d.split.push_back(budget_share{"selection", "which keys appear", selection, r.costs[0].cost});
        d.split.push_back(budget_share{"counts", "every released key", 1 - selection, r.costs[1].cost});
        return d;
    }

    std::variant<category_histogram<std::string>, key_histogram<std::string>> state_;
    std::uint64_t cap_ = 1;
    double selection_delta_ = 0;
    partition_selection_method method_ = partition_selection_method::truncated_geometric;
    bool released_ = false;
};

/// A numeric column of a table: its name and declared bounds.
struct numeric_column {
    std::string name;
    dpkit::bounds bounds;
    nan_policy nan = nan_policy::reject;
    tree_shape shape = {};
};
/// A categorical column with declared categories.
struct categorical_column {
    std::string name;
    std::vector<std::string> categories;
    undeclared_category undeclared = undeclared_category::reject;
};
/// A categorical column whose keys arrive with the data (partition selection;
/// requires one row per privacy unit).
struct key_column {
    std::string name;
    dpkit::delta selection_delta;
    partition_selection_method method = partition_selection_method::truncated_geometric;
};
using column_spec = std::variant<numeric_column, categorical_column, key_column>;

/// How a table's budget is split: `columns` holds one weight per column
/// (empty: equal weights), `numeric` splits each numeric column's share,
/// `selection` is a key column's fraction of epsilon for the selection.
struct table_split {
    std::vector<double> columns;
    describe_split numeric = {};
    double selection = 0.5;
};

/// A table's mergeable describe state: one describer per declared column.
class table_describer {
public:
    /// `columns` (distinct, non-empty names); each unit adds at most
    /// `max_rows_per_unit` rows (1 when a key_column is present).
    explicit table_describer(std::vector<column_spec> columns, std::uint64_t max_rows_per_unit = 1) : cap_(max_rows_per_unit) {
        if (columns.empty()) detail::throw_invalid(who, "the table must have at least one column");
        if (cap_ == 0) detail::throw_invalid(who, "max_rows_per_unit must be >= 1", cap_);
        for (auto& spec : columns) {
            std::visit(
                [&](auto& c) {
                    using C = std::decay_t<decltype(c)>;
                    if (c.name.empty()) detail::throw_invalid(who, "column names must not be empty");
                    for (const auto& n : names_) {
                        if (n == c.name) detail::throw_invalid(who, "column names must be distinct ('" + c.name + "' repeats)");
                    }
                    names_.push_back(c.name);
                    if constexpr (std::same_as<C, numeric_column>) {
                        columns_.emplace_back(std::in_place_index<0>, c.bounds, c.nan, cap_, c.shape);
                    } else if constexpr (std::same_as<C, categorical_column>) {
                        columns_.emplace_back(std::in_place_index<1>, std::move(c.categories), c.undeclared, cap_);
                    } else {
                        if (cap_ != 1) {
                            detail::throw_invalid(who, "key column '" + c.name + "' needs max_rows_per_unit == 1 (one row per unit)", cap_);
                        }
                        columns_.emplace_back(std::in_place_index<1>, c.selection_delta, c.method);
                    }
                },
                spec);
        }
    }

    std::size_t columns() const noexcept { return names_.size(); }
    const std::string& name(std::size_t column) const { return names_.at(column); }
    /// The index of the column named `name` (dpkit::invalid_argument if unknown).
    std::size_t index(std::string_view name) const {
        for (std::size_t i = 0; i < names_.size(); ++i) {
            if (names_[i] == name) return i;
        }
        detail::throw_invalid(who, "unknown column '" + std::string(name) + "'");
    }
    bool is_numeric(std::size_t column) const { return at(column).index() == 0; }

    /// Adds a value to a numeric column.
    void add(std::size_t column, double value) {
        check_open("add");
        auto& c = at(column);
        if (c.index() != 0) detail::throw_invalid(who, "column '" + names_[column] + "' is categorical: add a string");
        std::get<0>(c).add(value);
    }
    /// Adds a value to a categorical column.
    void add(std::size_t column, std::string_view value) {
        check_open("add");
        auto& c = at(column);
        if (c.index() != 1) detail::throw_invalid(who, "column '" + names_[column] + "' is numeric: add a number");
        std::get<1>(c).add(value);
    }
    /// Adds many values to a numeric column (no copy).
    template <std::ranges::input_range R>
        requires std::convertible_to<std::ranges::range_value_t<R>, double> && (!std::convertible_to<R, std::string_view>)
    void add(std::size_t column, R&& values) {
        check_open("add");
        auto& c = at(column);
        if (c.index() != 0) detail::throw_invalid(who, "column '" + names_[column] + "' is categorical: add strings");
        std::get<0>(c).add(std::forward<R>(values));
    }

    /// Adds another shard's state (same columns; neither released).
    void merge(const table_describer& other) {
        check_open("merge");
        if (other.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        if (other.names_ != names_ || other.cap_ != cap_) detail::throw_invalid(who, "cannot merge tables with different columns or caps");
        auto merged = columns_;
        for (std::size_t i = 0; i < merged.size(); ++i) {
            if (merged[i].index() != other.columns_[i].index()) detail::throw_invalid(who, "cannot merge tables with different column kinds");
            if (merged[i].index() == 0) {
                std::get<0>(merged[i]).merge(std::get<0>(other.columns_[i]));
            } else {
                std::get<1>(merged[i]).merge(std::get<1>(other.columns_[i]));
            }
        }
        columns_ = std::move(merged);
    }

    bool is_released() const noexcept { return released_; }

    /// Releases every column once under one all-or-nothing spend (one ledger
    /// line per noisy part, "<column>: <part>"): the intervals of each column
    /// hold together with probability >= level.
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    table_description release(accountant<Rule>& acct, const Noise& noise, double level, G& g, const table_split& split = {}) {
        check_open("release");
        detail::check_level(level);
        std::vector<double> weights = split.columns;
        if (weights.empty()) weights.assign(columns_.size(), 1.0);
        if (weights.size() != columns_.size()) detail::throw_invalid(who, "split.columns needs one weight per column", weights.size());
        double total = 0;
        for (double w : weights) {
            if (!(w > 0 && std::isfinite(w))) detail::throw_invalid(who, "every column weight must be finite and > 0", w);
            total += w;
        }
        std::vector<double> fractions;
        for (double w : weights) fractions.push_back(w / total);
        const auto shares = detail::split_noise(who, noise, std::span<const double>(fractions));
        std::vector<std::pair<std::string, any_cost>> parts;
        table_description out;
        out.level = level;
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            const detail::spend_later later{parts};
            column_description d =
                columns_[i].index() == 0
                    ? std::get<0>(columns_[i]).template release_with<Rule>(later, shares[i], level, g, names_[i], split.numeric)
                    : std::get<1>(columns_[i]).template release_with<Rule>(later, shares[i], level, g, names_[i], split.selection);
            d.table_fraction = fractions[i];
            out.columns.push_back(std::move(d));
        }
        acct.spend_all(std::span<const std::pair<std::string, any_cost>>(parts));
        released_ = true;
        for (auto& p : parts) out.costs.push_back(release_cost{std::move(p.first), std::move(p.second)});
        return out;
    }

    /// The versioned, platform-independent state (see serialization.hpp).
    std::vector<std::byte> serialize() const {
        detail::byte_writer w(aggregate_kind::table_describer, released_);
        w.u64(cap_);
        w.u64(columns_.size());
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            w.bytes(std::as_bytes(std::span<const char>(names_[i].data(), names_[i].size())));
            w.u8(static_cast<std::uint8_t>(columns_[i].index()));
            w.bytes(columns_[i].index() == 0 ? std::get<0>(columns_[i]).serialize() : std::get<1>(columns_[i]).serialize());
        }
        return w.take();
    }
    /// Rebuilds an unreleased state; refuses anything malformed, released or out of range.
    static table_describer deserialize(std::span<const std::byte> bytes) {
        detail::byte_reader r(who, bytes, aggregate_kind::table_describer);
        table_describer t;
        t.cap_ = r.u64();
        if (t.cap_ == 0) r.fail("malformed state (max_rows_per_unit must be >= 1)");
        const std::uint64_t n = r.u64();
        if (n == 0 || n > bytes.size()) r.fail("malformed state (bad column count)");
        for (std::uint64_t i = 0; i < n; ++i) {
            const auto name = r.bytes();
            std::string s(name.size(), '\0');
            for (std::size_t j = 0; j < name.size(); ++j) s[j] = static_cast<char>(name[j]);
            if (s.empty() || std::find(t.names_.begin(), t.names_.end(), s) != t.names_.end()) r.fail("malformed state (bad column name)");
            const std::uint8_t kind = r.u8();
            const auto nested = r.bytes();
            if (kind == 0) {
                auto c = column_describer::deserialize(nested);
                if (c.max_contributions() != t.cap_) r.fail("malformed state (caps disagree)");
                t.columns_.emplace_back(std::in_place_index<0>, std::move(c));
            } else if (kind == 1) {
                auto c = category_describer::deserialize(nested);
                if (c.max_contributions() != t.cap_) r.fail("malformed state (caps disagree)");
                t.columns_.emplace_back(std::in_place_index<1>, std::move(c));
            } else {
                r.fail("malformed state (bad column kind)");
            }
            t.names_.push_back(std::move(s));
        }
        r.finish();
        return t;
    }

private:
    static constexpr const char* who = "dpkit::table_describer";
    using column_state = std::variant<column_describer, category_describer>;

    table_describer() = default;

    column_state& at(std::size_t column) {
        if (column >= columns_.size()) detail::throw_invalid(who, "column index out of range", column);
        return columns_[column];
    }
    const column_state& at(std::size_t column) const {
        if (column >= columns_.size()) detail::throw_invalid(who, "column index out of range", column);
        return columns_[column];
    }
    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the table was already described");
    }

    std::uint64_t cap_ = 1;
    std::vector<std::string> names_;
    std::vector<column_state> columns_;
    bool released_ = false;
};

/// Describes values in memory in one call: one column, one release.
template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G, std::ranges::input_range R>
    requires std::convertible_to<std::ranges::range_value_t<R>, double>
column_description describe(accountant<Rule>& acct, const Noise& noise, R&& values, dpkit::bounds b, G& g,
                            std::string_view column = "value", double level = 0.95, describe_split split = {}) {
    column_describer d(b);
    d.add(std::forward<R>(values));
    return d.release(acct, noise, level, g, column, split);
}

/// A readable, aligned rendering of a column's description, with its budget split.
inline std::string to_string(const column_description& d) {
    std::size_t width = 10;
    for (const auto& s : d.statistics) width = std::max(width, s.name.size() + 2);
    char level[32];
    std::snprintf(level, sizeof level, "%g%%", 100 * d.level);
    std::string out = d.column + (d.kind == column_kind::numeric ? "" : " (frequencies)") + "\n";
    out += detail::pad("", width, false) + detail::pad("value", 14, true) + "   " + level + " interval\n";
    for (const auto& s : d.statistics) {
        out += detail::pad(s.name, width, false) + detail::pad(detail::format_number(s.value), 14, true) + "   [" +
               detail::format_number(s.confidence.lower) + ", " + detail::format_number(s.confidence.upper) + "]\n";
    }
    char frac[32];
    std::snprintf(frac, sizeof frac, "%.4g", d.table_fraction);
    out += std::string("  budget split") + (d.table_fraction < 1 ? std::string(" (") + frac + " of the table's)" : "") + ":\n";
    for (const auto& s : d.split) {
        std::snprintf(frac, sizeof frac, "%5.1f%%", 100 * s.fraction);
        out += "    " + detail::pad(s.part, 16, false) + frac + "  " + detail::pad(to_string(s.cost), 34, false) + " -> " + s.used_by + "\n";
    }
    return out;
}

/// A readable rendering of a table's description: every column, then the ledger lines.
inline std::string to_string(const table_description& t) {
    std::string out;
    for (const auto& c : t.columns) out += to_string(c) + "\n";
    out += "ledger:\n";
    for (const auto& c : t.costs) out += "  " + detail::pad(c.label, 34, false) + to_string(c.cost) + "\n";
    return out;
}

}  // namespace dpkit
