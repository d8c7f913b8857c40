#pragma once
/// \file
/// Opt-in fmt (>= 9) integration (CMake target dpkit::fmt): formatters for
/// privacy costs, intervals, estimates and rationals. Number format specs apply
/// to every number, as for double: fmt::format("{:.3f}", cost).

#include <fmt/format.h>

#include "mechanisms/accuracy.hpp"
#include "mechanisms/randomized_response.hpp"
#include "privacy/cost.hpp"
#include "rational.hpp"

namespace dpkit::detail {

/// Writes literal text and numbers formatted with one shared double spec.
struct number_formatter : fmt::formatter<double> {
    template <class Context>
    auto put(Context& ctx, const char* text) const {
        return fmt::format_to(ctx.out(), "{}", text);
    }
    template <class Context>
    auto put(Context& ctx, double value) const {
        return fmt::formatter<double>::format(value, ctx);
    }
    template <class Context, class... Parts>
    auto write(Context& ctx, const Parts&... parts) const {
        auto out = ctx.out();
        ((out = put(ctx, parts), ctx.advance_to(out)), ...);
        return out;
    }
};

}  // namespace dpkit::detail

template <>
struct fmt::formatter<dpkit::pure_dp> : dpkit::detail::number_formatter {
    template <class Context>
    auto format(const dpkit::pure_dp& c, Context& ctx) const {
        return write(ctx, "pure_dp(epsilon=", c.epsilon, ")");
    }
};

template <>
struct fmt::formatter<dpkit::approx_dp> : dpkit::detail::number_formatter {
    template <class Context>
    auto format(const dpkit::approx_dp& c, Context& ctx) const {
        return write(ctx, "approx_dp(epsilon=", c.epsilon, ", delta=", c.delta, ")");
    }
};

template <>
struct fmt::formatter<dpkit::zcdp> : dpkit::detail::number_formatter {
    template <class Context>
    auto format(const dpkit::zcdp& c, Context& ctx) const {
        return write(ctx, "zcdp(rho=", c.rho, ")");
    }
};

template <>
struct fmt::formatter<dpkit::interval> : dpkit::detail::number_formatter {
    template <class Context>
    auto format(const dpkit::interval& i, Context& ctx) const {
        return write(ctx, "[", i.lower, ", ", i.upper, "]");
    }
};

template <>
struct fmt::formatter<dpkit::frequency_estimate> : dpkit::detail::number_formatter {
    template <class Context>
    auto format(const dpkit::frequency_estimate& e, Context& ctx) const {
        return write(ctx, e.value, " ± ", e.std_error());
    }
};

template <>
struct fmt::formatter<dpkit::rational> : fmt::formatter<double> {
    template <class Context>
    auto format(const dpkit::rational& r, Context& ctx) const {
        // Exact: numerator/denominator as integers (128-bit values printed in decimal).
        auto to_decimal = [](dpkit::detail::u128 v) {
            char buffer[40];
            char* p = buffer + sizeof buffer;
            do {
                *--p = static_cast<char>('0' + static_cast<int>(v % 10));
                v /= 10;
            } while (v != 0);
            return std::string(p, buffer + sizeof buffer);
        };
        if (r.is_integer()) return fmt::format_to(ctx.out(), "{}", to_decimal(r.numerator()));
        return fmt::format_to(ctx.out(), "{}/{}", to_decimal(r.numerator()), to_decimal(r.denominator()));
    }
};
