// Privacy-loss distributions against dp_accounting's PLD values, the exact
// curves and Microsoft prv_accountant's certified lower bounds (tests/data).
#include <dpkit/accounting.hpp>
#include <dpkit/mechanisms.hpp>
#include <dpkit/privacy/pld.hpp>
#include <dpkit/random.hpp>

#include <cmath>
#include <string>
#include <limits>
#include <vector>

#include "../support/csv.hpp"
#include "../support/dpkit_catch.hpp"

using namespace dpkit;
using dpkit_test::number;
using pld = privacy_loss_distribution;

namespace {
bool present(const dpkit_test::csv_row& row, const std::string& column) {
    return !row.at(column).empty() && row.at(column) != "nan";
}
}  // namespace

TEST_CASE("PLD of composed Gaussians: within 1% of dp_accounting, never below exact", "[pld][refs]") {
    for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/gaussian_composition.csv")) {
        const double exact = number(row, "eps_exact");
        // A coarser grid for huge losses (eps ~ 2269 needs a range of thousands).
        const pld_options options{1e-4 * std::max(1.0, exact / 5), 1e-15};
        const auto composed = pld::gaussian(number(row, "sigma"), options).self_compose(static_cast<std::uint64_t>(number(row, "k")));
        const double eps = composed.epsilon_for_delta(number(row, "delta"));
        INFO("sigma " << row.at("sigma") << " k " << row.at("k"));
        CHECK(std::fabs(eps - number(row, "eps_pld")) <= 0.01 * number(row, "eps_pld"));
        CHECK(eps >= exact * (1 - 1e-12));  // pessimistic
        if (present(row, "eps_prv_lower")) CHECK(eps >= number(row, "eps_prv_lower"));
    }
}

TEST_CASE("PLD of composed Laplace and randomized response", "[pld][refs]") {
    for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/laplace_composition.csv")) {
        const pld_options options{1e-4 * std::max(1.0, number(row, "eps_pld") / 20), 1e-15};
        const auto composed = pld::laplace(number(row, "laplace_b"), options).self_compose(static_cast<std::uint64_t>(number(row, "k")));
        const double eps = composed.epsilon_for_delta(number(row, "delta"));
        INFO("b " << row.at("laplace_b") << " k " << row.at("k") << " delta " << row.at("delta"));
        CHECK(std::fabs(eps - number(row, "eps_pld")) <= 0.01 * number(row, "eps_pld"));
        CHECK(eps >= number(row, "eps_prv_lower"));
        CHECK(eps <= number(row, "eps_kov_optimal") * (1 + 1e-9));  // Laplace is tighter than generic eps0-DP
    }
    for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/randomized_response.csv")) {
        const int m = static_cast<int>(number(row, "num_buckets"));
        const double p = number(row, "noise_parameter_p");
        const pld_options options{1e-4 * std::max(1.0, number(row, "eps_exact") / 20), 1e-15};
        const auto composed = pld::randomized_response(1 - p + p / m, p / m, m, options).self_compose(static_cast<std::uint64_t>(number(row, "k")));
        const double eps = composed.epsilon_for_delta(number(row, "delta"));
        INFO("m " << m << " k " << row.at("k") << " delta " << row.at("delta"));
        // (eps_pld_accountant_selfcomposed_event is dp_accounting's documented bug; not an oracle.)
        CHECK(std::fabs(eps - number(row, "eps_pld_direct_selfcompose")) <= 0.01 * number(row, "eps_pld_direct_selfcompose"));
        CHECK(eps >= number(row, "eps_exact") * (1 - 1e-12));
    }
}

TEST_CASE("PLD accountant for DP-SGD: within 1% of dp_accounting and above PRV's certified lower bound", "[pld][refs]") {
    for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/dpsgd_poisson_gaussian.csv")) {
        const auto steps = static_cast<std::uint64_t>(number(row, "steps"));
        const auto step = pld::poisson_subsampled_gaussian(number(row, "q"), number(row, "sigma"));
        accountant<pld_composition> acct(approx_dp{10.0, number(row, "delta")}, "training");
        acct.spend(step.self_compose(steps), "all steps");
        const double eps = acct.spent().epsilon;
        INFO("q " << row.at("q") << " steps " << steps);
        CHECK(std::fabs(eps - number(row, "eps_pld")) <= 0.01 * number(row, "eps_pld"));
        CHECK(eps >= number(row, "eps_prv_lower"));
        CHECK(eps <= number(row, "eps_prv_upper"));
        CHECK(eps < number(row, "eps_rdp"));  // tighter than the RDP accountant
    }
}

