#pragma once
/// \file
/// Randomized response (Warner 1965), done exactly.
///
/// randomized_response: one private bit. Built from epsilon it reports the
/// truth with probability e^eps / (1 + e^eps) (epsilon-DP, the optimal binary
/// mechanism: Kairouz, Oh, Viswanath 2014); built from the coin-flip survey
/// "answer truthfully with probability p, otherwise answer yes with probability
/// q" it is ln(max(P[yes|yes]/P[yes|no], P[no|no]/P[no|yes]))-DP, which is ln 3
/// for two fair coins.
///
/// generalized_randomized_response: one of k categories, kept with probability
/// e^eps / (e^eps + k - 1), otherwise replaced by one of the other k - 1
/// uniformly (k-RR; Kairouz, Bonawitz, Ramage 2016), epsilon-DP.
///
/// Sampling uses only exact rational Bernoulli trials and Bernoulli(exp(-g))
/// with g = epsilon rounded down to a dyadic rational (more privacy, never less).
/// Each comes with the unbiased estimator of the true frequency from the noisy
/// answers and that estimator's variance.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <concepts>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "../detail/exact_decimal.hpp"
#include "../detail/format.hpp"
#include "../detail/rounding.hpp"
#include "../detail/validate.hpp"
#include "../privacy/cost.hpp"
#include "../random/samplers.hpp"
#include "../rational.hpp"
#include "parameters.hpp"

namespace dpkit {

/// An unbiased estimate and its variance.
struct frequency_estimate {
    double value = 0;     ///< unbiased estimate of the true proportion (may fall outside [0, 1])
    double variance = 0;  ///< plug-in estimate of the estimator's variance
    double std_error() const noexcept { return std::sqrt(variance); }
};

namespace detail {

/// ln(num/den) rounded up, for positive integers below 2^128.
inline double log_ratio_up(u128 num, u128 den) {
    const double n = next_up(static_cast<double>(num));
    const double d = next_down(static_cast<double>(den));
    return log_up(div_up(n, d));
}

inline void check_counts(const char* who, std::size_t yes, std::size_t n) {
    if (n == 0) throw_invalid(who, "the number of responses must be >= 1", n);
    if (yes > n) throw_invalid(who, "the count must not exceed the number of responses", yes);
}

}  // namespace detail

/// Binary randomized response. Immutable; validated at construction.
class randomized_response {
public:
    /// Truth with probability e^eps / (1 + e^eps): epsilon-DP.
    explicit randomized_response(dpkit::epsilon eps) : epsilon_(detail::require_positive_finite(who, "epsilon", eps.value)) {
        // gamma <= the decimal epsilon that the accountant books.
        // (capped at 2^100, where a lie has probability below e^-(2^100) already).
        gamma_ = rational::at_most(std::fmin(detail::at_most_declared(epsilon_), 0x1p100), 62);
        if (gamma_.is_zero()) detail::throw_invalid(who, "epsilon must be >= 2^-60", epsilon_);
        // 1 / (1 + e^-eps) and e^-eps / (1 + e^-eps): finite at every epsilon.
        const double a = std::exp(-epsilon_);
        yes_if_yes_ = 1 / (1 + a);
        yes_if_no_ = a / (1 + a);
    }

    /// The coin-flip survey: with probability p answer truthfully, otherwise
    /// answer "yes" with probability q. Requires p in [0, 1) and q in (0, 1).
    static randomized_response coin_flips(const rational& p_truthful, const rational& q_yes) {
        return randomized_response(p_truthful, q_yes);
    }

    /// The privacy guarantee (for coin flips: the exact epsilon, rounded up).
    double epsilon() const noexcept { return epsilon_; }
    pure_dp cost() const noexcept { return pure_dp{epsilon_}; }
    /// P[answer yes | truth yes] and P[answer yes | truth no].
    double p_yes_given_yes() const noexcept { return yes_if_yes_; }
    double p_yes_given_no() const noexcept { return yes_if_no_; }

