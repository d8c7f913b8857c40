// Goodness of fit of every exact sampler against its exact pmf, at ordinary and
// edge parameters, each with a positive control (a broken sampler must fail).
// Seeds are fixed; each test's false-failure rate over seeds is
// dpkit_test::false_failure_rate (1e-6).
#include <dpkit/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <random>
#include <vector>

#include "../support/dpkit_catch.hpp"
#include "../support/pmfs.hpp"
#include "../support/stats.hpp"

using dpkit::rational;
using dpkit_test::false_failure_rate;

namespace {

using dpkit_test::bin;
using dpkit_test::two_sample_p_value;

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

// ---------------------------------------------------------------------------
// Table-driven exact samplers (digit_samplers.hpp, exact_exp.hpp).

namespace {

using dpkit_test::laplace_bin_mass;

/// The sampler dpkit used before the table-driven one (CKS20 Algorithm 3 on
/// the CKS20 Algorithm 2 Laplace), for integer sigma^2 < 2^40: the reference.
std::int64_t reference_gaussian(dpkit::insecure_seeded_generator& g, std::uint64_t sigma2) {
    const std::uint64_t t = static_cast<std::uint64_t>(dpkit::detail::isqrt(sigma2)) + 1;
    const dpkit::detail::u128 two_n_t2 = dpkit::detail::u128{2} * sigma2 * t * t;
    while (true) {
        const std::int64_t y = dpkit::detail::discrete_laplace_cks(g, t, 1);
        const auto m = static_cast<std::uint64_t>(y < 0 ? -y : y);
        const dpkit::detail::u128 p = dpkit::detail::u128{m} * t;
        const dpkit::detail::u128 a = p >= sigma2 ? p - sigma2 : sigma2 - p;
        if (dpkit::detail::bernoulli_exp_ratio<dpkit::detail::u128>(g, a * a, two_n_t2)) return y;
    }
}

/// Counts the 64-bit words drawn from a generator.
struct counting_generator {
    using result_type = std::uint64_t;
    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return ~result_type{0}; }
    dpkit::insecure_seeded_generator inner;
    std::uint64_t words = 0;
    result_type operator()() {
        ++words;
        return inner();
    }
};

}  // namespace

TEST_CASE("exact 64-bit prefixes of 1/(alpha + e^x) match 60-digit values", "[samplers][exact]") {
    // tests/data/exp_prefixes.csv (tests/data/gen_exp_prefixes.py, mpmath at 60 digits).
    using dpkit::detail::exact_scaled_inverse;
    using dpkit::detail::exp_argument;
    auto ratio = [](std::uint64_t n, std::uint64_t d, unsigned shift = 0) {
        exp_argument x;
        x.multiply(n);
        x.divide(d);
        x.shift = shift;
        return x;
    };
    CHECK(exact_scaled_inverse(1, ratio(1, 1)) == 4961093570831980853ull);
    CHECK(exact_scaled_inverse(0, ratio(1, 1)) == 6786177901268885274ull);
    CHECK(exact_scaled_inverse(1, ratio(1, (1ull << 20) + 1, 20)) == 4961097029663152561ull);
    CHECK(exact_scaled_inverse(0, ratio(8, 1)) == 6188193243211692ull);
    CHECK(exact_scaled_inverse(1, ratio(1, 3)) == 7700220570131098421ull);
    CHECK(exact_scaled_inverse(0, ratio(37, 10)) == 456068565397934393ull);
    SECTION("positive control: a neighbouring argument gives a different prefix") {
        CHECK(exact_scaled_inverse(1, ratio(1, (1ull << 20) + 2, 20)) != 4961097029663152561ull);
    }
}

