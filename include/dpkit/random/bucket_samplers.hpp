#pragma once
/// \file
/// Exact bucket samplers for the discrete Gaussian N_Z(0, s), P[y] proportional
/// to exp(-y^2 / (2s)), for a rational variance s = n/d with 1 <= s <= 2^100 (the
/// lattice mechanisms' integer variances and the integer mechanisms' dyadic
/// ones; n, d < 2^120), and for the discrete Laplace with scale b = t/s >= 1:
/// rejection from a step-shaped proposal, the discrete
/// analogue of the ziggurat and of table methods for discrete distributions
/// (Walker 1977 / Vose 1991 alias tables; Devroye 1986, "Non-Uniform Random
/// Variate Generation", ch. II.4 and III.4), with the lazy, exactly decided
/// acceptance of Knuth and Yao (1976).
///
/// The Gaussian (gaussian_buckets): the magnitudes k >= 0 are cut into J buckets [j w, (j + 1) w) of width
/// w = 2^m (sigma/64 < w <= sigma/32), followed by a tail k >= K = J w, where
/// K^2 >= 80 s (exp(-k^2/2s) <= e^-40 there). With f(k) = exp(-k^2 / (2s)) and a
/// constant c = c_num 2^e, bucket j gets the integer weight u_j >= c f(j w) (an
/// upper bound of c f on the bucket, f being decreasing); the tail gets
/// u_tail >= 2^(1 + m_t - m) c f(K), for tail blocks of width w_t = 2^(m_t) with
/// K w_t >= s; a last "slack" weight makes the weights sum to exactly 2^64. One draw:
///  1. a bucket (or the tail, or the slack) with probability u / 2^64, from an
///     alias table (Vose's construction, in integers: a 2^s-slot table of
///     thresholds below 2^(64 - s), so one 64-bit word chooses exactly);
///  2. in bucket j: k = j w + a uniform m-bit offset, a sign; accept with
///     probability a(k) = c f(k) / u_j <= 1, else start again; the slack: start again;
///  3. in the tail: a block g with P[g] = 2^-(g+1) (trailing zeros of random
///     words), k = K + g w_t + a uniform m_t-bit offset, a sign; accept with
///     probability a(k) = 2^(g + 1 + m_t - m) c f(k) / u_tail <= 1, which holds
///     because f(K + g w_t) <= f(K) e^(-g K w_t / s) <= f(K) e^-g;
///  4. a negative sign with k = 0 starts again (CKS20 Algorithm 2's "-0").
/// Every accepted y has probability c f(|y|) / (2^65 w) per round, in the buckets
/// as in the tail, so the output is exactly N_Z(0, s).
///
/// The acceptance test "V < c f(k)" for V uniform on [0, u_j) reads V = u_j W
/// through W's bits: 16 bits decide it against a per-bucket threshold
/// A_j = floor(2^16 L_j / u_j), L_j <= c f((j + 1) w - 1), in about 98% of
/// draws; otherwise 64 bits against the fixed-point bounds of exp(-gamma)
/// (digit_samplers.hpp, exp_minus_fixed_bounds); and, on a tie, W against the
/// exact value at growing precision (exact_exp.hpp). Every bound used is an
/// integer computed once per variance from the proven fixed-point bounds, so only
/// integer arithmetic is used and no decision is approximate.
///
/// The discrete Laplace (laplace_buckets) uses the same bucket table for its
/// magnitude's part below K = J w (f(k) = exp(-k/b), w = 2^m with b/64 < w <= b/32,
/// K/b >= 8) and no tail weight: the magnitude is geometric, so it is first
/// decided whether it is >= K (probability exactly exp(-K/b), a comparison with
/// its exact 64-bit prefix, lazily and exactly as in digit_samplers.hpp), and
/// if so K is added and the same draw repeated (memorylessness); below K, the
/// buckets give the truncated geometric exactly. The sign and "-0" are as above.
///
/// Random bits per round: 64 + m + 17 for the Gaussian (m <= 45 at the default
/// width), 8 + 64 + m + 17 for the Laplace; about 1.02 rounds per draw.
/// Timing: not timing-safe (the work depends on the value drawn); see timing_safe.hpp.


