// The Gaussian mechanism: analytic calibration against reference values, the
// discrete-Gaussian delta bound, lattice support, noise distribution, zCDP, errors.
#include <dpkit/mechanisms/gaussian.hpp>
#include <dpkit/privacy/zcdp.hpp>
#include <dpkit/random.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "../support/csv.hpp"
#include "../support/dpkit_catch.hpp"
#include "../support/pmfs.hpp"
#include "../support/stats.hpp"

using namespace dpkit;
using dpkit_test::false_failure_rate;

TEST_CASE("analytic Gaussian sigma matches the reference values to 1e-9 and never undershoots", "[gaussian][refs]") {
    const auto rows = dpkit_test::read_csv(DPKIT_TEST_DATA "/analytic_gaussian.csv");
    REQUIRE(rows.size() == 4);
    for (const auto& row : rows) {
        const double eps = dpkit_test::number(row, "eps");
        const double del = dpkit_test::number(row, "delta");
        const double sens = dpkit_test::number(row, "sensitivity");
        const double expected = dpkit_test::number(row, "sigma_analytic");
        const double sigma = analytic_gaussian_sigma(eps, del, sens);
        INFO("eps " << eps << " delta " << del);
        CHECK(std::fabs(sigma - expected) / expected <= 1e-9);
        CHECK(sigma >= expected);  // rounded up: the reference is the exact value rounded to nearest
        CHECK(gaussian_delta(eps, sigma, sens) <= del);
        CHECK(analytic_gaussian_sigma(eps, del, 10 * sens) == dpkit_test::approx(10 * sigma).epsilon(1e-12));
    }
}

TEST_CASE("zCDP to (epsilon, delta) matches CKS20 and the simple bound (reference values)", "[gaussian][refs]") {
    const auto rows = dpkit_test::read_csv(DPKIT_TEST_DATA "/zcdp_to_approxdp.csv");
    REQUIRE(rows.size() == 6);
    for (const auto& row : rows) {
        const double rho_v = dpkit_test::number(row, "rho");
        const double del = dpkit_test::number(row, "delta");
        const double cks = dpkit_test::number(row, "eps_cks20");
        const double simple = dpkit_test::number(row, "eps_simple_bs16");
        INFO("rho " << rho_v << " delta " << del);
        const double ours = zcdp_to_approx_dp_epsilon(rho_v, del);
        CHECK(std::fabs(ours - cks) / cks <= 1e-6);
        CHECK(ours >= cks * (1 - 1e-12));
        CHECK(std::fabs(zcdp_to_approx_dp_epsilon_simple(rho_v, del) - simple) / simple <= 1e-12);
        CHECK(ours >= dpkit_test::number(row, "eps_gaussian_same_rho_lower_bound"));
        const double rho_back = zcdp_rho_for(ours, del);
        CHECK(rho_back == dpkit_test::approx(rho_v).epsilon(1e-6));
        CHECK(zcdp_to_approx_dp_epsilon(rho_back, del) <= ours);
    }
}

TEST_CASE("pure DP converts to zCDP as epsilon^2 / 2, rounded up", "[zcdp]") {
    CHECK(to_zcdp(pure_dp{1.0}) == zcdp{0.5});
    CHECK(to_zcdp(pure_dp{0.1}).rho >= 0.005);
    CHECK(to_zcdp(pure_dp{0.1}).rho == dpkit_test::approx(0.005).epsilon(1e-15));
    CHECK_THROWS_WITH(to_zcdp(pure_dp{-1}), "dpkit::to_zcdp: epsilon must be finite and >= 0 (got -1)");
}

TEST_CASE("Gaussian on doubles: calibrated against the discrete curve, close to analytic", "[gaussian]") {
    for (double eps : {0.1, 0.5, 1.0, 2.0}) {
        for (double del : {1e-5, 1e-9}) {
            const gaussian_mechanism<double> m(epsilon{eps}, delta{del}, l2_sensitivity{1.0});
            const double s2 = m.noise_distribution().sigma2().to_double();
            const double units = std::floor(1.0 / m.step()) + 1;
            INFO("eps " << eps << " delta " << del);
            CHECK(s2 == std::floor(s2));  // integer variance in steps
            CHECK(m.sensitivity_in_steps() == units);
            CHECK(detail::discrete_gaussian_delta_upper(eps, s2, units) <= del);
            const double analytic = analytic_gaussian_sigma(eps, del, 1.0);
            CHECK(m.stddev() >= analytic);
            CHECK(m.stddev() <= analytic * 1.001);  // the lattice and discreteness cost < 0.1%
            CHECK(m.zcdp_cost().rho >= units * units / (2 * s2));
            CHECK(m.zcdp_cost().rho == dpkit_test::approx(units * units / (2 * s2)).epsilon(1e-12));
            CHECK(m.cost() == approx_dp{eps, del});
        }
    }
}

