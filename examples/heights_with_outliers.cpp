// The mean height of 300 study participants, four of them extreme outliers
// (two data-entry slips, 1.78 and 17.8 instead of 178, and two real extremes,
// 231 cm and 112 cm). The data are synthetic, so the truth is printed.
//
// The wrong way, as a published notebook does it: measure the "sensitivity"
// on the data (the spread, i.e. standard deviation, of the leave-one-out
// means), add Laplace noise of that scale for "epsilon = 1", and publish the
// mean and one noisy leave-one-out mean per person. The noise scale is read
// from the data, and nothing bounds what one person can do to a mean: it is no
// DP guarantee at all. Each run leaks x_i = S - (n - 1) * LOO_i plus noise,
// where the total S is the sum of the leave-one-out means (or n * mean; the
// sum carries 17 times less noise here, so the attacker uses it); an attacker
// who sees the notebook re-run 1000 times (say, a dashboard that refreshes)
// averages the runs and recovers every height.
//
// The right way: one dpkit::bounded_mean with declared bounds [100, 220] cm
// (read from what a height can be, never from the data), released through an
// accountant with its interval. Then the same attack, given 1000 releases of
// the mean with and without each participant: an accountant holding the whole
// budget of epsilon = 1 per person gives each release 0.001 (basic
// composition) and refuses the 1001st. The reconstruction does no better than
// guessing the middle of the bounds.
#include "example_support.hpp"

#include <dpkit/aggregates.hpp>
#include <dpkit/audit.hpp>
#include <dpkit/dpkit.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <random>
#include <span>
#include <vector>

namespace {

constexpr std::size_t participants = 300;
constexpr std::size_t rounds = 1000;  // releases the attacker sees, in both halves
const dpkit::bounds height_bounds{100, 220};

std::vector<double> synthetic_heights() {
    std::mt19937_64 rng(1989);  // the synthetic data only; no noise comes from it
    std::normal_distribution<double> height(170, 9);
    std::vector<double> h(participants);
    for (double& x : h) x = std::round(height(rng) * 10) / 10;
    h[296] = 1.78;   // metres typed into a centimetre field
    h[297] = 17.8;   // a missing zero
    h[298] = 231.0;  // a very tall participant
    h[299] = 112.0;  // a very short one
    return h;
}

double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
}

/// The notebook's release of one dataset: the mean and every leave-one-out
/// mean, each with Laplace noise whose scale is the standard deviation of the
/// leave-one-out means (computed from the data: this is the flaw), claimed to
/// be epsilon = 1 per run.
struct notebook_release {
    std::vector<double> loo;  // exact leave-one-out means
    double mean = 0;          // exact mean
    double spread = 0;        // the data-dependent "sensitivity"
    dpkit::laplace_mechanism<double> for_the_mean;
    dpkit::laplace_mechanism<double> for_each_loo;

    explicit notebook_release(const std::vector<double>& h)
        : spread(loo_spread(h)),
          for_the_mean(dpkit::epsilon{1}, dpkit::l1_sensitivity{spread}),
          for_each_loo(dpkit::epsilon{1}, dpkit::l1_sensitivity{spread}, dpkit::dimension{h.size()}) {
        const double n = static_cast<double>(h.size());
        double total = 0;
        for (double x : h) total += x;
        mean = total / n;
        for (double x : h) loo.push_back((total - x) / (n - 1));
    }

    static double loo_spread(const std::vector<double>& h) {
        const double n = static_cast<double>(h.size());
        double total = 0;
        for (double x : h) total += x;
        std::vector<double> loo_means;
        for (double x : h) loo_means.push_back((total - x) / (n - 1));
        const double centre = mean_of(loo_means);
        double ss = 0;
        for (double m : loo_means) ss += (m - centre) * (m - centre);
        return std::sqrt(ss / (n - 1));
    }

    /// The noisy mean of one run.
    template <class G>
    double noisy_mean(G& g) const {
        return for_the_mean(mean, g);
    }
    /// One run: out[0] is the noisy mean, out[1 + i] person i's noisy leave-one-out mean.
    template <class G>
    std::vector<double> operator()(G& g) const {
        std::vector<double> noisy_loo = loo;
        for_each_loo.add_noise(std::span<double>(noisy_loo), g);
        std::vector<double> out{noisy_mean(g)};
        out.insert(out.end(), noisy_loo.begin(), noisy_loo.end());
        return out;
    }
};

}  // namespace