TEST_CASE("the tie-breaker decides W < 1/(alpha + e^x) exactly beyond 64 bits", "[samplers][exact][statistical]") {
    using dpkit::detail::big_uint;
    using dpkit::detail::exact_less_than_inverse;
    dpkit::detail::exp_argument one;
    one.multiply(1);
    dpkit::insecure_seeded_generator g(90);
    auto next = [&] { return g(); };
    const std::uint64_t c = 4961093570831980853ull;  // floor(2^64 / (1 + e))
    CHECK(exact_less_than_inverse(next, big_uint::from(c - 1), 64, 1, one));
    CHECK_FALSE(exact_less_than_inverse(next, big_uint::from(c + 1), 64, 1, one));
    // On the tie, W < q with probability frac(2^64 q) = 0.855014549...
    std::uint64_t below = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) below += exact_less_than_inverse(next, big_uint::from(c), 64, 1, one) ? 1u : 0u;
    CHECK(dpkit_test::binomial_p_value(below, n, 0.85501454938332307397) > false_failure_rate);
    SECTION("positive control: the tie is not a fair coin") {
        CHECK(dpkit_test::binomial_p_value(below, n, 0.5) < false_failure_rate);
    }
    // e^-8: prefix 6188193243211692, conditional probability 0.734326625...
    dpkit::detail::exp_argument eight;
    eight.multiply(8);
    std::uint64_t below8 = 0;
    for (int i = 0; i < n; ++i) below8 += exact_less_than_inverse(next, big_uint::from(6188193243211692ull), 64, 0, eight) ? 1u : 0u;
    CHECK(dpkit_test::binomial_p_value(below8, n, 0.73432662512731959769) > false_failure_rate);
}

TEST_CASE("bit_pool hands out the generator's bits in order, across words", "[samplers]") {
    dpkit::insecure_seeded_generator a(5);
    dpkit::insecure_seeded_generator b(5);
    dpkit::detail::bit_pool<dpkit::insecure_seeded_generator> pool(a);
    const std::uint64_t w0 = b();
    const std::uint64_t w1 = b();
    CHECK(pool.take(40) == (w0 & ((1ull << 40) - 1)));
    CHECK(pool.take(30) == (((w0 >> 40) | (w1 << 24)) & ((1ull << 30) - 1)));
    CHECK(pool.take(58) == (w1 >> 6));
    CHECK(pool.take(64) == b());
}

TEST_CASE("table-driven discrete Laplace matches its pmf at t = 1, 2, 3, 2^20 + 1, 2^50 and rational scales",
          "[samplers][statistical]") {
    std::uint64_t seed = 100;
    for (const auto& scale : {rational(1), rational(2), rational(3), rational(7, 3), rational(1, 7), rational(2, 5),
                              rational(100, 3)}) {
        const auto s = draw(dpkit::discrete_laplace_distribution(scale), ++seed);
        const double b = scale.to_double();
        INFO("scale = " << b);
        CHECK(fit(s, [b](std::int64_t k) { return dpkit_test::discrete_laplace_pmf(b, k); }) > false_failure_rate);
    }
    // Large scales, binned in widths of b/8 with exact bin masses.
    for (const std::uint64_t t : {(1ull << 20) + 1, 1ull << 50, (1ull << 36) * 3 + 1}) {
        const auto s = draw(dpkit::discrete_laplace_distribution(rational(t)), ++seed);
        const double b = static_cast<double>(t);
        const auto w = static_cast<std::int64_t>(t / 8);
        INFO("t = " << t);
        CHECK(dpkit_test::g_test(bin(s, w), [&](std::int64_t k) { return laplace_bin_mass(b, static_cast<double>(w), k); })
                  .p_value > false_failure_rate);
    }
    SECTION("positive control: t = 2^20 + 1 is told apart from scale 1.05 t") {
        const std::uint64_t t = (1ull << 20) + 1;
        const auto s = draw(dpkit::discrete_laplace_distribution(rational(t)), 200);
        const double b = 1.05 * static_cast<double>(t);
        const auto w = static_cast<std::int64_t>(t / 8);
        CHECK(dpkit_test::g_test(bin(s, w), [&](std::int64_t k) { return laplace_bin_mass(b, static_cast<double>(w), k); })
                  .p_value < false_failure_rate);
    }
}

TEST_CASE("table-driven geometric matches its pmf at small and large gamma", "[samplers][statistical]") {
    std::uint64_t seed = 300;
    for (const auto& gamma : {rational(1, 3), rational(5), rational(1, 1000)}) {
        const auto s = draw(dpkit::geometric_exp_distribution(gamma), ++seed);
        const double gd = gamma.to_double();
        INFO("gamma = " << gd);
        CHECK(fit(s, [gd](std::int64_t k) { return dpkit_test::geometric_exp_pmf(gd, k); }) > false_failure_rate);
    }
    // gamma = 8 (all mass in the tail test) and 13 (the CKS20 path for exponents > 12).
    auto nonzero = [](const std::vector<std::int64_t>& s) {
        return static_cast<std::uint64_t>(std::count_if(s.begin(), s.end(), [](std::int64_t v) { return v != 0; }));
    };
    const auto eight = draw(dpkit::geometric_exp_distribution(rational(8)), 310);
    CHECK(dpkit_test::binomial_p_value(nonzero(eight), n_samples, std::exp(-8.0)) > false_failure_rate);
    const auto thirteen = draw(dpkit::geometric_exp_distribution(rational(13)), 311);
    CHECK(nonzero(thirteen) <= 5);  // Poisson(0.23): P[>= 6] = 1.5e-7
    SECTION("positive control: gamma = 7.5 is told apart from 8 in the nonzero count") {
        const auto wrong = draw(dpkit::geometric_exp_distribution(rational(15, 2)), 310, 400000);
        CHECK(dpkit_test::binomial_p_value(nonzero(wrong), 400000, std::exp(-8.0)) < false_failure_rate);
    }
}

