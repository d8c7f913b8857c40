// Partition selection and key_histogram: singleton keys appear with probability
// at most delta, popular keys with the predicted probability, the optimal
// probabilities satisfy the DP constraints, and the histogram behaves like every
// other aggregate.
#include <dpkit/aggregates.hpp>
#include <dpkit/random.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../support/dpkit_catch.hpp"

using namespace dpkit;

namespace {

// Releases of n singleton keys; the count ~ Binomial(n, p) with p <= delta: more
// than n delta + 5 sqrt(n delta) + 5 has probability < 1e-6.
int singleton_releases(const partition_selection& s, int n, std::uint64_t seed) {
    insecure_seeded_generator g(seed);
    int kept = 0;
    for (int i = 0; i < n; ++i) kept += s(1, g).keep;
    return kept;
}

double upper_allowance(int n, double p) { return n * p + 5 * std::sqrt(n * p) + 5; }

}  // namespace

TEST_CASE("a key held by one unit is released with probability at most delta", "[partition][statistical]") {
    const int n = 1000000;
    for (auto method : {partition_selection_method::laplace_threshold, partition_selection_method::gaussian_threshold,
                        partition_selection_method::truncated_geometric}) {
        for (std::uint64_t l0 : {std::uint64_t{1}, std::uint64_t{4}}) {
            INFO("method " << static_cast<int>(method) << " L0 " << l0);
            const double delta = 1e-4;
            const partition_selection s(method, epsilon{1}, dpkit::delta{delta}, max_partitions{l0});
            const int kept = singleton_releases(s, n, 10 + l0);
            CHECK(kept <= upper_allowance(n, delta / static_cast<double>(l0)));
            if (method == partition_selection_method::truncated_geometric) {
                // Exactly: pi(1) <= delta / L0, as a rational.
                CHECK(s.keep_probability(1).to_double() <= delta / static_cast<double>(l0));
            }
        }
    }
    SECTION("positive control: a threshold set for delta = 1e-2 releases too many singletons") {
        const partition_selection loose(partition_selection_method::laplace_threshold, epsilon{1}, delta{1e-2}, max_partitions{1});
        CHECK(singleton_releases(loose, n, 3) > upper_allowance(n, 1e-4));
    }
}

TEST_CASE("popular keys are released with the probability the analysis predicts", "[partition][statistical]") {
    // Laplace thresholding: P[keep | units] = P[Z >= tau - units] for discrete
    // Laplace Z; the empirical frequency over 1e5 trials lies within 5 sd (false
    // failure < 1e-6).
    const partition_selection s(partition_selection_method::laplace_threshold, epsilon{1}, delta{1e-6}, max_partitions{1});
    const double tau = s.threshold();
    for (double units : {tau - 3, tau, tau + 4}) {
        insecure_seeded_generator g(7);
        const int trials = 100000;
        int kept = 0;
        for (int i = 0; i < trials; ++i) kept += s(static_cast<std::uint64_t>(units), g).keep;
        const double p = std::exp(-1.0);  // scale 1: p = e^-1
        const double k = tau - units;     // P[Z >= k]
        const double predicted = k <= 0 ? 1 - std::pow(p, 1 - k) / (1 + p) : std::pow(p, k) / (1 + p);
        const double sd = std::sqrt(trials * predicted * (1 - predicted));
        INFO("units " << units << " predicted " << predicted);
        CHECK(std::fabs(kept - trials * predicted) <= 5 * sd + 1);
    }
    // The optimal probabilities satisfy both DP constraints pair by pair and reach 1.
    for (double eps : {0.1, 1.0, 5.0}) {
        const partition_selection opt(partition_selection_method::truncated_geometric, epsilon{eps}, delta{1e-5}, max_partitions{1});
        for (std::uint64_t n = 1; n < 2000; ++n) {
            const double a = opt.keep_probability(n - 1).to_double();
            const double b = opt.keep_probability(n).to_double();
            REQUIRE(b >= a);
            REQUIRE(b <= std::exp(eps) * a + 1e-5 * (1 + 1e-12));
            REQUIRE(1 - a <= std::exp(eps) * (1 - b) + 1e-5 * (1 + 1e-12));
        }
        CHECK(opt.keep_probability(100000).to_double() == 1.0);
    }
}

TEST_CASE("key_histogram: exact, mergeable, serializable, releases only selected keys", "[partition][aggregates]") {
    key_histogram<std::string> whole(max_partitions{2}, 3);
    std::vector<key_histogram<std::string>> shards(3, key_histogram<std::string>(max_partitions{2}, 3));
    std::vector<std::pair<std::string, std::uint64_t>> rows;
    for (int u = 0; u < 3000; ++u) rows.emplace_back(u % 3 == 0 ? "popular" : "common" + std::to_string(u % 5), 1 + u % 7);
    for (int u = 0; u < 50; ++u) rows.emplace_back("rare" + std::to_string(u), 2);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        whole.add(rows[i].first, rows[i].second);
        shards[(i * 7) % 3].add(rows[i].first, rows[i].second);
    }
    key_histogram<std::string> merged(max_partitions{2}, 3);
    for (const auto& s : shards) merged.merge(s);
    CHECK(merged.serialize() == whole.serialize());
    CHECK(key_histogram<std::string>::deserialize(whole.serialize()).serialize() == whole.serialize());
    CHECK_THROWS_WITH(key_histogram<int>::deserialize(whole.serialize()), "dpkit::key_histogram: malformed state (another key type)");
    CHECK_THROWS_WITH(merged.merge(key_histogram<std::string>(max_partitions{1}, 3)),
                      "dpkit::key_histogram: cannot merge histograms with different max_partitions (got 1)");

    accountant<basic_composition> small(approx_dp{0.5, 1e-6}, "small");
    insecure_seeded_generator g(9);
    const partition_selection sel(partition_selection_method::laplace_threshold, epsilon{0.5}, delta{1e-6}, max_partitions{2});
    CHECK_THROWS_AS(whole.release(small, sel, laplace_noise{epsilon{0.5}}, 0.95, g, "keys"), budget_exhausted);
    CHECK(small.ledger().empty());
    CHECK_FALSE(whole.is_released());
    accountant<basic_composition> acct(approx_dp{1, 1e-6}, "study");
    const auto r = whole.release(acct, sel, laplace_noise{epsilon{0.5}}, 0.95, g, "keys");
    REQUIRE(r.costs.size() == 2);
    CHECK(acct.ledger().size() == 2);
    bool popular = false;
    for (const auto& k : r.value) {
        CHECK(k.key.rfind("rare", 0) != 0);  // 50 singleton keys at delta 1e-6: none should appear
        popular = popular || k.key == "popular";
        CHECK(k.confidence.lower <= k.count);
    }
    CHECK(popular);
    CHECK_THROWS_WITH(whole.add("late"), "dpkit::key_histogram: add after release: the histogram was already released");
}
