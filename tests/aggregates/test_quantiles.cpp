// quantile_tree and approximate_quantiles: shard-independent state,
// serialization, refusals, monotone answers inside the bounds, rank-interval
// coverage, the exact pmf of the in-memory method and its privacy on neighbours.
#include <dpkit/accounting.hpp>
#include <dpkit/aggregates.hpp>
#include <dpkit/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <vector>

#include "../support/csv.hpp"
#include "../support/dpkit_catch.hpp"
#include "../support/stats.hpp"

using namespace dpkit;
using dpkit_test::cp_lower;
using dpkit_test::cp_upper;
using dpkit_test::false_failure_rate;

namespace {

std::vector<double> spread_values(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(40, 15);
    std::vector<double> v(n);
    for (auto& x : v) x = normal(rng);
    if (n >= 4) {
        v[0] = 1e300;  // clamps
        v[1] = -std::numeric_limits<double>::infinity();
        v[2] = 5e-324;
        v[3] = 100;
    }
    return v;
}

// n distinct values spread evenly inside (-3, 7).
std::vector<double> evenly(std::size_t n) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = -3 + 10 * static_cast<double>(i + 1) / static_cast<double>(n + 1);
    return v;
}

// Number of values (clamped to [lo, hi]) that are <= v.
double true_rank(const std::vector<double>& sorted_clamped, double v) {
    return static_cast<double>(std::upper_bound(sorted_clamped.begin(), sorted_clamped.end(), v) - sorted_clamped.begin());
}

std::vector<double> clamped_sorted(std::vector<double> v, double lo, double hi) {
    for (auto& x : v) x = std::clamp(x, lo, hi);
    std::sort(v.begin(), v.end());
    return v;
}


// G-test of categorical counts against expected probabilities; categories
// expecting fewer than 5 observations are pooled into one.
double g_test_p(const std::map<std::vector<std::int64_t>, std::uint64_t>& observed,
                const std::map<std::vector<std::int64_t>, double>& pmf, double n) {
    double g = 0;
    double pooled_e = 0;
    double pooled_o = 0;
    std::size_t bins = 0;
    double total_mass = 0;
    for (const auto& [key, p] : pmf) {
        total_mass += p;
        const auto it = observed.find(key);
        const double o = it == observed.end() ? 0.0 : static_cast<double>(it->second);
        const double e = n * p;
        if (e < 5) {
            pooled_e += e;
            pooled_o += o;
            continue;
        }
        ++bins;
        if (o > 0) g += 2 * o * std::log(o / e);
    }
    for (const auto& [key, o] : observed) {
        if (!pmf.count(key)) pooled_o += static_cast<double>(o);  // impossible outcomes
    }
    if (pooled_e > 0 || pooled_o > 0) {
        ++bins;
        if (pooled_o > 0) g += 2 * pooled_o * std::log(pooled_o / std::max(pooled_e, 1e-300));
    }
    REQUIRE(std::fabs(total_mass - 1) < 1e-9);
    return dpkit_test::chi2_survival(g, static_cast<double>(bins - 1));
}

}  // namespace

TEST_CASE("quantile_tree: the state is identical under any split into shards", "[aggregates][quantiles]") {
    const auto values = spread_values(5000, 1);
    for (const tree_shape shape : {tree_shape{}, tree_shape{3, 5}}) {
        quantile_tree one_pass(bounds{0, 100}, nan_policy::reject, 1, shape);
        one_pass.add(values);
        const auto reference = one_pass.serialize();
        std::mt19937_64 rng(2);
        for (int trial = 0; trial < 30; ++trial) {
            auto shuffled = values;
            std::shuffle(shuffled.begin(), shuffled.end(), rng);
            const std::size_t shards = 1 + rng() % 16;
            std::vector<quantile_tree> parts(shards, quantile_tree(bounds{0, 100}, nan_policy::reject, 1, shape));
            for (double x : shuffled) parts[rng() % shards].add(x);
            quantile_tree merged(bounds{0, 100}, nan_policy::reject, 1, shape);
            for (const auto& p : parts) merged.merge(p);
            CHECK((merged.serialize() == reference));
        }
    }
}

