#pragma once
/// \file
/// Opt-in Eigen 3.4 integration (CMake target dpkit::eigen): the Laplace and
/// Gaussian mechanisms on Eigen vectors and matrices, and norm clipping, the
/// step that bounds one person's contribution before a vector sum.
/// Functions take const Eigen::MatrixBase<Derived>& (any expression).

#include <Eigen/Core>

#include <cmath>
#include <random>
#include <span>
#include <vector>

#include "detail/format.hpp"
#include "mechanisms/gaussian.hpp"
#include "mechanisms/laplace.hpp"

namespace dpkit {

namespace detail {
template <class M>
concept vector_mechanism = requires(const M& m) {
    typename M::value_type;
    { m.dimension() } -> std::convertible_to<std::size_t>;
};
}  // namespace detail

/// The mechanism applied to every coefficient of x (column-major order), which
/// must have m.dimension() coefficients; the result has x's shape. For a
/// Laplace mechanism the sensitivity is the L1 norm of the whole matrix, for a
/// Gaussian mechanism the L2 (Frobenius) norm.
template <detail::vector_mechanism Mechanism, class Derived, std::uniform_random_bit_generator G>
Eigen::Matrix<typename Mechanism::value_type, Eigen::Dynamic, Eigen::Dynamic> add_noise(
    const Mechanism& m, const Eigen::MatrixBase<Derived>& x, G& g) {
    using T = typename Mechanism::value_type;
    static_assert(std::is_same_v<typename Derived::Scalar, T>,
                  "dpkit::add_noise: the matrix's scalar type must be the mechanism's value_type");
    const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> dense = x;
    const std::vector<T> noisy = m(std::span<const T>(dense.data(), static_cast<std::size_t>(dense.size())), g);
    Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> out(dense.rows(), dense.cols());
    for (Eigen::Index i = 0; i < out.size(); ++i) out.data()[i] = noisy[static_cast<std::size_t>(i)];
    return out;
}

namespace detail {

/// x scaled by the largest factor <= 1 that brings norm(x) to at most bound;
/// the factor is rounded down and re-checked, so rounding never leaves the
/// norm above the bound.
template <class Derived, class Norm>
Eigen::Matrix<double, Derived::RowsAtCompileTime, Derived::ColsAtCompileTime> clip_norm(
    const char* who, const Eigen::MatrixBase<Derived>& x, double bound, Norm norm_of) {
    if (!std::isfinite(bound) || !(bound > 0)) throw_invalid(who, "bound must be finite and > 0", bound);
    if (!x.allFinite()) throw_invalid(who, "input must be finite");
    Eigen::Matrix<double, Derived::RowsAtCompileTime, Derived::ColsAtCompileTime> out = x.template cast<double>();
    const double norm = norm_of(out);
    if (norm <= bound) return out;
    out *= div_down(bound, norm);
    while (norm_of(out) > bound) out *= next_down(1.0);
    return out;
}

}  // namespace detail

/// x scaled down (if needed) so that its L2 norm is at most `bound`; non-finite
/// coefficients are rejected.
template <class Derived>
auto clip_l2(const Eigen::MatrixBase<Derived>& x, double bound) {
    return detail::clip_norm("dpkit::clip_l2", x, bound, [](const auto& v) { return v.norm(); });
}

/// x scaled down (if needed) so that its L1 norm is at most `bound`; non-finite
/// coefficients are rejected.
template <class Derived>
auto clip_l1(const Eigen::MatrixBase<Derived>& x, double bound) {
    return detail::clip_norm("dpkit::clip_l1", x, bound, [](const auto& v) { return v.template lpNorm<1>(); });
}

/// Sum of the rows of `rows` (one row per person) after clipping each row to
/// L2 norm `bound`: a vector sum with L2 sensitivity `bound` under adding or
/// removing one row, ready for a gaussian_mechanism with dimension = cols().
template <class Derived>
Eigen::VectorXd clipped_row_sum_l2(const Eigen::MatrixBase<Derived>& rows, double bound) {
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(rows.cols());
    for (Eigen::Index r = 0; r < rows.rows(); ++r) sum += clip_l2(rows.row(r).transpose(), bound);
    return sum;
}

}  // namespace dpkit
