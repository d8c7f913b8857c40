// dpkit::eigen: mechanisms on Eigen types and norm clipping.
#include <dpkit/eigen.hpp>
#include <dpkit/random.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "../support/dpkit_catch.hpp"
#include "../support/stats.hpp"

using namespace dpkit;

TEST_CASE("add_noise applies a vector mechanism to an Eigen expression", "[eigen]") {
    const gaussian_mechanism<double> m(epsilon{1}, delta{1e-6}, l2_sensitivity{1}, dimension{6});
    insecure_seeded_generator g(1);
    Eigen::MatrixXd x = Eigen::MatrixXd::Constant(2, 3, 0.25);
    const Eigen::MatrixXd y = add_noise(m, x * 2, g);  // an expression, not a plain matrix
    REQUIRE(y.rows() == 2);
    REQUIRE(y.cols() == 3);
    for (Eigen::Index i = 0; i < y.size(); ++i) {
        CHECK(y.data()[i] / m.step() == std::floor(y.data()[i] / m.step()));
        CHECK(std::fabs(y.data()[i] - 0.5) < 12 * m.stddev());  // 12 sigma: probability < 1e-30
    }
    const Eigen::VectorXd wrong = Eigen::VectorXd::Zero(5);
    CHECK_THROWS_AS(add_noise(m, wrong, g), dpkit::invalid_argument);
    const laplace_mechanism<int> ints(epsilon{1}, l1_sensitivity{1}, dimension{3});
    const Eigen::VectorXi xi = Eigen::VectorXi::Constant(3, 7);
    CHECK(add_noise(ints, xi, g).size() == 3);
}

TEST_CASE("clip_l2 and clip_l1 bound the norm and keep the direction", "[eigen]") {
    Eigen::Vector3d v(3, 4, 12);  // L2 13, L1 19
    const auto c = clip_l2(v, 1.0);
    CHECK(c.norm() <= 1.0);
    CHECK(c.norm() == dpkit_test::approx(1.0).epsilon(1e-12));
    CHECK(c.normalized().isApprox(v.normalized()));
    CHECK(clip_l2(v, 100.0) == v);
    CHECK(clip_l1(v, 1.9).lpNorm<1>() <= 1.9);
    CHECK_THROWS_WITH(clip_l2(v, -1.0), "dpkit::clip_l2: bound must be finite and > 0 (got -1)");
    v(1) = std::nan("");
    CHECK_THROWS_WITH(clip_l2(v, 1.0), "dpkit::clip_l2: input must be finite");
}

namespace {
// The exact per-coordinate sums (in fixed-point steps) of a serialized clipped_row_sum.
std::vector<dpkit::detail::i128> coordinate_sums(const clipped_row_sum& s) {
    const auto bytes = s.serialize();
    std::vector<dpkit::detail::i128> out;
    const std::size_t first = bytes.size() - 16 * s.dimension();
    for (std::size_t i = first; i < bytes.size(); i += 16) {
        dpkit::detail::u128 v = 0;
        for (int b = 15; b >= 0; --b) v = (v << 8) | static_cast<unsigned>(bytes[i + static_cast<std::size_t>(b)]);
        out.push_back(static_cast<dpkit::detail::i128>(v));
    }
    return out;
}
}  // namespace

