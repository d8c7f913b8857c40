#pragma once
/// \file
/// dpkit::category_histogram<K>: counts of rows per category of a declared,
/// public set of categories, kept exactly and released once with Laplace or
/// Gaussian noise on every category.
///
/// Neighbouring datasets: add or remove one privacy unit, which changes at most
/// `max_partitions` categories (L0), each by at most `max_per_partition` rows
/// (Linf). The sensitivity, the mechanisms, what their cost means for the vector
/// of counts, the intervals and the post-processing are those of
/// dpkit::histogram (see histogram.hpp), with one released count per declared
/// category, in the order the categories were declared.
///
/// Categories must be distinct (and not NaN); K must be copyable and either
/// totally ordered (lookups by binary search, O(log k)) or hashable with
/// std::hash (lookups O(1)). A value that is not a declared category (NaN
/// included) follows the rule chosen at construction: undeclared_category::reject
/// throws dpkit::invalid_argument (the default; the message does not repeat the
/// value, which is private), undeclared_category::drop skips the row. An
/// undeclared value is never counted in another category.
///
/// Serialization writes the categories with the state when K is an integer
/// type, float, double or std::string; for other K, serialize() and
/// deserialize() are not available (states of such histograms can be merged in
/// one process, not shipped between processes).

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "histogram.hpp"

