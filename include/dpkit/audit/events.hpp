#pragma once
/// \file
/// dpkit::output_event<O>: a set of outputs of a mechanism, the "E" of an
/// empirical privacy test P[M(D) in E] <= e^epsilon P[M(D') in E] + delta.
///
/// Kinds: thresholds {o >= t} and {o <= t}; single values {o == v}; precision
/// events that read the binary representation, which is where floating-point
/// noise leaks (Mironov, CCS 2012; Haney et al., "Precision-based attacks and
/// interval refining", 2022; Jin et al., S&P 2022): {o is not a multiple of
/// 2^k}, {o is a multiple of 2^k} and {the low `bits` bits of o's
/// representation equal c}; and user events (a name and a predicate).

#include <bit>
#include <climits>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "../detail/format.hpp"

namespace dpkit {

/// What an output_event tests.
enum class event_kind : std::uint8_t {
    at_least,                     ///< o >= t
    at_most,                      ///< o <= t
    equal_to,                     ///< o == v
    not_multiple_of_power_of_two, ///< o is not an integer multiple of 2^k
    multiple_of_power_of_two,     ///< o is an integer multiple of 2^k
    low_bits_equal,               ///< the low `bits` bits of o's representation equal c
    user,                         ///< a user's predicate
};

namespace detail {

/// Outputs whose binary representation the precision events read.
template <class O>
concept lattice_output = (std::floating_point<O> && (sizeof(O) == 4 || sizeof(O) == 8)) ||
                         (std::integral<O> && !std::same_as<O, bool> && sizeof(O) <= 8);

/// Valuation of 0: a multiple of every power of two.
inline constexpr int valuation_of_zero = INT_MAX;
/// Valuation of infinities and NaN: a multiple of no power of two.
inline constexpr int valuation_of_non_finite = INT_MIN;

/// The largest k with x an integer multiple of 2^k (the 2-adic valuation).
template <lattice_output O>
int two_adic_valuation(O x) noexcept {
    if constexpr (std::floating_point<O>) {
        if (x == 0) return valuation_of_zero;
        if (!std::isfinite(x)) return valuation_of_non_finite;
        using word = std::conditional_t<sizeof(O) == 8, std::uint64_t, std::uint32_t>;
        constexpr int mantissa_bits = std::numeric_limits<O>::digits - 1;
        constexpr int bias = std::numeric_limits<O>::max_exponent - 1;
        const word bits = std::bit_cast<word>(x);
        const auto exponent = static_cast<int>((bits >> mantissa_bits) & ((word{1} << (sizeof(O) * 8 - 1 - mantissa_bits)) - 1));
        word mantissa = bits & ((word{1} << mantissa_bits) - 1);
        int scale = 1 - bias - mantissa_bits;  // subnormal: mantissa * 2^(1 - bias - mantissa_bits)
        if (exponent != 0) {
            mantissa |= word{1} << mantissa_bits;
            scale = exponent - bias - mantissa_bits;
        }
        return scale + std::countr_zero(mantissa);
    } else {
        if (x == 0) return valuation_of_zero;
        return std::countr_zero(static_cast<std::make_unsigned_t<O>>(x));
    }
}

/// The low 64 bits of o's binary representation (IEEE 754 bits; two's complement).
template <lattice_output O>
std::uint64_t representation_bits(O x) noexcept {
    if constexpr (std::floating_point<O>) {
        using word = std::conditional_t<sizeof(O) == 8, std::uint64_t, std::uint32_t>;
        return static_cast<std::uint64_t>(std::bit_cast<word>(x));
    } else {
        return static_cast<std::uint64_t>(static_cast<std::make_unsigned_t<O>>(x));
    }
}

template <class O>
std::string describe_value(const O& v) {
    if constexpr (std::same_as<O, bool>) {
        return v ? "true" : "false";
    } else if constexpr (std::is_arithmetic_v<O>) {
        return to_string_exact(v);
    } else {
        return "the given value";
    }
}

}  // namespace detail

/// A set of outputs of type O, with a readable description. Immutable.
template <class O>
class output_event {
public:
    /// {o >= t}.
    static output_event at_least(O t)
        requires std::totally_ordered<O>
    {
        return output_event(event_kind::at_least, std::move(t));
    }
    /// {o <= t}.
    static output_event at_most(O t)
        requires std::totally_ordered<O>
    {
        return output_event(event_kind::at_most, std::move(t));
    }
    /// {o == v}.
    static output_event equal_to(O v)
        requires std::equality_comparable<O>
    {
        return output_event(event_kind::equal_to, std::move(v));
    }
    /// {o is not an integer multiple of 2^k} (infinities and NaN are in it; 0 is not).
    static output_event not_multiple_of_power_of_two(int k)
        requires detail::lattice_output<O>
    {
        output_event e(event_kind::not_multiple_of_power_of_two, O{});
        e.exponent_ = k;
        return e;
    }
    /// {o is an integer multiple of 2^k} (0 is in it; infinities and NaN are not).
    static output_event multiple_of_power_of_two(int k)
        requires detail::lattice_output<O>
    {
        output_event e(event_kind::multiple_of_power_of_two, O{});
        e.exponent_ = k;
        return e;
    }
    /// {the low `bits` bits of o's representation equal c}, 1 <= bits <= 64.
    static output_event low_bits_equal(int bits, std::uint64_t c)
        requires detail::lattice_output<O>
    {
        if (bits < 1 || bits > 64) detail::throw_invalid("dpkit::output_event::low_bits_equal", "bits must be in [1, 64]", bits);
        const std::uint64_t mask = bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
        if ((c & ~mask) != 0) detail::throw_invalid("dpkit::output_event::low_bits_equal", "c must be < 2^bits", c);
        output_event e(event_kind::low_bits_equal, O{});
        e.exponent_ = bits;
        e.pattern_ = c;
        return e;
    }
    /// A user's event: `contains` must be a pure function of the output.
    static output_event user(std::string name, std::function<bool(const O&)> contains) {
        if (!contains) detail::throw_invalid("dpkit::output_event::user", "the predicate must not be empty");
        output_event e(event_kind::user, O{});
        e.name_ = std::move(name);
        e.predicate_ = std::make_shared<const std::function<bool(const O&)>>(std::move(contains));
        return e;
    }

