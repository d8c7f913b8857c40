// A DP summary of data spread over the ranks of an MPI job.
//   mpirun -np 4 mpi_describe [visits per rank]
// Each rank holds a shard of a web site's visit log (made up here, the same on
// every run for a given rank): one row per visit, (user, minutes, pages). One
// user's visits sit on several ranks, so the rows are first shuffled so that
// each user lives on one rank, where at most 3 visits per user are kept.
// Each rank then accumulates count, mean, std and quartiles of both columns (a
// table_describer) and a histogram of the minutes; the exact states are merged
// on rank 0, released there once, and rank 0 prints the summary.
#include <dpkit/accounting.hpp>
#include <dpkit/mpi.hpp>
#include <dpkit/random/insecure_seeded_generator.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace {

struct visit {
    double minutes;
    double pages;
};

constexpr std::uint64_t max_visits_per_user = 3;

/// What one user's kept visits go to: the table and the histogram.
struct visit_sink {
    dpkit::table_describer& table;
    dpkit::histogram& minutes;
    std::uint64_t max_contributions() const { return max_visits_per_user; }
    void add(const visit& v) {
        table.add(0, v.minutes);
        table.add(1, v.pages);
        minutes.add(v.minutes);
    }
};

/// This rank's shard of the log: users are shared by all ranks.
std::vector<std::pair<std::uint64_t, visit>> make_shard(int rank, std::size_t visits) {
    dpkit::insecure_seeded_generator g(1000 + static_cast<std::uint64_t>(rank));  // made-up data, not noise
    const auto uniform = [&] { return static_cast<double>(g() >> 11) * 0x1p-53; };
    std::vector<std::pair<std::uint64_t, visit>> rows;
    for (std::size_t i = 0; i < visits; ++i) {
        const std::uint64_t user = g() % (visits / 2 + 1);
        const double minutes = -8 * std::log(1 - uniform());  // exponential, mean 8 minutes (some beyond the bounds)
        const double pages = std::floor(1 + minutes * (0.5 + uniform()));
        rows.emplace_back(user, visit{minutes, pages});
    }
    return rows;
}

}  // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank = 0;
    int ranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    const std::size_t visits = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
    int status = 0;
    try {
        // 1. Contribution bounding across ranks: every user's visits to one rank, then at most 3 kept.
        const auto key = dpkit::mpi::make_shuffle_key(MPI_COMM_WORLD);
        const auto held = dpkit::mpi::shuffle_by_unit(make_shard(rank, visits), key, MPI_COMM_WORLD);
        dpkit::secure_generator gen;
        dpkit::ungrouped_bounder<std::uint64_t, visit> bounder(max_visits_per_user);
        for (const auto& [user, v] : held) bounder.add(user, v, gen);

        // 2. Accumulate this rank's users (bounds and bins are declared, never read from the data).
        dpkit::table_describer table({dpkit::numeric_column{"minutes", dpkit::bounds{0, 60}},
                                      dpkit::numeric_column{"pages", dpkit::bounds{0, 40}}},
                                     max_visits_per_user);
        dpkit::histogram minutes({0, 2, 5, 10, 20, 30, 60}, dpkit::nan_policy::reject, dpkit::histogram_outliers::clamp,
                                 max_visits_per_user, max_visits_per_user);
        visit_sink sink{table, minutes};
        bounder.feed(sink);

        // 3. Merge the exact states on rank 0 (they cross the network: the fabric must be trusted).
        auto merged_table = dpkit::mpi::reduce(table, MPI_COMM_WORLD, 0);
        auto merged_minutes = dpkit::mpi::reduce(minutes, MPI_COMM_WORLD, 0);

        // 4. Release once, on rank 0, under one budget; only released values are broadcast.
        dpkit::accountant<dpkit::basic_composition> budget(dpkit::approx_dp{1.0, 0}, "site analytics");
        const auto summary = dpkit::mpi::release_once(MPI_COMM_WORLD, 0, [&] {
            return merged_table->release(budget, dpkit::laplace_noise{dpkit::epsilon{0.8}}, 0.95, gen);
        });
        const auto bins = dpkit::mpi::release_once(MPI_COMM_WORLD, 0, [&] {
            return merged_minutes->release(budget, dpkit::laplace_noise{dpkit::epsilon{0.2}}, 0.95, gen, "minutes histogram");
        });

        if (rank == 0) {
            std::printf("%d ranks, %zu visits per rank, at most %llu visits per user, epsilon 1 in total\n\n", ranks, visits,
                        static_cast<unsigned long long>(max_visits_per_user));
            std::printf("%s\n", dpkit::to_string(summary).c_str());
            std::printf("minutes histogram (95%% intervals per bin):\n");
            const char* labels[] = {"[0, 2)", "[2, 5)", "[5, 10)", "[10, 20)", "[20, 30)", "[30, 60]"};
            for (std::size_t i = 0; i < bins.value.counts.size() && i < 6; ++i) {
                std::printf("  %-9s %10.0f   [%.0f, %.0f]\n", labels[i], bins.value.counts[i], bins.value.intervals[i].lower,
                            bins.value.intervals[i].upper);
            }
            std::printf("\nthe accountant's ledger (rank 0 only; the other ranks spent nothing):\n");
            for (const auto& e : budget.ledger()) std::printf("  %s: %s\n", e.label.c_str(), dpkit::to_string(e.cost).c_str());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rank %d: %s\n", rank, e.what());
        status = 1;
    }
    MPI_Finalize();
    return status;
}