TEST_CASE("discrete Gaussian at the lattice's scales (sigma^2 = 2^30 + 7, 1.53e13, 2^67 + 2^20, 2^100), binned",
          "[samplers][statistical]") {
    std::uint64_t seed = 400;
    // 2^67 + 2^20 takes the 192-bit acceptance path, 2^100 the 512-bit one.
    for (const double s2 : {0x1p30 + 7, 15302605849240.0, 0x1p67 + 0x1p20, 0x1p100}) {
        const double sigma = std::sqrt(s2);
        const auto s = draw(dpkit::discrete_gaussian_distribution(rational::exactly(s2)), ++seed, 50000);
        std::vector<std::int64_t> bins;
        for (auto y : s) bins.push_back(static_cast<std::int64_t>(std::floor(static_cast<double>(y) / (sigma / 4))));
        auto bin_mass = [sigma](std::int64_t b) {  // continuous masses: equal to the discrete ones to ~1e-8 here
            const double lo = static_cast<double>(b) * sigma / 4;
            return 0.5 * (std::erfc(-(lo + sigma / 4) / sigma / std::sqrt(2.0)) - std::erfc(-lo / sigma / std::sqrt(2.0)));
        };
        INFO("sigma^2 = " << s2);
        CHECK(dpkit_test::g_test(bins, bin_mass).p_value > false_failure_rate);
    }
}

TEST_CASE("the table-driven samplers and the CKS20 reference agree in distribution (two-sample G-test)",
          "[samplers][statistical]") {
    constexpr int n = 100000;
    SECTION("discrete Laplace, t = 3, 7/3 and 2^20 + 1 (binned)") {
        for (const auto& scale : {rational(3), rational(7, 3)}) {
            const auto fast = draw(dpkit::discrete_laplace_distribution(scale), 500, n);
            const auto t = static_cast<std::uint64_t>(scale.numerator());
            const auto d = static_cast<std::uint64_t>(scale.denominator());
            const auto reference = draw([&](auto& g) { return dpkit::detail::discrete_laplace_cks(g, t, d); }, 501, n);
            INFO("scale = " << scale.to_double());
            CHECK(two_sample_p_value(fast, reference) > false_failure_rate);
        }
        const std::uint64_t t = (1ull << 20) + 1;
        const auto fast = draw(dpkit::discrete_laplace_distribution(rational(t)), 502, n);
        const auto reference = draw([&](auto& g) { return dpkit::detail::discrete_laplace_cks(g, t, 1); }, 503, n);
        CHECK(two_sample_p_value(bin(fast, 1 << 17), bin(reference, 1 << 17)) > false_failure_rate);
    }
    SECTION("discrete Gaussian, sigma^2 = 3 and 10^6 (binned by 100)") {
        for (const std::uint64_t s2 : {3ull, 1000000ull}) {
            const auto fast = draw(dpkit::discrete_gaussian_distribution(rational(s2)), 510, n);
            const auto reference = draw([&](auto& g) { return reference_gaussian(g, s2); }, 511, n);
            const std::int64_t w = s2 > 100 ? 100 : 1;
            INFO("sigma^2 = " << s2);
            CHECK(two_sample_p_value(bin(fast, w), bin(reference, w)) > false_failure_rate);
        }
    }
    SECTION("positive control: Laplace scale 3 against the reference at 3.15 is told apart") {
        const auto fast = draw(dpkit::discrete_laplace_distribution(rational(3)), 520, n);
        const auto reference = draw([](auto& g) { return dpkit::detail::discrete_laplace_cks(g, 63, 20); }, 521, n);
        CHECK(two_sample_p_value(fast, reference) < false_failure_rate);
    }
}

// ---------------------------------------------------------------------------
// Timing-safe samplers (timing_safe.hpp).

