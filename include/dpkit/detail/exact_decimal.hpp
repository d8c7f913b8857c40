#pragma once
// Non-negative exact decimals (arbitrary precision) for budget bookkeeping:
// value = N * 10^exponent with N a big integer in base 10^9. Sums and
// comparisons are exact, so no spend is ever lost or rounded away.

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "format.hpp"
#include "rounding.hpp"

namespace dpkit::detail {

class exact_decimal {
public:
    exact_decimal() = default;

    /// The decimal a person means by x: its shortest round-trip representation
    /// (0.1 is exactly 1/10). For amounts users declare.
    static exact_decimal declared(double x) { return parse(x, false); }

    /// The exact value of the double x (0.1 is 0.1000000000000000055511...). For
    /// amounts dpkit computed and already rounded up.
    static exact_decimal exactly(double x) { return parse(x, true); }

    bool is_zero() const noexcept { return limbs_.empty(); }

    friend exact_decimal operator+(exact_decimal a, exact_decimal b) {
        align(a, b);
        std::uint64_t carry = 0;
        a.limbs_.resize(std::max(a.limbs_.size(), b.limbs_.size()), 0);
        for (std::size_t i = 0; i < a.limbs_.size(); ++i) {
            const std::uint64_t s = carry + a.limbs_[i] + (i < b.limbs_.size() ? b.limbs_[i] : 0u);
            a.limbs_[i] = static_cast<std::uint32_t>(s % base);
            carry = s / base;
        }
        if (carry) a.limbs_.push_back(static_cast<std::uint32_t>(carry));
        a.normalize();
        return a;
    }

    /// a - b for a >= b; zero otherwise (a remaining budget never goes negative).
    friend exact_decimal operator-(exact_decimal a, exact_decimal b) {
        if (compare(a, b) <= 0) return exact_decimal{};
        align(a, b);
        std::int64_t borrow = 0;
        for (std::size_t i = 0; i < a.limbs_.size(); ++i) {
            std::int64_t d = static_cast<std::int64_t>(a.limbs_[i]) - borrow - (i < b.limbs_.size() ? b.limbs_[i] : 0);
            borrow = d < 0 ? 1 : 0;
            if (d < 0) d += static_cast<std::int64_t>(base);
            a.limbs_[i] = static_cast<std::uint32_t>(d);
        }
        a.normalize();
        return a;
    }

    friend exact_decimal operator*(const exact_decimal& a, const exact_decimal& b) {
        exact_decimal out;
        if (a.limbs_.empty() || b.limbs_.empty()) return out;
        std::vector<std::uint64_t> acc(a.limbs_.size() + b.limbs_.size() + 1, 0);
        for (std::size_t i = 0; i < a.limbs_.size(); ++i) {
            std::uint64_t carry = 0;
            for (std::size_t j = 0; j < b.limbs_.size(); ++j) {
                const std::uint64_t cur = acc[i + j] + static_cast<std::uint64_t>(a.limbs_[i]) * b.limbs_[j] + carry;
                acc[i + j] = cur % base;
                carry = cur / base;
            }
            for (std::size_t k = i + b.limbs_.size(); carry != 0; ++k) {
                const std::uint64_t cur = acc[k] + carry;
                acc[k] = cur % base;
                carry = cur / base;
            }
        }
        for (auto v : acc) out.limbs_.push_back(static_cast<std::uint32_t>(v));
        out.exponent_ = a.exponent_ + b.exponent_;
        out.normalize();
        return out;
    }

    /// Exactly half of this value (times 5, over 10).
    exact_decimal half() const {
        exact_decimal five;
        five.limbs_ = {5};
        exact_decimal out = *this * five;
        if (!out.limbs_.empty()) out.exponent_ -= 1;
        return out;
    }

    /// -1, 0 or 1 as a <, ==, > b.
    friend int compare(exact_decimal a, exact_decimal b) {
        align(a, b);
        if (a.limbs_.size() != b.limbs_.size()) return a.limbs_.size() < b.limbs_.size() ? -1 : 1;
        for (std::size_t i = a.limbs_.size(); i-- > 0;) {
            if (a.limbs_[i] != b.limbs_[i]) return a.limbs_[i] < b.limbs_[i] ? -1 : 1;
        }
        return 0;
    }
    friend bool operator<=(const exact_decimal& a, const exact_decimal& b) { return compare(a, b) <= 0; }
    friend bool operator==(const exact_decimal& a, const exact_decimal& b) { return compare(a, b) == 0; }

    /// Decimal digits, then "e" and the exponent ("0" for zero).
    std::string to_string() const {
        if (limbs_.empty()) return "0";
        std::string digits = std::to_string(limbs_.back());
        for (std::size_t i = limbs_.size() - 1; i-- > 0;) {
            std::string part = std::to_string(limbs_[i]);
            digits += std::string(9 - part.size(), '0') + part;
        }
        return digits + "e" + std::to_string(exponent_);
    }

    /// The nearest double (for reports; the bookkeeping itself stays exact).
    double to_double() const { return std::strtod(to_string().c_str(), nullptr); }

private:
    static constexpr std::uint64_t base = 1000000000u;