    /// The randomized answer for a true bit.
    template <std::uniform_random_bit_generator G>
    bool operator()(bool truth, G& g) const {
        if (coins_) {
            if (bernoulli(g, p_)) return truth;
            return bernoulli(g, q_);
        }
        // Lie with probability a / (1 + a), a = exp(-gamma): each round tells the
        // truth with probability 1/2, lies with probability a/2, else repeats.
        while (true) {
            if ((detail::draw64(g) >> 63) == 0) return truth;
            if (bernoulli_exp(g, gamma_)) return !truth;
        }
    }

    /// Unbiased estimate of the true proportion of "yes" from `yes` noisy yes
    /// answers out of n: (yes/n - P[yes|no]) / (P[yes|yes] - P[yes|no]).
    frequency_estimate estimate(std::size_t yes, std::size_t n) const {
        detail::check_counts("dpkit::randomized_response::estimate", yes, n);
        const double lambda = static_cast<double>(yes) / static_cast<double>(n);
        const double gap = yes_if_yes_ - yes_if_no_;
        return frequency_estimate{(lambda - yes_if_no_) / gap,
                                  lambda * (1 - lambda) / (static_cast<double>(n) * gap * gap)};
    }

    /// The estimator's exact variance when the true proportion is `proportion`.
    double estimator_variance(double proportion, std::size_t n) const {
        if (!(proportion >= 0 && proportion <= 1)) {
            detail::throw_invalid("dpkit::randomized_response::estimator_variance", "proportion must be in [0, 1]",
                                  proportion);
        }
        const double lambda = yes_if_no_ + proportion * (yes_if_yes_ - yes_if_no_);
        const double gap = yes_if_yes_ - yes_if_no_;
        return lambda * (1 - lambda) / (static_cast<double>(n) * gap * gap);
    }

private:
    static constexpr const char* who = "dpkit::randomized_response";

    randomized_response(const rational& p, const rational& q) : coins_(true), p_(p), q_(q) {
        using detail::u128;
        if (!(p.numerator() < p.denominator())) detail::throw_invalid(who, "p_truthful must be in [0, 1)", p.to_double());
        if (q.is_zero() || !(q.numerator() < q.denominator())) {
            detail::throw_invalid(who, "q_yes must be in (0, 1)", q.to_double());
        }
        const u128 pn = p.numerator();
        const u128 pd = p.denominator();
        const u128 qn = q.numerator();
        const u128 qd = q.denominator();
        if (detail::bit_width(pd) + detail::bit_width(qd) > 126) {
            detail::throw_invalid(who, "p_truthful and q_yes denominators too large (product must fit 126 bits)");
        }
        // Over the common denominator pd*qd:
        //   P[yes|yes] = pn qd + (pd - pn) qn,   P[yes|no] = (pd - pn) qn,
        //   P[no|no] = pd qd - (pd - pn) qn,     P[no|yes] = (pd - pn)(qd - qn).
        const u128 total = pd * qd;
        const u128 yes_no = (pd - pn) * qn;
        const u128 yes_yes = pn * qd + yes_no;
        const u128 no_no = total - yes_no;
        const u128 no_yes = (pd - pn) * (qd - qn);
        epsilon_ = detail::booked_up(std::fmax(detail::log_ratio_up(yes_yes, yes_no), detail::log_ratio_up(no_no, no_yes)));
        yes_if_yes_ = static_cast<double>(yes_yes) / static_cast<double>(total);
        yes_if_no_ = static_cast<double>(yes_no) / static_cast<double>(total);
    }