#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "../detail/int128.hpp"
#include "../error.hpp"
#include "bits.hpp"
#include "digit_samplers.hpp"
#include "exact_exp.hpp"

namespace dpkit::detail {

/// The exponent gamma(k) = k^2 d / (2n) of the discrete Gaussian with variance n/d.
class gaussian_exponent {
public:
    gaussian_exponent() = default;
    gaussian_exponent(u128 n, u128 d) : n_(n), d_(d) {
        // B = 2n/d >= 2 by its top 64 bits: q = floor(2n 2^t / d) >= 2^64, B in [q, q + 1) 2^-t.
        const int t = std::max(0, 65 + bit_width(d) - bit_width(n));
        big_uint q = big_uint::from(u128{2} * n);
        q.shl(static_cast<unsigned>(t));
        q.div_big(big_uint::from(d), false);
        if (q.limb.size() > 2) throw invalid_argument("dpkit::detail::gaussian_exponent: variance ratio out of range");
        const u128 q128 = static_cast<u128>(q.limb[0]) | (q.limb.size() > 1 ? static_cast<u128>(q.limb[1]) << 64 : 0);
        int b_exponent = 0;
        const std::uint64_t b_top = top_bits(q128, b_exponent);
        ratio_ = exp_minus_fixed_ratio(b_top, b_exponent - t);
    }
    /// G with gamma(k) in [(G - 1) 2^-24, (G + 2) 2^-24] (exp_minus_fixed_ratio); 0 for k = 0.
    std::uint64_t fixed(std::uint64_t k) const noexcept {
        if (k == 0) return 0;
        const int zeros = std::countl_zero(k);
        return ratio_.fixed(k << zeros, -zeros);
    }
    /// gamma(k) = num / den exactly.
    void exact(std::uint64_t k, big_uint& num, big_uint& den) const {
        num = big_uint::from(u128{k} * k) * big_uint::from(d_);
        den = big_uint::from(u128{2} * n_);
    }

private:
    u128 n_ = 1;
    u128 d_ = 1;
    exp_minus_fixed_ratio ratio_;
};

/// The exponent gamma(k) = k s / t of the discrete Laplace with scale t/s.
class laplace_exponent {
public:
    laplace_exponent() = default;
    laplace_exponent(std::uint64_t t, std::uint64_t s) noexcept : t_(t), s_(s) {}
    /// G = floor(gamma(k) 2^24) exactly (saturated at 40 2^24), so gamma(k) in [G, G + 1) 2^-24.
    std::uint64_t fixed(std::uint64_t k) const noexcept {
        const u128 p = u128{k} * s_;
        const u128 whole = p / t_;
        if (whole >= 40) return std::uint64_t{40} << 24;
        const auto rest = static_cast<std::uint64_t>(p - whole * t_);
        return (static_cast<std::uint64_t>(whole) << 24) | static_cast<std::uint64_t>((u128{rest} << 24) / t_);
    }
    void exact(std::uint64_t k, big_uint& num, big_uint& den) const {
        num = big_uint::from(u128{k} * s_);
        den = big_uint::from(u128{t_});
    }

private:
    std::uint64_t t_ = 1;
    std::uint64_t s_ = 1;
};

/// A proposal of bucket_table::propose: a magnitude, a sign, 16 bits for the test.
struct bucket_proposal {
    std::uint64_t k;
    bool negative;
    std::uint64_t r16;
};

/// The bucket table shared by both samplers: buckets [j 2^m, (j + 1) 2^m) for
/// j < J with integer weights u_j >= c f(j 2^m), f(k) = exp(-gamma(k)), an
/// optional tail weight u_J >= c 2^tail_shift f(K) (or 0: no tail), a slack
/// weight making the total 2^64, the alias table that picks among them, the
/// 16-bit acceptance thresholds A_j and the exact acceptance test.
template <class Exponent>
class bucket_table {
public:
    static constexpr std::uint64_t fixed_limit = std::uint64_t{40} << 24;

    bucket_table() = default;