    static exact_decimal parse(double x, bool exact) {
        if (!std::isfinite(x) || x < 0) throw_invalid("dpkit: privacy amount", "must be finite and >= 0", x);
        exact_decimal out;
        if (x == 0) return out;
        char buffer[1100];
        const auto result = exact ? std::to_chars(buffer, buffer + sizeof buffer, x, std::chars_format::scientific, 1074)
                                  : std::to_chars(buffer, buffer + sizeof buffer, x, std::chars_format::scientific);
        const std::string text(buffer, result.ptr);
        const auto e = text.find('e');
        std::string mantissa = text.substr(0, e);
        int exponent = std::atoi(text.c_str() + e + 1);
        const auto dot = mantissa.find('.');
        if (dot != std::string::npos) {
            exponent -= static_cast<int>(mantissa.size() - dot - 1);
            mantissa.erase(dot, 1);
        }
        while (mantissa.size() > 1 && mantissa.back() == '0') {
            mantissa.pop_back();
            ++exponent;
        }
        out.exponent_ = exponent;
        for (std::size_t end = mantissa.size(); end > 0;) {
            const std::size_t begin = end >= 9 ? end - 9 : 0;
            out.limbs_.push_back(static_cast<std::uint32_t>(std::stoul(mantissa.substr(begin, end - begin))));
            end = begin;
        }
        out.normalize();
        return out;
    }

    void normalize() {
        while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
        if (limbs_.empty()) exponent_ = 0;
    }

    /// Multiplies N by 10^k (k >= 0) and lowers the exponent to match.
    void scale_down_exponent(int k) {
        if (limbs_.empty()) {
            exponent_ -= k;
            return;
        }
        exponent_ -= k;
        limbs_.insert(limbs_.begin(), static_cast<std::size_t>(k / 9), 0u);
        std::uint64_t factor = 1;
        for (int i = 0; i < k % 9; ++i) factor *= 10;
        std::uint64_t carry = 0;
        for (auto& limb : limbs_) {
            const std::uint64_t v = limb * factor + carry;
            limb = static_cast<std::uint32_t>(v % base);
            carry = v / base;
        }
        if (carry) limbs_.push_back(static_cast<std::uint32_t>(carry));
    }

    /// Brings both to the smaller exponent.
    static void align(exact_decimal& a, exact_decimal& b) {
        if (a.limbs_.empty()) a.exponent_ = b.exponent_;
        if (b.limbs_.empty()) b.exponent_ = a.exponent_;
        if (a.exponent_ > b.exponent_) a.scale_down_exponent(a.exponent_ - b.exponent_);
        if (b.exponent_ > a.exponent_) b.scale_down_exponent(b.exponent_ - a.exponent_);
    }

    std::vector<std::uint32_t> limbs_;
    int exponent_ = 0;
};

/// How dpkit reads a double x >= 0 as the decimal it prints (its shortest
/// round-trip form, which accountants book) against its exact binary value:
///  - at_most_declared(x): the largest double whose exact value is <= that
///    decimal (x, or the double below it). Mechanisms calibrate to it, so a
///    typed epsilon or delta that is booked as its decimal bounds the true loss.
///  - booked_up(x): the smallest double >= x whose decimal is >= x's exact value
///    (x, or the double above it). Computed costs are reported through it, so
///    an upper bound stays an upper bound when it is booked as a decimal.
inline double at_most_declared(double x) {
    return exact_decimal::exactly(x) <= exact_decimal::declared(x) ? x : std::nextafter(x, 0.0);
}
inline double booked_up(double x) {
    if (exact_decimal::exactly(x) <= exact_decimal::declared(x)) return x;
    return std::nextafter(x, std::numeric_limits<double>::infinity());
}

/// The largest double p in (0, start] whose declared decimal, taken `copies`
/// times and added to `others`, is at most `whole`; 0 when there is none. The
/// budget splits below lower their parts through it (a few ulps at most).
inline double fit_down(double start, const exact_decimal& copies, const exact_decimal& others, const exact_decimal& whole) {
    double p = start;
    while (p > 0 && !(exact_decimal::declared(p) * copies + others <= whole)) p = std::nextafter(p, 0.0);
    return p > 0 ? p : 0.0;
}

/// Splits a budget amount into parts proportional to `fractions` (each in
/// (0, 1], summing to 1 within 1e-9) so that the decimals the accountant books
/// for the parts add up to at most the decimal of the whole.
inline std::vector<double> split_amount(const char* who, double total, std::span<const double> fractions) {
    double sum = 0;
    for (double f : fractions) {
        if (!(f > 0 && f <= 1)) throw_invalid(who, "every budget fraction must be in (0, 1]", f);
        sum += f;
    }
    if (!(std::fabs(sum - 1) <= 1e-9)) throw_invalid(who, "the budget fractions must add up to 1", sum);
    std::vector<double> parts(fractions.size());
    exact_decimal booked;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        parts[i] = mul_down(total, fractions[i] / sum);
        booked = booked + exact_decimal::declared(parts[i]);
    }
    std::size_t largest = 0;
    for (std::size_t i = 1; i < parts.size(); ++i) largest = parts[i] > parts[largest] ? i : largest;
    const exact_decimal others = booked - exact_decimal::declared(parts[largest]);
    parts[largest] = fit_down(parts[largest], exact_decimal::exactly(1.0), others, exact_decimal::declared(total));
    return parts;
}

/// split_amount for a fixed number of parts.
template <std::size_t N>
std::array<double, N> split_amount(const char* who, double total, const std::array<double, N>& fractions) {
    const std::vector<double> parts = split_amount(who, total, std::span<const double>(fractions));
    std::array<double, N> out{};
    std::copy(parts.begin(), parts.end(), out.begin());
    return out;
}

/// The share each of `count` equal parts of `total` gets so that `count` times
/// its booked decimal is at most the decimal of the whole (0 when none is positive).
inline double equal_share(double total, std::uint64_t count) {
    return fit_down(div_down(total, static_cast<double>(count)), exact_decimal::exactly(static_cast<double>(count)),
                    exact_decimal{}, exact_decimal::declared(total));
}

}  // namespace dpkit::detail
