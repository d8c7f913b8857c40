// histogram and category_histogram: shard independence, bin rules, refusals,
// serialization, sensitivity, interval coverage and post-processing.
#include <dpkit/aggregates.hpp>
#include <dpkit/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <forward_list>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "../support/dpkit_catch.hpp"

using namespace dpkit;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// The exact counts at the end of a serialized state (one little-endian u64 per cell).
std::vector<std::uint64_t> counts_of(const std::vector<std::byte>& bytes, std::size_t cells) {
    std::vector<std::uint64_t> out(cells, 0);
    const std::size_t start = bytes.size() - 8 * cells;
    for (std::size_t i = 0; i < cells; ++i) {
        for (int b = 0; b < 8; ++b) {
            out[i] |= static_cast<std::uint64_t>(bytes[start + 8 * i + static_cast<std::size_t>(b)]) << (8 * b);
        }
    }
    return out;
}

std::vector<double> uniform_edges(double lo, double width, int bins) {
    std::vector<double> e;
    for (int i = 0; i <= bins; ++i) e.push_back(lo + i * width);
    return e;
}

// Values over and beyond [-10, 110], with edges, their neighbours, infinities and NaN.
std::vector<double> mixed_values(std::size_t n, std::uint64_t seed, const std::vector<double>& edges, bool with_nan) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-10, 110);
    std::vector<double> v(n);
    for (auto& x : v) x = u(rng);
    std::size_t i = 0;
    for (double e : edges) {
        v[i++] = e;
        v[i++] = std::nextafter(e, -inf);
        v[i++] = std::nextafter(e, inf);
    }
    v[i++] = inf;
    v[i++] = -inf;
    v[i++] = 1e300;
    if (with_nan) v[i++] = std::nan("");
    std::shuffle(v.begin(), v.end(), rng);
    return v;
}

// The bin of x by definition: [e_i, e_{i+1}), the last bin closed, -1 below, bins above.
long reference_bin(const std::vector<double>& e, double x) {
    const long bins = static_cast<long>(e.size()) - 1;
    if (x < e.front()) return -1;
    if (x > e.back()) return bins;
    for (long i = 0; i < bins; ++i) {
        if (e[static_cast<std::size_t>(i)] <= x && x < e[static_cast<std::size_t>(i) + 1]) return i;
    }
    return bins - 1;  // x == last edge
}

struct colour {
    int r, g, b;
    friend bool operator==(const colour&, const colour&) = default;
};

}  // namespace

template <>
struct std::hash<colour> {
    std::size_t operator()(const colour& c) const noexcept {
        return std::hash<int>{}(c.r * 65536 + c.g * 256 + c.b);
    }
};

template <class H>
concept serializable = requires(const H& h) { h.serialize(); };
struct opaque {
    int id;
};
static_assert(category_key<std::string> && category_key<int> && category_key<colour>);
static_assert(!category_key<opaque>);  // neither ordered nor hashable
static_assert(serializable<category_histogram<std::string>> && serializable<category_histogram<double>>);
static_assert(!serializable<category_histogram<colour>>);  // other key types: documented limitation

TEST_CASE("histogram: merge(split(D)) equals one pass byte for byte, for 1..16 random shards", "[aggregates][histogram]") {
    const std::vector<std::vector<double>> edge_sets = {
        uniform_edges(0, 1, 100),                              // equally spaced, exact
        uniform_edges(0, 0.1, 10),                             // equally spaced, inexact decimals
        {-5, 0, 0.5, 1, 2, 4, 8, 16, 32, 64, 100},             // binary search
    };
    std::mt19937_64 rng(11);
    for (const auto& edges : edge_sets) {
        for (auto outliers : {histogram_outliers::clamp, histogram_outliers::separate_bins}) {
            const auto values = mixed_values(4000, rng(), edges, true);
            histogram one(edges, nan_policy::drop, outliers, 3, 2);
            one.add(values);
            const auto reference = one.serialize();
            // One row at a time gives the same state as a whole range.
            histogram rows(edges, nan_policy::drop, outliers, 3, 2);
            for (double x : values) rows.add(x);
            CHECK(rows.serialize() == reference);
            for (int trial = 0; trial < 20; ++trial) {
                const std::size_t shards = 1 + rng() % 16;
                std::vector<histogram> parts(shards, histogram(edges, nan_policy::drop, outliers, 3, 2));
                std::vector<std::vector<double>> chunks(shards);
                for (double x : values) chunks[rng() % shards].push_back(x);
                for (std::size_t s = 0; s < shards; ++s) {
                    if (s % 2 == 0) {
                        parts[s].add(chunks[s]);
                    } else {
                        for (double x : chunks[s]) parts[s].add(x);
                    }
                }
                histogram merged(edges, nan_policy::drop, outliers, 3, 2);
                for (const auto& p : parts) merged.merge(p);
                CHECK(merged.serialize() == reference);
            }
            CHECK(histogram::deserialize(reference).serialize() == reference);
        }
    }
    // category_histogram, the same way (strings and integers).
    const std::vector<std::string> names = {"oak", "ash", "elm", "yew", "fir"};
    std::vector<std::string> trees;
    std::vector<int> codes;
    for (int i = 0; i < 3000; ++i) {
        trees.push_back(i % 97 == 0 ? std::string("palm") : names[rng() % names.size()]);
        codes.push_back(static_cast<int>(rng() % 7) - 1);
    }
    category_histogram<std::string> one(names, undeclared_category::drop, 2, 1);
    one.add(trees);
    category_histogram<int> one_code({5, 4, 3, 2, 1, 0}, undeclared_category::drop);
    one_code.add(codes);
    for (int trial = 0; trial < 20; ++trial) {
        const std::size_t shards = 1 + rng() % 16;
        std::vector<category_histogram<std::string>> parts(shards, category_histogram<std::string>(names, undeclared_category::drop, 2, 1));
        std::vector<category_histogram<int>> code_parts(shards, category_histogram<int>({5, 4, 3, 2, 1, 0}, undeclared_category::drop));
        for (std::size_t i = 0; i < trees.size(); ++i) {
            parts[rng() % shards].add(trees[i]);
            code_parts[rng() % shards].add(codes[i]);
        }
        category_histogram<std::string> merged(names, undeclared_category::drop, 2, 1);
        category_histogram<int> merged_code({5, 4, 3, 2, 1, 0}, undeclared_category::drop);
        for (std::size_t s = 0; s < shards; ++s) {
            merged.merge(parts[s]);
            merged_code.merge(code_parts[s]);
        }
        CHECK(merged.serialize() == one.serialize());
        CHECK(merged_code.serialize() == one_code.serialize());
    }
    CHECK(category_histogram<std::string>::deserialize(one.serialize()).serialize() == one.serialize());
    CHECK(category_histogram<int>::deserialize(one_code.serialize()).serialize() == one_code.serialize());
}

