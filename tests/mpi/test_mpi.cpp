// dpkit::mpi under mpirun (run with 4 ranks by CTest; any number >= 2 works).
// Every rank generates the whole data set deterministically, keeps the rows of
// its shard (row i goes to rank i mod p) and also builds the single-process
// reference over all rows, so each check compares the distributed result with
// the one-process one. A plain program rather than Catch2: each rank checks,
// and the exit code is non-zero on every rank if any check failed on any rank.
#include <dpkit/mpi.hpp>

#include <dpkit/accounting.hpp>
#include <dpkit/random/insecure_seeded_generator.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

int rank = 0;
int ranks = 1;
int failures = 0;

void expect(bool ok, const std::string& what) {
    if (!ok) {
        ++failures;
        std::fprintf(stderr, "rank %d: FAILED: %s\n", rank, what.c_str());
    }
}

template <class E, class F>
void expect_throws(F&& f, const std::string& what) {
    try {
        f();
        expect(false, what + " (did not throw)");
    } catch (const E&) {
        expect(true, what);
    } catch (const std::exception& e) {
        expect(false, what + " (threw another exception: " + e.what() + ")");
    }
}

/// A generator that counts how many words it gave.
struct counting_generator {
    using result_type = std::uint64_t;
    static constexpr result_type min() { return dpkit::insecure_seeded_generator::min(); }
    static constexpr result_type max() { return dpkit::insecure_seeded_generator::max(); }
    result_type operator()() {
        ++calls;
        return inner();
    }
    dpkit::insecure_seeded_generator inner;
    std::uint64_t calls = 0;
};

struct row {
    std::size_t index;
    double value;
    std::string key;
};

std::vector<row> make_rows(std::size_t n) {
    dpkit::insecure_seeded_generator g(2026);
    std::vector<row> rows;
    for (std::size_t i = 0; i < n; ++i) {
        const double u = static_cast<double>(g() >> 11) * 0x1p-53;
        rows.push_back(row{i, -10 + 130 * u, "k" + std::to_string(g() % 40)});  // some values clamp to [0, 100]
    }
    return rows;
}

bool mine(std::size_t i) { return static_cast<int>(i % static_cast<std::size_t>(ranks)) == rank; }

/// Builds the accumulator `make()` over this rank's shard and over all rows,
/// reduces the shards onto `root` with `how`, and compares the bytes there.
template <class Make, class Add>
void check_identical(const char* name, Make make, Add add, const std::vector<row>& rows, dpkit::mpi::reduction how, int root) {
    auto local = make();
    auto reference = make();
    for (const auto& r : rows) {
        if (mine(r.index)) add(local, r);
        add(reference, r);
    }
    const auto merged = dpkit::mpi::reduce(local, MPI_COMM_WORLD, root, how);
    const std::string what = std::string(name) + (how == dpkit::mpi::reduction::tree ? " (tree)" : " (custom MPI_Op)");
    if (rank == root) {
        expect(merged.has_value(), what + ": the root holds the merged state");
        expect(merged && merged->serialize() == reference.serialize(), what + ": merged state == single-process state, byte for byte");
        // Positive control: one shard alone is not the whole.
        expect(local.serialize() != reference.serialize(), what + ": (control) one shard differs from the whole");
    } else {
        expect(!merged.has_value(), what + ": only the root holds the merged state");
    }
}

