// Throughput of dpkit's aggregates over one large array of doubles in [0, 100]
// (10^8 values unless DPKIT_BENCH_VALUES says otherwise), beside the fastest
// plain double sum over the same array, all measured in the same run. The table
// at the end gives each ratio (ours / baseline throughput) as the median over
// the repetitions, with the smallest and largest per-repetition ratio, and the
// bar it must meet. Run with e.g.
//   dpkit_bench_aggregates --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true
// so that a changing load on a shared machine hits ours and the baseline alike.
#include <benchmark/benchmark.h>
#include <dpkit/aggregates.hpp>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<std::uint64_t> allocations{0};

}  // namespace

// Every allocation of the process is counted, to show that add(range) copies nothing.
void* operator new(std::size_t n) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // malloc'd by the operator new above
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

const std::vector<double>& values() {
    static const std::vector<double> v = [] {
        std::size_t n = 100'000'000;
        if (const char* env = std::getenv("DPKIT_BENCH_VALUES")) n = std::strtoull(env, nullptr, 10);
        std::vector<double> out(n);
        std::mt19937_64 g(42);
        std::uniform_real_distribution<double> u(0, 100);
        for (auto& x : out) x = u(g);
        return out;
    }();
    return v;
}

void set_rate(benchmark::State& state) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(values().size()));
}

// --- Baselines: plain double sums at memory speed ---------------------------

void BM_plain_sum_4_accumulators(benchmark::State& state) {
    const auto& v = values();
    for (auto _ : state) {
        double a = 0, b = 0, c = 0, d = 0;
        std::size_t i = 0;
        for (; i + 4 <= v.size(); i += 4) {
            a += v[i];
            b += v[i + 1];
            c += v[i + 2];
            d += v[i + 3];
        }
        for (; i < v.size(); ++i) a += v[i];
        benchmark::DoNotOptimize(a + b + c + d);
    }
    set_rate(state);
}
BENCHMARK(BM_plain_sum_4_accumulators)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_plain_sum_vector_lanes(benchmark::State& state) {
    // Eight lanes in four SIMD registers (GCC/Clang vector extensions).
    typedef double f64x2 __attribute__((vector_size(16)));
    const auto& v = values();
    for (auto _ : state) {
        f64x2 a{}, b{}, c{}, d{};
        std::size_t i = 0;
        for (; i + 8 <= v.size(); i += 8) {
            f64x2 x[4];
            std::memcpy(x, v.data() + i, sizeof x);
            a += x[0];
            b += x[1];
            c += x[2];
            d += x[3];
        }
        const f64x2 s = (a + b) + (c + d);
        double total = s[0] + s[1];
        for (; i < v.size(); ++i) total += v[i];
        benchmark::DoNotOptimize(total);
    }
    set_rate(state);
}
BENCHMARK(BM_plain_sum_vector_lanes)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_plain_sum_std_reduce(benchmark::State& state) {
    const auto& v = values();
    for (auto _ : state) benchmark::DoNotOptimize(std::reduce(v.begin(), v.end(), 0.0));
    set_rate(state);
}
BENCHMARK(BM_plain_sum_std_reduce)->UseRealTime()->Unit(benchmark::kMillisecond);

// --- dpkit ------------------------------------------------------------------

template <class Aggregate>
void run_aggregate(benchmark::State& state, const Aggregate& empty) {
    const std::span<const double> v(values());
    std::uint64_t allocated = 0;
    for (auto _ : state) {
        Aggregate a = empty;
        const std::uint64_t before = allocations.load(std::memory_order_relaxed);
        a.add(v);
        allocated += allocations.load(std::memory_order_relaxed) - before;
        benchmark::DoNotOptimize(a);
    }
    set_rate(state);
    state.counters["allocs_in_add"] = static_cast<double>(allocated);
    state.counters["state_bytes"] = static_cast<double>(sizeof(Aggregate));
}

