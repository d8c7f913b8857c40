// Input privacy against output privacy, at the same epsilon = 1 per person.
//  - Local (input) privacy: every person adds Laplace noise to their own age
//    before it leaves their device, so nobody, not even the data holder, sees
//    a true age. One record moves by up to the whole range of ages, so each
//    record needs noise of scale 100 / epsilon.
//  - Central (output) privacy: a trusted holder keeps the exact ages and
//    releases only the mean, with noise on the aggregate: one dpkit::bounded_mean.
// Both estimate the mean age of 1,000 people; 200 trials (each a fresh,
// simulated survey, in which each person spends epsilon 1 once) show the
// typical error of each. The ages are synthetic, so the error is known.
#include "example_support.hpp"

#include <dpkit/aggregates.hpp>
#include <dpkit/dpkit.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <span>
#include <vector>

int main(int argc, char** argv) {
    example::generator gen(argc, argv, "Input (local) against output (central) privacy on a mean age.");
    constexpr std::size_t people = 1000;
    constexpr std::size_t trials = 200;
    constexpr double level = 0.95;
    const dpkit::bounds ages{0, 100};  // declared, not read from the data
    const dpkit::epsilon eps{1};

    std::mt19937_64 rng(7);  // the synthetic data only; no noise comes from it
    std::normal_distribution<double> age_of(41, 16);
    std::vector<double> age(people);
    for (double& a : age) a = std::clamp(std::round(age_of(rng)), ages.lower, ages.upper);
    double truth = 0;
    for (double a : age) truth += a / static_cast<double>(people);

    // Local: one Laplace mechanism per record, calibrated to the range of one record.
    const dpkit::laplace_mechanism<double> per_record(eps, dpkit::l1_sensitivity{ages.upper - ages.lower},
                                                      dpkit::dimension{people});
    const double local_half_width = 1.96 * std::sqrt(2.0) * per_record.scale() / std::sqrt(static_cast<double>(people));
    // Central: the exact ages in one accumulator, released once per trial.
    dpkit::bounded_mean exact_ages(ages);
    exact_ages.add(age);

    double local_squared = 0;
    double central_squared = 0;
    std::size_t local_covered = 0;
    std::size_t central_covered = 0;
    double central_half_width = 0;
    for (std::size_t t = 0; t < trials; ++t) {
        std::vector<double> reported = age;  // what leaves each device: age + noise
        per_record.add_noise(std::span<double>(reported), gen);
        double local = 0;
        for (double r : reported) local += r / static_cast<double>(people);
        local_squared += (local - truth) * (local - truth);
        local_covered += std::fabs(local - truth) <= local_half_width ? 1 : 0;

        dpkit::accountant<dpkit::basic_composition> holder(dpkit::approx_dp{eps.value, 0}, "trusted holder");
        dpkit::bounded_mean copy = exact_ages;  // each trial releases a fresh copy of the same state
        const auto central = copy.release(holder, dpkit::laplace_noise{eps}, level, gen, "mean age");
        central_squared += (central.value - truth) * (central.value - truth);
        central_covered += central.confidence.lower <= truth && truth <= central.confidence.upper ? 1 : 0;
        central_half_width += (central.confidence.upper - central.confidence.lower) / 2 / static_cast<double>(trials);
    }
    const double local_rmse = std::sqrt(local_squared / static_cast<double>(trials));
    const double central_rmse = std::sqrt(central_squared / static_cast<double>(trials));

    std::printf("mean age of %zu people (truth %.2f years), epsilon %g per person, %zu trials\n", people, truth, eps.value,
                trials);
    std::printf("  local (input) privacy:    Laplace noise of scale %.0f years on every record\n", per_record.scale());
    std::printf("  central (output) privacy: one bounded_mean over the exact ages in [%.0f, %.0f]\n", ages.lower,
                ages.upper);
    std::printf("  local error:   rms %6.3f years; 95%% interval +/- %.3f held the truth in %zu of %zu trials\n",
                local_rmse, local_half_width, local_covered, trials);
    std::printf("  central error: rms %6.3f years; 95%% interval +/- %.3f held the truth in %zu of %zu trials\n",
                central_rmse, central_half_width, central_covered, trials);
    std::printf("  the local estimate's error is %.0f times the central one's (about sqrt(n) = %.0f: each of the n "
                "records carries the noise one aggregate would need)\n",
                local_rmse / central_rmse, std::sqrt(static_cast<double>(people)));
    std::printf("spent: epsilon %g per person in each trial, either way\n", eps.value);
    return 0;
}
