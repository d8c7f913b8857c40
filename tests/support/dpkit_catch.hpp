#pragma once
// One include for Catch2 v2.13 (Debian's package) and Catch2 v3: only macros
// that both provide are used in dpkit's tests.
#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#define DPKIT_CATCH_VERSION 3
#else
#include <catch2/catch.hpp>
#define DPKIT_CATCH_VERSION 2
#endif

namespace dpkit_test {
// Approximate comparison: Catch::Approx in v3, Catch::Detail::Approx in v2.
#if DPKIT_CATCH_VERSION == 3
using approx = Catch::Approx;
#else
using approx = Catch::Detail::Approx;
#endif
}  // namespace dpkit_test
