// Goodness of fit of every exact sampler against its exact pmf, at ordinary and
// edge parameters, each with a positive control (a broken sampler must fail).
// Seeds are fixed; each test's false-failure rate over seeds is
// dpkit_test::false_failure_rate (1e-6).
#include <dpkit/random.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "../support/dpkit_catch.hpp"
#include "../support/pmfs.hpp"
#include "../support/stats.hpp"

using dpkit::rational;
using dpkit_test::false_failure_rate;

namespace {

constexpr int n_samples = 100000;

template <class Sampler>
std::vector<std::int64_t> draw(Sampler&& sampler, std::uint64_t seed, int n = n_samples) {
    dpkit::insecure_seeded_generator g(seed);
    std::vector<std::int64_t> out;
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) out.push_back(static_cast<std::int64_t>(sampler(g)));
    return out;
}

template <class Pmf>
double fit(const std::vector<std::int64_t>& samples, Pmf pmf) {
    return dpkit_test::g_test(samples, pmf).p_value;
}

std::uint64_t count_true(std::uint64_t seed, int n, auto trial) {
    dpkit::insecure_seeded_generator g(seed);
    std::uint64_t k = 0;
    for (int i = 0; i < n; ++i) k += trial(g) ? 1u : 0u;
    return k;
}

}  // namespace

TEST_CASE("uniform_below is uniform, including large n and narrow generators", "[samplers][statistical]") {
    for (std::uint64_t n : {2ull, 7ull, 1000ull}) {
        const auto s = draw([n](auto& g) { return dpkit::uniform_below(g, n); }, 11 + n);
        CHECK(fit(s, [n](std::int64_t k) { return (k >= 0 && static_cast<std::uint64_t>(k) < n) ? 1.0 / static_cast<double>(n) : 0.0; }) > false_failure_rate);
    }
    // n = 3 * 2^62: one draw in four is rejected; the three quarters must be equal.
    const std::uint64_t big = 3ull << 62;
    const auto s = draw([big](auto& g) { return dpkit::uniform_below(g, big) >> 62; }, 5);
    auto thirds = [](std::int64_t k) { return (k >= 0 && k < 3) ? 1.0 / 3 : 0.0; };
    CHECK(fit(s, thirds) > false_failure_rate);
    SECTION("positive control: modulo reduction (x % n) is biased and told apart") {
        const auto biased = draw([big](auto& g) { return (g() % big) >> 62; }, 5);
        CHECK(fit(biased, thirds) < false_failure_rate);  // P[0] = 1/2, P[1] = P[2] = 1/4
    }
    // A 32-bit generator and one whose range is not a power of two.
    std::mt19937 mt(3);
    std::minstd_rand lcg(4);
    std::vector<std::int64_t> a;
    std::vector<std::int64_t> b;
    for (int i = 0; i < n_samples; ++i) {
        a.push_back(static_cast<std::int64_t>(dpkit::uniform_below(mt, 10)));
        b.push_back(static_cast<std::int64_t>(dpkit::uniform_below(lcg, 10)));
    }
    auto tenth = [](std::int64_t k) { return (k >= 0 && k < 10) ? 0.1 : 0.0; };
    CHECK(fit(a, tenth) > false_failure_rate);
    CHECK(fit(b, tenth) > false_failure_rate);
    CHECK_THROWS_AS(dpkit::uniform_below(mt, 0), dpkit::invalid_argument);
}

TEST_CASE("bernoulli(p) has probability exactly p", "[samplers][statistical]") {
    CHECK(count_true(1, 1000, [](auto& g) { return dpkit::bernoulli(g, rational(0, 5)); }) == 0);
    CHECK(count_true(1, 1000, [](auto& g) { return dpkit::bernoulli(g, rational(5, 5)); }) == 1000);
    const auto k = count_true(2, n_samples, [](auto& g) { return dpkit::bernoulli(g, rational(1, 3)); });
    CHECK(dpkit_test::binomial_p_value(k, n_samples, 1.0 / 3) > false_failure_rate);
    SECTION("positive control: p = 0.35 is told apart from 1/3") {
        const auto wrong = count_true(2, n_samples, [](auto& g) { return dpkit::bernoulli(g, rational(35, 100)); });
        CHECK(dpkit_test::binomial_p_value(wrong, n_samples, 1.0 / 3) < false_failure_rate);
    }
    dpkit::insecure_seeded_generator g(1);
    CHECK_THROWS_WITH(dpkit::bernoulli(g, rational(4, 3)), "dpkit::bernoulli: p must be in [0, 1] (got 1.3333333333333333)");
}