TEST_CASE("Gaussian on doubles: outputs are multiples of a public step; naive noise is not", "[gaussian][lattice]") {
    const gaussian_mechanism<double> m(epsilon{1.0}, delta{1e-6}, l2_sensitivity{2.0});
    const double step = m.step();
    int exponent = 0;
    CHECK(std::frexp(step, &exponent) == 0.5);
    insecure_seeded_generator g(11);
    for (double x : {0.0, 2.0}) {
        for (int i = 0; i < 5000; ++i) {
            const double y = m(x, g);
            REQUIRE(y / step == std::floor(y / step));
        }
    }
    SECTION("positive control: std::normal_distribution noise leaves the lattice") {
        std::mt19937_64 mt(12);
        std::normal_distribution<double> normal(0.0, m.stddev());
        int off = 0;
        for (int i = 0; i < 1000; ++i) {
            const double y = 2.0 + normal(mt);
            off += (y / step == std::floor(y / step)) ? 0 : 1;
        }
        CHECK(off > 900);
    }
}

TEST_CASE("Gaussian on doubles: the noise in steps is discrete Gaussian with the reported variance", "[gaussian][statistical]") {
    const gaussian_mechanism<double> m(epsilon{1.0}, delta{1e-5}, l2_sensitivity{1.0});
    insecure_seeded_generator g(13);
    auto binned = [&](const gaussian_mechanism<double>& mech, double sigma_steps) {
        std::vector<std::int64_t> out;
        for (int i = 0; i < 100000; ++i) {
            const double steps = (mech(0.0, g)) / mech.step();
            out.push_back(static_cast<std::int64_t>(std::floor(steps / (sigma_steps / 4))));
        }
        return out;
    };
    const double sigma = std::sqrt(m.noise_distribution().sigma2().to_double());
    // Quarter-sigma bins; for sigma > 2^14 steps the discrete bin masses equal the
    // continuous ones to ~1e-9 (Euler-Maclaurin with half-step edges).
    auto bin_mass = [sigma](std::int64_t b) {
        const double lo = static_cast<double>(b) * sigma / 4;
        return dpkit::detail::normal_cdf((lo + sigma / 4) / sigma) - dpkit::detail::normal_cdf(lo / sigma);
    };
    CHECK(dpkit_test::g_test(binned(m, sigma), bin_mass).p_value > false_failure_rate);
    SECTION("positive control: the mechanism for epsilon 0.95 (sigma +5%) is told apart") {
        const gaussian_mechanism<double> wider(epsilon{0.95}, delta{1e-5}, l2_sensitivity{1.0});
        REQUIRE(wider.step() == m.step());
        CHECK(dpkit_test::g_test(binned(wider, sigma), bin_mass).p_value < false_failure_rate);
    }
}

TEST_CASE("Gaussian on integers: exact discrete Gaussian noise", "[gaussian][statistical]") {
    const gaussian_mechanism<std::int64_t> m(epsilon{1.0}, delta{1e-5}, l2_sensitivity{1.0});
    const double s2 = m.noise_distribution().sigma2().to_double();
    CHECK(detail::discrete_gaussian_delta_upper(1.0, s2, 1.0) <= 1e-5);
    CHECK(m.stddev() >= analytic_gaussian_sigma(1.0, 1e-5, 1.0));
    CHECK(m.stddev() <= analytic_gaussian_sigma(1.0, 1e-5, 1.0) * 1.01);  // exact discrete curve: +0.3%
    insecure_seeded_generator g(14);
    std::vector<std::int64_t> noise;
    for (int i = 0; i < 100000; ++i) noise.push_back(m(std::int64_t{-50}, g) + 50);
    const double z = dpkit_test::discrete_gaussian_normalizer(s2);
    CHECK(dpkit_test::g_test(noise, [&](std::int64_t k) { return dpkit_test::discrete_gaussian_pmf(s2, z, k); }).p_value >
          false_failure_rate);
}

