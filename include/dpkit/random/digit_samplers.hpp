#pragma once
/// \file
/// Table-driven exact samplers for the geometric, discrete Laplace and
/// discrete Gaussian distributions (dpkit's distributions use them for the
/// geometric, the Laplace below scale 1 and the Gaussian below sigma^2 = 1;
/// bucket_samplers.hpp draws the larger scales), built on three facts:
///  - the binary digits of a geometric variable Y, P[Y = k] proportional to
///    e^(-k/b), are independent: digit i is 1 with probability
///    q_i = 1 / (1 + e^(2^i / b)); likewise the digits of an Exp(1) variable
///    (digit i with probability 1 / (1 + e^(2^i)), i any integer);
///  - a Bernoulli(q) decision compares a uniform real W with q, reading W's
///    bits only until they differ from q's (Knuth & Yao 1976): with q's exact
///    64-bit prefix in a table, 8 random bits decide it except on a tie
///    (probability 2^-8), 64 bits except with probability 2^-64, and the rare
///    remainder is settled by exact_exp.hpp at growing precision;
///  - rejection keeps exactness for the low digits, which are nearly uniform:
///    a block of low bits is drawn uniformly and accepted with probability
///    exp(-value/b) (Canonne, Kamath, Steinke 2020, "The Discrete Gaussian for
///    Differential Privacy", Algorithm 1, with lazily compared uniforms).
/// The discrete Gaussian below sigma^2 = 1 is CKS20 Algorithm 3 (rejection
/// from a discrete Laplace; from sigma^2 = 1 on, bucket_samplers.hpp), whose
/// acceptance test Bernoulli(exp(-gamma)) compares a uniform W lazily with
/// bounds on exp(-gamma): first 16-bit bounds per 2^-6 of gamma (one table
/// load), then fixed-point bounds: gamma to 24 fraction bits from a 64-bit
/// reciprocal, exp(-gamma) as a product of four table entries (proven lower
/// bounds built from exact 64-bit floors), and, only when W's first 64 bits
/// fall between those (probability below 2^-21), the exact comparison of
/// exact_exp.hpp (bernoulli_exp_minus_fixed). The bucket sampler uses the same
/// fixed-point bounds. The acceptance test used before (an exponential E
/// compared with gamma digit by digit, exponential_exceeds) stays as a reference.
/// Only integer arithmetic is used on the sampling path; the tables are exact
/// floors computed once per process (the constants) and once per distinct
/// scale (shared_geometric_digits) by exact_exp.hpp.
///
/// Timing: these samplers are not timing-safe (their work depends on the value
/// drawn); see timing_safe.hpp.

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <utility>

#include "../detail/int128.hpp"
#include "../detail/wide_uint.hpp"
#include "../error.hpp"
#include "bits.hpp"
#include "exact_exp.hpp"

namespace dpkit::detail {

/// Whether W < num / den for a uniform real W, read 8 bits at a time
/// (exact: a tie carries the remainder to the next byte). Needs den < 2^119.
template <class Pool>
bool lazy_less_ratio(Pool& bits, u128 num, u128 den) {
    while (true) {
        note_iteration(bits);
        const u128 r = bits.take(8);
        const u128 target = num << 8;
        const u128 low = r * den;
        if (low + den <= target) return true;
        if (low >= target) return false;
        num = target - low;  // W = (r + W') / 256; now W' < num / den
    }
}

/// Bernoulli(exp(-num/den)) for 0 <= num <= den < 2^64 (CKS20 Algorithm 1:
/// Bernoulli(gamma / k) trials until one fails; true iff the count is odd).
template <class Pool>
bool lazy_bernoulli_exp_small(Pool& bits, std::uint64_t num, std::uint64_t den) {
    for (std::uint64_t k = 1;; ++k) {
        note_iteration(bits);
        const bool success = k < (std::uint64_t{1} << 55)
                                 ? lazy_less_ratio(bits, num, static_cast<u128>(den) * k)
                                 : (lazy_less_ratio(bits, num, den) && lazy_less_ratio(bits, 1, k));
        if (!success) return (k & 1u) != 0;
    }
}

/// Whether W < c' for a uniform real W, where c' is a probability whose exact
/// 64-bit prefix is c (c <= 2^64 c' < c + 1) and which equals
/// 1 / (alpha + e^x) (the tie-breaker; argument() gives x). Reads 8 bits, 64 on a tie.
template <class Pool, class Argument>
bool lazy_less_prefix(Pool& bits, std::uint64_t c, unsigned alpha, Argument&& argument) {
    const std::uint64_t top = c >> 56;
    const std::uint64_t r = bits.take(8);
    if (r != top) [[likely]] return r < top;
    const std::uint64_t w = (top << 56) | bits.take(56);
    if (w != c) return w < c;
    return exact_less_than_inverse([&] { return bits.word(); }, big_uint::from(w), 64, alpha, argument());
}

