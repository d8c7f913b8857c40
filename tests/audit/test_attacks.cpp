// The published attacks on DP libraries, run against dpkit by the auditor.
// Each has a positive control, a naive implementation of the same mechanism,
// which the same audit must catch (epsilon_LB above its claim).
//
// Statistics: every audit here runs at confidence 1 - 1e-6, so a mechanism
// that keeps its claim is flagged with probability at most 1e-6 (the
// Clopper-Pearson guarantee, whatever the event chosen); seeds are fixed, so
// every run is the same. The default run uses reduced sample sizes that keep
// each positive control; the [slow] cases (CTest test_audit_slow, label slow)
// repeat the audits at 10^7 draws per input.
#include <dpkit/audit.hpp>
#include <dpkit/dpkit.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "../support/dpkit_catch.hpp"

using namespace dpkit;

namespace {

constexpr double strict = 1 - 1e-6;

audit_options options_for(std::uint64_t samples, std::uint64_t seed) {
    audit_options o;
    o.samples = samples;
    o.seed = seed;
    o.confidence = strict;
    return o;
}

/// A uniform double in (0, 1]: 53 random bits, as most naive samplers draw it.
template <class G>
double naive_uniform(G& g) {
    return static_cast<double>((g() >> 11) + 1) * 0x1p-53;
}

/// The textbook floating-point Laplace mechanism: x + b * sign * ln(U) (the
/// sampler Mironov, CCS 2012, broke).
struct naive_laplace {
    double epsilon;
    double sensitivity;
    template <class G>
    double operator()(double x, G& g) const {
        const double sign = (g() & 1) != 0 ? 1.0 : -1.0;
        return x + (sensitivity / epsilon) * sign * std::log(naive_uniform(g));
    }
};

/// A floating-point Gaussian mechanism by Box-Muller (as in Jin et al., S&P 2022).
struct box_muller_gaussian {
    double sigma;
    template <class G>
    double operator()(double x, G& g) const {
        const double r = std::sqrt(-2 * std::log(naive_uniform(g)));
        return x + sigma * r * std::cos(2 * 3.141592653589793 * naive_uniform(g));
    }
};

/// The same with std::normal_distribution.
struct std_normal_gaussian {
    double sigma;
    template <class G>
    double operator()(double x, G& g) const {
        std::normal_distribution<double> normal(0.0, sigma);
        return x + normal(g);
    }
};

void report(const char* what, const audit_report<double>& r) {
    WARN(what << ": epsilon_LB = " << r.epsilon_lower_bound << " (claimed " << r.claimed_epsilon << "), event "
              << r.event.describe() << ", counts " << r.count_first << " / " << r.count_second << " of "
              << r.test_samples << ", " << r.samples_per_second << " samples/s");
}

}  // namespace

// ---- 1. Floating-point Laplace (Mironov 2012) --------------------------------

void mironov_attack(std::uint64_t samples) {
    const naive_laplace naive{1.0, 1.0};
    auto options = options_for(samples, 11);
    options.epsilon = 1.0;
    const auto caught = audit(naive, 0.0, 1.0, options);
    report("naive float Laplace on 0 / 1", caught);
    CHECK(caught.violation);
    CHECK(caught.epsilon_lower_bound > 5);

    const laplace_mechanism<double> exact(epsilon{1.0}, l1_sensitivity{1});
    const auto passes = audit(exact, 0.0, 1.0, options_for(samples, 12));
    report("dpkit Laplace on 0 / 1", passes);
    CHECK_FALSE(passes.violation);
    CHECK(passes.epsilon_lower_bound <= exact.epsilon());
    CHECK(passes.epsilon_lower_bound > 0.8);  // the same audit sees most of the true loss
}

TEST_CASE("attack 1: the naive float Laplace is caught far above its claim; dpkit's Laplace is not", "[audit][attack]") {
    mironov_attack(200000);
}
TEST_CASE("attack 1 at 10^7 draws per input", "[audit][attack][slow]") { mironov_attack(10000000); }

// ---- 2. Precision attacks (Haney et al. 2022) --------------------------------

