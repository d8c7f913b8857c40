#pragma once
/// \file
/// dpkit::key_histogram<K>: counts per key where the keys arrive with the data
/// (nobody listed them in advance). A release keeps only the keys that
/// partition_selection lets through, so a key that one unit alone holds appears
/// with probability at most delta, and releases noisy row counts for them.
///
/// Neighbouring datasets: add or remove one privacy unit, which holds at most
/// max_partitions keys (L0) with at most max_per_partition rows each (Linf);
/// contribution bounding enforces both. add(key, rows) records one unit's rows
/// for a key (rows above Linf are clamped to it, so the sensitivity holds for
/// every input). Row counts get Laplace noise for L1 sensitivity L0 Linf or
/// Gaussian noise for L2 sensitivity sqrt(L0) Linf; the selection and the counts
/// are spent together, as (epsilon, delta) costs. Keys are kept in order, so
/// the state and its serialization do not depend on the order of addition.

#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "partition_selection.hpp"
#include "release.hpp"
#include "serialization.hpp"

namespace dpkit {

/// One released key: its noisy row count and that count's interval.
template <class K>
struct key_count {
    K key;
    double count;
    interval confidence;
};

/// A mergeable histogram over keys not known in advance, with one release.
/// K is std::string or an integer type (other key types cannot be serialized).
template <class K>
    requires std::same_as<K, std::string> || std::integral<K>
class key_histogram {
public:
    key_histogram(dpkit::max_partitions l0, std::uint64_t max_per_partition = 1) : l0_(l0.value), linf_(max_per_partition) {
        if (l0_ == 0) detail::throw_invalid(who, "max_partitions must be >= 1", l0_);
        if (linf_ == 0) detail::throw_invalid(who, "max_per_partition must be >= 1", linf_);
    }

    /// One privacy unit's `rows` rows for `key` (clamped to max_per_partition).
    void add(const K& key, std::uint64_t rows = 1) {
        check_open("add");
        auto& c = counts_[key];
        c.units += 1;
        c.rows += rows < linf_ ? rows : linf_;
    }

