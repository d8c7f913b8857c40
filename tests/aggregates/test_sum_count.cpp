// count and bounded_sum: exact, order- and shard-independent state, refusals,
// serialization, releases through an accountant, interval coverage.
#include <dpkit/aggregates.hpp>
#include <dpkit/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../support/dpkit_catch.hpp"

using namespace dpkit;

namespace {

std::vector<double> mixed_values(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-20, 120);
    std::vector<double> v(n);
    for (auto& x : v) x = u(rng);
    v[0] = 1e300;  // clamps
    v[1] = -std::numeric_limits<double>::infinity();
    v[2] = 5e-324;  // subnormal
    v[3] = 100;
    return v;
}

}  // namespace

TEST_CASE("bounded_sum: the state is identical under any order and any split into shards", "[aggregates][sum]") {
    const auto values = mixed_values(5000, 1);
    bounded_sum<double> one_pass(bounds{0, 100});
    one_pass.add(values);
    const auto reference = one_pass.serialize();
    std::mt19937_64 rng(2);
    for (int trial = 0; trial < 50; ++trial) {
        auto shuffled = values;
        std::shuffle(shuffled.begin(), shuffled.end(), rng);
        const std::size_t shards = 1 + rng() % 16;
        std::vector<bounded_sum<double>> parts(shards, bounded_sum<double>(bounds{0, 100}));
        for (double x : shuffled) parts[rng() % shards].add(x);
        bounded_sum<double> merged(bounds{0, 100});
        for (const auto& p : parts) merged.merge(p);
        CHECK(merged.serialize() == reference);
    }
    // count, the same way.
    count c1;
    c1.add(values);
    count c2;
    count c3;
    for (std::size_t i = 0; i < values.size(); ++i) (i % 3 == 0 ? c2 : c3).add(values[i]);
    c2.merge(c3);
    CHECK(c2.serialize() == c1.serialize());
    // A string is one row, not a range of characters; a vector of strings is one row each.
    count rows;
    rows.add(std::string("a row"));
    rows.add(std::vector<std::string>{"x", "y"});
    count three;
    for (int i = 0; i < 3; ++i) three.add();
    CHECK(rows.serialize() == three.serialize());
}

TEST_CASE("bounded_sum: serialization round-trips and refuses what it cannot trust", "[aggregates][serialization]") {
    bounded_sum<double> s(bounds{-5, 10}, nan_policy::drop, 3);
    s.add(mixed_values(100, 3));
    s.add(std::nan(""));  // dropped
    const auto bytes = s.serialize();
    CHECK(bounded_sum<double>::deserialize(bytes).serialize() == bytes);
    auto truncated = bytes;
    truncated.pop_back();
    CHECK_THROWS_WITH(bounded_sum<double>::deserialize(truncated), "dpkit::bounded_sum: malformed state (truncated)");
    auto longer = bytes;
    longer.push_back(std::byte{0});
    CHECK_THROWS_WITH(bounded_sum<double>::deserialize(longer), "dpkit::bounded_sum: malformed state (trailing bytes)");
    auto magic = bytes;
    magic[0] = std::byte{'X'};
    CHECK_THROWS_WITH(bounded_sum<double>::deserialize(magic),
                      "dpkit::bounded_sum: not a dpkit aggregate state (bad magic bytes)");
    auto version = bytes;
    version[4] = std::byte{9};
    CHECK_THROWS_WITH(bounded_sum<double>::deserialize(version),
                      "dpkit::bounded_sum: unsupported serialization format version (got 9)");
    CHECK_THROWS_WITH(bounded_sum<std::int64_t>::deserialize(bytes),
                      "dpkit::bounded_sum: the state is of another aggregate kind (got 2)");
    CHECK_THROWS_WITH(count::deserialize(bytes), "dpkit::count: the state is of another aggregate kind (got 2)");
    auto inverted = bytes;
    std::swap_ranges(inverted.begin() + 8, inverted.begin() + 16, inverted.begin() + 16);  // lower <-> upper
    CHECK_THROWS_WITH(bounded_sum<double>::deserialize(inverted),
                      "dpkit::bounded_sum: bounds.lower must be < bounds.upper (got 10)");
    auto resolution = bytes;
    resolution[24] = std::byte{0};
    CHECK_THROWS_WITH(bounded_sum<double>::deserialize(resolution),
                      "dpkit::bounded_sum: malformed state (fixed-point resolution does not match the bounds)");
    // Little-endian layout: the header, then lower = -5 as IEEE-754 bits.
    CHECK(bytes[0] == std::byte{'D'});
    CHECK(bytes[6] == std::byte{2});  // kind
    CHECK(bytes[15] == std::byte{0xC0});  // top byte of -5.0 (0xC014000000000000)
}