TEST_CASE("discretised PLDs dominate: delta never below the exact profile", "[pld]") {
    const pld g = pld::gaussian(2.0);
    for (double eps : {0.0, 0.1, 0.5, 1.0, 2.0}) {
        INFO("eps " << eps);
        CHECK(g.delta_for_epsilon(eps) >= gaussian_delta(eps, 2.0, 1.0) * (1 - 1e-9));
        CHECK(g.delta_for_epsilon(eps) <= gaussian_delta(eps, 2.0, 1.0) * (1 + 1e-3) + 1e-15);
    }
    // Composition by FFT agrees with composition by hand on a two-point PLD.
    const pld rr = pld::randomized_response(0.75, 0.25, 2, pld_options{1e-3, 0});
    const double eps3 = rr.self_compose(3).epsilon_for_delta(0.2);
    // 3-fold RR with eps0 = ln 3: delta(eps) for eps in (ln 3, 3 ln 3): only the all-truth outcome exceeds it.
    // delta(eps) = 27/64 (1 - e^{eps - 3 ln 3}) + 27/64 (1 - e^{eps - ln 3}) for eps < ln 3 ... solve numerically:
    double lo = 0;
    double hi = 4;
    auto exact = [](double e) {
        double d = 0;
        const double l3 = std::log(3.0);
        if (e < 3 * l3) d += 27.0 / 64 * -std::expm1(e - 3 * l3);
        if (e < l3) d += 27.0 / 64 * -std::expm1(e - l3);
        return d;
    };
    for (int i = 0; i < 100; ++i) {
        const double mid = (lo + hi) / 2;
        (exact(mid) > 0.2 ? lo : hi) = mid;
    }
    CHECK(eps3 >= hi);
    CHECK(eps3 <= hi + 4e-3);
    CHECK_THROWS_WITH(pld::gaussian(1.0, pld_options{1e-4}).compose(pld::gaussian(1.0, pld_options{1e-3})),
                      "dpkit::privacy_loss_distribution::compose: both PLDs must use the same interval (got 0.001)");
    CHECK_THROWS_WITH(pld::gaussian(-1.0), "dpkit::privacy_loss_distribution: noise multiplier must be finite and > 0 (got -1)");
}

TEST_CASE("mechanisms' PLDs and the PLD accountant", "[pld][accountant]") {
    const laplace_mechanism<double> lap(epsilon{0.5}, l1_sensitivity{1.0});
    // The lattice Laplace is the continuous one to ~1e-6.
    CHECK(pld_of(lap).epsilon_for_delta(1e-6) == dpkit_test::approx(pld::laplace(2.0).epsilon_for_delta(1e-6)).epsilon(1e-5));
    const gaussian_mechanism<double> gauss(epsilon{1.0}, delta{1e-5}, l2_sensitivity{1.0});
    const double eps = pld_of(gauss).epsilon_for_delta(1e-5);
    CHECK(eps <= 1.0 + 1e-3);  // calibrated to exactly 1; the grid adds at most ~its interval
    CHECK(eps > 0.99);
    accountant<pld_composition> acct(approx_dp{2.0, 1e-5}, "pld");
    insecure_seeded_generator g(3);
    int n = 0;
    while (try_release(acct, gauss, 0.0, g, "q")) ++n;
    accountant<renyi_composition> rdp(approx_dp{2.0, 1e-5}, "rdp");
    int m = 0;
    while (try_release(rdp, gauss, 0.0, g, "q")) ++m;
    CHECK(n >= m);  // PLD accounting is at least as tight as RDP
    CHECK(n >= 3);
    CHECK(acct.spent().epsilon <= 2.0);
    CHECK(acct.try_spend(pure_dp{0.0}, "free"));
    CHECK(std::holds_alternative<std::shared_ptr<const pld>>(acct.ledger().front().cost));
}

