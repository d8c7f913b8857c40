#pragma once
/// \file
/// Exact comparisons of a uniform random real with 1 / (alpha + e^x), for a
/// rational x >= 0 and alpha in {0, 1}: the part of dpkit's table-driven
/// samplers that keeps them exact. A sampler compares a few random bits with
/// a precomputed 64-bit prefix of a probability; only when all 64 bits tie
/// (probability 2^-64 per comparison) does it call this header, which bounds
/// e^x by its Taylor series in fixed point with directed rounding at a
/// precision that doubles until the comparison is decided. Since e^x is
/// irrational for rational x > 0 (Lindemann), the loop ends with probability 1.
/// This is the lazy comparison of Knuth and Yao's random-bit model ("The
/// complexity of nonuniform random number generation", 1976); see also Saad,
/// Freer, Rinard, Mansinghka (POPL 2020) on fixed-precision tables.
///
/// Only integer arithmetic is used.

#include <algorithm>
#include <array>
#include <cstddef>
#include <bit>
#include <cstdint>
#include <utility>
#include <vector>

#include "../detail/int128.hpp"

namespace dpkit::detail {

/// A non-negative integer of any size: little-endian 64-bit limbs without
/// leading zero limbs (0 is the empty vector). Only what exact_exp needs.
struct big_uint {
    std::vector<std::uint64_t> limb;

    static big_uint from(u128 v) {
        big_uint r;
        r.limb = {static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(v >> 64)};
        r.trim();
        return r;
    }
    static big_uint power_of_two(unsigned bits) {
        big_uint r;
        r.limb.assign(bits / 64 + 1, 0);
        r.limb.back() = std::uint64_t{1} << (bits % 64);
        return r;
    }

    void trim() {
        while (!limb.empty() && limb.back() == 0) limb.pop_back();
    }
    bool is_zero() const noexcept { return limb.empty(); }

    /// *this *= k (exact).
    big_uint& mul_small(std::uint64_t k) {
        u128 carry = 0;
        for (auto& x : limb) {
            const u128 p = static_cast<u128>(x) * k + carry;
            x = static_cast<std::uint64_t>(p);
            carry = p >> 64;
        }
        if (carry != 0) limb.push_back(static_cast<std::uint64_t>(carry));
        trim();
        return *this;
    }

    /// floor((high 2^64 + low) / k) and the remainder, for high < k.
    static std::uint64_t div_step(std::uint64_t high, std::uint64_t low, std::uint64_t k, std::uint64_t& rem) noexcept {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
        std::uint64_t q = 0;
        __asm__("divq %[k]" : "=a"(q), "=d"(rem) : "a"(low), "d"(high), [k] "r"(k));
        return q;
#else
        const u128 cur = (static_cast<u128>(high) << 64) | low;
        rem = static_cast<std::uint64_t>(cur % k);
        return static_cast<std::uint64_t>(cur / k);
#endif
    }

    /// *this = floor(*this / k) or ceil(*this / k), k >= 1.
    big_uint& div_small(std::uint64_t k, bool round_up) {
        std::uint64_t rem = 0;
        for (std::size_t i = limb.size(); i-- > 0;) {
            limb[i] = div_step(rem, limb[i], k, rem);
        }
        trim();
        if (round_up && rem != 0) add(from(1));
        return *this;
    }

    /// *this <<= bits.
    big_uint& shl(unsigned bits) {
        if (is_zero() || bits == 0) return *this;
        const unsigned words = bits / 64;
        const unsigned rest = bits % 64;
        std::vector<std::uint64_t> out(limb.size() + words + 1, 0);
        for (std::size_t i = 0; i < limb.size(); ++i) {
            out[i + words] |= limb[i] << rest;
            if (rest != 0) out[i + words + 1] |= limb[i] >> (64 - rest);
        }
        limb = std::move(out);
        trim();
        return *this;
    }