TEST_CASE("histogram: every value lands in the bin its edges define, out-of-range values by the rule", "[aggregates][histogram]") {
    std::vector<double> jittered;  // within half a bin of equal spacing
    for (int i = 0; i <= 50; ++i) jittered.push_back(i + 0.45 * std::sin(i));
    const std::vector<std::vector<double>> edge_sets = {
        uniform_edges(0, 0.1, 10), uniform_edges(-3, 0.25, 16), uniform_edges(1e6, 1e-3, 7),
        uniform_edges(1e15, 1, 9),   // the guess rounds coarsely
        jittered,
        {-1, 0, 1e-300, 1, 3, 7, 7.5, 100},
        {0, 5e-324, 1e-323},         // a subnormal width: the scale overflows
        {-1e308, 0, 1e308},          // the span overflows
        {0, 1},                      // one bin
    };
    std::mt19937_64 rng(12);
    for (const auto& e : edge_sets) {
        const std::size_t bins = e.size() - 1;
        std::vector<double> probes;
        std::uniform_real_distribution<double> u(e.front() - 1, e.back() + 1);
        for (int i = 0; i < 2000; ++i) probes.push_back(u(rng));
        for (double x : e) {
            probes.push_back(x);
            probes.push_back(std::nextafter(x, -inf));
            probes.push_back(std::nextafter(x, inf));
        }
        probes.push_back(inf);
        probes.push_back(-inf);
        for (double x : probes) {
            const long ref = reference_bin(e, x);
            histogram clamped(e);
            histogram separate(e, nan_policy::reject, histogram_outliers::separate_bins);
            clamped.add(x);
            separate.add(x);
            std::vector<std::uint64_t> want_clamped(bins, 0);
            std::vector<std::uint64_t> want_separate(bins + 2, 0);
            want_clamped[static_cast<std::size_t>(std::clamp<long>(ref, 0, static_cast<long>(bins) - 1))] = 1;
            want_separate[static_cast<std::size_t>(ref + 1)] = 1;
            INFO("x = " << x);
            CHECK(counts_of(clamped.serialize(), bins) == want_clamped);
            CHECK(counts_of(separate.serialize(), bins + 2) == want_separate);
        }
        // The same probes as one range (the counting loop), repeated to be long enough.
        std::vector<double> many;
        while (many.size() < 40 * (bins + 2)) many.insert(many.end(), probes.begin(), probes.end());
        std::vector<std::uint64_t> want_clamped(bins, 0);
        std::vector<std::uint64_t> want_separate(bins + 2, 0);
        for (double x : many) {
            const long ref = reference_bin(e, x);
            ++want_clamped[static_cast<std::size_t>(std::clamp<long>(ref, 0, static_cast<long>(bins) - 1))];
            ++want_separate[static_cast<std::size_t>(ref + 1)];
        }
        histogram clamped(e);
        histogram separate(e, nan_policy::reject, histogram_outliers::separate_bins);
        clamped.add(many);
        separate.add(std::span<const double>(many));
        INFO("edges from " << e.front() << " to " << e.back());
        CHECK(counts_of(clamped.serialize(), bins) == want_clamped);
        CHECK(counts_of(separate.serialize(), bins + 2) == want_separate);
    }
    // NaN: rejected with its message (nothing counted), or dropped (counted nowhere).
    histogram h({0, 1, 2});
    CHECK_THROWS_WITH(h.add(std::nan("")), "dpkit::histogram: value must not be NaN (nan_policy::reject) (got nan)");
    histogram d({0, 1, 2}, nan_policy::drop, histogram_outliers::separate_bins);
    d.add(std::nan(""));
    d.add(std::vector<double>{std::nan(""), 0.5, std::nan("")});
    CHECK(counts_of(d.serialize(), 4) == std::vector<std::uint64_t>{0, 1, 0, 0});
    CHECK(h.cells() == 2);
    CHECK(d.cells() == 4);
    CHECK(d.bins() == 2);
}

TEST_CASE("histogram: adding a range is all or nothing", "[aggregates][histogram]") {
    // Short ranges, and the counting loops for equally spaced and other edges.
    std::vector<double> uneven = {0, 1.6, 2, 3, 4, 5, 6, 7, 8, 9, 10};  // too uneven for the arithmetic guess
    for (const auto& edges : {uniform_edges(0, 1, 10), uneven}) {
        for (std::size_t size : {std::size_t{3}, std::size_t{500}}) {
            histogram h(edges);
            h.add(std::vector<double>{1.5, 2.5});
            const auto before = h.serialize();
            std::vector<double> rows(size, 4.5);
            rows[size / 2] = std::nan("");
            CHECK_THROWS_WITH(h.add(rows), "dpkit::histogram: value must not be NaN (nan_policy::reject) (got nan)");
            CHECK(h.serialize() == before);
            rows[size / 2] = 4.5;
            h.add(rows);
            CHECK(counts_of(h.serialize(), 10)[4] == size);
            histogram d(edges, nan_policy::drop);
            rows[0] = std::nan("");
            rows[size - 1] = std::nan("");
            d.add(rows);
            CHECK(counts_of(d.serialize(), 10) == std::vector<std::uint64_t>{0, 0, 0, 0, size - 2, 0, 0, 0, 0, 0});
        }
    }
    category_histogram<std::string> c({"a", "b"});
    c.add("a");
    const auto before = c.serialize();
    CHECK_THROWS_WITH(c.add(std::vector<std::string>{"a", "z", "b"}),
                      "dpkit::category_histogram: value is not a declared category (undeclared_category::reject)");
    CHECK(c.serialize() == before);
    // Non-sized ranges and ranges of convertible values.
    histogram f(uniform_edges(0, 1, 4));
    const std::forward_list<int> ints = {0, 2, 4, 6};
    static_assert(!std::ranges::sized_range<const std::forward_list<int>&>);
    f.add(ints);
    CHECK(counts_of(f.serialize(), 4) == std::vector<std::uint64_t>{1, 0, 1, 2});
    c.add(std::vector<const char*>{"b", "b"});
    CHECK(counts_of(c.serialize(), 2) == std::vector<std::uint64_t>{1, 2});
}

