// describe(): consistency of every release (10^4 random releases, including
// constant columns, columns at a bound, empty columns and a single row), joint
// coverage of the intervals with a positive control, the budget split (default,
// overridden, printed, booked within the total), one all-or-nothing spend for a
// table, and mergeable, byte-identical states.
#include <dpkit/accounting.hpp>
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
#include "../support/stats.hpp"

using namespace dpkit;
using dpkit_test::binomial_upper_tail;
using dpkit_test::false_failure_rate;

namespace {

const std::vector<std::string> numeric_names{"count", "mean", "std", "min", "25%", "50%", "75%", "max"};

/// The consistency rules of describe.hpp, checked on one numeric description.
void check_consistent(const column_description& d, const bounds& b) {
    REQUIRE(d.statistics.size() == numeric_names.size());
    for (std::size_t i = 0; i < numeric_names.size(); ++i) REQUIRE(d.statistics[i].name == numeric_names[i]);
    const double count = d["count"].value;
    CHECK(count >= 0);
    CHECK(count == std::round(count));
    const double sd = d["std"].value;
    CHECK(sd >= 0);
    CHECK(sd <= (b.upper - b.lower) / 2);
    const double mn = d["min"].value, q1 = d["25%"].value, q2 = d["50%"].value, q3 = d["75%"].value, mx = d["max"].value;
    CHECK(b.lower <= mn);
    CHECK(mn <= q1);
    CHECK(q1 <= q2);
    CHECK(q2 <= q3);
    CHECK(q3 <= mx);
    CHECK(mx <= b.upper);
    CHECK(mn <= d["mean"].value);
    CHECK(d["mean"].value <= mx);
    for (const auto& s : d.statistics) {
        CHECK(std::isfinite(s.value));
        CHECK(s.confidence.lower <= s.confidence.upper);
    }
}

/// The true statistics of clamped values, in describe's order (quantiles as in
/// released_quantile_tree::value_interval: the smallest v with >= max(1, q n) values <= v).
std::vector<double> true_statistics(std::vector<double> v, const bounds& b) {
    for (auto& x : v) x = std::clamp(x, b.lower, b.upper);
    std::sort(v.begin(), v.end());
    const double n = static_cast<double>(v.size());
    double sum = 0;
    for (double x : v) sum += x;
    const double mean = sum / n;
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    auto quantile = [&](double q) {
        const double target = std::max(1.0, q * n);
        const auto k = static_cast<std::size_t>(std::ceil(target - 1e-9));
        return v[k - 1];
    };
    return {n, mean, std::sqrt(ss / n), v.front(), quantile(0.25), quantile(0.5), quantile(0.75), v.back()};
}

}  // namespace

TEST_CASE("describe releases are consistent on 10^4 random releases, edge columns included", "[describe]") {
    insecure_seeded_generator g(20261201);
    std::mt19937_64 data_rng(99);
    const bounds b{-50, 150};
    // A small tree keeps 10^4 releases fast; the rules do not depend on the shape
    // (the default shape is checked below on fewer releases).
    const tree_shape small{4, 3};
    std::size_t releases = 0;
    for (int trial = 0; trial < 10000; ++trial) {
        std::vector<double> values;
        const int form = trial % 8;
        const std::size_t n = form == 0 ? 0 : form == 1 ? 1 : static_cast<std::size_t>(data_rng() % 300);
        std::normal_distribution<double> spread(50, 60);
        for (std::size_t i = 0; i < n; ++i) {
            switch (form) {
                case 2: values.push_back(42.5); break;       // all equal
                case 3: values.push_back(b.lower); break;    // all at a bound
                case 4: values.push_back(1e308); break;      // all clamped to the other bound
                default: values.push_back(spread(data_rng)); break;
            }
        }
        column_describer d(b, nan_policy::reject, 1, small);
        d.add(values);
        accountant<basic_composition> acct(approx_dp{20, 1e-6});
        const double eps = trial % 3 == 0 ? 0.05 : trial % 3 == 1 ? 1.0 : 20.0;
        column_description out = trial % 2 == 0
                                      ? d.release(acct, laplace_noise{epsilon{eps}}, 0.9, g, "x")
                                      : d.release(acct, gaussian_noise{epsilon{std::min(eps, 1.0)}, delta{1e-7}}, 0.9, g, "x");
        check_consistent(out, b);
        ++releases;
    }
    CHECK(releases == 10000);

    for (int trial = 0; trial < 100; ++trial) {  // the default shape (65536 leaves)
        column_describer d(b);
        if (trial % 4 != 0) d.add(std::vector<double>(static_cast<std::size_t>(trial), 10.0 + trial));
        accountant<basic_composition> acct(approx_dp{1, 0});
        check_consistent(d.release(acct, laplace_noise{epsilon{0.5}}, 0.95, g, "x"), b);
    }
}

