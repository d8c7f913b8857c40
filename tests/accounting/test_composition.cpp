// Closed-form composition theorems against the reference formulas (tests/data).
#include <dpkit/privacy/composition.hpp>

#include <cmath>

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