TEST_CASE("bernoulli_exp(gamma) has probability exactly exp(-gamma)", "[samplers][statistical]") {
    CHECK(count_true(3, 1000, [](auto& g) { return dpkit::bernoulli_exp(g, rational(0)); }) == 1000);
    const rational cases[] = {rational(1, 2), rational(1), rational((1ull << 40) + 1, 1ull << 40), rational(3, 2),
                              rational(37, 10)};
    std::uint64_t seed = 10;
    for (const auto& gamma : cases) {
        const double p = std::exp(-gamma.to_double());
        const auto k = count_true(++seed, 200000, [&](auto& g) { return dpkit::bernoulli_exp(g, gamma); });
        INFO("gamma = " << gamma.to_double());
        CHECK(dpkit_test::binomial_p_value(k, 200000, p) > false_failure_rate);
    }
    // gamma = 50: p = 2e-22, so 2e5 trials see no success (probability of any: 4e-17).
    CHECK(count_true(4, 200000, [](auto& g) { return dpkit::bernoulli_exp(g, rational(50)); }) == 0);
    // A huge numerator and denominator exercise the 128-bit paths.
    const rational wide = rational::exactly(0x1p-70 * 3);  // 3 / 2^70
    const auto k = count_true(5, 1000, [&](auto& g) { return dpkit::bernoulli_exp(g, wide); });
    CHECK(k == 1000);  // exp(-2.5e-21): a failure in 1000 trials has probability 2.5e-18
    SECTION("positive control: exp(-0.525) is told apart from exp(-0.5)") {
        const auto wrong = count_true(12, 200000, [](auto& g) { return dpkit::bernoulli_exp(g, rational(21, 40)); });
        CHECK(dpkit_test::binomial_p_value(wrong, 200000, std::exp(-0.5)) < false_failure_rate);
    }
}

TEST_CASE("geometric_exp_distribution matches (1 - e^-g) e^(-g k)", "[samplers][statistical]") {
    for (const auto& gamma : {rational(1, 3), rational(2), rational(7, 3)}) {
        const dpkit::geometric_exp_distribution dist(gamma);
        const auto s = draw(dist, 20);
        const double gd = gamma.to_double();
        INFO("gamma = " << gd);
        CHECK(fit(s, [gd](std::int64_t k) { return dpkit_test::geometric_exp_pmf(gd, k); }) > false_failure_rate);
    }
    SECTION("positive control: gamma 0.3 is told apart from 1/3") {
        const auto s = draw(dpkit::geometric_exp_distribution(rational(3, 10)), 20);
        CHECK(fit(s, [](std::int64_t k) { return dpkit_test::geometric_exp_pmf(1.0 / 3, k); }) < false_failure_rate);
    }
    CHECK_THROWS_WITH(dpkit::geometric_exp_distribution(rational(0)),
                      "dpkit::geometric_exp_distribution: gamma must be > 0 (got 0)");
}