void precision_attack(std::uint64_t samples) {
    struct pair {
        double first, second, sensitivity;
    };
    for (const pair p : {pair{0.0, 1.0, 1.0}, pair{0x1p-20, 0x1p50, 0x1p50}}) {
        INFO("inputs " << p.first << " and " << p.second << ", sensitivity " << p.sensitivity);
        // Only the events on the binary representation: trailing zero bits, sub-ulp outputs, low bits.
        auto options = options_for(samples, 21);
        options.thresholds = false;
        options.single_values = false;
        options.epsilon = 1.0;
        const auto caught = audit(naive_laplace{1.0, p.sensitivity}, p.first, p.second, options);
        report("naive float Laplace, precision events", caught);
        CHECK(caught.violation);
        CHECK(caught.epsilon_lower_bound > 3);

        options.epsilon.reset();
        const laplace_mechanism<double> laplace(epsilon{1.0}, l1_sensitivity{p.sensitivity});
        const gaussian_mechanism<double> gaussian(epsilon{1.0}, delta{1e-6}, l2_sensitivity{p.sensitivity});
        const auto lap = audit(laplace, p.first, p.second, options);
        const auto gauss = audit(gaussian, p.first, p.second, options);
        report("dpkit Laplace, precision events", lap);
        report("dpkit Gaussian, precision events", gauss);
        CHECK_FALSE(lap.violation);
        CHECK_FALSE(gauss.violation);
        // The same support on both inputs: every output is a multiple of the lattice step.
        const auto off_lattice_laplace = output_event<double>::not_multiple_of_power_of_two(std::ilogb(laplace.step()));
        const auto off_lattice_gaussian = output_event<double>::not_multiple_of_power_of_two(std::ilogb(gaussian.step()));
        insecure_seeded_generator g(22);
        std::uint64_t off = 0;
        for (int i = 0; i < 20000; ++i) {
            off += off_lattice_laplace.contains(laplace(p.first, g)) ? 1u : 0u;
            off += off_lattice_laplace.contains(laplace(p.second, g)) ? 1u : 0u;
            off += off_lattice_gaussian.contains(gaussian(p.first, g)) ? 1u : 0u;
            off += off_lattice_gaussian.contains(gaussian(p.second, g)) ? 1u : 0u;
        }
        CHECK(off == 0);
    }
}

TEST_CASE("attack 2: precision events catch the naive Laplace on 0/1 and 2^-20/2^50; dpkit's noise keeps one support",
          "[audit][attack]") {
    precision_attack(100000);
}
TEST_CASE("attack 2 at 10^7 draws per input", "[audit][attack][slow]") { precision_attack(10000000); }

// ---- 3. Gaussian samplers (Jin et al. 2022) ----------------------------------

void gaussian_attack(std::uint64_t samples) {
    const gaussian_mechanism<double> exact(epsilon{1.0}, delta{1e-5}, l2_sensitivity{1});
    auto options = options_for(samples, 31);
    options.epsilon = 1.0;
    options.delta = 1e-5;
    const auto box = audit(box_muller_gaussian{exact.stddev()}, 0.0, 1.0, options);
    const auto normal = audit(std_normal_gaussian{exact.stddev()}, 0.0, 1.0, options);
    report("Box-Muller Gaussian", box);
    report("std::normal_distribution Gaussian", normal);
    CHECK(box.violation);
    CHECK(normal.violation);
    CHECK(box.epsilon_lower_bound > 3);
    CHECK(normal.epsilon_lower_bound > 3);

    options.epsilon.reset();
    options.delta.reset();
    const auto passes = audit(exact, 0.0, 1.0, options);
    report("dpkit Gaussian", passes);
    CHECK(passes.claimed_delta == 1e-5);
    CHECK_FALSE(passes.violation);
    const timing_safe_gaussian_mechanism<double> timing_safe(epsilon{1.0}, delta{1e-5}, l2_sensitivity{1});
    options.samples = std::min<std::uint64_t>(samples, 20000);
    const auto timing_safe_report = audit(timing_safe, 0.0, 1.0, options);
    report("dpkit timing-safe Gaussian", timing_safe_report);
    CHECK_FALSE(timing_safe_report.violation);
}

TEST_CASE("attack 3: naive Box-Muller and std::normal_distribution Gaussians are caught; dpkit's Gaussian is not",
          "[audit][attack]") {
    gaussian_attack(100000);
}
TEST_CASE("attack 3 at 10^7 draws per input", "[audit][attack][slow]") { gaussian_attack(10000000); }

// ---- 4. Data-dependent sensitivity -------------------------------------------

namespace {

/// Heights in cm; the neighbour adds one record typed as 1700 instead of 170.
const std::vector<double> heights = {162, 175, 168, 181, 159, 172, 177, 166, 170, 185,
                                     164, 179, 171, 158, 174, 169, 183, 167, 176, 173};

/// A mean with Laplace noise scaled to the spread of the leave-one-out means
/// (the data's own "sensitivity"): noise that depends on the data leaks it.
struct spread_scaled_mean {
    double epsilon;
    template <class G>
    double operator()(const std::vector<double>& data, G& g) const {
        double total = 0;
        for (double x : data) total += x;
        const double n = static_cast<double>(data.size());
        double lo = std::numeric_limits<double>::infinity();
        double hi = -lo;
        for (double x : data) {
            const double loo = (total - x) / (n - 1);
            lo = std::fmin(lo, loo);
            hi = std::fmax(hi, loo);
        }
        return naive_laplace{epsilon, hi - lo}(total / n, g);
    }
};

}  // namespace

