#pragma once
// Exact probability mass functions of dpkit's discrete distributions, in
// double precision, for goodness-of-fit tests.

#include <cmath>
#include <cstdint>
#include <numbers>

namespace dpkit_test {

/// Discrete Laplace with scale b: (1-p)/(1+p) p^|k|, p = exp(-1/b).
inline double discrete_laplace_pmf(double b, std::int64_t k) {
    const double one_minus_p = -std::expm1(-1.0 / b);
    const double p = std::exp(-1.0 / b);
    return one_minus_p / (1 + p) * std::exp(-static_cast<double>(k < 0 ? -k : k) / b);
}

/// Geometric on {0,1,...}: (1 - e^-g) e^(-g k).
inline double geometric_exp_pmf(double gamma, std::int64_t k) {
    if (k < 0) return 0;
    return -std::expm1(-gamma) * std::exp(-gamma * static_cast<double>(k));
}

/// Normaliser of the discrete Gaussian: sum_k exp(-k^2 / 2 s2). For s2 >= 1 by
/// Poisson summation, sqrt(2 pi s2) (1 + 2 sum_j exp(-2 pi^2 s2 j^2)); below, directly.
inline double discrete_gaussian_normalizer(double s2) {
    if (s2 >= 1) {
        double theta = 1;
        for (int j = 1; j < 10; ++j) theta += 2 * std::exp(-2 * std::numbers::pi * std::numbers::pi * s2 * j * j);
        return std::sqrt(2 * std::numbers::pi * s2) * theta;
    }
    double z = 1;
    for (int k = 1; k < 100; ++k) z += 2 * std::exp(-static_cast<double>(k) * k / (2 * s2));
    return z;
}

inline double discrete_gaussian_pmf(double s2, double normalizer, std::int64_t k) {
    const auto x = static_cast<double>(k);
    return std::exp(-x * x / (2 * s2)) / normalizer;
}

/// Bins of width w for a discrete Laplace with scale b: bin k holds [k w, (k+1) w).
inline double laplace_bin_mass(double b, double w, std::int64_t k) {
    const double one_minus_pw = -std::expm1(-w / b);
    const double one_plus_p = 1 + std::exp(-1 / b);
    if (k >= 0) return std::exp(-static_cast<double>(k) * w / b) * one_minus_pw / one_plus_p;
    const double j = static_cast<double>(-k - 1);
    return std::exp(-(j * w + 1) / b) * one_minus_pw / one_plus_p;
}

}  // namespace dpkit_test
