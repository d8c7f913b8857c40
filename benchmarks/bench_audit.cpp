// The auditor's throughput (samples per second, on all cores) and the timing
// model of the Laplace samplers: the correlation between |noise| and the time
// one draw takes, for dpkit's exact sampler (data-dependent time), its
// timing-safe sampler (fixed work) and, as a positive control, a naive
// geometric loop whose time grows with |noise|.
#include <benchmark/benchmark.h>
#include <dpkit/audit.hpp>
#include <dpkit/dpkit.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

void BM_audit_laplace_count(benchmark::State& state) {
    const dpkit::laplace_mechanism<std::int64_t> m(dpkit::epsilon{1.0}, dpkit::l1_sensitivity{1});
    dpkit::audit_options options;
    options.samples = static_cast<std::uint64_t>(state.range(0));
    double rate = 0;
    double bound = 0;
    for (auto _ : state) {
        const auto r = dpkit::audit(m, std::int64_t{0}, std::int64_t{1}, options);  // secure_generator per thread
        rate = r.samples_per_second;
        bound = r.epsilon_lower_bound;
        state.counters["threads"] = r.threads;
    }
    state.counters["samples_per_s"] = rate;
    state.counters["epsilon_LB"] = bound;
    state.SetItemsProcessed(state.iterations() * 2 * state.range(0));
}
BENCHMARK(BM_audit_laplace_count)->Arg(1 << 20)->Unit(benchmark::kMillisecond)->UseRealTime();

// Times `draws` single draws of |sample(g)| and reports the Pearson correlation
// between |noise| and nanoseconds (the slowest 0.1% of draws, mostly
// preemptions, are dropped), and the mean time of small and large |noise|.
template <class Sample>
void timing_correlation(benchmark::State& state, Sample sample) {
    const std::size_t draws = 200000;
    std::vector<double> noise(draws);
    std::vector<double> nanos(draws);
    for (auto _ : state) {
        for (std::size_t i = 0; i < draws; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            const std::int64_t z = sample();
            const auto t1 = std::chrono::steady_clock::now();
            noise[i] = static_cast<double>(z < 0 ? -z : z);
            nanos[i] = std::chrono::duration<double, std::nano>(t1 - t0).count();
        }
    }
    std::vector<double> sorted = nanos;
    std::sort(sorted.begin(), sorted.end());
    const double cutoff = sorted[draws - draws / 1000 - 1];
    double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    double small_t = 0, small_n = 0, large_t = 0, large_n = 0;
    for (std::size_t i = 0; i < draws; ++i) {
        if (nanos[i] > cutoff) continue;
        const double x = noise[i];
        const double y = nanos[i];
        n += 1;
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
        if (x <= 2) {
            small_t += y;
            small_n += 1;
        } else if (x >= 30) {
            large_t += y;
            large_n += 1;
        }
    }
    const double cov = sxy / n - (sx / n) * (sy / n);
    const double vx = sxx / n - (sx / n) * (sx / n);
    const double vy = syy / n - (sy / n) * (sy / n);
    state.counters["corr_abs_noise_time"] = cov / std::sqrt(vx * vy);
    state.counters["ns_abs_noise_le_2"] = small_n > 0 ? small_t / small_n : 0;
    state.counters["ns_abs_noise_ge_30"] = large_n > 0 ? large_t / large_n : 0;
    state.SetItemsProcessed(static_cast<std::int64_t>(draws) * state.iterations());
}

// Scale 10 on a count (epsilon 0.1): |noise| spreads over 0..100.
void BM_timing_laplace_exact(benchmark::State& state) {
    dpkit::secure_generator g;
    const dpkit::laplace_mechanism<std::int64_t> m(dpkit::epsilon{0.1}, dpkit::l1_sensitivity{1});
    timing_correlation(state, [&] { return m(std::int64_t{0}, g); });
}
BENCHMARK(BM_timing_laplace_exact)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_timing_laplace_timing_safe(benchmark::State& state) {
    dpkit::secure_generator g;
    const dpkit::timing_safe_laplace_mechanism<std::int64_t> m(dpkit::epsilon{0.1}, dpkit::l1_sensitivity{1});
    timing_correlation(state, [&] { return m(std::int64_t{0}, g); });
}
BENCHMARK(BM_timing_laplace_timing_safe)->Iterations(1)->Unit(benchmark::kMillisecond);

// Positive control: geometric noise by a loop of Bernoulli trials, one per unit of |noise|.
void BM_timing_naive_geometric_loop(benchmark::State& state) {
    std::mt19937_64 g(42);
    std::bernoulli_distribution more(std::exp(-0.1));
    std::bernoulli_distribution sign(0.5);
    timing_correlation(state, [&] {
        std::int64_t k = 0;
        while (more(g)) ++k;
        return sign(g) ? k : -k;
    });
}
BENCHMARK(BM_timing_naive_geometric_loop)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
