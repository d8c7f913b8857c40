// Contribution bounding: a unit with a million rows moves the exact state no
// more than its cap allows; the kept rows are a uniformly random subset (G-tests
// with positive controls); grouped, ungrouped and merged shards agree in
// distribution; L0/Linf caps; the grouped shape's order contract; refusals.
//
// Every G-test rejects at dpkit_test::false_failure_rate = 1e-6, so a correct
// bounder fails one of the 9 uniformity tests below with probability < 1e-5
// over the choice of seed (the seeds are fixed: each run is deterministic).
#include <dpkit/aggregates.hpp>
#include <dpkit/random.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../support/dpkit_catch.hpp"
#include "../support/stats.hpp"

using namespace dpkit;

namespace bounding_test {
/// Hashable and equality-comparable, but not ordered.
struct unordered_id {
    int v;
    bool operator==(const unordered_id&) const = default;
};
}  // namespace bounding_test

template <>
struct std::hash<bounding_test::unordered_id> {
    std::size_t operator()(const bounding_test::unordered_id& u) const noexcept { return std::hash<int>{}(u.v); }
};

namespace {

using bounding_test::unordered_id;

/// A test-only scalar accumulator that records every row it is fed.
template <class T>
struct recorder {
    std::uint64_t cap = 1;
    std::vector<T> rows;
    std::uint64_t max_contributions() const { return cap; }
    void add(const T& v) { rows.push_back(v); }
};

/// A test-only histogram over keys with the caps the real histogram declares.
struct tiny_histogram {
    std::uint64_t l0 = 1;
    std::uint64_t linf = 1;
    std::map<int, std::uint64_t> counts;
    std::uint64_t max_partitions() const { return l0; }
    std::uint64_t max_per_partition() const { return linf; }
    void add(int key) { ++counts[key]; }
};

/// A test-only per-key accumulator of (key, value) rows.
struct keyed_recorder {
    std::uint64_t l0 = 1;
    std::uint64_t linf = 1;
    std::vector<std::pair<int, int>> rows;
    std::uint64_t max_partitions() const { return l0; }
    std::uint64_t max_per_partition() const { return linf; }
    void add(int key, int value) { rows.emplace_back(key, value); }
};

/// A test-only histogram over numbers in bins of width 10 (its add takes the number).
struct binned_histogram {
    std::uint64_t l0 = 1;
    std::uint64_t linf = 1;
    std::map<int, std::uint64_t> counts;
    static int bin(double x) { return static_cast<int>(std::floor(x / 10)); }
    std::uint64_t max_partitions() const { return l0; }
    std::uint64_t max_per_partition() const { return linf; }
    void add(double x) { ++counts[bin(x)]; }
};

static_assert(hashable_id<std::string> && hashable_id<std::uint64_t> && hashable_id<int>);
static_assert(!hashable_id<std::vector<int>>);
static_assert(row_accumulator<count, double> && row_accumulator<count, std::string>);
static_assert(row_accumulator<bounded_sum<double>, double> && row_accumulator<bounded_sum<std::int64_t>, int>);
static_assert(row_accumulator<bounded_mean, double> && row_accumulator<bounded_variance, double>);
static_assert(row_accumulator<recorder<int>, int> && !row_accumulator<recorder<int>, std::string>);
static_assert(!row_accumulator<tiny_histogram, int>);
static_assert(partition_accumulator<tiny_histogram, int> && !partition_accumulator<tiny_histogram, int, int>);
static_assert(partition_accumulator<keyed_recorder, int, int> && !partition_accumulator<keyed_recorder, int>);
static_assert(!partition_accumulator<count, int> && !partition_accumulator<recorder<int>, int>);
// Bounders are move-only: a copy could feed the same units twice.
static_assert(!std::is_copy_constructible_v<ungrouped_bounder<int, double>> &&
              std::is_nothrow_move_constructible_v<ungrouped_bounder<int, double>>);
static_assert(!std::is_copy_constructible_v<grouped_bounder<int, double>> &&
              !std::is_copy_constructible_v<grouped_partition_bounder<int, int>> &&
              !std::is_copy_constructible_v<ungrouped_partition_bounder<int, int>>);

/// The last 8 bytes of a state as a little-endian u64 (count's n).
std::uint64_t tail_u64(const std::vector<std::byte>& bytes) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(bytes[bytes.size() - 8 + i]) << (8 * i);
    return v;
}
/// The last 16 bytes of a state as a little-endian i128 (bounded_sum's sum), narrowed.
std::int64_t tail_i128(const std::vector<std::byte>& bytes) {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    for (std::size_t i = 0; i < 8; ++i) lo |= static_cast<std::uint64_t>(bytes[bytes.size() - 16 + i]) << (8 * i);
    for (std::size_t i = 0; i < 8; ++i) hi |= static_cast<std::uint64_t>(bytes[bytes.size() - 8 + i]) << (8 * i);
    const bool fits = (hi == 0 && lo < (1ull << 63)) || (hi == ~0ull && lo >= (1ull << 63));
    REQUIRE(fits);
    return static_cast<std::int64_t>(lo);
}