TEST_CASE("discrete_laplace_distribution matches its pmf at integer and non-integer scales", "[samplers][statistical]") {
    const rational scales[] = {rational(1, 3), rational(1), rational(5, 2), rational::exactly(1000.7)};
    std::uint64_t seed = 30;
    for (const auto& scale : scales) {
        const dpkit::discrete_laplace_distribution dist(scale);
        const auto s = draw(dist, ++seed);
        const double b = scale.to_double();
        INFO("scale = " << b);
        CHECK(fit(s, [b](std::int64_t k) { return dpkit_test::discrete_laplace_pmf(b, k); }) > false_failure_rate);
    }
    SECTION("positive control: scale 1.1 is told apart from scale 1") {
        const auto s = draw(dpkit::discrete_laplace_distribution(rational(11, 10)), 40);
        CHECK(fit(s, [](std::int64_t k) { return dpkit_test::discrete_laplace_pmf(1.0, k); }) < false_failure_rate);
    }
    SECTION("positive control: naive floating-point Laplace, rounded, is told apart") {
        std::mt19937_64 mt(41);
        std::exponential_distribution<double> exponential(1.0);
        std::vector<std::int64_t> s;
        for (int i = 0; i < n_samples; ++i) {
            const double x = (mt() & 1u) ? exponential(mt) : -exponential(mt);
            s.push_back(static_cast<std::int64_t>(std::llround(x)));
        }
        CHECK(fit(s, [](std::int64_t k) { return dpkit_test::discrete_laplace_pmf(1.0, k); }) < false_failure_rate);
    }
    CHECK_THROWS_WITH(dpkit::discrete_laplace_distribution(rational(0)),
                      "dpkit::discrete_laplace_distribution: scale must be > 0 (got 0)");
    CHECK_THROWS_AS(dpkit::discrete_laplace_distribution(rational::exactly(0x1p57)), dpkit::invalid_argument);
}

TEST_CASE("discrete_gaussian_distribution matches its pmf from sigma^2 = 1e-6 to 1e20", "[samplers][statistical]") {
    SECTION("sigma^2 = 1e-6: every sample is 0 (P[nonzero] ~ e^-500000)") {
        const auto s = draw(dpkit::discrete_gaussian_distribution(rational(1, 1000000)), 50, 20000);
        CHECK(std::count(s.begin(), s.end(), 0) == 20000);
    }
    const rational variances[] = {rational(1, 2), rational(1), rational(9, 4), rational(100, 3), rational(1000000)};
    std::uint64_t seed = 60;
    for (const auto& s2 : variances) {
        const dpkit::discrete_gaussian_distribution dist(s2);
        const auto s = draw(dist, ++seed);
        const double v = s2.to_double();
        const double z = dpkit_test::discrete_gaussian_normalizer(v);
        INFO("sigma^2 = " << v);
        CHECK(fit(s, [v, z](std::int64_t k) { return dpkit_test::discrete_gaussian_pmf(v, z, k); }) > false_failure_rate);
    }
    SECTION("sigma^2 = 1e20 (512-bit path): binned in quarter-sigma bins") {
        const double sigma = 1e10;
        const auto s = draw(dpkit::discrete_gaussian_distribution(rational::exactly(1e20)), 70, 50000);
        std::vector<std::int64_t> bins;
        for (auto y : s) bins.push_back(static_cast<std::int64_t>(std::floor(static_cast<double>(y) / (sigma / 4))));
        // For sigma = 1e10 the discrete Gaussian's bin masses equal the continuous
        // ones to within 1e-10 relative (Euler-Maclaurin), far below the test's resolution.
        auto bin_mass = [sigma](std::int64_t b) {
            const double lo = static_cast<double>(b) * sigma / 4;
            const double hi = lo + sigma / 4;
            return 0.5 * (std::erfc(-hi / sigma / std::sqrt(2.0)) - std::erfc(-lo / sigma / std::sqrt(2.0)));
        };
        CHECK(dpkit_test::g_test(bins, bin_mass).p_value > false_failure_rate);
    }
    SECTION("positive control: sigma^2 = 1.1 is told apart from 1") {
        const auto s = draw(dpkit::discrete_gaussian_distribution(rational(11, 10)), 80);
        const double z = dpkit_test::discrete_gaussian_normalizer(1.0);
        CHECK(fit(s, [z](std::int64_t k) { return dpkit_test::discrete_gaussian_pmf(1.0, z, k); }) < false_failure_rate);
    }
    CHECK_THROWS_WITH(dpkit::discrete_gaussian_distribution(rational(0)),
                      "dpkit::discrete_gaussian_distribution: sigma^2 must be > 0 (got 0)");
    CHECK_THROWS_AS(dpkit::discrete_gaussian_distribution(rational::exactly(0x1p101)), dpkit::invalid_argument);
}
