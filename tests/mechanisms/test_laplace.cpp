// The Laplace mechanism: lattice support, exact noise distribution, cost, accuracy, errors.
#include <dpkit/accounting.hpp>
#include <dpkit/mechanisms/laplace.hpp>
#include <dpkit/random.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <list>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "../support/dpkit_catch.hpp"
#include "../support/pmfs.hpp"
#include "../support/stats.hpp"

using namespace dpkit;
using dpkit_test::false_failure_rate;

namespace {

bool on_lattice(double value, double step) {
    const double units = value / step;  // exact: step is a power of two
    return std::isfinite(units) && units == std::floor(units);
}

}  // namespace

TEST_CASE("Laplace on doubles: outputs for neighbours 0 and D are multiples of a public step", "[laplace][lattice]") {
    const laplace_mechanism<double> m(epsilon{0.5}, l1_sensitivity{1.0});
    const laplace_mechanism<double> twin(epsilon{0.5}, l1_sensitivity{1.0});
    const double step = m.step();
    CHECK(step == twin.step());
    int exponent = 0;
    CHECK(std::frexp(step, &exponent) == 0.5);  // a power of two
    CHECK(m.scale() / step >= 0x1p20);   // noise resolution: at least 2^20 steps per scale
    CHECK(step <= 1.0 * 0x1p-20);        // rounding costs at most 2^-20 of the sensitivity
    // The step is a function of the public parameters only:
    // 2^min(ilogb(scale) - 20, ilogb(sensitivity / dimension) - 20).
    CHECK(step == std::ldexp(1.0, std::min(std::ilogb(m.scale()) - 20, std::ilogb(1.0) - 20)));
    const laplace_mechanism<double> vec(epsilon{0.5}, l1_sensitivity{1.0}, dimension{10});
    CHECK(vec.step() == std::ldexp(1.0, std::min(std::ilogb(vec.scale()) - 20, std::ilogb(0.1) - 20)));
    insecure_seeded_generator g(1);
    for (double x : {0.0, 1.0, 0.3, -123.456}) {
        for (int i = 0; i < 5000; ++i) REQUIRE(on_lattice(m(x, g), step));
    }
    SECTION("positive control: naive floating-point Laplace leaves the lattice") {
        std::mt19937_64 mt(2);
        std::exponential_distribution<double> exponential(1.0 / m.scale());
        int off = 0;
        for (int i = 0; i < 1000; ++i) {
            const double naive = 1.0 + ((mt() & 1u) ? exponential(mt) : -exponential(mt));
            off += on_lattice(naive, step) ? 0 : 1;
        }
        CHECK(off > 900);
    }
}

TEST_CASE("Laplace on doubles: the noise in steps is discrete Laplace with the reported scale", "[laplace][statistical]") {
    const laplace_mechanism<double> m(epsilon{1.0}, l1_sensitivity{3.0});
    const double t = m.noise_distribution().scale().to_double();
    CHECK(t == std::floor(t));  // an integer number of steps
    insecure_seeded_generator g(3);
    // Bin the noise into quarter-scale bins: the pmf per integer is ~1e-6.
    const double bin = std::ldexp(1.0, std::ilogb(t) - 2);
    auto binned = [&](const laplace_mechanism<double>& mech, double x) {
        std::vector<std::int64_t> out;
        for (int i = 0; i < 100000; ++i) {
            const double noise_steps = (mech(x, g) - x) / mech.step();
            out.push_back(static_cast<std::int64_t>(std::floor(noise_steps / bin)));
        }
        return out;
    };
    // P[floor(Z / bin) = j] for discrete Laplace with scale t, from its exact cdf.
    auto cdf = [t](double k) {  // P[Z <= k] for integer k
        const double p = std::exp(-1 / t);
        if (k >= 0) return 1 - std::exp(-(k + 1) / t) / (1 + p);
        return std::exp(k / t) * p / (1 + p) / p;
    };
    auto bin_mass = [&](std::int64_t j) {
        const double lo = static_cast<double>(j) * bin;
        return cdf(lo + bin - 1) - cdf(lo - 1);
    };
    CHECK(dpkit_test::g_test(binned(m, 2.0), bin_mass).p_value > false_failure_rate);
    SECTION("positive control: a mechanism with 1.1 times the scale is told apart") {
        const laplace_mechanism<double> wide(scale{m.scale() * 1.1}, l1_sensitivity{3.0});
        REQUIRE(wide.step() == m.step());
        CHECK(dpkit_test::g_test(binned(wide, 2.0), bin_mass).p_value < false_failure_rate);
    }
}

