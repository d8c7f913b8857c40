// Renyi DP curves and conversions against the reference values in tests/data
// (exact mpmath curves and Google dp_accounting 0.6.0).
#include <dpkit/accounting.hpp>
#include <dpkit/privacy.hpp>

#include <cmath>
#include <string>
#include <vector>

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

namespace {

/// dpkit's value for one row of rdp_highprec.csv (see make_rdp_highprec.py).
double highprec_value(const dpkit_test::csv_row& row) {
    const std::string curve = row.at("curve");
    const double a = number(row, "order");
    const std::vector<double> orders{a};
    const auto p = [&](const char* column) { return number(row, column); };
    if (curve == "gaussian") return gaussian_rdp(p("p1"), orders).epsilons[0];
    if (curve == "laplace") return laplace_rdp(p("p1"), orders).epsilons[0];
    if (curve == "dlaplace") return discrete_laplace_rdp(p("p1"), p("p2"), orders).epsilons[0];
    if (curve == "rr") return randomized_response_rdp(p("p1"), p("p2"), static_cast<int>(p("p3")), orders).epsilons[0];
    if (curve == "psg") return poisson_subsampled_gaussian_rdp(p("p1"), p("p2"), orders).epsilons[0];
    if (curve == "zcdp") return to_rdp(zcdp{p("p1")}, orders).epsilons[0];
    if (curve == "pure") return to_rdp(pure_dp{p("p1")}, orders).epsilons[0];
    if (curve == "to_dp") return rdp_to_approx_dp(rdp_curve{orders, {p("p1")}}, p("p2")).epsilon;
    if (curve == "to_dp_classic") return rdp_to_approx_dp_classic(rdp_curve{orders, {p("p1")}}, p("p2")).epsilon;
    // rr_eps: the mechanisms' curves (k-ary RR always; binary RR for m = 2).
    const auto m = static_cast<std::size_t>(p("p3"));
    const double k_ary = rdp_of(generalized_randomized_response<>(epsilon{p("p1")}, m), orders).epsilons[0];
    if (m != 2) return k_ary;
    const double binary = rdp_of(randomized_response(epsilon{p("p1")}), orders).epsilons[0];
    CHECK(binary == k_ary);
    return binary;
}

}  // namespace

TEST_CASE("RDP curves and conversions are upper bounds within 1e-9 of their 50-digit values", "[rdp][refs]") {
    // Small epsilon (1e-8 .. 1e-3), orders near 1 (1.01, 1.1) up to 1024, tiny noise (huge curves).
    const auto rows = dpkit_test::read_csv(DPKIT_TEST_DATA "/rdp_highprec.csv");
    REQUIRE(rows.size() == 950);
    for (const auto& row : rows) {
        const std::string curve = row.at("curve");
        const double a = number(row, "order");
        const double exact = number(row, "exact");
        const double ours = highprec_value(row);
        INFO(curve << " " << row.at("p1") << " " << row.at("p2") << " " << row.at("p3") << " order " << a << ": dpkit "
                   << ours << " exact " << exact << " rel " << (ours - exact) / exact);
        // The table's values are rounded to nearest; every margin below is far above an ulp.
        CHECK(ours >= exact);
        // Allowed slack: 1e-9 relative, plus the subsampled Gaussian's absolute 1e-14/(alpha-1)
        // and the conversions' absolute 1e-13 (their terms are up to ~10 and cancel).
        double slack = 1e-9 * exact;
        if (curve == "psg") slack += 1e-14 / (a - 1);
        if (curve == "to_dp" || curve == "to_dp_classic") slack += 1e-13;
        CHECK(ours - exact <= slack);
        CHECK(ours >= 0);
    }
}

TEST_CASE("the lattice Laplace mechanism's curve at epsilon 1e-6 is the exact discrete Laplace curve", "[rdp][refs]") {
    // laplace_mechanism<long>(1e-6, 1): discrete Laplace with t = 1e6, shift 1 (rows "dlaplace,1000000.0,1.0").
    const laplace_mechanism<long> lap(epsilon{1e-6}, l1_sensitivity{1.0});
    REQUIRE(lap.sensitivity_in_steps() == 1.0);
    int seen = 0;
    for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/rdp_highprec.csv")) {
        if (row.at("curve") != "dlaplace" || row.at("p1") != "1000000.0" || row.at("p2") != "1.0") continue;
        const double exact = number(row, "exact");
        const double ours = rdp_of(lap, {number(row, "order")}).epsilons[0];
        INFO("order " << row.at("order") << " dpkit " << ours << " exact " << exact);
        CHECK(std::fabs(ours - exact) <= 1e-9 * exact);
        ++seen;
    }
    CHECK(seen == 10);
}