    /// Buckets [j 2^m, (j + 1) 2^m) for j < buckets; with_tail: a tail weight covering
    /// 2^tail_shift c f(buckets 2^m), else a tail weight of 0 (never picked).
    bucket_table(const Exponent& x, int m, std::size_t buckets, bool with_tail, int tail_shift)
        : x_(x), m_(m), buckets_(buckets) {
        const std::uint64_t w = std::uint64_t{1} << m_;
        // Upper bounds hi_j >= 2^64 f(j w) and hi_J >= 2^64 f(J w).
        std::vector<u128> hi(buckets_ + 1);
        for (std::size_t j = 0; j <= buckets_; ++j) hi[j] = upper_f(static_cast<std::uint64_t>(j) * w);
        if (!with_tail) hi[buckets_] = 0;
        // c = c_num 2^e, the largest with sum_j ceil(c hi_j 2^-64) + tail + slack <= 2^64.
        u128 total_hi = 0;  // sum of hi_j (< 2^74) plus 2^tail_shift hi_J, in units of 2^-64
        for (std::size_t j = 0; j < buckets_; ++j) total_hi += hi[j];
        total_hi += hi[buckets_] << tail_shift;
        const u128 room = ((u128{1} << 64) - buckets_ - 2) << 64;  // leaves one unit per ceiling
        const u128 c_max = room / total_hi;                          // < 2^64 (total_hi >= hi_0 >= 2^64)
        e_ = static_cast<int>(bit_width(c_max)) - 9;
        if (e_ < 16 || e_ > 55) throw invalid_argument("dpkit::detail::bucket_table: constant out of range");
        c_num_ = static_cast<std::uint64_t>(c_max >> e_);  // in [256, 512)
        weight_.resize(buckets_ + 1);
        u128 sum = 0;
        for (std::size_t j = 0; j < buckets_; ++j) {
            weight_[j] = scale_up(hi[j], e_);
            sum += weight_[j];
        }
        weight_[buckets_] = with_tail ? scale_up(hi[buckets_], e_ + tail_shift) : 0;
        sum += weight_[buckets_];
        if (sum > (u128{1} << 64)) throw invalid_argument("dpkit::detail::bucket_table: weights exceed 2^64");
        const auto slack = static_cast<std::uint64_t>((u128{1} << 64) - sum);

        // A_j: r16 < A_j accepts for every k of bucket j.
        accept_.resize(buckets_);
        for (std::size_t j = 0; j < buckets_; ++j) {
            const std::uint64_t last = (static_cast<std::uint64_t>(j) + 1) * w - 1;
            const std::uint64_t g = x_.fixed(last);
            std::uint64_t a = 0;
            if (g + 2 < fixed_limit) {
                std::uint64_t lo = 0;
                u128 ignored = 0;
                exp_minus_fixed_bounds(g, lo, ignored);  // lo <= 2^64 f(last)
                // floor(2^16 c_num 2^e lo 2^-64 / u_j)
                const u128 product = u128{c_num_} * lo;  // < 2^73
                const u128 scaled = e_ >= 48 ? product << (e_ - 48) : product >> (48 - e_);
                const u128 ratio = scaled / weight_[j];
                a = ratio > 0xffff ? 0xffff : static_cast<std::uint64_t>(ratio);
            }
            accept_[j] = static_cast<std::uint16_t>(a);
        }

        // The alias table over buckets 0..J-1, the tail (J) and the slack (J + 1).
        slot_bits_ = 1;
        while ((std::size_t{1} << slot_bits_) < buckets_ + 2) ++slot_bits_;
        build_alias(slack);
    }

    int width_bits() const noexcept { return m_; }
    std::size_t bucket_count() const noexcept { return buckets_; }
    const std::vector<std::uint64_t>& weights() const noexcept { return weight_; }
    std::uint64_t c_num() const noexcept { return c_num_; }
    int c_exponent() const noexcept { return e_; }
    const std::vector<std::uint16_t>& accept_thresholds() const noexcept { return accept_; }
    const std::vector<std::uint64_t>& alias_table() const noexcept { return alias_; }
    int slot_bits() const noexcept { return slot_bits_; }
    const Exponent& exponent() const noexcept { return x_; }

