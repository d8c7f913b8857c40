// Renyi DP curves and conversions against the reference values in tests/data
// (exact mpmath curves and Google dp_accounting 0.6.0).
#include <dpkit/accounting.hpp>
#include <dpkit/privacy.hpp>

#include <cmath>
#include <string>

#include "../support/csv.hpp"
#include "../support/dpkit_catch.hpp"

using namespace dpkit;
using dpkit_test::number;

namespace {

/// The curve of one use of the mechanism a reference row describes.
rdp_curve curve_for(const dpkit_test::csv_row& row, const std::vector<double>& orders) {
    const std::string mech = row.at("mechanism");
    if (mech == "gaussian") return gaussian_rdp(number(row, "sigma"), orders);
    if (mech == "laplace") return laplace_rdp(number(row, "b"), orders);
    if (mech == "poisson_gaussian") return poisson_subsampled_gaussian_rdp(number(row, "q"), number(row, "sigma"), orders);
    const int m = static_cast<int>(number(row, "m"));
    const double p = number(row, "p");
    return randomized_response_rdp(1 - p + p / m, p / m, m, orders);
}

rdp_curve times(rdp_curve c, double k) {
    for (auto& e : c.epsilons) e *= k;
    return c;
}

}  // namespace

TEST_CASE("RDP curves match the exact curves order by order", "[rdp][refs]") {
    const auto rows = dpkit_test::read_csv(DPKIT_TEST_DATA "/rdp_curves.csv");
    REQUIRE(rows.size() == 8 * 156);
    for (const auto& row : rows) {
        const double order = number(row, "order");
        const double exact = number(row, "rdp_exact");
        const double ours = curve_for(row, {order}).epsilons[0];
        INFO(row.at("mechanism") << " order " << order);
        CHECK(ours >= exact);  // never below the exact divergence
        // The subsampled Gaussian carries an absolute safety margin of 2e-15/(alpha-1)
        // for rounding in log A, which is up to 1.6e-9 relative at its smallest values.
        const double tolerance = row.at("mechanism") == "poisson_gaussian" ? 1e-8 : 1e-9;
        CHECK(std::fabs(ours - exact) <= tolerance * exact);
        // dp_accounting's fractional orders for the subsampled Gaussian are an upper bound.
        CHECK(ours <= number(row, "rdp_dp_accounting") * (1 + 1e-9));
    }
}

TEST_CASE("RDP to (epsilon, delta): improved and classic conversions of composed curves", "[rdp][refs]") {
    for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/rdp_conversions.csv")) {
        const auto curve = times(curve_for(row, default_rdp_orders()), number(row, "k"));
        const double delta = number(row, "delta");
        INFO(row.at("mechanism") << " k " << row.at("k"));
        const auto improved = rdp_to_approx_dp(curve, delta);
        CHECK(std::fabs(improved.epsilon - number(row, "eps_cks20")) <= 1e-9 * number(row, "eps_cks20"));
        CHECK(improved.order == number(row, "cks20_order"));
        const auto classic = rdp_to_approx_dp_classic(curve, delta);
        CHECK(std::fabs(classic.epsilon - number(row, "eps_classic")) <= 1e-9 * number(row, "eps_classic"));
        CHECK(std::fabs(improved.epsilon - number(row, "eps_dp_accounting_rdp")) <= 0.01 * number(row, "eps_dp_accounting_rdp"));
    }
}

