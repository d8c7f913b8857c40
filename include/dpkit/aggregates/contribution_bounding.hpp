#pragma once
/// \file
/// Contribution bounding: each privacy unit (a user, a device) may send any
/// number of rows; the bounders keep at most a declared number of them, chosen
/// uniformly at random, and feed only those to the accumulators, so that adding
/// or removing one unit moves an accumulator's exact state by no more than the
/// caps its sensitivity is calibrated to, however many rows the unit sent.
///
/// Neighbouring datasets: add or remove one privacy unit with all its rows.
///  - Scalar aggregates (count, bounded_sum, bounded_mean, bounded_variance):
///    at most `max_rows` rows per unit; the accumulator's max_contributions()
///    must equal max_rows.
///  - Partitioned aggregates (histograms, per-key sums): at most
///    `max_partitions` distinct partitions per unit (L0) and at most
///    `max_per_partition` rows per unit and partition (Linf); the accumulator's
///    max_partitions() and max_per_partition() must equal them.
/// The bounders refuse (dpkit::invalid_argument naming both values) an
/// accumulator whose caps differ from theirs, rather than building it: an
/// accumulator has parameters of its own (bounds, NaN policy), several may share
/// one set of bounded rows, and a larger cap than enforced would only add noise.
///
/// Sampling is exact: reservoir sampling (Vitter 1985, "Random sampling with a
/// reservoir", Algorithm R) with dpkit::uniform_below, so the kept rows of a unit
/// with n rows are a uniformly random min(n, max_rows)-subset; for partitions, a
/// uniformly random min(p, max_partitions)-subset of the unit's p partitions
/// (partial Fisher-Yates) and, in each, a uniformly random subset of at most
/// max_per_partition rows. Merging two shards' reservoirs of one unit draws how
/// many rows come from each (a hypergeometric draw, one uniform_below per kept
/// row) and keeps a uniformly random subset of that size from each side, so the
/// merged sample has the same distribution as one pass over all the rows.
///
/// Two input shapes:
///  - grouped (rows of one unit arrive consecutively): grouped_bounder and
///    grouped_partition_bounder stream; they hold one unit at a time, in
///    O(max_rows) values (O(p * max_per_partition) for a unit with p partitions),
///    and feed each unit to the accumulators when the next unit starts. If a
///    unit reappeared after another, it would be bounded twice and could
///    contribute twice its cap: unit_order says how that is prevented.
///  - ungrouped (any order): ungrouped_bounder and ungrouped_partition_bounder
///    keep one reservoir per unit (a hash map, O(units * caps) values), can
///    merge shards that share units, and feed everything once.

#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../detail/format.hpp"
#include "../random/samplers.hpp"