TEST_CASE("category_histogram: declared categories, undeclared values by the rule, any key type", "[aggregates][histogram]") {
    category_histogram<std::string> c({"red", "green", "blue"});
    c.add("green");
    c.add(std::string("blue"));
    c.add(std::vector<std::string>{"blue", "red", "blue"});
    CHECK(counts_of(c.serialize(), 3) == std::vector<std::uint64_t>{1, 1, 3});
    CHECK_THROWS_WITH(c.add("purple"), "dpkit::category_histogram: value is not a declared category (undeclared_category::reject)");
    CHECK_THROWS_WITH(c.add("Red"), "dpkit::category_histogram: value is not a declared category (undeclared_category::reject)");
    category_histogram<std::string> dropping({"red", "green", "blue"}, undeclared_category::drop);
    dropping.add(std::vector<std::string>{"purple", "red", "", "green "});
    CHECK(counts_of(dropping.serialize(), 3) == std::vector<std::uint64_t>{1, 0, 0});
    // Doubles: NaN is never a category; 0 and -0 are the same category.
    category_histogram<double> real({0.5, -0.0, inf}, undeclared_category::drop);
    real.add(std::vector<double>{0.0, -0.0, std::nan(""), inf, -inf, 0.5});
    CHECK(counts_of(real.serialize(), 3) == std::vector<std::uint64_t>{1, 2, 1});
    CHECK_THROWS_WITH(category_histogram<double>({1.0, std::nan("")}), "dpkit::category_histogram: categories must not be NaN");
    // A hashable, unordered key type; a large ordered one (lookups are not linear scans).
    category_histogram<colour> paint({{255, 0, 0}, {0, 255, 0}});
    paint.add(colour{0, 255, 0});
    CHECK_THROWS_AS(paint.add(colour{1, 2, 3}), dpkit::invalid_argument);
    CHECK_THROWS_WITH(category_histogram<colour>({{1, 1, 1}, {1, 1, 1}}), "dpkit::category_histogram: categories must be distinct");
    std::vector<std::int64_t> many(200000);
    std::iota(many.rbegin(), many.rend(), std::int64_t{-100000});
    category_histogram<std::int64_t> big(many);
    std::vector<std::int64_t> rows(400000);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i % 200000) - 100000;
    big.add(rows);
    const auto counts = counts_of(big.serialize(), many.size());
    CHECK(std::all_of(counts.begin(), counts.end(), [](std::uint64_t n) { return n == 2; }));
    CHECK(big.categories().front() == 99999);
}

TEST_CASE("histograms refuse bad parameters, mismatched merges and reuse after release", "[aggregates][histogram][errors]") {
    CHECK_THROWS_WITH(histogram({1.0}), "dpkit::histogram: edges must hold at least 2 values (got 1)");
    CHECK_THROWS_WITH(histogram({0, 1, 1}), "dpkit::histogram: edges must be strictly increasing (got 1)");
    CHECK_THROWS_WITH(histogram({0, 2, 1}), "dpkit::histogram: edges must be strictly increasing (got 1)");
    CHECK_THROWS_WITH(histogram({-0.0, 0.0}), "dpkit::histogram: edges must be strictly increasing (got 0)");
    CHECK_THROWS_WITH(histogram({0, inf}), "dpkit::histogram: edges must be finite (got inf)");
    CHECK_THROWS_WITH(histogram({std::nan(""), 1}), "dpkit::histogram: edges must be finite (got nan)");
    CHECK_THROWS_WITH(histogram({0, 1}, nan_policy::reject, histogram_outliers::clamp, 0),
                      "dpkit::histogram: max_partitions must be >= 1 (got 0)");
    CHECK_THROWS_WITH(histogram({0, 1}, nan_policy::reject, histogram_outliers::clamp, 1, 0),
                      "dpkit::histogram: max_per_partition must be >= 1 (got 0)");
    CHECK_THROWS_WITH(histogram({0, 1}, nan_policy::reject, static_cast<histogram_outliers>(7)),
                      "dpkit::histogram: unknown histogram_outliers");
    CHECK_THROWS_WITH(histogram({0, 1}, static_cast<nan_policy>(5)), "dpkit::histogram: unknown nan_policy");
    CHECK_THROWS_WITH(category_histogram<int>({1}, static_cast<undeclared_category>(5)),
                      "dpkit::category_histogram: unknown undeclared_category");
    CHECK_THROWS_WITH(category_histogram<int>({}), "dpkit::category_histogram: categories must not be empty");
    CHECK_THROWS_WITH(category_histogram<int>({3, 1, 3}), "dpkit::category_histogram: categories must be distinct (got 3)");
    CHECK_THROWS_WITH(category_histogram<std::string>({"x", "y", "x"}),
                      "dpkit::category_histogram: categories must be distinct (got \"x\")");
    CHECK_THROWS_WITH(category_histogram<int>({1}, undeclared_category::drop, 0),
                      "dpkit::category_histogram: max_partitions must be >= 1 (got 0)");

    histogram h({0, 1, 2});
    CHECK_THROWS_WITH(h.merge(histogram({0, 1, 3})), "dpkit::histogram: cannot merge histograms with different edges");
    CHECK_THROWS_WITH(h.merge(histogram({0, 1, 2}, nan_policy::drop)), "dpkit::histogram: cannot merge histograms with different nan_policy");
    CHECK_THROWS_WITH(h.merge(histogram({0, 1, 2}, nan_policy::reject, histogram_outliers::separate_bins)),
                      "dpkit::histogram: cannot merge histograms with different histogram_outliers");
    CHECK_THROWS_WITH(h.merge(histogram({0, 1, 2}, nan_policy::reject, histogram_outliers::clamp, 2)),
                      "dpkit::histogram: cannot merge histograms with different max_partitions (got 2)");
    CHECK_THROWS_WITH(h.merge(histogram({0, 1, 2}, nan_policy::reject, histogram_outliers::clamp, 1, 5)),
                      "dpkit::histogram: cannot merge histograms with different max_per_partition (got 5)");
    category_histogram<int> c({1, 2});
    CHECK_THROWS_WITH(c.merge(category_histogram<int>({2, 1})), "dpkit::category_histogram: cannot merge histograms with different categories");
    CHECK_THROWS_WITH(c.merge(category_histogram<int>({1, 2}, undeclared_category::drop)),
                      "dpkit::category_histogram: cannot merge histograms with different undeclared_category rules");
    CHECK_THROWS_WITH(c.merge(category_histogram<int>({1, 2}, undeclared_category::reject, 1, 2)),
                      "dpkit::category_histogram: cannot merge histograms with different max_per_partition (got 2)");

    accountant<basic_composition> acct(approx_dp{1, 0}, "study");
    insecure_seeded_generator g(4);
    h.add(0.5);
    const auto before = h.serialize();
    CHECK_THROWS_WITH(h.release(acct, laplace_noise{epsilon{0.5}}, 1.5, g, "bad level"), "dpkit::release: level must be in (0, 1) (got 1.5)");
    CHECK_THROWS_WITH(h.release(acct, laplace_noise{epsilon{0.5}}, 0.9, g, "bad", static_cast<histogram_postprocessing>(9)),
                      "dpkit::histogram: unknown histogram_postprocessing");
    CHECK_THROWS_WITH(h.release(acct, laplace_noise{epsilon{0.5}}, 0.9, g, "bad", histogram_postprocessing::none,
                                static_cast<histogram_coverage>(9)),
                      "dpkit::histogram: unknown histogram_coverage");
    CHECK_THROWS_WITH(h.noise_interval(laplace_noise{epsilon{0.5}}, 1 - 1e-16, histogram_coverage::simultaneous),
                      "dpkit::histogram: level too close to 1 for simultaneous coverage: (1 - level) / counts must be >= 2^-53 (got 0.9999999999999999)");
    CHECK_THROWS_AS(h.release(acct, laplace_noise{epsilon{-1}}, 0.9, g, "negative"), dpkit::invalid_argument);
    CHECK(h.serialize() == before);
    CHECK(acct.ledger().empty());
    (void)h.release(acct, laplace_noise{epsilon{0.5}}, 0.95, g, "histogram");
    CHECK(h.is_released());
    CHECK_THROWS_WITH(h.add(0.5), "dpkit::histogram: add after release: the histogram was already released");
    CHECK_THROWS_WITH(h.add(std::vector<double>{0.5}), "dpkit::histogram: add after release: the histogram was already released");
    CHECK_THROWS_WITH(h.merge(histogram({0, 1, 2})), "dpkit::histogram: merge after release: the histogram was already released");
    CHECK_THROWS_WITH(h.release(acct, laplace_noise{epsilon{0.1}}, 0.95, g, "again"),
                      "dpkit::histogram: release after release: the histogram was already released");
    histogram other({0, 1, 2});
    CHECK_THROWS_WITH(other.merge(h), "dpkit::histogram: cannot merge a state that was already released");
    CHECK_THROWS_WITH(histogram::deserialize(h.serialize()), "dpkit::histogram: the state was already released and cannot be used again");
    (void)c.release(acct, laplace_noise{epsilon{0.5}}, 0.95, g, "categories");
    CHECK_THROWS_WITH(c.add(1), "dpkit::category_histogram: add after release: the histogram was already released");
    CHECK_THROWS_WITH(category_histogram<int>::deserialize(c.serialize()),
                      "dpkit::category_histogram: the state was already released and cannot be used again");
    CHECK(acct.ledger().size() == 2);  // the failed calls spent nothing
}