    /// Gathers the top bit of each byte into an 8-bit mask (bit j from byte j).
inline std::uint32_t swar_mask(std::uint64_t high_bits) noexcept {
    return static_cast<std::uint32_t>(((high_bits >> 7) * 0x0102040810204080ull) >> 56);
}
/// Bit j set iff byte j of r < byte j of c (unsigned), for the 8 bytes.
inline std::uint64_t swar_less(std::uint64_t r, std::uint64_t c) noexcept {
    constexpr std::uint64_t h = 0x8080808080808080ull;
    const std::uint64_t low_ge = ((r | h) - (c & ~h)) & h;  // per byte: low 7 bits of r >= those of c
    const std::uint64_t ge = (r & ~c & h) | (~(r ^ c) & low_ge);
    return swar_mask(~ge & h);
}
/// The top bit of byte j set iff byte j of r == byte j of c (all 8 bytes).
inline std::uint64_t swar_equal_bytes(std::uint64_t r, std::uint64_t c) noexcept {
    constexpr std::uint64_t h = 0x8080808080808080ull;
    const std::uint64_t z = r ^ c;
    const std::uint64_t nonzero = (((z & ~h) + ~h) | z) & h;
    return ~nonzero & h;
}
/// Bit j set iff byte j of r == byte j of c, for the first `count` bytes.
inline std::uint32_t swar_equal(std::uint64_t r, std::uint64_t c, int count) noexcept {
    const std::uint32_t used = count >= 8 ? 0xffu : ((1u << count) - 1);
    return swar_mask(swar_equal_bytes(r, c)) & used;
}

/// Geometric variables Y on {0, 1, ...} with P[Y = k] proportional to e^(-k s/t)
/// (scale b = t/s), drawn digit by digit; values must fit in 63 bits (a larger
/// draw throws dpkit::overflow_error, probability below 2^-80 at b <= 2^56).
class geometric_digits {
public:
    geometric_digits() : geometric_digits(1, 1) {}

    /// Scale t/s with 1 <= t, s < 2^64.
    geometric_digits(std::uint64_t t, std::uint64_t s) : t_(t), s_(s) {
        // Low block: the largest m with 2^m * 16 s <= t (exponent at most 1/16 per unit).
        while (low_bits_ < 62 && (static_cast<u128>(s) << (low_bits_ + 5)) <= t) ++low_bits_;
        // Digits m, m+1, ... up to the first whose x_i = 2^i s/t >= 6: from there
        // on, "any digit set" has probability e^(-x) < 2^-8 and is one test.
        int k = low_bits_;
        while (k < 63 && (static_cast<u128>(s) << k) < static_cast<u128>(6) * t) ++k;
        digits_ = k - low_bits_;
        for (int j = 0; j < digits_; ++j) {
            prefix_[static_cast<std::size_t>(j)] = exact_scaled_inverse(1, digit_argument(low_bits_ + j));
            if (j < 8) tops_ |= (prefix_[static_cast<std::size_t>(j)] >> 56) << (8 * j);
        }
        tail_digit_ = k;
        tail_small_ = (static_cast<u128>(s) << k) <= static_cast<u128>(12) * t;  // X <= 12
        if (tail_small_) tail_prefix_ = exact_scaled_inverse(0, digit_argument(k));
    }

    std::uint64_t t() const noexcept { return t_; }
    std::uint64_t s() const noexcept { return s_; }
    /// Random bits this sampler reads per draw when no decision ties (for documentation and tests).
    int low_bits() const noexcept { return low_bits_; }
    int digits() const noexcept { return digits_; }

    /// One geometric variable. (Digits and the tail test first: at the
    /// lattice scales their 64 bits fill exactly one word.)
    template <class Pool>
    std::uint64_t operator()(Pool& bits) const {
        std::uint64_t unused = 0;
        return magnitude<0>(bits, unused);
    }

