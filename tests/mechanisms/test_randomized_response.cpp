// Randomized response: response probabilities, the ln 3 survey, unbiased estimators, errors.
#include <dpkit/mechanisms/randomized_response.hpp>
#include <dpkit/random.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../support/dpkit_catch.hpp"
#include "../support/stats.hpp"

using namespace dpkit;
using dpkit_test::false_failure_rate;

namespace {

/// Noisy yes-count for a population with `true_yes` of `n` saying yes.
std::size_t survey(const randomized_response& rr, std::size_t true_yes, std::size_t n, std::uint64_t seed) {
    insecure_seeded_generator g(seed);
    std::size_t yes = 0;
    for (std::size_t i = 0; i < n; ++i) yes += rr(i < true_yes, g) ? 1u : 0u;
    return yes;
}

// |z| > 4.89 has two-sided probability 1e-6 (the suite's false-failure rate).
constexpr double z_limit = 4.89;

}  // namespace

TEST_CASE("the two-coin survey is exactly ln 3-DP", "[randomized_response]") {
    const auto rr = randomized_response::coin_flips(rational(1, 2), rational(1, 2));
    CHECK(rr.epsilon() >= std::log(3.0));
    CHECK(rr.epsilon() == dpkit_test::approx(std::log(3.0)).epsilon(1e-15));
    CHECK(rr.cost().epsilon == rr.epsilon());
    CHECK(rr.p_yes_given_yes() == 0.75);
    CHECK(rr.p_yes_given_no() == 0.25);
    // Another survey: truthful with 3/4, else "yes" with 1/3: P[yes|yes] = 5/6, P[yes|no] = 1/12.
    const auto other = randomized_response::coin_flips(rational(3, 4), rational(1, 3));
    CHECK(other.epsilon() == dpkit_test::approx(std::log(10.0)).epsilon(1e-15));
}

TEST_CASE("epsilon randomized response tells the truth with probability e^eps / (1 + e^eps)", "[randomized_response][statistical]") {
    for (double eps : {0.5, std::log(3.0), 2.0}) {
        const randomized_response rr(epsilon{eps});
        const double p = std::exp(eps) / (1 + std::exp(eps));
        CHECK(rr.p_yes_given_yes() == dpkit_test::approx(p).epsilon(1e-15));
        const auto kept = survey(rr, 200000, 200000, 21);
        INFO("eps " << eps);
        CHECK(dpkit_test::binomial_p_value(kept, 200000, p) > false_failure_rate);
    }
    SECTION("positive control: truth probability 0.75 is told apart from eps = 1.2 (0.769)") {
        const randomized_response rr(epsilon{std::log(3.0)});
        const auto kept = survey(rr, 200000, 200000, 22);
        CHECK(dpkit_test::binomial_p_value(kept, 200000, std::exp(1.2) / (1 + std::exp(1.2))) < false_failure_rate);
    }
}

TEST_CASE("the randomized-response estimator is unbiased, with the stated variance", "[randomized_response][statistical]") {
    const std::size_t n = 100000;
    const std::size_t true_yes = 23000;  // 23% smokers
    const double truth = 0.23;
    const auto two_coin = randomized_response::coin_flips(rational(1, 2), rational(1, 2));
    const randomized_response by_eps(epsilon{1.0});
    for (const auto* rr : {&two_coin, &by_eps}) {
        const auto est = rr->estimate(survey(*rr, true_yes, n, 23), n);
        const double exact_sd = std::sqrt(rr->estimator_variance(truth, n));
        CHECK(est.std_error() == dpkit_test::approx(exact_sd).epsilon(0.02));
        CHECK(std::fabs(est.value - truth) / exact_sd < z_limit);
    }
    SECTION("positive control: the raw noisy proportion is biased and fails the same check") {
        const auto yes = survey(two_coin, true_yes, n, 23);
        const double raw = static_cast<double>(yes) / n;
        CHECK(std::fabs(raw - truth) / std::sqrt(two_coin.estimator_variance(truth, n)) > z_limit);
    }
    SECTION("the variance is right: 400 repeated surveys") {
        const std::size_t small_n = 2000;
        std::vector<double> estimates;
        for (std::uint64_t rep = 0; rep < 400; ++rep) {
            estimates.push_back(two_coin.estimate(survey(two_coin, 460, small_n, 1000 + rep), small_n).value);
        }
        double mean = 0;
        for (double e : estimates) mean += e;
        mean /= 400;
        double var = 0;
        for (double e : estimates) var += (e - mean) * (e - mean);
        var /= 399;
        const double expected = two_coin.estimator_variance(0.23, small_n);
        // (399 var / expected) ~ chi^2_399: outside [280, 540] has probability < 1e-6.
        CHECK(399 * var / expected > 280);
        CHECK(399 * var / expected < 540);
        CHECK(std::fabs(mean - 0.23) / std::sqrt(expected / 400) < z_limit);
    }
}

