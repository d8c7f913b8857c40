#pragma once
/// \file
/// What a release costs, in the privacy definitions dpkit reports:
/// pure epsilon-DP, approximate (epsilon, delta)-DP and rho-zCDP
/// (Bun & Steinke 2016). Mechanisms return these from cost().

#include <string>

#include "../detail/format.hpp"

namespace dpkit {

/// Pure epsilon-differential privacy.
struct pure_dp {
    double epsilon = 0;
    friend constexpr bool operator==(const pure_dp&, const pure_dp&) = default;
};

/// Approximate (epsilon, delta)-differential privacy.
struct approx_dp {
    double epsilon = 0;
    double delta = 0;
    friend constexpr bool operator==(const approx_dp&, const approx_dp&) = default;
};

/// rho-zero-concentrated differential privacy (Bun & Steinke 2016).
struct zcdp {
    double rho = 0;
    friend constexpr bool operator==(const zcdp&, const zcdp&) = default;
};

/// Human-readable forms, with shortest round-trip numbers: "approx_dp(epsilon=1, delta=1e-06)".
inline std::string to_string(const pure_dp& c) { return "pure_dp(epsilon=" + detail::to_string_exact(c.epsilon) + ")"; }
inline std::string to_string(const approx_dp& c) {
    return "approx_dp(epsilon=" + detail::to_string_exact(c.epsilon) + ", delta=" + detail::to_string_exact(c.delta) + ")";
}
inline std::string to_string(const zcdp& c) { return "zcdp(rho=" + detail::to_string_exact(c.rho) + ")"; }

}  // namespace dpkit