namespace dpkit {

/// A privacy-unit id or partition key: copyable, equality-comparable and
/// hashable with std::hash (std::string, integers, ...).
template <class T>
concept hashable_id = std::copy_constructible<T> && std::equality_comparable<T> && requires(const T& t) {
    { std::hash<T>{}(t) } -> std::convertible_to<std::size_t>;
};

/// An accumulator the scalar bounders can feed: it declares the rows per unit
/// its sensitivity assumes, and adds one row with add() (count) or add(value).
template <class A, class Value>
concept row_accumulator = requires(const A& ca) {
    { ca.max_contributions() } -> std::convertible_to<std::uint64_t>;
} && (requires(A& a) { a.add(); } || requires(A& a, const Value& v) { a.add(v); });

/// An accumulator the partition bounders can feed: it declares its L0 and Linf
/// caps and adds one row with add(key) (a histogram over keys) or, for rows
/// that carry a value, add(key, value).
template <class A, class Key, class Value = void>
concept partition_accumulator = requires(const A& ca) {
    { ca.max_partitions() } -> std::convertible_to<std::uint64_t>;
    { ca.max_per_partition() } -> std::convertible_to<std::uint64_t>;
} && ((std::is_void_v<Value> && requires(A& a, const Key& k) { a.add(k); }) ||
      (!std::is_void_v<Value> && requires(A& a, const Key& k, const std::conditional_t<std::is_void_v<Value>, int, Value>& v) {
          a.add(k, v);
      }));

/// How a grouped bounder makes sure that no unit reappears after another unit
/// (which would bound it twice and let it contribute up to twice its cap).
enum class unit_order : std::uint8_t {
    ascending,   ///< ids strictly increase from one unit to the next (needs operator<); checked in O(1)
    remembered,  ///< any order; every finished id is kept in a hash set (O(units) ids) and a reappearance throws
    unchecked,   ///< the caller guarantees grouping; a reappearing unit is silently bounded again
};

/// The caps of the partitioned shape: L0 (distinct partitions per unit) and
/// Linf (rows per unit and partition), each >= 1.
struct partition_caps {
    std::uint64_t max_partitions;
    std::uint64_t max_per_partition;
};

namespace detail {

/// A uniformly random subset of at most `cap` of the rows offered (Algorithm R).
template <class Row>
class reservoir {
public:
    template <std::uniform_random_bit_generator G>
    void offer(const char* who, Row row, std::uint64_t cap, G& g) {
        if (seen_ == std::numeric_limits<std::uint64_t>::max()) throw_invalid(who, "a unit sent more than 2^64 - 1 rows");
        if (seen_ < cap) {
            kept_.push_back(std::move(row));
        } else {
            const std::uint64_t j = uniform_below(g, seen_ + 1);
            if (j < cap) kept_[static_cast<std::size_t>(j)] = std::move(row);
        }
        ++seen_;
    }

    /// Becomes a uniformly random subset of at most `cap` of both reservoirs' rows.
    template <std::uniform_random_bit_generator G>
    void merge(const char* who, reservoir&& other, std::uint64_t cap, G& g) {
        if (other.seen_ > std::numeric_limits<std::uint64_t>::max() - seen_) {
            throw_invalid(who, "a unit sent more than 2^64 - 1 rows");
        }
        const std::uint64_t total = seen_ + other.seen_;
        if (total <= cap) {
            for (auto& r : other.kept_) kept_.push_back(std::move(r));
            seen_ = total;
            return;
        }
        // How many of `cap` rows drawn without replacement from all rows come
        // from this side (hypergeometric), then that many from each sample.
        std::uint64_t here = seen_;
        std::uint64_t there = other.seen_;
        std::uint64_t from_here = 0;
        for (std::uint64_t i = 0; i < cap; ++i) {
            if (uniform_below(g, here + there) < here) {
                ++from_here;
                --here;
            } else {
                --there;
            }
        }
        shrink(kept_, from_here, g);
        shrink(other.kept_, cap - from_here, g);
        for (auto& r : other.kept_) kept_.push_back(std::move(r));
        seen_ = total;
    }

    std::uint64_t seen() const noexcept { return seen_; }
    std::vector<Row>& rows() noexcept { return kept_; }

private:
    /// Keeps a uniformly random k-subset of v (partial Fisher-Yates).
    template <std::uniform_random_bit_generator G>
    static void shrink(std::vector<Row>& v, std::uint64_t k, G& g) {
        const auto n = static_cast<std::uint64_t>(v.size());
        for (std::uint64_t i = 0; i < k; ++i) {
            const std::uint64_t j = i + uniform_below(g, n - i);
            if (j != i) std::swap(v[static_cast<std::size_t>(i)], v[static_cast<std::size_t>(j)]);
        }
        v.resize(static_cast<std::size_t>(k));
    }

