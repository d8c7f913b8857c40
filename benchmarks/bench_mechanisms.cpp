// Throughput of dpkit's secure generator and exact mechanisms beside naive,
// insecure baselines (std::mt19937_64 with std:: distributions), measured in
// the same run; the table at the end gives each ratio (ours / baseline
// throughput) and the bar it must meet. On a shared machine, run with
// --benchmark_repetitions=N: the table then uses each benchmark's median.
#include <benchmark/benchmark.h>
#include <dpkit/dpkit.hpp>

#include <algorithm>
#include <cstdio>
#include <span>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

void BM_mt19937_64_raw(benchmark::State& state) {
    std::mt19937_64 g(42);
    for (auto _ : state) benchmark::DoNotOptimize(g());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_mt19937_64_raw);

void BM_secure_generator_raw(benchmark::State& state) {
    dpkit::secure_generator g;
    for (auto _ : state) benchmark::DoNotOptimize(g());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_secure_generator_raw);

void BM_naive_laplace(benchmark::State& state) {
    // The textbook, insecure way: x + sign * Exp(1/b) in floating point.
    std::mt19937_64 g(42);
    std::exponential_distribution<double> exponential(1.0);  // scale b = 1
    std::bernoulli_distribution sign(0.5);
    double x = 10.0;
    for (auto _ : state) {
        const double e = exponential(g);
        benchmark::DoNotOptimize(x + (sign(g) ? e : -e));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_naive_laplace);

void BM_dpkit_laplace_double(benchmark::State& state) {
    dpkit::secure_generator g;
    const dpkit::laplace_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::l1_sensitivity{1.0});  // scale 1
    for (auto _ : state) benchmark::DoNotOptimize(m(10.0, g));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_dpkit_laplace_double);

void BM_naive_gaussian(benchmark::State& state) {
    std::mt19937_64 g(42);
    std::normal_distribution<double> normal(0.0, 3.73);
    double x = 10.0;
    for (auto _ : state) benchmark::DoNotOptimize(x + normal(g));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_naive_gaussian);

void BM_dpkit_gaussian_double(benchmark::State& state) {
    dpkit::secure_generator g;
    const dpkit::gaussian_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::delta{1e-5}, dpkit::l2_sensitivity{1.0});
    for (auto _ : state) benchmark::DoNotOptimize(m(10.0, g));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_dpkit_gaussian_double);

// Batch: one bit pool for a whole span (any length) of noise.
constexpr std::size_t batch = 4096;