// A dpkit release builds its noise mechanisms each time (about 300 us per
// release, ten times that under AddressSanitizer), so the default run audits
// dpkit's aggregates on 400 releases per input only; the slow case on 10^5.
void data_dependent_attack(std::uint64_t samples, std::uint64_t release_samples) {
    const auto pair = add_one(heights, 1700.0);
    auto options = options_for(samples, 41);
    options.precision_events = false;  // the leak is in the noise scale, not the float bits
    options.epsilon = 1.0;
    const auto caught = audit(spread_scaled_mean{1.0}, pair.first, pair.second, options);
    report("noise scaled to the leave-one-out spread", caught);
    CHECK(caught.violation);

    auto dpkit_mean = [](const std::vector<double>& data, auto& g) {
        bounded_mean mean(bounds{100, 250});
        mean.add(data);
        accountant<basic_composition> acct(approx_dp{1.0, 0}, "audit");
        return mean.release(acct, laplace_noise{epsilon{1.0}}, 0.95, g, "mean").value;
    };
    options.precision_events = true;
    options.samples = release_samples;
    const auto passes = audit(dpkit_mean, pair.first, pair.second, options);
    report("dpkit bounded_mean, bounds [100, 250]", passes);
    CHECK_FALSE(passes.violation);
}

TEST_CASE("attack 4: noise scaled to the data's leave-one-out spread is caught; bounded_mean with declared bounds is not",
          "[audit][attack]") {
    data_dependent_attack(20000, 400);
}
TEST_CASE("attack 4 with 10^6 (naive) and 10^5 (dpkit) draws per input", "[audit][attack][slow]") {
    data_dependent_attack(1000000, 100000);
}

// ---- 5. Float-sum sensitivity (Casacuberta et al. 2022) ----------------------

namespace {

/// Repeated-rounding neighbours for a float (binary32) sum of values clamped to
/// [-1, 1]: 4096 ones bring the running sum to 2^12; then 4096 pairs
/// (+1.25, -1.75) * 2^-12 are rounded away above 2^12 but lose 2^-12 each
/// below it. The neighbour adds one record, -1, first: the float sums then
/// differ by 2 instead of at most 1.
neighbouring_pair<double> repeated_rounding_pair() {
    const double w = 0x1p-12;
    std::vector<double> data(4096, 1.0);
    for (int i = 0; i < 4096; ++i) {
        data.push_back(1.25 * w);
        data.push_back(-1.75 * w);
    }
    neighbouring_pair<double> pair{data, data, "add -1 in front"};
    pair.second.insert(pair.second.begin(), -1.0);
    return pair;
}

/// Clamp to [-1, 1] and sum in float: the naive state.
double naive_float_sum(const std::vector<double>& data) {
    float total = 0;
    for (double x : data) total += static_cast<float>(std::fmin(1.0, std::fmax(-1.0, x)));
    return static_cast<double>(total);
}

}  // namespace

// The sums are computed once per input (a deterministic function of the data)
// and each draw releases it: the output distribution is the mechanism's.
void float_sum_attack(std::uint64_t samples, std::uint64_t release_samples) {
    const auto pair = repeated_rounding_pair();
    auto options = options_for(samples, 51);
    // dpkit's Laplace noise for sensitivity 1: only the sum's sensitivity is wrong.
    const laplace_mechanism<double> noise(epsilon{1.0}, l1_sensitivity{1});
    const auto caught = audit(noise, naive_float_sum(pair.first), naive_float_sum(pair.second), options);
    report("naive clamped float sum", caught);
    CHECK(caught.violation);

    auto state = [](const std::vector<double>& data) {
        bounded_sum<double> sum(bounds{-1, 1});
        sum.add(data);
        return sum;
    };
    auto release = [](const bounded_sum<double>& state_of_data, auto& g) {
        bounded_sum<double> sum = state_of_data;
        accountant<basic_composition> acct(approx_dp{1.0, 0}, "audit");
        return sum.release(acct, laplace_noise{epsilon{1.0}}, 0.95, g, "sum").value;
    };
    options.samples = release_samples;
    options.epsilon = 1.0;
    const auto passes = audit(release, state(pair.first), state(pair.second), options);
    report("dpkit bounded_sum", passes);
    CHECK_FALSE(passes.violation);
}