namespace dpkit {

/// What category_histogram does with a value outside its declared categories.
enum class undeclared_category : std::uint8_t {
    reject,  ///< throw dpkit::invalid_argument (the default)
    drop,    ///< skip the row (the number skipped is private and is never released)
};

namespace detail {

template <class K>
concept hashable_category = std::equality_comparable<K> && requires(const K& k) {
    { std::hash<K>{}(k) } -> std::convertible_to<std::size_t>;
};

/// Category types whose values serialization can write.
template <class K>
concept serializable_category =
    std::integral<K> || std::same_as<K, float> || std::same_as<K, double> || std::same_as<K, std::string>;

}  // namespace detail

/// Types that can name categories: copyable, and totally ordered or hashable.
template <class K>
concept category_key = std::copyable<K> && std::equality_comparable<K> &&
                       (std::totally_ordered<K> || detail::hashable_category<K>);

/// A mergeable histogram over a declared set of categories with one release.
template <category_key K>
class category_histogram {
public:
    /// One count per category (public: declared, never read from data; distinct);
    /// each unit changes at most `max_partitions` categories by at most `max_per_partition` rows.
    explicit category_histogram(std::vector<K> categories, undeclared_category undeclared = undeclared_category::reject,
                                std::uint64_t max_partitions = 1, std::uint64_t max_per_partition = 1)
        : categories_(std::move(categories)),
          undeclared_(undeclared),
          state_(who, categories_.size(), max_partitions, max_per_partition) {
        if (categories_.empty()) detail::throw_invalid(who, "categories must not be empty");
        if (undeclared != undeclared_category::reject && undeclared != undeclared_category::drop) {
            detail::throw_invalid(who, "unknown undeclared_category");
        }
        if constexpr (std::floating_point<K>) {
            for (const K& k : categories_) {
                if (std::isnan(k)) detail::throw_invalid(who, "categories must not be NaN");
            }
        }
        if constexpr (ordered) {
            lookup_.reserve(categories_.size());
            for (std::size_t i = 0; i < categories_.size(); ++i) lookup_.emplace_back(categories_[i], i);
            std::sort(lookup_.begin(), lookup_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
            for (std::size_t i = 1; i < lookup_.size(); ++i) {
                if (!(lookup_[i - 1].first < lookup_[i].first)) refuse("categories must be distinct", lookup_[i].first);
            }
        } else {
            lookup_.reserve(categories_.size());
            for (std::size_t i = 0; i < categories_.size(); ++i) {
                if (!lookup_.emplace(categories_[i], i).second) refuse("categories must be distinct", categories_[i]);
            }
        }
    }

    /// Counts one row in its category (an undeclared value by the undeclared_category rule).
    void add(const K& key) {
        check_open("add");
        const std::size_t c = cell_of(key);
        if (c != dropped) ++state_.n[c];
    }

    /// Counts every value of a range, without copying it. All or nothing: if an
    /// undeclared value is rejected, none of the range's rows are counted.
    template <std::ranges::input_range R>
        requires(!std::convertible_to<R, K>) && std::convertible_to<std::ranges::range_reference_t<R>, const K&>
    void add(R&& keys) {
        check_open("add");
        if constexpr (std::ranges::sized_range<R>) {
            const auto size = static_cast<std::size_t>(std::ranges::size(keys));
            if (size < state_.n.size()) {
                std::vector<std::size_t> found;
                found.reserve(size);
                for (auto&& k : keys) found.push_back(cell_of(k));
                for (std::size_t c : found) {
                    if (c != dropped) ++state_.n[c];
                }
                return;
            }
        }
        std::vector<std::uint64_t> local(state_.n.size(), 0);
        for (auto&& k : keys) {
            const std::size_t c = cell_of(k);
            if (c != dropped) ++local[c];
        }
        state_.add_counts(who, local);
    }

    /// Adds another shard's counts (same categories in the same order, rule and caps; neither released).
    void merge(const category_histogram& other) {
        check_open("merge");
        if (other.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        if (other.categories_ != categories_) detail::throw_invalid(who, "cannot merge histograms with different categories");
        if (other.undeclared_ != undeclared_) {
            detail::throw_invalid(who, "cannot merge histograms with different undeclared_category rules");
        }
        state_.check_mergeable(who, "histograms", other.state_);
        state_.add_counts(who, other.state_.n);
    }

    /// The declared categories, in the order of the released counts.
    const std::vector<K>& categories() const noexcept { return categories_; }
    /// Number of released counts (one per category).
    std::size_t cells() const noexcept { return state_.n.size(); }
    undeclared_category undeclared() const noexcept { return undeclared_; }
    /// L0: how many categories one privacy unit may change.
    std::uint64_t max_partitions() const noexcept { return state_.max_partitions; }
    /// Linf: by how many rows one privacy unit may change a category.
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

    /// The versioned, platform-independent state, categories included (see serialization.hpp).
    std::vector<std::byte> serialize() const
        requires detail::serializable_category<K>
    {
        detail::byte_writer w(aggregate_kind::category_histogram, released_);
        w.u64(state_.max_partitions);
        w.u64(state_.max_per_partition);
        w.u8(static_cast<std::uint8_t>(undeclared_));
        w.u8(key_tag());
        w.u8(key_size());
        w.u64(categories_.size());
        for (const K& k : categories_) write_key(w, k);
        state_.write(w);
        return w.take();
    }
    /// Rebuilds an unreleased state; refuses anything malformed, released or out of range.
    static category_histogram deserialize(std::span<const std::byte> bytes)
        requires detail::serializable_category<K>
    {
        detail::byte_reader r(who, bytes, aggregate_kind::category_histogram);
        const std::uint64_t l0 = r.u64();
        const std::uint64_t linf = r.u64();
        const std::uint8_t undeclared = r.u8();
        if (undeclared > 1) r.fail("malformed state (bad undeclared_category)");
        const std::uint8_t tag = r.u8();
        const std::uint8_t size = r.u8();
        if (tag != key_tag() || size != key_size()) r.fail("the state's categories are of another type");
        const std::uint64_t k = r.u64();
        std::vector<K> categories;
        for (std::uint64_t i = 0; i < k; ++i) categories.push_back(read_key(r));  // stops at the end of the bytes
        category_histogram h(std::move(categories), static_cast<undeclared_category>(undeclared), l0, linf);
        h.state_.read(r);
        r.finish();
        return h;
    }

private:
    friend class category_describer;
    /// Draws the counts and has `spend` pay for them (describe's deferred spend); does not mark the state released.
    template <class Rule, class Spend, noise_spec Noise, std::uniform_random_bit_generator G>
    released<histogram_estimate> release_with(const Spend& spend, const Noise& noise, double level, G& g, std::string_view label,
                                              histogram_postprocessing post) const {
        return state_.template release_with<Rule>(who, spend, noise, level, g, label, post, histogram_coverage::per_bin);
    }
    static constexpr const char* who = "dpkit::category_histogram";
    static constexpr std::size_t dropped = std::numeric_limits<std::size_t>::max();
    static constexpr bool ordered = std::totally_ordered<K>;
    using lookup_type = std::conditional_t<ordered, std::vector<std::pair<K, std::size_t>>, std::unordered_map<K, std::size_t>>;

    [[noreturn]] static void refuse(const char* rule, const K& k) {
        if constexpr (std::same_as<K, bool>) {
            detail::throw_invalid(who, rule, k ? "true" : "false");
        } else if constexpr (std::signed_integral<K>) {
            detail::throw_invalid(who, rule, static_cast<std::int64_t>(k));
        } else if constexpr (std::unsigned_integral<K>) {
            detail::throw_invalid(who, rule, static_cast<std::uint64_t>(k));
        } else if constexpr (std::floating_point<K>) {
            detail::throw_invalid(who, rule, static_cast<double>(k));
        } else if constexpr (std::same_as<K, std::string>) {
            detail::throw_invalid(who, rule, "\"" + k + "\"");
        } else {
            detail::throw_invalid(who, rule);
        }
    }

    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the histogram was already released");
    }

    /// The cell of a declared category, or `dropped` (undeclared_category::drop).
    std::size_t cell_of(const K& key) const {
        if constexpr (ordered) {
            const auto it = std::lower_bound(lookup_.begin(), lookup_.end(), key,
                                             [](const std::pair<K, std::size_t>& e, const K& k) { return e.first < k; });
            if (it != lookup_.end() && it->first == key) return it->second;
        } else {
            const auto it = lookup_.find(key);
            if (it != lookup_.end()) return it->second;
        }
        if (undeclared_ == undeclared_category::reject) {
            detail::throw_invalid(who, "value is not a declared category (undeclared_category::reject)");
        }
        return dropped;
    }

    static constexpr std::uint8_t key_tag() noexcept {
        if constexpr (std::same_as<K, std::string>) {
            return 4;
        } else if constexpr (std::floating_point<K>) {
            return 3;
        } else if constexpr (std::is_signed_v<K>) {
            return 1;
        } else {
            return 2;
        }
    }
    static constexpr std::uint8_t key_size() noexcept {
        if constexpr (std::same_as<K, std::string>) {
            return 0;
        } else {
            return static_cast<std::uint8_t>(sizeof(K));
        }
    }
    static void write_key(detail::byte_writer& w, const K& k) {
        if constexpr (std::same_as<K, std::string>) {
            w.u64(k.size());
            for (char c : k) w.u8(static_cast<std::uint8_t>(c));
        } else if constexpr (std::floating_point<K>) {
            w.f64(static_cast<double>(k));
        } else if constexpr (std::is_signed_v<K>) {
            w.i64(static_cast<std::int64_t>(k));
        } else {
            w.u64(static_cast<std::uint64_t>(k));
        }
    }
    static K read_key(detail::byte_reader& r) {
        if constexpr (std::same_as<K, std::string>) {
            const std::uint64_t n = r.u64();
            std::string s;
            for (std::uint64_t i = 0; i < n; ++i) s.push_back(static_cast<char>(r.u8()));  // stops at the end of the bytes
            return s;
        } else if constexpr (std::floating_point<K>) {
            const double d = r.f64();
            if constexpr (std::same_as<K, float>) {
                const bool fits = std::isinf(d) || std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max());
                if (!fits || static_cast<double>(static_cast<float>(d)) != d) {
                    r.fail("malformed state (a category is out of its type's range)");
                }
            }
            return static_cast<K>(d);
        } else if constexpr (std::is_signed_v<K>) {
            const std::int64_t v = r.i64();
            if (v < static_cast<std::int64_t>(std::numeric_limits<K>::min()) ||
                v > static_cast<std::int64_t>(std::numeric_limits<K>::max())) {
                r.fail("malformed state (a category is out of its type's range)");
            }
            return static_cast<K>(v);
        } else {
            const std::uint64_t v = r.u64();
            if (v > static_cast<std::uint64_t>(std::numeric_limits<K>::max())) {
                r.fail("malformed state (a category is out of its type's range)");
            }
            return static_cast<K>(v);
        }
    }

    std::vector<K> categories_;
    undeclared_category undeclared_;
    detail::cell_counts state_;
    lookup_type lookup_;
    bool released_ = false;
};

}  // namespace dpkit