/// G-test of outcome counts against the uniform distribution on `cells` outcomes.
double uniform_p_value(const std::map<std::uint64_t, std::uint64_t>& counts, std::size_t cells) {
    REQUIRE(counts.size() <= cells);
    double n = 0;
    for (const auto& c : counts) n += static_cast<double>(c.second);
    const double expected = n / static_cast<double>(cells);
    double g = 0;
    for (const auto& c : counts) g += 2 * static_cast<double>(c.second) * std::log(static_cast<double>(c.second) / expected);
    return dpkit_test::chi2_survival(g, static_cast<double>(cells - 1));
}

/// G-test that two samples of outcomes come from the same distribution on `cells` outcomes.
double homogeneity_p_value(const std::map<std::uint64_t, std::uint64_t>& a, const std::map<std::uint64_t, std::uint64_t>& b,
                           std::size_t cells) {
    std::set<std::uint64_t> keys;
    double na = 0;
    double nb = 0;
    for (const auto& c : a) {
        keys.insert(c.first);
        na += static_cast<double>(c.second);
    }
    for (const auto& c : b) {
        keys.insert(c.first);
        nb += static_cast<double>(c.second);
    }
    REQUIRE(keys.size() <= cells);
    double g = 0;
    for (auto k : keys) {
        const double oa = a.count(k) ? static_cast<double>(a.at(k)) : 0.0;
        const double ob = b.count(k) ? static_cast<double>(b.at(k)) : 0.0;
        const double total = oa + ob;
        if (oa > 0) g += 2 * oa * std::log(oa / (total * na / (na + nb)));
        if (ob > 0) g += 2 * ob * std::log(ob / (total * nb / (na + nb)));
    }
    return dpkit_test::chi2_survival(g, static_cast<double>(cells - 1));
}

/// Which of rows 0..9 were kept, as a bit mask (rows >= 10 belong to other units).
std::uint64_t kept_mask(const std::vector<int>& rows) {
    std::uint64_t m = 0;
    for (int r : rows) {
        if (r < 10) m |= std::uint64_t{1} << r;
    }
    return m;
}

// The scalar uniformity experiment: unit "m" sends rows 0..9, max_rows = 3, so
// each of the C(10, 3) = 120 subsets should be kept with probability 1/120.
constexpr int trials = 24000;  // 200 expected per subset
constexpr std::size_t subsets = 120;

}  // namespace

