#pragma once
/// \file
/// Partition selection: which keys of a histogram whose keys nobody listed in
/// advance may be released. A key held by one privacy unit alone must be
/// released with probability at most delta; every other key is released with a
/// probability that changes by at most a factor e^epsilon (plus delta) when one
/// unit is added or removed. Each unit holds at most `max_partitions` keys (L0,
/// enforced by contribution bounding), so each key gets epsilon / L0 and
/// delta / L0 of the budget where the method needs it (a union bound).
///
/// Methods (all exact: integer noise and rational probabilities):
///  - laplace_threshold: units + Z with Z discrete Laplace of scale L0 / epsilon
///    (the count's L1 sensitivity is L0), kept when it reaches the smallest
///    integer threshold tau with P[1 + Z >= tau] <= delta / L0 (Korolova,
///    Kenthapadi, Mishra, Ntoulas 2009; Google's partition selection).
///  - gaussian_threshold: units + Z with Z discrete Gaussian for L2 sensitivity
///    sqrt(L0) at (epsilon, delta / 2), kept at the smallest threshold with
///    P[1 + Z >= tau] <= (delta / 2) / L0 (Wilkins, Kifer, Zhang, Karrer 2024;
///    tails bounded rigorously as in privacy/gaussian.hpp).
///  - truncated_geometric: keep with probability pi(units), the optimal
///    partition selection of Desfontaines, Voss, Gipson, Mandayam (PETS 2022,
///    "Differentially private partition selection"): pi(0) = 0 and
///    pi(n) = min(e^e pi(n-1) + d, 1 - e^-e (1 - pi(n-1) - d), 1) with
///    (e, d) = (epsilon / L0, delta / L0). Each pi(n) is rounded down to a dyadic
///    rational, computed with e^e, e^-e and d bounded so that both constraints
///    hold for the stored values; the Bernoulli trial is exact. It releases no
///    counts: pair it with a separate noisy count when values are needed.
/// Guarantee: (epsilon, delta)-DP for the set of released keys (and, for the
/// thresholding methods, their noisy unit counts), add/remove one unit.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "../detail/exact_decimal.hpp"
#include "../detail/format.hpp"
#include "../detail/rounding.hpp"
#include "../mechanisms/gaussian.hpp"
#include "../mechanisms/laplace.hpp"
#include "../mechanisms/parameters.hpp"
#include "../privacy/cost.hpp"
#include "../privacy/gaussian.hpp"
#include "../random/samplers.hpp"
#include "../rational.hpp"

namespace dpkit {

enum class partition_selection_method : std::uint8_t {
    laplace_threshold = 1,
    gaussian_threshold = 2,
    truncated_geometric = 3,
};

/// Keys per privacy unit (L0) that a selection must account for.
struct max_partitions {
    std::uint64_t value;
    constexpr explicit max_partitions(std::uint64_t v) noexcept : value(v) {}
};

/// Decides, key by key, which keys a release may include. Immutable.
class partition_selection {
public:
    partition_selection(partition_selection_method method, dpkit::epsilon eps, dpkit::delta del, dpkit::max_partitions l0)
        : method_(method),
          epsilon_(detail::require_positive_finite(who, "epsilon", eps.value)),
          delta_(detail::require_open_unit(who, "delta", del.value)),
          l0_(l0.value),
          laplace_(dpkit::epsilon{1}, l1_sensitivity{1}),
          gaussian_(dpkit::epsilon{1}, dpkit::delta{0.5}, l2_sensitivity{1}) {
        if (l0_ == 0) detail::throw_invalid(who, "max_partitions must be >= 1", l0_);
        const double eps_cal = detail::at_most_declared(epsilon_);
        const double del_cal = detail::at_most_declared(delta_);
        const double l0d = static_cast<double>(l0_);
        switch (method) {
            case partition_selection_method::laplace_threshold: {
                laplace_ = laplace_mechanism<std::int64_t>(dpkit::epsilon{eps_cal}, l1_sensitivity{l0d});
                const double t = laplace_.noise_distribution().scale().to_double();
                // P[Z >= k] = p^k / (1 + p), p = e^(-1/t): k >= (ln(L0/delta) - ln(1 + p)) t suffices.
                const double a = detail::div_down(1.0, detail::next_up(t));  // <= 1/t
                const double p_lo = detail::exp_down(-detail::div_up(1.0, detail::next_down(t)));
                const double need = detail::sub_up(detail::log_up(detail::div_up(l0d, del_cal)), detail::log1p_down(p_lo));
                threshold_ = 1 + std::fmax(1.0, std::ceil(detail::div_up(need, a)));
                break;
            }
            case partition_selection_method::gaussian_threshold: {
                const double half = detail::at_most_declared(detail::mul_down(del_cal, 0.5));
                // The unit counts of all keys form a vector that one unit moves by
                // sqrt(L0) in L2: the multivariate calibration (any dimension > 1
                // gives the same sigma) unless L0 = 1, where one key moves by 1.
                gaussian_ = gaussian_mechanism<std::int64_t>(dpkit::epsilon{eps_cal}, dpkit::delta{half},
                                                            l2_sensitivity{detail::sqrt_up(l0d)},
                                                            dpkit::dimension{l0_ == 1 ? std::size_t{1} : std::size_t{2}});
                const double s2 = detail::next_down(gaussian_.noise_distribution().sigma2().to_double());
                const double target = detail::div_down(half, l0d);
                double k = 1;
                while (detail::discrete_gaussian_upper_tail(k, s2).upper > target) k *= 2;
                double lo = k / 2;
                while (k - lo > 1) {
                    const double mid = std::floor((lo + k) / 2);
                    (detail::discrete_gaussian_upper_tail(mid, s2).upper > target ? lo : k) = mid;
                }
                threshold_ = 1 + k;
                break;
            }
            case partition_selection_method::truncated_geometric:
                build_probabilities(detail::div_down(eps_cal, l0d), detail::div_down(del_cal, l0d));
                break;
            default:
                detail::throw_invalid(who, "unknown partition_selection_method", static_cast<int>(method));
        }
    }