    std::uint64_t seen_ = 0;
    std::vector<Row> kept_;
};

inline void check_cap(const char* who, const char* name, std::uint64_t cap) {
    if (cap == 0) throw_invalid(who, std::string(name) + " must be >= 1", cap);
}

inline void check_partition_caps(const char* who, const partition_caps& caps) {
    check_cap(who, "max_partitions", caps.max_partitions);
    check_cap(who, "max_per_partition", caps.max_per_partition);
}

/// Refuses an accumulator whose declared cap differs from what the bounder enforces.
inline void check_same_cap(const char* who, const char* accumulator_name, const char* bounder_name,
                           std::uint64_t accumulator_cap, std::uint64_t bounder_cap) {
    if (accumulator_cap != bounder_cap) {
        throw_invalid(who, std::string("the accumulator's ") + accumulator_name + " must equal the bounder's " +
                               bounder_name + " = " + to_string_exact(bounder_cap),
                      accumulator_cap);
    }
}

template <class A>
void check_row_accumulator(const char* who, const A& a, std::uint64_t max_rows) {
    check_same_cap(who, "max_contributions", "max_rows", static_cast<std::uint64_t>(a.max_contributions()), max_rows);
}

template <class A>
void check_partition_accumulator(const char* who, const A& a, const partition_caps& caps) {
    check_same_cap(who, "max_partitions", "max_partitions", static_cast<std::uint64_t>(a.max_partitions()),
                   caps.max_partitions);
    check_same_cap(who, "max_per_partition", "max_per_partition", static_cast<std::uint64_t>(a.max_per_partition()),
                   caps.max_per_partition);
}

/// Adds one kept row to a scalar accumulator (count ignores the value).
template <class Value, class A>
void add_row(A& a, const Value& v) {
    if constexpr (requires { a.add(); }) {
        a.add();
    } else {
        a.add(v);
    }
}

/// A row of the partitioned shape: the key alone, or the key and its value.
template <class Key, class Value>
using partition_row = std::conditional_t<std::is_void_v<Value>, Key, std::pair<Key, Value>>;

template <class Key, class Value, class A>
void add_partition_row(A& a, const partition_row<Key, Value>& row) {
    if constexpr (std::is_void_v<Value>) {
        a.add(row);
    } else {
        a.add(row.first, row.second);
    }
}

template <class Key, class Value>
const Key& key_of(const partition_row<Key, Value>& row) {
    if constexpr (std::is_void_v<Value>) {
        return row;
    } else {
        return row.first;
    }
}

/// One unit's rows by partition: a reservoir of at most Linf rows per partition.
template <class Partition, class Row>
class unit_partitions {
public:
    template <std::uniform_random_bit_generator G>
    void offer(const char* who, const Partition& p, Row row, std::uint64_t max_per_partition, G& g) {
        by_partition_[p].offer(who, std::move(row), max_per_partition, g);
    }

    template <std::uniform_random_bit_generator G>
    void merge(const char* who, unit_partitions&& other, std::uint64_t max_per_partition, G& g) {
        for (auto& [p, r] : other.by_partition_) by_partition_[p].merge(who, std::move(r), max_per_partition, g);
    }

    /// Calls emit(row) for the rows of a uniformly random subset of at most
    /// max_partitions partitions, then forgets everything.
    template <std::uniform_random_bit_generator G, class Emit>
    void select(std::uint64_t max_partitions, G& g, Emit&& emit) {
        auto all = std::move(by_partition_);
        by_partition_.clear();
        std::vector<reservoir<Row>*> parts;
        parts.reserve(all.size());
        for (auto& entry : all) parts.push_back(&entry.second);
        const auto n = static_cast<std::uint64_t>(parts.size());
        const std::uint64_t k = n < max_partitions ? n : max_partitions;
        for (std::uint64_t i = 0; i < k; ++i) {
            const std::uint64_t j = i + uniform_below(g, n - i);
            std::swap(parts[static_cast<std::size_t>(i)], parts[static_cast<std::size_t>(j)]);
        }
        for (std::uint64_t i = 0; i < k; ++i) {
            for (const auto& row : parts[static_cast<std::size_t>(i)]->rows()) emit(row);
        }
    }