namespace {
// Reference rows of tests/data/pld_extremes.csv (mpmath, see pld_extremes.py) for one case.
std::vector<dpkit_test::csv_row> extremes(const std::string& which) {
    std::vector<dpkit_test::csv_row> out;
    for (const auto& row : dpkit_test::read_csv(DPKIT_TEST_DATA "/pld_extremes.csv"))
        if (row.at("case") == which) out.push_back(row);
    return out;
}
constexpr double inf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("PLD constructors at extreme losses: a loss beyond the grid goes to the infinity mass", "[pld][extreme]") {
    // Laplace with 1/b = 1500 and 2000: exp(-1/b) underflows; the loss 1/b lies beyond the default grid.
    for (const auto& row : extremes("laplace_eps")) {
        const double inv_b = number(row, "eps0");
        const double exact = number(row, "eps");
        INFO("1/b " << inv_b);
        CHECK(pld::laplace(1 / inv_b).epsilon_for_delta(1e-5) >= exact);
        // On a grid wide enough for the loss, the value is exact up to the grid.
        const double eps = pld::laplace(1 / inv_b, pld_options{0.05, 1e-15}).epsilon_for_delta(1e-5);
        CHECK(eps >= exact);
        CHECK(eps <= exact + 0.06);
    }
    accountant<pld_composition> acct(approx_dp{1.0, 1e-5}, "tight");
    CHECK_FALSE(acct.try_spend(pld::laplace(1.0 / 1500), "leak"));
    // Tiny Gaussian noise: the loss has mean 1/(2 sigma^2) = 5e5.
    CHECK(pld::gaussian(1e-3).epsilon_for_delta(1e-5) >= 5e5);
    CHECK(pld::gaussian(1e-3).delta_for_epsilon(100) >= 1 - 1e-12);
    // Discrete Laplace with t = 1e-3 and shift 5: losses +-5000.
    CHECK(pld::discrete_laplace(1e-3, 5).epsilon_for_delta(1e-5) >= 4999);
    CHECK(pld::discrete_laplace(1e-3, 1, pld_options{0.5, 1e-15}).epsilon_for_delta(1e-5) >= 999.99);
    CHECK(pld::discrete_laplace(1e-3, 1, pld_options{0.5, 1e-15}).epsilon_for_delta(1e-5) <= 1000.5);
    // Discrete Gaussian with sigma2 = 1/4 and shift 100: losses about 2e4.
    CHECK(pld::discrete_gaussian(0.25, 100).epsilon_for_delta(1e-5) >= 1e4);
    // eps0 = 800 and 710: exp(eps0) overflows.
    for (const auto& row : extremes("rr_eps")) {
        const double eps0 = number(row, "eps0");
        const double exact = number(row, "eps");
        INFO("eps0 " << eps0 << " m " << row.at("k"));
        const pld_options coarse{1e-2, 1e-15};
        if (row.at("k") == "2") {
            const double eps = pld::worst_case(pure_dp{eps0}, coarse).epsilon_for_delta(1e-5);
            CHECK(eps >= exact);
            CHECK(eps <= exact + 0.011);
            CHECK(pld::worst_case(pure_dp{eps0}).epsilon_for_delta(1e-5) >= exact);
            const double e2 = pld_of(randomized_response(epsilon{eps0}), coarse).epsilon_for_delta(1e-5);
            CHECK(e2 >= exact);
            CHECK(e2 <= exact + 0.011);
        } else {
            const double eps = pld_of(generalized_randomized_response<>(epsilon{eps0}, 3), coarse).epsilon_for_delta(1e-5);
            CHECK(eps >= exact);
            CHECK(eps <= exact + 0.011);
        }
    }
    // Tiny eps0: every loss sits at the grid points next to 0.
    const pld tiny = pld::worst_case(pure_dp{1e-8});
    CHECK(tiny.delta_for_epsilon(0) >= std::tanh(0.5e-8) * (1 - 1e-6));
    CHECK(tiny.epsilon_for_delta(1e-9) <= 2e-4);
    // Poisson-subsampled Gaussian, q = 1e-8, sigma = 1e-3: a sampled step leaks everything,
    // so delta(eps) >= q (1 - 1e-9) at every eps, and epsilon at delta < q is huge.
    const pld sub = pld::poisson_subsampled_gaussian(1e-8, 1e-3);
    CHECK(sub.delta_for_epsilon(1.0) >= 1e-8 * (1 - 1e-6));
    CHECK(sub.delta_for_epsilon(300.0) >= 1e-8 * (1 - 1e-6));
    CHECK(sub.epsilon_for_delta(1e-9) >= 300);
    CHECK(sub.epsilon_for_delta(1e-5) <= 1e-3);
    // from_profiles with a profile that never reaches 0 on the grid (a loss of 1e6).
    auto far = [](double eps) { return eps < 1e6 ? 0.5 * -std::expm1(eps - 1e6) : 0.0; };
    CHECK(pld::from_profiles(far, far).epsilon_for_delta(1e-5) == inf);
}

TEST_CASE("calibration under the PLD rule meets the target at extreme epsilon", "[pld][extreme][calibration]") {
    // True answer: 1/b = 2000 - 2 ln(1 - 1e-5); anything smaller leaks more.
    const pld_options coarse{1e-2, 1e-15};
    const double b = calibrate_laplace<pld_composition>(1, approx_dp{2000.0, 1e-5}, coarse);
    CHECK(b >= 1 / (2000 - 2 * std::log1p(-1e-5)));
    CHECK(pld::laplace(b, coarse).epsilon_for_delta(1e-5) <= 2000);
    CHECK(b <= 1.001 / 2000);  // and not much more noise than needed
}

TEST_CASE("approximate DP in a PLD: delta > 0 goes to the infinity mass", "[pld][approx]") {
    for (const auto& row : extremes("approx_rr")) {
        const double eps0 = number(row, "eps0");
        const double delta0 = number(row, "delta0");
        const auto k = static_cast<std::uint64_t>(number(row, "k"));
        const double eps = number(row, "eps");
        const double exact = number(row, "delta");
        const auto composed = pld::worst_case(approx_dp{eps0, delta0}, pld_options{1e-3, 1e-15}).self_compose(k);
        INFO("eps0 " << eps0 << " delta0 " << delta0 << " k " << k << " eps " << eps);
        const double d = composed.delta_for_epsilon(eps);
        CHECK(d >= exact * (1 - 1e-12));
        CHECK(d <= exact * (1 + 1e-6) + 1e-10);  // FFT round-off bounds add ~1e-11
    }
    accountant<pld_composition> acct(approx_dp{5.0, 1e-3}, "approx");
    for (int i = 0; i < 5; ++i) acct.spend(approx_dp{1.0, 1e-6}, "step");
    CHECK(acct.spent().epsilon >= 0);
    CHECK(acct.spent().epsilon <= 5.0);
    // 5 spends of (1, 1e-6): exact epsilon at delta = 1e-3 from the KOV profile with delta0.
    CHECK(acct.spent().epsilon >= kov_optimal_epsilon(1.0, 5, 1 - (1 - 1e-3) / std::pow(1 - 1e-6, 5)) * (1 - 1e-9));
    const gaussian_mechanism<double> vec(epsilon{1.0}, delta{1e-5}, l2_sensitivity{1.0}, dimension{4});
    const pld p = pld_of(vec);
    CHECK(p.delta_for_epsilon(1.0) >= 1e-5);
    CHECK(p.delta_for_epsilon(1.0) <= 1e-5 * (1 + 1e-6));
    CHECK(p.epsilon_for_delta(2e-5) <= 1.0 + 1e-3);
}

TEST_CASE("randomized-response PLDs need a distribution", "[pld]") {
    CHECK_THROWS_WITH(pld::randomized_response(0.3, 0.1, 2),
                      "dpkit::privacy_loss_distribution: p_truth + (m - 1) p_other must be 1 within 1e-12 (got 0.4)");
    CHECK_NOTHROW(pld::randomized_response(0.75, 0.25, 2));
    CHECK_NOTHROW(pld::randomized_response(0.4, 0.2, 4));
}

TEST_CASE("PLD accountant: repeated spends compose with counts, and each decision is that of the composed PLD", "[pld][accountant]") {
    const pld_options coarse{1e-3, 1e-15};
    const pld step = pld::gaussian(4.0, coarse);
    accountant<pld_composition> acct(approx_dp{3.0, 1e-5}, "repeated");
    std::uint64_t n = 0;
    while (acct.try_spend(step, "step")) ++n;
    INFO("accepted " << n);
    REQUIRE(n >= 2);
    // Accepted: n compositions fit; refused: n + 1 do not (by the composition itself).
    CHECK(step.self_compose(n).epsilon_for_delta(1e-5) <= 3.0);
    CHECK(step.self_compose(n + 1).epsilon_for_delta(1e-5) > 3.0);
    CHECK(acct.spent().epsilon <= 3.0);
    CHECK(acct.spent().epsilon >= step.self_compose(n).epsilon_for_delta(1e-5) * (1 - 1e-9) - 1e-9);
    // Distinct costs: a pure-DP spend enters on the same grid and composes with the rest.
    accountant<pld_composition> mixed(approx_dp{3.0, 1e-5}, "mixed");
    mixed.spend(step, "a");
    mixed.spend(pure_dp{0.5}, "b");
    mixed.spend(step, "c");
    const double eps = mixed.spent().epsilon;
    const pld expected = step.self_compose(2).compose(pld::worst_case(pure_dp{0.5}, coarse));
    CHECK(eps == dpkit_test::approx(expected.epsilon_for_delta(1e-5)).epsilon(1e-9));
    CHECK_THROWS_WITH(mixed.spend(pld::gaussian(4.0), "other grid"),
                      "dpkit::accountant: every PLD must use the interval of the first spend (got 1e-04)");
}

namespace {
// Rows of tests/data/pld_small_delta.csv (mpmath, see pld_small_delta.py).
std::vector<dpkit_test::csv_row> small_delta_rows() { return dpkit_test::read_csv(DPKIT_TEST_DATA "/pld_small_delta.csv"); }

pld composed_reference(const dpkit_test::csv_row& row) {
    const auto k = static_cast<std::uint64_t>(number(row, "k"));
    const double param = number(row, "param");
    if (row.at("case") == "gauss") return pld::gaussian(param).self_compose(k);
    return pld::randomized_response_epsilon(param, 2).self_compose(k);
}
}  // namespace

TEST_CASE("PLD composition reaches small deltas: round-off is bounded per loss, not charged to P[L = inf]", "[pld][small-delta]") {
    int checked = 0;
    for (const auto& row : small_delta_rows()) {
        if (number(row, "k") > 1000) continue;
        const double exact = number(row, "eps");
        const double delta = number(row, "delta");
        const pld composed = composed_reference(row);
        const double eps = composed.epsilon_for_delta(delta);
        INFO(row.at("case") << " " << row.at("param") << " k " << row.at("k") << " delta " << row.at("delta"));
        CHECK(eps >= exact);
        CHECK(eps <= exact * 1.01);
        CHECK(composed.delta_for_epsilon(exact * 1.01) <= delta);
        ++checked;
    }
    CHECK(checked == 5);
    // The accountant accepts two spends of RR(0.1) at delta 1e-12 (exact epsilon 0.2 - 3.6e-12;
    // the Chernoff bound cannot show it, the composition must).
    accountant<pld_composition> acct(approx_dp{0.201, 1e-12}, "small delta");
    const randomized_response rr(epsilon{0.1});
    CHECK(acct.try_spend(pld_of(rr), "first"));
    CHECK(acct.try_spend(pld_of(rr), "second"));
    CHECK(acct.spent().epsilon >= 0.2 - 4e-12);
    CHECK(acct.spent().epsilon <= 0.201);
    CHECK_FALSE(acct.try_spend(pld_of(rr), "third"));
}

TEST_CASE("long compositions beyond 2^23 grid points compose on a coarser grid, losses rounded up", "[pld][long]") {
    int checked = 0;
    for (const auto& row : small_delta_rows()) {
        if (number(row, "k") <= 1000) continue;
        const double exact = number(row, "eps");
        const double delta = number(row, "delta");
        const pld composed = composed_reference(row);
        INFO(row.at("case") << " " << row.at("param") << " k " << row.at("k") << " delta " << row.at("delta")
                            << " interval " << composed.options().interval);
        CHECK(composed.options().interval > 1e-4);  // the grid it was composed on
        const double eps = composed.epsilon_for_delta(delta);
        CHECK(eps >= exact);
        CHECK(eps <= exact * 1.01);
        ++checked;
    }
    CHECK(checked == 3);
}
