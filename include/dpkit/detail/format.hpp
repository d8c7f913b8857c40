#pragma once
// Shortest round-trip formatting of numbers for error messages, and the helpers
// that build "who: rule (got value)" messages.

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "../error.hpp"

namespace dpkit::detail {

template <class T>
std::string to_string_exact(T value) {
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    if (result.ec != std::errc{}) return "?";
    return std::string(buffer, result.ptr);
}

/// Throws dpkit::invalid_argument("<who>: <rule> (got <value>)").
template <class T>
[[noreturn]] void throw_invalid(std::string_view who, std::string_view rule, T got) {
    std::string message(who);
    message += ": ";
    message += rule;
    message += " (got ";
    if constexpr (std::is_arithmetic_v<T>) {
        message += to_string_exact(got);
    } else {
        message += got;
    }
    message += ")";
    throw invalid_argument(message);
}

/// Throws dpkit::invalid_argument("<who>: <rule>") for rules with no single value.
[[noreturn]] inline void throw_invalid(std::string_view who, std::string_view rule) {
    std::string message(who);
    message += ": ";
    message += rule;
    throw invalid_argument(message);
}

}  // namespace dpkit::detail