void BM_dpkit_laplace_double_batch(benchmark::State& state) {
    dpkit::secure_generator g;
    const dpkit::laplace_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::l1_sensitivity{1.0});
    std::vector<double> out(batch);
    for (auto _ : state) {
        m.fill_noise(std::span<double>(out), g);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(BM_dpkit_laplace_double_batch);

void BM_dpkit_gaussian_double_batch(benchmark::State& state) {
    dpkit::secure_generator g;
    const dpkit::gaussian_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::delta{1e-5}, dpkit::l2_sensitivity{1.0});
    std::vector<double> out(batch);
    for (auto _ : state) {
        m.fill_noise(std::span<double>(out), g);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(BM_dpkit_gaussian_double_batch);

void BM_naive_gaussian_batch(benchmark::State& state) {
    std::mt19937_64 g(42);
    std::normal_distribution<double> normal(0.0, 3.73);
    std::vector<double> out(batch);
    for (auto _ : state) {
        for (double& v : out) v = normal(g);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
}
BENCHMARK(BM_naive_gaussian_batch);

// DP-SGD-sized: Gaussian noise for 10^8 coordinates (one mechanism of dimension
// 10^8, calibrated by zCDP), split over the threads, each with its own secure
// generator, written through a reused 64 Ki-coordinate buffer per thread.
void BM_dpkit_gaussian_1e8(benchmark::State& state) {
    constexpr std::size_t total = 100000000;
    static const dpkit::gaussian_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::delta{1e-5}, dpkit::l2_sensitivity{1.0},
                                                     dpkit::dimension{total});
    dpkit::secure_generator g;
    std::vector<double> buffer(std::size_t{1} << 16);
    const std::size_t mine = total / static_cast<std::size_t>(state.threads());
    for (auto _ : state) {
        for (std::size_t done = 0; done < mine; done += buffer.size()) {
            const std::size_t n = std::min(buffer.size(), mine - done);
            m.fill_noise(std::span<double>(buffer.data(), n), g);
            benchmark::DoNotOptimize(buffer.data());
        }
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(mine));
}
BENCHMARK(BM_dpkit_gaussian_1e8)->Iterations(1)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_dpkit_laplace_double_timing_safe(benchmark::State& state) {
    dpkit::secure_generator g;
    const dpkit::timing_safe_laplace_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::l1_sensitivity{1.0});
    for (auto _ : state) benchmark::DoNotOptimize(m(10.0, g));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_dpkit_laplace_double_timing_safe);

void BM_dpkit_gaussian_double_timing_safe(benchmark::State& state) {
    dpkit::secure_generator g;
    const dpkit::timing_safe_gaussian_mechanism<double> m(dpkit::epsilon{1.0}, dpkit::delta{1e-5},
                                                          dpkit::l2_sensitivity{1.0});
    for (auto _ : state) benchmark::DoNotOptimize(m(10.0, g));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_dpkit_gaussian_double_timing_safe);

// Construction: the geometric tables are computed once per distinct scale and
// shared, so a new scale pays for them and a repeated one does not.
void BM_laplace_construction_new_scale(benchmark::State& state) {
    double eps = 1.0;
    for (auto _ : state) {
        eps = eps < 2 ? eps + 0x1p-20 : 1.0;  // a scale not seen before
        const dpkit::laplace_mechanism<double> m(dpkit::epsilon{eps}, dpkit::l1_sensitivity{1.0});
        benchmark::DoNotOptimize(m.step());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_laplace_construction_new_scale)->Unit(benchmark::kMicrosecond);

void BM_laplace_construction_same_scale(benchmark::State& state) {
    for (auto _ : state) {
        const dpkit::laplace_mechanism<double> m(dpkit::epsilon{0.5}, dpkit::l1_sensitivity{1.0});
        benchmark::DoNotOptimize(m.step());
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_laplace_construction_same_scale)->Unit(benchmark::kMicrosecond);

void BM_dpkit_laplace_int64(benchmark::State& state) {
    dpkit::secure_generator g;
    const dpkit::laplace_mechanism<std::int64_t> m(dpkit::epsilon{1.0}, dpkit::l1_sensitivity{1.0});
    for (auto _ : state) benchmark::DoNotOptimize(m(std::int64_t{10}, g));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_dpkit_laplace_int64);

void BM_dpkit_randomized_response(benchmark::State& state) {
    dpkit::secure_generator g;
    const auto rr = dpkit::randomized_response::coin_flips(dpkit::rational(1, 2), dpkit::rational(1, 2));
    bool truth = true;
    for (auto _ : state) benchmark::DoNotOptimize(rr(truth, g));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_dpkit_randomized_response);

// Selection over scores 0..n-1 (items: candidates scored per second).
std::vector<std::int64_t> ramp(std::size_t n) {
    std::vector<std::int64_t> q(n);
    for (std::size_t i = 0; i < n; ++i) q[i] = static_cast<std::int64_t>(i);
    return q;
}

void BM_select_permute_and_flip_1000(benchmark::State& state) {
    dpkit::secure_generator g;
    const auto q = ramp(1000);
    const dpkit::exponential_mechanism m(dpkit::epsilon{1.0}, dpkit::score_sensitivity{1.0});
    for (auto _ : state) benchmark::DoNotOptimize(m(std::span<const std::int64_t>(q), g));
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_select_permute_and_flip_1000);

void BM_select_noisy_max_laplace_1000(benchmark::State& state) {
    dpkit::secure_generator g;
    const auto q = ramp(1000);
    const dpkit::report_noisy_max m(dpkit::epsilon{1.0}, dpkit::score_sensitivity{1.0});
    for (auto _ : state) benchmark::DoNotOptimize(m(std::span<const std::int64_t>(q), g));
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_select_noisy_max_laplace_1000);

void BM_select_noisy_max_geometric_1000(benchmark::State& state) {
    dpkit::secure_generator g;
    const auto q = ramp(1000);
    const dpkit::report_noisy_max m(dpkit::epsilon{1.0}, dpkit::score_sensitivity{1.0}, dpkit::selection_noise::geometric);
    for (auto _ : state) benchmark::DoNotOptimize(m(std::span<const std::int64_t>(q), g));
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_select_noisy_max_geometric_1000);

void BM_select_top10_peeling_10000(benchmark::State& state) {
    dpkit::secure_generator g;
    const auto q = ramp(10000);
    const dpkit::top_k_selection m(dpkit::epsilon{1.0}, dpkit::score_sensitivity{1.0}, dpkit::selections{10});
    for (auto _ : state) benchmark::DoNotOptimize(m(std::span<const std::int64_t>(q), g));
    state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_select_top10_peeling_10000);

void BM_select_top10_oneshot_10000(benchmark::State& state) {
    dpkit::secure_generator g;
    const auto q = ramp(10000);
    const dpkit::oneshot_top_k m(dpkit::epsilon{1.0}, dpkit::score_sensitivity{1.0}, dpkit::selections{10});
    for (auto _ : state) benchmark::DoNotOptimize(m(std::span<const std::int64_t>(q), g));
    state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_select_top10_oneshot_10000);

/// Console output as usual, plus items/s of every benchmark for the ratio table.
class ratio_reporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs) {
            const auto it = run.counters.find("items_per_second");
            if (it != run.counters.end() && run.run_type == Run::RT_Iteration) {
                rate[run.benchmark_name()] = it->second.value;
            }
            // With --benchmark_repetitions, the table uses the median of the repetitions.
            if (it != run.counters.end() && run.run_type == Run::RT_Aggregate && run.aggregate_name == "median") {
                median[run.run_name.str()] = it->second.value;
            }
            const auto eps = run.counters.find("epsilon");
            if (eps != run.counters.end()) {
                epsilon[run.run_name.function_name] = eps->second.value;
                seconds[run.run_name.function_name] = run.GetAdjustedRealTime() * 1e-3;  // reported in ms
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }
    std::map<std::string, double> rate;
    std::map<std::string, double> median;
    std::map<std::string, double> epsilon;
    std::map<std::string, double> seconds;
};

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    ratio_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    for (const auto& [name, value] : reporter.median) reporter.rate[name] = value;
    struct row {
        const char* ours;
        const char* baseline;
        double bar;
    };
    // bar 0: reported, no target.
    const row rows[] = {{"BM_secure_generator_raw", "BM_mt19937_64_raw", 0.50},
                        {"BM_dpkit_laplace_double", "BM_naive_laplace", 1.00},
                        {"BM_dpkit_gaussian_double", "BM_naive_gaussian", 0.50},
                        {"BM_dpkit_laplace_double_batch", "BM_naive_laplace", 1.00},
                        {"BM_dpkit_gaussian_double_batch", "BM_naive_gaussian_batch", 0.50},
                        {"BM_dpkit_laplace_double_timing_safe", "BM_naive_laplace", 0.00},
                        {"BM_dpkit_gaussian_double_timing_safe", "BM_naive_gaussian", 0.00},
                        {"BM_select_noisy_max_laplace_1000", "BM_select_permute_and_flip_1000", 0.00},
                        {"BM_select_noisy_max_geometric_1000", "BM_select_permute_and_flip_1000", 0.00},
                        {"BM_select_top10_oneshot_10000", "BM_select_top10_peeling_10000", 0.00}};
    std::printf("\n%-36s %-24s %12s %12s %8s %6s\n", "ours", "baseline", "ours (M/s)", "base (M/s)", "ratio", "bar");
    bool all_met = true;
    for (const auto& r : rows) {
        if (!reporter.rate.count(r.ours) || !reporter.rate.count(r.baseline)) continue;
        const double ours = reporter.rate[r.ours];
        const double base = reporter.rate[r.baseline];
        const double ratio = ours / base;
        all_met = all_met && ratio >= r.bar;
        std::printf("%-36s %-24s %12.2f %12.1f %8.3f %6.2f%s\n", r.ours, r.baseline, ours / 1e6, base / 1e6, ratio, r.bar,
                    ratio >= r.bar ? "" : "  BELOW BAR");
    }
    if (reporter.epsilon.count("BM_pld_dpsgd_1000_steps") && reporter.epsilon.count("BM_rdp_dpsgd_1000_steps")) {
        std::printf("\nDP-SGD, q = 0.01, sigma = 1.1, 1000 steps, delta = 1e-5:\n");
        std::printf("  PLD accountant: epsilon %.6f in %.3f s\n", reporter.epsilon["BM_pld_dpsgd_1000_steps"],
                    reporter.seconds["BM_pld_dpsgd_1000_steps"]);
        std::printf("  RDP accountant: epsilon %.6f in %.3f s\n", reporter.epsilon["BM_rdp_dpsgd_1000_steps"],
                    reporter.seconds["BM_rdp_dpsgd_1000_steps"]);
    }
    const std::string g1 = "BM_dpkit_gaussian_1e8/iterations:1/real_time/threads:1";
    const std::string g2 = "BM_dpkit_gaussian_1e8/iterations:1/real_time/threads:2";
    if (reporter.rate.count(g1) && reporter.rate.count(g2)) {
        std::printf("\nGaussian noise for 1e8 coordinates: 1 thread %.2f s (%.1f M/s), 2 threads %.2f s (%.1f M/s)\n",
                    1e8 / reporter.rate[g1], reporter.rate[g1] / 1e6, 1e8 / reporter.rate[g2], reporter.rate[g2] / 1e6);
    }
    const std::string one = "BM_try_spend/iterations:200000/real_time/threads:1";
    const std::string two = "BM_try_spend/iterations:200000/real_time/threads:2";
    if (reporter.rate.count(one) && reporter.rate.count(two)) {
        std::printf("\ntry_spend: 1 thread %.2f M/s, 2 threads contending %.2f M/s in total (ratio %.2f)\n",
                    reporter.rate[one] / 1e6, reporter.rate[two] / 1e6, reporter.rate[two] / reporter.rate[one]);
    }
    // Timing never decides the exit status (a loaded machine is not a failure);
    // the table says which bars were met.
    std::printf("%s\n", all_met ? "all bars met" : "some bars NOT met");
    return 0;
}
