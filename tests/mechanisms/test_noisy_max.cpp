// Report-noisy-max and one-shot top-k with exact discrete noise: selection
// frequencies against exact probabilities (tests/data/make_noisy_max.py), the
// e^epsilon ratio between neighbours, the noise scale at extreme parameters,
// valid outputs, the accountant, and bad parameters.
//
// Each G-test and binomial test rejects a correct sampler with probability
// 1e-6; each Clopper-Pearson bound fails with probability 1e-6, so a ratio
// check over c outcomes fails with probability at most 2c 1e-6. In all (6
// G-tests, 4 binomial tests, 2 ratio checks over 2 outcomes and 2 over 6), a
// correct implementation fails this file with probability below 5e-5 over the
// choice of the fixed seeds (a run is deterministic).
#include <dpkit/accounting.hpp>
#include <dpkit/mechanisms/exponential.hpp>
#include <dpkit/mechanisms/noisy_max.hpp>
#include <dpkit/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../support/csv.hpp"
#include "../support/dpkit_catch.hpp"
#include "../support/stats.hpp"

using namespace dpkit;
using dpkit_test::cp_lower;
using dpkit_test::cp_upper;
using dpkit_test::false_failure_rate;

namespace {

const std::string data_dir = DPKIT_TEST_DATA;

std::vector<std::int64_t> parse_scores(const std::string& text) {
    std::vector<std::int64_t> out;
    std::istringstream in(text);
    for (std::int64_t v; in >> v;) out.push_back(v);
    return out;
}

selection_noise parse_noise(const std::string& s) {
    return s == "geometric" ? selection_noise::geometric : selection_noise::discrete_laplace;
}

// Exact probabilities of one case of noisy_max_probabilities.csv, in file order.
std::vector<double> table(const std::string& name, const std::string& noise, const std::string& scores) {
    std::vector<double> p;
    for (const auto& row : dpkit_test::read_csv(data_dir + "/noisy_max_probabilities.csv")) {
        if (row.at("case") == name && row.at("noise") == noise && row.at("scores") == scores) {
            p.push_back(dpkit_test::number(row, "probability"));
        }
    }
    REQUIRE(!p.empty());
    return p;
}

// G-test p-value of outcome codes 0..p.size()-1 against p.
double fit(const std::vector<std::int64_t>& codes, const std::vector<double>& p) {
    auto p_of = [&](std::int64_t k) { return k >= 0 && k < static_cast<std::int64_t>(p.size()) ? p[static_cast<std::size_t>(k)] : 0.0; };
    const auto best = std::max_element(p.begin(), p.end()) - p.begin();
    return dpkit_test::g_test(codes, p_of, best).p_value;
}

template <class M>
std::vector<std::int64_t> rnm_samples(const M& m, const std::vector<std::int64_t>& q, int n, std::uint64_t seed) {
    insecure_seeded_generator g(seed);
    std::vector<std::int64_t> out;
    for (int i = 0; i < n; ++i) out.push_back(static_cast<std::int64_t>(m(std::span<const std::int64_t>(q), g)));
    return out;
}

// Code of an ordered pair (a, b) of distinct indices in 0..2, in the table's order.
std::int64_t pair_code(std::size_t a, std::size_t b) { return static_cast<std::int64_t>(2 * a + (b > a ? b - 1 : b)); }

std::vector<std::int64_t> top2_samples(const oneshot_top_k& m, const std::vector<std::int64_t>& q, int n, std::uint64_t seed) {
    insecure_seeded_generator g(seed);
    std::vector<std::int64_t> out;
    for (int i = 0; i < n; ++i) {
        const auto r = m(std::span<const std::int64_t>(q), g);
        out.push_back(pair_code(r[0], r[1]));
    }
    return out;
}

// The largest log-ratio of outcome probabilities that Clopper-Pearson bounds
// (confidence 1 - 1e-6 each) prove from counts c0, c1 of n draws each.
double proven_log_ratio(const std::vector<std::uint64_t>& c0, const std::vector<std::uint64_t>& c1, std::uint64_t n) {
    double worst = 0;
    for (std::size_t r = 0; r < c0.size(); ++r) {
        worst = std::max(worst, cp_lower(c1[r], n, 1e-6) / cp_upper(c0[r], n, 1e-6));
        worst = std::max(worst, cp_lower(c0[r], n, 1e-6) / cp_upper(c1[r], n, 1e-6));
    }
    return std::log(worst);
}

// The exact decimal of a rational whose numerator and denominator fit 64 bits.
detail::exact_decimal decimal_of(detail::u128 v) {
    const auto hi = static_cast<std::uint64_t>(v >> 32);
    const auto lo = static_cast<std::uint64_t>(v & 0xffffffffu);
    return detail::exact_decimal::exactly(static_cast<double>(hi)) * detail::exact_decimal::exactly(0x1p32) +
           detail::exact_decimal::exactly(static_cast<double>(lo));
}

// The message of the dpkit::invalid_argument that f throws ("" if none).
template <class F>
std::string message_of(F f) {
    try {
        f();
    } catch (const dpkit::invalid_argument& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("report-noisy-max selects with its exact probabilities", "[noisy_max][statistical]") {
    // Scale 2 = 2 Delta / epsilon (epsilon 1), or 1 = Delta / epsilon (monotone).
    struct spec {
        std::string noise;
        std::string scores;
        score_monotonicity monotonicity;
        std::uint64_t seed;
    };
    const std::vector<spec> cases = {{"discrete_laplace", "0 -1 -2 -5 3 2", score_monotonicity::arbitrary, 61},
                                     {"geometric", "0 -1 -2 -5 3 2", score_monotonicity::arbitrary, 62},
                                     {"discrete_laplace", "3 3 1 0", score_monotonicity::monotone, 63},
                                     {"geometric", "3 3 1 0", score_monotonicity::monotone, 64}};
    for (const auto& c : cases) {
        INFO(c.noise << " on " << c.scores);
        const auto q = parse_scores(c.scores);
        const auto p = table("rnm", c.noise, c.scores);
        const report_noisy_max m(epsilon{1}, score_sensitivity{1}, parse_noise(c.noise), c.monotonicity);
        CHECK(m.scale() == rational(c.monotonicity == score_monotonicity::monotone ? 1 : 2));
        CHECK(fit(rnm_samples(m, q, 100000, c.seed), p) > false_failure_rate);
        // Positive control: the same mechanism at epsilon 1.3 is rejected by the same test.
        const report_noisy_max wrong(epsilon{1.3}, score_sensitivity{1}, parse_noise(c.noise), c.monotonicity);
        CHECK(fit(rnm_samples(wrong, q, 100000, c.seed + 100), p) < false_failure_rate);
    }
}

TEST_CASE("report-noisy-max breaks ties uniformly and survives extreme scores", "[noisy_max]") {
    insecure_seeded_generator g(71);
    // Huge epsilon: no noise in effect, so the tied best four are chosen uniformly (binomial z-tests).
    const report_noisy_max sharp(epsilon{1e300}, score_sensitivity{1});
    const std::vector<std::int64_t> tied = {5, 9, 9, 1, 9, 9};
    std::vector<std::uint64_t> counts(6, 0);
    const std::uint64_t n = 40000;
    for (std::uint64_t i = 0; i < n; ++i) ++counts[sharp(std::span<const std::int64_t>(tied), g)];
    CHECK(counts[0] + counts[3] == 0);
    for (std::size_t i : {std::size_t{1}, std::size_t{2}, std::size_t{4}, std::size_t{5}}) CHECK(dpkit_test::binomial_p_value(counts[i], n, 0.25) > false_failure_rate);
    // Scores at the int64 limits: noisy sums are exact, the best still wins at a sharp epsilon.
    const std::vector<std::int64_t> wide = {INT64_MIN, INT64_MAX, 0, INT64_MAX - 1000};
    for (int i = 0; i < 100; ++i) CHECK(report_noisy_max(epsilon{100}, score_sensitivity{1})(std::span<const std::int64_t>(wide), g) == 1);
    const report_noisy_max one(epsilon{1}, score_sensitivity{1}, selection_noise::geometric);
    const std::vector<std::int64_t> single = {INT64_MIN};
    CHECK(one(std::span<const std::int64_t>(single), g) == 0);
}

TEST_CASE("report-noisy-max: neighbours' selection probabilities differ by at most e^epsilon", "[noisy_max][statistical]") {
    // Neighbours with every score moving by Delta = 1 in opposite directions.
    // The correct calibration (scale 2 Delta / epsilon) never proves a ratio
    // above e^epsilon; the monotone calibration (Delta / epsilon), wrongly used
    // on these non-monotone neighbours, does (true log-ratios 1.35 and 2).
    const std::vector<std::int64_t> d0 = {0, 0};
    const std::vector<std::int64_t> d1 = {1, -1};
    const std::uint64_t n = 200000;
    auto proven = [&](const report_noisy_max& m, std::uint64_t seed) {
        insecure_seeded_generator g(seed);
        std::vector<std::uint64_t> c0(2, 0), c1(2, 0);
        for (std::uint64_t i = 0; i < n; ++i) {
            ++c0[m(std::span<const std::int64_t>(d0), g)];
            ++c1[m(std::span<const std::int64_t>(d1), g)];
        }
        return proven_log_ratio(c0, c1, n);
    };
    for (auto noise : {selection_noise::discrete_laplace, selection_noise::geometric}) {
        INFO("noise " << static_cast<int>(noise));
        const double real = proven(report_noisy_max(epsilon{1}, score_sensitivity{1}, noise), 81);
        CHECK(real <= 1.0);
        CHECK(real > 0.5);  // true log-ratios 0.60 (Laplace) and 1 (geometric, tight): the test has power
        const double broken = proven(report_noisy_max(epsilon{1}, score_sensitivity{1}, noise, score_monotonicity::monotone), 82);
        CHECK(broken > 1.0);
    }
}

TEST_CASE("one-shot top-k reports rankings with their exact probabilities", "[noisy_max][statistical]") {
    // Top 2 of 3 at epsilon 2, Delta 1: scale 2 k Delta / epsilon = 2.
    const std::vector<std::int64_t> q = {2, 0, -1};
    std::uint64_t seed = 91;
    for (const std::string noise : {"discrete_laplace", "geometric"}) {
        INFO(noise);
        const auto p = table("top2", noise, "2 0 -1");
        const oneshot_top_k m(epsilon{2}, score_sensitivity{1}, selections{2}, parse_noise(noise));
        CHECK(m.scale() == rational(2));
        CHECK(fit(top2_samples(m, q, 100000, seed++), p) > false_failure_rate);
        // Positive control: epsilon 2.6 is rejected.
        const oneshot_top_k wrong(epsilon{2.6}, score_sensitivity{1}, selections{2}, parse_noise(noise));
        CHECK(fit(top2_samples(wrong, q, 100000, seed++), p) < false_failure_rate);
    }
}

TEST_CASE("one-shot top-k: neighbours' ranking probabilities differ by at most e^epsilon", "[noisy_max][statistical]") {
    // Top 2 of 3 at epsilon 1 (scale 4). With geometric noise the bound is
    // tight (true log-ratio exactly 1 on these neighbours), yet never proven
    // exceeded; a calibration that ignores k (scale 2 Delta / epsilon, true log-ratio 2) is caught.
    const std::vector<std::int64_t> d0 = {0, 0, 0};
    const std::vector<std::int64_t> d1 = {1, -1, -1};
    const std::uint64_t n = 200000;
    auto proven = [&](const oneshot_top_k& m, std::uint64_t seed) {
        insecure_seeded_generator g(seed);
        std::vector<std::uint64_t> c0(6, 0), c1(6, 0);
        for (std::uint64_t i = 0; i < n; ++i) {
            const auto r0 = m(std::span<const std::int64_t>(d0), g);
            const auto r1 = m(std::span<const std::int64_t>(d1), g);
            ++c0[static_cast<std::size_t>(pair_code(r0[0], r0[1]))];
            ++c1[static_cast<std::size_t>(pair_code(r1[0], r1[1]))];
        }
        return proven_log_ratio(c0, c1, n);
    };
    const double real = proven(oneshot_top_k(epsilon{1}, score_sensitivity{1}, selections{2}, selection_noise::geometric), 101);
    CHECK(real <= 1.0);
    CHECK(real > 0.8);
    const double laplace = proven(oneshot_top_k(epsilon{1}, score_sensitivity{1}, selections{2}), 102);
    CHECK(laplace <= 1.0);
    const double broken = proven(oneshot_top_k(epsilon{2}, score_sensitivity{1}, selections{2}, selection_noise::geometric), 103);
    CHECK(broken > 1.0);
}

TEST_CASE("one-shot top-k returns k distinct indices, and higher scores win", "[noisy_max]") {
    insecure_seeded_generator g(111);
    std::mt19937_64 rng(7);
    for (std::size_t n : {1u, 2u, 5u, 50u, 1000u}) {
        std::vector<std::int64_t> q(n);
        for (auto& v : q) v = static_cast<std::int64_t>(rng() % 2001) - 1000;
        for (std::size_t k : {std::size_t{1}, std::size_t{2}, n / 2 + 1, n}) {
            if (k > n) continue;
            const oneshot_top_k m(epsilon{0.5}, score_sensitivity{3}, selections{k});
            const auto r = m(std::span<const std::int64_t>(q), g);
            REQUIRE(r.size() == k);
            CHECK(std::set<std::size_t>(r.begin(), r.end()).size() == k);
            CHECK(*std::max_element(r.begin(), r.end()) < n);
        }
    }
    // Sharp epsilon: the true top 3 of well-separated scores, in order, every time.
    const std::vector<std::int64_t> q = {100, 3, 900, 1, 500, 2, 0};
    const oneshot_top_k sharp(epsilon{1e6}, score_sensitivity{1}, selections{3});
    for (int i = 0; i < 50; ++i) CHECK(sharp(std::span<const std::int64_t>(q), g) == std::vector<std::size_t>{2, 4, 0});
    CHECK_THROWS_WITH(sharp(std::span<const std::int64_t>(q.data(), 2), g),
                      "dpkit::oneshot_top_k: there must be at least k candidates (got 2)");
}

TEST_CASE("noisy-max noise scales bound the paper's formula at extreme parameters", "[noisy_max][refs]") {
    // Every row: the scale b satisfies m k Delta / b <= epsilon's decimal exactly
    // (the loss bound of the file comment, so cost() = epsilon is an upper bound),
    // and b is within 1e-12 of the mpmath value unless raised to 2^-62; a scale
    // above 2^56 is refused, naming epsilon.
    std::size_t checked = 0, refused = 0;
    for (const auto& row : dpkit_test::read_csv(data_dir + "/noisy_max_scales.csv")) {
        const double eps = dpkit_test::number(row, "epsilon");
        const double delta = dpkit_test::number(row, "score_sensitivity");
        const auto k = static_cast<std::size_t>(dpkit_test::number(row, "k"));
        const auto mono = row.at("monotone") == "1" ? score_monotonicity::monotone : score_monotonicity::arbitrary;
        const double expected = std::strtod(row.at("scale").c_str(), nullptr);  // may overflow to inf
        INFO("epsilon " << row.at("epsilon") << " Delta " << row.at("score_sensitivity") << " k " << k << " monotone "
                        << row.at("monotone"));
        if (!(expected <= 0x1p56 * (1 - 1e-12))) {
            CHECK(message_of([&] { oneshot_top_k(epsilon{eps}, score_sensitivity{delta}, selections{k}, selection_noise::discrete_laplace, mono); })
                      .starts_with("dpkit::oneshot_top_k: epsilon must be >= 2 k score_sensitivity / 2^56"));
            if (k == 1) {
                CHECK(message_of([&] { report_noisy_max(epsilon{eps}, score_sensitivity{delta}, selection_noise::geometric, mono); })
                          .starts_with("dpkit::report_noisy_max: epsilon must be >= 2 k score_sensitivity / 2^56"));
            }
            ++refused;
            continue;
        }
        for (auto noise : {selection_noise::discrete_laplace, selection_noise::geometric}) {
            const oneshot_top_k m(epsilon{eps}, score_sensitivity{delta}, selections{k}, noise, mono);
            CHECK(m.cost() == pure_dp{eps});
            const rational& b = m.scale();
            const double factor = (mono == score_monotonicity::monotone ? 1.0 : 2.0) * static_cast<double>(k);  // exact
            const auto lhs = detail::exact_decimal::exactly(factor) * detail::exact_decimal::exactly(delta) * decimal_of(b.denominator());
            const auto rhs = detail::exact_decimal::declared(eps) * decimal_of(b.numerator());
            CHECK(lhs <= rhs);
            if (expected >= 0x1p-62) {
                CHECK(b.to_double() >= expected * (1 - 1e-15));
                CHECK(b.to_double() <= expected * (1 + 1e-12));
            } else {
                CHECK(b == rational(detail::u128{1}, detail::u128{1} << 62, 0));
            }
            if (k == 1) CHECK(report_noisy_max(epsilon{eps}, score_sensitivity{delta}, noise, mono).scale() == b);
        }
        ++checked;
    }
    CHECK(checked > 80);
    CHECK(refused > 10);
}

TEST_CASE("noisy-max selections are spent like the exponential mechanism", "[noisy_max][accounting]") {
    const report_noisy_max rnm(epsilon{0.6}, score_sensitivity{1});
    const oneshot_top_k top(epsilon{0.4}, score_sensitivity{1}, selections{10});
    CHECK(basic_composition::cost_of(rnm) == pure_dp{0.6});
    CHECK(zcdp_composition::cost_of(top) == pure_dp{0.4});
    accountant<basic_composition> acct(approx_dp{1, 0}, "exact");
    acct.spend(rnm.cost(), "most common");
    acct.spend(top.cost(), "top 10");
    CHECK_FALSE(acct.try_spend(report_noisy_max(epsilon{1e-9}, score_sensitivity{1}).cost(), "one more"));
}

TEST_CASE("noisy-max mechanisms refuse bad parameters", "[noisy_max][errors]") {
    CHECK_THROWS_WITH(report_noisy_max(epsilon{0}, score_sensitivity{1}),
                      "dpkit::report_noisy_max: epsilon must be finite and > 0 (got 0)");
    CHECK_THROWS_WITH(report_noisy_max(epsilon{1}, score_sensitivity{-1}),
                      "dpkit::report_noisy_max: score_sensitivity must be finite and > 0 (got -1)");
    CHECK_THROWS_WITH(report_noisy_max(epsilon{1}, score_sensitivity{INFINITY}),
                      "dpkit::report_noisy_max: score_sensitivity must be finite and > 0 (got inf)");
    CHECK_THROWS_WITH(report_noisy_max(epsilon{1}, score_sensitivity{1}, static_cast<selection_noise>(7)),
                      "dpkit::report_noisy_max: noise must be discrete_laplace or geometric (got 7)");
    CHECK_THROWS_WITH(oneshot_top_k(epsilon{1}, score_sensitivity{1}, selections{2}, selection_noise::geometric,
                                    static_cast<score_monotonicity>(9)),
                      "dpkit::oneshot_top_k: monotonicity must be arbitrary or monotone (got 9)");
    CHECK_THROWS_WITH(oneshot_top_k(epsilon{NAN}, score_sensitivity{1}, selections{2}),
                      "dpkit::oneshot_top_k: epsilon must be finite and > 0 (got nan)");
    CHECK_THROWS_WITH(oneshot_top_k(epsilon{1}, score_sensitivity{1}, selections{0}), "dpkit::oneshot_top_k: k must be >= 1 (got 0)");
    CHECK(message_of([] { oneshot_top_k(epsilon{1}, score_sensitivity{1e300}, selections{1000000}); }) ==
          "dpkit::oneshot_top_k: epsilon must be >= 2 k score_sensitivity / 2^56 (k score_sensitivity / 2^56 if monotone) (got 1)");
    const report_noisy_max m(epsilon{1}, score_sensitivity{1});
    insecure_seeded_generator g(121);
    const std::vector<std::int64_t> none;
    CHECK_THROWS_WITH(m(std::span<const std::int64_t>(none), g), "dpkit::report_noisy_max: there must be at least one candidate");
}
