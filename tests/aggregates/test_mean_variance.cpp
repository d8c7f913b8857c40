// bounded_mean and bounded_variance: shards, coverage of the intervals,
// post-processing into the bounds, atomic multi-part spends, refusals.
#include <dpkit/aggregates.hpp>
#include <dpkit/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "../support/dpkit_catch.hpp"

using namespace dpkit;

namespace {

// Integers in [-10, 110]: clamped to [0, 100] they are exact in fixed point, so
// the exact statistics of the clamped values are known.
std::vector<double> ages(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<double> v(n);
    for (auto& x : v) x = static_cast<double>(static_cast<int>(rng() % 121) - 10);
    return v;
}

double clamped_mean(const std::vector<double>& v) {
    long double s = 0;
    for (double x : v) s += std::clamp(x, 0.0, 100.0);
    return static_cast<double>(s / static_cast<long double>(v.size()));
}

double clamped_variance(const std::vector<double>& v) {
    const long double m = clamped_mean(v);
    long double s = 0;
    for (double x : v) s += (std::clamp(x, 0.0, 100.0) - m) * (std::clamp(x, 0.0, 100.0) - m);
    return static_cast<double>(s / static_cast<long double>(v.size()));
}

}  // namespace

TEST_CASE("mean and variance: merge(split(D)) equals one pass, byte for byte", "[aggregates][mean][variance]") {
    const auto values = ages(3000, 1);
    bounded_mean mean(bounds{0, 100});
    bounded_variance var(bounds{0, 100});
    mean.add(values);
    var.add(values);
    std::mt19937_64 rng(3);
    for (int trial = 0; trial < 30; ++trial) {
        const std::size_t shards = 1 + rng() % 16;
        std::vector<bounded_mean> mp(shards, bounded_mean(bounds{0, 100}));
        std::vector<bounded_variance> vp(shards, bounded_variance(bounds{0, 100}));
        for (double x : values) {
            const std::size_t i = rng() % shards;
            mp[i].add(x);
            vp[i].add(x);
        }
        bounded_mean m(bounds{0, 100});
        bounded_variance v(bounds{0, 100});
        for (std::size_t i = 0; i < shards; ++i) {
            m.merge(mp[i]);
            v.merge(vp[i]);
        }
        CHECK(m.serialize() == mean.serialize());
        CHECK(v.serialize() == var.serialize());
    }
    CHECK(bounded_mean::deserialize(mean.serialize()).serialize() == mean.serialize());
    CHECK(bounded_variance::deserialize(var.serialize()).serialize() == var.serialize());
}

TEST_CASE("mean and variance intervals cover the exact statistic at their level", "[aggregates][statistical]") {
    // 10^4 releases per case; coverage below level - 5 sd has probability < 3e-7.
    // Positive control: the same intervals shrunk to 30% of their width around
    // the release fall short of the level.
    const auto values = ages(300, 2);
    const double true_mean = clamped_mean(values);
    const double true_var = clamped_variance(values);
    accountant<basic_composition> acct(approx_dp{1e9, 0.5}, "simulation");
    insecure_seeded_generator g(4);
    auto covers = [](const released<double>& r, double truth, double shrink) {
        return r.value - (r.value - r.confidence.lower) * shrink <= truth &&
               truth <= r.value + (r.confidence.upper - r.value) * shrink;
    };
    for (int noise_kind = 0; noise_kind < 2; ++noise_kind) {
        const double level = 0.9;
        int mean_ok = 0;
        int var_ok = 0;
        int mean_shrunk = 0;
        int var_shrunk = 0;
        const int trials = 10000;
        for (int t = 0; t < trials; ++t) {
            bounded_mean m(bounds{0, 100});
            bounded_variance v(bounds{0, 100});
            m.add(values);
            v.add(values);
            const auto rm = noise_kind == 0 ? m.release(acct, laplace_noise{epsilon{0.5}}, level, g, "mean")
                                            : m.release(acct, gaussian_noise{epsilon{0.5}, delta{1e-6}}, level, g, "mean");
            const auto rv = noise_kind == 0 ? v.release(acct, laplace_noise{epsilon{2}}, level, g, "variance")
                                            : v.release(acct, gaussian_noise{epsilon{2}, delta{1e-6}}, level, g, "variance");
            REQUIRE(rm.value >= 0);
            REQUIRE(rm.value <= 100);
            REQUIRE(rv.value >= 0);
            REQUIRE(rv.value <= 2500);
            mean_ok += covers(rm, true_mean, 1.0);
            var_ok += covers(rv, true_var, 1.0);
            mean_shrunk += covers(rm, true_mean, 0.3);
            var_shrunk += covers(rv, true_var, 0.3);
        }
        const double sd = std::sqrt(trials * level * (1 - level));
        INFO("noise " << noise_kind << " true mean " << true_mean << " true variance " << true_var);
        CHECK(mean_ok >= trials * level - 5 * sd);
        CHECK(var_ok >= trials * level - 5 * sd);
        CHECK(mean_shrunk < trials * level - 5 * sd);
        CHECK(var_shrunk < trials * level - 5 * sd);
    }
}