namespace {

/// A bit pool that counts words drawn and loop iterations (the samplers call
/// note_iteration once per iteration): a deterministic stand-in for time.
struct counting_pool {
    counting_generator& g;
    dpkit::detail::bit_pool<counting_generator> inner{g};
    std::uint64_t iterations = 0;
    std::uint64_t take(int k) { return inner.take(k); }
    std::uint64_t word() { return inner.word(); }
    counting_generator& generator() { return g; }
    void note_iteration() { ++iterations; }
};

/// (words, iterations) of each of n draws.
template <class Dist>
std::map<std::pair<std::uint64_t, std::uint64_t>, int> work_profile(const Dist& dist, std::uint64_t seed, int n) {
    counting_generator g{dpkit::insecure_seeded_generator(seed)};
    std::map<std::pair<std::uint64_t, std::uint64_t>, int> profile;
    for (int i = 0; i < n; ++i) {
        counting_pool pool{g};
        const std::uint64_t before = g.words;
        (void)dist.draw(pool);
        ++profile[{g.words - before, pool.iterations}];
    }
    return profile;
}

}  // namespace

TEST_CASE("timing-safe discrete Laplace matches its pmf at t = 1, 2, 3, 2^20 + 1, 2^50 and rational scales",
          "[samplers][timing][statistical]") {
    std::uint64_t seed = 700;
    for (const auto& scale : {rational(1), rational(2), rational(3), rational(7, 3), rational(1, 7), rational(100, 3)}) {
        const auto s = draw(dpkit::timing_safe_discrete_laplace(scale), ++seed);
        const double b = scale.to_double();
        INFO("scale = " << b);
        CHECK(fit(s, [b](std::int64_t k) { return dpkit_test::discrete_laplace_pmf(b, k); }) > false_failure_rate);
    }
    for (const std::uint64_t t : {(1ull << 20) + 1, 1ull << 50}) {
        const auto s = draw(dpkit::timing_safe_discrete_laplace(rational(t)), ++seed);
        const double b = static_cast<double>(t);
        const auto w = static_cast<std::int64_t>(t / 8);
        INFO("t = " << t);
        CHECK(dpkit_test::g_test(bin(s, w), [&](std::int64_t k) { return laplace_bin_mass(b, static_cast<double>(w), k); })
                  .p_value > false_failure_rate);
    }
    SECTION("positive control: scale 3 is told apart from scale 3.15") {
        const auto s = draw(dpkit::timing_safe_discrete_laplace(rational(3)), 720);
        CHECK(fit(s, [](std::int64_t k) { return dpkit_test::discrete_laplace_pmf(3.15, k); }) < false_failure_rate);
    }
    SECTION("the timing-safe and table-driven Laplace agree (two-sample G-test)") {
        const auto a = draw(dpkit::timing_safe_discrete_laplace(rational(7, 3)), 721);
        const auto b = draw(dpkit::discrete_laplace_distribution(rational(7, 3)), 722);
        CHECK(two_sample_p_value(a, b) > false_failure_rate);
    }
}

TEST_CASE("timing-safe discrete Gaussian matches its pmf from sigma^2 = 1/64 to 1.5e13", "[samplers][timing][statistical]") {
    constexpr int n = 30000;
    SECTION("sigma^2 = 1/64, 1, 9/4, 100/3, 10^6") {
        std::uint64_t seed = 730;
        for (const auto& s2 : {rational(1, 64), rational(1), rational(9, 4), rational(100, 3), rational(1000000)}) {
            const auto s = draw(dpkit::timing_safe_discrete_gaussian(s2), ++seed, n);
            const double v = s2.to_double();
            const double z = dpkit_test::discrete_gaussian_normalizer(v);
            INFO("sigma^2 = " << v);
            if (v < 0.1) {
                CHECK(std::count(s.begin(), s.end(), 0) >= n - 3);  // P[nonzero] = 2e-14
            } else {
                CHECK(fit(s, [v, z](std::int64_t k) { return dpkit_test::discrete_gaussian_pmf(v, z, k); }) > false_failure_rate);
            }
        }
    }
    SECTION("sigma^2 = 1.53e13 (the lattice's scale), binned in quarter sigmas") {
        const double s2 = 15302605849240.0;
        const double sigma = std::sqrt(s2);
        const auto s = draw(dpkit::timing_safe_discrete_gaussian(rational::exactly(s2)), 740, 20000);
        std::vector<std::int64_t> bins;
        for (auto y : s) bins.push_back(static_cast<std::int64_t>(std::floor(static_cast<double>(y) / (sigma / 4))));
        auto bin_mass = [sigma](std::int64_t b) {
            const double lo = static_cast<double>(b) * sigma / 4;
            return 0.5 * (std::erfc(-(lo + sigma / 4) / sigma / std::sqrt(2.0)) - std::erfc(-lo / sigma / std::sqrt(2.0)));
        };
        CHECK(dpkit_test::g_test(bins, bin_mass).p_value > false_failure_rate);
    }
    SECTION("positive control: sigma^2 = 1.15 is told apart from 1") {
        const auto s = draw(dpkit::timing_safe_discrete_gaussian(rational(115, 100)), 741, n);
        const double z = dpkit_test::discrete_gaussian_normalizer(1.0);
        CHECK(fit(s, [z](std::int64_t k) { return dpkit_test::discrete_gaussian_pmf(1.0, z, k); }) < false_failure_rate);
    }
    CHECK_THROWS_AS(dpkit::timing_safe_discrete_gaussian(rational(1, 100)), dpkit::invalid_argument);
}

