// Accounting benchmarks: PLD composition of 1000 DP-SGD steps (time, and its
// epsilon beside the RDP accountant's epsilon in the same run); Gaussian PLD
// self-composition, PLD calibration and 1000 sequential PLD spends, each beside
// a naive baseline in the same binary (composition by repeated squaring with
// pairwise convolutions; an accountant that convolves every spend into its
// total), with epsilon printed to 10 digits and the ratio to dp_accounting's
// time measured on this kind of machine; try_spend throughput with one thread
// and with two threads contending for one accountant.
#include <benchmark/benchmark.h>
#include <dpkit/accounting.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace {

using pld = dpkit::privacy_loss_distribution;

constexpr double q = 0.01;
constexpr double sigma = 1.1;
constexpr std::uint64_t steps = 1000;
constexpr double target_delta = 1e-5;

std::string ten_digits(double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "eps=%.10f", x);
    return buf;
}

void BM_pld_dpsgd_1000_steps(benchmark::State& state) {
    double eps = 0;
    for (auto _ : state) {
        const auto step = pld::poisson_subsampled_gaussian(q, sigma);
        eps = step.self_compose(steps).epsilon_for_delta(target_delta);
        benchmark::DoNotOptimize(eps);
    }
    state.counters["epsilon"] = eps;
}
BENCHMARK(BM_pld_dpsgd_1000_steps)->Unit(benchmark::kMillisecond);

void BM_rdp_dpsgd_1000_steps(benchmark::State& state) {
    double eps = 0;
    for (auto _ : state) {
        auto curve = dpkit::poisson_subsampled_gaussian_rdp(q, sigma);
        for (auto& e : curve.epsilons) e *= static_cast<double>(steps);
        eps = dpkit::rdp_to_approx_dp(curve, target_delta).epsilon;
        benchmark::DoNotOptimize(eps);
    }
    state.counters["epsilon"] = eps;
}
BENCHMARK(BM_rdp_dpsgd_1000_steps)->Unit(benchmark::kMillisecond);

