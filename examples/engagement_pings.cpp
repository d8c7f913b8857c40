// Web analytics: every page view sends a ping (user id, seconds on the page).
// Most users send a handful of pings, a few send thousands. Differential privacy
// protects a user, not a ping, so each user's contribution is bounded first: at
// most 25 pings per user, drawn uniformly at random, feed the statistics, whose
// noise is calibrated to 25 pings. Three releases share a total budget of
// epsilon = 1 through an accountant. The data are synthetic, so the truth is
// printed beside each release.
#include <dpkit/aggregates.hpp>
#include <dpkit/dpkit.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace {

struct ping {
    std::uint32_t user;
    double seconds;
};

// 3,000 users, grouped by user id as a log sorted by user would be. Ordinary
// users read for about a minute per page; 30 heavy users (crawlers, dashboards
// left open) send 2,000 to 5,000 pings of a few seconds each.
std::vector<ping> synthetic_pings() {
    std::mt19937_64 rng(2024);  // the synthetic data only; no noise comes from it
    std::geometric_distribution<int> pages(0.12);
    std::lognormal_distribution<double> reading(4.0, 0.8);
    std::uniform_int_distribution<int> heavy_pages(2000, 5000);
    std::uniform_real_distribution<double> glance(1.0, 5.0);
    std::vector<ping> pings;
    for (std::uint32_t user = 0; user < 3000; ++user) {
        const bool heavy = user % 100 == 42;
        const int n = heavy ? heavy_pages(rng) : 1 + pages(rng);
        for (int i = 0; i < n; ++i) pings.push_back({user, heavy ? glance(rng) : reading(rng)});
    }
    return pings;
}

}  // namespace

int main() {
    const std::vector<ping> pings = synthetic_pings();
    const dpkit::bounds seconds{0, 600};  // declared from what a page view can last, not from the data
    constexpr std::uint64_t max_pings = 25;

    // The accumulators declare the contribution each user may make; the
    // bounders enforce it (and refuse an accumulator that declares another).
    dpkit::count users(1);
    dpkit::count views(max_pings);
    dpkit::bounded_mean mean_seconds(seconds, dpkit::nan_policy::reject, max_pings);

    dpkit::secure_generator gen;
    {
        dpkit::grouped_bounder<std::uint32_t, double> one_per_user(1, dpkit::unit_order::ascending, users);
        dpkit::grouped_bounder<std::uint32_t, double> some_per_user(max_pings, dpkit::unit_order::ascending, views,
                                                                    mean_seconds);
        for (const ping& p : pings) {
            one_per_user.add(p.user, p.seconds, gen);
            some_per_user.add(p.user, p.seconds, gen);
        }
        one_per_user.finish();
        some_per_user.finish();
    }

    // The truth (known here only because the data are synthetic).
    std::vector<std::uint64_t> per_user(3000, 0);
    double total_seconds = 0;
    for (const ping& p : pings) {
        ++per_user[p.user];
        total_seconds += std::clamp(p.seconds, seconds.lower, seconds.upper);
    }
    // Bounding keeps min(n, 25) of a user's n pings at random: in expectation
    // that user's seconds are scaled by min(n, 25) / n.
    std::vector<double> user_seconds(3000, 0);
    for (const ping& p : pings) user_seconds[p.user] += std::clamp(p.seconds, seconds.lower, seconds.upper);
    std::uint64_t bounded_views = 0;
    double bounded_seconds = 0;
    for (std::size_t i = 0; i < per_user.size(); ++i) {
        const std::uint64_t kept = std::min(per_user[i], max_pings);
        bounded_views += kept;
        if (per_user[i] > 0) bounded_seconds += user_seconds[i] * static_cast<double>(kept) / static_cast<double>(per_user[i]);
    }
    const std::uint64_t heaviest = *std::max_element(per_user.begin(), per_user.end());

    dpkit::accountant<dpkit::basic_composition> budget(dpkit::approx_dp{1.0, 0}, "analytics");
    const auto u = users.release(budget, dpkit::laplace_noise{dpkit::epsilon{0.2}}, 0.95, gen, "users");
    const auto v = views.release(budget, dpkit::laplace_noise{dpkit::epsilon{0.3}}, 0.95, gen, "page views");
    // What the mean's interval would be with no bounding (every user allowed
    // `heaviest` pings), computed without spending anything. Only an illustration:
    // a cap read from the data would itself leak.
    const dpkit::bounded_mean unbounded(seconds, dpkit::nan_policy::reject, heaviest);
    const auto unbounded_ci = unbounded.predicted_interval(dpkit::laplace_noise{dpkit::epsilon{0.5}}, 0.95,
                                                           static_cast<double>(pings.size()));
    const auto m = mean_seconds.release(budget, dpkit::laplace_noise{dpkit::epsilon{0.5}}, 0.95, gen, "seconds per view");

    std::printf("%zu pings from 3000 users; the heaviest user sent %llu (bounded to %llu per user)\n\n", pings.size(),
                static_cast<unsigned long long>(heaviest), static_cast<unsigned long long>(max_pings));
    std::printf("users       released %8.0f  95%% [%.0f, %.0f]   truth %d\n", u.value, u.confidence.lower,
                u.confidence.upper, 3000);
    std::printf("page views  released %8.0f  95%% [%.0f, %.0f]   truth after bounding %llu (before: %zu)\n", v.value,
                v.confidence.lower, v.confidence.upper, static_cast<unsigned long long>(bounded_views), pings.size());
    std::printf("seconds     released %8.1f  95%% [%.1f, %.1f]   truth %.1f over all pings, %.1f expected after bounding\n",
                m.value, m.confidence.lower, m.confidence.upper, total_seconds / static_cast<double>(pings.size()),
                bounded_seconds / static_cast<double>(bounded_views));
    const double unbounded_half_width = (unbounded_ci.upper - unbounded_ci.lower) / 2;
    if (unbounded_half_width > (seconds.upper - seconds.lower) / 2) {
        std::printf("            (unbounded, allowing %llu pings per user, the same budget would give an interval wider "
                    "than [0, 600])\n\n",
                    static_cast<unsigned long long>(heaviest));
    } else {
        std::printf("            (unbounded, allowing %llu pings per user, the same budget would give +/- %.1f s)\n\n",
                    static_cast<unsigned long long>(heaviest), unbounded_half_width);
    }
    std::printf("spent epsilon %g of %g, remaining %g:\n", budget.spent().epsilon, budget.budget().epsilon,
                budget.remaining().epsilon);
    for (const auto& entry : budget.ledger()) {
        std::printf("  %-26s %s\n", entry.label.c_str(), dpkit::to_string(entry.cost).c_str());
    }
    return 0;
}