    /// An integer >= 2^64 f(k) (fixed-point bounds; e^-gamma decreasing).
    u128 upper_f(std::uint64_t k) const noexcept {
        const std::uint64_t g = x_.fixed(k);
        std::uint64_t lo = 0;
        u128 hi = 0;
        exp_minus_fixed_bounds(g < fixed_limit ? g : fixed_limit - 1, lo, hi);
        return hi;
    }

    /// A bucket j < J with probability u_j / 2^64, the tail (J) or the slack (J + 1), from one word.
    template <class Pool>
    [[gnu::always_inline]] std::size_t pick(Pool& bits) const {
        const int coin_bits = 64 - slot_bits_;
        const std::uint64_t coin_mask = (std::uint64_t{1} << coin_bits) - 1;
        const std::uint64_t word = bits.take(64);
        const std::size_t slot = static_cast<std::size_t>(word >> coin_bits);
        const std::uint64_t entry = alias_[slot];
        // Without a branch: a mispredicted one would make rare buckets (large |y|) slower.
        const std::uint64_t alias = entry >> coin_bits;
        const std::uint64_t own = std::uint64_t{0} - static_cast<std::uint64_t>((word & coin_mask) < (entry & coin_mask));
        return static_cast<std::size_t>(alias ^ ((alias ^ static_cast<std::uint64_t>(slot)) & own));
    }

    /// A value k of bucket j (a uniform m-bit offset), a sign and the first 16
    /// bits of the acceptance test, in one request of m + 17 bits when it fits.
    template <class Pool>
    [[gnu::always_inline]] bucket_proposal propose(Pool& bits, std::size_t j) const {
        std::uint64_t rest = 0;
        std::uint64_t r16 = 0;
        if (m_ <= 47) [[likely]] {  // always for the Gaussian at the default width (m <= 45), the Laplace below 2^53
            rest = bits.take(m_ + 17);
            r16 = rest >> (m_ + 1);
        } else {
            rest = bits.take(m_ + 1);
            r16 = bits.take(16);
        }
        const std::uint64_t w_mask = (std::uint64_t{1} << m_) - 1;
        return {(static_cast<std::uint64_t>(j) << m_) | (rest & w_mask), ((rest >> m_) & 1u) != 0, r16};
    }

    /// Accepts k in bucket j with probability c f(k) / u_j, given the test's first 16 bits.
    template <class Pool>
    [[gnu::always_inline]] bool accept(Pool& bits, std::size_t j, std::uint64_t k, std::uint64_t r16) const {
        return r16 < accept_[j] || accept_precise(bits, weight_[j], k, r16);
    }

    /// W < c 2^extra f(k) / u for the uniform W whose first 64 bits are `prefix`:
    /// W e^gamma(k) u / (c_num 2^(e + extra)) < 1, at growing precision.
    template <class Pool>
    bool exact_accept(Pool& bits, std::uint64_t prefix, std::uint64_t k, std::uint64_t u, int extra) const {
        big_uint num;
        big_uint den;
        x_.exact(k, num, den);
        const int shift = e_ + extra;
        return exact_less_than_inverse_with(
            [&] { return bits.word(); }, big_uint::from(prefix), 64, 0, [&](unsigned f, big_uint& lo, big_uint& hi) {
                exp_bounds_ratio(num, den, f, lo, hi);
                lo.mul_small(u);
                hi.mul_small(u);
                lo.div_small(c_num_, false);
                hi.div_small(c_num_, true);
                for (int left = shift; left > 0; left -= 63) {
                    const std::uint64_t d = std::uint64_t{1} << (left < 63 ? left : 63);
                    lo.div_small(d, false);
                    hi.div_small(d, true);
                }
            });
    }

private:
    /// ceil(c_num 2^shift h 2^-64) for h < 2^75 and shift <= 120; throws unless below 2^64.
    std::uint64_t scale_up(u128 h, int shift) const {
        big_uint v = big_uint::from(h);
        v.mul_small(c_num_);
        v.shl(static_cast<unsigned>(shift));
        v.add(big_uint::from(u128{~std::uint64_t{0}}));  // ceil(v / 2^64) = floor((v + 2^64 - 1) / 2^64)
        if (v.limb.size() > 2) throw invalid_argument("dpkit::detail::bucket_table: weight exceeds 2^64");
        return v.limb.size() < 2 ? 0 : v.limb[1];
    }

