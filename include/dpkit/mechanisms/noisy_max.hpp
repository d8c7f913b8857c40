#pragma once
/// \file
/// Report-noisy-max and one-shot top-k selection with exact discrete noise.
///
/// report_noisy_max adds independent noise to every integer score and returns
/// the index of the largest noisy score (Dwork & Roth 2014, "The algorithmic
/// foundations of differential privacy", Claim 3.9); oneshot_top_k adds the
/// noise once and returns the k largest, in decreasing order (the noisy top-k
/// of Ding, Wang, Zhang, Kifer, VLDB 2020, "Free gap information from the
/// differentially private sparse vector and noisy max mechanisms", without the
/// gaps). The noise is discrete Laplace, P[z] proportional to exp(-|z|/b) on
/// the integers (Canonne, Kamath, Steinke 2020), or geometric, P[z]
/// proportional to exp(-z/b) on z >= 0: the one-sided, integer analogue of
/// exponential noise, with which report-noisy-max is permute-and-flip (Ding,
/// Kifer, Saghaian et al. 2021, "The permute-and-flip mechanism is identical
/// to report-noisy-max with exponential noise"; McKenna & Sheldon 2020). The
/// geometric variant here is its own mechanism, proved below, not claimed equal
/// to exponential_mechanism. Equal noisy scores are ordered uniformly at random.
///
/// Exactness: scores are int64, noisy scores are exact 128-bit sums, the noise
/// comes from dpkit's exact samplers with a rational scale, and ties are broken
/// with exact uniform draws. No floating-point value touches a score or a noise.
/// Not timing-safe: like the samplers, the work depends on the noise drawn.
///
/// Guarantee (epsilon-DP for the ordered output): let every score move by at
/// most Delta between neighbouring datasets (integer scores then move by at
/// most D = floor(Delta)), and let the scale be b >= 2 k Delta / epsilon
/// (k = 1 for report_noisy_max), or b >= k Delta / epsilon when the scores are
/// monotone (all move in the same direction, as counts do under add/remove).
/// Proof: read a tie-break as an independent U_i uniform on [0, 1) added to the
/// integer noisy score, so that the output is the order of the reals
/// v_i = q_i + Z_i + U_i. For an output (i_1..i_k) and noise (Z, U) producing
/// it on D, move each Z_{i_l} by the integer c_l = q_{i_l} - q'_{i_l} + D (in
/// [0, 2D]) and leave the rest: on D' the chosen v's all rise by exactly D,
/// keeping their order, while every other v rises by at most D, so it stays
/// below them. This translation is injective and changes each of k noise
/// probabilities by at most exp(2D/b) (discrete Laplace: |z| moves by at most
/// c_l; geometric: z rises by c_l >= 0, staying in the support), so
/// P_D'[output] >= exp(-2kD/b) P_D[output] >= exp(-epsilon) P_D[output], and
/// by symmetry the other way. Monotone scores: c_l = q_{i_l} - q'_{i_l} + D
/// when they rise and c_l = q_{i_l} - q'_{i_l} when they fall, both in [0, D].
///
/// Calibration: b = m k Delta / epsilon' (m = 2, or 1 if monotone), with
/// epsilon' the largest double at most epsilon's decimal (the amount an
/// accountant books), rounded up to a dyadic rational (more noise, never less).
/// A scale above 2^56 (epsilon below about m k Delta 2^-56) is refused; scales
/// below 2^-62 are raised to it. cost() is pure_dp{epsilon}: spend it like the
/// exponential mechanism's, accountant.spend(m.cost(), label), before the draw.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <vector>

#include "../detail/exact_decimal.hpp"
#include "../detail/format.hpp"
#include "../detail/int128.hpp"
#include "../detail/rounding.hpp"
#include "../detail/validate.hpp"
#include "../privacy/cost.hpp"
#include "../random/bits.hpp"
#include "../random/samplers.hpp"
#include "../rational.hpp"
#include "parameters.hpp"