TEST_CASE("bounding: a unit with 1e6 rows moves count and sum no more than a unit with max_rows rows",
          "[aggregates][bounding]") {
    constexpr std::uint64_t cap = 5;
    insecure_seeded_generator g(11);
    // 300 ordinary units with 1..30 rows each; every row of unit u has value u % 101,
    // so the bounded state does not depend on which rows are kept.
    struct row {
        std::uint64_t unit;
        std::int64_t value;
    };
    std::vector<row> base;
    std::mt19937_64 rng(12);
    for (std::uint64_t u = 0; u < 300; ++u) {
        const auto n = 1 + rng() % 30;
        for (std::uint64_t i = 0; i < n; ++i) base.push_back({2 * u, static_cast<std::int64_t>(u % 101)});
    }
    // The neighbour adds unit 301 (between 300 and 302 in id order) with `n` rows of value 100
    // (or arbitrary values in [-50, 150], clamped to the bounds [0, 100]).
    const auto run_grouped = [&](std::uint64_t heavy_rows, bool arbitrary) {
        count c(cap);
        bounded_sum<std::int64_t> s(bounds{0, 100}, nan_policy::reject, cap);
        grouped_bounder<std::uint64_t, std::int64_t> b(cap, unit_order::ascending, c, s);
        std::mt19937_64 values(13);
        bool heavy_sent = false;
        for (const auto& r : base) {
            if (r.unit == 302 && !heavy_sent) {
                heavy_sent = true;
                for (std::uint64_t i = 0; i < heavy_rows; ++i) {
                    b.add(301, arbitrary ? static_cast<std::int64_t>(values() % 201) - 50 : 100, g);
                }
            }
            b.add(r.unit, r.value, g);
        }
        b.finish();
        return std::pair{tail_u64(c.serialize()), tail_i128(s.serialize())};
    };
    const auto run_ungrouped = [&](std::uint64_t heavy_rows) {
        count c(cap);
        bounded_sum<std::int64_t> s(bounds{0, 100}, nan_policy::reject, cap);
        ungrouped_bounder<std::uint64_t, std::int64_t> b(cap);
        std::size_t next = 0;
        for (std::uint64_t i = 0; i < heavy_rows; ++i) {  // interleaved with every other unit's rows
            b.add(301, 100, g);
            if (i % 3000 == 0 && next < base.size()) {
                b.add(base[next].unit, base[next].value, g);
                ++next;
            }
        }
        for (; next < base.size(); ++next) b.add(base[next].unit, base[next].value, g);
        b.feed(c, s);
        return std::pair{tail_u64(c.serialize()), tail_i128(s.serialize())};
    };

    const auto without = run_grouped(0, false);
    const auto at_cap = run_grouped(cap, false);
    const auto million = run_grouped(1'000'000, false);
    CHECK(at_cap.first - without.first == cap);
    CHECK(at_cap.second - without.second == static_cast<std::int64_t>(cap) * 100);
    CHECK(million == at_cap);  // a million rows move the state exactly as much as max_rows rows
    const auto arbitrary = run_grouped(1'000'000, true);
    CHECK(arbitrary.first - without.first == cap);
    CHECK(arbitrary.second - without.second >= 0);
    CHECK(arbitrary.second - without.second <= static_cast<std::int64_t>(cap) * 100);

    CHECK(run_ungrouped(0) == without);
    CHECK(run_ungrouped(1'000'000) == at_cap);
}

TEST_CASE("bounding: a unit with 1e6 rows in 1000 partitions changes at most L0 bins by at most Linf",
          "[aggregates][bounding][partitions]") {
    const partition_caps caps{3, 2};
    insecure_seeded_generator g(21);
    const auto run = [&](bool grouped, bool heavy) {
        tiny_histogram h{3, 2, {}};
        // Ordinary units (the same in every run): unit u sends r rows in each of
        // p partitions, so it keeps min(p, 3) * min(r, 2) rows whichever are drawn.
        std::mt19937_64 rng(22);
        std::vector<std::pair<int, int>> rows;  // (unit, key)
        std::uint64_t kept = 0;
        for (int u = 0; u < 200; ++u) {
            const auto p = 1 + rng() % 6;
            const auto r = 1 + rng() % 4;
            kept += std::min<std::uint64_t>(p, 3) * std::min<std::uint64_t>(r, 2);
            for (std::uint64_t i = 0; i < r; ++i) {
                for (std::uint64_t j = 0; j < p; ++j) rows.emplace_back(u, static_cast<int>((static_cast<std::uint64_t>(u) + 7 * j) % 40));
            }
        }
        // The heavy unit: 1e6 rows in partitions 1000..1999.
        if (grouped) {
            grouped_partition_bounder<int, int> b(caps, unit_order::remembered, h);
            for (const auto& [u, k] : rows) b.add(u, k, g);
            if (heavy) {
                for (int i = 0; i < 1'000'000; ++i) b.add(-1, 1000 + i % 1000, g);
            }
            b.finish(g);
        } else {
            ungrouped_partition_bounder<int, int> b(caps);
            std::size_t next = 0;  // the heavy unit's rows interleaved with everyone else's
            if (heavy) {
                const std::size_t every = 1'000'000 / rows.size() + 1;
                for (std::size_t i = 0; i < 1'000'000; ++i) {
                    b.add(-1, 1000 + static_cast<int>(i % 1000), g);
                    if (i % every == 0 && next < rows.size()) {
                        b.add(rows[next].first, rows[next].second, g);
                        ++next;
                    }
                }
            }
            for (; next < rows.size(); ++next) b.add(rows[next].first, rows[next].second, g);
            b.feed(g, h);
        }
        std::uint64_t ordinary = 0;
        std::uint64_t heavy_bins = 0;
        std::uint64_t heavy_rows = 0;
        for (const auto& [k, n] : h.counts) {
            if (k < 1000) {
                ordinary += n;
            } else {
                ++heavy_bins;
                heavy_rows += n;
                CHECK(n == caps.max_per_partition);
            }
        }
        CHECK(ordinary == kept);
        return std::pair{heavy_bins, heavy_rows};
    };
    for (bool grouped : {true, false}) {
        INFO("grouped: " << grouped);
        CHECK(run(grouped, false) == std::pair<std::uint64_t, std::uint64_t>{0, 0});
        // The heavy unit adds exactly L0 bins of Linf rows: what a unit with 3 partitions of 2 rows adds.
        CHECK(run(grouped, true) == std::pair<std::uint64_t, std::uint64_t>{caps.max_partitions,
                                                                             caps.max_partitions * caps.max_per_partition});
    }
}