TEST_CASE("histogram serialization: layout, round trip and refusal of untrustworthy states", "[aggregates][histogram][serialization]") {
    histogram h({-1, 0, 2.5}, nan_policy::drop, histogram_outliers::separate_bins, 2, 3);
    h.add(std::vector<double>{-5, 0.5, 1, 3, 2.5});
    const auto bytes = h.serialize();
    // Header (8) | L0 | Linf | nan | outliers | edge count | 3 edges | 4 counts.
    REQUIRE(bytes.size() == 8 + 8 + 8 + 1 + 1 + 8 + 3 * 8 + 4 * 8);
    CHECK(std::to_integer<int>(bytes[6]) == 6);  // aggregate_kind::histogram
    CHECK(std::to_integer<int>(bytes[8]) == 2);
    CHECK(std::to_integer<int>(bytes[16]) == 3);
    CHECK(std::to_integer<int>(bytes[24]) == 1);  // nan_policy::drop
    CHECK(std::to_integer<int>(bytes[25]) == 1);  // separate_bins
    CHECK(std::to_integer<int>(bytes[26]) == 3);
    CHECK(std::to_integer<int>(bytes[41]) == 0xBF);  // top byte of -1.0
    CHECK(counts_of(bytes, 4) == std::vector<std::uint64_t>{1, 0, 3, 1});
    const auto back = histogram::deserialize(bytes);
    CHECK(back.serialize() == bytes);
    CHECK(back.max_partitions() == 2);
    CHECK(back.max_per_partition() == 3);
    CHECK(back.outliers() == histogram_outliers::separate_bins);
    CHECK(back.nan() == nan_policy::drop);

    auto corrupt = [&](std::size_t at, std::uint8_t v) {
        auto b = bytes;
        b[at] = std::byte{v};
        return b;
    };
    auto truncated = bytes;
    truncated.pop_back();
    CHECK_THROWS_WITH(histogram::deserialize(truncated), "dpkit::histogram: malformed state (truncated)");
    auto longer = bytes;
    longer.push_back(std::byte{0});
    CHECK_THROWS_WITH(histogram::deserialize(longer), "dpkit::histogram: malformed state (trailing bytes)");
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(0, 'X')), "dpkit::histogram: not a dpkit aggregate state (bad magic bytes)");
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(4, 9)), "dpkit::histogram: unsupported serialization format version (got 9)");
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(7, 2)), "dpkit::histogram: malformed state (bad released flag)");
    CHECK_THROWS_WITH(category_histogram<int>::deserialize(bytes), "dpkit::category_histogram: the state is of another aggregate kind (got 6)");
    CHECK_THROWS_WITH(count::deserialize(bytes), "dpkit::count: the state is of another aggregate kind (got 6)");
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(8, 0)), "dpkit::histogram: max_partitions must be >= 1 (got 0)");
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(16, 0)), "dpkit::histogram: max_per_partition must be >= 1 (got 0)");
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(24, 2)), "dpkit::histogram: malformed state (bad nan_policy)");
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(25, 2)), "dpkit::histogram: malformed state (bad histogram_outliers)");
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(26, 1)), "dpkit::histogram: edges must hold at least 2 values (got 1)");
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(26, 200)), "dpkit::histogram: malformed state (truncated)");
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(33, 0xFF)), "dpkit::histogram: malformed state (truncated)");  // 2^56 edges
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(41, 0x40)), "dpkit::histogram: edges must be strictly increasing (got 0)");
    auto nan_edge = corrupt(57, 0x7F);
    nan_edge[56] = std::byte{0xF8};  // the last edge becomes NaN
    CHECK_THROWS_WITH(histogram::deserialize(nan_edge), "dpkit::histogram: edges must be finite (got nan)");
    CHECK_THROWS_WITH(histogram::deserialize(corrupt(bytes.size() - 1, 0x40)),
                      "dpkit::histogram: malformed state (a bin count exceeds 2^62)");
    auto at_cap = corrupt(bytes.size() - 1, 0x40);  // the last count is exactly 2^62: accepted
    for (std::size_t i = bytes.size() - 8; i < bytes.size() - 1; ++i) at_cap[i] = std::byte{0};
    auto full = histogram::deserialize(at_cap);
    CHECK_THROWS_AS(full.merge(h), dpkit::overflow_error);
    CHECK(full.serialize() == at_cap);  // the refused merge changed nothing

    category_histogram<std::string> c({"elan", "", "x"}, undeclared_category::drop, 1, 4);
    c.add(std::vector<std::string>{"x", "", "x"});
    const auto cb = c.serialize();
    CHECK(std::to_integer<int>(cb[6]) == 7);  // aggregate_kind::category_histogram
    CHECK(category_histogram<std::string>::deserialize(cb).serialize() == cb);
    CHECK(category_histogram<std::string>::deserialize(cb).categories() == c.categories());
    CHECK_THROWS_WITH(category_histogram<int>::deserialize(cb), "dpkit::category_histogram: the state's categories are of another type");
    CHECK_THROWS_WITH(category_histogram<std::int64_t>::deserialize(category_histogram<int>({1}).serialize()),
                      "dpkit::category_histogram: the state's categories are of another type");
    auto bad_rule = cb;
    bad_rule[24] = std::byte{5};
    CHECK_THROWS_WITH(category_histogram<std::string>::deserialize(bad_rule), "dpkit::category_histogram: malformed state (bad undeclared_category)");
    category_histogram<std::string> pair({"ab", "ac"});
    auto pb = pair.serialize();
    pb[54] = std::byte{'b'};  // the second key becomes "ab"
    CHECK_THROWS_WITH(category_histogram<std::string>::deserialize(pb),
                      "dpkit::category_histogram: categories must be distinct (got \"ab\")");
    pb = pair.serialize();
    pb[45] = std::byte{200};  // the second key's length runs past the end
    CHECK_THROWS_WITH(category_histogram<std::string>::deserialize(pb), "dpkit::category_histogram: malformed state (truncated)");
    category_histogram<std::int8_t> small({-128, 127});
    auto sb = small.serialize();
    sb[44] = std::byte{0x01};  // the second key becomes 383, out of int8's range
    CHECK_THROWS_WITH(category_histogram<std::int8_t>::deserialize(sb),
                      "dpkit::category_histogram: malformed state (a category is out of its type's range)");
    category_histogram<float> floats({1.5f});
    auto fb = floats.serialize();
    fb[42] = std::byte{0x7E};  // 1.5 becomes about 2^1000, beyond float
    CHECK_THROWS_WITH(category_histogram<float>::deserialize(fb),
                      "dpkit::category_histogram: malformed state (a category is out of its type's range)");
    CHECK(category_histogram<float>::deserialize(floats.serialize()).categories() == std::vector<float>{1.5f});
    category_histogram<bool> flags({true, false});
    flags.add(std::vector<bool>{true, true, false});
    CHECK(category_histogram<bool>::deserialize(flags.serialize()).serialize() == flags.serialize());
    CHECK(counts_of(flags.serialize(), 2) == std::vector<std::uint64_t>{2, 1});
    category_histogram<char> letters({'a', 'z'});
    letters.add('z');
    CHECK(category_histogram<char>::deserialize(letters.serialize()).serialize() == letters.serialize());
    category_histogram<int> dup({1, 2});
    auto db = dup.serialize();
    db[43] = std::byte{1};  // the second key becomes 1
    CHECK_THROWS_WITH(category_histogram<int>::deserialize(db), "dpkit::category_histogram: categories must be distinct (got 1)");
}