    /// Vose's alias method in integers: each of the 2^s slots holds capacity
    /// C = 2^(64 - s); slot i keeps bucket i below its threshold and gives the
    /// rest to its alias, so bucket b has probability exactly u_b / 2^64.
    void build_alias(std::uint64_t slack) {
        const std::size_t slots = std::size_t{1} << slot_bits_;
        const int coin_bits = 64 - slot_bits_;
        const u128 capacity = u128{1} << coin_bits;
        std::vector<u128> left(slots, 0);
        for (std::size_t j = 0; j <= buckets_; ++j) left[j] = weight_[j];
        left[buckets_ + 1] = slack;
        std::vector<std::size_t> small;
        std::vector<std::size_t> large;
        for (std::size_t i = 0; i < slots; ++i) (left[i] < capacity ? small : large).push_back(i);
        alias_.assign(slots, 0);
        while (!small.empty() && !large.empty()) {
            const std::size_t s = small.back();
            small.pop_back();
            const std::size_t l = large.back();
            alias_[s] = static_cast<std::uint64_t>(left[s]) | (static_cast<std::uint64_t>(l) << coin_bits);
            left[l] -= capacity - left[s];
            if (left[l] < capacity) {
                large.pop_back();
                small.push_back(l);
            }
        }
        // The weights sum to slots * capacity, so what is left is full slots
        // (exactly `capacity` each): threshold 0 and the slot itself as alias.
        for (const std::size_t i : large) {
            if (left[i] != capacity) throw invalid_argument("dpkit::detail::bucket_table: alias table does not balance");
            alias_[i] = static_cast<std::uint64_t>(i) << coin_bits;
        }
        for (const std::size_t i : small) {
            if (left[i] != capacity) throw invalid_argument("dpkit::detail::bucket_table: alias table does not balance");
            alias_[i] = static_cast<std::uint64_t>(i) << coin_bits;
        }
    }

    /// V < c f(k) for V = u W uniform on [0, u), W's first 16 bits r16 (the rest drawn here).
    template <class Pool>
    [[gnu::noinline]] bool accept_precise(Pool& bits, std::uint64_t u, std::uint64_t k, std::uint64_t r16) const {
        return decide(bits, (r16 << 48) | bits.take(48), k, u, 0);
    }

public:
    /// W < c 2^extra f(k) / u for the uniform W whose first 64 bits are `prefix`
    /// (V = u W uniform on [0, u) against c 2^extra f(k)): the fixed-point bounds
    /// of exp(-gamma) decide unless W's 64 bits fall between them, then exact_accept.
    template <class Pool>
    bool decide(Pool& bits, std::uint64_t prefix, std::uint64_t k, std::uint64_t u, int extra) const {
        const std::uint64_t g = x_.fixed(k);
        const int shift = e_ + extra;
        if (g < fixed_limit && shift < 128) {
            std::uint64_t lo = 0;
            u128 hi = 0;
            exp_minus_fixed_bounds(g, lo, hi);
            // W in [prefix, prefix + 1) 2^-64, so V in [prefix u, (prefix + 1) u) 2^-64;
            // c 2^extra f(k) in [c_num lo 2^shift, c_num hi 2^shift] 2^-64.
            const u128 low_v = u128{prefix} * u;
            const u128 high_v = low_v + u;  // (prefix + 1) u < 2^128: prefix + 1 <= 2^64, u < 2^64
            const u128 lo_c = u128{c_num_} * lo;
            const u128 hi_c = u128{c_num_} * hi;
            const auto shifted_at_least = [shift](u128 v, u128 bound) {  // (v << shift) >= bound, without overflow
                return (shift > 0 && (v >> (128 - shift)) != 0) || (v << shift) >= bound;
            };
            if (shifted_at_least(lo_c, high_v)) return true;       // (prefix + 1) u <= c_num lo 2^shift
            if (!shifted_at_least(hi_c, low_v + 1)) return false;  // prefix u >= c_num hi 2^shift
        }
        return exact_accept(bits, prefix, k, u, extra);
    }

private:
    Exponent x_{};
    int m_ = 0;
    std::size_t buckets_ = 0;
    int e_ = 0;
    std::uint64_t c_num_ = 0;
    int slot_bits_ = 1;
    std::vector<std::uint64_t> alias_;   // threshold (low 64 - s bits) | alias (top s bits)
    std::vector<std::uint64_t> weight_;  // u_j, then the tail's
    std::vector<std::uint16_t> accept_;  // A_j
};

/// The discrete Gaussian N_Z(0, n/d) by buckets (see the file comment).
class gaussian_buckets {
public:
    /// Whether the variance n/d is one this sampler accepts.
    static constexpr bool supports(u128 n, u128 d) noexcept {
        constexpr u128 limit = u128{1} << 120;
        return d >= 1 && n >= d && n < limit && d < limit && n / d <= (u128{1} << 100) &&
               (n / d < (u128{1} << 100) || n % d == 0);
    }