TEST_CASE("timing-safe samplers do the same work for every draw; the default ones do not", "[samplers][timing]") {
    SECTION("timing-safe Laplace: words() words and iterations() iterations, every draw") {
        for (const auto& scale : {rational(1), rational(7, 3), rational((1ull << 20) + 1)}) {
            const dpkit::timing_safe_discrete_laplace d(scale);
            const auto profile = work_profile(d, 750, 3000);
            INFO("scale = " << scale.to_double());
            REQUIRE(profile.size() == 1);
            CHECK(profile.begin()->first.first == static_cast<std::uint64_t>(d.words()));
            CHECK(profile.begin()->first.second == static_cast<std::uint64_t>(d.iterations()));
        }
    }
    SECTION("timing-safe Gaussian: words() words and iterations() iterations, every draw") {
        for (const auto& s2 : {rational(1), rational(1000000), rational::exactly(15302605849240.0)}) {
            const dpkit::timing_safe_discrete_gaussian d(s2);
            const auto profile = work_profile(d, 751, 1000);
            INFO("sigma^2 = " << s2.to_double());
            REQUIRE(profile.size() == 1);
            CHECK(profile.begin()->first.first == static_cast<std::uint64_t>(d.words()));
            CHECK(profile.begin()->first.second == static_cast<std::uint64_t>(d.iterations()));
        }
    }
    SECTION("positive control: the default Laplace and Gaussian vary in words and in iterations") {
        const auto lap = work_profile(dpkit::discrete_laplace_distribution(rational(3)), 752, 3000);
        const auto gauss = work_profile(dpkit::discrete_gaussian_distribution(rational(1000000)), 753, 3000);
        const auto gauss_cks =
            work_profile(dpkit::discrete_gaussian_distribution(rational(1000000), dpkit::detail::laplace_proposal), 754, 3000);
        std::set<std::uint64_t> lap_iterations;
        std::set<std::uint64_t> gauss_iterations;
        std::set<std::uint64_t> gauss_words;
        std::set<std::uint64_t> cks_iterations;
        std::set<std::uint64_t> cks_words;
        for (const auto& [work, count] : lap) lap_iterations.insert(work.second);
        for (const auto& [work, count] : gauss) {
            gauss_words.insert(work.first);
            gauss_iterations.insert(work.second);
        }
        for (const auto& [work, count] : gauss_cks) {
            cks_words.insert(work.first);
            cks_iterations.insert(work.second);
        }
        CHECK(lap_iterations.size() > 1);
        // The bucket sampler rejects about 1% of rounds: 1 or 2 rounds in 3000 draws.
        CHECK(gauss_iterations.size() > 1);
        CHECK(gauss_words.size() > 2);
        CHECK(cks_iterations.size() > 2);
        CHECK(cks_words.size() > 2);
    }
}

// ---------------------------------------------------------------------------
// The discrete Gaussian's fixed-point acceptance test (digit_samplers.hpp) and
// its exact tie-breaker for big exponents (exact_exp.hpp).