TEST_CASE("histogram: one unit with max_partitions x max_per_partition rows moves the counts by at most L1 and L2",
          "[aggregates][histogram][sensitivity]") {
    std::mt19937_64 rng(21);
    const std::vector<double> edges = uniform_edges(0, 1, 8);
    for (auto outliers : {histogram_outliers::clamp, histogram_outliers::separate_bins}) {
        for (auto [l0, linf] : {std::pair<std::uint64_t, std::uint64_t>{1, 1}, {3, 2}, {5, 7}, {20, 3}}) {
            histogram base(edges, nan_policy::reject, outliers, l0, linf);
            const std::size_t cells = base.cells();
            const std::uint64_t touched = std::min<std::uint64_t>(l0, cells);
            CHECK(base.max_partitions() == l0);
            CHECK(base.max_per_partition() == linf);
            CHECK(base.l1_sensitivity() == static_cast<double>(touched * linf));
            CHECK(base.l2_sensitivity() >= std::sqrt(static_cast<double>(touched)) * static_cast<double>(linf));
            CHECK(base.l2_sensitivity() <= std::sqrt(static_cast<double>(touched)) * static_cast<double>(linf) * (1 + 1e-15));
            base.add(mixed_values(300, rng(), edges, false));
            for (int trial = 0; trial < 50; ++trial) {
                // A unit within its caps: max_per_partition rows in each of
                // max_partitions distinct cells (all of them if there are fewer).
                std::vector<std::size_t> order(cells);
                std::iota(order.begin(), order.end(), std::size_t{0});
                std::shuffle(order.begin(), order.end(), rng);
                histogram with_unit = histogram::deserialize(base.serialize());
                for (std::uint64_t p = 0; p < touched; ++p) {
                    const std::size_t cell = order[p];
                    double x = static_cast<double>(cell) + 0.5;
                    if (outliers == histogram_outliers::separate_bins) {
                        x = cell == 0 ? -50.0 : (cell == cells - 1 ? inf : static_cast<double>(cell - 1) + 0.5);
                    }
                    std::vector<double> rows(linf, x);
                    if (trial % 2 == 0) {
                        with_unit.add(rows);
                    } else {
                        for (double r : rows) with_unit.add(r);
                    }
                }
                const auto a = counts_of(base.serialize(), cells);
                const auto b = counts_of(with_unit.serialize(), cells);
                double l1 = 0;
                double l2 = 0;
                for (std::size_t i = 0; i < cells; ++i) {
                    const double d = static_cast<double>(b[i] - a[i]);
                    l1 += d;
                    l2 += d * d;
                }
                INFO("L0 " << l0 << " Linf " << linf << " cells " << cells);
                // The declared sensitivities bound the change, and this unit reaches them.
                CHECK(l1 == base.l1_sensitivity());
                CHECK(std::sqrt(l2) <= base.l2_sensitivity());
                CHECK(std::sqrt(l2) >= base.l2_sensitivity() * (1 - 1e-15));
            }
        }
    }
    category_histogram<int> c({1, 2, 3, 4}, undeclared_category::reject, 2, 5);
    CHECK(c.l1_sensitivity() == 10);
    CHECK(c.l2_sensitivity() == dpkit_test::approx(std::sqrt(2.0) * 5).epsilon(1e-15));
    category_histogram<int> capped({1, 2}, undeclared_category::reject, 9, 5);
    CHECK(capped.l1_sensitivity() == 10);  // a unit cannot change more counts than there are
}