TEST_CASE("bounding: the kept rows are a uniformly random subset (grouped, ungrouped, merged shards)",
          "[aggregates][bounding][statistical]") {
    insecure_seeded_generator g(31);
    std::map<std::uint64_t, std::uint64_t> grouped;
    std::map<std::uint64_t, std::uint64_t> ungrouped;
    std::map<std::uint64_t, std::uint64_t> merged;
    for (int t = 0; t < trials; ++t) {
        {
            recorder<int> r{3, {}};
            grouped_bounder<std::string, int> b(3, unit_order::ascending, r);
            for (int i = 0; i < 4; ++i) b.add("a", 100 + i, g);
            for (int i = 0; i < 10; ++i) b.add("m", i, g);
            for (int i = 0; i < 2; ++i) b.add("z", 200 + i, g);
            b.finish();
            REQUIRE(r.rows.size() == 8);
            ++grouped[kept_mask(r.rows)];
        }
        {
            recorder<int> r{3, {}};
            ungrouped_bounder<std::string, int> b(3);
            for (int i = 0; i < 10; ++i) {
                b.add("m", i, g);
                if (i % 2 == 0) b.add("a", 100 + i, g);
            }
            b.feed(r);
            REQUIRE(r.rows.size() == 6);
            ++ungrouped[kept_mask(r.rows)];
        }
        {
            // The unit's rows are spread over three shards (4 + 1 + 5 rows), bounded
            // apart and merged; one shard saw fewer rows than max_rows.
            recorder<int> r{3, {}};
            ungrouped_bounder<std::string, int> s1(3);
            ungrouped_bounder<std::string, int> s2(3);
            ungrouped_bounder<std::string, int> s3(3);
            for (int i = 0; i < 10; ++i) (i < 4 ? s1 : (i < 5 ? s2 : s3)).add("m", i, g);
            s2.add("b", 300, g);
            s1.merge(std::move(s2), g);
            s3.merge(std::move(s1), g);
            s3.feed(r);
            REQUIRE(r.rows.size() == 4);
            ++merged[kept_mask(r.rows)];
        }
    }
    for (const auto* counts : {&grouped, &ungrouped, &merged}) {
        for (const auto& c : *counts) REQUIRE(std::popcount(c.first) == 3);
        const double p = uniform_p_value(*counts, subsets);
        INFO("G-test p-value " << p);
        CHECK(p > dpkit_test::false_failure_rate);
    }
    const double p_same = homogeneity_p_value(grouped, ungrouped, subsets);
    INFO("grouped vs ungrouped homogeneity p-value " << p_same);
    CHECK(p_same > dpkit_test::false_failure_rate);
    const double p_merged = homogeneity_p_value(grouped, merged, subsets);
    INFO("grouped vs merged homogeneity p-value " << p_merged);
    CHECK(p_merged > dpkit_test::false_failure_rate);
}