void byte_identity(const std::vector<row>& rows) {
    using dpkit::mpi::reduction;
    const dpkit::bounds b{0, 100};
    for (auto how : {reduction::custom_op, reduction::tree}) {
        for (int root : {0, ranks - 1}) {
            check_identical("count", [] { return dpkit::count(); }, [](auto& a, const row&) { a.add(); }, rows, how, root);
            check_identical("bounded_sum", [&] { return dpkit::bounded_sum<double>(b); },
                            [](auto& a, const row& r) { a.add(r.value); }, rows, how, root);
            check_identical("bounded_variance", [&] { return dpkit::bounded_variance(b); },
                            [](auto& a, const row& r) { a.add(r.value); }, rows, how, root);
            check_identical("histogram", [] { return dpkit::histogram({0, 10, 20, 50, 80, 100}); },
                            [](auto& a, const row& r) { a.add(r.value); }, rows, how, root);
            check_identical("category_histogram", [] { return dpkit::category_histogram<std::string>({"k1", "k2", "k3"}, dpkit::undeclared_category::drop); },
                            [](auto& a, const row& r) { a.add(r.key); }, rows, how, root);
        }
    }
    // Variable-size states (sparse or keyed): the tree only (automatic picks it).
    for (int root : {0, ranks - 1}) {
        check_identical("quantile_tree", [&] { return dpkit::quantile_tree(b); },
                        [](auto& a, const row& r) { a.add(r.value); }, rows, reduction::automatic, root);
        check_identical("column_describer", [&] { return dpkit::column_describer(b); },
                        [](auto& a, const row& r) { a.add(r.value); }, rows, reduction::automatic, root);
    }
    check_identical("key_histogram", [] { return dpkit::key_histogram<std::string>(dpkit::max_partitions{1}); },
                    [](auto& a, const row& r) { a.add(r.key); }, rows, reduction::automatic, 0);
    const auto table = [&] {
        return dpkit::table_describer({dpkit::numeric_column{"value", b}, dpkit::key_column{"key", dpkit::delta{1e-6}}});
    };
    check_identical("table_describer", table,
                    [](auto& a, const row& r) {
                        a.add(0, r.value);
                        a.add(1, std::string_view(r.key));
                    },
                    rows, reduction::automatic, 1 % ranks);
    expect_throws<dpkit::invalid_argument>(
        [&] { (void)dpkit::mpi::reduce(dpkit::key_histogram<int>(dpkit::max_partitions{1}), MPI_COMM_WORLD, 0, reduction::custom_op); },
        "custom_op refuses a variable-size state");
}