void BM_bounded_mean(benchmark::State& state) { run_aggregate(state, dpkit::bounded_mean(dpkit::bounds{0, 100})); }
BENCHMARK(BM_bounded_mean)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_bounded_sum(benchmark::State& state) { run_aggregate(state, dpkit::bounded_sum<double>(dpkit::bounds{0, 100})); }
BENCHMARK(BM_bounded_sum)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_bounded_variance(benchmark::State& state) { run_aggregate(state, dpkit::bounded_variance(dpkit::bounds{0, 100})); }
BENCHMARK(BM_bounded_variance)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_bounded_mean_bounds_of_both_signs(benchmark::State& state) {
    run_aggregate(state, dpkit::bounded_mean(dpkit::bounds{-50, 150}));
}
BENCHMARK(BM_bounded_mean_bounds_of_both_signs)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_bounded_mean_nan_dropped(benchmark::State& state) {
    // One NaN in every 1000 values (missing data): blocks holding one take the
    // kernel that drops NaN.
    static const std::vector<double> with_nan = [] {
        std::vector<double> v = values();
        for (std::size_t i = 0; i < v.size(); i += 1000) v[i] = std::nan("");
        return v;
    }();
    const dpkit::bounded_mean empty(dpkit::bounds{0, 100}, dpkit::nan_policy::drop);
    for (auto _ : state) {
        dpkit::bounded_mean a = empty;
        a.add(with_nan);
        benchmark::DoNotOptimize(a);
    }
    set_rate(state);
}
BENCHMARK(BM_bounded_mean_nan_dropped)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_bounded_mean_value_by_value(benchmark::State& state) {
    const auto& v = values();
    for (auto _ : state) {
        dpkit::bounded_mean a(dpkit::bounds{0, 100});
        for (double x : v) a.add(x);
        benchmark::DoNotOptimize(a);
    }
    set_rate(state);
}
BENCHMARK(BM_bounded_mean_value_by_value)->UseRealTime()->Unit(benchmark::kMillisecond);

// count.add(range) of a sized range adds its size: O(1), whatever the length.
void BM_count(benchmark::State& state) { run_aggregate(state, dpkit::count()); }
BENCHMARK(BM_count)->UseRealTime()->Unit(benchmark::kMillisecond);

// One accumulator per thread over a contiguous slice each, then merged.
void BM_bounded_mean_threads(benchmark::State& state) {
    const auto threads = static_cast<std::size_t>(state.range(0));
    const std::span<const double> v(values());
    const dpkit::bounded_mean empty(dpkit::bounds{0, 100});
    for (auto _ : state) {
        std::vector<dpkit::bounded_mean> parts(threads, empty);
        const std::size_t slice = v.size() / threads;
        const auto work = [&](std::size_t i) {
            parts[i].add(v.subspan(i * slice, i + 1 == threads ? v.size() - i * slice : slice));
        };
        std::vector<std::thread> pool;
        for (std::size_t i = 1; i < threads; ++i) pool.emplace_back(work, i);
        work(0);
        for (auto& t : pool) t.join();
        for (std::size_t i = 1; i < threads; ++i) parts[0].merge(parts[i]);
        benchmark::DoNotOptimize(parts[0]);
    }
    set_rate(state);
}
BENCHMARK(BM_bounded_mean_threads)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// Histograms over the same values(): 100 equally spaced bins over [0, 100]
// (bin found by arithmetic) and 100 geometric bins (binary search).
std::vector<double> edges_equal() {
    std::vector<double> e;
    for (int i = 0; i <= 100; ++i) e.push_back(i);
    return e;
}
std::vector<double> edges_geometric() {
    std::vector<double> e{0};
    for (int i = 0; i < 100; ++i) e.push_back(100 * std::pow(1.05, i - 99));
    e.back() = 100;
    return e;
}
void BM_histogram_100_bins(benchmark::State& state) { run_aggregate(state, dpkit::histogram(edges_equal())); }
BENCHMARK(BM_histogram_100_bins)->UseRealTime()->Unit(benchmark::kMillisecond);
void BM_histogram_100_geometric_bins(benchmark::State& state) { run_aggregate(state, dpkit::histogram(edges_geometric())); }
BENCHMARK(BM_histogram_100_geometric_bins)->UseRealTime()->Unit(benchmark::kMillisecond);

