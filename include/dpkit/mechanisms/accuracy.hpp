#pragma once
/// \file
/// Accuracy answers shared by the additive-noise mechanisms. The functions
/// themselves (confidence_interval, tail_probability) are overloaded next to
/// each mechanism, as Boost.Math puts cdf and quantile next to each distribution.

namespace dpkit {

/// A closed interval [lower, upper].
struct interval {
    double lower;
    double upper;
};

/// The interval around a released value: value + noise interval. Since the
/// noise interval holds the noise with probability >= level, the returned
/// interval holds the true value with probability >= level.
inline interval around(double released, const interval& noise) noexcept {
    return interval{released - noise.upper, released - noise.lower};
}

}  // namespace dpkit