TEST_CASE("RDP accountant matches dp_accounting within 1% and never undercuts the exact epsilon", "[rdp][refs]") {
    SECTION("Gaussian, sigma in {0.5, 1, 2, 5}, k up to 1000") {
        for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/gaussian_composition.csv")) {
            const auto curve = times(gaussian_rdp(number(row, "sigma")), number(row, "k"));
            const double eps = rdp_to_approx_dp(curve, number(row, "delta")).epsilon;
            INFO("sigma " << row.at("sigma") << " k " << row.at("k"));
            CHECK(std::fabs(eps - number(row, "eps_rdp")) <= 0.01 * number(row, "eps_rdp"));
            CHECK(eps >= number(row, "eps_exact"));
        }
    }
    SECTION("Laplace") {
        for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/laplace_composition.csv")) {
            const auto curve = times(laplace_rdp(number(row, "laplace_b")), number(row, "k"));
            const double eps = rdp_to_approx_dp(curve, number(row, "delta")).epsilon;
            INFO("b " << row.at("laplace_b") << " k " << row.at("k") << " delta " << row.at("delta"));
            CHECK(std::fabs(eps - number(row, "eps_rdp")) <= 0.01 * number(row, "eps_rdp"));
            CHECK(eps >= number(row, "eps_prv_lower"));
        }
    }
    SECTION("Randomized response, replace-one") {
        for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/randomized_response.csv")) {
            const int m = static_cast<int>(number(row, "num_buckets"));
            const double p = number(row, "noise_parameter_p");
            const auto curve = times(randomized_response_rdp(1 - p + p / m, p / m, m), number(row, "k"));
            const double eps = rdp_to_approx_dp(curve, number(row, "delta")).epsilon;
            INFO("m " << m << " k " << row.at("k") << " delta " << row.at("delta"));
            CHECK(std::fabs(eps - number(row, "eps_rdp")) <= 0.01 * number(row, "eps_rdp"));
            CHECK(eps >= number(row, "eps_exact"));
        }
    }
    SECTION("DP-SGD: Poisson-subsampled Gaussian, through the accountant") {
        for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/dpsgd_poisson_gaussian.csv")) {
            accountant<renyi_composition> acct(approx_dp{1000.0, number(row, "delta")}, "training");
            const auto step = poisson_subsampled_gaussian_rdp(number(row, "q"), number(row, "sigma"));
            const auto steps = static_cast<long>(number(row, "steps"));
            for (long i = 0; i < steps; ++i) acct.spend(step, "step");
            const double eps = acct.spent().epsilon;
            INFO("q " << row.at("q") << " steps " << steps);
            CHECK(std::fabs(eps - number(row, "eps_rdp")) <= 0.01 * number(row, "eps_rdp"));
            CHECK(eps >= number(row, "eps_prv_lower"));
            CHECK(acct.ledger().size() == static_cast<std::size_t>(steps));
        }
    }
}

TEST_CASE("discrete Laplace RDP: exact against brute force, continuous in the limit", "[rdp]") {
    for (double t : {0.7, 2.0, 5.5}) {
        for (double shift : {1.0, 3.0}) {
            for (double a : {1.5, 2.0, 7.0}) {
                // sum_k P(k)^a Q(k)^(1-a) by direct summation over |k| <= 2000.
                const double p = std::exp(-1 / t);
                const double c = (1 - p) / (1 + p);
                double s = 0;
                for (int k = -2000; k <= 2000; ++k) {
                    s += c * std::exp(-(a * std::fabs(k) + (1 - a) * std::fabs(k - shift)) / t);
                }
                const double brute = std::log(s) / (a - 1);
                INFO("t " << t << " shift " << shift << " alpha " << a);
                CHECK(discrete_laplace_rdp(t, shift, {a}).epsilons[0] == dpkit_test::approx(brute).epsilon(1e-10));
            }
        }
    }
    // Scale 2^20 steps per unit of Laplace scale: the lattice mechanism's curve is the continuous one.
    const auto discrete = discrete_laplace_rdp(0x1p20 * 2.0, 0x1p20);
    const auto continuous = laplace_rdp(2.0);
    for (std::size_t i = 0; i < discrete.epsilons.size(); ++i) {
        CHECK(discrete.epsilons[i] == dpkit_test::approx(continuous.epsilons[i]).epsilon(1e-5));
    }
    // The mechanisms' curves.
    const laplace_mechanism<double> lap(epsilon{0.5}, l1_sensitivity{1.0});
    const auto of_mechanism = rdp_of(lap);
    for (std::size_t i = 0; i < of_mechanism.epsilons.size(); ++i) {
        CHECK(of_mechanism.epsilons[i] >= continuous.epsilons[i] * (1 - 1e-5));
        CHECK(of_mechanism.epsilons[i] <= continuous.epsilons[i] * (1 + 1e-4));
    }
    const randomized_response rr(epsilon{std::log(3.0)});
    CHECK(rdp_of(rr).epsilons[50] == dpkit_test::approx(randomized_response_rdp(0.75, 0.25, 2).epsilons[50]).epsilon(1e-12));
    CHECK_THROWS_WITH(discrete_laplace_rdp(1.0, 1.5), "dpkit::discrete_laplace_rdp: shift must be a positive integer (got 1.5)");
    CHECK_THROWS_WITH(gaussian_rdp(1.0, {1.0}), "dpkit::gaussian_rdp: orders must be finite and > 1 (got 1)");
}