    bool empty() const noexcept { return by_partition_.empty(); }

private:
    std::unordered_map<Partition, reservoir<Row>> by_partition_;
};

/// Enforces unit_order for the grouped bounders.
template <class Unit>
class order_check {
public:
    order_check(const char* who, unit_order order) : order_(order) {
        if (order != unit_order::ascending && order != unit_order::remembered && order != unit_order::unchecked) {
            throw_invalid(who, "unit_order must be ascending, remembered or unchecked", static_cast<int>(order));
        }
        if constexpr (!std::totally_ordered<Unit>) {
            if (order == unit_order::ascending) {
                throw_invalid(who, "unit_order::ascending needs unit ids ordered by operator< (use remembered or unchecked)");
            }
        }
    }

    /// Throws (nothing changed) if `next`, which differs from `current`, breaks the order.
    void check_next(const char* who, const Unit& current, const Unit& next) const {
        if constexpr (std::totally_ordered<Unit>) {
            if (order_ == unit_order::ascending && !(current < next)) {
                throw_invalid(who, "grouped rows out of order: unit ids must strictly increase (unit_order::ascending)");
            }
        }
        if (order_ == unit_order::remembered && finished_.contains(next)) {
            throw_invalid(who, "grouped rows out of order: a unit reappeared after another unit (unit_order::remembered)");
        }
    }
    void finished(const Unit& u) {
        if (order_ == unit_order::remembered) finished_.insert(u);
    }

private:
    unit_order order_;
    std::unordered_set<Unit> finished_;
};

}  // namespace detail

/// Bounds rows (unit, value) that arrive grouped by unit to at most `max_rows`
/// per unit, streaming: each unit's kept rows go to the accumulators bound at
/// construction when the next unit starts, and the last unit's at finish().
/// The accumulators must outlive the bounder and declare max_contributions() == max_rows.
template <hashable_id Unit, class Value>
class grouped_bounder {
public:
    /// Move-only: a copy could feed the same units twice.
    grouped_bounder(const grouped_bounder&) = delete;
    grouped_bounder& operator=(const grouped_bounder&) = delete;
    grouped_bounder(grouped_bounder&&) noexcept = default;
    grouped_bounder& operator=(grouped_bounder&&) noexcept = default;

    /// Feeds `accumulators` (references kept); refuses any whose max_contributions() != max_rows.
    template <class... Accs>
        requires(row_accumulator<Accs, Value> && ...)
    grouped_bounder(std::uint64_t max_rows, unit_order order, Accs&... accumulators)
        : max_rows_(max_rows), order_(who, order) {
        detail::check_cap(who, "max_rows", max_rows_);
        (detail::check_row_accumulator(who, accumulators, max_rows_), ...);
        (sinks_.push_back([&a = accumulators](const Value& v) { detail::add_row<Value>(a, v); }), ...);
    }

    /// Offers one row; a new unit id first feeds the previous unit's kept rows.
    /// Throws (nothing changed) if the id breaks the unit_order.
    template <std::uniform_random_bit_generator G>
    void add(const Unit& unit, Value value, G& g) {
        if (finished_) detail::throw_invalid(who, "add after finish()");
        if (current_ && !(*current_ == unit)) {
            order_.check_next(who, *current_, unit);
            flush();
        }
        if (!current_) current_.emplace(unit);
        rows_.offer(who, std::move(value), max_rows_, g);
    }

    /// Feeds the last unit; afterwards add() throws.
    void finish() {
        if (finished_) detail::throw_invalid(who, "finish() called twice");
        finished_ = true;
        flush();
    }

    std::uint64_t max_rows() const noexcept { return max_rows_; }

private:
    static constexpr const char* who = "dpkit::grouped_bounder";

    void flush() {
        if (!current_) return;
        // The unit is forgotten before its rows are fed: an accumulator that
        // throws midway can lose some of them, never receive them twice.
        auto kept = std::move(rows_);
        rows_ = detail::reservoir<Value>{};
        order_.finished(*current_);
        current_.reset();
        for (auto& sink : sinks_) {
            for (const auto& v : kept.rows()) sink(v);
        }
    }