TEST_CASE("describe's intervals hold together at their level, and a shifted interval is caught", "[describe][statistical]") {
    // 1000 releases at level 0.8 on fresh data; every one of the 8 intervals must
    // hold in all but a fraction <= 0.2 (the union bounds make it much rarer).
    // Fails falsely with probability <= 1e-6 (binomial tail at p = 0.2).
    insecure_seeded_generator g(7);
    std::mt19937_64 data_rng(8);
    const bounds b{0, 100};
    const int trials = 1000;
    int all_hold = 0;
    int shifted_hold = 0;
    for (int t = 0; t < trials; ++t) {
        std::vector<double> values(400);
        std::gamma_distribution<double> skew(2.0, 12.0);
        for (auto& x : values) x = skew(data_rng);
        column_describer d(b, nan_policy::reject, 1, tree_shape{8, 3});
        d.add(values);
        accountant<basic_composition> acct(approx_dp{1, 0});
        const auto out = d.release(acct, laplace_noise{epsilon{1}}, 0.8, g, "x");
        const auto truth = true_statistics(values, b);
        bool ok = true;
        bool shifted_ok = true;
        for (std::size_t i = 0; i < truth.size(); ++i) {
            const interval ci = out.statistics[i].confidence;
            const double slack = 1e-6 * (b.upper - b.lower);  // the fixed-point grid's quantisation
            ok = ok && ci.lower - slack <= truth[i] && truth[i] <= ci.upper + slack;
            // Positive control: the same check on each interval moved by its own width.
            const double w = ci.upper - ci.lower;
            shifted_ok = shifted_ok && ci.lower + w - slack <= truth[i] && truth[i] <= ci.upper + w + slack;
        }
        all_hold += ok ? 1 : 0;
        shifted_hold += shifted_ok ? 1 : 0;
    }
    const auto failures = static_cast<std::uint64_t>(trials - all_hold);
    INFO("releases with an interval missing its statistic: " << failures << " of " << trials);
    CHECK(binomial_upper_tail(failures, trials, 0.2) > false_failure_rate);
    const auto shifted_failures = static_cast<std::uint64_t>(trials - shifted_hold);
    INFO("with shifted intervals: " << shifted_failures);
    CHECK(binomial_upper_tail(shifted_failures, trials, 0.2) <= false_failure_rate);
}