TEST_CASE("bounding: positive controls, the same G-test flags biased bounders", "[aggregates][bounding][statistical]") {
    insecure_seeded_generator g(41);
    std::map<std::uint64_t, std::uint64_t> first;
    std::map<std::uint64_t, std::uint64_t> off_by_one;
    for (int t = 0; t < trials; ++t) {
        // "Keep the first max_rows rows".
        std::vector<int> kept_first{0, 1, 2};
        ++first[kept_mask(kept_first)];
        // Algorithm R with the classic off-by-one (j uniform below i rather than i + 1).
        std::vector<int> kept;
        for (int i = 0; i < 10; ++i) {
            if (i < 3) {
                kept.push_back(i);
            } else {
                const auto j = uniform_below(g, static_cast<std::uint64_t>(i));
                if (j < 3) kept[static_cast<std::size_t>(j)] = i;
            }
        }
        ++off_by_one[kept_mask(kept)];
    }
    CHECK(uniform_p_value(first, subsets) < dpkit_test::false_failure_rate);
    CHECK(uniform_p_value(off_by_one, subsets) < dpkit_test::false_failure_rate);
}

TEST_CASE("bounding: partitions and rows within them are chosen uniformly (L0 then Linf)",
          "[aggregates][bounding][partitions][statistical]") {
    // One unit sends rows 0..11 in partitions r % 4 (3 rows each, round robin);
    // L0 = 2, Linf = 1: each of C(4, 2) * 3 * 3 = 54 outcomes has probability 1/54.
    constexpr std::size_t outcomes = 54;
    constexpr int partition_trials = 16200;  // 300 expected per outcome
    const partition_caps caps{2, 1};
    insecure_seeded_generator g(51);
    const auto mask = [](const std::vector<std::pair<int, int>>& rows) {
        std::uint64_t m = 0;
        std::set<int> keys;
        for (const auto& [k, v] : rows) {
            if (v < 12) {
                m |= std::uint64_t{1} << v;
                keys.insert(k);
            }
        }
        REQUIRE(std::popcount(m) == 2);
        REQUIRE(keys.size() == 2);
        return m;
    };
    std::map<std::uint64_t, std::uint64_t> grouped;
    std::map<std::uint64_t, std::uint64_t> ungrouped;
    std::map<std::uint64_t, std::uint64_t> merged;
    std::map<std::uint64_t, std::uint64_t> first_seen;
    for (int t = 0; t < partition_trials; ++t) {
        {
            keyed_recorder r{2, 1, {}};
            grouped_partition_bounder<std::string, int, int> b(caps, unit_order::unchecked, r);
            b.add("before", 0, 100, g);
            for (int i = 0; i < 12; ++i) b.add("m", i % 4, i, g);
            b.add("after", 1, 101, g);
            b.finish(g);
            ++grouped[mask(r.rows)];
        }
        {
            keyed_recorder r{2, 1, {}};
            ungrouped_partition_bounder<std::string, int, int> b(caps);
            for (int i = 0; i < 12; ++i) {
                b.add("m", i % 4, i, g);
                b.add("other", i % 4, 100 + i, g);
            }
            b.feed(g, r);
            ++ungrouped[mask(r.rows)];
        }
        {
            keyed_recorder r{2, 1, {}};
            ungrouped_partition_bounder<std::string, int, int> s1(caps);
            ungrouped_partition_bounder<std::string, int, int> s2(caps);
            for (int i = 0; i < 12; ++i) (i < 7 ? s1 : s2).add("m", i % 4, i, g);
            s1.merge(std::move(s2), g);
            s1.feed(g, r);
            ++merged[mask(r.rows)];
        }
        // Positive control: the first two partitions seen, the first row of each.
        ++first_seen[mask({{0, 0}, {1, 1}})];
    }
    for (const auto* counts : {&grouped, &ungrouped, &merged}) {
        const double p = uniform_p_value(*counts, outcomes);
        INFO("G-test p-value " << p);
        CHECK(p > dpkit_test::false_failure_rate);
    }
    CHECK(homogeneity_p_value(grouped, ungrouped, outcomes) > dpkit_test::false_failure_rate);
    CHECK(uniform_p_value(first_seen, outcomes) < dpkit_test::false_failure_rate);
}