int main(int argc, char** argv) {
    example::generator gen(argc, argv, "The mean height of participants with outliers: a leaky way and the right way.");
    const std::vector<double> heights = synthetic_heights();
    const double n = static_cast<double>(participants);
    std::vector<double> clamped = heights;
    for (double& x : clamped) x = std::clamp(x, height_bounds.lower, height_bounds.upper);
    const double middle = (height_bounds.lower + height_bounds.upper) / 2;
    const std::array<std::size_t, 6> shown{0, 1, 296, 297, 298, 299};
    std::printf("%zu participants; raw mean %.2f cm (distorted by 4 outliers: %.2f, %.1f, %.0f, %.0f)\n\n", participants,
                mean_of(heights), heights[296], heights[297], heights[298], heights[299]);

    // The wrong way.
    const notebook_release notebook(heights);
    std::vector<double> recovered(participants, 0);
    for (std::size_t r = 0; r < rounds; ++r) {
        const std::vector<double> run = notebook(gen);
        double total = 0;  // the LOO means sum to S: (sum_i (S - x_i)) / (n - 1) = S
        for (std::size_t i = 0; i < participants; ++i) total += run[1 + i];
        for (std::size_t i = 0; i < participants; ++i) recovered[i] += total - (n - 1) * run[1 + i];
    }
    double wrong_error = 0;
    double guess_error = 0;
    const double sample_mean = mean_of(heights);
    for (std::size_t i = 0; i < participants; ++i) {
        recovered[i] /= static_cast<double>(rounds);
        wrong_error += std::fabs(recovered[i] - heights[i]) / n;
        guess_error += std::fabs(sample_mean - heights[i]) / n;
    }
    std::printf("THE WRONG WAY: Laplace noise of scale %.4f cm (the spread of the leave-one-out means, read from the "
                "data), 'epsilon = 1' per run, %zu runs of %zu noisy means each\n",
                notebook.spread, rounds, participants + 1);
    std::printf("  the attacker averages x_i = (sum of the LOO means) - (n - 1) * LOO_i over the runs:\n");
    for (std::size_t i : shown) {
        std::printf("    participant %3zu: height %6.2f cm, recovered %6.2f cm\n", i, heights[i], recovered[i]);
    }
    std::printf("  wrong way: attack error %.2f cm on average over all %zu participants (guessing the mean: %.2f cm)\n",
                wrong_error, participants, guess_error);
    std::printf("  verdict: %s\n", wrong_error < guess_error / 4
                                        ? "ATTACK SUCCEEDS (the noise was calibrated to the data, and the runs were never "
                                          "accounted)"
                                        : "the attack did no better than guessing the mean");
    std::printf("  (even by the notebook's own count, %zu runs at 'epsilon 1' would be epsilon %zu; a budget of 1 "
                "allows one run)\n",
                rounds, rounds);
    // The noise scale is itself a function of the data: one participant more or
    // less changes it, which no DP mechanism's calibration may do.
    std::vector<double> without_298 = heights;
    without_298.erase(without_298.begin() + 298);
    const notebook_release neighbour(without_298);
    std::printf("  the noise scale depends on the data: %.4f cm with participant 298, %.4f cm without\n",
                notebook.spread, neighbour.spread);
    // dpkit's auditor draws the notebook's noisy mean on both inputs and proves a
    // lower bound on its real epsilon (Clopper-Pearson, 99.9% confidence).
    dpkit::audit_options check;
    check.samples = 20000;
    check.epsilon = 1;  // what the notebook claims per run
    check.confidence = 0.999;
    const auto report = dpkit::audit([](const notebook_release& r, auto& g) { return r.noisy_mean(g); }, notebook, neighbour, check);
    std::printf("  the auditor proves epsilon >= %.1f for one run that claims epsilon 1 (%s, witnessed by '%s': %llu against %llu of %llu draws): %s\n",
                report.epsilon_lower_bound, "99.9% confidence", report.event.describe().c_str(),
                static_cast<unsigned long long>(report.count_first), static_cast<unsigned long long>(report.count_second),
                static_cast<unsigned long long>(report.test_samples), report.violation ? "FLAGGED" : "not flagged");

    // The right way: one release with declared bounds, through an accountant.
    dpkit::bounded_mean study_mean(height_bounds);
    study_mean.add(heights);
    dpkit::accountant<dpkit::basic_composition> study(dpkit::approx_dp{1, 0}, "study");
    const auto released = study_mean.release(study, dpkit::laplace_noise{dpkit::epsilon{1}}, 0.95, gen, "mean height");
    std::printf("\nTHE RIGHT WAY: dpkit::bounded_mean, heights clamped to the declared [%.0f, %.0f] cm, epsilon 1\n",
                height_bounds.lower, height_bounds.upper);
    std::printf("  mean height: released %.2f cm, 95%% interval [%.2f, %.2f], truth %.2f cm (mean of the clamped heights)\n",
                released.value, released.confidence.lower, released.confidence.upper, mean_of(clamped));
    std::printf("  spent epsilon %g of %g\n", study.spent().epsilon, study.budget().epsilon);

    // The attack against it, in a simulated world of its own: the attacker
    // holds the whole budget of epsilon 1 and spends it on 1000 releases
    // (0.001 each, booked exactly): 100 of the mean of everyone and 3 of the
    // mean without each participant.
    const dpkit::laplace_noise per_release{dpkit::epsilon{0.001}};
    const std::size_t with_all_releases = 100;
    const std::size_t per_target = (rounds - with_all_releases) / participants;
    dpkit::accountant<dpkit::basic_composition> attacker(dpkit::approx_dp{1, 0}, "attacker");
    dpkit::bounded_mean with_all(height_bounds);
    with_all.add(heights);
    double mean_all = 0;
    for (std::size_t r = 0; r < with_all_releases; ++r) {
        dpkit::bounded_mean copy = with_all;  // a release uses up its accumulator: release a fresh copy each time
        mean_all += copy.release(attacker, per_release, 0.95, gen, "mean").value / static_cast<double>(with_all_releases);
    }
    std::vector<double> reconstructed(participants);
    double right_error = 0;
    double bounds_guess_error = 0;
    for (std::size_t target = 0; target < participants; ++target) {
        dpkit::bounded_mean without_target(height_bounds);
        for (std::size_t i = 0; i < participants; ++i) {
            if (i != target) without_target.add(heights[i]);
        }
        double mean_without = 0;
        for (std::size_t r = 0; r < per_target; ++r) {
            dpkit::bounded_mean copy = without_target;
            mean_without += copy.release(attacker, per_release, 0.95, gen, "mean without one participant").value /
                            static_cast<double>(per_target);
        }
        reconstructed[target] =
            std::clamp(n * mean_all - (n - 1) * mean_without, height_bounds.lower, height_bounds.upper);
        right_error += std::fabs(reconstructed[target] - clamped[target]) / n;
        bounds_guess_error += std::fabs(middle - clamped[target]) / n;
    }
    std::printf("  the same attack, with %zu releases paid from a budget of epsilon 1 (0.001 each): %zu of the mean, %zu "
                "of each leave-one-out mean\n",
                rounds, with_all_releases, per_target);
    for (std::size_t i : shown) {
        std::printf("    participant %3zu: height %6.2f cm (clamped %6.2f), reconstructed %6.2f cm\n", i, heights[i],
                    clamped[i], reconstructed[i]);
    }
    std::printf("  right way: attack error %.2f cm on average over all %zu participants (guessing the middle of the "
                "bounds, %.0f cm: %.2f cm)\n",
                right_error, participants, middle, bounds_guess_error);
    dpkit::bounded_mean one_more = with_all;
    try {
        (void)one_more.release(attacker, per_release, 0.95, gen, "release 1001");
        std::printf("  release 1001 was accepted\n");
    } catch (const dpkit::budget_exhausted& refusal) {
        std::printf("  release 1001 refused: %s\n", refusal.what());
    }
    std::printf("  the attacker spent epsilon %g of %g in %zu releases (%zu ledger lines: a count and a sum each)\n",
                attacker.spent().epsilon, attacker.budget().epsilon, with_all_releases + per_target * participants,
                attacker.ledger().size());
    std::printf("  verdict: %s\n", right_error >= bounds_guess_error ? "ATTACK FAILS (no better than guessing from the bounds)"
                                                                      : "the attack beat guessing from the bounds");
    return 0;
}