namespace dpkit {

/// The noise report_noisy_max and oneshot_top_k add to each score.
enum class selection_noise : std::uint8_t {
    discrete_laplace,  ///< P[z] proportional to exp(-|z| / b) on the integers
    geometric,         ///< P[z] proportional to exp(-z / b) on z >= 0 (one-sided)
};

/// How neighbouring datasets may move the scores: each by at most Delta in any
/// direction, or, when monotone, additionally all in the same direction.
enum class score_monotonicity : std::uint8_t { arbitrary, monotone };

namespace detail {

/// The exact noise of a noisy-max selection of k items (see the file comment).
class selection_noise_sampler {
public:
    selection_noise_sampler(const char* who, double eps, double sensitivity, std::uint64_t k, selection_noise noise,
                            score_monotonicity monotonicity)
        : noise_(noise) {
        if (noise != selection_noise::discrete_laplace && noise != selection_noise::geometric) {
            throw_invalid(who, "noise must be discrete_laplace or geometric", static_cast<int>(noise));
        }
        if (monotonicity != score_monotonicity::arbitrary && monotonicity != score_monotonicity::monotone) {
            throw_invalid(who, "monotonicity must be arbitrary or monotone", static_cast<int>(monotonicity));
        }
        const double m = monotonicity == score_monotonicity::monotone ? 1.0 : 2.0;
        const double b = div_up(mul_up(mul_up(m, sensitivity), static_cast<double>(k)), at_most_declared(eps));
        if (!(b <= 0x1p56)) {
            throw_invalid(who, "epsilon must be >= 2 k score_sensitivity / 2^56 (k score_sensitivity / 2^56 if monotone)",
                          eps);
        }
        const double raised = std::fmax(b, 0x1p-62);
        const int exponent = std::ilogb(raised) + 1;  // 2^(exponent-1) <= raised < 2^exponent
        scale_ = rational::at_least(raised, std::min(62, 62 + exponent));
        laplace_ = discrete_laplace_distribution(scale_);
        geometric_ = geometric_exp_distribution(rational(scale_.denominator(), scale_.numerator(), 0));
    }

    /// The noise scale b (in score units), exactly.
    const rational& scale() const noexcept { return scale_; }
    selection_noise noise() const noexcept { return noise_; }

    /// One noise draw from the pool's bits.
    template <class Pool>
    i128 draw(Pool& bits) const {
        if (noise_ == selection_noise::geometric) return static_cast<i128>(geometric_.draw(bits));
        return static_cast<i128>(laplace_.draw(bits));
    }

private:
    selection_noise noise_;
    rational scale_{1};
    discrete_laplace_distribution laplace_{rational(1)};
    geometric_exp_distribution geometric_{rational(1)};
};

}  // namespace detail

/// Report-noisy-max: the index of the largest noisy score (larger is better),
/// ties broken uniformly at random; epsilon-DP for scores that move by at most
/// score_sensitivity (see the file comment). Immutable; thread-safe to share.
class report_noisy_max {
public:
    report_noisy_max(dpkit::epsilon eps, dpkit::score_sensitivity sensitivity,
                     selection_noise noise = selection_noise::discrete_laplace,
                     score_monotonicity monotonicity = score_monotonicity::arbitrary)
        : epsilon_(detail::require_positive_finite(who, "epsilon", eps.value)),
          sensitivity_(detail::require_positive_finite(who, "score_sensitivity", sensitivity.value)),
          monotonicity_(monotonicity),
          sampler_(who, epsilon_, sensitivity_, 1, noise, monotonicity) {}

    double epsilon() const noexcept { return epsilon_; }
    double score_sensitivity() const noexcept { return sensitivity_; }
    selection_noise noise() const noexcept { return sampler_.noise(); }
    score_monotonicity monotonicity() const noexcept { return monotonicity_; }
    /// The exact noise scale b, in score units.
    const rational& scale() const noexcept { return sampler_.scale(); }
    /// What one selection costs.
    pure_dp cost() const noexcept { return pure_dp{epsilon_}; }