    /// One discrete Laplace variable, P[z] proportional to e^(-|z| s/t): a
    /// geometric magnitude and a sign, rejecting "-0" (CKS20 Algorithm 2).
    template <class Pool>
    std::int64_t signed_draw(Pool& bits) const {
        std::uint64_t unused = 0;
        return signed_draw_with<0>(bits, unused);
    }

    /// signed_draw, and Extra (< 48) further fresh random bits in `extra`
    /// (taken with the draw's own bits, for the caller's next decision).
    template <int Extra, class Pool>
    std::int64_t signed_draw_with(Pool& bits, std::uint64_t& extra) const {
        bool negative = false;
        const std::uint64_t y = magnitude_and_sign<Extra>(bits, negative, extra);
        return negative ? -static_cast<std::int64_t>(y) : static_cast<std::int64_t>(y);
    }

    /// The magnitude |z| and sign of signed_draw_with's z (z = -|z| when negative).
    template <int Extra, class Pool>
    std::uint64_t magnitude_and_sign(Pool& bits, bool& negative, std::uint64_t& extra) const {
        while (true) {
            note_iteration(bits);
            std::uint64_t more = 0;
            const std::uint64_t y = magnitude<1 + Extra>(bits, more);
            negative = (more & 1u) != 0;
            if (negative && y == 0) continue;
            extra = more >> 1;
            return y;
        }
    }

private:
    /// A geometric variable and Extra (< 64) further random bits in `extra`. The
    /// bits for the tail test, the low block, its first acceptance byte and the
    /// extra ones are taken in one request when they fit in 64 (each bit still
    /// decides one thing only).
    template <int Extra, class Pool>
    std::uint64_t magnitude(Pool& bits, std::uint64_t& extra) const {
        std::uint64_t y = 0;
        std::uint32_t ties = 0;
        if (digits_ > 0) {
            // Up to 8 digit bytes compared at once (SWAR): digit j is 1 iff byte j < top_j.
            const int first = digits_ < 8 ? digits_ : 8;
            const std::uint64_t r = bits.take(8 * first);
            y = swar_less(r, tops_) << low_bits_;
            const std::uint64_t used_bytes = first >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * first)) - 1;
            if ((swar_equal_bytes(r, tops_) & used_bytes) != 0) [[unlikely]] ties = swar_equal(r, tops_, first);
            for (int j = 8; j < digits_; ++j) {
                const std::uint64_t top = prefix_[static_cast<std::size_t>(j)] >> 56;
                const std::uint64_t byte = bits.take(8);
                y |= static_cast<std::uint64_t>(byte < top) << (low_bits_ + j);
                ties |= static_cast<std::uint32_t>(byte == top) << j;
            }
        }
        if (ties != 0) [[unlikely]] y = resolve_ties(bits, y, ties);
        const int low_part = low_bits_ > 0 ? low_bits_ + 8 : 0;
        if (tail_small_ && 8 + low_part + Extra <= 64) [[likely]] {
            std::uint64_t w = bits.take(8 + low_part + Extra);
            const std::uint64_t tail_byte = w & 0xff;
            if (tail_byte <= (tail_prefix_ >> 56)) [[unlikely]] {
                if (tail_tie(bits, tail_byte)) y = add_tail(bits, y);
            }
            w >>= 8;
            if constexpr (Extra > 0) extra = (w >> low_part) & ((std::uint64_t{1} << Extra) - 1);
            if (low_bits_ > 0) {
                std::uint64_t low = w & ((std::uint64_t{1} << low_bits_) - 1);
                std::uint64_t r = (w >> low_bits_) & 0xff;
                while (true) {
                    note_iteration(bits);
                    // Accept with probability exp(-low s/t), low s/t < 1/16: the first
                    // CKS trial W < low s/t fails at once when W's top byte is >= 16.
                    if (r >= 16 || accept_low(bits, low, r)) [[likely]] {
                        y |= low;
                        break;
                    }
                    low = bits.take(low_bits_);
                    r = bits.take(8);
                }
            }
            return y;
        }
        if (tail_test(bits)) [[unlikely]] y = add_tail(bits, y);
        if (low_bits_ > 0) {
            while (true) {
                note_iteration(bits);
                const std::uint64_t low = bits.take(low_bits_);
                const std::uint64_t r = bits.take(8);
                if (r >= 16 || accept_low(bits, low, r)) [[likely]] {
                    y |= low;
                    break;
                }
            }
        }
        if constexpr (Extra > 0) extra = bits.take(Extra);
        return y;
    }

    exp_argument digit_argument(int i) const {
        exp_argument x;
        x.multiply(s_);
        x.shift = static_cast<unsigned>(i);
        x.divide(t_);
        return x;
    }

    /// Finishes Bernoulli(exp(-y s/t)) (CKS20 Algorithm 1) when the first
    /// trial's uniform W has top byte r < 16: its first comparison W < y s/t
    /// continues lazily from that byte, then the remaining trials as usual.
    template <class Pool>
    bool accept_low(Pool& bits, std::uint64_t y, std::uint64_t r) const {
        const u128 num = static_cast<u128>(y) * s_;
        const u128 den = t_;
        const u128 target = num << 8;
        const u128 low = static_cast<u128>(r) * den;
        bool first;
        if (low + den <= target) {
            first = true;
        } else if (low >= target) {
            first = false;
        } else {
            first = lazy_less_ratio(bits, target - low, den);
        }
        if (!first) return true;  // one trial: K = 1, odd
        for (std::uint64_t k = 2;; ++k) {
            const bool success = k < (std::uint64_t{1} << 55)
                                     ? lazy_less_ratio(bits, num, den * k)
                                     : (lazy_less_ratio(bits, num, den) && lazy_less_ratio(bits, 1, k));
            if (!success) return (k & 1u) != 0;
        }
    }

    template <class Pool>
    std::uint64_t resolve_ties(Pool& bits, std::uint64_t y, std::uint32_t ties) const {
        for (int j = 0; j < digits_; ++j) {
            if (((ties >> j) & 1u) == 0) continue;
            const std::uint64_t c = prefix_[static_cast<std::size_t>(j)];
            const std::uint64_t w = (c & (std::uint64_t{0xff} << 56)) | bits.take(56);
            const bool one = w != c ? w < c
                                    : exact_less_than_inverse([&] { return bits.word(); }, big_uint::from(w), 64, 1,
                                                              digit_argument(low_bits_ + j));
            if (one) y |= std::uint64_t{1} << (low_bits_ + j);
        }
        return y;
    }

    /// Bernoulli(e^(-X)), X = 2^k s/t: whether Y >= 2^k.
    template <class Pool>
    bool tail_test(Pool& bits) const {
        if (tail_small_) [[likely]] {
            const std::uint64_t r = bits.take(8);
            if (r > (tail_prefix_ >> 56)) [[likely]] return false;  // the prefix's top byte is 0 (X >= 6)
            return tail_tie(bits, r);
        }
        // X > 12 (only when k = 0, b < 1/6): CKS20 Algorithm 1, exactly.
        return lazy_bernoulli_exp_large(bits);
    }

    template <class Pool>
    bool tail_tie(Pool& bits, std::uint64_t r) const {
        const std::uint64_t top = tail_prefix_ >> 56;
        if (r < top) return true;
        const std::uint64_t w = (top << 56) | bits.take(56);
        if (w != tail_prefix_) return w < tail_prefix_;
        return exact_less_than_inverse([&] { return bits.word(); }, big_uint::from(w), 64, 0, digit_argument(tail_digit_));
    }

    template <class Pool>
    bool lazy_bernoulli_exp_large(Pool& bits) const {
        u128 num = static_cast<u128>(s_) << tail_digit_;
        while (num >= t_) {
            num -= t_;
            if (!lazy_bernoulli_exp_small(bits, 1, 1)) return false;
        }
        return lazy_bernoulli_exp_small(bits, static_cast<std::uint64_t>(num), t_);
    }

    /// Y >= 2^k: Y >> k = 1 + Geometric(e^(-X)) (memorylessness).
    template <class Pool>
    std::uint64_t add_tail(Pool& bits, std::uint64_t y) const {
        std::uint64_t high = 1;
        while (tail_test(bits)) ++high;
        if (tail_digit_ >= 63 || high >= (std::uint64_t{1} << (63 - tail_digit_))) {
            throw overflow_error("dpkit: geometric sample does not fit in 63 bits");
        }
        return y | (high << tail_digit_);
    }

    std::uint64_t t_;
    std::uint64_t s_;
    int low_bits_ = 0;
    int digits_ = 0;
    int tail_digit_ = 0;
    bool tail_small_ = true;
    std::uint64_t tail_prefix_ = 0;
    std::uint64_t tops_ = 0;  // top bytes of the first 8 prefixes
    std::array<std::uint64_t, 24> prefix_{};
};

