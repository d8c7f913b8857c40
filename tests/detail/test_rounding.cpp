// Directed rounding: bounds in the right direction, exact results kept exact.
#include <dpkit/detail/exact_decimal.hpp>
#include <dpkit/detail/rounding.hpp>

#include <cmath>
#include <random>

#include "../support/dpkit_catch.hpp"

using namespace dpkit::detail;

TEST_CASE("directed rounding keeps exact results and bounds inexact ones", "[rounding]") {
    CHECK(div_up(50.0, 1.0) == 50.0);
    CHECK(div_up(1.0, 4.0) == 0.25);
    CHECK(mul_up(3.0, 0.5) == 1.5);
    CHECK(add_up(0.5, 0.25) == 0.75);
    CHECK(sqrt_up(4.0) == 2.0);
    // Inexact: compare against exact decimal expansions of the operands and result.
    const double third_up = div_up(1.0, 3.0);
    const double third_down = div_down(1.0, 3.0);
    CHECK(third_up == next_up(third_down));
    CHECK(compare(exact_decimal::exactly(third_up) + exact_decimal::exactly(third_up) + exact_decimal::exactly(third_up),
                  exact_decimal::declared(1.0)) > 0);
    CHECK(compare(exact_decimal::exactly(third_down) + exact_decimal::exactly(third_down) + exact_decimal::exactly(third_down),
                  exact_decimal::declared(1.0)) < 0);
    const double a = 0.1;
    const double b = 0.2;
    const auto exact_sum = exact_decimal::exactly(a) + exact_decimal::exactly(b);
    CHECK(compare(exact_decimal::exactly(add_up(a, b)), exact_sum) >= 0);
    CHECK(compare(exact_decimal::exactly(add_down(a, b)), exact_sum) <= 0);
    CHECK(add_up(a, b) == next_up(add_down(a, b)));
    const auto exact_product = exact_decimal::exactly(a) * exact_decimal::exactly(b);
    CHECK(compare(exact_decimal::exactly(mul_up(a, b)), exact_product) >= 0);
    CHECK(compare(exact_decimal::exactly(mul_down(a, b)), exact_product) <= 0);
    const double r2 = sqrt_up(2.0);
    CHECK(compare(exact_decimal::exactly(r2) * exact_decimal::exactly(r2), exact_decimal::declared(2.0)) >= 0);
    CHECK(compare(exact_decimal::exactly(sqrt_down(2.0)) * exact_decimal::exactly(sqrt_down(2.0)), exact_decimal::declared(2.0)) <= 0);
    CHECK(div_up(-1.0, 3.0) == -third_down);
    CHECK(mul_up(1e-300, 1e-300) > 0);  // underflow rounds up to the smallest subnormal
}

TEST_CASE("exact decimals: sums, products, halves and comparisons", "[rounding]") {
    exact_decimal s;
    for (int i = 0; i < 10; ++i) s = s + exact_decimal::declared(0.1);
    CHECK(s == exact_decimal::declared(1.0));
    const auto tiny = exact_decimal::declared(1.0) + exact_decimal::declared(1e-300);
    CHECK(compare(tiny, exact_decimal::declared(1.0)) > 0);
    CHECK((tiny - exact_decimal::declared(1.0)) == exact_decimal::declared(1e-300));
    CHECK((exact_decimal::declared(0.3) * exact_decimal::declared(0.3)).half() == exact_decimal::declared(0.045));
    CHECK((exact_decimal::declared(1.0) - exact_decimal::declared(2.0)).is_zero());  // never negative
    CHECK(exact_decimal::exactly(0.1).to_string() == "1000000000000000055511151231257827021181583404541015625e-55");
    CHECK_THROWS_AS(exact_decimal::declared(-1.0), dpkit::invalid_argument);
}

TEST_CASE("booked_up and at_most_declared bracket a double's decimal reading", "[rounding][decimal]") {
    using dpkit::detail::exact_decimal;
    std::mt19937_64 rng(99);
    std::uniform_real_distribution<double> exponent(-300, 300);
    int moved_up = 0;
    int moved_down = 0;
    for (int i = 0; i < 20000; ++i) {
        const double x = std::pow(10.0, exponent(rng)) * (1 + static_cast<double>(rng() % 1000) / 1000);
        const double up = dpkit::detail::booked_up(x);
        const double down = dpkit::detail::at_most_declared(x);
        INFO("x " << x);
        // booked_up: x or the next double, and its decimal is >= x's exact value.
        CHECK((up == x || up == std::nextafter(x, INFINITY)));
        CHECK(exact_decimal::exactly(x) <= exact_decimal::declared(up));
        // at_most_declared: x or the previous double, exactly at most x's decimal.
        CHECK((down == x || down == std::nextafter(x, 0.0)));
        CHECK(exact_decimal::exactly(down) <= exact_decimal::declared(x));
        moved_up += up != x;
        moved_down += down != x;
    }
    // About half of all doubles print below their exact value: both paths are exercised.
    CHECK(moved_up > 1000);
    CHECK(moved_down > 1000);
    CHECK(dpkit::detail::booked_up(0.5) == 0.5);        // exact decimals stay
    CHECK(dpkit::detail::at_most_declared(0.1) < 0.1);  // 0.1 is 0.1000000000000000055...
}
