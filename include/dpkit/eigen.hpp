#pragma once
/// \file
/// Opt-in Eigen 3.4 integration (CMake target dpkit::eigen): the Laplace and
/// Gaussian mechanisms on Eigen vectors and matrices, norm clipping, and
/// clipped_row_sum, the exact row-wise aggregate (one row per privacy unit)
/// whose sum and mean vector are released with vector noise.
/// Functions take const Eigen::MatrixBase<Derived>& (any expression).

#include <Eigen/Core>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "accounting/accountant.hpp"
#include "aggregates/bounded_mean.hpp"
#include "aggregates/fixed_point.hpp"
#include "aggregates/release.hpp"
#include "aggregates/serialization.hpp"
#include "detail/format.hpp"
#include "detail/int128.hpp"
#include "detail/rounding.hpp"
#include "detail/validate.hpp"
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

/// Adds the mechanism's noise to every coefficient of x in place (x must have
/// m.dimension() coefficients), exactly as add_noise would return it; NaN
/// anywhere throws before any noise is drawn. One pool of random bits feeds
/// all coefficients (faster per element than scalar calls).
template <class Mechanism, class Derived, std::uniform_random_bit_generator G>
    requires detail::vector_mechanism<Mechanism>
void add_noise_in_place(const Mechanism& m, Eigen::PlainObjectBase<Derived>& x, G& g) {
    using T = typename Mechanism::value_type;
    static_assert(std::is_same_v<typename Derived::Scalar, T>,
                  "dpkit::add_noise_in_place: the matrix's scalar type must be the mechanism's value_type");
    m.add_noise(std::span<T>(x.data(), static_cast<std::size_t>(x.size())), g);
}

/// Fills x (any size) with independent draws of the mechanism's noise, in the
/// units of the values: the batch form of m(0, g) for every coefficient.
template <class Mechanism, class Derived, std::uniform_random_bit_generator G>
    requires detail::vector_mechanism<Mechanism>