/// The table built by make() for `key`, built once per process for each
/// distinct key and shared (thread-safe): a distribution for a scale seen before
/// costs a lookup instead of the exact table computation. Each kind of table
/// (each Table, Key and Make) keeps at most `limit` tables; when full it starts
/// afresh (tables in use stay alive).
template <class Table, class Key, class Make>
std::shared_ptr<const Table> shared_table(const Key& key, std::size_t limit, Make&& make) {
    static std::mutex mutex;
    static std::map<Key, std::shared_ptr<const Table>> cache;
    {
        const std::lock_guard<std::mutex> lock(mutex);
        const auto it = cache.find(key);
        if (it != cache.end()) return it->second;
    }
    auto built = std::make_shared<const Table>(make());  // outside the lock: the slow part
    const std::lock_guard<std::mutex> lock(mutex);
    if (cache.size() >= limit) cache.clear();
    return cache.emplace(key, std::move(built)).first->second;
}

/// The geometric_digits for scale t/s, shared (shared_table; at most 1024 scales).
inline std::shared_ptr<const geometric_digits> shared_geometric_digits(std::uint64_t t, std::uint64_t s) {
    return shared_table<geometric_digits>(std::pair<std::uint64_t, std::uint64_t>{t, s}, 1024,
                                          [&] { return geometric_digits(t, s); });
}

