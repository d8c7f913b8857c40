#pragma once
/// \file
/// The exponential mechanism for selection, done exactly as permute-and-flip
/// (McKenna & Sheldon, NeurIPS 2020, "Permute-and-Flip: a new mechanism for
/// differentially private selection"): visit the candidates in a uniformly
/// random order and stop at candidate r with probability
/// exp(-epsilon (q* - q_r) / (2 Delta)), where q* is the best score. Its
/// expected error is never worse than the classic exponential mechanism's
/// (McSherry & Talwar 2007), and it equals report-noisy-max with exponential
/// noise (Ding, Kifer, Saghaian et al. 2021).
///
/// Guarantee: for scores that change by at most Delta (score_sensitivity)
/// between neighbouring datasets, the selected index is epsilon-DP.
///
/// Exactness (Ilvento 2020, "Implementing the exponential mechanism with
/// base-2 differential privacy", shows what floating-point exp and softmax leak):
/// scores are integers, the factor c = epsilon / (2 Delta) is rounded down to a
/// dyadic rational (a smaller epsilon, never a larger one: the mechanism is then
/// permute-and-flip at 2 Delta c <= epsilon), and each stop is an exact
/// Bernoulli(exp(-gamma)) trial on the rational gamma = c (q* - q_r) (CKS20
/// Algorithm 1). No floating-point value touches the scores. gamma is capped at
/// 2^62, which is permute-and-flip on the scores max(q_r, q* - 2^62 / c): still
/// Delta-sensitive, so still epsilon-DP.
///
/// top_k_selection peels k items by k permute-and-flips at epsilon / k each
/// (basic composition: epsilon in total). Report-noisy-max and one-shot top-k
/// with exact discrete noise are in noisy_max.hpp.

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
#include "../random/samplers.hpp"
#include "../rational.hpp"
#include "parameters.hpp"

namespace dpkit {

/// Permute-and-flip selection of one index from integer scores (larger is better).
/// Immutable; validated at construction; thread-safe to share.
class exponential_mechanism {
public:
    exponential_mechanism(dpkit::epsilon eps, dpkit::score_sensitivity sensitivity)
        : epsilon_(detail::require_positive_finite(who, "epsilon", eps.value)),
          sensitivity_(detail::require_positive_finite(who, "score_sensitivity", sensitivity.value)) {
        // c = epsilon' / (2 Delta) rounded down, epsilon' <= the booked decimal epsilon.
        const double c = detail::div_down(detail::at_most_declared(epsilon_), detail::mul_up(2.0, sensitivity_));
        factor_ = rational::at_most(std::fmin(c, 0x1p60), 40);
    }

    double epsilon() const noexcept { return epsilon_; }
    double score_sensitivity() const noexcept { return sensitivity_; }
    /// What one selection costs.
    pure_dp cost() const noexcept { return pure_dp{epsilon_}; }
    /// The exact rational c with stop probability exp(-c (q* - q_r)).
    const rational& factor() const noexcept { return factor_; }

    /// The selected index into `scores` (non-empty). The running time depends on
    /// the scores (as any permute-and-flip): see the timing notes in the README.
    template <std::uniform_random_bit_generator G>
    std::size_t operator()(std::span<const std::int64_t> scores, G& g) const {
        if (scores.empty()) detail::throw_invalid(who, "there must be at least one candidate");
        const std::int64_t best = *std::max_element(scores.begin(), scores.end());
        std::vector<std::size_t> order(scores.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        for (std::size_t i = 0; i < order.size(); ++i) {
            const auto j = i + static_cast<std::size_t>(uniform_below(g, static_cast<std::uint64_t>(order.size() - i)));
            std::swap(order[i], order[j]);
            const std::size_t r = order[i];
            if (bernoulli_exp(g, gamma(best, scores[r]))) return r;
        }
        return order.back();  // unreachable: the best candidate always stops (gamma = 0)
    }

    /// gamma = c (q* - q), exactly, capped at 2^62.
    rational gamma(std::int64_t best, std::int64_t score) const {
        const auto diff = static_cast<detail::u128>(static_cast<detail::i128>(best) - static_cast<detail::i128>(score));
        detail::u128 num = 0;
        if (diff == 0 || factor_.is_zero()) return rational(0);
        if (!detail::checked_mul(factor_.numerator(), diff, num) ||
            num / factor_.denominator() >= (detail::u128{1} << 62)) {
            return rational(std::uint64_t{1} << 62);
        }
        return rational(num, factor_.denominator(), 0);
    }

private:
    static constexpr const char* who = "dpkit::exponential_mechanism";
    double epsilon_;
    double sensitivity_;
    rational factor_{0};
};

/// k distinct indices by repeated permute-and-flip ("peeling"): each round runs
/// at epsilon / k on the candidates not yet chosen; epsilon-DP in total by basic
/// composition (the rounds' booked decimals add up to at most epsilon's).
class top_k_selection {
public:
    top_k_selection(dpkit::epsilon eps, dpkit::score_sensitivity sensitivity, dpkit::selections k)
        : epsilon_(detail::require_positive_finite(who, "epsilon", eps.value)),
          k_(k.value),
          round_(dpkit::epsilon{round_epsilon(eps.value, k.value)}, sensitivity) {}

    double epsilon() const noexcept { return epsilon_; }
    std::size_t k() const noexcept { return k_; }
    pure_dp cost() const noexcept { return pure_dp{epsilon_}; }
    /// The mechanism each round runs.
    const exponential_mechanism& round() const noexcept { return round_; }

    /// k distinct indices, best first in the order chosen (scores.size() >= k).
    template <std::uniform_random_bit_generator G>
    std::vector<std::size_t> operator()(std::span<const std::int64_t> scores, G& g) const {
        if (scores.size() < k_) detail::throw_invalid(who, "there must be at least k candidates", scores.size());
        std::vector<std::size_t> remaining(scores.size());
        std::iota(remaining.begin(), remaining.end(), std::size_t{0});
        std::vector<std::int64_t> left(scores.begin(), scores.end());
        std::vector<std::size_t> out;
        for (std::size_t round = 0; round < k_; ++round) {
            const std::size_t pick = round_(std::span<const std::int64_t>(left), g);
            out.push_back(remaining[pick]);
            remaining.erase(remaining.begin() + static_cast<std::ptrdiff_t>(pick));
            left.erase(left.begin() + static_cast<std::ptrdiff_t>(pick));
        }
        return out;
    }

private:
    static constexpr const char* who = "dpkit::top_k_selection";

    static double round_epsilon(double eps, std::size_t k) {
        if (k == 0) detail::throw_invalid(who, "k must be >= 1", k);
        detail::require_positive_finite(who, "epsilon", eps);
        const double each = detail::equal_share(eps, k);
        if (!(each > 0)) detail::throw_invalid(who, "epsilon / k must be positive", eps);
        return each;
    }

    double epsilon_;
    std::size_t k_;
    exponential_mechanism round_;
};

}  // namespace dpkit
