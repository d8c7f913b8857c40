#pragma once
/// \file
/// What a release costs, in the privacy definitions dpkit reports:
/// pure epsilon-DP, approximate (epsilon, delta)-DP and rho-zCDP
/// (Bun & Steinke 2016). Mechanisms return these from cost().

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

}  // namespace dpkit