    /// Adds another shard's state (same caps; neither released).
    void merge(const key_histogram& other) {
        check_open("merge");
        if (other.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        if (other.l0_ != l0_) detail::throw_invalid(who, "cannot merge histograms with different max_partitions", other.l0_);
        if (other.linf_ != linf_) detail::throw_invalid(who, "cannot merge histograms with different max_per_partition", other.linf_);
        for (const auto& [k, c] : other.counts_) {
            auto& mine = counts_[k];
            mine.units += c.units;
            mine.rows += c.rows;
        }
    }

    std::uint64_t max_partitions() const noexcept { return l0_; }
    std::uint64_t max_per_partition() const noexcept { return linf_; }
    bool is_released() const noexcept { return released_; }

    /// Releases the selected keys with noisy row counts (two ledger lines:
    /// "<label> (selection)" and "<label> (counts)", spent together).
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    released<std::vector<key_count<K>>> release(accountant<Rule>& acct, const partition_selection& selection,
                                                const Noise& count_noise, double level, G& g, std::string_view label) {
        check_open("release");
        auto out = release_with<Rule>(detail::spend_now<Rule>{acct}, selection, count_noise, level, g, label);
        released_ = true;
        return out;
    }

    /// The versioned, platform-independent state (see serialization.hpp).
    std::vector<std::byte> serialize() const {
        detail::byte_writer w(aggregate_kind::key_histogram, released_);
        w.u8(std::same_as<K, std::string> ? 0 : 1);
        w.u64(l0_);
        w.u64(linf_);
        w.u64(counts_.size());
        for (const auto& [k, c] : counts_) {
            if constexpr (std::same_as<K, std::string>) {
                w.u64(k.size());
                for (char ch : k) w.u8(static_cast<std::uint8_t>(ch));
            } else {
                w.i64(static_cast<std::int64_t>(k));
            }
            w.u64(c.units);
            w.u64(c.rows);
        }
        return w.take();
    }
    /// Rebuilds an unreleased state; refuses anything malformed, released or out of range.
    static key_histogram deserialize(std::span<const std::byte> bytes) {
        detail::byte_reader r(who, bytes, aggregate_kind::key_histogram);
        if (r.u8() != (std::same_as<K, std::string> ? 0 : 1)) r.fail("malformed state (another key type)");
        const std::uint64_t l0 = r.u64();
        const std::uint64_t linf = r.u64();
        if (l0 == 0 || linf == 0) r.fail("malformed state (caps must be >= 1)");
        key_histogram h(dpkit::max_partitions{l0}, linf);
        const std::uint64_t n = r.u64();
        if (n > bytes.size()) r.fail("malformed state (truncated)");
        for (std::uint64_t i = 0; i < n; ++i) {
            K key{};
            if constexpr (std::same_as<K, std::string>) {
                const std::uint64_t len = r.u64();
                if (len > bytes.size()) r.fail("malformed state (truncated)");
                for (std::uint64_t j = 0; j < len; ++j) key.push_back(static_cast<char>(r.u8()));
            } else {
                const std::int64_t v = r.i64();
                key = static_cast<K>(v);
                if (static_cast<std::int64_t>(key) != v) r.fail("malformed state (key out of range)");
            }
            counts c{r.u64(), r.u64()};
            if (c.units == 0 || c.rows > c.units * linf) r.fail("malformed state (counts outside what the caps allow)");
            if (!h.counts_.empty() && !(h.counts_.rbegin()->first < key)) r.fail("malformed state (keys out of order)");
            h.counts_.emplace_hint(h.counts_.end(), std::move(key), c);
        }
        r.finish();
        return h;
    }

private:
    friend class category_describer;
    /// Selects and draws, then has `spend` pay (spend_now or spend_later); does not mark the state released.
    template <class Rule, class Spend, noise_spec Noise, std::uniform_random_bit_generator G>
    released<std::vector<key_count<K>>> release_with(const Spend& spend, const partition_selection& selection,
                                                     const Noise& count_noise, double level, G& g, std::string_view label) const {
        detail::check_level(level);
        if (selection.max_partitions() != l0_) {
            detail::throw_invalid(who, "the selection's max_partitions must equal the histogram's", selection.max_partitions());
        }
        const auto m = count_mechanism(count_noise);
        const interval noise = confidence_interval(m, level);
        std::vector<key_count<K>> out;
        for (const auto& [k, c] : counts_) {
            if (!selection(c.units, g).keep) continue;
            const double v = static_cast<double>(c.rows) + static_cast<double>(m.noise_distribution()(g));
            out.push_back(key_count<K>{k, v, around(v, noise)});
        }
        approx_dp count_cost{};
        if constexpr (std::same_as<Noise, laplace_noise>) {
            count_cost = approx_dp{m.cost().epsilon, 0};
        } else {
            count_cost = m.cost();
        }
        auto costs = spend(std::array{std::pair{std::string(label) + " (selection)", selection.cost()},
                                      std::pair{std::string(label) + " (counts)", count_cost}});
        return released<std::vector<key_count<K>>>{std::move(out), noise, level, std::move(costs)};
    }

    static constexpr const char* who = "dpkit::key_histogram";
    struct counts {
        std::uint64_t units = 0;
        std::uint64_t rows = 0;
    };

    auto count_mechanism(const laplace_noise& n) const {
        return laplace_mechanism<std::int64_t>(n.epsilon, l1_sensitivity{static_cast<double>(l0_) * static_cast<double>(linf_)});
    }
    auto count_mechanism(const gaussian_noise& n) const {
        const double l2 = detail::mul_up(detail::sqrt_up(static_cast<double>(l0_)), static_cast<double>(linf_));
        return gaussian_mechanism<std::int64_t>(n.epsilon, n.delta, l2_sensitivity{l2}, dpkit::dimension{l0_ == 1 ? std::size_t{1} : std::size_t{2}});
    }
    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the histogram was already released");
    }

    std::uint64_t l0_;
    std::uint64_t linf_;
    std::map<K, counts> counts_;
    bool released_ = false;
};

}  // namespace dpkit