void release_once(const std::vector<row>& rows) {
    const dpkit::bounds b{0, 100};
    dpkit::column_describer local(b);
    dpkit::column_describer reference(b);
    for (const auto& r : rows) {
        if (mine(r.index)) local.add(r.value);
        reference.add(r.value);
    }
    const dpkit::laplace_noise noise{dpkit::epsilon{1}};
    // Every rank has an accountant and a generator; only the root's may be used.
    dpkit::accountant<dpkit::basic_composition> acct(dpkit::approx_dp{1, 0});
    counting_generator g{dpkit::insecure_seeded_generator(99)};
    auto merged = dpkit::mpi::reduce(local, MPI_COMM_WORLD, 0);
    const dpkit::column_description d =
        dpkit::mpi::release_once(MPI_COMM_WORLD, 0, [&] { return merged->release(acct, noise, 0.95, g, "value"); });

    // The same release in one process, with the same generator seed.
    dpkit::accountant<dpkit::basic_composition> one_acct(dpkit::approx_dp{1, 0});
    counting_generator one_g{dpkit::insecure_seeded_generator(99)};
    const auto one = reference.release(one_acct, noise, 0.95, one_g, "value");

    expect(dpkit::to_string(d) == dpkit::to_string(one), "every rank receives the single-process release (noise added once)");
    for (std::size_t i = 0; i < d.statistics.size() && i < one.statistics.size(); ++i) {
        expect(d.statistics[i].value == one.statistics[i].value, "statistic " + d.statistics[i].name + " is bit-identical");
    }
    expect(d.statistics.size() == one.statistics.size() && d.split.size() == 4, "the description has every statistic and part");
    if (rank == 0) {
        expect(g.calls == one_g.calls, "the root drew exactly the words of one release");
        expect(acct.ledger().size() == 4, "the root's accountant was charged once (4 ledger lines, one per part)");
        expect(acct.ledger().size() == one_acct.ledger().size(), "as many ledger lines as the single-process release");
        expect(merged->is_released(), "the root's merged state is released");
    } else {
        expect(g.calls == 0, "no noise drawn outside the root");
        expect(acct.ledger().empty(), "no accountant charged outside the root");
    }
    // Positive control of the comparison: another seed gives another release.
    dpkit::column_describer again(b);
    for (const auto& r : rows) again.add(r.value);
    dpkit::accountant<dpkit::basic_composition> other_acct(dpkit::approx_dp{1, 0});
    dpkit::insecure_seeded_generator other_g(100);
    expect(dpkit::to_string(again.release(other_acct, noise, 0.95, other_g, "value")) != dpkit::to_string(one),
           "(control) another seed gives another description");

    // A refused spend: every rank throws budget_exhausted, nothing is spent.
    dpkit::count c;
    c.add();
    auto mc = dpkit::mpi::reduce(c, MPI_COMM_WORLD, 0);
    dpkit::accountant<dpkit::basic_composition> small(dpkit::approx_dp{0.5, 0});
    expect_throws<dpkit::budget_exhausted>(
        [&] { (void)dpkit::mpi::release_once(MPI_COMM_WORLD, 0, [&] { return mc->release(small, noise, 0.95, g, "n"); }); },
        "a refused spend on the root throws budget_exhausted on every rank");
    expect(small.ledger().empty(), "the refused spend charged nothing");
    // A released<double> crosses as well.
    dpkit::accountant<dpkit::basic_composition> big(dpkit::approx_dp{1, 0});
    const auto n = dpkit::mpi::release_once(MPI_COMM_WORLD, 0, [&] { return mc->release(big, noise, 0.95, g, "n"); });
    double root_value = n.value;
    MPI_Bcast(&root_value, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    expect(n.value == root_value && n.costs.size() == 1 && n.costs[0].label == "n", "released<double> reaches every rank");
}

void collective_errors() {
    // Different parameters on one rank: every rank throws, by either path.
    for (auto how : {dpkit::mpi::reduction::custom_op, dpkit::mpi::reduction::tree}) {
        dpkit::count c(rank == ranks - 1 ? 2 : 1);
        expect_throws<dpkit::invalid_argument>([&] { (void)dpkit::mpi::reduce(c, MPI_COMM_WORLD, 0, how); },
                                               "mismatched max_contributions throws on every rank");
        dpkit::bounded_sum<double> s(dpkit::bounds{0, rank == ranks - 1 ? 2.0 : 1.0});
        expect_throws<dpkit::invalid_argument>([&] { (void)dpkit::mpi::reduce(s, MPI_COMM_WORLD, 0, how); },
                                               "mismatched bounds (same size) throw on every rank");
    }
    expect_throws<dpkit::invalid_argument>([&] { (void)dpkit::mpi::reduce(dpkit::count(), MPI_COMM_WORLD, ranks); },
                                           "a root outside the communicator is refused");
}

void global_bounding() {
    // Unit 0 sends 50 rows from every rank; units 1..600 send 1 to 4 rows,
    // spread round-robin over the ranks. Each unit may keep at most 2 rows.
    constexpr std::uint64_t cap = 2;
    std::vector<std::pair<std::uint64_t, double>> local;
    std::uint64_t expected = cap;  // unit 0
    std::size_t spread = 0;
    for (int i = 0; i < 50; ++i) local.emplace_back(0, 1.0);
    for (std::uint64_t u = 1; u <= 600; ++u) {
        const std::uint64_t n = 1 + u % 4;
        expected += std::min(n, cap);
        for (std::uint64_t j = 0; j < n; ++j) {
            if (static_cast<int>(spread++ % static_cast<std::size_t>(ranks)) == rank) local.emplace_back(u, 1.0);
        }
    }
    const auto key = dpkit::mpi::make_shuffle_key(MPI_COMM_WORLD);
    const auto held = dpkit::mpi::shuffle_by_unit(local, key, MPI_COMM_WORLD);
    bool all_owned = true;
    for (const auto& [u, v] : held) all_owned = all_owned && dpkit::mpi::owner_of(u, key, ranks) == rank;
    expect(all_owned, "after the shuffle every row sits on its unit's owner");
    long long counts[2] = {static_cast<long long>(local.size()), static_cast<long long>(held.size())};
    MPI_Allreduce(MPI_IN_PLACE, counts, 2, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    expect(counts[0] == counts[1], "the shuffle keeps every row");

    dpkit::insecure_seeded_generator g(static_cast<std::uint64_t>(rank) + 1);
    const auto bounded_count = [&](const auto& rows) {
        dpkit::ungrouped_bounder<std::uint64_t, double> bounder(cap);
        for (const auto& [u, v] : rows) bounder.add(u, v, g);
        dpkit::count c(cap);
        bounder.feed(c);
        return dpkit::mpi::reduce(c, MPI_COMM_WORLD, 0);
    };
    dpkit::count want(cap);
    for (std::uint64_t i = 0; i < expected; ++i) want.add();
    const auto global = bounded_count(held);
    const auto naive = bounded_count(local);  // positive control: bounding each rank alone
    if (rank == 0) {
        expect(global && global->serialize() == want.serialize(), "a unit spread over all ranks is capped globally");
        expect(naive && naive->serialize() != want.serialize(), "(control) bounding each rank alone lets unit 0 exceed its cap");
    }
    const auto key2 = dpkit::mpi::make_shuffle_key(MPI_COMM_WORLD);
    std::uint64_t k[2] = {key2.words[0], key2.words[1]};
    MPI_Bcast(k, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    expect(k[0] == key2.words[0] && k[1] == key2.words[1], "every rank holds the root's shuffle key");
    expect(key2.words != key.words, "each key is freshly drawn");

    std::vector<std::pair<std::string, double>> named;
    for (int i = 0; i < 10; ++i) named.emplace_back("user-" + std::to_string(i), 1.0 * rank);
    const auto moved = dpkit::mpi::shuffle_by_unit(named, key, MPI_COMM_WORLD);
    bool ok = true;
    for (const auto& [u, v] : moved) ok = ok && dpkit::mpi::owner_of(u, key, ranks) == rank && u.rfind("user-", 0) == 0;
    long long n = static_cast<long long>(moved.size());
    MPI_Allreduce(MPI_IN_PLACE, &n, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    expect(ok && n == 10LL * ranks, "string unit ids are shuffled to their owners");
}

void siphash_vectors() {
    // The reference vectors of SipHash-2-4 (key 00 01 ... 0f; messages of length 0, 1, 15).
    const dpkit::mpi::shuffle_key key{{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL}};
    std::vector<std::byte> m;
    expect(dpkit::mpi::siphash24(key, m) == 0x726fdb47dd0e0e31ULL, "SipHash-2-4 of the empty message");
    m.push_back(std::byte{0});
    expect(dpkit::mpi::siphash24(key, m) == 0x74f839c593dc67fdULL, "SipHash-2-4 of 00");
    for (int i = 1; i < 15; ++i) m.push_back(static_cast<std::byte>(i));
    expect(dpkit::mpi::siphash24(key, m) == 0xa129ca6149be45e5ULL, "SipHash-2-4 of 00 .. 0e");
}

}  // namespace

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    try {
        const auto rows = make_rows(20000);
        siphash_vectors();
        byte_identity(rows);
        release_once(rows);
        collective_errors();
        global_bounding();
    } catch (const std::exception& e) {
        expect(false, std::string("unexpected exception: ") + e.what());
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int total = failures;
    MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) std::printf("dpkit::mpi test on %d ranks: %d failed check(s)\n", ranks, total);
    MPI_Finalize();
    return total == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