    /// The sampler for N_Z(0, n/d). `tail_gamma` sets where the tail starts
    /// (K^2 >= 2 (n/d) tail_gamma) and `width_shift` the bucket width
    /// (sigma / 2^width_shift < w <= sigma / 2^(width_shift - 1), or w = 1). The
    /// defaults (40, 6) are the fast ones; tests use smaller values to send
    /// many draws through the tail and through the 64-bit acceptance test.
    gaussian_buckets(u128 n, u128 d, unsigned tail_gamma = 40, int width_shift = 6) : n_(n), d_(d) {
        if (!supports(n, d)) throw invalid_argument("dpkit::detail::gaussian_buckets: n/d must be in [1, 2^100], n, d < 2^120");
        if (tail_gamma < 1 || tail_gamma > 40) throw invalid_argument("dpkit::detail::gaussian_buckets: tail_gamma must be in [1, 40]");
        if (width_shift < 1 || width_shift > 6) throw invalid_argument("dpkit::detail::gaussian_buckets: width_shift must be in [1, 6]");
        const auto root = static_cast<std::uint64_t>(isqrt(n / d));  // floor(sigma)
        const u128 variance_up = n / d + (n % d != 0 ? 1 : 0);        // ceil(s)
        const int m = std::max(0, static_cast<int>(std::bit_width(root)) - width_shift);
        const std::uint64_t w = std::uint64_t{1} << m;
        // K: the least multiple of w with K^2 >= 2 s tail_gamma.
        const u128 twice = u128{2} * tail_gamma * n;
        const u128 need = twice / d + (twice % d != 0 ? 1 : 0);
        std::uint64_t k_tail = static_cast<std::uint64_t>(isqrt(need));
        if (u128{k_tail} * k_tail < need) ++k_tail;
        k_tail = (k_tail + w - 1) / w * w;
        k_tail_ = k_tail;
        m_t_ = m;  // w_t >= w keeps 1 + m_t - m >= 1
        while ((u128{k_tail} << m_t_) < variance_up) ++m_t_;  // K w_t >= s
        table_ = bucket_table<gaussian_exponent>(gaussian_exponent(n, d), m, static_cast<std::size_t>(k_tail / w), true,
                                                 1 + m_t_ - m);
    }

    /// The variance n/d.
    u128 numerator() const noexcept { return n_; }
    u128 denominator() const noexcept { return d_; }
    /// Bucket width w = 2^m and count J; the tail starts at K = J w.
    std::uint64_t bucket_width() const noexcept { return std::uint64_t{1} << table_.width_bits(); }
    std::size_t bucket_count() const noexcept { return table_.bucket_count(); }
    std::uint64_t tail_start() const noexcept { return k_tail_; }
    std::uint64_t tail_block_width() const noexcept { return std::uint64_t{1} << m_t_; }
    /// The bucket table (weights out of 2^64, constant c, thresholds, alias table).
    const bucket_table<gaussian_exponent>& table() const noexcept { return table_; }