    std::uint64_t max_rows_;
    detail::order_check<Unit> order_;
    std::vector<std::function<void(const Value&)>> sinks_;
    std::optional<Unit> current_;
    detail::reservoir<Value> rows_;
    bool finished_ = false;
};

/// Bounds rows (unit, value) in any order to at most `max_rows` per unit: one
/// reservoir per unit (O(units * max_rows) values), mergeable across shards
/// that share units, fed once to the accumulators.
template <hashable_id Unit, class Value>
class ungrouped_bounder {
public:
    /// Move-only: a copy could feed the same units twice.
    ungrouped_bounder(const ungrouped_bounder&) = delete;
    ungrouped_bounder& operator=(const ungrouped_bounder&) = delete;
    ungrouped_bounder(ungrouped_bounder&&) noexcept = default;
    ungrouped_bounder& operator=(ungrouped_bounder&&) noexcept = default;

    explicit ungrouped_bounder(std::uint64_t max_rows) : max_rows_(max_rows) { detail::check_cap(who, "max_rows", max_rows_); }

    /// Offers one row of `unit`.
    template <std::uniform_random_bit_generator G>
    void add(const Unit& unit, Value value, G& g) {
        check_open("add");
        units_[unit].offer(who, std::move(value), max_rows_, g);
    }

    /// Takes in another shard's rows (same max_rows); a unit present in both
    /// keeps a uniformly random subset of all its rows, as if seen in one pass.
    template <std::uniform_random_bit_generator G>
    void merge(ungrouped_bounder&& other, G& g) {
        check_open("merge");
        if (other.fed_) detail::throw_invalid(who, "cannot merge a bounder that was already fed");
        if (other.max_rows_ != max_rows_) detail::throw_invalid(who, "cannot merge bounders with different max_rows", other.max_rows_);
        for (auto& [u, r] : other.units_) units_[u].merge(who, std::move(r), max_rows_, g);
        other.units_.clear();
    }

    /// Feeds every unit's kept rows to each accumulator, once: refuses (nothing
    /// fed) any accumulator whose max_contributions() != max_rows; afterwards
    /// add, merge and feed throw.
    template <class... Accs>
        requires(sizeof...(Accs) >= 1 && (row_accumulator<Accs, Value> && ...))
    void feed(Accs&... accumulators) {
        check_open("feed");
        (detail::check_row_accumulator(who, accumulators, max_rows_), ...);
        fed_ = true;
        auto all = std::move(units_);
        units_.clear();
        for (auto& [u, r] : all) {
            (feed_one(accumulators, r.rows()), ...);
        }
    }

    std::uint64_t max_rows() const noexcept { return max_rows_; }
    /// The number of distinct units seen (private: never release it as is).
    std::size_t units() const noexcept { return units_.size(); }

private:
    static constexpr const char* who = "dpkit::ungrouped_bounder";

    void check_open(const char* what) const {
        if (fed_) detail::throw_invalid(who, std::string(what) + " after feed(): the rows were already fed");
    }
    template <class A>
    static void feed_one(A& a, const std::vector<Value>& rows) {
        for (const auto& v : rows) detail::add_row<Value>(a, v);
    }

    std::uint64_t max_rows_;
    std::unordered_map<Unit, detail::reservoir<Value>> units_;
    bool fed_ = false;
};

/// Bounds rows that arrive grouped by unit, (unit, key) or (unit, key, value)
/// when Value is not void, to at most caps.max_partitions partitions per unit
/// and caps.max_per_partition rows per unit and partition, streaming. A row's
/// partition is partition_of(key) (the key itself by default; for a histogram
/// over numbers, the function that maps a number to its bin, which must be the
/// accumulator's own). The accumulators must outlive the bounder.
template <hashable_id Unit, class Key, class Value = void, class PartitionOf = std::identity>
    requires hashable_id<std::decay_t<std::invoke_result_t<const PartitionOf&, const Key&>>>
class grouped_partition_bounder {
public:
    /// Move-only: a copy could feed the same units twice.
    grouped_partition_bounder(const grouped_partition_bounder&) = delete;
    grouped_partition_bounder& operator=(const grouped_partition_bounder&) = delete;
    grouped_partition_bounder(grouped_partition_bounder&&) noexcept = default;
    grouped_partition_bounder& operator=(grouped_partition_bounder&&) noexcept = default;