    big_uint& add(const big_uint& b) {
        if (limb.size() < b.limb.size()) limb.resize(b.limb.size(), 0);
        std::uint64_t carry = 0;
        for (std::size_t i = 0; i < limb.size(); ++i) {
            const std::uint64_t bi = i < b.limb.size() ? b.limb[i] : 0;
            const u128 s = static_cast<u128>(limb[i]) + bi + carry;
            limb[i] = static_cast<std::uint64_t>(s);
            carry = static_cast<std::uint64_t>(s >> 64);
        }
        if (carry != 0) limb.push_back(carry);
        return *this;
    }

    /// *this -= b, b <= *this.
    big_uint& sub(const big_uint& b) {
        std::uint64_t borrow = 0;
        for (std::size_t i = 0; i < limb.size(); ++i) {
            const std::uint64_t bi = i < b.limb.size() ? b.limb[i] : 0;
            const u128 d = static_cast<u128>(limb[i]) - bi - borrow;
            limb[i] = static_cast<std::uint64_t>(d);
            borrow = static_cast<std::uint64_t>(d >> 64) & 1u;
        }
        trim();
        return *this;
    }

    int bit_length() const noexcept {
        return is_zero() ? 0 : 64 * static_cast<int>(limb.size() - 1) + static_cast<int>(std::bit_width(limb.back()));
    }
    bool bit(int i) const noexcept {
        return ((limb[static_cast<std::size_t>(i / 64)] >> (i % 64)) & 1u) != 0;
    }

    /// *this = floor(*this / d) or ceil(*this / d), d >= 1 (binary long division).
    big_uint& div_big(const big_uint& d, bool round_up) {
        if (d.limb.size() == 1) return div_small(d.limb[0], round_up);
        big_uint q;
        q.limb.assign(limb.size(), 0);
        // The remainder starts as the bits above the last bit_length(d) - 1 positions (less than d).
        const int start = bit_length() - d.bit_length() + 1;
        big_uint rem;
        if (start <= 0) {
            rem = *this;
        } else {
            rem.limb.assign(limb.begin() + start / 64, limb.end());
            const int r = start % 64;
            if (r != 0) {
                for (std::size_t j = 0; j < rem.limb.size(); ++j) {
                    rem.limb[j] = (rem.limb[j] >> r) | (j + 1 < rem.limb.size() ? rem.limb[j + 1] << (64 - r) : 0);
                }
            }
            rem.trim();
        }
        for (int i = start; i-- > 0;) {
            std::uint64_t carry = bit(i) ? 1u : 0u;  // rem = 2 rem + bit i
            for (auto& x : rem.limb) {
                const std::uint64_t next = x >> 63;
                x = (x << 1) | carry;
                carry = next;
            }
            if (carry != 0) rem.limb.push_back(carry);
            if (compare(rem, d) >= 0) {
                rem.sub(d);
                q.limb[static_cast<std::size_t>(i / 64)] |= std::uint64_t{1} << (i % 64);
            }
        }
        q.trim();
        if (round_up && !rem.is_zero()) q.add(from(1));
        *this = std::move(q);
        return *this;
    }

    friend big_uint operator*(const big_uint& a, const big_uint& b) {
        big_uint r;
        if (a.is_zero() || b.is_zero()) return r;
        r.limb.assign(a.limb.size() + b.limb.size(), 0);
        for (std::size_t i = 0; i < a.limb.size(); ++i) {
            u128 carry = 0;
            for (std::size_t j = 0; j < b.limb.size(); ++j) {
                const u128 p = static_cast<u128>(a.limb[i]) * b.limb[j] + r.limb[i + j] + carry;
                r.limb[i + j] = static_cast<std::uint64_t>(p);
                carry = p >> 64;
            }
            r.limb[i + b.limb.size()] = static_cast<std::uint64_t>(carry);
        }
        r.trim();
        return r;
    }