TEST_CASE("bounding: L0 and Linf caps hold per unit, with a projection to the accumulator's bins",
          "[aggregates][bounding][partitions]") {
    insecure_seeded_generator g(61);
    // Unit u sends, in partition k = 0..6, k + 1 rows: L0 = 3, Linf = 4.
    const partition_caps caps{3, 4};
    for (bool grouped : {true, false}) {
        keyed_recorder r{3, 4, {}};
        const auto check_unit = [&](const std::vector<std::pair<int, int>>& rows, int unit) {
            std::map<int, std::uint64_t> per_key;
            for (const auto& [k, v] : rows) {
                if (v / 100 == unit) ++per_key[k];
            }
            CHECK(per_key.size() == 3);
            for (const auto& [k, n] : per_key) CHECK(n == std::min<std::uint64_t>(static_cast<std::uint64_t>(k) + 1, 4));
        };
        if (grouped) {
            grouped_partition_bounder<int, int, int> b(caps, unit_order::ascending, r);
            for (int u = 0; u < 20; ++u) {
                for (int k = 0; k < 7; ++k) {
                    for (int i = 0; i <= k; ++i) b.add(u, k, 100 * u + i, g);
                }
            }
            b.finish(g);
        } else {
            ungrouped_partition_bounder<int, int, int> b(caps);
            for (int k = 0; k < 7; ++k) {
                for (int i = 0; i <= k; ++i) {
                    for (int u = 0; u < 20; ++u) b.add(u, k, 100 * u + i, g);
                }
            }
            b.feed(g, r);
        }
        for (int u = 0; u < 20; ++u) check_unit(r.rows, u);
    }

    // A histogram over numbers: partitions are its bins, not the distinct numbers.
    // One unit sends 1000 distinct numbers in bins 0..9; L0 = 2, Linf = 3.
    auto bins = [](double x) { return binned_histogram::bin(x); };
    binned_histogram h{2, 3, {}};
    grouped_partition_bounder<int, double, void, decltype(bins)> b({2, 3}, unit_order::ascending, bins, h);
    for (int i = 0; i < 1000; ++i) b.add(7, 0.1 * i, g);
    b.finish(g);
    CHECK(h.counts.size() == 2);
    for (const auto& [bin, n] : h.counts) CHECK(n == 3);
    binned_histogram h2{2, 3, {}};
    ungrouped_partition_bounder<int, double, void, decltype(bins)> u({2, 3}, bins);
    for (int i = 0; i < 1000; ++i) u.add(7, 0.1 * i, g);
    u.feed(g, h2);
    CHECK(h2.counts.size() == 2);
    for (const auto& [bin, n] : h2.counts) CHECK(n == 3);
}

TEST_CASE("bounding: the grouped shape's order contract", "[aggregates][bounding]") {
    insecure_seeded_generator g(71);
    {
        count c(2);
        grouped_bounder<int, double> b(2, unit_order::ascending, c);
        b.add(1, 0.0, g);
        b.add(3, 0.0, g);
        CHECK_THROWS_WITH(b.add(2, 0.0, g), "dpkit::grouped_bounder: grouped rows out of order: unit ids must strictly "
                                            "increase (unit_order::ascending)");
        b.add(3, 0.0, g);  // the refused row changed nothing: unit 3 continues
        b.add(3, 0.0, g);
        b.finish();
        CHECK(tail_u64(c.serialize()) == 3);  // one row of unit 1, two (the cap) of unit 3
    }
    {
        count c(2);
        grouped_bounder<std::string, double> b(2, unit_order::remembered, c);
        for (const char* u : {"bob", "alice", "carol"}) b.add(u, 0.0, g);
        CHECK_THROWS_WITH(b.add("alice", 0.0, g), "dpkit::grouped_bounder: grouped rows out of order: a unit reappeared "
                                                  "after another unit (unit_order::remembered)");
        b.finish();
        CHECK(tail_u64(c.serialize()) == 3);
        CHECK_THROWS_WITH(b.add("dave", 0.0, g), "dpkit::grouped_bounder: add after finish()");
        CHECK_THROWS_WITH(b.finish(), "dpkit::grouped_bounder: finish() called twice");
    }
    {
        // unchecked: the caller's contract. Broken, a reappearing unit is bounded
        // twice and contributes twice its cap (which is why the default choice matters).
        count c(2);
        grouped_bounder<std::string, double> b(2, unit_order::unchecked, c);
        for (int i = 0; i < 5; ++i) b.add("alice", 0.0, g);
        b.add("bob", 0.0, g);
        for (int i = 0; i < 5; ++i) b.add("alice", 0.0, g);
        b.finish();
        CHECK(tail_u64(c.serialize()) == 5);
    }
    {
        tiny_histogram h{1, 1, {}};
        grouped_partition_bounder<int, int> b({1, 1}, unit_order::ascending, h);
        b.add(5, 0, g);
        CHECK_THROWS_WITH(b.add(4, 0, g), "dpkit::grouped_partition_bounder: grouped rows out of order: unit ids must "
                                          "strictly increase (unit_order::ascending)");
    }
    count c(1);
    CHECK_THROWS_WITH((grouped_bounder<unordered_id, double>(1, unit_order::ascending, c)),
                      "dpkit::grouped_bounder: unit_order::ascending needs unit ids ordered by operator< (use "
                      "remembered or unchecked)");
    CHECK_NOTHROW((grouped_bounder<unordered_id, double>(1, unit_order::remembered, c)));
}