TEST_CASE("Laplace cost: reported epsilon covers the lattice rounding and never exceeds the request", "[laplace]") {
    for (double eps : {0.01, 0.1, 1.0, 3.0}) {
        for (double sens : {1.0, 0.37, 250.0}) {
            const laplace_mechanism<double> m(epsilon{eps}, l1_sensitivity{sens});
            const double g = m.step();
            const double t = m.noise_distribution().scale().to_double();
            const double lattice_distance = std::floor(sens / g) + 1;
            INFO("eps " << eps << " sensitivity " << sens);
            CHECK(m.cost().epsilon <= eps);
            CHECK(m.cost().epsilon * t >= lattice_distance);  // loss bound D'/t <= reported epsilon
            CHECK(m.cost().epsilon > eps * (1 - 1e-5));       // and the lattice costs almost nothing
            CHECK(m.scale() >= sens / eps);
        }
    }
    const laplace_mechanism<double> from_scale(scale{2.0}, l1_sensitivity{1.0});
    CHECK(from_scale.scale() == 2.0);
    CHECK(from_scale.cost().epsilon == dpkit_test::approx(0.5).epsilon(1e-5));
    CHECK(from_scale.cost().epsilon >= 0.5);
    const laplace_mechanism<double> vec(epsilon{1.0}, l1_sensitivity{1.0}, dimension{1000});
    CHECK(vec.cost().epsilon <= 1.0);
    CHECK(vec.cost().epsilon * vec.noise_distribution().scale().to_double() >= std::floor(1.0 / vec.step()) + 1000);
}

TEST_CASE("Laplace on integers: exact discrete Laplace noise with rational scale", "[laplace][statistical]") {
    const laplace_mechanism<std::int64_t> m(epsilon{0.4}, l1_sensitivity{1.0});
    CHECK(m.step() == 1.0);
    CHECK(m.scale() >= 2.5);
    CHECK(m.scale() == dpkit_test::approx(2.5).epsilon(1e-15));
    CHECK(m.cost().epsilon == 0.4);
    insecure_seeded_generator g(5);
    std::vector<std::int64_t> noise;
    for (int i = 0; i < 100000; ++i) noise.push_back(m(std::int64_t{1000}, g) - 1000);
    const double b = m.noise_distribution().scale().to_double();
    CHECK(dpkit_test::g_test(noise, [b](std::int64_t k) { return dpkit_test::discrete_laplace_pmf(b, k); }).p_value >
          false_failure_rate);
    SECTION("positive control: the pmf of scale 2.75 is rejected") {
        CHECK(dpkit_test::g_test(noise, [](std::int64_t k) { return dpkit_test::discrete_laplace_pmf(2.75, k); }).p_value <
              false_failure_rate);
    }
    // Saturation instead of wrap-around at the edge of the type.
    const laplace_mechanism<std::int8_t> small(epsilon{0.01}, l1_sensitivity{1.0});
    for (int i = 0; i < 200; ++i) {
        const auto v = small(std::int8_t{120}, g);
        CHECK(v >= -128);
        CHECK(v <= 127);
    }
}

TEST_CASE("Laplace on vectors: L1 sensitivity over the whole vector", "[laplace]") {
    const laplace_mechanism<double> m(epsilon{1.0}, l1_sensitivity{2.0}, dimension{3});
    insecure_seeded_generator g(6);
    const std::vector<double> x = {1.0, 2.0, 3.0};
    const auto y = m(std::span<const double>(x), g);
    REQUIRE(y.size() == 3);
    for (double v : y) CHECK(on_lattice(v, m.step()));
    const std::vector<double> wrong = {1.0, 2.0};
    CHECK_THROWS_WITH(m(std::span<const double>(wrong), g),
                      "dpkit::laplace_mechanism: input length must equal the mechanism's dimension (3) (got 2)");
    const std::vector<double> with_nan = {1.0, std::nan(""), 3.0};
    CHECK_THROWS_AS(m(std::span<const double>(with_nan), g), dpkit::invalid_argument);
    const laplace_mechanism<int> ints(epsilon{1.0}, l1_sensitivity{2.0}, dimension{2});
    const std::vector<int> xi = {5, 6};
    CHECK(ints(xi, g).size() == 2);
    // Any range: a std::list, an array, a view.
    const std::list<double> as_list = {1.0, 2.0, 3.0};
    CHECK(m(as_list, g).size() == 3);
    const std::array<double, 3> as_array = {1.0, 2.0, 3.0};
    CHECK(m(as_array, g).size() == 3);
    const std::list<int> short_list = {1};
    CHECK_THROWS_AS(ints(short_list, g), dpkit::invalid_argument);
}