TEST_CASE("Gaussian on vectors: zCDP calibration covers the lattice rounding", "[gaussian]") {
    const gaussian_mechanism<double> m(epsilon{1.0}, delta{1e-5}, l2_sensitivity{1.0}, dimension{16});
    const double s2 = m.noise_distribution().sigma2().to_double();
    const double units = 1.0 / m.step() + 4.0;  // D/g + sqrt(16)
    CHECK(m.zcdp_cost().rho >= units * units / (2 * s2));
    CHECK(zcdp_to_approx_dp_epsilon(m.zcdp_cost().rho, 1e-5) <= 1.0 + 1e-9);
    insecure_seeded_generator g(15);
    const std::vector<double> x(16, 0.5);
    const auto y = m(std::span<const double>(x), g);
    CHECK(y.size() == 16);
    const std::vector<double> short_x(3, 0.5);
    CHECK_THROWS_WITH(m(std::span<const double>(short_x), g),
                      "dpkit::gaussian_mechanism: input length must equal the mechanism's dimension (16) (got 3)");
}

TEST_CASE("Gaussian accuracy: the interval covers at its level", "[gaussian][statistical]") {
    const gaussian_mechanism<double> m(epsilon{1.0}, delta{1e-5}, l2_sensitivity{1.0});
    const auto ci = confidence_interval(m, 0.95);
    CHECK(ci.upper == dpkit_test::approx(1.959964 * m.stddev()).epsilon(1e-3));
    CHECK(tail_probability(m, ci.upper) <= 0.05);
    insecure_seeded_generator g(16);
    std::uint64_t outside = 0;
    const int n = 200000;
    const double x = m.stddev();
    for (int i = 0; i < n; ++i) outside += std::fabs(m(0.0, g)) > x ? 1u : 0u;
    CHECK(dpkit_test::binomial_p_value(outside, n, tail_probability(m, x)) > false_failure_rate);
    SECTION("positive control: the tail of the epsilon-0.95 mechanism (sigma +5%) is told apart") {
        const gaussian_mechanism<double> wider(epsilon{0.95}, delta{1e-5}, l2_sensitivity{1.0});
        CHECK(dpkit_test::binomial_p_value(outside, n, tail_probability(wider, x)) < false_failure_rate);
    }
    CHECK(tail_probability(m, x) == dpkit_test::approx(0.3173).epsilon(1e-3));
}

TEST_CASE("Gaussian rejects bad parameters and inputs with a message", "[gaussian][errors]") {
    using M = gaussian_mechanism<double>;
    CHECK_THROWS_WITH(M(epsilon{0}, delta{1e-5}, l2_sensitivity{1}),
                      "dpkit::gaussian_mechanism: epsilon must be finite and > 0 (got 0)");
    CHECK_THROWS_WITH(M(epsilon{1}, delta{0}, l2_sensitivity{1}), "dpkit::gaussian_mechanism: delta must be in (0, 1) (got 0)");
    CHECK_THROWS_WITH(M(epsilon{1}, delta{1}, l2_sensitivity{1}), "dpkit::gaussian_mechanism: delta must be in (0, 1) (got 1)");
    CHECK_THROWS_WITH(M(epsilon{1}, delta{std::nan("")}, l2_sensitivity{1}),
                      "dpkit::gaussian_mechanism: delta must be in (0, 1) (got nan)");
    CHECK_THROWS_WITH(M(epsilon{1}, delta{1e-5}, l2_sensitivity{-3}),
                      "dpkit::gaussian_mechanism: l2_sensitivity must be finite and > 0 (got -3)");
    CHECK_THROWS_AS(M(epsilon{1}, delta{1e-5}, l2_sensitivity{1e305}), dpkit::invalid_argument);
    CHECK_THROWS_WITH(analytic_gaussian_sigma(-1, 1e-5, 1), "dpkit::analytic_gaussian_sigma: epsilon must be finite and > 0 (got -1)");
    CHECK_THROWS_WITH(zcdp_to_approx_dp_epsilon(-1, 1e-5), "dpkit::zcdp_to_approx_dp_epsilon: rho must be finite and > 0 (got -1)");
    const M m(epsilon{1}, delta{1e-5}, l2_sensitivity{1});
    insecure_seeded_generator g(17);
    CHECK_THROWS_WITH(m(std::nan(""), g),
                      "dpkit::gaussian_mechanism: input must not be NaN (infinities are clamped, NaN is refused) (got nan)");
    CHECK(m(-m.max_input() * 4, g) == dpkit_test::approx(-m.max_input()).epsilon(1e-12));  // clamped
    CHECK(m(INFINITY, g) == dpkit_test::approx(m.max_input()).epsilon(1e-12));
    CHECK_THROWS_WITH(M(epsilon{1e300}, delta{1e-5}, l2_sensitivity{1}),
                      "dpkit::gaussian_mechanism: epsilon too large: its zCDP cost rho = D^2 / (2 sigma^2) overflows a double (got 1e+300)");
}