TEST_CASE("randomized_response_rdp refuses probabilities that are not a distribution", "[rdp]") {
    CHECK_THROWS_WITH(randomized_response_rdp(0.3, 0.1, 2),
                      "dpkit::randomized_response_rdp: p_truth + (m-1) p_other must be 1 (within 1e-12) (got 0.4)");
    CHECK_THROWS_WITH(randomized_response_rdp(0.5, 0.3, 3),
                      "dpkit::randomized_response_rdp: p_truth + (m-1) p_other must be 1 (within 1e-12) (got 1.1)");
    CHECK_THROWS_WITH(randomized_response_rdp(0.4, 0.6, 2), "dpkit::randomized_response_rdp: p_truth must be >= p_other (got 0.4)");
    CHECK_THROWS_WITH(randomized_response_rdp(1.0, 0.0, 2), "dpkit::randomized_response_rdp: p_other must be finite and > 0 (got 0)");
    CHECK_THROWS_WITH(randomized_response_rdp(0.5, 0.5, 1), "dpkit::randomized_response_rdp: m must be >= 2 (got 1)");
    CHECK_NOTHROW(randomized_response_rdp(0.75, 0.25 * (1 + 1e-13), 2));
}

TEST_CASE("RDP curves with the wrong number of epsilons are refused", "[rdp]") {
    accountant<renyi_composition> acct(approx_dp{10.0, 1e-6});
    const auto& orders = default_rdp_orders();
    const std::vector<double> short_eps(10, 0.1);
    CHECK_THROWS_WITH(acct.spend(rdp_curve{orders, short_eps}, "short"),
                      "dpkit::accountant: an RDP curve needs one epsilon per order (got 10 epsilons for 156 orders)");
    CHECK_THROWS_WITH(acct.spend(rdp_curve{orders, {}}, "empty"),
                      "dpkit::accountant: an RDP curve needs one epsilon per order (got 0 epsilons for 156 orders)");
    std::vector<double> bad(orders.size(), 0.1);
    bad[3] = -1;
    CHECK_THROWS_WITH(acct.spend(rdp_curve{orders, bad}, "negative"), "dpkit::accountant: RDP epsilons must be finite and >= 0 (got -1)");
    CHECK(acct.ledger().empty());
    CHECK(acct.spent().epsilon == 0);

    const rdp_curve mismatched{{2.0, 3.0}, {0.1}};
    CHECK_THROWS_WITH(rdp_to_approx_dp(mismatched, 1e-6), "dpkit::rdp_to_approx_dp: the curve needs one epsilon per order (got 1 epsilons for 2 orders)");
    CHECK_THROWS_WITH(rdp_to_approx_dp_classic(mismatched, 1e-6),
                      "dpkit::rdp_to_approx_dp_classic: the curve needs one epsilon per order (got 1 epsilons for 2 orders)");
    CHECK_THROWS_WITH(rdp_to_approx_dp(rdp_curve{{2.0}, {std::nan("")}}, 1e-6), "dpkit::rdp_to_approx_dp: RDP epsilons must be finite and >= 0 (got nan)");
    CHECK_THROWS_WITH(rdp_to_approx_dp_classic(rdp_curve{{2.0}, {-0.5}}, 1e-6),
                      "dpkit::rdp_to_approx_dp_classic: RDP epsilons must be finite and >= 0 (got -0.5)");
    CHECK_THROWS_WITH(rdp_to_approx_dp(rdp_curve{{1.0}, {0.5}}, 1e-6), "dpkit::rdp_to_approx_dp: orders must be finite and > 1 (got 1)");
}

TEST_CASE("a coin-flip survey's curve bounds both of its divergences", "[rdp]") {
    // p = 1/2 truthful, else yes with q = 1/4: P[yes | yes] = 5/8, P[yes | no] = 1/8.
    const auto survey = randomized_response::coin_flips(rational(1, 2), rational(1, 4));
    const auto curve = rdp_of(survey);
    const auto pure = to_rdp(survey.cost());
    for (std::size_t i = 0; i < curve.orders.size(); ++i) {
        const long double a = curve.orders[i];
        const auto divergence = [a](long double p, long double q) {
            return std::log(std::pow(p, a) * std::pow(q, 1 - a) + std::pow(1 - p, a) * std::pow(1 - q, 1 - a)) / (a - 1);
        };
        const long double worst = std::max(divergence(0.625L, 0.125L), divergence(0.125L, 0.625L));
        INFO("order " << curve.orders[i]);
        CHECK(curve.epsilons[i] >= worst);
        CHECK(curve.epsilons[i] <= pure.epsilons[i]);
    }
}