TEST_CASE("quantile_tree: serialization round-trips and refuses what it cannot trust", "[aggregates][quantiles][serialization]") {
    quantile_tree t(bounds{-5, 10}, nan_policy::drop, 3, tree_shape{4, 3});
    t.add(spread_values(200, 3));
    t.add(std::nan(""));  // dropped
    const auto bytes = t.serialize();
    CHECK((quantile_tree::deserialize(bytes).serialize() == bytes));
    CHECK(std::to_integer<int>(bytes[6]) == 9);  // aggregate_kind::quantile_tree
    auto truncated = bytes;
    truncated.pop_back();
    CHECK_THROWS_WITH(quantile_tree::deserialize(truncated), "dpkit::quantile_tree: malformed state (truncated)");
    auto longer = bytes;
    longer.push_back(std::byte{0});
    CHECK_THROWS_WITH(quantile_tree::deserialize(longer), "dpkit::quantile_tree: malformed state (trailing bytes)");
    CHECK_THROWS_WITH(bounded_sum<double>::deserialize(bytes), "dpkit::bounded_sum: the state is of another aggregate kind (got 9)");
    bounded_sum<double> s(bounds{0, 1});
    CHECK_THROWS_WITH(quantile_tree::deserialize(s.serialize()), "dpkit::quantile_tree: the state is of another aggregate kind (got 2)");
    // Layout: header 8, lower 8, upper 8, exponent 8, nan 1, cap 8, branching 8, height 8, nonzero 8, then pairs.
    const std::size_t branching_at = 8 + 8 + 8 + 8 + 1 + 8;
    auto shape = bytes;
    shape[branching_at] = std::byte{1};
    CHECK_THROWS_WITH(quantile_tree::deserialize(shape), "dpkit::quantile_tree: shape.branching must be in [2, 256] (got 1)");
    shape[branching_at] = std::byte{0};
    shape[branching_at + 1] = std::byte{2};  // 512
    CHECK_THROWS_WITH(quantile_tree::deserialize(shape), "dpkit::quantile_tree: malformed state (shape out of range)");
    auto resolution = bytes;
    resolution[24] = std::byte{0};
    CHECK_THROWS_WITH(quantile_tree::deserialize(resolution),
                      "dpkit::quantile_tree: malformed state (fixed-point resolution does not match the bounds)");
    const std::size_t pairs_at = branching_at + 8 + 8 + 8;
    auto order = bytes;  // second index set to the first one's
    std::copy(order.begin() + static_cast<std::ptrdiff_t>(pairs_at), order.begin() + static_cast<std::ptrdiff_t>(pairs_at + 8),
              order.begin() + static_cast<std::ptrdiff_t>(pairs_at + 16));
    CHECK_THROWS_WITH(quantile_tree::deserialize(order), "dpkit::quantile_tree: malformed state (leaf indices must increase)");
    auto zero = bytes;
    std::fill(zero.begin() + static_cast<std::ptrdiff_t>(pairs_at + 8), zero.begin() + static_cast<std::ptrdiff_t>(pairs_at + 16),
              std::byte{0});
    CHECK_THROWS_WITH(quantile_tree::deserialize(zero),
                      "dpkit::quantile_tree: malformed state (a listed leaf must have a nonzero count)");
    auto outside = bytes;
    outside[pairs_at + 7] = std::byte{1};  // index >= 2^56
    CHECK_THROWS_WITH(quantile_tree::deserialize(outside), "dpkit::quantile_tree: malformed state (leaf index out of range)");
    auto many = bytes;
    many[pairs_at - 1] = std::byte{1};  // 2^56 nonzero leaves claimed
    CHECK_THROWS_WITH(quantile_tree::deserialize(many),
                      "dpkit::quantile_tree: malformed state (more nonzero leaves than leaves)");
    accountant<basic_composition> acct(approx_dp{1, 0}, "study");
    insecure_seeded_generator g(4);
    (void)t.release(acct, laplace_noise{epsilon{1}}, 0.9, g, "tree");
    CHECK_THROWS_WITH(quantile_tree::deserialize(t.serialize()),
                      "dpkit::quantile_tree: the state was already released and cannot be used again");
}

