// Closed-form composition theorems against the reference formulas (tests/data),
// and the exact KOV optimum against a 50-digit table (kov_highprec.csv).
#include <dpkit/accounting/accountant.hpp>
#include <dpkit/accounting/calibration.hpp>
#include <dpkit/privacy/composition.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../support/csv.hpp"
#include "../support/dpkit_catch.hpp"

using namespace dpkit;
using dpkit_test::number;

TEST_CASE("basic, advanced and KOV composition equal their formulas", "[composition][refs]") {
    const auto rows = dpkit_test::read_csv(DPKIT_TEST_DATA "/laplace_composition.csv");
    REQUIRE(rows.size() == 8);
    for (const auto& row : rows) {
        const double eps0 = number(row, "eps0");
        const auto k = static_cast<long long>(number(row, "k"));
        const double delta = number(row, "delta");
        INFO("eps0 " << eps0 << " k " << k << " delta " << delta);
        const double drv = advanced_composition_epsilon(eps0, k, delta);
        CHECK(std::fabs(drv - number(row, "eps_advanced_drv")) <= 1e-12 * number(row, "eps_advanced_drv"));
        CHECK(drv >= number(row, "eps_advanced_drv"));
        const std::vector<double> same(static_cast<std::size_t>(k), eps0);
        CHECK(advanced_composition_epsilon(same, delta) == dpkit_test::approx(drv).epsilon(1e-12));
        const double kov = kov_composition_epsilon(eps0, k, delta);
        CHECK(std::fabs(kov - number(row, "eps_kov_thm34")) <= 1e-12 * number(row, "eps_kov_thm34"));
        CHECK(kov >= number(row, "eps_kov_thm34"));
        const double optimal = kov_optimal_epsilon(eps0, k, delta);
        CHECK(std::fabs(optimal - number(row, "eps_kov_optimal")) <= 1e-9 * number(row, "eps_kov_optimal"));
        CHECK(optimal >= number(row, "eps_kov_optimal") * (1 - 1e-14));
        CHECK(optimal <= kov);
    }
}

TEST_CASE("KOV optimal composition is the exact profile of binary randomized response", "[composition][refs]") {
    for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/randomized_response.csv")) {
        if (row.at("num_buckets") != "2") continue;
        const double eps0 = number(row, "eps0");
        const auto k = static_cast<long long>(number(row, "k"));
        INFO("eps0 " << eps0 << " k " << k);
        CHECK(kov_optimal_epsilon(eps0, k, number(row, "delta")) ==
              dpkit_test::approx(number(row, "eps_exact")).epsilon(1e-9));
    }
}

TEST_CASE("composition theorems reject bad parameters", "[composition][errors]") {
    CHECK_THROWS_WITH(advanced_composition_epsilon(-1.0, 3, 1e-5),
                      "dpkit::advanced_composition_epsilon: epsilon must be finite and > 0 (got -1)");
    CHECK_THROWS_WITH(kov_composition_epsilon(1.0, 0, 1e-5), "dpkit::kov_composition_epsilon: k must be >= 1 (got 0)");
    CHECK_THROWS_WITH(kov_optimal_epsilon(1.0, 3, 1.0), "dpkit::kov_optimal_epsilon: delta must be in (0, 1) (got 1)");
}

namespace {

struct kov_row {
    double eps0;
    long long k;
    double delta;
    double exact;
};

std::vector<kov_row> kov_table() {
    std::vector<kov_row> out;
    for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/kov_highprec.csv")) {
        out.push_back({number(row, "eps0"), std::stoll(row.at("k")), number(row, "delta"), number(row, "eps_exact")});
    }
    return out;
}

double kov_exact(double eps0, long long k, double delta) {
    for (const auto& r : kov_table()) {
        if (r.eps0 == eps0 && r.k == k && r.delta == delta) return r.exact;
    }
    FAIL("no table row for eps0 " << eps0 << " k " << k << " delta " << delta);
    return 0;
}

}  // namespace

TEST_CASE("KOV optimal epsilon is an upper bound within 1e-9 of the 50-digit optimum", "[composition][refs][kov]") {
    const auto rows = kov_table();
    REQUIRE(rows.size() == 11 * 6 * 6);
    for (const auto& r : rows) {
        INFO("eps0 " << r.eps0 << " k " << r.k << " delta " << r.delta << " exact " << r.exact);
        const double eps = kov_optimal_epsilon(r.eps0, r.k, r.delta);
        CHECK(eps >= r.exact);
        CHECK(eps <= r.exact * (1 + 1e-9));
    }
}

TEST_CASE("KOV optimal delta bounds the profile from above and matches the table", "[composition][refs][kov]") {
    for (const auto& r : kov_table()) {
        if (!(r.exact > 0)) continue;
        INFO("eps0 " << r.eps0 << " k " << r.k << " delta " << r.delta << " exact " << r.exact);
        const double eps = kov_optimal_epsilon(r.eps0, r.k, r.delta);
        CHECK(kov_optimal_delta(r.eps0, r.k, eps) <= r.delta * (1 + 1e-9));
        CHECK(kov_optimal_delta(r.eps0, r.k, r.exact * (1 - 1e-7)) > r.delta);
    }
}

TEST_CASE("KOV optimal epsilon is an upper bound at large k", "[composition][kov]") {
    // The exact value is 19.422821957816954195...; lgamma-based sums gave 19.4228219577774.
    CHECK(kov_optimal_epsilon(0.01, 100000, 1e-6) >= 19.42282195781695);
}

