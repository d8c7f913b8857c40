// Permute-and-flip: exact selection frequencies, the e^epsilon ratio between
// neighbours, top-k peeling, and bad parameters.
#include <dpkit/accounting.hpp>
#include <dpkit/mechanisms/exponential.hpp>
#include <dpkit/mechanisms/noisy_max.hpp>
#include <dpkit/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <set>
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

// The exact permute-and-flip pmf for the mechanism's own rational factor, by
// enumerating every order of the candidates (n <= 7).
std::vector<double> pf_pmf(const exponential_mechanism& m, const std::vector<std::int64_t>& q) {
    const std::int64_t best = *std::max_element(q.begin(), q.end());
    std::vector<double> stop(q.size());
    for (std::size_t i = 0; i < q.size(); ++i) stop[i] = std::exp(-m.gamma(best, q[i]).to_double());
    std::vector<std::size_t> order(q.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::vector<double> pmf(q.size(), 0.0);
    double perms = 0;
    do {
        double reach = 1;
        for (std::size_t r : order) {
            pmf[r] += reach * stop[r];
            reach *= 1 - stop[r];
            if (reach == 0) break;
        }
        perms += 1;
    } while (std::next_permutation(order.begin(), order.end()));
    for (double& p : pmf) p /= perms;
    return pmf;
}

// A naive floating-point softmax exponential mechanism (the positive control).
std::size_t softmax(const std::vector<std::int64_t>& q, double eps, std::mt19937_64& rng) {
    std::vector<double> w(q.size());
    for (std::size_t i = 0; i < q.size(); ++i) w[i] = std::exp(eps * static_cast<double>(q[i]) / 2);
    std::discrete_distribution<std::size_t> d(w.begin(), w.end());
    return d(rng);
}

}  // namespace

TEST_CASE("permute-and-flip selects with its exact probabilities", "[exponential][statistical]") {
    // G-test at alpha = 1e-6 (false-failure rate 1e-6), 2e5 samples.
    const std::vector<std::int64_t> scores = {0, -1, -2, -5, 3, 2};
    const exponential_mechanism m(epsilon{1}, score_sensitivity{1});
    const auto pmf = pf_pmf(m, scores);
    insecure_seeded_generator g(21);
    std::vector<std::int64_t> picks;
    for (int i = 0; i < 200000; ++i) picks.push_back(static_cast<std::int64_t>(m(std::span<const std::int64_t>(scores), g)));
    auto p_of = [&](std::int64_t k) { return k >= 0 && k < 6 ? pmf[static_cast<std::size_t>(k)] : 0.0; };
    CHECK(dpkit_test::g_test(picks, p_of, 4).p_value > false_failure_rate);
    SECTION("positive control: a float softmax sampler at epsilon 1.3 is rejected") {
        std::mt19937_64 rng(5);
        std::vector<std::int64_t> wrong;
        for (int i = 0; i < 200000; ++i) wrong.push_back(static_cast<std::int64_t>(softmax(scores, 1.3, rng)));
        CHECK(dpkit_test::g_test(wrong, p_of, 4).p_value < false_failure_rate);
    }
    SECTION("the factor is epsilon / (2 Delta) rounded down, never up") {
        CHECK(m.factor().to_double() <= 0.5);
        CHECK(m.factor().to_double() > 0.5 * (1 - 1e-11));
        CHECK(exponential_mechanism(epsilon{0.1}, score_sensitivity{3}).factor().to_double() <= 0.1 / 6);
    }
}