namespace {

/// The table-driven sampler dpkit used before the fixed-point acceptance test
/// (CKS20 Algorithm 3 on the digit-based Laplace, acceptance by exponential
/// digits), for integer sigma^2 < 2^40: the reference for the new one.
std::int64_t previous_gaussian(dpkit::insecure_seeded_generator& g, std::uint64_t sigma2) {
    using dpkit::detail::u128;
    const std::uint64_t t = static_cast<std::uint64_t>(dpkit::detail::isqrt(sigma2)) + 1;
    const auto laplace = dpkit::detail::shared_geometric_digits(t, 1);  // built once per sigma^2
    const u128 two_n_t2 = u128{2} * sigma2 * t * t;
    dpkit::detail::bit_pool<dpkit::insecure_seeded_generator> bits(g);
    while (true) {
        const std::int64_t y = laplace->signed_draw(bits);
        const auto m = static_cast<std::uint64_t>(y < 0 ? -y : y);
        const u128 p = u128{m} * t;
        const u128 a = p >= sigma2 ? p - sigma2 : sigma2 - p;
        // gamma < 32: exponential digits; otherwise CKS20 Algorithm 1 (as the previous sampler did).
        const bool accept = ((a * a) >> 5) < two_n_t2 ? dpkit::detail::exponential_exceeds(bits, a * a, two_n_t2)
                                                      : dpkit::detail::bernoulli_exp_ratio<u128>(g, a * a, two_n_t2);
        if (accept) return y;
    }
}

/// A pool that hands out `script` for its first take(48), then fresh bits.
struct scripted_pool {
    dpkit::detail::bit_pool<dpkit::insecure_seeded_generator> inner;
    std::uint64_t script = 0;
    bool used = false;
    std::uint64_t take(int k) {
        if (k == 48 && !used) {
            used = true;
            return script;
        }
        return inner.take(k);
    }
    std::uint64_t word() { return inner.word(); }
};

/// floor(gamma' 2^24) for gamma = a^2 / B, as the discrete Gaussian computes it.
std::uint64_t gamma_fixed(dpkit::detail::u128 a, dpkit::detail::u128 b) {
    int b_exponent = 0;
    const std::uint64_t b_top = dpkit::detail::top_bits(b, b_exponent);
    int a_exponent = 0;
    const std::uint64_t a_top = dpkit::detail::top_bits(a, a_exponent);
    return dpkit::detail::exp_minus_fixed_ratio(b_top, b_exponent).fixed(a_top, a_exponent);
}

}  // namespace

TEST_CASE("the tie-breaker decides W < e^(-N/D) exactly beyond 64 bits for N and D above 64 bits",
          "[samplers][exact][statistical]") {
    // tests/data/exp_ratio_ties.txt (tests/data/gen_exp_ratio_ties.py, mpmath at 60 digits).
    using dpkit::detail::big_uint;
    using dpkit::detail::u128;
    struct tie_case {
        u128 n, d;
        std::uint64_t prefix;
        double frac;
    };
    const u128 ten29 = u128{100000000000000ull} * 1000000000000000ull;  // 10^29
    const tie_case cases[] = {
        {1, 1, 6786177901268885274ull, 0.72996184289543809906},
        {10 * ten29 + 7, 3 * ten29 + 2000000000011ull, 658069025363982150ull, 0.59718724100014570709},
        {(u128{1} << 100) + 3, (u128{1} << 99) + (u128{1} << 50) + (u128{1} << 41) + 1, 2496495334008797686ull,
         0.37060502298002916145},
    };
    dpkit::insecure_seeded_generator g(900);
    auto next = [&] { return g(); };
    const int n = 1500;  // each tie costs ~0.2 ms of exact arithmetic
    for (const auto& c : cases) {
        const big_uint bn = big_uint::from(c.n);
        const big_uint bd = big_uint::from(c.d);
        CHECK(dpkit::detail::exact_less_than_exp_minus(next, big_uint::from(c.prefix - 1), 64, bn, bd));
        CHECK_FALSE(dpkit::detail::exact_less_than_exp_minus(next, big_uint::from(c.prefix + 1), 64, bn, bd));
        // On the tie, W < e^(-N/D) with probability frac(2^64 e^(-N/D)).
        std::uint64_t below = 0;
        for (int i = 0; i < n; ++i) below += dpkit::detail::exact_less_than_exp_minus(next, big_uint::from(c.prefix), 64, bn, bd) ? 1u : 0u;
        INFO("frac = " << c.frac);
        CHECK(dpkit_test::binomial_p_value(below, n, c.frac) > false_failure_rate);
        // Positive control: the same count is told apart from a fair coin.
        CHECK(dpkit_test::binomial_p_value(below, n, 0.5) < false_failure_rate);
    }
}