TEST_CASE("quantile_tree: refuses bad parameters, mismatched merges and reuse; a refused spend changes nothing",
          "[aggregates][quantiles][errors]") {
    CHECK_THROWS_WITH(quantile_tree(bounds{1, 1}), "dpkit::quantile_tree: bounds.lower must be < bounds.upper (got 1)");
    CHECK_THROWS_WITH(quantile_tree(bounds{0, 1}, nan_policy::reject, 0),
                      "dpkit::quantile_tree: max_contributions must be in [1, 2^32] (got 0)");
    CHECK_THROWS_WITH(quantile_tree(bounds{0, 1}, nan_policy::reject, 1, tree_shape{1, 4}),
                      "dpkit::quantile_tree: shape.branching must be in [2, 256] (got 1)");
    CHECK_THROWS_WITH(quantile_tree(bounds{0, 1}, nan_policy::reject, 1, tree_shape{2, 0}),
                      "dpkit::quantile_tree: shape.height must be in [1, 16] (got 0)");
    CHECK_THROWS_WITH(quantile_tree(bounds{0, 1}, nan_policy::reject, 1, tree_shape{16, 6}),
                      "dpkit::quantile_tree: shape must have at most 2^20 leaves (branching^height) (got 16777216)");
    quantile_tree t(bounds{0, 1});
    CHECK_THROWS_WITH(t.add(std::nan("")), "dpkit::quantile_tree: value must not be NaN (nan_policy::reject) (got nan)");
    CHECK_THROWS_WITH(t.merge(quantile_tree(bounds{0, 2})), "dpkit::quantile_tree: cannot merge trees with different bounds (got 0)");
    CHECK_THROWS_WITH(t.merge(quantile_tree(bounds{0, 1}, nan_policy::reject, 1, tree_shape{4, 4})),
                      "dpkit::quantile_tree: cannot merge trees with different shapes");
    CHECK_THROWS_WITH(t.merge(quantile_tree(bounds{0, 1}, nan_policy::reject, 2)),
                      "dpkit::quantile_tree: cannot merge trees with different max_contributions (got 2)");
    CHECK_THROWS_WITH(t.merge(quantile_tree(bounds{0, 1}, nan_policy::drop)),
                      "dpkit::quantile_tree: cannot merge trees with different nan_policy");
    CHECK(t.l1_sensitivity() == 4);
    CHECK(t.l2_sensitivity() == 2);
    CHECK(t.nodes() == 16 + 256 + 4096 + 65536);

    accountant<basic_composition> acct(approx_dp{0.3, 0}, "study");
    insecure_seeded_generator g(5);
    t.add(std::vector<double>{0.1, 0.2, 0.3});
    const auto state = t.serialize();
    const std::vector<double> bad = {0.5, 1.5};
    CHECK_THROWS_WITH(t.release(acct, laplace_noise{epsilon{0.1}}, 0.9, g, "q", bad),
                      "dpkit::quantile_tree: quantile must be in [0, 1] (got 1.5)");
    CHECK_THROWS_WITH(t.release(acct, laplace_noise{epsilon{0.1}}, 1.0, g, "q"), "dpkit::release: level must be in (0, 1) (got 1)");
    CHECK_THROWS_AS(t.release(acct, laplace_noise{epsilon{0.5}}, 0.9, g, "too expensive"), budget_exhausted);
    CHECK_FALSE(t.is_released());
    CHECK((t.serialize() == state));
    CHECK(acct.ledger().empty());
    const std::vector<double> half = {0.5};
    const auto r = t.release(acct, laplace_noise{epsilon{0.3}}, 0.9, g, "median", half);
    REQUIRE(r.costs.size() == 1);
    CHECK(r.costs[0].label == "median");
    CHECK(std::get<pure_dp>(r.costs[0].cost).epsilon <= 0.3);
    CHECK(acct.ledger().size() == 1);
    CHECK(t.is_released());
    CHECK_THROWS_WITH(t.add(0.5), "dpkit::quantile_tree: add after release: the tree was already released");
    CHECK_THROWS_WITH(t.release(acct, laplace_noise{epsilon{0.1}}, 0.9, g, "again"),
                      "dpkit::quantile_tree: release after release: the tree was already released");
    quantile_tree other(bounds{0, 1});
    CHECK_THROWS_WITH(other.merge(t), "dpkit::quantile_tree: cannot merge a state that was already released");
}