    /// One draw of N_Z(0, n/d).
    template <class Pool>
    std::int64_t draw(Pool& bits) const {
        const std::size_t buckets = table_.bucket_count();
        while (true) {
            note_iteration(bits);
            const std::size_t j = table_.pick(bits);
            if (j < buckets) [[likely]] {
                const bucket_proposal p = table_.propose(bits, j);
                if (p.negative && p.k == 0) continue;
                if (table_.accept(bits, j, p.k, p.r16)) [[likely]] {
                    return p.negative ? -static_cast<std::int64_t>(p.k) : static_cast<std::int64_t>(p.k);
                }
                continue;
            }
            if (j == buckets) {
                std::int64_t y = 0;
                if (draw_tail(bits, y)) return y;
            }
            // The slack: start again.
        }
    }

private:
    /// One round in the tail; true with y set when accepted.
    template <class Pool>
    bool draw_tail(Pool& bits, std::int64_t& y) const {
        std::uint64_t g = 0;
        while (true) {
            const std::uint64_t v = bits.take(64);
            if (v != 0) {
                g += static_cast<std::uint64_t>(std::countr_zero(v));
                break;
            }
            g += 64;
        }
        // g > 2^20 has probability 2^-(2^20 + 1): it would only make the shifts below overflow.
        if (g > (std::uint64_t{1} << 20)) throw overflow_error("dpkit: discrete Gaussian tail block beyond 2^20");
        const std::uint64_t offset = m_t_ > 0 ? bits.take(m_t_) : 0;
        const bool negative = bits.take(1) != 0;
        const u128 k = u128{k_tail_} + (u128{g} << m_t_) + offset;
        if (k >= (u128{1} << 63)) throw overflow_error("dpkit: discrete Gaussian tail sample does not fit in 63 bits");
        const auto magnitude = static_cast<std::uint64_t>(k);
        const int extra = static_cast<int>(g) + 1 + m_t_ - table_.width_bits();
        if (!table_.decide(bits, bits.take(64), magnitude, table_.weights().back(), extra)) return false;
        y = negative ? -static_cast<std::int64_t>(magnitude) : static_cast<std::int64_t>(magnitude);
        return true;
    }

    u128 n_;
    u128 d_;
    std::uint64_t k_tail_ = 0;
    int m_t_ = 0;
    bucket_table<gaussian_exponent> table_;
};

/// The discrete Laplace with scale b = t/s >= 1 by buckets (see the file comment).
class laplace_buckets {
public:
    /// Whether the scale t/s is one this sampler accepts (1 <= t/s <= 2^56).
    static constexpr bool supports(std::uint64_t t, std::uint64_t s) noexcept {
        return s >= 1 && t >= s && u128{t} <= (u128{s} << 56);
    }

    /// The sampler for scale t/s; `tail_gamma` (K/b >= tail_gamma) and `width_shift`
    /// (b / 2^width_shift < w <= b / 2^(width_shift - 1), or w = 1) as for the Gaussian.
    laplace_buckets(std::uint64_t t, std::uint64_t s, unsigned tail_gamma = 8, int width_shift = 6) : t_(t), s_(s) {
        if (!supports(t, s)) throw invalid_argument("dpkit::detail::laplace_buckets: t/s must be in [1, 2^56]");
        if (tail_gamma < 1 || tail_gamma > 40) throw invalid_argument("dpkit::detail::laplace_buckets: tail_gamma must be in [1, 40]");
        if (width_shift < 1 || width_shift > 6) throw invalid_argument("dpkit::detail::laplace_buckets: width_shift must be in [1, 6]");
        const int m = std::max(0, static_cast<int>(std::bit_width(t / s)) - width_shift);
        const std::uint64_t w = std::uint64_t{1} << m;
        // K: the least multiple of w with K s >= tail_gamma t.
        const u128 need = u128{tail_gamma} * t;
        u128 k_tail = need / s + (need % s != 0 ? 1 : 0);
        k_tail = (k_tail + w - 1) / w * w;
        k_tail_ = static_cast<std::uint64_t>(k_tail);
        tail_argument_.multiply(k_tail_);
        tail_argument_.multiply(s);
        tail_argument_.divide(t);
        tail_prefix_ = exact_scaled_inverse(0, tail_argument_);  // floor(2^64 e^(-K s/t))
        table_ = bucket_table<laplace_exponent>(laplace_exponent(t, s), m, static_cast<std::size_t>(k_tail_ / w), false, 0);
    }