TEST_CASE("aggregates refuse bad parameters, mismatched merges and reuse after release", "[aggregates][errors]") {
    CHECK_THROWS_WITH(bounded_sum<double>(bounds{1, 1}), "dpkit::bounded_sum: bounds.lower must be < bounds.upper (got 1)");
    CHECK_THROWS_WITH(bounded_sum<double>(bounds{5, 1}), "dpkit::bounded_sum: bounds.lower must be < bounds.upper (got 5)");
    CHECK_THROWS_WITH(bounded_sum<double>(bounds{0, INFINITY}), "dpkit::bounded_sum: bounds.upper must be finite (got inf)");
    CHECK_THROWS_WITH(bounded_sum<double>(bounds{std::nan(""), 1}), "dpkit::bounded_sum: bounds.lower must be finite (got nan)");
    CHECK_THROWS_WITH(bounded_sum<double>(bounds{-1e308, 1e308}),
                      "dpkit::bounded_sum: bounds too wide: upper - lower must be finite (got inf)");
    CHECK_THROWS_AS(bounded_sum<double>(bounds{1e9, 1e9 + 1e-6}), dpkit::invalid_argument);  // too narrow for the magnitude
    CHECK_THROWS_WITH(bounded_sum<std::int64_t>(bounds{0.5, 3}),
                      "dpkit::bounded_sum: bounds.lower must be an integer in T's range (got 0.5)");
    CHECK_THROWS_WITH(count(0), "dpkit::count: max_contributions must be >= 1 (got 0)");
    bounded_sum<double> s(bounds{0, 1});
    CHECK_THROWS_WITH(s.add(std::nan("")), "dpkit::bounded_sum: value must not be NaN (nan_policy::reject) (got nan)");
    CHECK_THROWS_WITH(s.merge(bounded_sum<double>(bounds{0, 2})), "dpkit::bounded_sum: cannot merge sums with different bounds (got 0)");
    CHECK_THROWS_WITH(s.merge(bounded_sum<double>(bounds{0, 1}, nan_policy::reject, 2)),
                      "dpkit::bounded_sum: cannot merge sums with different max_contributions (got 2)");
    CHECK_THROWS_WITH(s.merge(bounded_sum<double>(bounds{0, 1}, nan_policy::drop)),
                      "dpkit::bounded_sum: cannot merge sums with different nan_policy");
    count c;
    CHECK_THROWS_WITH(c.merge(count(2)), "dpkit::count: cannot merge counts with different max_contributions (got 2)");

    accountant<basic_composition> acct(approx_dp{1, 0}, "study");
    insecure_seeded_generator g(4);
    s.add(0.5);
    const auto before = s.serialize();
    (void)s.release(acct, laplace_noise{epsilon{0.5}}, 0.95, g, "sum");
    CHECK(s.is_released());
    CHECK_THROWS_WITH(s.add(0.5), "dpkit::bounded_sum: add after release: the sum was already released");
    CHECK_THROWS_WITH(s.release(acct, laplace_noise{epsilon{0.1}}, 0.95, g, "again"),
                      "dpkit::bounded_sum: release after release: the sum was already released");
    bounded_sum<double> other(bounds{0, 1});
    CHECK_THROWS_WITH(other.merge(s), "dpkit::bounded_sum: cannot merge a state that was already released");
    CHECK_THROWS_WITH(bounded_sum<double>::deserialize(s.serialize()),
                      "dpkit::bounded_sum: the state was already released and cannot be used again");
    CHECK(s.serialize() != before);
    CHECK(acct.ledger().size() == 1);  // the failed calls spent nothing
}

