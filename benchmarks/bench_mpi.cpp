// Accumulation over ranks against the cost of merging the states (dpkit::mpi).
//   for p in 1 2 4; do mpirun --oversubscribe -np $p dpkit_bench_mpi [total values]; done
// The total (10^8 by default) is split evenly over the ranks. Each rank fills a
// buffer of 2^16 uniform values at a time (not timed) and adds it to the
// accumulator (timed). Then, after a barrier, dpkit::mpi::reduce merges the
// states on rank 0 (timed, five times: median, min and max of the slowest
// rank). Reported: the slowest rank's accumulation time, the merge time, and
// the ratio of the median merge to the accumulation. A plain driver, not Google Benchmark: one
// run per rank count is what is measured.
#include <dpkit/mpi.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct splitmix {
    std::uint64_t s;
    double next() {
        std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1p-53;
    }
};

template <class A>
void run(const char* name, A state, std::uint64_t per_rank, int rank, int ranks) {
    splitmix g{0x5eed0000ULL + static_cast<std::uint64_t>(rank)};
    std::vector<double> buffer(1 << 16);
    MPI_Barrier(MPI_COMM_WORLD);
    double accumulate = 0;
    for (std::uint64_t done = 0; done < per_rank;) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), per_rank - done));
        for (std::size_t i = 0; i < n; ++i) buffer[i] = g.next();
        const double t0 = now();
        state.add(std::span<const double>(buffer.data(), n));
        accumulate += now() - t0;
        done += n;
    }
    MPI_Allreduce(MPI_IN_PLACE, &accumulate, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    const std::size_t bytes = state.serialize().size();
    std::vector<double> merges;
    for (int repeat = 0; repeat < 5; ++repeat) {
        MPI_Barrier(MPI_COMM_WORLD);
        const double t0 = now();
        const auto merged = dpkit::mpi::reduce(state, MPI_COMM_WORLD, 0);
        double merge = now() - t0;
        MPI_Allreduce(MPI_IN_PLACE, &merge, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        merges.push_back(merge);
    }
    std::sort(merges.begin(), merges.end());
    if (rank == 0) {
        const double total = static_cast<double>(per_rank) * ranks;
        const double median = merges[2];
        std::printf("%-14s ranks %d  state %7zu B  accumulate %7.3f s (%6.1f M values/s)  merge median %8.3f ms (min %8.3f, max %8.3f)"
                    "  median/accumulate %7.4f%%\n",
                    name, ranks, bytes, accumulate, total / accumulate / 1e6, median * 1e3, merges.front() * 1e3, merges.back() * 1e3,
                    100 * median / accumulate);
    }
}

}  // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    int ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    const std::uint64_t total = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000000ULL;
    const std::uint64_t per_rank = total / static_cast<std::uint64_t>(ranks);
    std::vector<double> edges;
    for (int i = 0; i <= 64; ++i) edges.push_back(i / 64.0);
    const dpkit::bounds b{0, 1};
    // The first collectives set up the connections between ranks: not timed.
    (void)dpkit::mpi::reduce(dpkit::count(), MPI_COMM_WORLD, 0);
    (void)dpkit::mpi::reduce(dpkit::count(), MPI_COMM_WORLD, 0, dpkit::mpi::reduction::tree);
    run("bounded_sum", dpkit::bounded_sum<double>(b), per_rank, rank, ranks);
    run("histogram(64)", dpkit::histogram(edges), per_rank, rank, ranks);
    run("quantile_tree", dpkit::quantile_tree(b), per_rank, rank, ranks);
    MPI_Finalize();
    return 0;
}