TEST_CASE("a Gaussian mechanism's zCDP cost is booked at or above its exact rho", "[gaussian][accounting]") {
    using detail::exact_decimal;
    std::mt19937_64 rng(77);
    std::uniform_real_distribution<double> log10(-3, 1);
    for (int i = 0; i < 300; ++i) {
        const double eps = std::pow(10.0, log10(rng));
        const double d = std::pow(10.0, log10(rng));
        const gaussian_mechanism<double> m(epsilon{eps}, delta{1e-6}, l2_sensitivity{d});
        // rho = units^2 / (2 sigma^2) with an integer sigma^2 (in steps), exactly.
        const double units = m.sensitivity_in_steps();
        const double s2 = m.noise_distribution().sigma2().to_double();
        INFO("eps " << eps << " d " << d);
        CHECK(exact_decimal::exactly(units) * exact_decimal::exactly(units) <=
              exact_decimal::declared(m.zcdp_cost().rho) * exact_decimal::exactly(2 * s2));
    }
}

TEST_CASE("Gaussian batch API: fill_noise draws the discrete Gaussian in steps", "[gaussian][batch][statistical]") {
    const gaussian_mechanism<double> m(epsilon{1.0}, delta{1e-5}, l2_sensitivity{1.0}, dimension{100000});
    const double sigma = std::sqrt(m.noise_distribution().sigma2().to_double());
    insecure_seeded_generator g(31);
    std::vector<double> z(100000, 0.0);
    m.add_noise(std::span<double>(z), g);
    std::vector<std::int64_t> bins;
    for (double v : z) bins.push_back(static_cast<std::int64_t>(std::floor(v / m.step() / (sigma / 4))));
    auto bin_mass = [sigma](std::int64_t b) {  // sigma >> 1 step: continuous bin masses to ~1e-8
        const double lo = static_cast<double>(b) * sigma / 4;
        return 0.5 * (std::erfc(-(lo + sigma / 4) / sigma / std::sqrt(2.0)) - std::erfc(-lo / sigma / std::sqrt(2.0)));
    };
    CHECK(dpkit_test::g_test(bins, bin_mass).p_value > false_failure_rate);
    SECTION("positive control: 1.05 sigma is told apart") {
        auto wide_mass = [sigma](std::int64_t b) {
            const double s = 1.05 * sigma;
            const double lo = static_cast<double>(b) * sigma / 4;
            return 0.5 * (std::erfc(-(lo + sigma / 4) / s / std::sqrt(2.0)) - std::erfc(-lo / s / std::sqrt(2.0)));
        };
        CHECK(dpkit_test::g_test(bins, wide_mass).p_value < false_failure_rate);
    }
    std::vector<double> filled(1000);
    m.fill_noise(std::span<double>(filled), g);
    for (double v : filled) CHECK(v / m.step() == std::floor(v / m.step()));
}

TEST_CASE("timing-safe Gaussian: same calibration, cost adds the sampler's delta", "[gaussian][timing]") {
    const timing_safe_gaussian_mechanism<double> m(epsilon{1.0}, delta{1e-5}, l2_sensitivity{1.0});
    const gaussian_mechanism<double> exact(epsilon{1.0}, delta{1e-5}, l2_sensitivity{1.0});
    CHECK(m.step() == exact.step());
    CHECK(m.noise_distribution().sigma2() == exact.noise_distribution().sigma2());
    CHECK(m.cost().epsilon == exact.cost().epsilon);
    CHECK(m.cost().delta >= 1e-5 + (1 + std::exp(1.0)) * m.noise_distribution().eta());
    CHECK(m.cost().delta < 1e-5 * (1 + 1e-6));
    CHECK(m.timing_delta() >= (1 + std::exp(1.0)) * m.noise_distribution().eta());
    insecure_seeded_generator g(32);
    for (int i = 0; i < 200; ++i) {
        const double y = m(1.0, g);
        CHECK(y / m.step() == std::floor(y / m.step()));
    }
}
