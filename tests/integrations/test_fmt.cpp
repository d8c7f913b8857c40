// dpkit::fmt: formatters for costs, intervals, estimates and rationals.
#include <dpkit/fmt.hpp>

#include <string>

#include "../support/dpkit_catch.hpp"

TEST_CASE("privacy costs format with the double format spec", "[fmt]") {
    CHECK(fmt::format("{}", dpkit::pure_dp{0.5}) == "pure_dp(epsilon=0.5)");
    CHECK(fmt::format("{:.2f}", dpkit::approx_dp{1.0, 1e-5}) == "approx_dp(epsilon=1.00, delta=0.00)");
    CHECK(fmt::format("{:.1e}", dpkit::approx_dp{1.0, 1e-5}) == "approx_dp(epsilon=1.0e+00, delta=1.0e-05)");
    CHECK(fmt::format("{}", dpkit::zcdp{0.125}) == "zcdp(rho=0.125)");
    CHECK(fmt::format("{:.3f}", dpkit::interval{-1.5, 2.25}) == "[-1.500, 2.250]");
    CHECK(fmt::format("{:.2f}", dpkit::frequency_estimate{0.25, 0.0001}) == "0.25 ± 0.01");
    CHECK(fmt::format("{}", dpkit::rational(3, 8)) == "3/8");
    CHECK(fmt::format("{}", dpkit::rational::exactly(1e20)) == "100000000000000000000");
}