// Gaussian PLD self-composition, discretisation 1e-4, epsilon at delta = 1e-5.
// Args: sigma * 10, k, dp_accounting's time in ms on this kind of machine.
void BM_pld_gaussian_self_compose(benchmark::State& state) {
    const double s = static_cast<double>(state.range(0)) / 10;
    const auto k = static_cast<std::uint64_t>(state.range(1));
    double eps = 0;
    double seconds = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        eps = pld::gaussian(s).self_compose(k).epsilon_for_delta(target_delta);
        benchmark::DoNotOptimize(eps);
        seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    state.SetLabel(ten_digits(eps));
    state.counters["epsilon"] = eps;
    // How many times faster than dp_accounting's time (range(2) ms).
    state.counters["x_dp_accounting"] =
        static_cast<double>(state.range(2)) / 1e3 / (seconds / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_pld_gaussian_self_compose)->Args({8, 50, 640})->Args({30, 400, 350})->Unit(benchmark::kMillisecond)->Iterations(3);

// Naive baseline: k-fold composition by repeated squaring, each step a pairwise convolution.
pld naive_self_compose(const pld& base, std::uint64_t k) {
    pld result = base;
    pld power = base;
    bool have = false;
    while (k > 0) {
        if (k & 1u) {
            result = have ? result.compose(power) : power;
            have = true;
        }
        k >>= 1;
        if (k > 0) power = power.compose(power);
    }
    return result;
}

void BM_naive_gaussian_repeated_squaring(benchmark::State& state) {
    const double s = static_cast<double>(state.range(0)) / 10;
    const auto k = static_cast<std::uint64_t>(state.range(1));
    double eps = 0;
    for (auto _ : state) {
        eps = naive_self_compose(pld::gaussian(s), k).epsilon_for_delta(target_delta);
        benchmark::DoNotOptimize(eps);
    }
    state.SetLabel(ten_digits(eps));
    state.counters["epsilon"] = eps;
}
BENCHMARK(BM_naive_gaussian_repeated_squaring)->Args({8, 50})->Args({30, 400})->Unit(benchmark::kMillisecond)->Iterations(1);

// calibrate_gaussian<pld_composition> for k = 7 at (epsilon, 1e-5); arg: epsilon * 100.
void BM_pld_calibrate_gaussian_k7(benchmark::State& state) {
    const double eps = static_cast<double>(state.range(0)) / 100;
    double z = 0;
    for (auto _ : state) {
        z = dpkit::calibrate_gaussian<dpkit::pld_composition>(7, dpkit::approx_dp{eps, target_delta});
        benchmark::DoNotOptimize(z);
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "sigma=%.10f", z);
    state.SetLabel(buf);
}
BENCHMARK(BM_pld_calibrate_gaussian_k7)->Arg(100)->Arg(1419)->Unit(benchmark::kMillisecond)->Iterations(3);

// Sequential spends of one Gaussian PLD (noise multiplier 30) on a PLD accountant
// with budget (4.7, 1e-5): 1000 spends fit (epsilon 4.65), the last ones checked by
// composing (the Chernoff bound no longer fits).
constexpr double spend_sigma = 30;
constexpr double spend_budget = 4.7;

void BM_pld_accountant_sequential_spends(benchmark::State& state) {
    const auto n = static_cast<int>(state.range(0));
    double eps = 0;
    int accepted = 0;
    for (auto _ : state) {
        const auto step = std::make_shared<const pld>(pld::gaussian(spend_sigma));
        dpkit::accountant<dpkit::pld_composition> acct(dpkit::approx_dp{spend_budget, target_delta});
        accepted = 0;
        for (int i = 0; i < n; ++i) accepted += static_cast<bool>(acct.try_spend(step, "step"));
        eps = acct.spent().epsilon;
        benchmark::DoNotOptimize(eps);
    }
    state.SetLabel(ten_digits(eps) + " accepted=" + std::to_string(accepted));
    state.counters["epsilon"] = eps;
}
BENCHMARK(BM_pld_accountant_sequential_spends)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(1);

// Naive baseline: convolve every spend into a running total and check its epsilon.
void BM_naive_accountant_sequential_spends(benchmark::State& state) {
    const auto n = static_cast<int>(state.range(0));
    double eps = 0;
    int accepted = 0;
    for (auto _ : state) {
        const pld step = pld::gaussian(spend_sigma);
        pld total = step;
        accepted = 0;
        for (int i = 0; i < n; ++i) {
            pld next = i == 0 ? step : total.compose(step);
            if (next.epsilon_for_delta(target_delta) <= spend_budget) {
                total = next;
                ++accepted;
            }
        }
        eps = total.epsilon_for_delta(target_delta);
        benchmark::DoNotOptimize(eps);
    }
    state.SetLabel(ten_digits(eps) + " accepted=" + std::to_string(accepted));
    state.counters["epsilon"] = eps;
}
BENCHMARK(BM_naive_accountant_sequential_spends)->Arg(100)->Unit(benchmark::kMillisecond)->Iterations(1);

std::unique_ptr<dpkit::accountant<dpkit::basic_composition>> shared_accountant;

void BM_try_spend(benchmark::State& state) {
    if (state.thread_index() == 0) {
        shared_accountant = std::make_unique<dpkit::accountant<dpkit::basic_composition>>(dpkit::approx_dp{1e300, 0.5});
    }
    for (auto _ : state) {
        const bool ok = static_cast<bool>(shared_accountant->try_spend(dpkit::pure_dp{1e-9}, "query"));
        benchmark::DoNotOptimize(ok);
    }
    state.SetItemsProcessed(state.iterations());
    if (state.thread_index() == 0) shared_accountant.reset();
}
// Fixed iterations: every accepted spend is kept in the ledger.
BENCHMARK(BM_try_spend)->Iterations(200000)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
