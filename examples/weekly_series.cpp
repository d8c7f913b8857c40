// A platform gives each data scientist a privacy budget; Alice's is 700. She
// publishes a noisy weekly count of active users, each week costing epsilon 5,
// until her budget is spent. The accountant refuses the week that would
// overspend, and no noisy value is released for it.
#include <dpkit/dpkit.hpp>

#include <cstdio>

int main() {
    dpkit::accountant<dpkit::basic_composition> platform(dpkit::approx_dp{1000, 0}, "platform");
    auto& alice = platform.grant(dpkit::approx_dp{700, 0}, "alice");  // reserved in the platform's budget

    dpkit::secure_generator gen;
    const dpkit::laplace_mechanism<std::int64_t> weekly(dpkit::epsilon{5}, dpkit::l1_sensitivity{1});
    int week = 0;
    while (true) {
        const std::int64_t active_users = 10000 + 37 * week;  // the private, exact weekly count
        const auto released = dpkit::try_release(alice, weekly, active_users, gen, "week " + std::to_string(week));
        if (!released) break;  // refused: nothing spent, nothing released
        if (week % 35 == 0) std::printf("week %3d: %lld active users\n", week, static_cast<long long>(*released));
        ++week;
    }
    std::printf("Alice published %d weeks; her remaining epsilon: %g; platform's remaining: %g\n", week,
                alice.remaining().epsilon, platform.remaining().epsilon);
    std::printf("the platform's ledger holds %zu entries (the grant and each of her releases)\n", platform.ledger().size());
    return 0;
}