TEST_CASE("attack 5: a naive clamped float sum on repeated-rounding neighbours is caught; dpkit's exact sum is not",
          "[audit][attack]") {
    float_sum_attack(100000, 400);
}
TEST_CASE("attack 5 with 10^6 (naive) and 10^5 (dpkit) draws per input", "[audit][attack][slow]") {
    float_sum_attack(1000000, 100000);
}

// ---- 6. Randomized response ---------------------------------------------------

void randomized_response_attack(std::uint64_t samples) {
    const auto survey = randomized_response::coin_flips(rational(1, 2), rational(1, 2));
    audit_options options;
    options.samples = samples;
    options.seed = 61;
    const auto r = audit(survey, true, false, options);
    INFO("epsilon_LB " << r.epsilon_lower_bound << " for " << r.event.describe());
    CHECK(r.epsilon_lower_bound <= std::log(3.0));
    CHECK(r.epsilon_lower_bound >= 0.9 * std::log(3.0));
    CHECK_FALSE(r.violation);

    // Positive control: a survey that claims ln 3 but answers truthfully with
    // probability 3/4 (then by a fair coin): P[yes | yes] / P[yes | no] = 7.
    auto leaky = [](bool truth, auto& g) {
        const auto word = g();
        return (word & 3) != 0 ? truth : (word & 4) != 0;
    };
    options.epsilon = std::log(3.0);
    options.confidence = strict;
    const auto caught = audit(leaky, true, false, options);
    CHECK(caught.violation);
    CHECK(caught.epsilon_lower_bound > 1.5);
}

TEST_CASE("attack 6: the two-coin survey audits at most ln 3 and close to it; a leakier survey is caught",
          "[audit][attack]") {
    randomized_response_attack(100000);
}
TEST_CASE("attack 6 at 10^7 draws per input", "[audit][attack][slow]") { randomized_response_attack(10000000); }

// ---- 7. Budget ledger ----------------------------------------------------------

namespace {

/// A ledger that checks, then spends: two threads can both pass the check.
class naive_ledger {
public:
    explicit naive_ledger(double budget) : budget_(budget) {}
    template <class Hook>
    bool try_spend(double epsilon, Hook&& between_check_and_spend) {
        if (spent_.load() + epsilon > budget_) return false;
        between_check_and_spend();
        spent_.fetch_add(epsilon);
        return true;
    }
    double spent() const { return spent_.load(); }

private:
    double budget_;
    std::atomic<double> spent_{0};
};

/// The harness of the accounting tests: `threads` threads start together and
/// each makes `attempts` spends; returns how many were accepted.
template <class Spend>
int race(unsigned threads, int attempts, Spend spend) {
    std::barrier start(static_cast<std::ptrdiff_t>(threads));
    std::atomic<int> accepted{0};
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            start.arrive_and_wait();
            for (int i = 0; i < attempts; ++i) accepted += spend(i) ? 1u : 0u;
        });
    }
    for (auto& th : pool) th.join();
    return accepted.load();
}

}  // namespace

TEST_CASE("attack 7: concurrent and tiny spends never take a ledger past its budget; a check-then-spend ledger is caught",
          "[audit][attack][concurrency]") {
    constexpr unsigned threads = 4;
    SECTION("dpkit's accountant: 4 threads race for 10 slots of 0.1, then for tiny spends") {
        accountant<basic_composition> acct(approx_dp{1.0, 0}, "race");
        const int accepted = race(threads, 10, [&](int) { return acct.try_spend(pure_dp{0.1}, "slot").accepted; });
        CHECK(accepted == 10);
        CHECK(acct.spent().epsilon <= 1.0);
        const int tiny = race(threads, 1000, [&](int) { return acct.try_spend(pure_dp{1e-300}, "tiny").accepted; });
        CHECK(tiny == 0);
        CHECK(acct.spent().epsilon <= 1.0);
        CHECK(acct.ledger().size() == 10);
    }
    SECTION("dpkit's accountant: 4 threads x 2500 spends of 1e-4 fill 1 exactly, never more") {
        accountant<basic_composition> acct(approx_dp{1.0, 0}, "tiny");
        const int accepted = race(threads, 2600, [&](int) { return acct.try_spend(pure_dp{1e-4}, "x").accepted; });
        CHECK(accepted == 10000);
        CHECK(acct.spent().epsilon <= 1.0);
    }
    SECTION("positive control: a check-then-spend ledger overspends under the same race") {
        naive_ledger ledger(1.0);
        std::barrier both_checked(static_cast<std::ptrdiff_t>(threads));
        const int accepted = race(threads, 1, [&](int) { return ledger.try_spend(0.6, [&] { both_checked.arrive_and_wait(); }); });
        CHECK(accepted == static_cast<int>(threads));
        CHECK(ledger.spent() > 1.0);  // the check that passes for dpkit's accountant fails here
    }
}