    using row_type = detail::partition_row<Key, Value>;
    using partition_type = std::decay_t<std::invoke_result_t<const PartitionOf&, const Key&>>;

    /// Feeds `accumulators` (references kept); refuses any whose caps differ.
    template <class... Accs>
        requires(partition_accumulator<Accs, Key, Value> && ...)
    grouped_partition_bounder(partition_caps caps, unit_order order, PartitionOf partition_of, Accs&... accumulators)
        : caps_(caps), order_(who, order), partition_of_(std::move(partition_of)) {
        detail::check_partition_caps(who, caps_);
        (detail::check_partition_accumulator(who, accumulators, caps_), ...);
        (sinks_.push_back([&a = accumulators](const row_type& r) { detail::add_partition_row<Key, Value>(a, r); }), ...);
    }
    /// The same, with each key its own partition.
    template <class... Accs>
        requires(std::same_as<PartitionOf, std::identity> && (partition_accumulator<Accs, Key, Value> && ...))
    grouped_partition_bounder(partition_caps caps, unit_order order, Accs&... accumulators)
        : grouped_partition_bounder(caps, order, PartitionOf{}, accumulators...) {}

    /// Offers one row (unit, key).
    template <std::uniform_random_bit_generator G>
        requires std::is_void_v<Value>
    void add(const Unit& unit, Key key, G& g) {
        offer(unit, std::move(key), g);
    }
    /// Offers one row (unit, key, value).
    template <class V, std::uniform_random_bit_generator G>
        requires(!std::is_void_v<Value> && std::convertible_to<V, std::conditional_t<std::is_void_v<Value>, int, Value>>)
    void add(const Unit& unit, Key key, V&& value, G& g) {
        offer(unit, row_type(std::move(key), std::forward<V>(value)), g);
    }

    /// Feeds the last unit; afterwards add() throws.
    template <std::uniform_random_bit_generator G>
    void finish(G& g) {
        if (finished_) detail::throw_invalid(who, "finish() called twice");
        finished_ = true;
        flush(g);
    }

    const partition_caps& caps() const noexcept { return caps_; }

private:
    static constexpr const char* who = "dpkit::grouped_partition_bounder";

    template <std::uniform_random_bit_generator G>
    void offer(const Unit& unit, row_type row, G& g) {
        if (finished_) detail::throw_invalid(who, "add after finish()");
        if (current_ && !(*current_ == unit)) {
            order_.check_next(who, *current_, unit);
            flush(g);
        }
        if (!current_) current_.emplace(unit);
        const partition_type p = std::invoke(partition_of_, detail::key_of<Key, Value>(row));
        rows_.offer(who, p, std::move(row), caps_.max_per_partition, g);
    }

    template <std::uniform_random_bit_generator G>
    void flush(G& g) {
        if (!current_) return;
        order_.finished(*current_);
        current_.reset();
        std::vector<row_type> kept;
        rows_.select(caps_.max_partitions, g, [&](const row_type& r) { kept.push_back(r); });
        for (auto& sink : sinks_) {
            for (const auto& r : kept) sink(r);
        }
    }

    partition_caps caps_;
    detail::order_check<Unit> order_;
    PartitionOf partition_of_;
    std::vector<std::function<void(const row_type&)>> sinks_;
    std::optional<Unit> current_;
    detail::unit_partitions<partition_type, row_type> rows_;
    bool finished_ = false;
};

/// Bounds rows (unit, key) or (unit, key, value) in any order to the partition
/// caps: per unit and partition a reservoir (O(units * partitions *
/// max_per_partition) values), mergeable across shards that share units, fed
/// once; the partitions kept are drawn at feed().
template <hashable_id Unit, class Key, class Value = void, class PartitionOf = std::identity>
    requires hashable_id<std::decay_t<std::invoke_result_t<const PartitionOf&, const Key&>>>
class ungrouped_partition_bounder {
public:
    /// Move-only: a copy could feed the same units twice.
    ungrouped_partition_bounder(const ungrouped_partition_bounder&) = delete;
    ungrouped_partition_bounder& operator=(const ungrouped_partition_bounder&) = delete;
    ungrouped_partition_bounder(ungrouped_partition_bounder&&) noexcept = default;
    ungrouped_partition_bounder& operator=(ungrouped_partition_bounder&&) noexcept = default;