TEST_CASE("bounding: accumulators whose caps differ from the bounder's are refused", "[aggregates][bounding]") {
    insecure_seeded_generator g(81);
    count one;
    bounded_mean mean(bounds{0, 10}, nan_policy::reject, 4);
    CHECK_THROWS_WITH((grouped_bounder<int, double>(4, unit_order::ascending, mean, one)),
                      "dpkit::grouped_bounder: the accumulator's max_contributions must equal the bounder's max_rows = 4 "
                      "(got 1)");
    CHECK_THROWS_WITH((grouped_bounder<int, double>(0, unit_order::ascending)), "dpkit::grouped_bounder: max_rows must be >= 1 (got 0)");
    CHECK_THROWS_WITH((ungrouped_bounder<int, double>(0)), "dpkit::ungrouped_bounder: max_rows must be >= 1 (got 0)");

    ungrouped_bounder<int, double> b(4);
    for (int i = 0; i < 10; ++i) b.add(i % 3, 1.0, g);
    count four(4);
    CHECK_THROWS_WITH(b.feed(four, one), "dpkit::ungrouped_bounder: the accumulator's max_contributions must equal the "
                                         "bounder's max_rows = 4 (got 1)");
    CHECK(tail_u64(four.serialize()) == 0);  // nothing fed
    b.feed(four, mean);
    CHECK(tail_u64(four.serialize()) == 10);
    CHECK_THROWS_WITH(b.add(1, 1.0, g), "dpkit::ungrouped_bounder: add after feed(): the rows were already fed");
    CHECK_THROWS_WITH(b.feed(four), "dpkit::ungrouped_bounder: feed after feed(): the rows were already fed");
    ungrouped_bounder<int, double> other(3);
    ungrouped_bounder<int, double> four_rows(4);
    CHECK_THROWS_WITH(four_rows.merge(std::move(other), g),
                      "dpkit::ungrouped_bounder: cannot merge bounders with different max_rows (got 3)");

    tiny_histogram h{3, 2, {}};
    CHECK_THROWS_WITH((grouped_partition_bounder<int, int>({2, 2}, unit_order::ascending, h)),
                      "dpkit::grouped_partition_bounder: the accumulator's max_partitions must equal the bounder's "
                      "max_partitions = 2 (got 3)");
    CHECK_THROWS_WITH((grouped_partition_bounder<int, int>({3, 1}, unit_order::ascending, h)),
                      "dpkit::grouped_partition_bounder: the accumulator's max_per_partition must equal the bounder's "
                      "max_per_partition = 1 (got 2)");
    CHECK_THROWS_WITH((ungrouped_partition_bounder<int, int>({0, 1})),
                      "dpkit::ungrouped_partition_bounder: max_partitions must be >= 1 (got 0)");
    CHECK_THROWS_WITH((ungrouped_partition_bounder<int, int>({1, 0})),
                      "dpkit::ungrouped_partition_bounder: max_per_partition must be >= 1 (got 0)");
    ungrouped_partition_bounder<int, int> p({3, 1});
    p.add(1, 1, g);
    CHECK_THROWS_WITH(p.feed(g, h), "dpkit::ungrouped_partition_bounder: the accumulator's max_per_partition must equal "
                                    "the bounder's max_per_partition = 1 (got 2)");
    CHECK(h.counts.empty());
    ungrouped_partition_bounder<int, int> q({3, 2});
    CHECK_THROWS_WITH(p.merge(std::move(q), g),
                      "dpkit::ungrouped_partition_bounder: cannot merge bounders with different max_per_partition (got 2)");
}