TEST_CASE("k-ary randomized response: response frequencies and unbiased estimates", "[randomized_response][statistical]") {
    const generalized_randomized_response<std::string> rr(epsilon{1.5}, {"red", "green", "blue", "other"});
    CHECK(rr.size() == 4);
    CHECK(rr.p_keep() == dpkit_test::approx(std::exp(1.5) / (std::exp(1.5) + 3)).epsilon(1e-15));
    CHECK(rr.p_keep() / rr.p_other() == dpkit_test::approx(std::exp(1.5)).epsilon(1e-12));
    insecure_seeded_generator g(31);
    // Everyone's truth is "green": reports follow (p_other, p_keep, p_other, p_other).
    std::vector<std::int64_t> reports;
    for (int i = 0; i < 100000; ++i) reports.push_back(static_cast<std::int64_t>(rr.index_of(rr("green", g))));
    auto pmf = [&](std::int64_t k) { return k == 1 ? rr.p_keep() : (k >= 0 && k < 4 ? rr.p_other() : 0.0); };
    CHECK(dpkit_test::g_test(reports, pmf, 1).p_value > false_failure_rate);
    SECTION("positive control: the pmf for epsilon 1.3 is rejected") {
        const double e = std::exp(1.3);
        auto wrong = [e](std::int64_t k) { return k == 1 ? e / (e + 3) : (k >= 0 && k < 4 ? 1 / (e + 3) : 0.0); };
        CHECK(dpkit_test::g_test(reports, wrong, 1).p_value < false_failure_rate);
    }
    // Estimates from a mixed population: 50% red, 30% green, 20% blue, 0% other.
    const generalized_randomized_response<> idx(epsilon{1.5}, std::size_t{4});
    std::vector<std::size_t> counts(4, 0);
    const double truth[] = {0.5, 0.3, 0.2, 0.0};
    const std::size_t n = 100000;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t category = i < 50000 ? 0 : (i < 80000 ? 1 : 2);
        counts[idx.respond_index(category, g)] += 1;
    }
    const auto est = idx.estimate(counts);
    for (std::size_t c = 0; c < 4; ++c) {
        const double sd = std::sqrt(idx.estimator_variance(truth[c], n));
        INFO("category " << c);
        CHECK(std::fabs(est[c].value - truth[c]) / sd < z_limit);
        CHECK(est[c].std_error() == dpkit_test::approx(sd).epsilon(0.05));
    }
}

TEST_CASE("randomized response rejects bad parameters with a message", "[randomized_response][errors]") {
    CHECK_THROWS_WITH(randomized_response(epsilon{0}), "dpkit::randomized_response: epsilon must be finite and > 0 (got 0)");
    CHECK_THROWS_WITH(randomized_response::coin_flips(rational(1), rational(1, 2)),
                      "dpkit::randomized_response: p_truthful must be in [0, 1) (got 1)");
    CHECK_THROWS_WITH(randomized_response::coin_flips(rational(1, 2), rational(0)),
                      "dpkit::randomized_response: q_yes must be in (0, 1) (got 0)");
    CHECK_THROWS_WITH(randomized_response(epsilon{1}).estimate(5, 3),
                      "dpkit::randomized_response::estimate: the count must not exceed the number of responses (got 5)");
    CHECK_THROWS_WITH((generalized_randomized_response<int>(epsilon{1}, {1})),
                      "dpkit::generalized_randomized_response: there must be at least 2 categories (got 1)");
    CHECK_THROWS_WITH((generalized_randomized_response<int>(epsilon{1}, {1, 2, 1})),
                      "dpkit::generalized_randomized_response: categories must be distinct");
    const generalized_randomized_response<int> rr(epsilon{1}, {1, 2, 3});
    insecure_seeded_generator g(1);
    CHECK_THROWS_WITH(rr(7, g), "dpkit::generalized_randomized_response: value is not one of the categories");
    const std::vector<std::size_t> two = {1, 2};
    CHECK_THROWS_WITH(rr.estimate(two), "dpkit::generalized_randomized_response::estimate: counts must have one entry per category (got 2)");
}