TEST_CASE("fixed-point acceptance: gamma's fixed point and the e^-gamma bounds hold (deterministic sweep)", "[samplers][exact]") {
    using dpkit::detail::u128;
    // Bounds: lo <= 2^64 e^(-gamma) <= hi for every gamma in [(G - 1) 2^-24, (G + 2) 2^-24].
    auto holds = [](std::uint64_t g, std::uint64_t table_g) {
        std::uint64_t lo = 0;
        u128 hi = 0;
        dpkit::detail::exp_minus_fixed_bounds(table_g, lo, hi);
        const long double low_end = std::ldexp(std::exp(-static_cast<long double>(g + 2) / 16777216.0L), 64);
        const long double high_end =
            g == 0 ? 18446744073709551616.0L : std::ldexp(std::exp(-static_cast<long double>(g - 1) / 16777216.0L), 64);
        return static_cast<long double>(lo) <= low_end && high_end <= static_cast<long double>(hi);
    };
    const std::uint64_t limit = std::uint64_t{40} << 24;
    int failures = 0;
    int shifted_failures = 0;
    int points = 0;
    for (std::uint64_t g = 0; g < limit; g += 6151) {  // every table row and entry is visited
        ++points;
        if (!holds(g, g)) ++failures;
        if (g + 4096 < limit && !holds(g, g + 4096)) ++shifted_failures;
    }
    for (std::uint64_t g : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{255}, std::uint64_t{65535}, limit - 1}) {
        CHECK(holds(g, g));
    }
    CHECK(points > 100000);
    CHECK(failures == 0);
    // The coarse 16-bit bounds of G's bucket are implied by the fine bounds at every G.
    int coarse_failures = 0;
    const auto& tables = dpkit::detail::exp_minus_fixed_tables::get();
    for (std::uint64_t g = 0; g < limit; g += 6151) {
        std::uint64_t lo = 0;
        u128 hi = 0;
        dpkit::detail::exp_minus_fixed_bounds(g, lo, hi);
        const std::uint32_t c = tables.coarse[g >> dpkit::detail::exp_minus_fixed_tables::coarse_shift];
        const u128 accept_below = u128{c & 0xffffu} << 48;  // r < accept_below: (r + 1) 2^48 <= lo
        const u128 reject_above = u128{c >> 16};            // r > reject_above: r 2^48 >= hi
        if (accept_below > lo) ++coarse_failures;
        if (reject_above < 0xffff && ((reject_above + 1) << 48) < hi) ++coarse_failures;
    }
    CHECK(coarse_failures == 0);
    SECTION("positive control: bounds for gamma + 2^-12 do not hold") { CHECK(shifted_failures > points / 2); }

    // gamma = a^2 / B lies in [(G - 1) 2^-24, (G + 2) 2^-24], for B from 1 to 2^126.
    dpkit::insecure_seeded_generator rng(901);
    int outside = 0;
    for (int i = 0; i < 20000; ++i) {
        const int b_bits = 1 + static_cast<int>(rng() % 126);
        u128 b = (static_cast<u128>(rng()) << 64 | rng()) >> (128 - b_bits);
        b |= u128{1} << (b_bits - 1);
        // a with a^2 / B below 40: a up to sqrt(40 B).
        const u128 a_max = dpkit::detail::isqrt(b) * 6 + 1;
        const u128 a = (static_cast<u128>(rng()) << 64 | rng()) % a_max + 1;
        const long double gamma = static_cast<long double>(a) * static_cast<long double>(a) / static_cast<long double>(b);
        const std::uint64_t g = gamma_fixed(a, b);
        const long double lo = (static_cast<long double>(g) - 1) / 16777216.0L;
        const long double hi = (static_cast<long double>(g) + 2) / 16777216.0L;
        if (!(lo <= gamma && gamma <= hi)) ++outside;
    }
    CHECK(outside == 0);
}