TEST_CASE("histogram: noise is calibrated to L1 (Laplace) and L2 (Gaussian), one ledger line for the vector",
          "[aggregates][histogram][accountant]") {
    const std::vector<double> edges = uniform_edges(0, 1, 6);
    const double level = 0.9;
    for (auto [l0, linf] : {std::pair<std::uint64_t, std::uint64_t>{1, 1}, {1, 4}, {3, 2}, {6, 1}}) {
        histogram h(edges, nan_policy::reject, histogram_outliers::clamp, l0, linf);
        const double l1 = static_cast<double>(l0 * linf);
        const double l2 = detail::mul_up(detail::sqrt_up(static_cast<double>(l0)), static_cast<double>(linf));
        INFO("L0 " << l0 << " Linf " << linf);
        const auto lap = l0 == 1 ? laplace_mechanism<std::int64_t>(epsilon{0.7}, l1_sensitivity{l1})
                                 : laplace_mechanism<std::int64_t>(epsilon{0.7}, l1_sensitivity{l1}, dimension{6});
        const auto gau = l0 == 1 ? gaussian_mechanism<std::int64_t>(epsilon{0.7}, delta{1e-6}, l2_sensitivity{l2})
                                 : gaussian_mechanism<std::int64_t>(epsilon{0.7}, delta{1e-6}, l2_sensitivity{l2}, dimension{6});
        CHECK(h.noise_interval(laplace_noise{epsilon{0.7}}, level).upper == confidence_interval(lap, level).upper);
        CHECK(h.noise_interval(gaussian_noise{epsilon{0.7}, delta{1e-6}}, level).upper == confidence_interval(gau, level).upper);
        // The whole vector costs the mechanism's cost once.
        accountant<basic_composition> basic(approx_dp{10, 1e-3}, "basic");
        accountant<zcdp_composition> z(zcdp{10}, "zcdp");
        insecure_seeded_generator g(22);
        const auto r1 = histogram(h).release(basic, laplace_noise{epsilon{0.7}}, level, g, "laplace histogram");
        const auto r2 = histogram(h).release(z, gaussian_noise{epsilon{0.7}, delta{1e-6}}, level, g, "gaussian histogram");
        REQUIRE(r1.costs.size() == 1);
        REQUIRE(r2.costs.size() == 1);
        CHECK(std::get<pure_dp>(r1.costs[0].cost).epsilon == lap.cost().epsilon);
        CHECK(std::get<zcdp>(r2.costs[0].cost).rho == gau.zcdp_cost().rho);
        CHECK(basic.ledger().size() == 1);
        CHECK(basic.ledger()[0].label == "laplace histogram");
        CHECK(z.ledger().size() == 1);
        CHECK(r1.value.counts.size() == 6);
    }
    // Renyi and PLD accountants accept the vector releases too.
    accountant<renyi_composition> renyi(approx_dp{5, 1e-5}, "renyi");
    accountant<pld_composition> pld(approx_dp{5, 1e-5}, "pld");
    insecure_seeded_generator g(23);
    histogram h(edges, nan_policy::reject, histogram_outliers::clamp, 3, 1);
    CHECK_NOTHROW(histogram(h).release(renyi, laplace_noise{epsilon{0.5}}, level, g, "renyi laplace"));
    CHECK_NOTHROW(histogram(h).release(renyi, gaussian_noise{epsilon{0.5}, delta{1e-7}}, level, g, "renyi gaussian"));
    CHECK_NOTHROW(histogram(h).release(pld, laplace_noise{epsilon{0.5}}, level, g, "pld laplace"));
    CHECK_NOTHROW(histogram(h).release(pld, gaussian_noise{epsilon{0.5}, delta{1e-7}}, level, g, "pld gaussian"));
    CHECK(renyi.ledger().size() == 2);
    CHECK(pld.ledger().size() == 2);
}