    double epsilon_ = 0;
    bool coins_ = false;
    rational gamma_{0};
    rational p_{0};
    rational q_{0};
    double yes_if_yes_ = 0;
    double yes_if_no_ = 0;
};

/// k-ary randomized response over a fixed set of categories (k >= 2).
///
/// Each response keeps the truth with probability p_keep and reports each other
/// category with probability p_other, where p_other is 1 / (e^eps + k - 1)
/// rounded up to a dyadic rational (relative error below 2^-60) and
/// p_keep = 1 - (k - 1) p_other: p_keep / p_other <= e^eps, so the mechanism is
/// epsilon-DP. One exact Bernoulli trial and at most one uniform draw per
/// response: the time does not grow with k. Categories that are totally ordered
/// are checked and looked up in O(log k); categories that only compare equal
/// cost O(k^2) to check and O(k) per lookup.
template <class Category = std::size_t>
class generalized_randomized_response {
public:
    /// epsilon-DP over the given distinct categories.
    generalized_randomized_response(dpkit::epsilon eps, std::vector<Category> categories)
        : epsilon_(detail::require_positive_finite(who, "epsilon", eps.value)), categories_(std::move(categories)) {
        k_ = categories_.size();
        check_k(k_);
        if constexpr (std::totally_ordered<Category>) {
            order_.resize(k_);
            for (std::size_t i = 0; i < k_; ++i) order_[i] = i;
            std::sort(order_.begin(), order_.end(),
                      [this](std::size_t a, std::size_t b) { return categories_[a] < categories_[b]; });
            for (std::size_t i = 1; i < k_; ++i) {
                if (!(categories_[order_[i - 1]] < categories_[order_[i]])) {
                    detail::throw_invalid(who, "categories must be distinct");
                }
            }
        } else {
            for (std::size_t i = 0; i < k_; ++i) {
                for (std::size_t j = i + 1; j < k_; ++j) {
                    if (categories_[i] == categories_[j]) detail::throw_invalid(who, "categories must be distinct");
                }
            }
        }
        init();
    }

    /// epsilon-DP over the categories 0, 1, ..., k-1 (2 <= k <= 2^40; nothing of size k is stored).
    generalized_randomized_response(dpkit::epsilon eps, std::size_t k)
        requires std::same_as<Category, std::size_t>
        : epsilon_(detail::require_positive_finite(who, "epsilon", eps.value)), k_(k), indexed_(true) {
        check_k(k_);
        init();
    }

    /// The epsilon it was built for (the loss is at most its decimal value).
    double epsilon() const noexcept { return epsilon_; }
    pure_dp cost() const noexcept { return pure_dp{epsilon_}; }
    std::size_t size() const noexcept { return k_; }
    /// The categories, in order (for the index form: 0, ..., k-1, built on each call).
    std::vector<Category> categories() const {
        if constexpr (std::same_as<Category, std::size_t>) {
            if (indexed_) {
                std::vector<Category> out(k_);
                for (std::size_t i = 0; i < k_; ++i) out[i] = i;
                return out;
            }
        }
        return categories_;
    }
    /// P[report the true category] and P[report one given other category]: the
    /// exact probabilities the sampler uses, as nearest doubles.
    double p_keep() const noexcept { return p_keep_; }
    double p_other() const noexcept { return p_other_; }

    /// Position of a category; throws if it is not one of them.
    std::size_t index_of(const Category& c) const {
        if constexpr (std::same_as<Category, std::size_t>) {
            if (indexed_) {
                if (c >= k_) detail::throw_invalid(who, "value is not one of the categories");
                return c;
            }
        }
        if constexpr (std::totally_ordered<Category>) {
            const auto it = std::lower_bound(order_.begin(), order_.end(), c,
                                             [this](std::size_t i, const Category& v) { return categories_[i] < v; });
            if (it == order_.end() || !(categories_[*it] == c)) detail::throw_invalid(who, "value is not one of the categories");
            return *it;
        } else {
            const auto it = std::find(categories_.begin(), categories_.end(), c);
            if (it == categories_.end()) detail::throw_invalid(who, "value is not one of the categories");
            return static_cast<std::size_t>(it - categories_.begin());
        }
    }