TEST_CASE("quantile_tree: answers are monotone in the quantile and inside the bounds", "[aggregates][quantiles]") {
    const double lo = -3;
    const double hi = 7;
    std::vector<std::vector<double>> datasets = {
        {},                                  // empty
        std::vector<double>(500, 2.5),       // all equal
        std::vector<double>(300, -100.0),    // all at (below) the lower bound
        std::vector<double>(300, 7.0),       // all at the upper bound
        {4.25},                              // a single value
        spread_values(2000, 8),
    };
    std::vector<double> qs;
    for (int i = 0; i <= 100; ++i) qs.push_back(i / 100.0);
    qs.push_back(0.5 + 1e-12);
    std::sort(qs.begin(), qs.end());
    accountant<basic_composition> acct(approx_dp{1e12, 0.9}, "simulation");
    insecure_seeded_generator g(9);
    std::size_t checked = 0;
    for (const tree_shape shape : {tree_shape{4, 3}, tree_shape{2, 10}, tree_shape{}}) {
        for (const auto& data : datasets) {
            for (int noise_kind = 0; noise_kind < 5; ++noise_kind) {
                quantile_tree t(bounds{lo, hi}, nan_policy::reject, 1, shape);
                t.add(data);
                released_quantile_tree r = [&] {
                    switch (noise_kind) {
                        case 0: return t.release(acct, laplace_noise{epsilon{1e-3}}, 0.95, g, "q");
                        case 1: return t.release(acct, laplace_noise{epsilon{1}}, 0.95, g, "q");
                        case 2: return t.release(acct, laplace_noise{epsilon{1e6}}, 0.95, g, "q");
                        case 3: return t.release(acct, gaussian_noise{epsilon{1e-3}, delta{1e-12}}, 0.95, g, "q");
                        default: return t.release(acct, gaussian_noise{epsilon{50}, delta{1e-3}}, 0.95, g, "q");
                    }
                }();
                const auto answers = r.quantiles(qs);
                for (std::size_t i = 0; i < answers.size(); ++i) {
                    INFO("shape " << shape.branching << "^" << shape.height << " n " << data.size() << " noise " << noise_kind
                                  << " q " << qs[i]);
                    CHECK(answers[i].value >= lo);
                    CHECK(answers[i].value <= hi);
                    CHECK(answers[i].rank.lower <= answers[i].rank.upper);
                    if (i > 0) CHECK(answers[i - 1].value <= answers[i].value);
                    ++checked;
                }
                if (noise_kind == 2 && !data.empty()) {
                    // Noise is 0 with probability ~1 at epsilon 1e6: the median's rank interval is exact.
                    const auto sorted = clamped_sorted(data, lo, hi);
                    const auto med = r.quantile(0.5);
                    CHECK(med.rank.lower <= true_rank(sorted, med.value));
                    CHECK(true_rank(sorted, med.value) <= med.rank.upper);
                }
            }
        }
    }
    CHECK(checked == 3 * 6 * 5 * qs.size());
}

TEST_CASE("quantile_tree: rank intervals cover the true ranks at their level", "[aggregates][quantiles][statistical]") {
    // 10^4 releases per noise; the event "every rank interval of the release
    // holds" has probability >= level; falling below level - 5 sd has
    // probability < 3e-7 per check. Positive control: the same intervals shrunk
    // to a quarter of their width around their middle fail the same check.
    const auto data = spread_values(400, 10);
    const auto sorted = clamped_sorted(data, 0, 100);
    const std::vector<double> qs = {0.1, 0.5, 0.9};
    const double level = 0.9;
    accountant<basic_composition> acct(approx_dp{1e12, 0.9}, "simulation");
    insecure_seeded_generator g(11);
    for (int noise_kind = 0; noise_kind < 2; ++noise_kind) {
        int covered = 0;
        int shrunk_covered = 0;
        double mean_width = 0;
        const int trials = 10000;
        for (int t = 0; t < trials; ++t) {
            quantile_tree tree(bounds{0, 100}, nan_policy::reject, 1, tree_shape{4, 3});
            tree.add(data);
            const released_quantile_tree r = noise_kind == 0
                                                 ? tree.release(acct, laplace_noise{epsilon{0.5}}, level, g, "q")
                                                 : tree.release(acct, gaussian_noise{epsilon{0.5}, delta{1e-6}}, level, g, "q");
            bool all = true;
            bool all_shrunk = true;
            for (const auto& e : r.quantiles(qs)) {
                const double rank = true_rank(sorted, e.value);
                all = all && e.rank.lower <= rank && rank <= e.rank.upper;
                const double mid = (e.rank.lower + e.rank.upper) / 2;
                const double half = (e.rank.upper - e.rank.lower) / 8;
                all_shrunk = all_shrunk && mid - half <= rank && rank <= mid + half;
                mean_width += (e.rank.upper - e.rank.lower) / (3.0 * trials);
            }
            const interval n = r.count_interval();
            all = all && n.lower <= 400 && 400 <= n.upper;
            covered += all;
            shrunk_covered += all_shrunk;
        }
        const double sd = std::sqrt(trials * level * (1 - level));
        INFO("noise " << noise_kind << " covered " << covered << " shrunk " << shrunk_covered << " mean width " << mean_width);
        CHECK(covered >= trials * level - 5 * sd);
        CHECK(shrunk_covered < trials * level - 5 * sd);
    }
}

