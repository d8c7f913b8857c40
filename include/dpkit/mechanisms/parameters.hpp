#pragma once
/// \file
/// Strong types for mechanism parameters. Each wraps one number and has an
/// explicit constructor, so `laplace_mechanism(epsilon{1}, l1_sensitivity{2})`
/// compiles and a call with the two swapped (or with bare doubles) does not.
/// Validation happens in the mechanism, whose error names it.

#include <cstddef>

namespace dpkit {

/// Privacy-loss parameter epsilon (finite, > 0).
struct epsilon {
    double value;
    constexpr explicit epsilon(double v) noexcept : value(v) {}
};

/// Failure probability delta of approximate DP (in (0, 1)).
struct delta {
    double value;
    constexpr explicit delta(double v) noexcept : value(v) {}
};

/// zCDP parameter rho (finite, > 0).
struct rho {
    double value;
    constexpr explicit rho(double v) noexcept : value(v) {}
};

/// Largest L1 distance between the query's values on neighbouring datasets.
struct l1_sensitivity {
    double value;
    constexpr explicit l1_sensitivity(double v) noexcept : value(v) {}
};

/// Largest L2 distance between the query's values on neighbouring datasets.
struct l2_sensitivity {
    double value;
    constexpr explicit l2_sensitivity(double v) noexcept : value(v) {}
};

/// Laplace noise scale b (density proportional to exp(-|x|/b)).
struct scale {
    double value;
    constexpr explicit scale(double v) noexcept : value(v) {}
};

/// Gaussian noise standard deviation sigma.
struct stddev {
    double value;
    constexpr explicit stddev(double v) noexcept : value(v) {}
};

/// Largest change of any candidate's score between neighbouring datasets (for
/// the exponential mechanism and other selection mechanisms).
struct score_sensitivity {
    double value;
    constexpr explicit score_sensitivity(double v) noexcept : value(v) {}
};

/// Number of items a selection returns.
struct selections {
    std::size_t value;
    constexpr explicit selections(std::size_t v) noexcept : value(v) {}
};

/// Length of the vectors a mechanism will be applied to (default 1: scalars).
struct dimension {
    std::size_t value;
    constexpr explicit dimension(std::size_t v) noexcept : value(v) {}
};

}  // namespace dpkit