TEST_CASE("histogram: noise_interval predicts the release before spending; a refused spend changes nothing",
          "[aggregates][histogram][accountant]") {
    histogram h(uniform_edges(0, 10, 5), nan_policy::reject, histogram_outliers::separate_bins, 2, 3);
    h.add(std::vector<double>{-1, 5, 15, 15, 33, 49, 50, 51});
    const auto state = h.serialize();
    accountant<basic_composition> acct(approx_dp{0.3, 1e-6}, "study");
    insecure_seeded_generator g(31);
    const auto noise = gaussian_noise{epsilon{0.25}, delta{1e-7}};
    const interval per_bin = h.noise_interval(noise, 0.95);
    const interval all = h.noise_interval(noise, 0.95, histogram_coverage::simultaneous);
    CHECK(all.upper > per_bin.upper);
    CHECK(per_bin.lower == -per_bin.upper);
    CHECK(acct.ledger().empty());  // asking costs nothing
    CHECK_THROWS_AS(h.release(acct, gaussian_noise{epsilon{0.5}, delta{1e-7}}, 0.95, g, "too expensive"), budget_exhausted);
    CHECK_FALSE(h.is_released());
    CHECK(h.serialize() == state);
    CHECK(acct.spent() == approx_dp{0, 0});
    CHECK(acct.ledger().empty());
    const auto r = h.release(acct, noise, 0.95, g, "affordable", histogram_postprocessing::none, histogram_coverage::simultaneous);
    CHECK(r.confidence.lower == all.lower);
    CHECK(r.confidence.upper == all.upper);
    CHECK(r.level == 0.95);
    CHECK(r.value.coverage == histogram_coverage::simultaneous);
    REQUIRE(r.value.counts.size() == 7);
    for (std::size_t i = 0; i < 7; ++i) {
        CHECK(r.value.counts[i] == r.value.noisy[i]);
        CHECK(r.value.intervals[i].lower == r.value.noisy[i] - all.upper);
        CHECK(r.value.intervals[i].upper == r.value.noisy[i] - all.lower);
    }
    REQUIRE(acct.ledger().size() == 1);
    CHECK(acct.ledger()[0].label == "affordable");
    CHECK(std::get<approx_dp>(r.costs.at(0).cost).epsilon == 0.25);
}

TEST_CASE("histogram intervals cover the exact counts at their level, per bin and simultaneously", "[aggregates][histogram][statistical]") {
    // 10^4 releases per noise. Each bin's coverage ~ Binomial(10^4, >= level):
    // below level - 5 sd has probability < 3e-7 per check, < 1e-5 for the 24
    // checks here. Positive controls with the same check: intervals shrunk to 60%
    // of their width fall short per bin, and per-bin intervals fall short of
    // covering all 8 bins at once.
    const std::vector<double> edges = uniform_edges(0, 1, 8);
    histogram data(edges, nan_policy::reject, histogram_outliers::clamp, 2, 1);
    const std::vector<std::uint64_t> exact = {0, 1, 5, 20, 0, 3, 100, 7};
    for (std::size_t i = 0; i < exact.size(); ++i) {
        for (std::uint64_t r = 0; r < exact[i]; ++r) data.add(static_cast<double>(i) + 0.5);
    }
    const auto state = data.serialize();
    accountant<basic_composition> acct(approx_dp{1e9, 0.5}, "simulation");
    insecure_seeded_generator g(41);
    const double level = 0.9;
    const int trials = 10000;
    const double sd = std::sqrt(trials * level * (1 - level));
    const double floor_count = trials * level - 5 * sd;
    auto inside = [](const interval& ci, double truth) { return ci.lower <= truth && truth <= ci.upper; };
    auto shrunk = [](const interval& ci, double centre) {
        return interval{centre - (centre - ci.lower) * 0.6, centre + (ci.upper - centre) * 0.6};
    };
    for (int noise_kind = 0; noise_kind < 2; ++noise_kind) {
        std::vector<int> covered(8, 0);
        std::vector<int> covered_post(8, 0);
        int shrunk_covered = 0;
        int all_per_bin = 0;
        int all_simultaneous = 0;
        for (int t = 0; t < trials; ++t) {
            auto h1 = histogram::deserialize(state);
            auto h2 = histogram::deserialize(state);
            released<histogram_estimate> per{}, sim{};
            if (noise_kind == 0) {
                per = h1.release(acct, laplace_noise{epsilon{0.5}}, level, g, "per bin", histogram_postprocessing::non_negative_total);
                sim = h2.release(acct, laplace_noise{epsilon{0.5}}, level, g, "all", histogram_postprocessing::none,
                                 histogram_coverage::simultaneous);
            } else {
                per = h1.release(acct, gaussian_noise{epsilon{0.5}, delta{1e-6}}, level, g, "per bin",
                                 histogram_postprocessing::non_negative_total);
                sim = h2.release(acct, gaussian_noise{epsilon{0.5}, delta{1e-6}}, level, g, "all", histogram_postprocessing::none,
                                 histogram_coverage::simultaneous);
            }
            bool all_in = true;
            bool all_sim = true;
            for (std::size_t i = 0; i < 8; ++i) {
                const auto truth = static_cast<double>(exact[i]);
                const interval raw = around(per.value.noisy[i], per.confidence);
                covered[i] += inside(raw, truth);
                covered_post[i] += inside(per.value.intervals[i], truth);
                all_in = all_in && inside(raw, truth);
                all_sim = all_sim && inside(sim.value.intervals[i], truth);
            }
            shrunk_covered += inside(shrunk(around(per.value.noisy[6], per.confidence), per.value.noisy[6]), 100.0);
            all_per_bin += all_in;
            all_simultaneous += all_sim;
        }
        INFO("noise " << noise_kind);
        for (std::size_t i = 0; i < 8; ++i) {
            CHECK(covered[i] >= floor_count);
            CHECK(covered_post[i] >= covered[i]);  // clipping at 0 never loses coverage
        }
        CHECK(all_simultaneous >= floor_count);
        CHECK(shrunk_covered < floor_count);  // positive control
        CHECK(all_per_bin < floor_count);     // positive control: per-bin is not simultaneous
    }
}

