// Quantiles: quantile_tree accumulation throughput against a plain double sum
// in the same binary, and the rank error of the tree against the in-memory
// approximate_quantiles at the same epsilon on the same data; describe() of a
// 4-column table (rows/s, accumulation and release) beside the same plain sum
// over the same values.
#include <benchmark/benchmark.h>
#include <dpkit/aggregates.hpp>
#include <dpkit/dpkit.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace {

constexpr std::size_t chunk = 1000000;
constexpr int passes = 100;  // 1e8 values per iteration

const std::vector<double>& chunk_values() {
    static const std::vector<double> v = [] {
        std::mt19937_64 rng(1);
        std::uniform_real_distribution<double> u(-10, 110);
        std::vector<double> out(chunk);
        for (auto& x : out) x = u(rng);
        return out;
    }();
    return v;
}

void BM_double_sum_baseline(benchmark::State& state) {
    const auto& v = chunk_values();
    for (auto _ : state) {
        double sum = 0;
        for (int p = 0; p < passes; ++p) {
            for (double x : v) sum += x;
        }
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(chunk) * passes);
}
BENCHMARK(BM_double_sum_baseline)->Unit(benchmark::kMillisecond);

void BM_quantile_tree_add(benchmark::State& state) {
    const auto& v = chunk_values();
    for (auto _ : state) {
        dpkit::quantile_tree t(dpkit::bounds{0, 100});
        for (int p = 0; p < passes; ++p) t.add(v);
        benchmark::DoNotOptimize(t);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(chunk) * passes);
}
BENCHMARK(BM_quantile_tree_add)->Unit(benchmark::kMillisecond);

// 1e5 values from a two-component mixture inside [0, 100].
const std::vector<double>& mixture() {
    static const std::vector<double> v = [] {
        std::mt19937_64 rng(2);
        std::normal_distribution<double> a(30, 5), b(70, 10);
        std::bernoulli_distribution pick(0.4);
        std::vector<double> out(100000);
        for (auto& x : out) x = std::clamp(pick(rng) ? a(rng) : b(rng), 0.0, 100.0);
        return out;
    }();
    return v;
}

const std::vector<double> deciles = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
constexpr int repetitions = 10;

// Mean and largest |rank(v) - q n| over the deciles and the repetitions.
struct rank_error {
    double sum = 0;
    double max = 0;
    int count = 0;
    void add(const std::vector<double>& sorted, double q, double v) {
        const double rank = static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), v) - sorted.begin());
        const double e = std::fabs(rank - q * static_cast<double>(sorted.size()));
        sum += e;
        max = std::max(max, e);
        ++count;
    }
    void report(benchmark::State& state) const {
        state.counters["mean_rank_error"] = sum / count;
        state.counters["max_rank_error"] = max;
    }
};

void BM_rank_error_quantile_tree(benchmark::State& state) {
    const double eps = static_cast<double>(state.range(0)) / 1000;
    auto sorted = mixture();
    std::sort(sorted.begin(), sorted.end());
    dpkit::secure_generator g;
    rank_error err;
    for (auto _ : state) {
        for (int r = 0; r < repetitions; ++r) {
            dpkit::accountant<dpkit::basic_composition> acct(dpkit::approx_dp{eps, 0}, "bench");
            dpkit::quantile_tree t(dpkit::bounds{0, 100});
            t.add(mixture());
            const auto out = t.release(acct, dpkit::laplace_noise{dpkit::epsilon{eps}}, 0.95, g, "deciles", deciles);
            for (const auto& e : out.value) err.add(sorted, e.quantile, e.value);
        }
    }
    err.report(state);
}
BENCHMARK(BM_rank_error_quantile_tree)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_rank_error_approximate_quantiles(benchmark::State& state) {
    const double eps = static_cast<double>(state.range(0)) / 1000;
    auto sorted = mixture();
    std::sort(sorted.begin(), sorted.end());
    dpkit::secure_generator g;
    const dpkit::approximate_quantiles m(dpkit::bounds{0, 100}, deciles, dpkit::epsilon{eps});
    rank_error err;
    for (auto _ : state) {
        for (int r = 0; r < repetitions; ++r) {
            const auto out = m(mixture(), g);
            for (std::size_t i = 0; i < deciles.size(); ++i) err.add(sorted, deciles[i], out[i]);
        }
    }
    err.report(state);
}
BENCHMARK(BM_rank_error_approximate_quantiles)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(1);

// describe(): 10^7 rows x 4 numeric columns (the chunk reused as each column,
// 10 passes), accumulated column by column, then released once.
constexpr int describe_passes = 10;
void BM_describe_4_columns(benchmark::State& state) {
    const auto& v = chunk_values();
    dpkit::insecure_seeded_generator g(3);
    for (auto _ : state) {
        dpkit::table_describer t({dpkit::numeric_column{"a", dpkit::bounds{0, 100}}, dpkit::numeric_column{"b", dpkit::bounds{-10, 110}},
                                  dpkit::numeric_column{"c", dpkit::bounds{0, 1000}}, dpkit::numeric_column{"d", dpkit::bounds{50, 60}}});
        for (int p = 0; p < describe_passes; ++p) {
            for (std::size_t c = 0; c < 4; ++c) t.add(c, v);
        }
        if (state.range(0) == 1) {
            dpkit::accountant<dpkit::basic_composition> acct(dpkit::approx_dp{1, 0});
            benchmark::DoNotOptimize(t.release(acct, dpkit::laplace_noise{dpkit::epsilon{1}}, 0.95, g));
        }
        benchmark::DoNotOptimize(t);
    }
    const auto rows = state.iterations() * static_cast<std::int64_t>(chunk) * describe_passes;
    state.SetItemsProcessed(rows);
    state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_describe_4_columns)->Arg(0)->Arg(1)->ArgName("release")->Unit(benchmark::kMillisecond);

// The same 4 x 10^7 values summed plainly: the memory-bound baseline of describe.
void BM_describe_baseline_4_sums(benchmark::State& state) {
    const auto& v = chunk_values();
    for (auto _ : state) {
        double sum = 0;
        for (int p = 0; p < describe_passes * 4; ++p) {
            for (double x : v) sum += x;
        }
        benchmark::DoNotOptimize(sum);
    }
    const auto rows = state.iterations() * static_cast<std::int64_t>(chunk) * describe_passes;
    state.SetItemsProcessed(rows);
    state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_describe_baseline_4_sums)->Unit(benchmark::kMillisecond);

}  // namespace
