#pragma once
/// \file
/// dpkit::approximate_quantiles: several quantiles of data held in memory,
/// epsilon-DP, sampled exactly. It follows ApproximateQuantiles (Kaplan,
/// Schnapp, Stemmer, ICML 2022, "Differentially private approximate
/// quantiles"), which the authors show more accurate than JointExp (Gillenwater,
/// Joseph, Kulesza, ICML 2021) on most of their data sets and far faster:
/// estimate the middle requested quantile with the single-quantile exponential
/// mechanism (Smith 2011), split the data and the domain at the estimate, and
/// recurse on each side with the quantiles rescaled to it. JointExp's joint
/// distribution needs sums of exponentials to normalise, which no exact integer
/// sampler can form; each step here needs only the single-quantile mechanism,
/// which is sampled exactly as described below.
///
/// Lattice: values are clamped to the declared bounds and quantised to the
/// bounds' fixed-point grid with `lattice_bits` bits (2^bits to 2^(bits+1)
/// steps; fixed_point.hpp), and outputs are grid points (clamped to the
/// bounds). Each requested quantile is read as the nearest multiple of 2^-32.
///
/// One step, on the sorted points x of its part of the data and the grid
/// interval [a, b] of its part of the domain, with relative quantile p = num/den:
/// the grid point y is drawn with probability proportional to
/// 2^(-lambda |den i(y) - num n|), where i(y) = #{x < y} and n = #{x}. This is
/// the exponential mechanism in base 2 (Ilvento, CCS 2020, "Implementing the
/// exponential mechanism with base-2 differential privacy"). Sampling is exact:
/// grid points with the same i(y) form a cell whose length is an integer; a cell
/// is proposed with dyadic weight length * 2^-floor(lambda s) (an exact 128-bit
/// integer weight; cells more than 2^-59 below the best share one bucket
/// proposed by length), and accepted with probability 2^-(the rest), a rational
/// power of 1/2 drawn from fair bits and rational Bernoulli trials (the
/// power-series Bernoulli factory for p^r, r in [0, 1): P[1] = p sum_k
/// (1-p)^k prod_{i<=k} (1 - r/i) = p^r); the point is uniform in the cell. No
/// floating-point value enters the sampling.
///
/// Guarantee: epsilon-DP for add/remove of one privacy unit contributing at most
/// `max_contributions` = k values. With the levels of the recursion at
/// depth = bit_width(m) for m distinct quantiles, each level gets
/// epsilon_level = epsilon / depth (rounded down). One step's score
/// |den i(y) - num n| moves by at most j max(num, den - num) when j of the
/// unit's values enter or leave its part, so lambda = epsilon_level /
/// (2 k max(num, den - num) ln 2), rounded down to a dyadic rational, makes it
/// (j / k) epsilon_level-DP. Given the earlier levels' outputs, a level's parts
/// are disjoint (values equal to a split point go to neither side), so the unit
/// touches parts holding at most k of its values in all: epsilon_level per
/// level, epsilon in total (adaptive composition). cost() is pure_dp{epsilon}.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <ranges>
#include <span>
#include <vector>

#include "../detail/exact_decimal.hpp"
#include "../detail/format.hpp"
#include "../detail/int128.hpp"
#include "../detail/rounding.hpp"
#include "../detail/validate.hpp"
#include "../mechanisms/parameters.hpp"
#include "../privacy/cost.hpp"
#include "../random/samplers.hpp"
#include "../rational.hpp"
#include "fixed_point.hpp"