TEST_CASE("describe's budget split: default, overridden, printed, and booked within the total", "[describe]") {
    insecure_seeded_generator g(3);
    std::vector<double> values{1, 2, 3, 4, 5, 6, 7, 8};
    accountant<basic_composition> acct(approx_dp{0.3, 0});
    const auto d = describe(acct, laplace_noise{epsilon{0.3}}, values, bounds{0, 10}, g, "score");
    REQUIRE(d.split.size() == 4);
    CHECK(d.split[0].part == "count");
    CHECK(d.split[0].fraction == 0.1);
    CHECK(d.split[3].part == "quantile tree");
    CHECK(d.split[3].fraction == 0.5);
    // The booked costs add up to at most the total (the accountant took the whole budget).
    CHECK(acct.ledger().size() == 4);
    CHECK(acct.ledger()[0].label == "score: count");
    CHECK(acct.ledger()[3].label == "score: quantile tree");
    CHECK_THROWS_AS(acct.spend(pure_dp{1e-9}, "more"), budget_exhausted);
    const std::string text = to_string(d);
    CHECK(text.find("budget split") != std::string::npos);
    CHECK(text.find("quantile tree") != std::string::npos);
    CHECK(text.find("50.0%") != std::string::npos);
    CHECK(text.find("25%") != std::string::npos);

    accountant<basic_composition> acct2(approx_dp{1, 0});
    column_describer c(bounds{0, 10});
    c.add(values);
    const auto custom = c.release(acct2, laplace_noise{epsilon{1}}, 0.95, g, "score", describe_split{0.25, 0.25, 0.25, 0.25});
    for (const auto& s : custom.split) CHECK(s.fraction == 0.25);
    CHECK(std::get<pure_dp>(custom.split[3].cost).epsilon == 0.25);

    column_describer bad(bounds{0, 10});
    accountant<basic_composition> acct3(approx_dp{1, 0});
    CHECK_THROWS_AS(bad.release(acct3, laplace_noise{epsilon{1}}, 0.95, g, "x", describe_split{0.5, 0.5, 0.5, 0.5}), invalid_argument);
    CHECK_THROWS_AS(bad.release(acct3, laplace_noise{epsilon{1}}, 0.95, g, "x", describe_split{0, 0.5, 0.25, 0.25}), invalid_argument);
    CHECK(acct3.ledger().empty());
    CHECK_FALSE(bad.is_released());
}

TEST_CASE("describe of a table: one budget, one all-or-nothing spend, a refusal changes nothing", "[describe]") {
    insecure_seeded_generator g(11);
    auto make = [] {
        table_describer t({numeric_column{"age", bounds{0, 120}}, categorical_column{"smoker", {"no", "yes"}},
                           numeric_column{"income", bounds{0, 200000}}, key_column{"city", delta{1e-6}}});
        std::mt19937_64 rng(5);
        for (int i = 0; i < 3000; ++i) {
            t.add(0, static_cast<double>(18 + rng() % 70));
            t.add(t.index("smoker"), rng() % 4 == 0 ? "yes" : "no");
            t.add(2, static_cast<double>(rng() % 150000));
            t.add(3, i % 2 == 0 ? "Lyon" : "city" + std::to_string(i));  // one common key, many singletons
        }
        return t;
    };
    table_describer t = make();
    const auto before = t.serialize();

    accountant<basic_composition> small(approx_dp{0.5, 1e-5});
    CHECK_THROWS_AS(t.release(small, laplace_noise{epsilon{1}}, 0.95, g), budget_exhausted);
    CHECK(small.ledger().empty());
    CHECK_FALSE(t.is_released());
    CHECK(t.serialize() == before);

    accountant<basic_composition> acct(approx_dp{1, 1e-5});
    const auto d = t.release(acct, laplace_noise{epsilon{1}}, 0.95, g, table_split{{2, 1, 1, 1}});
    CHECK(t.is_released());
    REQUIRE(d.columns.size() == 4);
    CHECK(d["age"].table_fraction == 0.4);
    check_consistent(d["age"], bounds{0, 120});
    check_consistent(d["income"], bounds{0, 200000});
    CHECK(d["smoker"].statistics.size() == 2);
    // Singleton cities never appear at delta = 1e-6 (1500 of them: expected 0.0015); Lyon does.
    const auto& city = d["city"];
    REQUIRE(city.statistics.size() == 1);
    CHECK(city.statistics[0].name == "Lyon");
    // One ledger line per noisy part: 4 + 1 + 4 + 2.
    CHECK(acct.ledger().size() == 11);
    CHECK(d.costs.size() == 11);
    CHECK(acct.ledger()[0].label == "age: count");
    CHECK(acct.ledger()[4].label == "smoker: counts");
    CHECK_THROWS_AS(t.add(0, 1.0), invalid_argument);
    CHECK_THROWS_AS(t.release(acct, laplace_noise{epsilon{1}}, 0.95, g), invalid_argument);
    CHECK(to_string(d).find("ledger:") != std::string::npos);
}