    /// -1, 0 or 1 as a <, ==, > b.
    friend int compare(const big_uint& a, const big_uint& b) noexcept {
        if (a.limb.size() != b.limb.size()) return a.limb.size() < b.limb.size() ? -1 : 1;
        for (std::size_t i = a.limb.size(); i-- > 0;) {
            if (a.limb[i] != b.limb[i]) return a.limb[i] < b.limb[i] ? -1 : 1;
        }
        return 0;
    }
};

/// A rational exponent x = (n_1 ... n_a) 2^shift / (d_1 ... d_b) with 64-bit
/// factors (at most eight of each); the series costs O(x) terms, so callers keep x small.
struct exp_argument {
    std::array<std::uint64_t, 8> num{};
    std::array<std::uint64_t, 8> den{};
    int num_count = 0;
    int den_count = 0;
    unsigned shift = 0;

    void multiply(std::uint64_t v) { num[static_cast<std::size_t>(num_count++)] = v; }
    void divide(std::uint64_t v) { den[static_cast<std::size_t>(den_count++)] = v; }

    /// x's numerator (with the power of two) and denominator as integers.
    void as_fraction(big_uint& n, big_uint& d) const {
        n = big_uint::from(1);
        d = big_uint::from(1);
        for (int i = 0; i < num_count; ++i) n.mul_small(num[static_cast<std::size_t>(i)]);
        n.shl(shift);
        for (int i = 0; i < den_count; ++i) d.mul_small(den[static_cast<std::size_t>(i)]);
    }
};

/// Integers lo <= e^x 2^F <= hi (Taylor series, terms rounded down for lo and
/// up for hi, the tail after term K bounded by term K once x <= (K + 1) / 2).
inline void exp_bounds(const exp_argument& x, unsigned fraction_bits, big_uint& lo, big_uint& hi) {
    big_uint x_num;
    big_uint x_den;
    x.as_fraction(x_num, x_den);
    x_num.shl(1);  // 2x = x_num / x_den
    big_uint term_lo = big_uint::power_of_two(fraction_bits);
    big_uint term_hi = term_lo;
    lo = term_lo;
    hi = term_hi;
    const big_uint one = big_uint::from(1);
    for (std::uint64_t k = 1;; ++k) {
        for (int i = 0; i < x.num_count; ++i) {
            term_lo.mul_small(x.num[static_cast<std::size_t>(i)]);
            term_hi.mul_small(x.num[static_cast<std::size_t>(i)]);
        }
        term_lo.shl(x.shift);
        term_hi.shl(x.shift);
        for (int i = 0; i < x.den_count; ++i) {
            term_lo.div_small(x.den[static_cast<std::size_t>(i)], false);
            term_hi.div_small(x.den[static_cast<std::size_t>(i)], true);
        }
        term_lo.div_small(k, false);
        term_hi.div_small(k, true);
        lo.add(term_lo);
        hi.add(term_hi);
        // Stop once terms shrink at least twofold and the last is <= 1 unit:
        // the tail sum_{j>k} x^j/j! <= term_k * sum_{i>=1} 2^-i <= term_k.
        big_uint k_den = x_den;
        k_den.mul_small(k + 1);
        if (compare(term_hi, one) <= 0 && compare(k_den, x_num) >= 0) {
            hi.add(term_hi);
            return;
        }
    }
}

/// Integers lo <= e^(N/D) 2^F <= hi for big integers N, D >= 1 (the same
/// series as exp_bounds, for an exponent that is not a product of 64-bit factors).
inline void exp_bounds_ratio(const big_uint& n, const big_uint& d, unsigned fraction_bits, big_uint& lo, big_uint& hi) {
    big_uint term_lo = big_uint::power_of_two(fraction_bits);
    big_uint term_hi = term_lo;
    lo = term_lo;
    hi = term_hi;
    if (n.is_zero()) return;
    big_uint two_n = n;
    two_n.shl(1);
    const big_uint one = big_uint::from(1);
    for (std::uint64_t k = 1;; ++k) {
        big_uint dk = d;
        dk.mul_small(k);
        term_lo = term_lo * n;
        term_lo.div_big(dk, false);
        term_hi = term_hi * n;
        term_hi.div_big(dk, true);
        lo.add(term_lo);
        hi.add(term_hi);
        big_uint k_den = d;
        k_den.mul_small(k + 1);
        if (compare(term_hi, one) <= 0 && compare(k_den, two_n) >= 0) {
            hi.add(term_hi);
            return;
        }
    }
}

/// Whether W (alpha + e^x) < 1 for a uniform real W whose first `bits` bits
/// are `prefix`, with bounds(F, lo, hi) giving lo <= e^x 2^F <= hi; further
/// bits come from next_word(). The precision doubles until the answer is certain.
template <class NextWord, class Bounds>
bool exact_less_than_inverse_with(NextWord&& next_word, big_uint prefix, unsigned bits, unsigned alpha, Bounds&& bounds) {
    big_uint lo;
    big_uint hi;
    while (true) {
        const unsigned fraction_bits = bits + 96;
        bounds(fraction_bits, lo, hi);
        if (alpha != 0) {
            const big_uint one = big_uint::power_of_two(fraction_bits);
            lo.add(one);
            hi.add(one);
        }
        const big_uint limit = big_uint::power_of_two(bits + fraction_bits);
        big_uint upper_w = prefix;
        upper_w.add(big_uint::from(1));
        if (compare(upper_w * hi, limit) <= 0) return true;   // W < (w+1) 2^-bits <= 1 / (alpha + e^x)
        if (compare(prefix * lo, limit) >= 0) return false;    // W >= w 2^-bits >= 1 / (alpha + e^x)
        const unsigned more = std::max(1u, bits / 64);
        for (unsigned i = 0; i < more; ++i) {
            prefix.shl(64);
            prefix.add(big_uint::from(next_word()));
        }
        bits += 64 * more;
    }
}

/// Whether W < e^(-N/D) for a uniform real W whose first `bits` bits are
/// `prefix` (N >= 0, D >= 1 big integers); exact, as exact_less_than_inverse.
template <class NextWord>
bool exact_less_than_exp_minus(NextWord&& next_word, big_uint prefix, unsigned bits, const big_uint& n, const big_uint& d) {
    return exact_less_than_inverse_with(next_word, std::move(prefix), bits, 0,
                                        [&](unsigned f, big_uint& lo, big_uint& hi) { exp_bounds_ratio(n, d, f, lo, hi); });
}

/// Whether W (alpha + e^x) < 1 for a uniform real W whose first `bits` bits
/// are `prefix` (a multiple of 64 bits); further bits come from next_word().
/// Exact: the precision doubles until the answer is certain.
template <class NextWord>
bool exact_less_than_inverse(NextWord&& next_word, big_uint prefix, unsigned bits, unsigned alpha,
                             const exp_argument& x) {
    return exact_less_than_inverse_with(next_word, std::move(prefix), bits, alpha,
                                        [&x](unsigned f, big_uint& lo, big_uint& hi) { exp_bounds(x, f, lo, hi); });
}

/// floor(2^(64 + extra_bits) / (alpha + e^x)) exactly, for x > 0; the value
/// must be below 2^64 (alpha = 1: extra_bits <= 1; alpha = 0: extra_bits = 0).
inline std::uint64_t exact_scaled_inverse(unsigned alpha, const exp_argument& x, unsigned extra_bits = 0) {
    big_uint lo;
    big_uint hi;
    for (unsigned fraction_bits = 128;; fraction_bits += 64) {
        exp_bounds(x, fraction_bits, lo, hi);
        if (alpha != 0) {
            const big_uint one = big_uint::power_of_two(fraction_bits);
            lo.add(one);
            hi.add(one);
        }
        const big_uint limit = big_uint::power_of_two(64 + extra_bits + fraction_bits);
        // The largest c < 2^64 with c * d <= limit: min(2^64 - 1, floor(limit / d)).
        auto largest = [&](const big_uint& d) {
            big_uint q = limit;
            q.div_big(d, false);
            return q.limb.size() > 1 ? ~std::uint64_t{0} : (q.is_zero() ? 0 : q.limb[0]);
        };
        const std::uint64_t from_hi = largest(hi);  // floor of a lower bound
        const std::uint64_t from_lo = largest(lo);  // floor of an upper bound
        if (from_hi == from_lo) return from_hi;
    }
}

}  // namespace dpkit::detail