TEST_CASE("clipped_row_sum: exact under any order and split, sensitivity holds for every row", "[eigen][aggregates]") {
    std::mt19937_64 rng(11);
    std::normal_distribution<double> z(0, 3);
    Eigen::MatrixXd rows(400, 5);
    for (Eigen::Index i = 0; i < rows.size(); ++i) rows.data()[i] = z(rng);
    rows(0, 0) = 1e300;
    rows(1, 2) = -INFINITY;
    rows(2, 4) = 5e-324;
    for (row_norm norm : {row_norm::l2, row_norm::l1}) {
        clipped_row_sum one(dimension{5}, norm, 2.0);
        one.add_rows(rows);
        for (int trial = 0; trial < 20; ++trial) {
            const std::size_t shards = 1 + rng() % 16;
            std::vector<clipped_row_sum> parts(shards, clipped_row_sum(dimension{5}, norm, 2.0));
            std::vector<Eigen::Index> order(static_cast<std::size_t>(rows.rows()));
            for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<Eigen::Index>(i);
            std::shuffle(order.begin(), order.end(), rng);
            for (Eigen::Index r : order) parts[rng() % shards].add(rows.row(r));
            clipped_row_sum merged(dimension{5}, norm, 2.0);
            for (const auto& p : parts) merged.merge(p);
            CHECK(merged.serialize() == one.serialize());
        }
        CHECK(clipped_row_sum::deserialize(one.serialize()).serialize() == one.serialize());
        // Adding any one row (adversarial ones included) moves the exact sum by at
        // most the declared sensitivity, in L2 and in L1.
        const double step = std::ldexp(1.0, std::ilogb(2.0) - 20);
        const auto before = coordinate_sums(one);
        for (int t = 0; t < 200; ++t) {
            Eigen::VectorXd v(5);
            for (Eigen::Index i = 0; i < 5; ++i) v(i) = (t % 3 == 0) ? (rng() % 2 ? 1e308 : -1e308) : z(rng) * (t % 2 ? 1e-3 : 10);
            if (t % 7 == 0) v(static_cast<Eigen::Index>(rng() % 5)) = INFINITY;
            clipped_row_sum more = clipped_row_sum::deserialize(one.serialize());
            more.add(v);
            const auto after = coordinate_sums(more);
            double l1 = 0;
            double l2 = 0;
            for (std::size_t i = 0; i < 5; ++i) {
                const double d = static_cast<double>(after[i] - before[i]);
                l1 += std::fabs(d);
                l2 += d * d;
            }
            CHECK(std::sqrt(l2) * step <= one.l2_sensitivity());
            CHECK(l1 * step <= one.l1_sensitivity());
        }
    }
    CHECK_THROWS_WITH(clipped_row_sum(dimension{3}, row_norm::l2, 0.0), "dpkit::clipped_row_sum: bound must be finite and > 0 (got 0)");
    clipped_row_sum s(dimension{3}, row_norm::l2, 1.0);
    CHECK_THROWS_WITH(s.add(Eigen::Vector2d(1, 2)), "dpkit::clipped_row_sum: a row must have dimension() coefficients (got 2)");
    CHECK_THROWS_WITH(s.add(Eigen::Vector3d(1, std::nan(""), 2)),
                      "dpkit::clipped_row_sum: row must not contain NaN (nan_policy::reject) (got nan)");
    CHECK_THROWS_WITH(s.merge(clipped_row_sum(dimension{3}, row_norm::l1, 1.0)),
                      "dpkit::clipped_row_sum: cannot merge sums clipped in different norms");
}

