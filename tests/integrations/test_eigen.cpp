// dpkit::eigen: mechanisms on Eigen types and norm clipping.
#include <dpkit/eigen.hpp>
#include <dpkit/random.hpp>

#include <cmath>

#include "../support/dpkit_catch.hpp"

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
    Eigen::MatrixXd rows(3, 2);
    rows << 30, 40, 0.3, 0.4, -6, 8;
    const Eigen::VectorXd sum = clipped_row_sum_l2(rows, 5.0);
    CHECK(sum(0) == dpkit_test::approx(3 + 0.3 - 3).epsilon(1e-12));
    CHECK(sum(1) == dpkit_test::approx(4 + 0.4 + 4).epsilon(1e-12));
    CHECK_THROWS_WITH(clip_l2(v, -1.0), "dpkit::clip_l2: bound must be finite and > 0 (got -1)");
    v(1) = std::nan("");
    CHECK_THROWS_WITH(clip_l2(v, 1.0), "dpkit::clip_l2: input must be finite");
}
