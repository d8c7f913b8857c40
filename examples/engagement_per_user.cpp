// Web analytics: an editor in the browser sends a "ping" every 10 seconds of
// activity: a mouse ping, or a keyboard ping with the number of keys typed.
// Most users send a few dozen pings, a few send thousands (automated test
// accounts typing at full speed). Differential privacy protects a user, not a
// ping, so each user's contribution is bounded first:
//  - typing speed: at most 20 keyboard pings per user, drawn uniformly at
//    random, feed the mean, whose noise is calibrated to 20 pings; so each user
//    weighs at most 20 pings, however many they sent;
//  - age groups: each user counts once, in one age group.
// Two releases share a total budget of epsilon = 1 through an accountant. The
// data are synthetic, so the truth is printed beside each release.
#include "example_support.hpp"

#include <dpkit/aggregates.hpp>
#include <dpkit/dpkit.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

struct ping {
    std::uint32_t user;
    bool keyboard;
    double keys_per_minute;  // keyboard pings: keys in the 10 seconds, times 6
};

const std::vector<std::string> age_groups{"18-24", "25-34", "35-54", "55+"};
constexpr std::uint32_t users = 4000;

/// 20% aged 18-24, 30% 25-34, 30% 35-54, 20% 55+.
std::size_t age_group_of(std::uint32_t user) {
    const std::uint32_t decile = (user * 7u) % 10u;
    return decile < 2 ? 0 : decile < 5 ? 1 : decile < 8 ? 2 : 3;
}

// Grouped by user, as a log sorted by user would be. Ordinary users type at
// 150 to 250 keys a minute, depending on the age group; 20 test accounts send
// 3,000 to 6,000 keyboard pings at 600 keys a minute.
std::vector<ping> synthetic_pings() {
    std::mt19937_64 rng(2024);  // the synthetic data only; no noise comes from it
    std::geometric_distribution<int> activity(0.03);
    std::uniform_int_distribution<int> bot_pings(3000, 6000);
    std::bernoulli_distribution typing(0.6);
    std::vector<ping> pings;
    for (std::uint32_t user = 0; user < users; ++user) {
        const bool bot = user % 200 == 17;
        const double speed = 250 - 30 * static_cast<double>(age_group_of(user));
        std::normal_distribution<double> keys(speed, 40);
        const int n = bot ? bot_pings(rng) : 1 + activity(rng);
        for (int i = 0; i < n; ++i) {
            const bool keyboard = bot || typing(rng);
            pings.push_back({user, keyboard, keyboard ? (bot ? 600.0 : std::max(0.0, keys(rng))) : 0.0});
        }
    }
    return pings;
}

}  // namespace

int main(int argc, char** argv) {
    example::generator gen(argc, argv, "Typing speed and age groups from many pings per user, bounded per user.");
    const std::vector<ping> pings = synthetic_pings();
    const dpkit::bounds speed_bounds{0, 600};  // declared from what a person can type, not from the data
    constexpr std::uint64_t max_pings = 20;

    // The accumulators declare the contribution each user may make; the
    // bounders enforce it (and refuse an accumulator that declares another).
    dpkit::bounded_mean speed(speed_bounds, dpkit::nan_policy::reject, max_pings);
    dpkit::category_histogram<std::string> by_age(age_groups);  // one category per user, one row in it
    {
        dpkit::grouped_bounder<std::uint32_t, double> typing(max_pings, dpkit::unit_order::ascending, speed);
        dpkit::grouped_partition_bounder<std::uint32_t, std::string> once(dpkit::partition_caps{1, 1},
                                                                          dpkit::unit_order::ascending, by_age);
        for (const ping& p : pings) {
            if (p.keyboard) typing.add(p.user, p.keys_per_minute, gen);
            once.add(p.user, age_groups[age_group_of(p.user)], gen);
        }
        typing.finish();
        once.finish(gen);
    }

    // The truth (known here only because the data are synthetic).
    std::vector<double> user_keys(users, 0);
    std::vector<std::uint64_t> user_pings(users, 0);
    double all_keys = 0;
    std::uint64_t keyboard_pings = 0;
    for (const ping& p : pings) {
        if (!p.keyboard) continue;
        const double s = std::clamp(p.keys_per_minute, speed_bounds.lower, speed_bounds.upper);
        user_keys[p.user] += s;
        ++user_pings[p.user];
        all_keys += s;
        ++keyboard_pings;
    }
    // Bounding keeps min(n, 20) of a user's n pings at random: in expectation
    // that user's sum is scaled by min(n, 20) / n.
    double bounded_keys = 0;
    double bounded_pings = 0;
    double per_user_sum = 0;
    std::size_t typists = 0;
    std::vector<std::size_t> age_truth(age_groups.size(), 0);
    std::vector<bool> seen(users, false);
    for (const ping& p : pings) seen[p.user] = true;
    for (std::uint32_t u = 0; u < users; ++u) {
        if (seen[u]) ++age_truth[age_group_of(u)];
        if (user_pings[u] == 0) continue;
        const double kept = static_cast<double>(std::min(user_pings[u], max_pings));
        bounded_keys += user_keys[u] * kept / static_cast<double>(user_pings[u]);
        bounded_pings += kept;
        per_user_sum += user_keys[u] / static_cast<double>(user_pings[u]);
        ++typists;
    }
    std::uint64_t heaviest = 0;
    for (std::uint64_t n : user_pings) heaviest = std::max(heaviest, n);

    dpkit::accountant<dpkit::basic_composition> budget(dpkit::approx_dp{1.0, 0}, "analytics");
    const auto s = speed.release(budget, dpkit::laplace_noise{dpkit::epsilon{0.5}}, 0.95, gen, "typing speed");
    std::printf("%zu pings from %u users (%llu keyboard pings); the heaviest user sent %llu keyboard pings, bounded to "
                "%llu\n\n",
                pings.size(), users, static_cast<unsigned long long>(keyboard_pings),
                static_cast<unsigned long long>(heaviest), static_cast<unsigned long long>(max_pings));
    std::printf("typing speed (keys/minute): released %.1f, 95%% interval [%.1f, %.1f], truth %.1f (expected after bounding)\n",
                s.value, s.confidence.lower, s.confidence.upper, bounded_keys / bounded_pings);
    std::printf("  (without bounding the test accounts' pings dominate: the mean over all pings is %.1f; the mean of "
                "each user's own speed is %.1f)\n",
                all_keys / static_cast<double>(keyboard_pings), per_user_sum / static_cast<double>(typists));
    const auto h = by_age.release(budget, dpkit::laplace_noise{dpkit::epsilon{0.5}}, 0.95, gen, "users by age group");
    std::printf("\nusers by age group (each user once):\n");
    for (std::size_t i = 0; i < age_groups.size(); ++i) {
        std::printf("  %-6s released %7.1f, 95%% interval [%.1f, %.1f], truth %zu\n", age_groups[i].c_str(), h.value.counts[i],
                    h.value.intervals[i].lower, h.value.intervals[i].upper, age_truth[i]);
    }
    std::printf("\nspent epsilon %g of %g, remaining %g:\n", budget.spent().epsilon, budget.budget().epsilon,
                budget.remaining().epsilon);
    for (const auto& entry : budget.ledger()) {
        std::printf("  %-26s %s\n", entry.label.c_str(), dpkit::to_string(entry.cost).c_str());
    }
    return 0;
}