TEST_CASE("permute-and-flip: neighbours' selection probabilities differ by at most e^epsilon", "[exponential][statistical]") {
    // Neighbouring score vectors (each score moves by at most Delta = 1). The
    // Clopper-Pearson test at confidence 1 - 1e-6 per candidate never proves a
    // ratio above e^epsilon for the real mechanism, and does for a broken one
    // that uses epsilon / Delta instead of epsilon / (2 Delta).
    const std::vector<std::int64_t> d0 = {0, 0, 0, 0};
    const std::vector<std::int64_t> d1 = {1, -1, -1, -1};
    const double eps = 1.0;
    const std::uint64_t n = 200000;
    auto proven_ratio = [&](const exponential_mechanism& m, std::uint64_t seed) {
        insecure_seeded_generator g(seed);
        std::vector<std::uint64_t> c0(4, 0), c1(4, 0);
        for (std::uint64_t i = 0; i < n; ++i) {
            ++c0[m(std::span<const std::int64_t>(d0), g)];
            ++c1[m(std::span<const std::int64_t>(d1), g)];
        }
        double worst = 0;
        for (std::size_t r = 0; r < 4; ++r) {
            worst = std::max(worst, cp_lower(c1[r], n, 1e-6) / cp_upper(c0[r], n, 1e-6));
            worst = std::max(worst, cp_lower(c0[r], n, 1e-6) / cp_upper(c1[r], n, 1e-6));
        }
        return std::log(worst);
    };
    const double real = proven_ratio(exponential_mechanism(epsilon{eps}, score_sensitivity{1}), 31);
    CHECK(real <= eps);
    CHECK(real > 0.5);  // the neighbours are far apart: the test has power
    // Positive control: epsilon 2 per score unit (what dropping the 2 in 2 Delta does).
    const double broken = proven_ratio(exponential_mechanism(epsilon{2 * eps}, score_sensitivity{1}), 32);
    CHECK(broken > eps);
}

TEST_CASE("top-k peeling returns distinct indices and costs epsilon in total", "[exponential]") {
    insecure_seeded_generator g(41);
    const std::vector<std::int64_t> scores = {100, 3, 90, 1, 95, 2, 0};
    const top_k_selection top(epsilon{3}, score_sensitivity{1}, selections{3});
    std::size_t exact_hits = 0;
    for (int t = 0; t < 200; ++t) {
        const auto picked = top(std::span<const std::int64_t>(scores), g);
        REQUIRE(picked.size() == 3);
        CHECK(std::set<std::size_t>(picked.begin(), picked.end()).size() == 3);
        exact_hits += std::set<std::size_t>(picked.begin(), picked.end()) == std::set<std::size_t>{0, 2, 4};
    }
    CHECK(exact_hits > 190);  // gaps of 85+ at epsilon 1 per round: the top three almost surely
    // The rounds' booked decimals add up to at most the total.
    for (double eps : {1.0, 0.3, 0.7, 2.0}) {
        for (std::size_t k : {std::size_t{1}, std::size_t{3}, std::size_t{7}}) {
            const top_k_selection t(epsilon{eps}, score_sensitivity{1}, selections{k});
            accountant<basic_composition> acct(approx_dp{eps, 0}, "exact");
            for (std::size_t i = 0; i < k; ++i) REQUIRE(acct.try_spend(t.round().cost(), "round"));
        }
    }
    CHECK_THROWS_WITH(top(std::span<const std::int64_t>(scores.data(), 2), g),
                      "dpkit::top_k_selection: there must be at least k candidates (got 2)");
}

TEST_CASE("top-k peeling reports rankings with their exact probabilities", "[exponential][statistical]") {
    // Top 2 of 3 at epsilon 2 (factor 1/2 per round) against mpmath
    // (tests/data/make_noisy_max.py); G-test at alpha = 1e-6, 1e5 samples.
    std::vector<double> p;
    for (const auto& row : dpkit_test::read_csv(std::string(DPKIT_TEST_DATA) + "/noisy_max_probabilities.csv")) {
        if (row.at("case") == "peel2") p.push_back(dpkit_test::number(row, "probability"));
    }
    REQUIRE(p.size() == 6);
    auto p_of = [&](std::int64_t c) { return c >= 0 && c < 6 ? p[static_cast<std::size_t>(c)] : 0.0; };
    // Code of the ordered pair (a, b), a != b in 0..2, in the table's order.
    auto code = [](const std::vector<std::size_t>& r) { return static_cast<std::int64_t>(2 * r[0] + (r[1] > r[0] ? r[1] - 1 : r[1])); };
    const std::vector<std::int64_t> scores = {2, 0, -1};
    const top_k_selection peel(epsilon{2}, score_sensitivity{1}, selections{2});
    REQUIRE(peel.round().factor() == rational(1, 2));
    insecure_seeded_generator g(45);
    std::vector<std::int64_t> picks, control;
    for (int i = 0; i < 100000; ++i) picks.push_back(code(peel(std::span<const std::int64_t>(scores), g)));
    CHECK(dpkit_test::g_test(picks, p_of, 0).p_value > false_failure_rate);
    // Positive control: one-shot top-2 with geometric noise at the same epsilon,
    // whose ranking probabilities differ from peeling's by at most 0.016.
    const oneshot_top_k oneshot(epsilon{2}, score_sensitivity{1}, selections{2}, selection_noise::geometric);
    for (int i = 0; i < 100000; ++i) control.push_back(code(oneshot(std::span<const std::int64_t>(scores), g)));
    CHECK(dpkit_test::g_test(control, p_of, 0).p_value < false_failure_rate);
}