    std::uint64_t t() const noexcept { return t_; }
    std::uint64_t s() const noexcept { return s_; }
    std::uint64_t bucket_width() const noexcept { return std::uint64_t{1} << table_.width_bits(); }
    std::size_t bucket_count() const noexcept { return table_.bucket_count(); }
    /// K: magnitudes >= K are K plus a fresh magnitude (probability e^(-K s/t)).
    std::uint64_t tail_start() const noexcept { return k_tail_; }
    const bucket_table<laplace_exponent>& table() const noexcept { return table_; }

    /// One draw: P[z] proportional to e^(-|z| s/t).
    template <class Pool>
    std::int64_t draw(Pool& bits) const {
        const std::size_t buckets = table_.bucket_count();
        while (true) {
            note_iteration(bits);
            // Memorylessness: Y >= K with probability e^(-K s/t), and then Y - K ~ Y.
            std::uint64_t offset = 0;
            const std::uint64_t first = bits.take(8);
            if (first <= (tail_prefix_ >> 56)) [[unlikely]] offset = tail_offset(bits, first);
            // Y < K: the buckets, until one proposal is accepted (the tail weight is 0).
            std::uint64_t k = 0;
            bool negative = false;
            while (true) {
                note_iteration(bits);
                const std::size_t j = table_.pick(bits);
                if (j >= buckets) [[unlikely]] continue;  // the slack
                const bucket_proposal p = table_.propose(bits, j);
                if (table_.accept(bits, j, p.k, p.r16)) [[likely]] {
                    k = p.k;
                    negative = p.negative;
                    break;
                }
            }
            const std::uint64_t y = offset + k;
            if (negative && y == 0) continue;
            return negative ? -static_cast<std::int64_t>(y) : static_cast<std::int64_t>(y);
        }
    }

private:
    /// The multiple of K in Y, given that the first test "Y >= K" (W < e^(-K s/t),
    /// lazily as lazy_less_prefix) read a first byte r <= the prefix's top byte:
    /// r < top says yes, r == top reads W's next 56 bits and, on a tie, decides
    /// exactly; each yes adds K and the test is repeated on fresh bits.
    template <class Pool>
    [[gnu::noinline]] std::uint64_t tail_offset(Pool& bits, std::uint64_t r) const {
        const std::uint64_t top = tail_prefix_ >> 56;
        bool yes = r < top;
        if (r == top) {
            const std::uint64_t w = (top << 56) | bits.take(56);
            yes = w != tail_prefix_ ? w < tail_prefix_
                                    : exact_less_than_inverse([&] { return bits.word(); }, big_uint::from(w), 64, 0, tail_argument_);
        }
        std::uint64_t offset = 0;
        while (yes) {
            if (offset >= (std::uint64_t{1} << 62)) throw overflow_error("dpkit: discrete Laplace sample does not fit in 63 bits");
            offset += k_tail_;
            yes = lazy_less_prefix(bits, tail_prefix_, 0, [this] { return tail_argument_; });
        }
        return offset;
    }

    std::uint64_t t_;
    std::uint64_t s_;
    std::uint64_t k_tail_ = 0;
    exp_argument tail_argument_;
    std::uint64_t tail_prefix_ = 0;
    bucket_table<laplace_exponent> table_;
};

/// The samplers for a variance or a scale, shared (digit_samplers.hpp's
/// shared_table): at most 256 per kind, a table taking up to about 14 KB.
inline std::shared_ptr<const gaussian_buckets> shared_gaussian_buckets(u128 n, u128 d) {
    return shared_table<gaussian_buckets>(std::pair<u128, u128>{n, d}, 256, [&] { return gaussian_buckets(n, d); });
}

inline std::shared_ptr<const laplace_buckets> shared_laplace_buckets(std::uint64_t t, std::uint64_t s) {
    return shared_table<laplace_buckets>(std::pair<std::uint64_t, std::uint64_t>{t, s}, 256,
                                         [&] { return laplace_buckets(t, s); });
}

}  // namespace dpkit::detail
