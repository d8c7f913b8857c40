// A data owner holds weekly case counts of a disease in four countries for a
// year (53 weeks) and promises each person a total loss of at most
// (epsilon, delta) = (1, 1e-6) over everything it ever publishes. It grants two
// analysts budgets of their own, carved from that promise:
//  - Alice publishes the whole 53 x 4 series once with Gaussian noise (each
//    person is a case in at most 2 weeks, so one person moves the vector by at
//    most sqrt(2) in L2 norm), fits a quadratic trend to the noisy series with
//    Eigen, and extrapolates it 12 weeks ahead.
//  - Bob publishes yearly totals, then asks for more than his grant holds: the
//    accountant refuses and nothing is released. He asks the owner for more,
//    the owner raises his grant, and his release goes through.
// The remaining budgets are printed after every step, and the owner prints its
// ledger at the end. The counts are synthetic, so the truth is printed too.
#include "example_support.hpp"

#include <dpkit/dpkit.hpp>
#include <dpkit/eigen.hpp>

#include <Eigen/Dense>

#include <array>
#include <cmath>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

using owner_accountant = dpkit::accountant<dpkit::basic_composition>;

constexpr Eigen::Index weeks = 53;
constexpr Eigen::Index ahead = 12;
const std::array<const char*, 4> countries{"Arland", "Borduria", "Carpania", "Drovnia"};

/// The true expected cases of country c in week t (a quadratic wave).
double trend(std::size_t c, double t) {
    const std::array<double, 4> base{800, 2400, 1500, 600};
    const std::array<double, 4> slope{40, -30, 10, 25};
    const std::array<double, 4> curve{-0.5, 0.8, 0.1, -0.2};
    return base[c] + slope[c] * t + curve[c] * t * t;
}

void show_budgets(const char* after, const owner_accountant& owner, const owner_accountant& alice,
                  const owner_accountant& bob) {
    std::printf("  [%s] remaining epsilon: owner %.3f, alice %.3f, bob %.3f\n", after, owner.remaining().epsilon,
                alice.remaining().epsilon, bob.remaining().epsilon);
}

}  // namespace