TEST_CASE("Laplace accuracy: exact tail and the smallest covering interval", "[laplace][statistical]") {
    const laplace_mechanism<double> m(epsilon{1.0}, l1_sensitivity{1.0});
    const auto ci = confidence_interval(m, 0.95);
    CHECK(ci.lower == -ci.upper);
    CHECK(tail_probability(m, ci.upper) <= 0.05);
    CHECK(tail_probability(m, ci.upper - m.step()) > 0.05);
    CHECK(ci.upper == dpkit_test::approx(std::log(20.0)).epsilon(1e-4));  // continuous Laplace: b ln(1/0.05)
    insecure_seeded_generator g(7);
    std::uint64_t outside = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) outside += std::fabs(m(0.0, g)) > 1.5 ? 1u : 0u;
    CHECK(dpkit_test::binomial_p_value(outside, n, tail_probability(m, 1.5)) > false_failure_rate);
    SECTION("positive control: the tail of a 10% wider mechanism is told apart") {
        const laplace_mechanism<double> wider(scale{1.1}, l1_sensitivity{1.0});
        CHECK(dpkit_test::binomial_p_value(outside, n, tail_probability(wider, 1.5)) < false_failure_rate);
    }
    CHECK(tail_probability(m, -1) == 1.0);
    const auto bars = around(10.0, ci);  // a released value's 95% interval for the true value
    CHECK(bars.lower == 10.0 - ci.upper);
    CHECK(bars.upper == 10.0 + ci.upper);
    CHECK_THROWS_WITH(confidence_interval(m, 1.0), "dpkit::confidence_interval: level must be in (0, 1) (got 1)");
}

TEST_CASE("Laplace rejects bad parameters and inputs with a message", "[laplace][errors]") {
    using M = laplace_mechanism<double>;
    CHECK_THROWS_WITH(M(epsilon{-1}, l1_sensitivity{1}), "dpkit::laplace_mechanism: epsilon must be finite and > 0 (got -1)");
    CHECK_THROWS_WITH(M(epsilon{0}, l1_sensitivity{1}), "dpkit::laplace_mechanism: epsilon must be finite and > 0 (got 0)");
    CHECK_THROWS_WITH(M(epsilon{std::nan("")}, l1_sensitivity{1}),
                      "dpkit::laplace_mechanism: epsilon must be finite and > 0 (got nan)");
    CHECK_THROWS_WITH(M(epsilon{INFINITY}, l1_sensitivity{1}),
                      "dpkit::laplace_mechanism: epsilon must be finite and > 0 (got inf)");
    CHECK_THROWS_WITH(M(epsilon{1}, l1_sensitivity{0}),
                      "dpkit::laplace_mechanism: l1_sensitivity must be finite and > 0 (got 0)");
    CHECK_THROWS_WITH(M(epsilon{1}, l1_sensitivity{INFINITY}),
                      "dpkit::laplace_mechanism: l1_sensitivity must be finite and > 0 (got inf)");
    CHECK_THROWS_WITH(M(scale{-2}, l1_sensitivity{1}), "dpkit::laplace_mechanism: scale must be finite and > 0 (got -2)");
    CHECK_THROWS_WITH(M(epsilon{1}, l1_sensitivity{1}, dimension{0}),
                      "dpkit::laplace_mechanism: dimension must be >= 1 (got 0)");
    CHECK_THROWS_AS(M(epsilon{1e-300}, l1_sensitivity{1e300}), dpkit::invalid_argument);  // lattice would overflow
    CHECK_THROWS_AS(laplace_mechanism<int>(epsilon{1e-30}, l1_sensitivity{1}), dpkit::invalid_argument);
    const M m(epsilon{1}, l1_sensitivity{1});
    insecure_seeded_generator g(8);
    CHECK_THROWS_WITH(m(std::nan(""), g),
                      "dpkit::laplace_mechanism: input must not be NaN (infinities are clamped, NaN is refused) (got nan)");
}