TEST_CASE("clipped_row_sum releases: coverage per coordinate, the mean in range, atomic spends", "[eigen][aggregates][statistical]") {
    // 2000 releases x 5 coordinates = 10^4 coordinate trials per case; coverage
    // below level - 5 sd has probability < 3e-7. Positive control: intervals
    // shrunk to 40% fall short.
    std::mt19937_64 rng(12);
    std::uniform_real_distribution<double> u(-1, 1);
    Eigen::MatrixXd rows(200, 5);
    for (Eigen::Index i = 0; i < rows.size(); ++i) rows.data()[i] = u(rng);
    clipped_row_sum base(dimension{5}, row_norm::l2, 1.0);
    base.add_rows(rows);
    const double step = std::ldexp(1.0, -20);
    const auto exact = coordinate_sums(base);
    accountant<basic_composition> acct(approx_dp{1e9, 0.5}, "simulation");
    insecure_seeded_generator g(13);
    for (int kind = 0; kind < 2; ++kind) {
        const double level = 0.9;
        int covered = 0;
        int shrunk = 0;
        for (int t = 0; t < 2000; ++t) {
            clipped_row_sum s = clipped_row_sum::deserialize(base.serialize());
            const released_vector r = kind == 0 ? s.release_sum(acct, gaussian_noise{epsilon{1}, delta{1e-6}}, level, g, "sum")
                                                : s.release_sum(acct, laplace_noise{epsilon{1}}, level, g, "sum");
            for (Eigen::Index i = 0; i < 5; ++i) {
                const double truth = static_cast<double>(exact[static_cast<std::size_t>(i)]) * step;
                covered += r.lower(i) <= truth && truth <= r.upper(i);
                const double half = (r.upper(i) - r.lower(i)) / 2 * 0.4;
                shrunk += r.value(i) - half <= truth && truth <= r.value(i) + half;
            }
        }
        const double trials = 10000;
        const double sd = std::sqrt(trials * level * (1 - level));
        INFO("noise kind " << kind);
        CHECK(covered >= trials * level - 5 * sd);
        CHECK(shrunk < trials * level - 5 * sd);
    }
    // The width is known before spending.
    {
        clipped_row_sum s = clipped_row_sum::deserialize(base.serialize());
        const std::size_t spends = acct.ledger().size();
        const interval w = s.noise_interval(laplace_noise{epsilon{1}}, 0.9);
        CHECK(acct.ledger().size() == spends);
        const released_vector r = s.release_sum(acct, laplace_noise{epsilon{1}}, 0.9, g, "sum");
        CHECK(r.upper(0) - r.value(0) == w.upper);
        CHECK(r.lower(0) - r.value(0) == w.lower);
    }
    // The mean vector: within [-bound, bound], its interval too.
    clipped_row_sum m = clipped_row_sum::deserialize(base.serialize());
    const auto mean = m.release_mean(acct, gaussian_noise{epsilon{1}, delta{1e-6}}, 0.95, g, "mean");
    REQUIRE(mean.costs.size() == 2);
    for (Eigen::Index i = 0; i < 5; ++i) {
        CHECK(std::fabs(mean.value(i)) <= 1.0);
        CHECK(mean.lower(i) >= -1.0);
        CHECK(mean.upper(i) <= 1.0);
        CHECK(mean.lower(i) <= mean.value(i));
    }
    CHECK_THROWS_WITH(m.release_sum(acct, laplace_noise{epsilon{1}}, 0.9, g, "again"),
                      "dpkit::clipped_row_sum: release after release: the sum was already released");
    // A refused spend releases nothing and changes nothing.
    accountant<basic_composition> small(approx_dp{0.5, 1e-6}, "small");
    clipped_row_sum s = clipped_row_sum::deserialize(base.serialize());
    CHECK_THROWS_AS(s.release_mean(small, gaussian_noise{epsilon{1}, delta{1e-6}}, 0.9, g, "mean"), budget_exhausted);
    CHECK(small.ledger().empty());
    CHECK_FALSE(s.is_released());
}