TEST_CASE("describe states merge and serialize byte-identically", "[describe]") {
    std::mt19937_64 rng(17);
    std::vector<double> values(5000);
    std::normal_distribution<double> nd(10, 30);
    for (auto& x : values) x = nd(rng);
    values[3] = std::numeric_limits<double>::infinity();
    column_describer whole(bounds{-20, 60});
    whole.add(values);
    column_describer a(bounds{-20, 60}), b(bounds{-20, 60});
    a.add(std::span<const double>(values).first(1234));
    for (std::size_t i = 1234; i < values.size(); ++i) b.add(values[i]);
    a.merge(b);
    CHECK(a.serialize() == whole.serialize());
    const auto bytes = whole.serialize();
    CHECK(column_describer::deserialize(bytes).serialize() == bytes);
    auto truncated = bytes;
    truncated.pop_back();
    CHECK_THROWS_AS(column_describer::deserialize(truncated), invalid_argument);
    auto tampered = bytes;
    tampered[6] = std::byte{9};  // the kind byte
    CHECK_THROWS_AS(column_describer::deserialize(tampered), invalid_argument);
    CHECK_THROWS_AS(a.merge(column_describer(bounds{-20, 61})), invalid_argument);

    auto table = [] {
        return table_describer({numeric_column{"x", bounds{0, 1}}, categorical_column{"c", {"a", "b"}}, key_column{"k", delta{1e-7}}});
    };
    table_describer t1 = table(), t2 = table(), t12 = table();
    for (int i = 0; i < 100; ++i) {
        auto& t = i < 60 ? t1 : t2;
        for (auto* x : {&t, &t12}) {
            x->add(0, i / 100.0);
            x->add(1, i % 2 ? "a" : "b");
            x->add(2, "key" + std::to_string(i % 7));
        }
    }
    t1.merge(t2);
    CHECK(t1.serialize() == t12.serialize());
    CHECK(table_describer::deserialize(t12.serialize()).serialize() == t12.serialize());
    CHECK_THROWS_AS(t1.merge(table_describer({numeric_column{"y", bounds{0, 1}}})), invalid_argument);
}

TEST_CASE("describe refuses bad declarations and data by documented rules", "[describe]") {
    CHECK_THROWS_AS(table_describer(std::vector<column_spec>{}), invalid_argument);
    CHECK_THROWS_AS(table_describer({numeric_column{"x", bounds{0, 1}}, numeric_column{"x", bounds{0, 2}}}), invalid_argument);
    CHECK_THROWS_AS(table_describer({key_column{"k", delta{1e-6}}}, 2), invalid_argument);
    CHECK_THROWS_AS(table_describer({numeric_column{"x", bounds{1, 0}}}), invalid_argument);
    table_describer t({numeric_column{"x", bounds{0, 1}}, categorical_column{"c", {"a"}}});
    CHECK_THROWS_AS(t.index("nope"), invalid_argument);
    CHECK_THROWS_AS(t.add(0, "a"), invalid_argument);
    CHECK_THROWS_AS(t.add(1, 0.5), invalid_argument);
    CHECK_THROWS_AS(t.add(5, 0.5), invalid_argument);
    CHECK_THROWS_AS(t.add(1, "undeclared"), invalid_argument);
    // NaN: rejected by default (after the values before it, as one at a time), dropped on request.
    column_describer r(bounds{0, 1});
    std::vector<double> with_nan{0.5, 0.25, std::nan(""), 0.75};
    CHECK_THROWS_AS(r.add(with_nan), invalid_argument);
    column_describer one_by_one(bounds{0, 1});
    one_by_one.add(0.5);
    one_by_one.add(0.25);
    CHECK(r.serialize() == one_by_one.serialize());
    column_describer dropped(bounds{0, 1}, nan_policy::drop);
    dropped.add(with_nan);
    column_describer kept(bounds{0, 1}, nan_policy::drop);
    kept.add(std::vector<double>{0.5, 0.25, 0.75});
    CHECK(dropped.serialize() == kept.serialize());
    insecure_seeded_generator g(1);
    accountant<basic_composition> acct(approx_dp{1, 0});
    CHECK_THROWS_AS(kept.release(acct, laplace_noise{epsilon{1}}, 1.5, g, "x"), invalid_argument);
    CHECK(acct.ledger().empty());
}