TEST_CASE("quantile_tree: the predicted noise interval bounds the released rank intervals", "[aggregates][quantiles]") {
    quantile_tree t(bounds{0, 100}, nan_policy::reject, 2, tree_shape{8, 3});
    t.add(spread_values(1000, 12));
    const auto k = t.noise_interval(laplace_noise{epsilon{1}}, 0.95);
    CHECK(k.upper > 0);
    CHECK(k.lower == -k.upper);
    accountant<basic_composition> acct(approx_dp{1, 0}, "study");
    insecure_seeded_generator g(13);
    const auto r = t.release(acct, laplace_noise{epsilon{1}}, 0.95, g, "q");
    const auto c = r.count_interval();
    CHECK(c.upper - c.lower <= 2 * k.upper);
    CHECK(r.noisy_level(3).size() == 512);
    CHECK_THROWS_WITH(r.noisy_level(4), "dpkit::released_quantile_tree: level must be in [1, height] (got 4)");
    CHECK_THROWS_WITH(r.quantile(-0.1), "dpkit::released_quantile_tree: quantile must be in [0, 1] (got -0.1)");
}

TEST_CASE("quantile_tree: the Chernoff widths are at least the exact tail widths", "[aggregates][quantiles][refs]") {
    // tests/data/quantile_tails.csv (make_quantile_tails.py, mpmath at 40
    // digits): k*, the smallest k with P[|Z_1 + ... + Z_n| > k] <= alpha. A
    // width below k* would be a coverage bug; the Chernoff bound may be wider,
    // by at most 70% + 3 here (the loosest: one Laplace term at alpha = 1e-2).
    const auto rows = dpkit_test::read_csv(DPKIT_TEST_DATA "/quantile_tails.csv");
    REQUIRE(rows.size() == 63);
    for (const auto& row : rows) {
        detail::noise_sum_bound bound;
        const double parameter = dpkit_test::number(row, "parameter");
        if (row.at("kind") == "laplace") {
            bound.laplace = true;
            bound.a_lo = bound.a_hi = 1 / parameter;  // exact for the tabulated scales
        } else {
            bound.laplace = false;
            bound.sigma2_up = parameter;
        }
        const auto terms = static_cast<std::uint64_t>(dpkit_test::number(row, "terms"));
        const double exact = dpkit_test::number(row, "min_width");
        const double width = bound.width(terms, dpkit_test::number(row, "alpha"));
        INFO(row.at("kind") << " " << parameter << " n " << terms << " alpha " << row.at("alpha") << " width " << width
                            << " exact " << exact);
        CHECK(width >= exact);
        CHECK(width <= 1.7 * exact + 3);
    }
}

TEST_CASE("approximate_quantiles: one step's exact power-of-1/2 trials", "[aggregates][joint_exp][statistical]") {
    // Bernoulli(2^-r) frequencies against their exact value (z-test at 1e-6); a
    // 5% error in the exponent is caught at 2e5 draws.
    insecure_seeded_generator g(14);
    for (const auto& [num, den] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 1}, {3, 10}, {17, 10}, {1, 1 << 20}}) {
        const std::uint64_t n = 200000;
        std::uint64_t ones = 0;
        for (std::uint64_t i = 0; i < n; ++i) ones += detail::bernoulli_half_power(g, num, den);
        const double p = std::exp2(-static_cast<double>(num) / static_cast<double>(den));
        if (num == 0) {
            CHECK(ones == n);
            continue;
        }
        CHECK(dpkit_test::binomial_p_value(ones, n, p) > false_failure_rate);
        if (num > 10) CHECK(dpkit_test::binomial_p_value(ones, n, std::exp2(-1.05 * static_cast<double>(num) / static_cast<double>(den))) < false_failure_rate);
    }
}

