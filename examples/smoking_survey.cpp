// A randomized-response survey about smoking (Warner 1965, in its
// forced-response form). Each respondent rolls a die in private: on 1 or 2
// they answer truthfully; otherwise they flip a coin and answer "yes" on
// heads. No single answer reveals anything certain (each is ln 2-differentially
// private, within the usual epsilon <= 1 per person), yet the analyst can still
// estimate how many smoke.
#include <dpkit/dpkit.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
    const auto survey = dpkit::randomized_response::coin_flips(dpkit::rational(1, 3), dpkit::rational(1, 2));

    // 10,000 respondents, 18% of whom smoke: made-up data, so we may print the truth.
    const std::size_t respondents = 10000;
    const std::size_t smokers = respondents * 18 / 100;
    std::vector<bool> smokes(respondents, false);
    for (std::size_t i = 0; i < smokers; ++i) smokes[i] = true;

    dpkit::secure_generator gen;  // each respondent's own die and coin, in a real survey on their device
    std::size_t yes = 0;
    for (bool truth : smokes) yes += survey(truth, gen) ? 1 : 0;

    const auto estimate = survey.estimate(yes, respondents);
    std::printf("answers: %zu yes out of %zu (truthful answers would give %zu); each answer is %.4f-DP (ln 2 = %.4f)\n",
                yes, respondents, smokers, survey.epsilon(), std::log(2.0));
    std::printf("estimated smokers: %.1f%% +/- %.1f%% (95%%); the truth is %.1f%%\n", 100 * estimate.value,
                196 * estimate.std_error(), 100.0 * static_cast<double>(smokers) / static_cast<double>(respondents));
    return 0;
}