    /// The randomized index for a true index in [0, k).
    template <std::uniform_random_bit_generator G>
    std::size_t respond_index(std::size_t truth, G& g) const {
        if (truth >= k_) detail::throw_invalid(who, "index must be < the number of categories", truth);
        if (!bernoulli(g, change_)) return truth;
        // One of the other k - 1 categories, uniformly.
        const auto u = 1 + static_cast<std::size_t>(uniform_below(g, static_cast<std::uint64_t>(k_ - 1)));
        return (truth + u) % k_;
    }

    /// The randomized category for a true category.
    template <std::uniform_random_bit_generator G>
    Category operator()(const Category& truth, G& g) const {
        const std::size_t i = respond_index(index_of(truth), g);
        if constexpr (std::same_as<Category, std::size_t>) {
            if (indexed_) return i;
        }
        return categories_[i];
    }

    /// Unbiased estimates of every category's true frequency from the counts of
    /// noisy reports (counts[i] for category i): (c_i/n - q) / (p - q).
    std::vector<frequency_estimate> estimate(std::span<const std::size_t> counts) const {
        if (counts.size() != k_) {
            detail::throw_invalid("dpkit::generalized_randomized_response::estimate",
                                  "counts must have one entry per category", counts.size());
        }
        std::size_t n = 0;
        for (auto c : counts) n += c;
        detail::check_counts("dpkit::generalized_randomized_response::estimate", 0, n);
        std::vector<frequency_estimate> out;
        out.reserve(k_);
        for (auto c : counts) {
            const double lambda = static_cast<double>(c) / static_cast<double>(n);
            out.push_back({(lambda - p_other_) / gap_, lambda * (1 - lambda) / (static_cast<double>(n) * gap_ * gap_)});
        }
        return out;
    }

    /// Exact variance of one category's estimator when its true frequency is f.
    double estimator_variance(double frequency, std::size_t n) const {
        const double lambda = p_other_ + frequency * gap_;
        return lambda * (1 - lambda) / (static_cast<double>(n) * gap_ * gap_);
    }

private:
    static constexpr const char* who = "dpkit::generalized_randomized_response";
    static constexpr std::size_t max_categories = std::size_t{1} << 40;

    static void check_k(std::size_t k) {
        if (k < 2) detail::throw_invalid(who, "there must be at least 2 categories", k);
        if (k > max_categories) detail::throw_invalid(who, "there must be at most 2^40 categories", k);
    }

    void init() {
        using namespace detail;
        // p_other >= 1 / (e^eps' + k - 1) for eps' = the booked decimal epsilon (or
        // less): an upper bound on exp(-ln(e^eps' + k - 1)), from
        // ln(e^eps' + k - 1) = eps' + log1p((k - 1) e^-eps') rounded down.
        const double target = at_most_declared(epsilon_);
        const double km1 = static_cast<double>(k_ - 1);  // exact: k <= 2^40
        const double log_total = add_down(target, log1p_down(mul_down(km1, exp_down(-target))));
        const rational other = rational::at_least(exp_up(-log_total), 62);
        // change = (k - 1) p_other, exactly: numerator < 2^102, denominator <= 2^126.
        change_ = rational(other.numerator() * static_cast<u128>(k_ - 1), other.denominator(), 0);
        if (!(change_.numerator() < change_.denominator())) {
            throw_invalid(who, "epsilon too small for this many categories", epsilon_);
        }
        p_other_ = other.to_double();
        p_keep_ = static_cast<double>(change_.denominator() - change_.numerator()) /
                  static_cast<double>(change_.denominator());
        gap_ = p_keep_ - p_other_;
        if (!(gap_ > 0)) throw_invalid(who, "epsilon too small: the responses would not depend on the truth", epsilon_);
    }

    double epsilon_;
    std::vector<Category> categories_;
    std::vector<std::size_t> order_;  // indices sorted by category (ordered categories only)
    std::size_t k_ = 0;
    bool indexed_ = false;
    rational change_{0};
    double p_keep_ = 0;
    double p_other_ = 0;
    double gap_ = 0;
};

}  // namespace dpkit
