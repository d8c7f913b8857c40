// Accounting benchmarks: PLD composition of 1000 DP-SGD steps (time, and its
// epsilon beside the RDP accountant's epsilon in the same run), and try_spend
// throughput with one thread and with two threads contending for one accountant.
#include <benchmark/benchmark.h>
#include <dpkit/accounting.hpp>

#include <memory>

namespace {

constexpr double q = 0.01;
constexpr double sigma = 1.1;
constexpr std::uint64_t steps = 1000;
constexpr double target_delta = 1e-5;

void BM_pld_dpsgd_1000_steps(benchmark::State& state) {
    double eps = 0;
    for (auto _ : state) {
        const auto step = dpkit::privacy_loss_distribution::poisson_subsampled_gaussian(q, sigma);
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