TEST_CASE("randomized response is finite and usable at extreme epsilons", "[randomized_response]") {
    insecure_seeded_generator g(5);
    for (double eps : {1e-12, 1.0, 50.0, 710.0, 1e4, 1e300}) {
        INFO("epsilon " << eps);
        const randomized_response rr(epsilon{eps});
        CHECK(std::isfinite(rr.p_yes_given_yes()));
        CHECK(std::isfinite(rr.p_yes_given_no()));
        CHECK(rr.p_yes_given_yes() >= rr.p_yes_given_no());
        CHECK(rr.p_yes_given_yes() + rr.p_yes_given_no() == dpkit_test::approx(1.0).epsilon(1e-15));
        const auto est = rr.estimate(30, 100);
        CHECK(std::isfinite(est.value));
        CHECK(std::isfinite(est.variance));
        if (eps >= 50) CHECK(est.value == dpkit_test::approx(0.3).epsilon(1e-12));
        for (std::size_t k : {std::size_t{2}, std::size_t{4}, std::size_t{1000000}}) {
            if (eps < 1e-9 && k > 2) continue;
            const generalized_randomized_response<> krr(epsilon{eps}, k);
            INFO("k " << k);
            CHECK(std::isfinite(krr.p_keep()));
            CHECK(krr.p_other() > 0);  // never 0: the loss stays finite
            CHECK(krr.p_keep() > krr.p_other());
            CHECK(krr.p_keep() + static_cast<double>(k - 1) * krr.p_other() == dpkit_test::approx(1.0).epsilon(1e-12));
            // The likelihood ratio never exceeds e^eps (compare in logs: e^eps may overflow).
            CHECK(std::log(krr.p_keep()) - std::log(krr.p_other()) <= eps * (1 + 1e-12));
            std::vector<std::size_t> counts(k, 0);
            counts[0] = 7;
            counts[1] = 3;
            for (const auto& e : krr.estimate(counts)) CHECK(std::isfinite(e.value));
            CHECK(krr.respond_index(k - 1, g) < k);
        }
    }
}

TEST_CASE("k-ary randomized response costs O(1) per response and O(k log k) to build", "[randomized_response][statistical]") {
    // k = 10^6 at epsilon = 20 took 86 ms per response (a rejection loop of ~k rounds).
    const std::size_t k = 1000000;
    const generalized_randomized_response<> rr(epsilon{20}, k);
    insecure_seeded_generator g(12);
    const int n = 200000;
    int changed = 0;
    for (int i = 0; i < n; ++i) {
        const std::size_t truth = static_cast<std::size_t>(i) % k;
        const std::size_t r = rr.respond_index(truth, g);
        REQUIRE(r < k);
        if (r != truth) ++changed;
    }
    // changed ~ Binomial(n, (k-1) p_other); outside 5 standard deviations has probability < 1e-6.
    const double p = static_cast<double>(k - 1) * rr.p_other();
    const double sd = std::sqrt(n * p * (1 - p));
    CHECK(std::fabs(changed - n * p) < 5 * sd);
    SECTION("positive control: the count is inconsistent with epsilon = 19") {
        const double wrong = static_cast<double>(k - 1) / (std::exp(19.0) + static_cast<double>(k - 1));
        CHECK(std::fabs(changed - n * wrong) > 5 * std::sqrt(n * wrong));
    }
    // A million explicit categories are checked for duplicates by sorting.
    std::vector<long> many(k);
    for (std::size_t i = 0; i < k; ++i) many[i] = static_cast<long>(k - i) * 7;
    const generalized_randomized_response<long> named(epsilon{1}, many);
    CHECK(named.index_of(7) == k - 1);
    many[123456] = many[999];
    CHECK_THROWS_WITH((generalized_randomized_response<long>(epsilon{1}, many)),
                      "dpkit::generalized_randomized_response: categories must be distinct");
    CHECK_THROWS_WITH(generalized_randomized_response<>(epsilon{1}, std::size_t{1} << 62),
                      "dpkit::generalized_randomized_response: there must be at most 2^40 categories (got 4611686018427387904)");
}