    using row_type = detail::partition_row<Key, Value>;
    using partition_type = std::decay_t<std::invoke_result_t<const PartitionOf&, const Key&>>;

    explicit ungrouped_partition_bounder(partition_caps caps, PartitionOf partition_of = {})
        : caps_(caps), partition_of_(std::move(partition_of)) {
        detail::check_partition_caps(who, caps_);
    }

    /// Offers one row (unit, key).
    template <std::uniform_random_bit_generator G>
        requires std::is_void_v<Value>
    void add(const Unit& unit, Key key, G& g) {
        offer(unit, std::move(key), g);
    }
    /// Offers one row (unit, key, value).
    template <class V, std::uniform_random_bit_generator G>
        requires(!std::is_void_v<Value> && std::convertible_to<V, std::conditional_t<std::is_void_v<Value>, int, Value>>)
    void add(const Unit& unit, Key key, V&& value, G& g) {
        offer(unit, row_type(std::move(key), std::forward<V>(value)), g);
    }

    /// Takes in another shard's rows (same caps): as if seen in one pass.
    template <std::uniform_random_bit_generator G>
    void merge(ungrouped_partition_bounder&& other, G& g) {
        check_open("merge");
        if (other.fed_) detail::throw_invalid(who, "cannot merge a bounder that was already fed");
        if (other.caps_.max_partitions != caps_.max_partitions) {
            detail::throw_invalid(who, "cannot merge bounders with different max_partitions", other.caps_.max_partitions);
        }
        if (other.caps_.max_per_partition != caps_.max_per_partition) {
            detail::throw_invalid(who, "cannot merge bounders with different max_per_partition", other.caps_.max_per_partition);
        }
        for (auto& [u, parts] : other.units_) units_[u].merge(who, std::move(parts), caps_.max_per_partition, g);
        other.units_.clear();
    }

    /// Draws each unit's partitions and feeds the kept rows to each accumulator,
    /// once: refuses (nothing fed) any accumulator whose caps differ.
    template <std::uniform_random_bit_generator G, class... Accs>
        requires(sizeof...(Accs) >= 1 && (partition_accumulator<Accs, Key, Value> && ...))
    void feed(G& g, Accs&... accumulators) {
        check_open("feed");
        (detail::check_partition_accumulator(who, accumulators, caps_), ...);
        fed_ = true;
        auto all = std::move(units_);
        units_.clear();
        for (auto& [u, parts] : all) {
            parts.select(caps_.max_partitions, g, [&](const row_type& r) {
                (detail::add_partition_row<Key, Value>(accumulators, r), ...);
            });
        }
    }

    const partition_caps& caps() const noexcept { return caps_; }
    /// The number of distinct units seen (private: never release it as is).
    std::size_t units() const noexcept { return units_.size(); }

private:
    static constexpr const char* who = "dpkit::ungrouped_partition_bounder";

    void check_open(const char* what) const {
        if (fed_) detail::throw_invalid(who, std::string(what) + " after feed(): the rows were already fed");
    }
    template <std::uniform_random_bit_generator G>
    void offer(const Unit& unit, row_type row, G& g) {
        check_open("add");
        const partition_type p = std::invoke(partition_of_, detail::key_of<Key, Value>(row));
        units_[unit].offer(who, p, std::move(row), caps_.max_per_partition, g);
    }

    partition_caps caps_;
    PartitionOf partition_of_;
    std::unordered_map<Unit, detail::unit_partitions<partition_type, row_type>> units_;
    bool fed_ = false;
};

}  // namespace dpkit