TEST_CASE("the lattice clamps instead of refusing: whether a call throws never depends on the value", "[laplace][lattice]") {
    insecure_seeded_generator g(81);
    constexpr double inf = std::numeric_limits<double>::infinity();
    // Today's boundary was 2^32 for (1, 1): 2^32 was accepted and 2^32 + 1 refused.
    const laplace_mechanism<double> unit(epsilon{1}, l1_sensitivity{1});
    for (double x : {0x1p32, 0x1p32 + 1, 1e15, 1e30, 1e300, std::numeric_limits<double>::max(), inf, -inf}) {
        INFO("x " << x);
        double y = 0;
        CHECK_NOTHROW(y = unit(x, g));
        CHECK(std::isfinite(y));
    }
    // Values within 2^125 steps are noised around themselves: with D = 1e-6 the
    // range used to be +-4096.
    const laplace_mechanism<double> fine(epsilon{1}, l1_sensitivity{1e-6});
    CHECK(fine.max_input() > 1e25);
    for (double x : {5000.0, -1e5, 1e12}) {
        INFO("x " << x);
        CHECK(std::fabs(fine(x, g) - x) <= std::fmax(60 * fine.scale(), 4 * x * 0x1p-53));
    }
    // Beyond the range, and at infinity, the input is clamped to +-max_input().
    const double top = fine.max_input();
    for (double x : {2 * top, 1e300, inf}) {
        INFO("x " << x);
        CHECK(fine(x, g) == dpkit_test::approx(top).epsilon(1e-12));
        CHECK(fine(-x, g) == dpkit_test::approx(-top).epsilon(1e-12));
    }
    // Vectors clamp per coordinate; only NaN throws, before any noise is drawn.
    const laplace_mechanism<double> vec(epsilon{1}, l1_sensitivity{1}, dimension{3});
    const std::vector<double> wide = {INFINITY, -1e300, 3.0};
    CHECK(vec(std::span<const double>(wide), g).size() == 3);
}

TEST_CASE("a Laplace mechanism's cost is booked at or above its exact epsilon", "[laplace][accounting]") {
    using detail::exact_decimal;
    // The exact loss is units / t (integers); its booked amount is the shortest decimal of cost().
    auto booked_bounds_exact = [](const laplace_mechanism<double>& m) {
        const double t = m.noise_distribution().scale().to_double();  // an integer below 2^56: exact
        return exact_decimal::exactly(m.sensitivity_in_steps()) <= exact_decimal::declared(m.cost().epsilon) * exact_decimal::exactly(t);
    };
    // The reported case: exact epsilon 3854463/1542907, printed as 2.4981823272562766 (below it).
    const laplace_mechanism<double> m(epsilon{0x1.3fc47988f0415p+1}, l1_sensitivity{0x1.d683f2f7488ffp-1});
    CHECK(m.sensitivity_in_steps() == 3854463);
    CHECK(m.noise_distribution().scale().to_double() == 1542907);
    CHECK(booked_bounds_exact(m));
    accountant<basic_composition> old_print(approx_dp{2.4981823272562766, 0}, "printed");
    CHECK_FALSE(old_print.try_spend(m.cost(), "release"));  // the exact cost exceeds that decimal
    accountant<basic_composition> exact_budget(approx_dp{m.cost().epsilon, 0}, "booked");
    CHECK(exact_budget.try_spend(m.cost(), "release"));
    // Random mechanisms, from epsilon and from a scale (about 7% failed before).
    std::mt19937_64 rng(2024);
    std::uniform_real_distribution<double> log10(-3, 1);
    int failures = 0;
    for (int i = 0; i < 3000; ++i) {
        const double eps = std::pow(10.0, log10(rng));
        const double d = std::pow(10.0, log10(rng));
        if (!booked_bounds_exact(laplace_mechanism<double>(epsilon{eps}, l1_sensitivity{d}))) ++failures;
        if (!booked_bounds_exact(laplace_mechanism<double>(scale{eps}, l1_sensitivity{d}))) ++failures;
        CHECK(laplace_mechanism<double>(epsilon{eps}, l1_sensitivity{d}).cost().epsilon <= eps);
    }
    CHECK(failures == 0);
}

TEST_CASE("integer Laplace accepts large epsilons (tiny scales are raised, never lowered)", "[laplace]") {
    insecure_seeded_generator g(3);
    for (double eps : {50.0, 710.0, 1e6, 1e300}) {
        INFO("epsilon " << eps);
        const laplace_mechanism<std::int64_t> m(epsilon{eps}, l1_sensitivity{1});
        CHECK(m.cost().epsilon == eps);
        // P[noise != 0] = 2 e^(-1/b) / (1 + e^(-1/b)) < 1e-21 here: the value comes back.
        CHECK(m(std::int64_t{42}, g) == 42);
        CHECK(m.noise_distribution().scale().to_double() >= 1 / eps);
    }
}