namespace {

// The exact output pmf of approximate_quantiles (outputs as grid points) by
// enumerating every grid point of every step, with the mechanism's own lambdas.
using outcome = std::vector<std::int64_t>;
std::map<outcome, double> exact_pmf(const approximate_quantiles& m, const std::vector<std::uint64_t>& qs,
                                    const std::vector<std::int64_t>& xs, std::int64_t a, std::int64_t b, std::uint64_t lo,
                                    std::uint64_t hi, std::size_t first, std::size_t last) {
    std::map<outcome, double> out;
    if (first >= last) {
        out[outcome{}] = 1;
        return out;
    }
    const std::size_t mid = first + (last - first) / 2;
    const std::uint64_t num = qs[mid] - lo;
    const std::uint64_t den = hi - lo;
    const double lambda = m.step_factor(num, den).to_double();
    const double n = static_cast<double>(xs.size());
    std::vector<double> w;
    for (std::int64_t y = a; y <= b; ++y) {
        const double i = static_cast<double>(std::count_if(xs.begin(), xs.end(), [&](std::int64_t x) { return x < y; }));
        w.push_back(std::exp2(-lambda * std::fabs(static_cast<double>(den) * i - static_cast<double>(num) * n)));
    }
    double z = 0;
    for (double x : w) z += x;
    for (std::int64_t y = a; y <= b; ++y) {
        const double p = w[static_cast<std::size_t>(y - a)] / z;
        std::vector<std::int64_t> left, right;
        for (auto x : xs) {
            if (x < y) left.push_back(x);
            if (x > y) right.push_back(x);
        }
        const auto l = exact_pmf(m, qs, left, a, y, lo, qs[mid], first, mid);
        const auto r = exact_pmf(m, qs, right, y, b, qs[mid], hi, mid + 1, last);
        for (const auto& [lk, lp] : l) {
            for (const auto& [rk, rp] : r) {
                outcome key = lk;
                key.push_back(y);
                key.insert(key.end(), rk.begin(), rk.end());
                out[key] += p * lp * rp;
            }
        }
    }
    return out;
}

outcome as_grid(const std::vector<double>& values) {
    outcome o;
    for (double v : values) o.push_back(static_cast<std::int64_t>(std::llround(v)));
    return o;
}

}  // namespace

TEST_CASE("approximate_quantiles samples its exact pmf", "[aggregates][joint_exp][statistical]") {
    // A 9-point grid (bounds [0, 8], 3 lattice bits: step 1), five values and
    // three quantiles (two levels). G-test at alpha = 1e-6 (false-failure rate
    // 1e-6) with 2e5 runs; positive control: the same sampler at 1.5 epsilon is
    // rejected against the pmf at epsilon.
    const std::vector<double> data = {1, 2, 2, 5, 7};
    const std::vector<double> qs = {0.25, 0.5, 0.75};
    const approximate_quantiles m(bounds{0, 8}, qs, epsilon{2}, nan_policy::reject, 1, 3);
    REQUIRE(m.resolution() == 1);
    REQUIRE(m.depth() == 2);
    const std::vector<std::uint64_t> fixed = {std::uint64_t{1} << 30, std::uint64_t{1} << 31, std::uint64_t{3} << 30};
    const auto pmf = exact_pmf(m, fixed, {1, 2, 2, 5, 7}, 0, 8, 0, std::uint64_t{1} << 32, 0, 3);
    const std::uint64_t runs = 200000;
    auto sample = [&](const approximate_quantiles& mech, std::uint64_t seed) {
        insecure_seeded_generator g(seed);
        std::map<outcome, std::uint64_t> counts;
        for (std::uint64_t i = 0; i < runs; ++i) ++counts[as_grid(mech(data, g))];
        return counts;
    };
    CHECK(g_test_p(sample(m, 15), pmf, static_cast<double>(runs)) > false_failure_rate);
    const approximate_quantiles wrong(bounds{0, 8}, qs, epsilon{3}, nan_policy::reject, 1, 3);
    CHECK(g_test_p(sample(wrong, 16), pmf, static_cast<double>(runs)) < false_failure_rate);
    // A single quantile on its own (one level).
    const std::vector<double> median = {0.5};
    const approximate_quantiles one(bounds{0, 8}, median, epsilon{1}, nan_policy::reject, 1, 3);
    const auto pmf1 = exact_pmf(one, {std::uint64_t{1} << 31}, {1, 2, 2, 5, 7}, 0, 8, 0, std::uint64_t{1} << 32, 0, 1);
    CHECK(g_test_p(sample(one, 17), pmf1, static_cast<double>(runs)) > false_failure_rate);
}