TEST_CASE("top-k peeling's per-round epsilon is the largest whose k booked decimals fit", "[exponential]") {
    // The rule top_k_selection used before it shared detail::fit_down with
    // split_amount, written out here: the refactor must not change a round's epsilon.
    auto reference = [](double eps, std::size_t k) {
        double each = detail::div_down(eps, static_cast<double>(k));
        const auto whole = detail::exact_decimal::declared(eps);
        const auto times = detail::exact_decimal::exactly(static_cast<double>(k));
        while (each > 0 && !(detail::exact_decimal::declared(each) * times <= whole)) each = std::nextafter(each, 0.0);
        return each;
    };
    for (double eps : {1e-300, 0.1, 0.3, 0.7, 1.0, 2.0, 3.3, 709.78, 1e300}) {
        for (std::size_t k : {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{1000000}}) {
            INFO("epsilon " << eps << " k " << k);
            CHECK(top_k_selection(epsilon{eps}, score_sensitivity{1}, selections{k}).round().epsilon() == reference(eps, k));
        }
    }
}

TEST_CASE("the exponential mechanism refuses bad parameters and survives extreme scores", "[exponential][errors]") {
    CHECK_THROWS_WITH(exponential_mechanism(epsilon{0}, score_sensitivity{1}),
                      "dpkit::exponential_mechanism: epsilon must be finite and > 0 (got 0)");
    CHECK_THROWS_WITH(exponential_mechanism(epsilon{1}, score_sensitivity{-1}),
                      "dpkit::exponential_mechanism: score_sensitivity must be finite and > 0 (got -1)");
    CHECK_THROWS_WITH(top_k_selection(epsilon{1}, score_sensitivity{1}, selections{0}),
                      "dpkit::top_k_selection: k must be >= 1 (got 0)");
    const exponential_mechanism m(epsilon{1}, score_sensitivity{1});
    insecure_seeded_generator g(51);
    const std::vector<std::int64_t> none;
    CHECK_THROWS_WITH(m(std::span<const std::int64_t>(none), g), "dpkit::exponential_mechanism: there must be at least one candidate");
    // Scores at the int64 limits: the gap saturates at 2^62 and the best still wins.
    const std::vector<std::int64_t> wide = {INT64_MIN, INT64_MAX, 0};
    for (int i = 0; i < 100; ++i) CHECK(m(std::span<const std::int64_t>(wide), g) == 1);
    // Huge epsilon: the best always wins; tiny epsilon: close to uniform, never a crash.
    const exponential_mechanism sharp(epsilon{1e300}, score_sensitivity{1});
    const std::vector<std::int64_t> two = {0, 1};
    for (int i = 0; i < 100; ++i) CHECK(sharp(std::span<const std::int64_t>(two), g) == 1);
    const exponential_mechanism flat(epsilon{1e-300}, score_sensitivity{1});
    int ones = 0;
    for (int i = 0; i < 2000; ++i) ones += static_cast<int>(flat(std::span<const std::int64_t>(two), g));
    CHECK(std::abs(ones - 1000) < 5 * 23);  // Binomial(2000, 1/2) within 5 sd
}