TEST_CASE("released mean and variance stay in range, even for tiny or empty inputs", "[aggregates][mean][variance]") {
    accountant<basic_composition> acct(approx_dp{1e6, 0}, "study");
    insecure_seeded_generator g(5);
    for (int n : {0, 1, 2}) {
        for (int t = 0; t < 200; ++t) {
            bounded_mean m(bounds{-3, 7});
            bounded_variance v(bounds{-3, 7});
            for (int i = 0; i < n; ++i) {
                m.add(7.0);
                v.add(-3.0);
            }
            const auto rm = m.release(acct, laplace_noise{epsilon{0.1}}, 0.95, g, "mean");
            const auto rv = v.release(acct, laplace_noise{epsilon{0.1}}, 0.95, g, "variance");
            CHECK(rm.value >= -3);
            CHECK(rm.value <= 7);
            CHECK(rm.confidence.lower >= -3);
            CHECK(rm.confidence.upper <= 7);
            CHECK(rv.value >= 0);
            CHECK(rv.value <= 25);
            CHECK(rv.confidence.lower >= 0);
            const auto sd = released_stddev(rv);
            CHECK(sd.value == dpkit_test::approx(std::sqrt(rv.value)));
        }
    }
}

TEST_CASE("a mean's parts are spent together, split as asked, within the budget's decimals", "[aggregates][accountant]") {
    insecure_seeded_generator g(6);
    accountant<basic_composition> small(approx_dp{0.4, 0}, "small");
    bounded_mean m(bounds{0, 100});
    m.add(ages(100, 3));
    const auto state = m.serialize();
    CHECK_THROWS_AS(m.release(small, laplace_noise{epsilon{0.5}}, 0.95, g, "mean"), budget_exhausted);
    CHECK(small.ledger().empty());  // neither part was spent
    CHECK(m.serialize() == state);
    const auto r = m.release(small, laplace_noise{epsilon{0.4}}, 0.95, g, "mean", mean_split{0.25, 0.75});
    REQUIRE(r.costs.size() == 2);
    CHECK(r.costs[0].label == "mean (count)");
    CHECK(r.costs[1].label == "mean (sum)");
    CHECK(std::get<pure_dp>(r.costs[0].cost).epsilon == dpkit_test::approx(0.1));
    CHECK(std::get<pure_dp>(r.costs[1].cost).epsilon == dpkit_test::approx(0.3));
    CHECK(small.ledger().size() == 2);
    // Thirds of a budget fit the budget exactly (the booked decimals never add up to more).
    for (double eps : {1.0, 0.7, 0.1, 3.0}) {
        accountant<basic_composition> exact(approx_dp{eps, 1e-6}, "exact");
        bounded_variance v(bounds{0, 1});
        v.add(0.5);
        CHECK_NOTHROW(v.release(exact, gaussian_noise{epsilon{eps}, delta{1e-6}}, 0.9, g, "variance"));
    }
    CHECK_THROWS_WITH(bounded_mean(bounds{0, 1}).release(small, laplace_noise{epsilon{0.1}}, 0.9, g, "m", mean_split{0.5, 0.6}),
                      "dpkit::bounded_mean: the budget fractions must add up to 1 (got 1.1)");
}

TEST_CASE("mean and variance refuse mismatched merges, reuse and untrustworthy states", "[aggregates][errors]") {
    bounded_mean m(bounds{0, 10});
    CHECK_THROWS_WITH(m.merge(bounded_mean(bounds{0, 11})), "dpkit::bounded_mean: cannot merge states with different bounds (got 0)");
    CHECK_THROWS_WITH(m.add(std::nan("")), "dpkit::bounded_mean: value must not be NaN (nan_policy::reject) (got nan)");
    bounded_variance v(bounds{0, 10}, nan_policy::drop);
    v.add(std::nan(""));
    v.add(3.0);
    auto bytes = v.serialize();
    // Corrupt the count to 0 while the sum of squares is not: out of range.
    auto corrupt = bytes;
    for (std::size_t i = 33; i < 41; ++i) corrupt[i] = std::byte{0};
    CHECK_THROWS_AS(bounded_variance::deserialize(corrupt), dpkit::invalid_argument);
    CHECK_THROWS_WITH(bounded_mean::deserialize(bytes), "dpkit::bounded_mean: the state is of another aggregate kind (got 5)");
    accountant<zcdp_composition> acct(zcdp{1}, "study");
    insecure_seeded_generator g(7);
    (void)v.release(acct, gaussian_noise{epsilon{1}, delta{1e-6}}, 0.9, g, "variance");
    CHECK_THROWS_WITH(v.add(1.0), "dpkit::bounded_variance: add after release: the variance was already released");
    CHECK(acct.ledger().size() == 3);
}

TEST_CASE("mean and variance predict their interval widths before spending", "[aggregates][mean][variance]") {
    // For values spread evenly over the bounds, the predicted width at the true
    // count is within 30% of the released width (the released one depends on
    // where the noise falls), and asking spends nothing.
    std::vector<double> values;
    for (int i = 0; i < 20000; ++i) values.push_back(100.0 * (i + 0.5) / 20000);
    accountant<basic_composition> acct(approx_dp{10, 0}, "study");
    insecure_seeded_generator g(15);
    bounded_mean m(bounds{0, 100});
    bounded_variance v(bounds{0, 100});
    m.add(values);
    v.add(values);
    const interval pm = m.predicted_interval(laplace_noise{epsilon{1}}, 0.9, 20000);
    const interval pv = v.predicted_interval(laplace_noise{epsilon{1}}, 0.9, 20000);
    CHECK(acct.ledger().empty());
    const auto rm = m.release(acct, laplace_noise{epsilon{1}}, 0.9, g, "mean");
    const auto rv = v.release(acct, laplace_noise{epsilon{1}}, 0.9, g, "variance");
    const double wm = rm.confidence.upper - rm.confidence.lower;
    const double wv = rv.confidence.upper - rv.confidence.lower;
    CHECK(pm.upper - pm.lower == dpkit_test::approx(wm).epsilon(0.3));
    CHECK(pv.upper - pv.lower == dpkit_test::approx(wv).epsilon(0.3));
}
