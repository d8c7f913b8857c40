// A randomized-response survey about smoking (Warner 1965, here with two
// coins). Each respondent flips a coin in private: on heads they answer
// truthfully; on tails they flip a second coin and answer "yes" on heads. An
// answer "yes" is then 3 times likelier from a smoker (3/4) than from a
// non-smoker (1/4): each respondent's answer costs them epsilon = ln 3 = 1.0986
// and nothing more, whatever the analyst does with it. That is a little above
// the usual epsilon <= 1 per person: it is the price of two fair coins (a die
// that says "truth" on 1 or 2 would give ln 2), and it is paid once.
//
// A second panel of 10,000 answers a question with four answers ("how many
// cigarettes a day?") through k-ary randomized response at the same ln 3 per
// respondent. The data are synthetic, so each estimate is shown beside the truth.
#include "example_support.hpp"

#include <dpkit/dpkit.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    example::generator gen(argc, argv, "A coin-flip survey about smoking (randomized response).");
    const std::size_t respondents = 10000;

    // Question 1: "do you smoke?" 18% of the made-up respondents do.
    const auto two_coins = dpkit::randomized_response::coin_flips(dpkit::rational(1, 2), dpkit::rational(1, 2));
    const std::size_t smokers = respondents * 18 / 100;
    std::size_t yes = 0;
    for (std::size_t i = 0; i < respondents; ++i) yes += two_coins(i < smokers, gen) ? 1u : 0u;  // on each one's phone

    const double truth = static_cast<double>(smokers) / static_cast<double>(respondents);
    const double raw = static_cast<double>(yes) / static_cast<double>(respondents);
    const auto estimate = two_coins.estimate(yes, respondents);
    const double half_width = 1.96 * estimate.std_error();
    std::printf("do you smoke? %zu respondents, two coins each\n", respondents);
    std::printf("  epsilon per respondent: %.4f (ln 3 = %.4f), spent once, on their own device\n", two_coins.epsilon(),
                std::log(3.0));
    std::printf("  what an attacker sees: %zu answers yes, a raw share of %.1f%%\n", yes, 100 * raw);
    std::printf("  (P[yes | smoker] = %.2f, P[yes | non-smoker] = %.2f: a 'yes' raises the odds that someone smokes "
                "3-fold, no more)\n",
                two_coins.p_yes_given_yes(), two_coins.p_yes_given_no());
    std::printf("  smokers: estimate %.1f%%, 95%% interval [%.1f%%, %.1f%%], truth %.1f%%\n", 100 * estimate.value,
                100 * (estimate.value - half_width), 100 * (estimate.value + half_width), 100 * truth);

    // Question 2, to a second panel: "how many cigarettes a day?"
    const std::vector<std::string> answers{"none", "1-5", "6-20", "more"};
    const std::array<double, 4> shares{0.82, 0.06, 0.08, 0.04};  // the made-up truth
    const dpkit::generalized_randomized_response<std::string> k_ary(dpkit::epsilon{std::log(3.0)}, answers);
    std::vector<std::size_t> reported(answers.size(), 0);
    std::size_t respondent = 0;
    for (std::size_t a = 0; a < answers.size(); ++a) {
        const auto n = static_cast<std::size_t>(std::lround(shares[a] * static_cast<double>(respondents)));
        for (std::size_t i = 0; i < n; ++i, ++respondent) ++reported[k_ary.index_of(k_ary(answers[a], gen))];
    }
    std::printf("\nhow many cigarettes a day? %zu other respondents, k-ary randomized response over %zu answers\n",
                respondent, answers.size());
    std::printf("  epsilon per respondent: %.4f; each keeps the true answer with probability %.3f, else names "
                "another at random\n",
                k_ary.epsilon(), k_ary.p_keep());
    const auto estimates = k_ary.estimate(reported);
    for (std::size_t a = 0; a < answers.size(); ++a) {
        const double w = 1.96 * estimates[a].std_error();
        std::printf("  %-5s reported %5zu (%4.1f%%), estimate %5.1f%%, 95%% interval [%5.1f%%, %5.1f%%], truth %4.1f%%\n",
                    answers[a].c_str(), reported[a], 100.0 * static_cast<double>(reported[a]) / static_cast<double>(respondent),
                    100 * estimates[a].value, 100 * (estimates[a].value - w), 100 * (estimates[a].value + w),
                    100 * shares[a]);
    }
    std::printf("\nspent: epsilon %.4f per respondent (each answered one question once)\n",
                std::fmax(two_coins.epsilon(), k_ary.epsilon()));
    return 0;
}