namespace dpkit {

namespace detail {

/// Bernoulli(2^(-num/den)) for den > 0, exactly: floor(num/den) fair coins must
/// all come up heads, then the power-series factory for (1/2)^r, r = the fraction.
template <std::uniform_random_bit_generator G>
bool bernoulli_half_power(G& g, u128 num, u128 den) {
    const u128 whole = num / den;
    const u128 rem = num % den;
    for (u128 i = 0; i < whole; ++i) {
        if ((draw64(g) >> 63) == 0) return false;
    }
    if (rem == 0) return true;
    for (std::uint64_t k = 1;; ++k) {
        if ((draw64(g) >> 63) != 0) return true;
        u128 scaled = 0;
        const bool stop = checked_mul(den, k, scaled) ? bernoulli_ratio(g, rem, scaled)
                                                     : (bernoulli_ratio(g, rem, den) && bernoulli_one_over(g, k));
        if (stop) return false;
    }
}

/// lambda for one step: epsilon_level / (2 k max(num, den - num) ln 2), rounded
/// down to a dyadic rational with at most 40 numerator bits, capped at 2^20.
inline rational quantile_step_factor(double epsilon_level, u128 num, u128 den, std::uint64_t k) {
    const u128 spread = num > den - num ? num : den - num;
    const double sensitivity = mul_up(static_cast<double>(spread), static_cast<double>(k));  // spread <= 2^32: exact
    const double ln2_up = next_up(0.6931471805599453);
    const double lambda = div_down(epsilon_level, mul_up(mul_up(2.0, sensitivity), ln2_up));
    return rational::at_most(std::fmin(lambda, 0x1p20), 40);
}

/// One step of the recursion: a grid point of [a, b] for relative quantile
/// num/den of the sorted points xs (all in [a, b]), as the header describes.
template <std::uniform_random_bit_generator G>
std::int64_t sample_quantile_point(std::span<const std::int64_t> xs, std::int64_t a, std::int64_t b, u128 num, u128 den,
                                   const rational& lambda, G& g) {
    const std::size_t n = xs.size();
    const std::size_t cells = n + 1;
    std::vector<std::int64_t> start(cells);
    std::vector<std::uint64_t> length(cells);
    std::vector<u128> exponent(cells);  // lambda's numerator times the score: lambda s = exponent / lambda.den
    const u128 target = num * static_cast<u128>(n);
    for (std::size_t i = 0; i < cells; ++i) {
        const std::int64_t lo = i == 0 ? a : xs[i - 1] + 1;
        const std::int64_t hi = i == n ? b : xs[i];
        start[i] = lo;
        length[i] = hi >= lo ? static_cast<std::uint64_t>(hi - lo) + 1 : 0;
        const u128 rank = den * static_cast<u128>(i);
        exponent[i] = lambda.numerator() * (rank > target ? rank - target : target - rank);
    }
    const u128 lden = lambda.denominator();
    u128 best = u128_max;
    for (std::size_t i = 0; i < cells; ++i) {
        if (length[i] != 0) best = std::min(best, exponent[i] / lden);
    }
    constexpr int core_bits = 60;
    std::vector<u128> prefix(cells + 1, 0);
    std::vector<u128> base(cells, 0);  // the power of 1/2 the proposal already paid
    for (std::size_t i = 0; i < cells; ++i) {
        u128 w = 0;
        if (length[i] != 0) {
            const u128 whole = exponent[i] / lden;
            const u128 below = whole - best;
            if (below < core_bits) {
                w = static_cast<u128>(length[i]) << (core_bits - static_cast<int>(below));
                base[i] = whole;
            } else {
                w = length[i];
                base[i] = best + core_bits;
            }
        }
        prefix[i + 1] = prefix[i] + w;
    }
    const u128 total = prefix[cells];
    while (true) {
        const u128 r = uniform_index(g, total);
        const auto it = std::upper_bound(prefix.begin() + 1, prefix.end(), r);
        const auto i = static_cast<std::size_t>(it - prefix.begin() - 1);
        if (bernoulli_half_power(g, exponent[i] - base[i] * lden, lden)) {
            return start[i] + static_cast<std::int64_t>(uniform_below_u64(g, length[i]));
        }
    }
}

}  // namespace detail

/// Several quantiles of in-memory data by ApproximateQuantiles with exact
/// base-2 exponential-mechanism steps (see the file comment): epsilon-DP under
/// add/remove of one unit with at most max_contributions values. Immutable;
/// validated at construction; thread-safe to share.
class approximate_quantiles {
public:
    /// The quantiles (each in [0, 1], any order, read to multiples of 2^-32) of
    /// values clamped to `b`, on a grid of `lattice_bits` (1..30) bits.
    approximate_quantiles(dpkit::bounds b, std::span<const double> quantiles, dpkit::epsilon eps,
                          nan_policy nan = nan_policy::reject, std::uint64_t max_contributions = 1, int lattice_bits = 30)
        : epsilon_(detail::require_positive_finite(who, "epsilon", eps.value)),
          nan_(nan),
          max_contributions_(max_contributions),
          requested_(quantiles.begin(), quantiles.end()) {
        if (lattice_bits < 1 || lattice_bits > 30) detail::throw_invalid(who, "lattice_bits must be in [1, 30]", lattice_bits);
        grid_ = detail::fixed_point::for_bounds(who, b, lattice_bits);
        if (max_contributions_ == 0 || max_contributions_ > (std::uint64_t{1} << 32)) {
            detail::throw_invalid(who, "max_contributions must be in [1, 2^32]", max_contributions_);
        }
        if (requested_.empty()) detail::throw_invalid(who, "there must be at least one quantile");
        for (double q : requested_) {
            if (!(q >= 0 && q <= 1)) detail::throw_invalid(who, "quantile must be in [0, 1]", q);
            const auto a = static_cast<std::uint64_t>(std::round(std::ldexp(q, 32)));
            fixed_.push_back(a);
        }
        distinct_ = fixed_;
        std::sort(distinct_.begin(), distinct_.end());
        distinct_.erase(std::unique(distinct_.begin(), distinct_.end()), distinct_.end());
        depth_ = static_cast<int>(std::bit_width(distinct_.size()));
        epsilon_level_ = detail::div_down(detail::at_most_declared(epsilon_), static_cast<double>(depth_));
        if (!(epsilon_level_ > 0)) detail::throw_invalid(who, "epsilon / depth must be positive", epsilon_);
    }