/// Exact 64-bit prefixes of the constants the exponential-digit test needs:
/// e^(-j) for j = 1..integer_count, and 1 / (1 + e^(2^-i)) for i = 1..fraction_count.
struct exponential_digit_tables {
    static constexpr int integer_count = 40;
    static constexpr int fraction_count = 64;
    std::array<std::uint64_t, integer_count + 1> exp_minus{};  // [0] unused (e^0 = 1)
    std::array<std::uint64_t, fraction_count + 1> fraction{};  // [0] unused

    static exp_argument integer_argument(int j) {
        exp_argument x;
        x.multiply(static_cast<std::uint64_t>(j));
        return x;
    }
    /// x = 2^-i (i >= 1), as divisions by powers of two of at most 2^63.
    static exp_argument fraction_argument(int i) {
        exp_argument x;
        while (i > 0) {
            const int part = i < 63 ? i : 63;
            x.divide(std::uint64_t{1} << part);
            i -= part;
        }
        return x;
    }

    static const exponential_digit_tables& get() {
        static const exponential_digit_tables tables = [] {
            exponential_digit_tables t;
            for (int j = 1; j <= integer_count; ++j) t.exp_minus[static_cast<std::size_t>(j)] = exact_scaled_inverse(0, integer_argument(j));
            for (int i = 1; i <= fraction_count; ++i) t.fraction[static_cast<std::size_t>(i)] = exact_scaled_inverse(1, fraction_argument(i));

            return t;
        }();
        return tables;
    }
};

inline void shift_left_one(u128& v) noexcept { v <<= 1; }
template <std::size_t L>
void shift_left_one(wide_uint<L>& v) noexcept {
    for (std::size_t i = L; i-- > 1;) v.limb[i] = (v.limb[i] << 1) | (v.limb[i - 1] >> 63);
    v.limb[0] <<= 1;
}

/// Whether E > num/den for E ~ Exp(1), i.e. Bernoulli(exp(-num/den)), for
/// num/den < 39 and den below a quarter of U's range (u128 or wide_uint). The integer part V = floor(E) is compared by
/// inversion (V >= j iff W < e^(-j)), the fraction by its independent digits
/// against those of the fraction of num/den (long division).
inline void conditional_subtract(u128& num, const u128& den, bool yes) noexcept {
    num -= den & (u128{0} - static_cast<u128>(yes));
}
template <std::size_t L>
void conditional_subtract(wide_uint<L>& num, const wide_uint<L>& den, bool yes) noexcept {
    if (yes) num -= den;
}