TEST_CASE("approximate_quantiles: neighbours' output probabilities differ by at most e^epsilon", "[aggregates][joint_exp][statistical]") {
    // Add/remove neighbours (one value added). Clopper-Pearson at confidence
    // 1 - 1e-6 per outcome never proves a ratio above e^epsilon for the real
    // mechanism, and does for a broken one that ignores the factor 2 of the
    // exponential mechanism (it runs at 2 epsilon while claiming epsilon).
    const std::vector<double> d0 = {1, 1, 2, 6, 7, 7};
    std::vector<double> d1 = d0;
    d1.push_back(0);
    const std::vector<double> median = {0.5};
    const double eps = 1;
    const std::uint64_t n = 200000;
    auto proven = [&](const approximate_quantiles& m, std::uint64_t seed) {
        insecure_seeded_generator g(seed);
        std::vector<std::uint64_t> c0(9, 0), c1(9, 0);
        for (std::uint64_t i = 0; i < n; ++i) {
            ++c0[static_cast<std::size_t>(std::llround(m(d0, g)[0]))];
            ++c1[static_cast<std::size_t>(std::llround(m(d1, g)[0]))];
        }
        double worst = 0;
        for (std::size_t r = 0; r < 9; ++r) {
            worst = std::max(worst, cp_lower(c1[r], n, 1e-6) / cp_upper(c0[r], n, 1e-6));
            worst = std::max(worst, cp_lower(c0[r], n, 1e-6) / cp_upper(c1[r], n, 1e-6));
        }
        return std::log(worst);
    };
    const double real = proven(approximate_quantiles(bounds{0, 8}, median, epsilon{eps}, nan_policy::reject, 1, 3), 21);
    CHECK(real <= eps);
    CHECK(real > 0.4);  // the neighbours are far apart: the test has power
    const double broken = proven(approximate_quantiles(bounds{0, 8}, median, epsilon{2 * eps}, nan_policy::reject, 1, 3), 22);
    CHECK(broken > eps);
}

TEST_CASE("approximate_quantiles: monotone, inside the bounds, at every extreme", "[aggregates][joint_exp]") {
    std::vector<double> qs;
    for (int i = 0; i <= 20; ++i) qs.push_back(i / 20.0);
    std::shuffle(qs.begin(), qs.end(), std::mt19937_64(3));
    qs.push_back(0.5);  // a duplicate
    const std::vector<std::vector<double>> datasets = {
        {}, std::vector<double>(500, 2.5), std::vector<double>(300, -100.0), std::vector<double>(300, 7.0), {4.25},
        spread_values(3000, 8), evenly(3000)};
    insecure_seeded_generator g(23);
    for (double eps : {1e-300, 1e-3, 1.0, 1e6, 1e300}) {
        const approximate_quantiles m(bounds{-3, 7}, qs, epsilon{eps});
        CHECK(m.depth() == 5);  // 21 distinct quantiles
        for (const auto& data : datasets) {
            const auto out = m(data, g);
            REQUIRE(out.size() == qs.size());
            for (std::size_t i = 0; i < qs.size(); ++i) {
                INFO("epsilon " << eps << " n " << data.size() << " q " << qs[i]);
                CHECK(out[i] >= -3);
                CHECK(out[i] <= 7);
                for (std::size_t j = 0; j < qs.size(); ++j) {
                    if (qs[i] < qs[j]) CHECK(out[i] <= out[j]);
                    if (qs[i] == qs[j]) CHECK(out[i] == out[j]);
                }
            }
            if (eps == 1e300 && !data.empty() && data[0] == evenly(3000)[0]) {
                // Almost an argmax: the median (the first step) splits the values exactly.
                const auto sorted = clamped_sorted(data, -3, 7);
                const std::size_t median = static_cast<std::size_t>(std::find(qs.begin(), qs.end(), 0.5) - qs.begin());
                const auto below = std::lower_bound(sorted.begin(), sorted.end(), out[median]) - sorted.begin();
                CHECK(below == 1500);
            }
        }
    }
}