TEST_CASE("a refused release spends nothing and leaves the aggregate usable", "[aggregates][accountant]") {
    accountant<basic_composition> acct(approx_dp{0.3, 0}, "study");
    insecure_seeded_generator g(5);
    bounded_sum<double> s(bounds{0, 10});
    s.add(std::vector<double>{1, 2, 3});
    const auto state = s.serialize();
    CHECK_THROWS_AS(s.release(acct, laplace_noise{epsilon{0.5}}, 0.9, g, "too expensive"), budget_exhausted);
    CHECK_FALSE(s.is_released());
    CHECK(s.serialize() == state);
    CHECK(acct.spent() == approx_dp{0, 0});
    CHECK(acct.ledger().empty());
    const auto r = s.release(acct, laplace_noise{epsilon{0.3}}, 0.9, g, "affordable");
    REQUIRE(r.costs.size() == 1);
    CHECK(r.costs[0].label == "affordable");
    CHECK(std::get<pure_dp>(r.costs[0].cost).epsilon <= 0.3);
    CHECK(acct.ledger().size() == 1);
    CHECK(r.confidence.lower <= r.value);
    CHECK(r.value <= r.confidence.upper);
}

TEST_CASE("released intervals cover the exact sum and count at their level", "[aggregates][statistical]") {
    // 10^4 releases per case; coverage ~ Binomial(10^4, >= level): falling below
    // level - 5 sd has probability < 3e-7 per check. Positive control: intervals
    // shrunk to 60% of their width must fail the same check.
    accountant<basic_composition> acct(approx_dp{1e9, 0.5}, "simulation");
    insecure_seeded_generator g(6);
    const auto values = mixed_values(200, 7);
    double exact_sum = 0;
    for (double x : values) exact_sum += static_cast<double>(static_cast<std::int64_t>(std::clamp(x, 0.0, 100.0)));
    auto covers = [](const interval& ci, double centre, double truth, double shrink) {
        return centre - (centre - ci.lower) * shrink <= truth && truth <= centre + (ci.upper - centre) * shrink;
    };
    for (double level : {0.9, 0.99}) {
        for (int noise_kind = 0; noise_kind < 2; ++noise_kind) {
            int sum_covered = 0;
            int count_covered = 0;
            int shrunk_covered = 0;
            const int trials = 10000;
            for (int t = 0; t < trials; ++t) {
                bounded_sum<std::int64_t> s(bounds{0, 100});
                count c;
                for (double x : values) {
                    const auto v = static_cast<std::int64_t>(std::clamp(x, 0.0, 100.0));
                    s.add(v);
                    c.add(v);
                }
                released<double> rs{};
                released<double> rc{};
                if (noise_kind == 0) {
                    rs = s.release(acct, laplace_noise{epsilon{0.05}}, level, g, "sum");
                    rc = c.release(acct, laplace_noise{epsilon{0.05}}, level, g, "count");
                } else {
                    rs = s.release(acct, gaussian_noise{epsilon{0.05}, delta{1e-9}}, level, g, "sum");
                    rc = c.release(acct, gaussian_noise{epsilon{0.05}, delta{1e-9}}, level, g, "count");
                }
                sum_covered += covers(rs.confidence, rs.value, exact_sum, 1.0);
                count_covered += covers(rc.confidence, rc.value, 200.0, 1.0);
                shrunk_covered += covers(rs.confidence, rs.value, exact_sum, 0.6);
            }
            const double sd = std::sqrt(trials * level * (1 - level));
            INFO("level " << level << " noise " << noise_kind);
            CHECK(sum_covered >= trials * level - 5 * sd);
            CHECK(count_covered >= trials * level - 5 * sd);
            CHECK(shrunk_covered < trials * level - 5 * sd);
        }
    }
}

TEST_CASE("noise_interval predicts the released interval's width before spending", "[aggregates]") {
    accountant<zcdp_composition> acct(zcdp{10}, "study");
    insecure_seeded_generator g(8);
    for (double hi : {1.0, 100.0, 1e6}) {
        bounded_sum<double> s(bounds{0, hi});
        s.add(mixed_values(50, 9));
        const std::size_t spends = acct.ledger().size();
        const interval predicted = s.noise_interval(gaussian_noise{epsilon{1}, delta{1e-6}}, 0.95);
        CHECK(acct.ledger().size() == spends);  // asking costs nothing
        const auto r = s.release(acct, gaussian_noise{epsilon{1}, delta{1e-6}}, 0.95, g, "sum");
        CHECK(r.confidence.upper - r.confidence.lower == dpkit_test::approx(predicted.upper - predicted.lower).epsilon(1e-12));
        CHECK(std::holds_alternative<zcdp>(r.costs.at(0).cost));
        CHECK(s.sensitivity() >= hi);
        CHECK(s.sensitivity() <= hi * (1 + 1e-8));
    }
}
