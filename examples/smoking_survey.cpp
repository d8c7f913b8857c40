// The coin-flip survey about smoking (Warner 1965). Each respondent flips a
// coin in private: heads, they answer truthfully; tails, they flip again and
// answer "yes" on heads. No single answer reveals anything certain (the
// survey is ln 3-differentially private), yet the analyst can still estimate
// how many people smoke.
#include <dpkit/dpkit.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
    const auto survey = dpkit::randomized_response::coin_flips(dpkit::rational(1, 2), dpkit::rational(1, 2));

    // 2,000 respondents, 18% of whom smoke (known here only to check the estimate).
    const std::size_t respondents = 2000;
    std::vector<bool> smokes(respondents, false);
    for (std::size_t i = 0; i < respondents * 18 / 100; ++i) smokes[i] = true;

    dpkit::secure_generator gen;  // each respondent's own coins, in a real survey on their device
    std::size_t yes = 0;
    for (bool truth : smokes) yes += survey(truth, gen) ? 1 : 0;

    const auto estimate = survey.estimate(yes, respondents);
    std::printf("answers: %zu yes out of %zu (each answer is %.4f-DP, ln 3 = %.4f)\n", yes, respondents,
                survey.epsilon(), std::log(3.0));
    std::printf("estimated smokers: %.1f%% +/- %.1f%% (95%%), true share 18.0%%\n", 100 * estimate.value,
                196 * estimate.std_error());
    return 0;
}
