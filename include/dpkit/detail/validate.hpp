#pragma once
// Parameter checks shared by the mechanisms; each throws dpkit::invalid_argument
// naming the owner, the parameter and the rule.

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>

#include "format.hpp"

namespace dpkit::detail {

inline double require_positive_finite(std::string_view who, std::string_view name, double v) {
    if (!std::isfinite(v) || !(v > 0)) throw_invalid(who, std::string(name) + " must be finite and > 0", v);
    return v;
}

inline double require_open_unit(std::string_view who, std::string_view name, double v) {
    if (!(v > 0 && v < 1)) throw_invalid(who, std::string(name) + " must be in (0, 1)", v);
    return v;
}

inline std::size_t require_dimension(std::string_view who, std::size_t d) {
    if (d == 0) throw_invalid(who, "dimension must be >= 1", d);
    return d;
}

inline void require_size(std::string_view who, std::size_t got, std::size_t dimension) {
    if (got != dimension) {
        throw_invalid(who, "input length must equal the mechanism's dimension (" + std::to_string(dimension) + ")",
                      got);
    }
}

}  // namespace dpkit::detail