TEST_CASE("fixed-point acceptance with its exact tie-breaker has probability exactly e^(-gamma)", "[samplers][statistical]") {
    using dpkit::detail::big_uint;
    using dpkit::detail::u128;
    const u128 b = u128{2} * 15302605849240ull * 3911855ull * 3911855ull;  // B of the lattice Gaussian
    dpkit::insecure_seeded_generator g(902);
    dpkit::detail::bit_pool<dpkit::insecure_seeded_generator> bits(g);
    auto trial = [&](u128 a) {
        std::uint64_t tie = 0;
        const int decided = dpkit::detail::bernoulli_exp_minus_fixed(bits, gamma_fixed(a, b), bits.take(16), tie);
        if (decided != 2) return decided == 1;
        return dpkit::detail::exact_less_than_exp_minus([&] { return bits.word(); }, big_uint::from(tie), 64,
                                                        big_uint::from(a * a), big_uint::from(b));
    };
    const int n = 200000;
    for (const double target : {0.001, 0.5, 1.7, 7.3}) {
        const auto a = static_cast<u128>(std::sqrt(target * static_cast<double>(b)));
        const double gamma = static_cast<double>(a) * static_cast<double>(a) / static_cast<double>(b);
        std::uint64_t accepted = 0;
        for (int i = 0; i < n; ++i) accepted += trial(a) ? 1u : 0u;
        INFO("gamma = " << gamma);
        CHECK(dpkit_test::binomial_p_value(accepted, n, std::exp(-gamma)) > false_failure_rate);
        if (target == 1.7) {
            // Positive control: e^(-1.02 gamma) is told apart.
            CHECK(dpkit_test::binomial_p_value(accepted, n, std::exp(-1.02 * gamma)) < false_failure_rate);
        }
    }
    SECTION("a first 64 bits inside [lo, hi) go to the exact tie-breaker, which decides correctly") {
        const auto a = static_cast<u128>(std::sqrt(1.7 * static_cast<double>(b)));
        const std::uint64_t fixed = gamma_fixed(a, b);
        std::uint64_t lo = 0;
        u128 hi = 0;
        dpkit::detail::exp_minus_fixed_bounds(fixed, lo, hi);
        const auto last = static_cast<std::uint64_t>(hi - 1);
        for (const std::uint64_t u : {lo, last}) {
            scripted_pool pool{dpkit::detail::bit_pool<dpkit::insecure_seeded_generator>(g), u & ((std::uint64_t{1} << 48) - 1)};
            std::uint64_t tie = 0;
            CHECK(dpkit::detail::bernoulli_exp_minus_fixed(pool, fixed, u >> 48, tie) == 2);
            CHECK(tie == u);
            // lo is at least 2^11 units below e^-gamma's 2^64 multiple here, hi - 1 above it.
            CHECK(dpkit::detail::exact_less_than_exp_minus([&] { return pool.word(); }, big_uint::from(tie), 64,
                                                            big_uint::from(a * a), big_uint::from(b)) == (u == lo));
        }
    }
}

TEST_CASE("discrete Gaussian with the fixed-point test agrees with the previous sampler (two-sample G-test) and fits at rational sigma^2",
          "[samplers][statistical]") {
    constexpr int n = 100000;
    for (const std::uint64_t s2 : {3ull, 1000000ull, 15302605849240ull}) {
        const auto fast = draw(dpkit::discrete_gaussian_distribution(rational(s2)), 910, n);
        const auto previous = draw([&](auto& g) { return previous_gaussian(g, s2); }, 911, n);
        const auto w = static_cast<std::int64_t>(std::max(1.0, std::sqrt(static_cast<double>(s2)) / 4));
        INFO("sigma^2 = " << s2);
        CHECK(two_sample_p_value(bin(fast, w), bin(previous, w)) > false_failure_rate);
    }
    SECTION("positive control: sigma^2 = 10^6 against the previous sampler at 1.1 10^6 is told apart") {
        const auto fast = draw(dpkit::discrete_gaussian_distribution(rational(1000000)), 912, n);
        const auto previous = draw([](auto& g) { return previous_gaussian(g, 1100000); }, 913, n);
        CHECK(two_sample_p_value(bin(fast, 250), bin(previous, 250)) < false_failure_rate);
    }
    SECTION("sigma^2 = 10^12 / 7 and 2^62 / 3 (non-integer, general paths), binned in quarter-sigma bins") {
        std::uint64_t seed = 920;
        for (const auto& s2 : {rational(1000000000000ull, 7), rational(std::uint64_t{1} << 62, 3u)}) {
            const double v = s2.to_double();
            const double sigma = std::sqrt(v);
            const auto s = draw(dpkit::discrete_gaussian_distribution(s2), ++seed, 50000);
            std::vector<std::int64_t> bins;
            for (auto y : s) bins.push_back(static_cast<std::int64_t>(std::floor(static_cast<double>(y) / (sigma / 4))));
            auto bin_mass = [sigma](std::int64_t k) {
                const double lo = static_cast<double>(k) * sigma / 4;
                return 0.5 * (std::erfc(-(lo + sigma / 4) / sigma / std::sqrt(2.0)) - std::erfc(-lo / sigma / std::sqrt(2.0)));
            };
            INFO("sigma^2 = " << v);
            CHECK(dpkit_test::g_test(bins, bin_mass).p_value > false_failure_rate);
        }
    }
}
