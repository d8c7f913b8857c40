// Calibration helpers: the noise they return meets the target under the rule,
// and a little less noise would not (the smallest, up to the stated tolerance).
#include <dpkit/accounting.hpp>

#include <cmath>

#include "../support/dpkit_catch.hpp"

using namespace dpkit;

namespace {

double gaussian_epsilon_rdp(double z, double k, double delta) {
    rdp_curve c = gaussian_rdp(z);
    for (auto& e : c.epsilons) e *= k;
    return rdp_to_approx_dp(c, delta).epsilon;
}

}  // namespace

TEST_CASE("Gaussian calibration: smallest noise multiplier per rule", "[calibration]") {
    const approx_dp target{2.0, 1e-5};
    const std::uint64_t k = 100;
    const double basic = calibrate_gaussian<basic_composition>(k, target);
    CHECK(basic == dpkit_test::approx(analytic_gaussian_sigma(0.02, 1e-7, 1.0)).epsilon(1e-12));
    const double z = calibrate_gaussian<zcdp_composition>(k, target);
    CHECK(zcdp_to_approx_dp_epsilon(100 / (2 * z * z), 1e-5) <= 2.0 * (1 + 1e-12));
    const double renyi = calibrate_gaussian<renyi_composition>(k, target);
    CHECK(gaussian_epsilon_rdp(renyi, 100, 1e-5) <= 2.0);
    CHECK(gaussian_epsilon_rdp(renyi * (1 - 1e-9), 100, 1e-5) > 2.0);
    const double pld = calibrate_gaussian<pld_composition>(k, target);
    CHECK(privacy_loss_distribution::gaussian(pld).self_compose(k).epsilon_for_delta(1e-5) <= 2.0);
    CHECK(pld >= std::sqrt(100.0) * analytic_gaussian_sigma(2.0, 1e-5, 1.0));  // never below the exact composition
    // Tighter rules need less noise.
    CHECK(pld <= renyi);
    // For Gaussians the RDP curve is rho * alpha, so Renyi and zCDP agree up to
    // the Renyi accountant's discrete order grid.
    CHECK(std::fabs(renyi - z) <= 1e-3 * z);
    CHECK(z < basic);
    CHECK_THROWS_WITH(calibrate_gaussian<renyi_composition>(0, target), "dpkit::calibrate_gaussian: k must be >= 1 (got 0)");
    CHECK_THROWS_WITH(calibrate_gaussian<basic_composition>(1, approx_dp{1.0, 0.0}),
                      "dpkit::calibrate_gaussian: delta must be in (0, 1) (got 0)");
}

TEST_CASE("Laplace calibration: smallest scale per rule", "[calibration]") {
    const approx_dp target{1.0, 1e-6};
    const std::uint64_t k = 50;
    CHECK(calibrate_laplace<basic_composition>(k, approx_dp{1.0, 0.0}) == 50.0);
    const double adv = calibrate_laplace<advanced_composition>(k, target);
    const double kov = calibrate_laplace<optimal_homogeneous_composition>(k, target);
    const double renyi = calibrate_laplace<renyi_composition>(k, target);
    const double pld = calibrate_laplace<pld_composition>(k, target);
    const double z = calibrate_laplace<zcdp_composition>(k, target);
    CHECK(std::min(50.0 / adv, advanced_composition_epsilon(1 / adv, 50, 1e-6)) <= 1.0 + 1e-12);
    CHECK(kov_optimal_epsilon(1 / kov, 50, 1e-6) <= 1.0 + 1e-12);
    CHECK(kov_optimal_epsilon(1 / (kov * (1 - 1e-8)), 50, 1e-6) > 1.0);
    CHECK(privacy_loss_distribution::laplace(pld).self_compose(k).epsilon_for_delta(1e-6) <= 1.0);
    CHECK(kov <= adv);  // the optimal theorem beats the advanced one
    CHECK(pld <= kov);  // the Laplace mechanism is tighter than the generic eps0-DP optimum
    CHECK(adv < 50.0);
    CHECK(z > 0);
    CHECK(renyi > 0);
}