    partition_selection_method method() const noexcept { return method_; }
    /// What one selection over all keys costs.
    approx_dp cost() const noexcept { return approx_dp{epsilon_, delta_}; }
    std::uint64_t max_partitions() const noexcept { return l0_; }
    /// The threshold on the noisy unit count (thresholding methods).
    double threshold() const noexcept { return threshold_; }
    /// The keep probability for a key held by `units` units (truncated_geometric).
    const rational& keep_probability(std::uint64_t units) const {
        if (probabilities_.empty()) detail::throw_invalid(who, "keep_probability is for the truncated_geometric method");
        const std::uint64_t last = probabilities_.size() - 1;
        return probabilities_[static_cast<std::size_t>(std::min(units, last))];
    }

    /// One decision: whether a key held by `units` units is kept, and (for the
    /// thresholding methods) its noisy unit count.
    struct decision {
        bool keep = false;
        double noisy_units = 0;
    };
    template <std::uniform_random_bit_generator G>
    decision operator()(std::uint64_t units, G& g) const {
        switch (method_) {
            case partition_selection_method::laplace_threshold: {
                const double v = static_cast<double>(units) + static_cast<double>(laplace_.noise_distribution()(g));
                return {v >= threshold_, v};
            }
            case partition_selection_method::gaussian_threshold: {
                const double v = static_cast<double>(units) + static_cast<double>(gaussian_.noise_distribution()(g));
                return {v >= threshold_, v};
            }
            default:
                if (units == 0) return {false, 0};
                return {bernoulli(g, keep_probability(units)), 0};
        }
    }

private:
    static constexpr const char* who = "dpkit::partition_selection";
    static constexpr std::size_t max_table = std::size_t{1} << 22;

    void build_probabilities(double e, double d) {
        using namespace detail;
        const double grow = exp_down(e);      // <= e^e
        const double shrink = exp_up(-e);     // >= e^-e
        probabilities_.push_back(rational(0));
        double pi = 0;
        while (pi < 1 && probabilities_.size() < max_table) {
            const double first = add_down(mul_down(grow, pi), d);
            const double slack = sub_up(sub_up(1.0, pi), d);  // >= 1 - pi - delta
            const double second = slack <= 0 ? 1.0 : sub_down(1.0, mul_up(shrink, slack));
            const double next = std::fmin(1.0, std::fmin(first, second));
            const rational stored = next >= 1 ? rational(1) : rational::at_most(next, 53);  // exact as a double
            const double value = stored.to_double();
            if (!(value > pi)) break;  // no progress at double precision: hold the last value
            probabilities_.push_back(stored);
            pi = value;
        }
    }

    partition_selection_method method_;
    double epsilon_;
    double delta_;
    std::uint64_t l0_;
    laplace_mechanism<std::int64_t> laplace_;
    gaussian_mechanism<std::int64_t> gaussian_;
    double threshold_ = 0;
    std::vector<rational> probabilities_;
};

}  // namespace dpkit