    /// The selected index into `scores` (non-empty).
    template <std::uniform_random_bit_generator G>
    std::size_t operator()(std::span<const std::int64_t> scores, G& g) const {
        if (scores.empty()) detail::throw_invalid(who, "there must be at least one candidate");
        detail::bit_pool<G> bits(g);
        std::size_t chosen = 0;
        std::uint64_t ties = 0;
        detail::i128 best = 0;
        for (std::size_t i = 0; i < scores.size(); ++i) {
            const detail::i128 v = static_cast<detail::i128>(scores[i]) + sampler_.draw(bits);
            if (ties == 0 || v > best) {
                best = v;
                chosen = i;
                ties = 1;
            } else if (v == best) {
                // Reservoir of size one: the k-th tied maximum replaces the choice with probability 1/k.
                ++ties;
                if (detail::bernoulli_one_over(g, ties)) chosen = i;
            }
        }
        return chosen;
    }

private:
    static constexpr const char* who = "dpkit::report_noisy_max";
    double epsilon_;
    double sensitivity_;
    score_monotonicity monotonicity_;
    detail::selection_noise_sampler sampler_;
};

/// One-shot top-k: noise is added once to every score and the k largest noisy
/// scores' indices are returned, largest first (ties in random order). The
/// ordered output is epsilon-DP at noise scale 2 k Delta / epsilon (k Delta /
/// epsilon if monotone); see the file comment. Immutable; thread-safe to share.
class oneshot_top_k {
public:
    oneshot_top_k(dpkit::epsilon eps, dpkit::score_sensitivity sensitivity, dpkit::selections k,
                  selection_noise noise = selection_noise::discrete_laplace,
                  score_monotonicity monotonicity = score_monotonicity::arbitrary)
        : epsilon_(detail::require_positive_finite(who, "epsilon", eps.value)),
          sensitivity_(detail::require_positive_finite(who, "score_sensitivity", sensitivity.value)),
          k_(checked_k(k.value)),
          monotonicity_(monotonicity),
          sampler_(who, epsilon_, sensitivity_, k_, noise, monotonicity) {}

    double epsilon() const noexcept { return epsilon_; }
    double score_sensitivity() const noexcept { return sensitivity_; }
    std::size_t k() const noexcept { return k_; }
    selection_noise noise() const noexcept { return sampler_.noise(); }
    score_monotonicity monotonicity() const noexcept { return monotonicity_; }
    /// The exact noise scale b, in score units.
    const rational& scale() const noexcept { return sampler_.scale(); }
    /// What one selection of k items costs.
    pure_dp cost() const noexcept { return pure_dp{epsilon_}; }

    /// k distinct indices into `scores` (scores.size() >= k), by decreasing noisy score.
    template <std::uniform_random_bit_generator G>
    std::vector<std::size_t> operator()(std::span<const std::int64_t> scores, G& g) const {
        if (scores.size() < k_) detail::throw_invalid(who, "there must be at least k candidates", scores.size());
        const std::size_t n = scores.size();
        std::vector<detail::i128> noisy(n);
        {
            detail::bit_pool<G> bits(g);
            for (std::size_t i = 0; i < n; ++i) noisy[i] = static_cast<detail::i128>(scores[i]) + sampler_.draw(bits);
        }
        // A uniformly random order breaks ties: position in `order` is the tie-break key.
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t{0});
        for (std::size_t i = 0; i + 1 < n; ++i) {
            const auto j = i + static_cast<std::size_t>(uniform_below(g, static_cast<std::uint64_t>(n - i)));
            std::swap(order[i], order[j]);
        }
        std::vector<std::size_t> rank(n);
        for (std::size_t j = 0; j < n; ++j) rank[order[j]] = j;
        const auto first_k = order.begin() + static_cast<std::ptrdiff_t>(k_);
        std::partial_sort(order.begin(), first_k, order.end(), [&](std::size_t a, std::size_t b) {
            return noisy[a] != noisy[b] ? noisy[a] > noisy[b] : rank[a] < rank[b];
        });
        order.resize(k_);
        return order;
    }

private:
    static constexpr const char* who = "dpkit::oneshot_top_k";

    static std::size_t checked_k(std::size_t k) {
        if (k == 0) detail::throw_invalid(who, "k must be >= 1", k);
        return k;
    }

    double epsilon_;
    double sensitivity_;
    std::size_t k_;
    score_monotonicity monotonicity_;
    detail::selection_noise_sampler sampler_;
};

}  // namespace dpkit