    double epsilon() const noexcept { return epsilon_; }
    /// What one run costs.
    pure_dp cost() const noexcept { return pure_dp{epsilon_}; }
    /// Levels of the recursion (bit_width of the number of distinct quantiles).
    int depth() const noexcept { return depth_; }
    /// The epsilon each level spends (depth() * epsilon_per_level() <= epsilon()).
    double epsilon_per_level() const noexcept { return epsilon_level_; }
    std::uint64_t max_contributions() const noexcept { return max_contributions_; }
    /// The grid step of the outputs.
    double resolution() const noexcept { return grid_.resolution(); }
    dpkit::bounds bounds() const noexcept { return {grid_.lower, grid_.upper}; }
    /// The quantiles as requested.
    const std::vector<double>& quantiles() const noexcept { return requested_; }
    /// The step factor lambda for relative quantile num/den (exposed for tests).
    rational step_factor(detail::u128 num, detail::u128 den) const {
        return detail::quantile_step_factor(epsilon_level_, num, den, max_contributions_);
    }

    /// The estimates, in the order of quantiles(): non-decreasing in the
    /// requested quantile, inside the bounds. NaN follows the nan_policy; at
    /// most 2^40 values.
    template <std::uniform_random_bit_generator G>
    std::vector<double> operator()(std::span<const double> data, G& g) const {
        std::vector<std::int64_t> xs;
        xs.reserve(data.size());
        for (double x : data) {
            if (std::isnan(x)) {
                if (nan_ == nan_policy::reject) detail::throw_invalid(who, "value must not be NaN (nan_policy::reject)", x);
                continue;
            }
            xs.push_back(grid_.quantize(x) - grid_.q_lower);
        }
        if (xs.size() > (std::size_t{1} << 40)) detail::throw_invalid(who, "at most 2^40 values", xs.size());
        std::sort(xs.begin(), xs.end());
        std::vector<std::int64_t> points(distinct_.size(), 0);
        solve(std::span<const std::int64_t>(xs), 0, grid_.q_upper - grid_.q_lower, 0, detail::u128{1} << 32, 0,
              distinct_.size(), points, g);
        std::vector<double> out;
        out.reserve(fixed_.size());
        for (std::uint64_t a : fixed_) {
            const auto at = static_cast<std::size_t>(std::lower_bound(distinct_.begin(), distinct_.end(), a) - distinct_.begin());
            const double v = grid_.to_value(static_cast<detail::i128>(grid_.q_lower) + points[at]);
            out.push_back(std::clamp(v, grid_.lower, grid_.upper));
        }
        return out;
    }

    /// The estimates for any other range of values (copied first).
    template <std::ranges::input_range R, std::uniform_random_bit_generator G>
        requires(std::convertible_to<std::ranges::range_value_t<R>, double> &&
                 !std::convertible_to<R, std::span<const double>>)
    std::vector<double> operator()(R&& data, G& g) const {
        std::vector<double> copy;
        for (auto&& v : data) copy.push_back(static_cast<double>(v));
        return (*this)(std::span<const double>(copy), g);
    }

private:
    static constexpr const char* who = "dpkit::approximate_quantiles";

    template <std::uniform_random_bit_generator G>
    void solve(std::span<const std::int64_t> xs, std::int64_t a, std::int64_t b, detail::u128 frame_lo,
               detail::u128 frame_hi, std::size_t first, std::size_t last, std::vector<std::int64_t>& points, G& g) const {
        if (first >= last) return;
        const std::size_t mid = first + (last - first) / 2;
        const detail::u128 num = distinct_[mid] - frame_lo;
        const detail::u128 den = frame_hi - frame_lo;
        const std::int64_t v = detail::sample_quantile_point(xs, a, b, num, den, step_factor(num, den), g);
        points[mid] = v;
        const auto below = std::lower_bound(xs.begin(), xs.end(), v);
        const auto above = std::upper_bound(below, xs.end(), v);
        solve(xs.subspan(0, static_cast<std::size_t>(below - xs.begin())), a, v, frame_lo, distinct_[mid], first, mid,
              points, g);
        solve(xs.subspan(static_cast<std::size_t>(above - xs.begin())), v, b, distinct_[mid], frame_hi, mid + 1, last,
              points, g);
    }

    double epsilon_;
    detail::fixed_point grid_;
    nan_policy nan_;
    std::uint64_t max_contributions_;
    std::vector<double> requested_;
    std::vector<std::uint64_t> fixed_;     // requested, as multiples of 2^-32
    std::vector<std::uint64_t> distinct_;  // sorted, distinct
    int depth_ = 1;
    double epsilon_level_ = 0;
};

}  // namespace dpkit
