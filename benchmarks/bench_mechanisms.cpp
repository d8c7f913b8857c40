// Throughput of dpkit's secure generator and exact mechanisms beside naive,
// insecure baselines (std::mt19937_64 with std:: distributions), measured in
// the same run; the table at the end gives each ratio (ours / baseline
// throughput) and the bar it must meet.
#include <benchmark/benchmark.h>
#include <dpkit/dpkit.hpp>

#include <cstdio>
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

/// Console output as usual, plus items/s of every benchmark for the ratio table.
class ratio_reporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs) {
            const auto it = run.counters.find("items_per_second");
            if (it != run.counters.end() && run.run_type == Run::RT_Iteration) {
                rate[run.benchmark_name()] = it->second.value;
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
    struct row {
        const char* ours;
        const char* baseline;
        double bar;
    };
    const row rows[] = {{"BM_secure_generator_raw", "BM_mt19937_64_raw", 0.50},
                        {"BM_dpkit_laplace_double", "BM_naive_laplace", 0.25},
                        {"BM_dpkit_gaussian_double", "BM_naive_gaussian", 0.10}};
    std::printf("\n%-28s %-22s %14s %14s %8s %6s\n", "ours", "baseline", "ours (M/s)", "base (M/s)", "ratio", "bar");
    bool all_met = true;
    for (const auto& r : rows) {
        if (!reporter.rate.count(r.ours) || !reporter.rate.count(r.baseline)) continue;
        const double ours = reporter.rate[r.ours];
        const double base = reporter.rate[r.baseline];
        const double ratio = ours / base;
        all_met = all_met && ratio >= r.bar;
        std::printf("%-28s %-22s %14.1f %14.1f %8.2f %6.2f%s\n", r.ours, r.baseline, ours / 1e6, base / 1e6, ratio, r.bar,
                    ratio >= r.bar ? "" : "  BELOW BAR");
    }
    if (reporter.epsilon.count("BM_pld_dpsgd_1000_steps") && reporter.epsilon.count("BM_rdp_dpsgd_1000_steps")) {
        std::printf("\nDP-SGD, q = 0.01, sigma = 1.1, 1000 steps, delta = 1e-5:\n");
        std::printf("  PLD accountant: epsilon %.6f in %.3f s\n", reporter.epsilon["BM_pld_dpsgd_1000_steps"],
                    reporter.seconds["BM_pld_dpsgd_1000_steps"]);
        std::printf("  RDP accountant: epsilon %.6f in %.3f s\n", reporter.epsilon["BM_rdp_dpsgd_1000_steps"],
                    reporter.seconds["BM_rdp_dpsgd_1000_steps"]);
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