int main(int argc, char** argv) {
    example::generator gen(argc, argv, "Two analysts with their own budgets: a noisy weekly series, a trend, a refusal.");
    const std::size_t n_countries = countries.size();

    // The exact, private counts (synthetic: the trend plus Poisson variation).
    std::mt19937_64 rng(53);  // the synthetic data only; no noise comes from it
    Eigen::MatrixXd cases(weeks, static_cast<Eigen::Index>(n_countries));
    for (std::size_t c = 0; c < n_countries; ++c) {
        for (Eigen::Index t = 0; t < weeks; ++t) {
            std::poisson_distribution<long> weekly(trend(c, static_cast<double>(t)));
            cases(t, static_cast<Eigen::Index>(c)) = static_cast<double>(weekly(rng));
        }
    }

    owner_accountant owner(dpkit::approx_dp{1, 1e-6}, "owner");
    owner_accountant& alice = owner.grant(dpkit::approx_dp{0.6, 1e-6}, "alice");
    owner_accountant& bob = owner.grant(dpkit::approx_dp{0.2, 0}, "bob");
    std::printf("the owner holds epsilon 1, delta 1e-6 per person; it grants alice (0.6, 1e-6) and bob (0.2, 0)\n");
    show_budgets("grants", owner, alice, bob);

    // Alice: the whole series in one Gaussian release.
    const auto values = static_cast<std::size_t>(cases.size());
    const dpkit::gaussian_mechanism<double> series(dpkit::epsilon{0.5}, dpkit::delta{1e-6},
                                                   dpkit::l2_sensitivity{std::sqrt(2.0)}, dpkit::dimension{values});
    const std::vector<double> noisy_values =
        dpkit::release(alice, series, std::span<const double>(cases.data(), values), gen, "weekly cases, 53 x 4");
    const Eigen::Map<const Eigen::MatrixXd> noisy(noisy_values.data(), weeks, static_cast<Eigen::Index>(n_countries));
    const auto noise = dpkit::confidence_interval(series, 0.95);
    std::size_t inside = 0;
    for (Eigen::Index i = 0; i < cases.size(); ++i) {
        const double error = noisy.data()[i] - cases.data()[i];
        inside += noise.lower <= error && error <= noise.upper ? 1 : 0;
    }
    std::printf("\nalice releases the %zu weekly counts at (0.5, 1e-6): Gaussian noise, sigma %.1f, L2 sensitivity sqrt(2)\n",
                values, series.stddev());
    std::printf("  %zu of %zu noisy counts lie within their 95%% interval [%.0f, %.0f] of the truth\n", inside, values,
                noise.lower, noise.upper);
    show_budgets("alice's release", owner, alice, bob);

    // Her quadratic trend (post-processing: free), fitted by least squares.
    Eigen::MatrixXd design(weeks, 3);
    for (Eigen::Index t = 0; t < weeks; ++t) design.row(t) << 1.0, static_cast<double>(t), static_cast<double>(t * t);
    const Eigen::MatrixXd coefficients = design.colPivHouseholderQr().solve(noisy);
    std::printf("  quadratic trend fitted to the noisy series, extrapolated %d weeks ahead (week %d):\n",
                static_cast<int>(ahead), static_cast<int>(weeks + ahead - 1));
    for (std::size_t c = 0; c < n_countries; ++c) {
        const double t = static_cast<double>(weeks + ahead - 1);
        const Eigen::Vector3d at(1.0, t, t * t);
        const double fitted = at.dot(coefficients.col(static_cast<Eigen::Index>(c)));
        std::printf("    %-9s last week noisy %6.0f (truth %6.0f); week %d forecast %6.0f, true trend %6.0f\n",
                    countries[c], noisy(weeks - 1, static_cast<Eigen::Index>(c)),
                    cases(weeks - 1, static_cast<Eigen::Index>(c)), static_cast<int>(weeks + ahead - 1), fitted,
                    trend(c, t));
    }

    // Bob: yearly totals (one person moves the 4 totals by at most 2 in L1).
    const dpkit::laplace_mechanism<double> totals(dpkit::epsilon{0.1}, dpkit::l1_sensitivity{2},
                                                  dpkit::dimension{n_countries});
    const Eigen::VectorXd yearly = cases.colwise().sum().transpose();
    const std::vector<double> noisy_totals =
        dpkit::release(bob, totals, std::span<const double>(yearly.data(), n_countries), gen, "yearly totals");
    std::printf("\nbob releases the yearly totals at epsilon 0.1:");
    for (std::size_t c = 0; c < n_countries; ++c) {
        std::printf(" %s %.0f (truth %.0f)%s", countries[c], noisy_totals[c], yearly(static_cast<Eigen::Index>(c)),
                    c + 1 < n_countries ? "," : "\n");
    }
    show_budgets("bob's first release", owner, alice, bob);

    // Bob asks for the last four weeks' totals at epsilon 0.3: more than he has.
    const dpkit::laplace_mechanism<double> recent(dpkit::epsilon{0.3}, dpkit::l1_sensitivity{2},
                                                  dpkit::dimension{n_countries});
    const Eigen::VectorXd last_month = cases.bottomRows(4).colwise().sum().transpose();
    const std::span<const double> last_month_values(last_month.data(), n_countries);
    try {
        (void)dpkit::release(bob, recent, last_month_values, gen, "last 4 weeks");
        std::printf("bob's request at epsilon 0.3 was accepted\n");
    } catch (const dpkit::budget_exhausted& refusal) {
        std::printf("\nbob asks for the last 4 weeks' totals at epsilon 0.3: REFUSED, nothing released\n  %s\n",
                    refusal.what());
    }
    show_budgets("the refusal", owner, alice, bob);
    owner.raise(bob, dpkit::approx_dp{0.2, 0});
    std::printf("bob asks the owner for 0.2 more; the owner raises his grant to %.3g\n", bob.budget().epsilon);
    show_budgets("the raise", owner, alice, bob);
    const std::vector<double> noisy_recent = dpkit::release(bob, recent, last_month_values, gen, "last 4 weeks");
    std::printf("bob releases the last 4 weeks' totals at epsilon 0.3:");
    for (std::size_t c = 0; c < n_countries; ++c) {
        std::printf(" %s %.0f (truth %.0f)%s", countries[c], noisy_recent[c], last_month(static_cast<Eigen::Index>(c)),
                    c + 1 < n_countries ? "," : "\n");
    }
    show_budgets("bob's second release", owner, alice, bob);

    std::printf("\nthe owner's ledger:\n");
    for (const auto& entry : owner.ledger()) {
        std::printf("  %2llu %-6s %-26s %s\n", static_cast<unsigned long long>(entry.sequence), entry.account.c_str(),
                    entry.label.c_str(), dpkit::to_string(entry.cost).c_str());
    }
    const auto spent = owner.spent();
    std::printf("spent: epsilon %g, delta %g of the owner's (1, 1e-6)\n", spent.epsilon, spent.delta);
    return 0;
}