    /// Whether o is in the event.
    bool contains(const O& o) const {
        switch (kind_) {
            case event_kind::at_least:
                if constexpr (std::totally_ordered<O>) return o >= value_;
                break;
            case event_kind::at_most:
                if constexpr (std::totally_ordered<O>) return o <= value_;
                break;
            case event_kind::equal_to:
                if constexpr (std::equality_comparable<O>) return o == value_;
                break;
            case event_kind::not_multiple_of_power_of_two:
                if constexpr (detail::lattice_output<O>) return detail::two_adic_valuation(o) < exponent_;
                break;
            case event_kind::multiple_of_power_of_two:
                if constexpr (detail::lattice_output<O>) return detail::two_adic_valuation(o) >= exponent_;
                break;
            case event_kind::low_bits_equal:
                if constexpr (detail::lattice_output<O>) {
                    const std::uint64_t mask = exponent_ == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << exponent_) - 1;
                    return (detail::representation_bits(o) & mask) == pattern_;
                }
                break;
            case event_kind::user:
                return (*predicate_)(o);
        }
        return false;
    }

    /// What the event tests.
    event_kind kind() const noexcept { return kind_; }
    /// The threshold or single value (at_least, at_most, equal_to).
    const O& value() const noexcept { return value_; }
    /// k of the power-of-two events; the number of bits of low_bits_equal.
    int exponent() const noexcept { return exponent_; }
    /// c of low_bits_equal.
    std::uint64_t pattern() const noexcept { return pattern_; }

    /// A readable description: "output >= 3", "output is not a multiple of 2^-53", ...
    std::string describe() const {
        switch (kind_) {
            case event_kind::at_least: return "output >= " + detail::describe_value(value_);
            case event_kind::at_most: return "output <= " + detail::describe_value(value_);
            case event_kind::equal_to: return "output == " + detail::describe_value(value_);
            case event_kind::not_multiple_of_power_of_two:
                return "output is not a multiple of 2^" + std::to_string(exponent_);
            case event_kind::multiple_of_power_of_two: return "output is a multiple of 2^" + std::to_string(exponent_);
            case event_kind::low_bits_equal: {
                std::string bits;
                for (int i = exponent_ - 1; i >= 0; --i) bits += ((pattern_ >> i) & 1) != 0 ? '1' : '0';
                return "the low " + std::to_string(exponent_) + " bits of the output's representation are " + bits;
            }
            case event_kind::user: return name_;
        }
        return "";
    }

private:
    output_event(event_kind kind, O value) : kind_(kind), value_(std::move(value)) {}

    event_kind kind_;
    O value_;
    int exponent_ = 0;
    std::uint64_t pattern_ = 0;
    std::string name_;
    std::shared_ptr<const std::function<bool(const O&)>> predicate_;
};

}  // namespace dpkit
