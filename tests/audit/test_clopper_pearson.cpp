// The incomplete beta function, its inverses and the Clopper-Pearson bounds
// against 60-digit values (tests/data/make_incomplete_beta.py).
#include <dpkit/audit/clopper_pearson.hpp>

#include <cmath>
#include <cstdint>

#include "../support/csv.hpp"
#include "../support/dpkit_catch.hpp"
#include "../support/stats.hpp"

using namespace dpkit;

namespace {

double relative_error(double got, double want) { return std::fabs(got - want) / std::fabs(want); }

}  // namespace

TEST_CASE("regularized incomplete beta and its inverses match 60-digit values to 1e-10", "[audit][clopper_pearson]") {
    const auto rows = dpkit_test::read_csv(DPKIT_TEST_DATA "/incomplete_beta.csv");
    REQUIRE(rows.size() > 200);
    double worst = 0;
    for (const auto& row : rows) {
        const double a = dpkit_test::number(row, "a");
        const double b = dpkit_test::number(row, "b");
        const double x = dpkit_test::number(row, "x");
        INFO("a = " << a << ", b = " << b << ", x = " << x);
        const double e1 = relative_error(regularized_beta(a, b, x), dpkit_test::number(row, "I"));
        const double e2 = relative_error(regularized_beta_inverse(a, b, dpkit_test::number(row, "p")),
                                         dpkit_test::number(row, "inv"));
        const double e3 = relative_error(regularized_beta_complement_inverse(a, b, dpkit_test::number(row, "q")),
                                         dpkit_test::number(row, "invc"));
        CHECK(e1 <= 1e-10);
        CHECK(e2 <= 1e-10);
        CHECK(e3 <= 1e-10);
        worst = std::fmax(worst, std::fmax(e1, std::fmax(e2, e3)));
    }
    WARN("worst relative error: " << worst);
}

TEST_CASE("Clopper-Pearson bounds: edge counts, outward margin, agreement with a bisection", "[audit][clopper_pearson]") {
    CHECK(clopper_pearson_lower(0, 10, 0.05) == 0);
    CHECK(clopper_pearson_upper(10, 10, 0.05) == 1);
    // k = n: the lower bound is alpha^(1/n); k = 0: the upper bound is 1 - alpha^(1/n).
    CHECK(clopper_pearson_lower(10, 10, 0.05) <= std::pow(0.05, 0.1));
    CHECK(clopper_pearson_lower(10, 10, 0.05) >= std::pow(0.05, 0.1) * (1 - 2e-9));
    CHECK(clopper_pearson_upper(0, 1000000, 0.025) >= -std::expm1(std::log(0.025) / 1e6));
    CHECK(clopper_pearson_upper(0, 1000000, 0.025) <= -std::expm1(std::log(0.025) / 1e6) * (1 + 2e-9));
    // Independent check: the tests' bisection on the binomial tail (two-sided alpha = 2 * one-sided).
    for (const std::uint64_t n : {20u, 1000u, 50000u}) {
        for (const std::uint64_t k : {std::uint64_t{1}, n / 7, n / 2, n - 1}) {
            INFO("k = " << k << ", n = " << n);
            const double lo = clopper_pearson_lower(k, n, 0.025);
            const double hi = clopper_pearson_upper(k, n, 0.025);
            CHECK(lo <= dpkit_test::cp_lower(k, n, 0.05));
            CHECK(lo >= dpkit_test::cp_lower(k, n, 0.05) * (1 - 1e-8));
            CHECK(hi >= dpkit_test::cp_upper(k, n, 0.05));
            CHECK(hi <= dpkit_test::cp_upper(k, n, 0.05) * (1 + 1e-8));
        }
    }
}

TEST_CASE("Clopper-Pearson and incomplete beta reject bad parameters with a message", "[audit][clopper_pearson][errors]") {
    CHECK_THROWS_AS(clopper_pearson_lower(5, 4, 0.05), dpkit::invalid_argument);
    CHECK_THROWS_AS(clopper_pearson_upper(0, 0, 0.05), dpkit::invalid_argument);
    CHECK_THROWS_AS(clopper_pearson_upper(1, 4, 0.0), dpkit::invalid_argument);
    CHECK_THROWS_AS(regularized_beta(-1, 2, 0.5), dpkit::invalid_argument);
    CHECK_THROWS_AS(regularized_beta_inverse(1, 2, 1.5), dpkit::invalid_argument);
    try {
        (void)clopper_pearson_lower(1, 4, 2.0);
        FAIL("no exception");
    } catch (const dpkit::invalid_argument& e) {
        CHECK(std::string(e.what()) == "dpkit::clopper_pearson_lower: alpha must be in (0, 1) (got 2)");
    }
}