namespace {

/// Counts of x / w in quarter-sigma bins (bin k holds [k w, (k + 1) w)), bins beyond +-3 sigma pooled.
std::vector<double> quarter_sigma_bins(const Eigen::VectorXd& x, double sigma) {
    std::vector<double> counts(26, 0.0);
    for (Eigen::Index i = 0; i < x.size(); ++i) {
        const double k = std::floor(x(i) / (sigma / 4));
        counts[static_cast<std::size_t>(std::clamp(k, -13.0, 12.0) + 13)] += 1;
    }
    return counts;
}

/// G-test p-value of bin counts against the normal N(0, sigma^2) masses of the same bins.
double normal_fit(const std::vector<double>& counts, double sigma_true, double sigma_bins) {
    double n = 0;
    for (double c : counts) n += c;
    auto cdf = [&](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
    double g = 0;
    for (std::size_t j = 0; j < counts.size(); ++j) {
        const double k = static_cast<double>(j) - 13;
        const double lo = j == 0 ? -INFINITY : k * sigma_bins / 4;
        const double hi = j + 1 == counts.size() ? INFINITY : (k + 1) * sigma_bins / 4;
        const double expected = n * (cdf(hi / sigma_true) - cdf(lo / sigma_true));
        if (counts[j] > 0) g += 2 * counts[j] * std::log(counts[j] / expected);
    }
    return dpkit_test::chi2_survival(g, static_cast<double>(counts.size() - 1));
}

/// G-test of homogeneity of two sets of bin counts.
double homogeneity(const std::vector<double>& a, const std::vector<double>& b) {
    double na = 0;
    double nb = 0;
    for (std::size_t j = 0; j < a.size(); ++j) {
        na += a[j];
        nb += b[j];
    }
    double g = 0;
    int cells = 0;
    for (std::size_t j = 0; j < a.size(); ++j) {
        const double total = a[j] + b[j];
        if (total == 0) continue;
        ++cells;
        if (a[j] > 0) g += 2 * a[j] * std::log(a[j] / (total * na / (na + nb)));
        if (b[j] > 0) g += 2 * b[j] * std::log(b[j] / (total * nb / (na + nb)));
    }
    return dpkit_test::chi2_survival(g, cells - 1.0);
}

}  // namespace

// False-failure rate of each statistical check: dpkit_test::false_failure_rate (1e-6).
TEST_CASE("batch noise on Eigen vectors: same values as the span API, same distribution as scalar calls", "[eigen][statistical]") {
    constexpr Eigen::Index d = 40000;
    const gaussian_mechanism<double> m(epsilon{1}, delta{1e-5}, l2_sensitivity{1}, dimension{static_cast<std::size_t>(d)});
    const double sigma = m.stddev();

    SECTION("fill_noise equals the span form with the same seeded generator; add_noise_in_place equals operator()") {
        insecure_seeded_generator g1(70);
        insecure_seeded_generator g2(70);
        Eigen::VectorXd x(d);
        dpkit::fill_noise(m, x, g1);
        std::vector<double> y(static_cast<std::size_t>(d));
        m.fill_noise(std::span<double>(y), g2);
        CHECK(std::equal(y.begin(), y.end(), x.data()));

        Eigen::VectorXd v = Eigen::VectorXd::LinSpaced(d, -3.0, 3.0);
        const std::vector<double> before(v.data(), v.data() + v.size());
        add_noise_in_place(m, v, g1);
        const std::vector<double> expected = m(std::span<const double>(before), g2);
        CHECK(std::equal(expected.begin(), expected.end(), v.data()));

        const laplace_mechanism<double> lap(epsilon{1}, l1_sensitivity{1}, dimension{1000});
        Eigen::VectorXd w = Eigen::VectorXd::Constant(1000, 2.5);
        const std::vector<double> w0(w.data(), w.data() + w.size());
        add_noise_in_place(lap, w, g1);
        const std::vector<double> w_expected = lap(std::span<const double>(w0), g2);
        CHECK(std::equal(w_expected.begin(), w_expected.end(), w.data()));
        Eigen::VectorXd nan = Eigen::VectorXd::Zero(1000);
        nan(500) = std::nan("");
        CHECK_THROWS_AS(add_noise_in_place(lap, nan, g1), dpkit::invalid_argument);
    }

    SECTION("fill_noise fits the Gaussian and matches scalar calls (two-sample); positive control") {
        insecure_seeded_generator g(71);
        Eigen::VectorXd x(d);
        dpkit::fill_noise(m, x, g);
        for (Eigen::Index i = 0; i < d; i += 997) CHECK(x(i) / m.step() == std::floor(x(i) / m.step()));
        Eigen::VectorXd scalar(d);
        for (Eigen::Index i = 0; i < d; ++i) scalar(i) = m(0.0, g);
        const auto batch_bins = quarter_sigma_bins(x, sigma);
        const auto scalar_bins = quarter_sigma_bins(scalar, sigma);
        // sigma is ~2^34 steps: bin masses equal the continuous ones far below the test's resolution.
        CHECK(normal_fit(batch_bins, sigma, sigma) > dpkit_test::false_failure_rate);
        CHECK(homogeneity(batch_bins, scalar_bins) > dpkit_test::false_failure_rate);
        CHECK(normal_fit(batch_bins, 1.05 * sigma, sigma) < dpkit_test::false_failure_rate);  // positive control
    }
}