TEST_CASE("histogram post-processing: non-negative, summing to the noisy total, the Euclidean projection",
          "[aggregates][histogram][postprocessing]") {
    // KKT conditions of min ||c - x||^2 s.t. c >= 0, sum c = s: there is a tau with
    // c_i = x_i - tau where c_i > 0 and x_i <= tau where c_i = 0; equivalently
    // (x - c) . (v - c) <= 0 for every vertex v = s e_j of the feasible set.
    auto is_projection = [](const std::vector<double>& x, const std::vector<double>& c, double s) {
        const double scale = 1 + s + std::accumulate(x.begin(), x.end(), 0.0, [](double a, double b) { return a + std::fabs(b); });
        double sum = 0;
        for (double v : c) {
            if (v < 0) return false;
            sum += v;
        }
        if (std::fabs(sum - s) > 1e-12 * scale) return false;
        for (std::size_t j = 0; j < x.size(); ++j) {
            double dot = 0;
            for (std::size_t i = 0; i < x.size(); ++i) dot += (x[i] - c[i]) * ((i == j ? s : 0.0) - c[i]);
            if (dot > 1e-9 * scale * scale) return false;
        }
        return true;
    };
    std::mt19937_64 rng(51);
    std::normal_distribution<double> normal(0, 5);
    for (int trial = 0; trial < 2000; ++trial) {
        const std::size_t k = 1 + rng() % 12;
        std::vector<double> x(k);
        for (auto& v : x) v = std::round(normal(rng)) + (trial % 3 == 0 ? 10.0 : 0.0);
        const double s = std::max(0.0, std::accumulate(x.begin(), x.end(), 0.0) + static_cast<double>(trial % 5) - 2);
        const auto c = detail::project_onto_simplex(x, s);
        INFO("trial " << trial);
        CHECK(is_projection(x, c, s));
    }
    // Brute force in 3 dimensions: no point of a fine grid on the simplex is closer.
    for (const std::vector<double>& x : {std::vector<double>{3, -1, 0.5}, {-2, -2, 10}, {1, 1, 1}, {0.2, 0.1, -5}}) {
        const double s = 2;
        const auto c = detail::project_onto_simplex(x, s);
        auto dist = [&](double a, double b, double d) { return (x[0] - a) * (x[0] - a) + (x[1] - b) * (x[1] - b) + (x[2] - d) * (x[2] - d); };
        const double best = dist(c[0], c[1], c[2]);
        double grid_best = inf;
        for (int i = 0; i <= 400; ++i) {
            for (int j = 0; i + j <= 400; ++j) grid_best = std::min(grid_best, dist(s * i / 400, s * j / 400, s * (400 - i - j) / 400));
        }
        CHECK(best <= grid_best + 1e-12);
        CHECK(grid_best - best < 1e-3);
    }
    // Positive control: clamping at 0 and rescaling to the total is feasible but not the projection.
    {
        const std::vector<double> x = {10, 1, -3};
        std::vector<double> wrong = {10, 1, 0};
        for (auto& v : wrong) v *= 8.0 / 11.0;
        CHECK_FALSE(is_projection(x, wrong, 8));
        CHECK(is_projection(x, detail::project_onto_simplex(x, 8), 8));
    }
    CHECK(detail::project_onto_simplex(std::vector<double>{-1, 3}, 0) == std::vector<double>{0, 0});

    // Through releases: each option does what it says, and intervals are clipped at 0.
    accountant<basic_composition> acct(approx_dp{1e9, 0.5}, "simulation");
    insecure_seeded_generator g(52);
    histogram empty(uniform_edges(0, 1, 20));
    empty.add(std::vector<double>{0.5, 0.5, 19.5});
    const auto state = empty.serialize();
    double mean_noisy_empty = 0;
    double mean_clamped_empty = 0;
    int zero_totals = 0;
    const int trials = 2000;
    for (int t = 0; t < trials; ++t) {
        for (auto post : {histogram_postprocessing::non_negative, histogram_postprocessing::non_negative_total}) {
            auto h = histogram::deserialize(state);
            const auto r = h.release(acct, laplace_noise{epsilon{0.5}}, 0.9, g, "h", post);
            const auto& e = r.value;
            CHECK(e.postprocessing == post);
            const double total = std::accumulate(e.noisy.begin(), e.noisy.end(), 0.0);
            CHECK(e.noisy_total == total);
            bool ok = true;
            for (std::size_t i = 0; i < e.counts.size(); ++i) {
                ok = ok && e.counts[i] >= 0 && e.intervals[i].lower >= 0 && e.intervals[i].upper >= 0;
                ok = ok && e.intervals[i].lower == std::max(0.0, e.noisy[i] - r.confidence.upper);
                if (post == histogram_postprocessing::non_negative) {
                    ok = ok && e.counts[i] == std::max(0.0, e.noisy[i]);
                    ok = ok && e.intervals[i].lower <= e.counts[i] && e.counts[i] <= e.intervals[i].upper;
                }
            }
            CHECK(ok);
            if (post == histogram_postprocessing::non_negative_total) {
                const double sum = std::accumulate(e.counts.begin(), e.counts.end(), 0.0);
                CHECK(sum == dpkit_test::approx(std::max(0.0, total)).margin(1e-9));
                CHECK(is_projection(e.noisy, e.counts, std::max(0.0, total)));
                zero_totals += total <= 0;
            } else {
                mean_noisy_empty += e.noisy[5] / trials;
                mean_clamped_empty += e.counts[5] / trials;
            }
        }
    }
    // The documented bias: an empty bin's noisy count is unbiased, its clamped
    // count is not. Laplace noise of scale 2: E[max(0, Z)] is about 1 (sd of the
    // mean of 2000: 0.04), the noisy mean has sd 0.064; both checks sit more than
    // 5.5 sd from the expected value (false-failure rate < 1e-7 each).
    CHECK(std::fabs(mean_noisy_empty) < 0.35);
    CHECK(mean_clamped_empty > 0.75);
    CHECK(zero_totals > 0);  // the all-zero projection (noisy total <= 0) was exercised
}

TEST_CASE("histogram: caps above 2^21 rows release coarse counts with the rounding in the interval", "[aggregates][histogram]") {
    const std::uint64_t linf = std::uint64_t{1} << 30;
    histogram h(uniform_edges(0, 1, 4), nan_policy::reject, histogram_outliers::clamp, 1, linf);
    for (int i = 0; i < 1000; ++i) h.add(0.5);
    const auto state = h.serialize();
    accountant<basic_composition> acct(approx_dp{1e9, 0.5}, "simulation");
    insecure_seeded_generator g(61);
    const double shift_unit = std::ldexp(1.0, 30 - 20);  // k = bit_width(2^30) - 21 = 10
    int covered = 0;
    for (int t = 0; t < 300; ++t) {
        auto c = histogram::deserialize(state);
        const auto r = c.release(acct, laplace_noise{epsilon{1}}, 1 - 1e-9, g, "coarse", histogram_postprocessing::none,
                                 histogram_coverage::simultaneous);
        for (double v : r.value.noisy) CHECK(std::fmod(v, shift_unit) == 0);
        covered += r.value.intervals[0].lower <= 1000 && 1000 <= r.value.intervals[0].upper &&
                   r.value.intervals[1].lower <= 0 && 0 <= r.value.intervals[1].upper;
    }
    CHECK(covered == 300);  // each miss has probability <= 1e-9
}