TEST_CASE("approximate_quantiles: accuracy, cost through an accountant, and bad parameters", "[aggregates][joint_exp][errors]") {
    const auto data = spread_values(20000, 24);
    const auto sorted = clamped_sorted(data, 0, 100);
    const std::vector<double> qs = {0.1, 0.5, 0.9};
    const approximate_quantiles m(bounds{0, 100}, qs, epsilon{1});
    CHECK(m.cost() == pure_dp{1});
    CHECK(m.epsilon_per_level() * m.depth() <= 1);
    accountant<basic_composition> acct(approx_dp{1, 0}, "study");
    insecure_seeded_generator g(25);
    const auto out = release(acct, m, data, g, "quantiles");
    REQUIRE(acct.ledger().size() == 1);
    for (std::size_t i = 0; i < qs.size(); ++i) CHECK(std::fabs(true_rank(sorted, out[i]) - qs[i] * 20000) < 60);
    CHECK_THROWS_AS(release(acct, m, data, g, "over budget"), budget_exhausted);
    const std::vector<double> none;
    const std::vector<double> bad = {0.5, 2};
    CHECK_THROWS_WITH(approximate_quantiles(bounds{0, 1}, none, epsilon{1}),
                      "dpkit::approximate_quantiles: there must be at least one quantile");
    CHECK_THROWS_WITH(approximate_quantiles(bounds{0, 1}, bad, epsilon{1}),
                      "dpkit::approximate_quantiles: quantile must be in [0, 1] (got 2)");
    CHECK_THROWS_WITH(approximate_quantiles(bounds{0, 1}, qs, epsilon{0}),
                      "dpkit::approximate_quantiles: epsilon must be finite and > 0 (got 0)");
    CHECK_THROWS_WITH(approximate_quantiles(bounds{0, 1}, qs, epsilon{1}, nan_policy::reject, 0),
                      "dpkit::approximate_quantiles: max_contributions must be in [1, 2^32] (got 0)");
    CHECK_THROWS_WITH(approximate_quantiles(bounds{0, 1}, qs, epsilon{1}, nan_policy::reject, 1, 31),
                      "dpkit::approximate_quantiles: lattice_bits must be in [1, 30] (got 31)");
    CHECK_THROWS_WITH(approximate_quantiles(bounds{2, 1}, qs, epsilon{1}),
                      "dpkit::approximate_quantiles: bounds.lower must be < bounds.upper (got 2)");
    const std::vector<double> with_nan = {0.5, std::nan("")};
    CHECK_THROWS_WITH(m(with_nan, g), "dpkit::approximate_quantiles: value must not be NaN (nan_policy::reject) (got nan)");
    const approximate_quantiles dropping(bounds{0, 1}, qs, epsilon{1}, nan_policy::drop);
    CHECK(dropping(with_nan, g).size() == 3);
}

TEST_CASE("quantile_tree puts every value in the leaf of the exact integer division", "[quantiles]") {
    // leaf = floor((q - q_lower) M / W) with q the fixed-point value: the fast
    // path (a floating-point quotient corrected by the exact remainder) must
    // agree with 128-bit division for every value, including leaf edges.
    std::mt19937_64 rng(31);
    const std::vector<bounds> all{{0, 1}, {-1e6, 3e6}, {1e-200, 3e-200}, {-7, -3}, {0, 65535}, {0, 1e300}};
    const std::vector<tree_shape> shapes{{16, 4}, {2, 1}, {3, 7}, {256, 2}, {10, 6}};
    std::uint64_t checked = 0;
    for (const auto& b : all) {
        const auto grid = detail::fixed_point::for_bounds("test", b);
        const auto width = static_cast<std::uint64_t>(grid.q_upper - grid.q_lower) + 1;
        for (const auto& shape : shapes) {
            std::uint64_t leaves = 1;
            for (std::uint32_t l = 0; l < shape.height; ++l) leaves *= shape.branching;
            std::uniform_real_distribution<double> u(b.lower, b.upper);
            for (int i = 0; i < 300; ++i) {
                double x = u(rng);
                if (i % 3 == 0) {  // the value at a leaf edge, or just below it
                    const std::uint64_t j = rng() % (leaves + 1);
                    const auto offset = static_cast<std::uint64_t>((static_cast<detail::u128>(j) * width + leaves - 1) / leaves);
                    x = grid.to_value(static_cast<detail::i128>(grid.q_lower) + static_cast<detail::i128>(offset));
                    if (i % 2 == 0) x = std::nextafter(x, -detail::infinity);
                }
                const auto q = static_cast<std::uint64_t>(grid.quantize(x) - grid.q_lower);
                const auto expected = static_cast<std::uint64_t>((static_cast<detail::u128>(q) * leaves) / width);
                quantile_tree t(b, nan_policy::reject, 1, shape);
                t.add(x);
                const auto bytes = t.serialize();
                std::uint64_t index = 0;
                for (int k = 0; k < 8; ++k) index |= static_cast<std::uint64_t>(bytes[65 + static_cast<std::size_t>(k)]) << (8 * k);
                REQUIRE(index == expected);
                ++checked;
            }
        }
    }
    CHECK(checked == all.size() * shapes.size() * 300);
}