TEST_CASE("bounding: merge of bounded shards", "[aggregates][bounding][merge]") {
    insecure_seeded_generator g(91);
    constexpr std::uint64_t cap = 4;
    std::mt19937_64 rng(92);
    std::vector<std::pair<std::string, double>> rows;  // unit u's rows all have value u % 7
    std::uint64_t bounded_rows = 0;
    for (int u = 0; u < 500; ++u) {
        const auto n = 1 + rng() % 12;
        bounded_rows += std::min<std::uint64_t>(n, cap);
        for (std::uint64_t i = 0; i < n; ++i) rows.emplace_back("user-" + std::to_string(u), u % 7);
    }
    std::shuffle(rows.begin(), rows.end(), rng);

    // One pass.
    count c(cap);
    bounded_sum<double> s(bounds{0, 10}, nan_policy::reject, cap);
    ungrouped_bounder<std::string, double> one(cap);
    for (const auto& [u, v] : rows) one.add(u, v, g);
    one.feed(c, s);
    CHECK(tail_u64(c.serialize()) == bounded_rows);
    bounded_sum<double> expected(bounds{0, 10}, nan_policy::reject, cap);
    {
        // Rebuild the expected exact sum from the per-unit truth.
        std::map<std::string, std::pair<std::uint64_t, double>> per_unit;
        for (const auto& [u, v] : rows) per_unit[u] = {per_unit[u].first + 1, v};
        for (const auto& [u, nv] : per_unit) {
            for (std::uint64_t i = 0; i < std::min<std::uint64_t>(nv.first, cap); ++i) expected.add(nv.second);
        }
    }
    CHECK(s.serialize() == expected.serialize());

    // Shards split by rows (a unit's rows in several shards): the shards' bounders
    // merge, and each unit still contributes at most max_rows.
    std::vector<ungrouped_bounder<std::string, double>> shards;
    for (int i = 0; i < 5; ++i) shards.emplace_back(cap);
    for (std::size_t i = 0; i < rows.size(); ++i) shards[rng() % shards.size()].add(rows[i].first, rows[i].second, g);
    for (std::size_t i = 1; i < shards.size(); ++i) shards[0].merge(std::move(shards[i]), g);
    count mc(cap);
    bounded_sum<double> ms(bounds{0, 10}, nan_policy::reject, cap);
    shards[0].feed(mc, ms);
    CHECK(mc.serialize() == c.serialize());
    CHECK(ms.serialize() == s.serialize());

    // Shards split by unit: each bounds its own units (grouped, streaming) into
    // its own accumulators, and the accumulators merge to the one-pass state.
    auto sorted = rows;
    std::sort(sorted.begin(), sorted.end());
    std::vector<count> counts(3, count(cap));
    std::vector<bounded_sum<double>> sums(3, bounded_sum<double>(bounds{0, 10}, nan_policy::reject, cap));
    {
        std::vector<grouped_bounder<std::string, double>> bounders;
        bounders.reserve(3);
        for (std::size_t i = 0; i < 3; ++i) bounders.emplace_back(cap, unit_order::ascending, counts[i], sums[i]);
        for (const auto& [u, v] : sorted) bounders[std::hash<std::string>{}(u) % 3].add(u, v, g);
        for (auto& b : bounders) b.finish();
    }
    for (std::size_t i = 1; i < 3; ++i) {
        counts[0].merge(counts[i]);
        sums[0].merge(sums[i]);
    }
    CHECK(counts[0].serialize() == c.serialize());
    CHECK(sums[0].serialize() == s.serialize());

    // Partitioned shards split by rows merge too.
    tiny_histogram h1{2, 1, {}};
    tiny_histogram h2{2, 1, {}};
    ungrouped_partition_bounder<std::string, int> a({2, 1});
    ungrouped_partition_bounder<std::string, int> b({2, 1});
    for (int i = 0; i < 100; ++i) (i % 2 ? a : b).add("u", i % 5, g);
    a.merge(std::move(b), g);
    a.feed(g, h1);
    CHECK(h1.counts.size() == 2);
    for (const auto& [k, n] : h1.counts) CHECK(n == 1);
    CHECK_THROWS_WITH(a.feed(g, h2), "dpkit::ungrouped_partition_bounder: feed after feed(): the rows were already fed");
}