TEST_CASE("composition theorems never report a small epsilon for huge eps0", "[composition][kov]") {
    constexpr double inf = std::numeric_limits<double>::infinity();
    for (double eps0 : {710.0, 1e300}) {
        INFO("eps0 " << eps0);
        CHECK(advanced_composition_epsilon(eps0, 2, 1e-6) == inf);
        CHECK(advanced_composition_epsilon(std::vector<double>{eps0, eps0}, 1e-6) == inf);
        // KOV Thm 3.4 is min(k eps0, ...): an upper bound of the optimum.
        const double thm34 = kov_composition_epsilon(eps0, 2, 1e-6);
        CHECK(thm34 >= kov_optimal_epsilon(eps0, 2, 1e-6));
        CHECK(thm34 <= 2 * eps0);
        CHECK(kov_optimal_epsilon(eps0, 1, 1e-6) >= (eps0 == 710 ? kov_exact(710, 1, 1e-6) : eps0));
        CHECK(kov_optimal_delta(eps0, 2, 0) > 0.999);
    }
    CHECK(kov_optimal_epsilon(1e300, 1000000, 1e-6) >= 1e306);
    CHECK(kov_optimal_epsilon(1e300, 1000000000, 1e-6) == inf);
    CHECK(kov_optimal_epsilon(1.5e308, 2, 0.5) == inf);
}

TEST_CASE("optimal homogeneous accountant refuses spends of eps0 >= 710", "[composition][kov][accountant]") {
    accountant<optimal_homogeneous_composition> tight(approx_dp{1.0, 1e-6});
    CHECK_FALSE(tight.try_spend(pure_dp{710}, "a"));
    CHECK_FALSE(tight.try_spend(pure_dp{710}, "b"));
    CHECK(tight.spent().epsilon == 0);

    accountant<optimal_homogeneous_composition> mid(approx_dp{1000.0, 1e-6});
    CHECK(mid.try_spend(pure_dp{710}, "a"));
    CHECK_FALSE(mid.try_spend(pure_dp{710}, "b"));  // two compose to 1420 - 1e-6
    CHECK(mid.spent().epsilon >= kov_exact(710, 1, 1e-6));  // 710 + ln(1 - 1e-6 (1 + e^-710))

    accountant<optimal_homogeneous_composition> wide(approx_dp{2000.0, 1e-6});
    CHECK(wide.try_spend(pure_dp{710}, "a"));
    CHECK(wide.try_spend(pure_dp{710}, "b"));
    CHECK(wide.spent().epsilon >= kov_exact(710, 2, 1e-6));
    CHECK(wide.spent().epsilon <= 1420);
}

TEST_CASE("advanced composition accountant refuses a second spend of eps0 = 710", "[composition][accountant]") {
    accountant<advanced_composition> a(approx_dp{1000.0, 1e-6});
    CHECK(a.try_spend(pure_dp{710}, "a"));
    CHECK_FALSE(a.try_spend(pure_dp{710}, "b"));  // e^710 - 1 overflows: the DRV bound is infinite
    CHECK(a.spent().epsilon == 710);
}

TEST_CASE("optimal homogeneous accountant stops exactly where the optimum passes the budget", "[composition][kov][accountant]") {
    // Checks past basic composition are answered from a cache of which k fit: it must not move the boundary.
    accountant<optimal_homogeneous_composition> a(approx_dp{1.0, 1e-6});
    long long n = 0;
    while (a.try_spend(pure_dp{0.01}, "q")) ++n;
    INFO("accepted " << n);
    CHECK(n > 100);
    CHECK(kov_optimal_epsilon(0.01, n, 1e-6) <= 1.0);
    CHECK(kov_optimal_epsilon(0.01, n + 1, 1e-6) > 1.0);
    CHECK(a.spent().epsilon == kov_optimal_epsilon(0.01, n, 1e-6));
    CHECK_FALSE(a.try_spend(pure_dp{0.001}, "smaller"));  // n + 1 spends of at most 0.01 do not fit either
}

TEST_CASE("optimal homogeneous Laplace calibration at epsilon 1000 gives b near 1/1000", "[composition][kov][calibration]") {
    const double b = calibrate_laplace<optimal_homogeneous_composition>(1, approx_dp{1000, 1e-6});
    // One release: eps = eps0 + ln(1 - delta (1 + e^-eps0)), so b = 1 / (1000 + 1e-6 + ...).
    CHECK(b >= 1e-3 * (1 - 1e-8));
    CHECK(b <= 1e-3 * (1 + 1e-8));
    CHECK(kov_optimal_epsilon(1 / b, 1, 1e-6) <= 1000 * (1 + 1e-15));
}

TEST_CASE("a million spends on an optimal homogeneous accountant", "[composition][kov][accountant]") {
    // The budget's epsilon is exhausted by basic composition after 10^4 spends;
    // the other 990000 are accepted by the KOV optimum (about 0.00526).
    accountant<optimal_homogeneous_composition> a(approx_dp{0.01, 1e-6});
    long long accepted = 0;
    for (int i = 0; i < 1000000; ++i) accepted += a.try_spend(pure_dp{1e-6}, "q") ? 1 : 0;
    CHECK(accepted == 1000000);
    const double exact = kov_exact(1e-6, 1000000, 1e-6);
    CHECK(a.spent().epsilon >= exact);
    CHECK(a.spent().epsilon <= exact * (1 + 1e-9));
    CHECK(a.spent().delta == 1e-6);
    CHECK_FALSE(a.try_spend(pure_dp{0.01}, "too much"));
    CHECK(a.try_spend(pure_dp{1e-6}, "one more"));
}