template <class Pool, class U>
bool exponential_exceeds(Pool& bits, U num, const U& den) {
    const auto& tables = exponential_digit_tables::get();
    std::uint64_t whole = 0;
    while (!(num < den)) {
        num -= den;
        ++whole;
    }
    // The integer part V = floor(E) against `whole` by inversion: V > whole iff
    // W < e^(-(whole+1)), V < whole iff W >= e^(-whole). 16 bits usually settle it.
    const std::uint64_t above = tables.exp_minus[static_cast<std::size_t>(whole + 1)];
    const std::uint64_t at = whole == 0 ? ~std::uint64_t{0} : tables.exp_minus[static_cast<std::size_t>(whole)];
    const std::uint64_t r = bits.take(16);
    const std::uint64_t r_low = r << 48;
    const u128 r_high = static_cast<u128>(r + 1) << 48;
    const bool surely_above = r_high <= above;
    const bool surely_below = whole > 0 && r_low > at;  // W >= (at + 1) 2^-64 > e^(-whole)
    const bool surely_equal = r_low > above && (whole == 0 || r_high <= at);
    int order = surely_above ? 1 : (surely_below ? -1 : 0);  // sign of V - whole
    if (!(surely_above || surely_below || surely_equal)) [[unlikely]] {
        const std::uint64_t w = r_low | bits.take(48);
        auto less = [&](std::uint64_t c, std::uint64_t j) {
            return w != c ? w < c
                          : exact_less_than_inverse([&] { return bits.word(); }, big_uint::from(w), 64, 0,
                                                    exponential_digit_tables::integer_argument(static_cast<int>(j)));
        };
        order = less(above, whole + 1) ? 1 : ((whole > 0 && !less(at, whole)) ? -1 : 0);
    }
    if (order != 0) return order > 0;
    // V == whole: accept iff the fraction F of E exceeds that of num/den, digit by digit.
    for (int i = 1;; ++i) {
        note_iteration(bits);
        shift_left_one(num);
        const bool gamma_digit = !(num < den);
        conditional_subtract(num, den, gamma_digit);
        bool e_digit;
        if (i <= exponential_digit_tables::fraction_count) {
            e_digit = lazy_less_prefix(bits, tables.fraction[static_cast<std::size_t>(i)], 1,
                                       [i] { return exponential_digit_tables::fraction_argument(i); });
        } else {
            if (i > 8 * 63) throw overflow_error("dpkit: exponential digit beyond 2^-504");
            const exp_argument x = exponential_digit_tables::fraction_argument(i);
            e_digit = lazy_less_prefix(bits, exact_scaled_inverse(1, x), 1, [&x] { return x; });
        }
        if (e_digit != gamma_digit) return e_digit;
    }
}

/// Lower bounds, in units of 2^-64, of e^(-j) (j = 0..39) and of e^(-c 2^(-8i))
/// (i = 1, 2, 3; c = 0..255), for the fixed-point acceptance test below. Each
/// entry is a product of exact 64-bit floors (exact_exp.hpp) rounded down:
/// with e = floor(2^64 e^(-x)) and T_c = floor(T_(c-1) e 2^-64), the true value
/// exceeds T_c by at most 2c + 1 units (induction: each step loses at most one
/// unit to the floor and one to e's error), so at most 511 units per table.
struct exp_minus_fixed_tables {
    static constexpr int whole_count = 40;
    std::array<std::uint64_t, whole_count> whole{};
    std::array<std::array<std::uint64_t, 256>, 3> chunk{};
    /// Coarse 16-bit bounds per bucket of G (coarse_shift fraction bits of
    /// gamma): for G in bucket k, W < e^(-gamma) whenever W's first 16 bits r
    /// satisfy r < (coarse[k] & 0xffff), and W >= e^(-gamma) whenever r > (coarse[k] >> 16).
    static constexpr int coarse_shift = 18;  // buckets of 2^-6 in gamma
    static constexpr std::size_t coarse_count = std::size_t{whole_count} << (24 - coarse_shift);
    std::array<std::uint32_t, coarse_count> coarse{};

    /// The bounds of exp_minus_fixed_bounds from these tables (defined below).
    static void fine_bounds(const exp_minus_fixed_tables& tables, std::uint64_t g, std::uint64_t& lo,
                            u128& hi) noexcept;

    static std::uint64_t mul_high(std::uint64_t a, std::uint64_t b) noexcept {
        return static_cast<std::uint64_t>((static_cast<u128>(a) * b) >> 64);
    }

