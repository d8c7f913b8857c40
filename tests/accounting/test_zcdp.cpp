// zCDP to (epsilon, delta) conversion at extreme parameters, against 60-digit
// values (tests/data/zcdp_highprec.csv, made by make_zcdp_highprec.py).
#include <dpkit/privacy/zcdp.hpp>

#include <cmath>

#include "../support/csv.hpp"
#include "../support/dpkit_catch.hpp"

using namespace dpkit;
using dpkit_test::number;

TEST_CASE("zcdp_to_approx_dp_epsilon is an upper bound, tight and never negative, at every parameter",
          "[zcdp][refs]") {
    const auto rows = dpkit_test::read_csv(DPKIT_TEST_DATA "/zcdp_highprec.csv");
    REQUIRE(rows.size() == 99);
    for (const auto& row : rows) {
        const double rho = number(row, "rho");
        const double delta = number(row, "delta");
        const double exact = number(row, "eps_exact");  // the largest double <= the exact value
        INFO("rho " << rho << " delta " << delta << " exact " << exact);
        const double ours = zcdp_to_approx_dp_epsilon(rho, delta);
        CHECK(ours >= 0);
        CHECK(ours >= exact);
        CHECK(ours <= exact * (1 + 1e-9) + 1e-300);
        // The simple bound is valid too, so never below the exact optimum.
        CHECK(zcdp_to_approx_dp_epsilon_simple(rho, delta) >= exact);
    }
}

TEST_CASE("zcdp_to_approx_dp_epsilon was negative at these parameters", "[zcdp]") {
    // Reported values before the fix: -1.75, -0.67, -1e-5, -30.5. Each exact value is 0.
    CHECK(zcdp_to_approx_dp_epsilon(0.5, 0.9) == 0);
    CHECK(zcdp_to_approx_dp_epsilon(0.01, 0.5) == 0);
    CHECK(zcdp_to_approx_dp_epsilon(5e-25, 1e-5) == 0);
    CHECK(zcdp_to_approx_dp_epsilon(0.5, 1 - 1e-16) == 0);
}

TEST_CASE("zcdp_rho_for inverts the conversion at extreme targets", "[zcdp]") {
    for (double eps : {1e-6, 0.1, 1.0, 50.0, 800.0}) {
        for (double delta : {1e-300, 1e-10, 0.5}) {
            INFO("eps " << eps << " delta " << delta);
            const double rho = zcdp_rho_for(eps, delta);
            CHECK(rho > 0);
            CHECK(zcdp_to_approx_dp_epsilon(rho, delta) <= eps);
        }
    }
}