void fill_noise(const Mechanism& m, Eigen::PlainObjectBase<Derived>& x, G& g) {
    using T = typename Mechanism::value_type;
    static_assert(std::is_same_v<typename Derived::Scalar, T>,
                  "dpkit::fill_noise: the matrix's scalar type must be the mechanism's value_type");
    m.fill_noise(std::span<T>(x.data(), static_cast<std::size_t>(x.size())), g);
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

/// Which norm bounds each row of a clipped_row_sum.
enum class row_norm : std::uint8_t {
    l1 = 1,
    l2 = 2,
};

/// A released vector: the noisy vector and, for each coordinate, an interval
/// [lower(i), upper(i)] holding the exact coordinate with probability >= level
/// (marginally, coordinate by coordinate).
struct released_vector {
    Eigen::VectorXd value;
    Eigen::VectorXd lower;
    Eigen::VectorXd upper;
    double level;
    std::vector<release_cost> costs;
};

/// The exact sum (and mean) of clipped row vectors, one row per privacy unit
/// (add/remove one unit, which contributes at most `max_contributions` rows).
///
/// Each row is clipped to L1 or L2 norm `bound` (infinite coordinates are first
/// clamped to +-bound; NaN follows the nan_policy), then every coordinate is
/// rounded to the fixed-point step r = 2^(ilogb(bound) - 20), which depends on
/// the bound only, and summed exactly in 128-bit integers: the state is the same
/// under any order and any split into shards. Rounding moves a row by at most
/// r/2 per coordinate, which is charged to the sensitivity honestly: one row
/// moves the sum by at most bound/r + sqrt(d)/2 steps in L2 and bound/r + d/2
/// in L1 (an L2-bounded row by sqrt(d) bound/r + d/2 in L1). Gaussian noise
/// (multivariate discrete Gaussian, zCDP calibration) or Laplace noise (discrete
/// Laplace per coordinate) is added in steps: integer arithmetic throughout.
class clipped_row_sum {
public:
    /// Rows of `dim` coefficients clipped to `norm` <= bound.
    clipped_row_sum(dpkit::dimension dim, row_norm norm, double bound, nan_policy nan = nan_policy::reject,
                    std::uint64_t max_contributions = 1)
        : d_(detail::require_dimension(who, dim.value)), norm_(norm), bound_(bound), nan_(nan), cap_(max_contributions) {
        if (!std::isfinite(bound) || !(bound > 0)) detail::throw_invalid(who, "bound must be finite and > 0", bound);
        if (norm != row_norm::l1 && norm != row_norm::l2) detail::throw_invalid(who, "norm must be row_norm::l1 or row_norm::l2");
        if (cap_ == 0) detail::throw_invalid(who, "max_contributions must be >= 1", cap_);
        exponent_ = std::ilogb(bound) - 20;
        if (exponent_ < std::numeric_limits<double>::min_exponent - 1) detail::throw_invalid(who, "bound must be >= 2^-1000", bound);
        if (d_ > (std::size_t{1} << 32)) detail::throw_invalid(who, "dimension must be <= 2^32", d_);
        sums_.assign(d_, 0);
    }

    /// Adds one unit's row (a vector or 1 x d / d x 1 matrix expression).
    template <class Derived>
    void add(const Eigen::MatrixBase<Derived>& row) {
        check_open("add");
        if (static_cast<std::size_t>(row.size()) != d_) {
            detail::throw_invalid(who, "a row must have dimension() coefficients", row.size());
        }
        Eigen::VectorXd v(static_cast<Eigen::Index>(d_));
        for (Eigen::Index i = 0; i < v.size(); ++i) {
            const double x = static_cast<double>(row.derived().coeff(i));
            if (std::isnan(x)) {
                if (nan_ == nan_policy::reject) detail::throw_invalid(who, "row must not contain NaN (nan_policy::reject)", x);
                return;
            }
            v(i) = std::clamp(x, -bound_, bound_);
        }
        const Eigen::VectorXd c = norm_ == row_norm::l2 ? clip_l2(v, bound_) : clip_l1(v, bound_);
        for (std::size_t i = 0; i < d_; ++i) {
            const auto q = static_cast<std::int64_t>(std::round(std::ldexp(c(static_cast<Eigen::Index>(i)), -exponent_)));
            sums_[i] = detail::checked_add(who, sums_[i], q);
        }
        if (n_ == UINT64_MAX) throw overflow_error("dpkit::clipped_row_sum: more than 2^64 - 1 rows");
        ++n_;
    }

    /// Adds every row of a matrix (one row per unit).
    template <class Derived>
    void add_rows(const Eigen::MatrixBase<Derived>& rows) {
        for (Eigen::Index r = 0; r < rows.rows(); ++r) add(rows.row(r));
    }

    /// Adds another shard's state (same dimension, norm, bound, NaN policy and cap; neither released).
    void merge(const clipped_row_sum& o) {
        check_open("merge");
        if (o.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        if (o.d_ != d_) detail::throw_invalid(who, "cannot merge sums with different dimensions", o.d_);
        if (o.norm_ != norm_) detail::throw_invalid(who, "cannot merge sums clipped in different norms");
        if (o.bound_ != bound_) detail::throw_invalid(who, "cannot merge sums with different bounds", o.bound_);
        if (o.nan_ != nan_) detail::throw_invalid(who, "cannot merge sums with different nan_policy");
        if (o.cap_ != cap_) detail::throw_invalid(who, "cannot merge sums with different max_contributions", o.cap_);
        if (n_ > UINT64_MAX - o.n_) throw overflow_error("dpkit::clipped_row_sum: more than 2^64 - 1 rows");
        for (std::size_t i = 0; i < d_; ++i) sums_[i] = detail::checked_add(who, sums_[i], o.sums_[i]);
        n_ += o.n_;
    }

    std::size_t dimension() const noexcept { return d_; }
    double bound() const noexcept { return bound_; }
    std::uint64_t max_contributions() const noexcept { return cap_; }
    bool is_released() const noexcept { return released_; }
    /// Sensitivity of the exact sum, in the values' units, in the norm the noise uses.
    double l2_sensitivity() const { return std::ldexp(l2_units(), exponent_); }
    double l1_sensitivity() const { return std::ldexp(l1_units(), exponent_); }

    /// The interval around each coordinate that release_sum with this noise
    /// would report, as offsets from the released value, without spending.
    template <noise_spec Noise>
    interval noise_interval(const Noise& noise, double level) const {
        detail::check_level(level);
        const double w = std::ldexp(confidence_interval(mechanism(noise), level).upper, exponent_);
        return interval{-w, w};
    }

    /// Releases the noisy sum once.
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    released_vector release_sum(accountant<Rule>& acct, const Noise& noise, double level, G& g, std::string_view label) {
        check_open("release");
        detail::check_level(level);
        const auto m = mechanism(noise);
        const double half = confidence_interval(m, level).upper;
        Eigen::VectorXd value(static_cast<Eigen::Index>(d_));
        for (std::size_t i = 0; i < d_; ++i) value(static_cast<Eigen::Index>(i)) = noisy(sums_[i], m, g);
        auto costs = detail::spend_parts(acct, std::array{std::pair{std::string(label), Rule::cost_of(m)}});
        released_ = true;
        const double w = std::ldexp(half, exponent_);
        return released_vector{value, value.array() - w, value.array() + w, level, std::move(costs)};
    }

    /// Releases the noisy mean vector once: a noisy count (sensitivity
    /// max_contributions) and the noisy sum, spent together; the budget split
    /// is mean_split (half each by default). Coordinates are clamped to
    /// [-bound, bound]; intervals come from a union bound over the two parts.
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    released_vector release_mean(accountant<Rule>& acct, const Noise& noise, double level, G& g, std::string_view label,
                                 mean_split split = {}) {
        check_open("release");
        detail::check_level(level);
        const auto eps = detail::split_amount(who, noise.epsilon.value, std::array{split.count, split.sum});
        Noise count_noise = noise;
        Noise sum_noise = noise;
        count_noise.epsilon = dpkit::epsilon{eps[0]};
        sum_noise.epsilon = dpkit::epsilon{eps[1]};
        if constexpr (std::same_as<Noise, gaussian_noise>) {
            const auto del = detail::split_amount(who, noise.delta.value, std::array{split.count, split.sum});
            count_noise.delta = dpkit::delta{del[0]};
            sum_noise.delta = dpkit::delta{del[1]};
        }
        const double part_level = 1 - (1 - level) / 2;
        const auto c = detail::draw_integer<Rule>(static_cast<detail::i128>(n_), cap_, count_noise, part_level, g);
        const auto m = mechanism(sum_noise);
        const double half = confidence_interval(m, part_level).upper;
        Eigen::VectorXd sum(static_cast<Eigen::Index>(d_));
        for (std::size_t i = 0; i < d_; ++i) sum(static_cast<Eigen::Index>(i)) = noisy(sums_[i], m, g);
        auto costs = detail::spend_parts(acct, std::array{std::pair{std::string(label) + " (count)", c.cost},
                                                          std::pair{std::string(label) + " (sum)", Rule::cost_of(m)}});
        released_ = true;
        const double n = std::max(1.0, c.scaled(0));
        const interval n_ci = around(c.scaled(0), c.noise);
        const double w = std::ldexp(half, exponent_);
        released_vector out{Eigen::VectorXd(static_cast<Eigen::Index>(d_)), Eigen::VectorXd(static_cast<Eigen::Index>(d_)),
                            Eigen::VectorXd(static_cast<Eigen::Index>(d_)), level, std::move(costs)};
        for (Eigen::Index i = 0; i < sum.size(); ++i) {
            out.value(i) = std::clamp(sum(i) / n, -bound_, bound_);
            const interval ci = detail::mean_interval(0.0, interval{sum(i) - w, sum(i) + w}, n_ci, -bound_, bound_);
            out.lower(i) = ci.lower;
            out.upper(i) = ci.upper;
        }
        return out;
    }

    /// The versioned, platform-independent state (see aggregates/serialization.hpp).
    std::vector<std::byte> serialize() const {
        detail::byte_writer w(aggregate_kind::row_sum, released_);
        w.u64(d_);
        w.u8(static_cast<std::uint8_t>(norm_));
        w.f64(bound_);
        w.u8(static_cast<std::uint8_t>(nan_));
        w.u64(cap_);
        w.u64(n_);
        for (const auto& s : sums_) w.i128v(s);
        return w.take();
    }
    /// Rebuilds an unreleased state; refuses anything malformed, released or out of range.
    static clipped_row_sum deserialize(std::span<const std::byte> bytes) {
        detail::byte_reader r(who, bytes, aggregate_kind::row_sum);
        const std::uint64_t d = r.u64();
        const std::uint8_t norm = r.u8();
        const double bound = r.f64();
        const std::uint8_t nan = r.u8();
        if (nan > 1) r.fail("malformed state (bad nan_policy)");
        const std::uint64_t cap = r.u64();
        if (d > (std::uint64_t{1} << 32) || bytes.size() < 16 * d) r.fail("malformed state (truncated)");
        clipped_row_sum s(dpkit::dimension{static_cast<std::size_t>(d)}, static_cast<row_norm>(norm), bound,
                          static_cast<nan_policy>(nan), cap);
        s.n_ = r.u64();
        // Each coordinate of a row is at most bound/r + 1/2 steps in magnitude.
        const auto limit = static_cast<detail::i128>(std::ldexp(bound, -s.exponent_) + 1) * static_cast<detail::i128>(s.n_);
        for (auto& v : s.sums_) {
            v = r.i128v();
            if (v > limit || v < -limit) r.fail("malformed state (a coordinate sum outside what the bound and count allow)");
        }
        r.finish();
        return s;
    }

private:
    static constexpr const char* who = "dpkit::clipped_row_sum";

    double l2_units() const {
        const double per_row = detail::add_up(std::ldexp(bound_, -exponent_), detail::mul_up(0.5, detail::sqrt_up(static_cast<double>(d_))));
        return detail::mul_up(per_row, static_cast<double>(cap_));
    }
    double l1_units() const {
        const double scaled = std::ldexp(bound_, -exponent_);
        const double norm = norm_ == row_norm::l1 ? scaled : detail::mul_up(detail::sqrt_up(static_cast<double>(d_)), scaled);
        return detail::mul_up(detail::add_up(norm, 0.5 * static_cast<double>(d_)), static_cast<double>(cap_));
    }
    auto mechanism(const gaussian_noise& n) const {
        return gaussian_mechanism<std::int64_t>(n.epsilon, n.delta, dpkit::l2_sensitivity{l2_units()}, dpkit::dimension{d_});
    }
    auto mechanism(const laplace_noise& n) const {
        return laplace_mechanism<std::int64_t>(n.epsilon, dpkit::l1_sensitivity{l1_units()}, dpkit::dimension{d_});
    }
    template <class M, class G>
    double noisy(detail::i128 exact, const M& m, G& g) const {
        return std::ldexp(static_cast<double>(exact + static_cast<detail::i128>(m.noise_distribution()(g))), exponent_);
    }
    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the sum was already released");
    }

    std::size_t d_;
    row_norm norm_;
    double bound_;
    nan_policy nan_;
    std::uint64_t cap_;
    int exponent_ = 0;
    std::uint64_t n_ = 0;
    std::vector<detail::i128> sums_;
    bool released_ = false;
};

}  // namespace dpkit