    static const exp_minus_fixed_tables& get() {
        static const exp_minus_fixed_tables tables = [] {
            exp_minus_fixed_tables t;
            auto fill = [](auto& row, std::uint64_t base) {
                row[0] = ~std::uint64_t{0};  // e^0 = 1, one unit short
                for (std::size_t c = 1; c < row.size(); ++c) row[c] = c == 1 ? base : mul_high(row[c - 1], base);
            };
            exp_argument one;
            one.multiply(1);
            fill(t.whole, exact_scaled_inverse(0, one));  // error <= 2 * 39 + 1 units
            for (int i = 0; i < 3; ++i) {
                exp_argument x;
                x.divide(std::uint64_t{1} << (8 * (i + 1)));
                fill(t.chunk[static_cast<std::size_t>(i)], exact_scaled_inverse(0, x));
            }
            // Bucket k holds G in [k 2^s, (k + 1) 2^s): e^(-gamma) is decreasing, so the
            // fine lower bound at the bucket's last G and the fine upper bound at its
            // first G hold for every gamma of the bucket (exp_minus_fixed_bounds).
            for (std::size_t k = 0; k < coarse_count; ++k) {
                std::uint64_t lo = 0;
                u128 hi = 0;
                fine_bounds(t, ((k + 1) << coarse_shift) - 1, lo, hi);
                const std::uint64_t accept_below = lo >> 48;  // r < this: (r + 1) 2^48 <= lo
                std::uint64_t ignored = 0;
                fine_bounds(t, k << coarse_shift, ignored, hi);
                const u128 top = (hi - 1) >> 48;  // r > this: r 2^48 >= hi
                const std::uint64_t reject_above = top > 0xffff ? 0xffff : static_cast<std::uint64_t>(top);
                t.coarse[k] = static_cast<std::uint32_t>(accept_below | (reject_above << 16));
            }
            return t;
        }();
        return tables;
    }
};

/// gamma = a^2 / B in fixed point with 24 fraction bits, for a fixed B >= 1:
/// B's top 64 bits and a 64-bit reciprocal are computed once, and
/// fixed(a) = floor(gamma' 2^24) where gamma' is within a relative 2^-60 of
/// gamma (truncations of a's and B's top bits, of a's square and of the
/// reciprocal, each at most 2^-62 relative). Saturates at 2^64 - 1.
class exp_minus_fixed_ratio {
public:
    exp_minus_fixed_ratio() = default;

    /// B given by its top 64 bits `top` (top bit set) and exponent: B in [top 2^e, (top + 1) 2^e).
    exp_minus_fixed_ratio(std::uint64_t top, int exponent)
        : reciprocal_(static_cast<std::uint64_t>(((u128{1} << 127) - 1) / top)), exponent_(exponent) {}

    /// floor(gamma' 2^24) for a = top 2^exponent (top's top bit set, the rest of a truncated).
    std::uint64_t fixed(std::uint64_t a_top, int a_exponent) const noexcept {
        const auto square = static_cast<std::uint64_t>((static_cast<u128>(a_top) * a_top) >> 64);  // >= 2^62
        const u128 product = static_cast<u128>(square) * reciprocal_;                              // >= 2^125
        // gamma' 2^24 = square 2^(64 + 2 a_e) reciprocal 2^-(127 + B_e) 2^24 = product 2^-(B_e + 39 - 2 a_e).
        const int shift = exponent_ + 39 - 2 * a_exponent;
        if (shift >= 128) return 0;
        if (shift <= 64) return ~std::uint64_t{0};
        return static_cast<std::uint64_t>(product >> shift);
    }

private:
    std::uint64_t reciprocal_ = 0;  // floor((2^127 - 1) / top) in [2^63, 2^64)
    int exponent_ = 0;
};

/// Top 64 bits of v != 0 (shifted so the top bit is set) and their exponent:
/// v in [top 2^e, (top + 1) 2^e).
inline std::uint64_t top_bits(u128 v, int& exponent) noexcept {
    const int width = bit_width(v);
    exponent = width - 64;
    return exponent >= 0 ? static_cast<std::uint64_t>(v >> exponent) : static_cast<std::uint64_t>(v << -exponent);
}
template <std::size_t L>
std::uint64_t top_bits(const wide_uint<L>& v, int& exponent) noexcept {
    const int width = v.bit_width();
    exponent = width - 64;
    static_assert(L >= 2);
    if (width <= 128) return top_bits(static_cast<u128>(v.limb[0]) | (static_cast<u128>(v.limb[1]) << 64), exponent);
    const auto i = static_cast<std::size_t>(exponent / 64);
    const int r = exponent % 64;
    if (r == 0) return v.limb[i];
    return (v.limb[i] >> r) | (v.limb[i + 1] << (64 - r));  // width = exponent + 64 puts the top bit in limb i + 1
}

