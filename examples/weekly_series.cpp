// A platform promises its users that a whole year of statistics about them
// costs each of them at most epsilon = 1 (anyone may count in every release).
// It grants Alice, a data scientist, half of that: 0.5. She publishes a noisy
// weekly count of active users at epsilon 0.01 a week, so her grant buys 50
// weeks; the accountant refuses the 51st, and no noisy value is released for
// it. The counts are made up, so each line shows the truth beside the release.
#include <dpkit/dpkit.hpp>

#include <cstdio>
#include <string>

int main() {
    dpkit::accountant<dpkit::basic_composition> platform(dpkit::approx_dp{1, 0}, "platform");
    auto& alice = platform.grant(dpkit::approx_dp{0.5, 0}, "alice");  // reserved in the platform's budget

    dpkit::secure_generator gen;
    const dpkit::laplace_mechanism<std::int64_t> weekly(dpkit::epsilon{0.01}, dpkit::l1_sensitivity{1});
    const auto noise = dpkit::confidence_interval(weekly, 0.95);
    std::printf("each week costs epsilon %.2f; its error lies in [%.0f, %.0f] with 95%% probability\n",
                weekly.cost().epsilon, noise.lower, noise.upper);
    int week = 0;
    while (true) {
        const std::int64_t active_users = 10000 + 37 * week;  // the private, exact weekly count
        const auto released = dpkit::try_release(alice, weekly, active_users, gen, "week " + std::to_string(week));
        if (!released) {  // refused: nothing spent, nothing released
            std::printf("week %2d: refused, nothing released\n", week);
            break;
        }
        if (week % 7 == 0) {
            std::printf("week %2d: released %6lld, truth %6lld (error %+4lld)\n", week,
                        static_cast<long long>(*released), static_cast<long long>(active_users),
                        static_cast<long long>(*released - active_users));
        }
        ++week;
    }
    std::printf("Alice published %d weeks; her remaining epsilon: %g; the platform's: %g\n", week,
                alice.remaining().epsilon, platform.remaining().epsilon);
    std::printf("the platform's ledger holds %zu entries (the grant and each of her releases)\n", platform.ledger().size());
    return 0;
}