TEST_CASE("Laplace batch API: add_noise in place and fill_noise draw the same noise law as scalar calls",
          "[laplace][batch][statistical]") {
    const laplace_mechanism<double> m(epsilon{1.0}, l1_sensitivity{1.0});
    const double t = m.noise_distribution().scale().to_double();
    const double bin = std::ldexp(1.0, std::ilogb(t) - 2);
    auto cdf = [t](double k) {
        const double p = std::exp(-1 / t);
        if (k >= 0) return 1 - std::exp(-(k + 1) / t) / (1 + p);
        return std::exp(k / t) / (1 + p);
    };
    auto bin_mass = [&](std::int64_t j) {
        const double lo = static_cast<double>(j) * bin;
        return cdf(lo + bin - 1) - cdf(lo - 1);
    };
    insecure_seeded_generator g(11);
    std::vector<double> noise(100000);
    m.fill_noise(std::span<double>(noise), g);
    std::vector<std::int64_t> bins;
    for (double z : noise) {
        REQUIRE(on_lattice(z, m.step()));
        bins.push_back(static_cast<std::int64_t>(std::floor(z / m.step() / bin)));
    }
    CHECK(dpkit_test::g_test(bins, bin_mass).p_value > false_failure_rate);
    SECTION("positive control: noise from a mechanism with 1.1 times the scale is told apart") {
        const laplace_mechanism<double> wide(scale{m.scale() * 1.1}, l1_sensitivity{1.0});
        std::vector<double> other(100000);
        wide.fill_noise(std::span<double>(other), g);
        std::vector<std::int64_t> wide_bins;
        for (double z : other) wide_bins.push_back(static_cast<std::int64_t>(std::floor(z / m.step() / bin)));
        CHECK(dpkit_test::g_test(wide_bins, bin_mass).p_value < false_failure_rate);
    }
    SECTION("add_noise on a vector: outputs on the lattice, NaN throws before any noise, huge values clamp") {
        const laplace_mechanism<double> v(epsilon{1.0}, l1_sensitivity{1.0}, dimension{4});
        std::vector<double> x = {0.5, -3.0, 1e300, -std::numeric_limits<double>::infinity()};
        insecure_seeded_generator a(12);
        v.add_noise(std::span<double>(x), a);
        for (double y : x) CHECK(on_lattice(y, v.step()));
        CHECK(std::fabs(x[2] - v.max_input()) < 1e-6 * v.max_input());
        CHECK(std::fabs(x[3] + v.max_input()) < 1e-6 * v.max_input());
        std::vector<double> bad = {1.0, 2.0, std::numeric_limits<double>::quiet_NaN(), 4.0};
        insecure_seeded_generator b(13);
        insecure_seeded_generator c(13);
        CHECK_THROWS_AS(v.add_noise(std::span<double>(bad), b), invalid_argument);
        CHECK(bad[0] == 1.0);  // untouched
        CHECK(b() == c());     // no randomness consumed
        std::vector<double> short_vector(3, 0.0);
        CHECK_THROWS_AS(v.add_noise(std::span<double>(short_vector), b), invalid_argument);
    }
}

TEST_CASE("timing-safe Laplace: same lattice and calibration, cost adds the sampler's delta", "[laplace][timing]") {
    const timing_safe_laplace_mechanism<double> m(epsilon{1.0}, l1_sensitivity{1.0});
    const laplace_mechanism<double> exact(epsilon{1.0}, l1_sensitivity{1.0});
    CHECK(m.step() == exact.step());
    CHECK(m.noise_distribution().scale() == exact.noise_distribution().scale());
    CHECK(m.cost().epsilon == exact.cost().epsilon);
    const double eta = m.noise_distribution().eta();
    CHECK(eta == std::ldexp(static_cast<double>(m.noise_distribution().digits() + 2), -64));
    CHECK(m.cost().delta >= (1 + std::exp(1.0)) * eta);
    CHECK(m.cost().delta < 1e-16);
    insecure_seeded_generator g(20);
    for (int i = 0; i < 1000; ++i) CHECK(on_lattice(m(2.0, g), m.step()));
    const timing_safe_laplace_mechanism<double> v(epsilon{1.0}, l1_sensitivity{1.0}, dimension{1000});
    CHECK(v.cost().delta >= 1000 * (1 + std::exp(1.0)) * v.noise_distribution().eta());
    CHECK_THROWS_AS(timing_safe_laplace_mechanism<double>(epsilon{60.0}, l1_sensitivity{1.0}), invalid_argument);
    const timing_safe_laplace_mechanism<std::int64_t> integer(epsilon{0.5}, l1_sensitivity{1.0});
    CHECK(integer.cost().delta > 0);
    std::vector<std::int64_t> draws;
    for (int i = 0; i < 20000; ++i) draws.push_back(integer(std::int64_t{0}, g));
    const double b = integer.noise_distribution().scale().to_double();
    CHECK(dpkit_test::g_test(draws, [b](std::int64_t k) { return dpkit_test::discrete_laplace_pmf(b, k); }).p_value >
          false_failure_rate);
}
