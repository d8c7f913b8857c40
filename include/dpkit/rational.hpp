#pragma once
/// \file
/// dpkit::rational: a non-negative exact fraction, the parameter type of the
/// exact samplers. Numerator and denominator are held in 128 bits; every double
/// in [2^-74, 2^74] with its 53-bit significand converts exactly.

#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "detail/format.hpp"
#include "detail/int128.hpp"

namespace dpkit {

namespace detail {
/// Integer types a rational is built from: any integer type except bool and the
/// character types (a char is almost never meant as a number).
template <class I>
concept rational_integer = std::integral<I> && !std::same_as<I, bool> && !std::same_as<I, char> &&
                           !std::same_as<I, wchar_t> && !std::same_as<I, char8_t> && !std::same_as<I, char16_t> &&
                           !std::same_as<I, char32_t>;
}  // namespace detail

/// A non-negative fraction num/den with den > 0, kept in lowest terms of two
/// (common factors of two are removed; other common factors are harmless).
class rational {
public:
    using integer = detail::u128;

    /// num/den from integers; throws dpkit::invalid_argument when den == 0 or
    /// either is negative. Floating-point arguments do not compile: use
    /// exactly(), at_least() or at_most(), which say how a double is read.
    template <class N, class D = std::uint64_t>
        requires detail::rational_integer<N> && detail::rational_integer<D>
    constexpr rational(N num, D den = 1) : rational(to_part(num), to_part(den), 0) {}
    template <class F>
        requires std::floating_point<F>
    rational(F) = delete;
    template <class N, class D>
        requires(std::floating_point<N> || std::floating_point<D>)
    rational(N, D) = delete;

    /// The exact value of a finite, non-negative double; throws when x is
    /// negative, not finite, or needs more than 128 bits of numerator or denominator.
    static rational exactly(double x) {
        check_double("dpkit::rational::exactly", x);
        if (x == 0.0) return rational(integer{0}, integer{1}, 0);
        int exponent = 0;
        const double fraction = std::frexp(x, &exponent);                    // x = fraction * 2^exponent
        auto significand = static_cast<std::uint64_t>(std::ldexp(fraction, 53));  // exact, 53 bits
        exponent -= 53;
        while ((significand & 1u) == 0 && exponent < 0) {
            significand >>= 1;
            ++exponent;
        }
        if (exponent >= 0) {
            if (detail::bit_width(significand) + exponent > 127) {
                detail::throw_invalid("dpkit::rational::exactly", "value must be below 2^127", x);
            }
            return rational(integer{significand} << exponent, integer{1}, 0);
        }
        if (-exponent > 127) {
            detail::throw_invalid("dpkit::rational::exactly", "denominator must fit in 128 bits (value too small)", x);
        }
        return rational(integer{significand}, integer{1} << (-exponent), 0);
    }

    /// A fraction p/2^k >= x (x finite, >= 0) whose numerator has at most
    /// `bits` bits (1..126); used to round noise scales up (more privacy).
    static rational at_least(double x, int bits = 62) { return dyadic(x, bits, true); }

    /// A fraction p/2^k <= x with numerator of at most `bits` bits; used to round
    /// privacy parameters down (more privacy).
    static rational at_most(double x, int bits = 62) { return dyadic(x, bits, false); }

    constexpr integer numerator() const noexcept { return num_; }
    constexpr integer denominator() const noexcept { return den_; }
    constexpr bool is_zero() const noexcept { return num_ == 0; }
    constexpr bool is_integer() const noexcept { return den_ == 1; }

    /// Nearest double (for reporting only; never used on a sampling path).
    double to_double() const noexcept { return static_cast<double>(num_) / static_cast<double>(den_); }

    friend constexpr bool operator==(const rational& a, const rational& b) noexcept {
        return a.num_ == b.num_ && a.den_ == b.den_;
    }

    /// Internal: construct from 128-bit parts (tag argument keeps it out of overload sets).
    constexpr rational(integer num, integer den, int /*tag*/) : num_(num), den_(den) {
        if (den_ == 0) detail::throw_invalid("dpkit::rational", "denominator must be > 0", 0);
        if (num_ == 0) {
            den_ = 1;
            return;
        }
        while (((num_ | den_) & 1u) == 0) {
            num_ >>= 1;
            den_ >>= 1;
        }
    }

private:
    template <class I>
    static constexpr integer to_part(I v) {
        if constexpr (std::is_signed_v<I>) {
            if (v < 0) detail::throw_invalid("dpkit::rational", "numerator and denominator must be >= 0", v);
        }
        return static_cast<integer>(v);
    }

    static void check_double(const char* who, double x) {
        if (!std::isfinite(x) || x < 0.0) detail::throw_invalid(who, "value must be finite and >= 0", x);
    }

    static rational dyadic(double x, int bits, bool up) {
        const char* who = up ? "dpkit::rational::at_least" : "dpkit::rational::at_most";
        check_double(who, x);
        if (bits < 1 || bits > 126) detail::throw_invalid(who, "bits must be in [1, 126]", bits);
        if (x == 0.0) return rational(integer{0}, integer{1}, 0);
        int exponent = 0;
        std::frexp(x, &exponent);  // 2^(exponent-1) <= x < 2^exponent
        int shift = bits - exponent;  // x * 2^shift < 2^bits
        if (shift > 126) shift = 126;
        if (shift < 0) {
            // x >= 2^bits: it is an integer already (bits >= 53 or x huge).
            if (exponent > 127) detail::throw_invalid(who, "value must be below 2^127", x);
            shift = 0;
        }
        const double scaled = std::ldexp(x, shift);  // exact: a power-of-two scaling
        const double rounded = up ? std::ceil(scaled) : std::floor(scaled);
        return rational(static_cast<integer>(rounded), integer{1} << shift, 0);
    }

    integer num_;
    integer den_;
};

}  // namespace dpkit