inline big_uint to_big(u128 v) { return big_uint::from(v); }
template <std::size_t L>
big_uint to_big(const wide_uint<L>& v) {
    big_uint r;
    r.limb.assign(v.limb.begin(), v.limb.end());
    r.trim();
    return r;
}

/// The bounds lo <= 2^64 e^(-gamma) <= hi of bernoulli_exp_minus_fixed, for
/// gamma's fixed-point value G < 40 2^24 (see there).
inline void exp_minus_fixed_bounds(std::uint64_t g, std::uint64_t& lo, u128& hi) noexcept {
    exp_minus_fixed_tables::fine_bounds(exp_minus_fixed_tables::get(), g, lo, hi);
}

inline void exp_minus_fixed_tables::fine_bounds(const exp_minus_fixed_tables& tables, std::uint64_t g,
                                                std::uint64_t& lo, u128& hi) noexcept {
    using M = exp_minus_fixed_tables;
    const std::uint64_t p =
        M::mul_high(M::mul_high(tables.whole[static_cast<std::size_t>(g >> 24)], tables.chunk[0][(g >> 16) & 0xff]),
                    M::mul_high(tables.chunk[1][(g >> 8) & 0xff], tables.chunk[2][g & 0xff]));
    const std::uint64_t cut = (p >> 23) + 1;
    lo = p >= cut ? p - cut : 0;
    const u128 p_up = static_cast<u128>(p) + (1u << 11);
    hi = p_up + (p_up >> 22) + 1;
}

/// Bernoulli(e^(-gamma)) from gamma's fixed-point value G = floor(gamma' 2^24)
/// (exp_minus_fixed_ratio, so gamma lies in [(G - 1) 2^-24, (G + 2) 2^-24]),
/// G < 40 2^24: a product P of four table entries (exp_minus_fixed_tables)
/// satisfies P <= 2^64 e^(-G 2^-24) <= P + 2^11 (errors 79 + 3 * 511 + 3 rounding
/// units), hence lo = P - floor(P/2^23) - 1 <= 2^64 e^(-gamma) <= hi =
/// P + 2^11 + floor((P + 2^11)/2^22) + 1. A uniform W is read 16 bits, then 48:
/// W < lo 2^-64 accepts, W >= hi 2^-64 rejects; only when W's first 64 bits fall
/// in [lo, hi) (probability below 2^-21) must the caller decide W < e^(-gamma)
/// from W's 64-bit prefix u at growing precision (exact_less_than_exp_minus).
/// This is the lazy comparison of Knuth and Yao (1976) with a fixed-precision
/// approximation, exact because every uncertain case goes to exact arithmetic.
/// Returns 1 (accept) or 0 (reject), or 2 with W's 64-bit prefix in `tie` for
/// the caller to decide exactly (kept out of line: it is rare).
/// `first16` holds W's first 16 bits (drawn by the caller).
template <class Pool>
[[gnu::always_inline]] inline int bernoulli_exp_minus_fixed(Pool& bits, std::uint64_t g, std::uint64_t first16,
                                                            std::uint64_t& tie) {
    const auto& tables = exp_minus_fixed_tables::get();
    const std::uint64_t r = first16;
    // Most draws are decided by the coarse bounds of G's bucket (one load).
    const std::uint32_t coarse = tables.coarse[g >> exp_minus_fixed_tables::coarse_shift];
    if (r < (coarse & 0xffffu)) [[likely]] return 1;
    if (r > (coarse >> 16)) [[likely]] return 0;
    std::uint64_t lo = 0;
    u128 hi = 0;
    exp_minus_fixed_tables::fine_bounds(tables, g, lo, hi);
    if (r < (lo >> 48)) [[likely]] return 1;                                // (r + 1) 2^48 <= lo
    if (r > static_cast<std::uint64_t>((hi - 1) >> 48)) [[likely]] return 0;  // r 2^48 >= hi
    const std::uint64_t u = (r << 48) | bits.take(48);
    if (static_cast<u128>(u) + 1 <= lo) return 1;
    if (u >= hi) return 0;
    tie = u;
    return 2;
}

}  // namespace dpkit::detail