/// Console output as usual, plus items/s (wall-clock) of every repetition for the ratio table.
class ratio_reporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override {
        for (const auto& run : runs) {
            const auto it = run.counters.find("items_per_second");
            if (it != run.counters.end() && run.run_type == Run::RT_Iteration) {
                std::string name = run.benchmark_name();
                const auto suffix = name.find("/real_time");
                if (suffix != std::string::npos) name.erase(suffix);
                rates[name].push_back(it->second.value);
            }
        }
        ConsoleReporter::ReportRuns(runs);
    }
    std::map<std::string, std::vector<double>> rates;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    ratio_reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();

    // The baseline is the fastest plain sum, repetition by repetition.
    const char* baselines[] = {"BM_plain_sum_4_accumulators", "BM_plain_sum_vector_lanes", "BM_plain_sum_std_reduce"};
    std::vector<double> fastest;
    for (const char* b : baselines) {
        const auto it = reporter.rates.find(b);
        if (it == reporter.rates.end()) continue;
        if (fastest.size() < it->second.size()) fastest.resize(it->second.size(), 0.0);
        for (std::size_t i = 0; i < it->second.size(); ++i) fastest[i] = std::max(fastest[i], it->second[i]);
    }
    struct row {
        const char* ours;
        double bar;  // 0: reported, no bar
    };
    const row rows[] = {{"BM_bounded_mean", 0.40},
                        {"BM_bounded_sum", 0.40},
                        {"BM_bounded_variance", 0},
                        {"BM_bounded_mean_bounds_of_both_signs", 0},
                        {"BM_bounded_mean_nan_dropped", 0},
                        {"BM_bounded_mean_value_by_value", 0},
                        {"BM_histogram_100_bins", 0.25},
                        {"BM_histogram_100_geometric_bins", 0}};
    std::printf("\n%zu values in [0, 100]; baseline: the fastest plain double sum of each repetition\n", values().size());
    std::printf("%-38s %12s %12s %8s %15s %6s\n", "ours", "ours (M/s)", "base (M/s)", "ratio", "ratio min-max", "bar");
    bool all_met = true;
    for (const auto& r : rows) {
        const auto it = reporter.rates.find(r.ours);
        if (it == reporter.rates.end() || fastest.empty()) continue;
        const std::vector<double>& ours = it->second;
        std::vector<double> ratios;
        for (std::size_t i = 0; i < ours.size() && i < fastest.size(); ++i) ratios.push_back(ours[i] / fastest[i]);
        const double ratio = median(ratios);
        const bool met = r.bar == 0 || ratio >= r.bar;
        all_met = all_met && met;
        std::printf("%-38s %12.1f %12.1f %8.2f %7.2f-%-7.2f", r.ours, median(ours) / 1e6, median(fastest) / 1e6, ratio,
                    *std::min_element(ratios.begin(), ratios.end()), *std::max_element(ratios.begin(), ratios.end()));
        if (r.bar > 0) std::printf(" %6.2f%s", r.bar, met ? "" : "  BELOW BAR");
        std::printf("\n");
    }
    if (reporter.rates.count("BM_count")) {
        std::printf("%-38s %12.3g (O(1) per sized range: count adds its size)\n", "BM_count", median(reporter.rates["BM_count"]) / 1e6);
    }
    const std::string one = "BM_bounded_mean_threads/1";
    const std::string two = "BM_bounded_mean_threads/2";
    if (reporter.rates.count(one) && reporter.rates.count(two)) {
        std::vector<double> speedups;
        const auto& a = reporter.rates[one];
        const auto& b = reporter.rates[two];
        for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) speedups.push_back(b[i] / a[i]);
        std::printf("\nbounded_mean, one accumulator per thread then merge: 1 thread %.1f M/s, 2 threads %.1f M/s, "
                    "speed-up %.2f (min %.2f, max %.2f)\n",
                    median(a) / 1e6, median(b) / 1e6, median(speedups), *std::min_element(speedups.begin(), speedups.end()),
                    *std::max_element(speedups.begin(), speedups.end()));
    }
    std::printf("state sizes (bytes): count %zu, bounded_sum %zu, bounded_mean %zu, bounded_variance %zu; "
                "see allocs_in_add (0: the input is not copied)\n",
                sizeof(dpkit::count), sizeof(dpkit::bounded_sum<double>), sizeof(dpkit::bounded_mean),
                sizeof(dpkit::bounded_variance));
    // Timing never decides the exit status (a loaded machine is not a failure).
    std::printf("%s\n", all_met ? "all bars met" : "some bars NOT met");
    return 0;
}
