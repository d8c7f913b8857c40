#pragma once
/// \file
/// Timing-safe discrete Laplace and discrete Gaussian samplers: every draw runs
/// a fixed number of loop iterations, reads a fixed number of 64-bit words
/// from the generator, and selects results with masks instead of branches on
/// anything random. They answer the timing attack of Jin, McMurtry,
/// Rubinstein, Ohrimenko ("Are We There Yet? Timing and Floating-Point Attacks
/// on Differential Privacy Systems", IEEE S&P 2022), which read the noise of a
/// discrete Laplace sampler from its running time.
///
/// The price is a tiny, proven deviation from the exact distribution, which
/// the timing-safe mechanisms add to delta. Work per draw: words() words and
/// iterations() loop iterations, both functions of the public parameters only.
/// (dpkit does not claim constant time below the level of its own code: a CPU
/// may run a 64x64-bit multiplication in operand-dependent time; no dpkit code
/// on these paths divides, calls libm, indexes memory by a random value or
/// branches on one.)
///
/// Laplace, scale b = t/s: P[z] proportional to e^(-|z|/b). Z = S B (1 + G)
/// with S a fair sign, B ~ Bernoulli(2/(1 + e^(1/b))) (nonzero) and
/// G ~ Geometric(e^(-1/b)) from its K lowest binary digits, digit i being
/// Bernoulli(q_i), q_i = 1/(1 + e^(2^i/b)), with K the least integer with
/// 2^K/b >= 45. Each Bernoulli compares one fresh word w with the exact floor c
/// of 2^64 q (exact_exp.hpp). Proof of the deviation: couple with the exact
/// sampler that compares the same uniform reals W with q exactly: the two
/// differ only if some w == c (probability 2^-64 each, K + 1 comparisons) or
/// G has a digit >= K (probability e^(-2^K/b) <= e^(-45) < 2^-64). So the total
/// variation distance to the exact discrete Laplace is eta <= (K + 2) 2^-64.
///
/// Gaussian, sigma^2 = n/d: CKS20 Algorithm 3 (proposal: the timing-safe
/// Laplace with scale t = floor(sigma) + 1; accept with probability
/// exp(-gamma), gamma = (|y| t d - n)^2 / (2 n d t^2)) run for exactly R rounds,
/// keeping the first accepted proposal (0 if none). exp(-gamma) is computed
/// from the binary digits of gamma with 60 fraction bits (clamped at 45) as a
/// product of exact 64-bit prefixes of e^(-2^j), within 2^-55 of the true value
/// (gamma itself within 2^-56: a 64-bit reciprocal of 2 n d t^2), and compared
/// with one word. Coupling with the exact algorithm, they differ only if a
/// proposal differs (R eta_Laplace), an acceptance differs (R 2^-55) or the
/// exact algorithm has not accepted in R rounds: (1 - P)^R, where the
/// acceptance probability is P = tanh(1/(2t)) e^(-sigma^2/(2t^2)) sum_y
/// e^(-y^2/(2 sigma^2)) >= (1/(2t))(1 - 1/(12 t^2)) e^(-1/2) max(1, sqrt(2 pi) sigma)
/// (the sum by Poisson summation, t > sigma); R makes (1 - P)^R <= 2^-60.
///
/// From distance to privacy: if the exact mechanism is (epsilon, delta)-DP and
/// the sampler's output is within total variation eta of it on every input,
/// then for every set S, P[M'(x) in S] <= P[M(x) in S] + eta <= e^epsilon
/// (P[M'(x') in S] + eta) + delta + eta, i.e. (epsilon, delta + (1 + e^epsilon)
/// eta)-DP; for d coordinates drawn independently, eta adds up d times.

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <cmath>
#include <cstdint>
#include <random>

#include "../detail/format.hpp"
#include "../detail/int128.hpp"
#include "../error.hpp"
#include "../rational.hpp"
#include "bits.hpp"
#include "exact_exp.hpp"

namespace dpkit {

namespace detail {

/// All-ones if the condition holds, else zero (no branch).
inline std::uint64_t mask_if(bool condition) noexcept { return std::uint64_t{0} - static_cast<std::uint64_t>(condition); }

}  // namespace detail

/// Discrete Laplace with rational scale b = t/s (1 <= t, s < 2^64, b <= 2^56),
/// drawn in fixed work (see the file comment): P[z] within total variation
/// eta() of (1 - p)/(1 + p) p^|z|, p = e^(-1/b).
class timing_safe_discrete_laplace {
public:
    explicit timing_safe_discrete_laplace(const rational& scale) : scale_(scale) {
        if (scale.is_zero()) detail::throw_invalid(who, "scale must be > 0", 0.0);
        if (scale.numerator() > std::numeric_limits<std::uint64_t>::max() ||
            scale.denominator() > std::numeric_limits<std::uint64_t>::max()) {
            detail::throw_invalid(who, "scale's numerator and denominator must be below 2^64", scale.to_double());
        }
        if (scale.numerator() > (scale.denominator() << 56)) detail::throw_invalid(who, "scale must be <= 2^56", scale.to_double());
        const auto t = static_cast<std::uint64_t>(scale.numerator());
        const auto s = static_cast<std::uint64_t>(scale.denominator());
        while ((static_cast<detail::u128>(s) << digits_) < static_cast<detail::u128>(45) * t) ++digits_;
        for (int i = 0; i < digits_; ++i) prefix_[static_cast<std::size_t>(i)] = detail::exact_scaled_inverse(1, argument(t, s, i));
        nonzero_prefix_ = detail::exact_scaled_inverse(1, argument(t, s, 0), 1);
    }

    const rational& scale() const noexcept { return scale_; }
    /// Geometric digits drawn per sample (K).
    int digits() const noexcept { return digits_; }
    /// 64-bit words read per sample: K digits, the nonzero test and the sign.
    int words() const noexcept { return digits_ + 2; }
    /// Loop iterations per sample.
    int iterations() const noexcept { return digits_; }
    /// Total variation distance to the exact discrete Laplace: (K + 2) 2^-64.
    double eta() const noexcept { return std::ldexp(static_cast<double>(digits_ + 2), -64); }

    template <std::uniform_random_bit_generator G>
    std::int64_t operator()(G& g) const {
        detail::bit_pool<G> bits(g);
        return draw(bits);
    }

    /// One draw reading exactly words() whole words from the pool's generator.
    template <class Pool>
    std::int64_t draw(Pool& bits) const {
        std::uint64_t y = 0;
        for (int i = 0; i < digits_; ++i) {
            detail::note_iteration(bits);
            y |= static_cast<std::uint64_t>(bits.word() < prefix_[static_cast<std::size_t>(i)]) << i;
        }
        const std::uint64_t nonzero = detail::mask_if(bits.word() < nonzero_prefix_);
        const std::uint64_t negative = detail::mask_if((bits.word() >> 63) != 0);
        const std::uint64_t magnitude = (y + 1) & nonzero;
        return static_cast<std::int64_t>((magnitude ^ negative) - negative);
    }

private:
    static detail::exp_argument argument(std::uint64_t t, std::uint64_t s, int i) {
        detail::exp_argument x;
        x.multiply(s);
        x.shift = static_cast<unsigned>(i);
        x.divide(t);
        return x;
    }

    static constexpr const char* who = "dpkit::timing_safe_discrete_laplace";
    rational scale_;
    int digits_ = 0;
    std::array<std::uint64_t, 64> prefix_{};
    std::uint64_t nonzero_prefix_ = 0;  // floor(2^65 / (1 + e^(1/b))) = floor(2^64 * 2 / (1 + e^(1/b)))
};

/// Discrete Gaussian with rational sigma^2 = n/d (n, d < 2^128, 1/64 <= sigma^2
/// <= 2^100), drawn in fixed work (see the file comment): within total
/// variation eta() of P[k] proportional to e^(-k^2/(2 sigma^2)).
class timing_safe_discrete_gaussian {
public:
    explicit timing_safe_discrete_gaussian(const rational& sigma2)
        : sigma2_(sigma2), laplace_(rational(checked_t(sigma2))) {
        using detail::u128;
        t_ = static_cast<std::uint64_t>(laplace_.scale().numerator());
        n_ = limbs(sigma2.numerator());
        d_ = limbs(sigma2.denominator());
        // B = 2 n d t^2; inv = floor(2^(bits(B) + 63) / B) has 64 significant bits,
        // and gamma 2^60 = a^2 inv / 2^shift with shift = bits(B) + 3.
        detail::big_uint b = detail::big_uint::from(sigma2.numerator()) * detail::big_uint::from(sigma2.denominator());
        b.mul_small(t_);
        b.mul_small(t_);
        b.mul_small(2);
        const int b_bits = static_cast<int>(64 * (b.limb.size() - 1)) + static_cast<int>(std::bit_width(b.limb.back()));
        shift_ = b_bits + 3;
        inv_ = reciprocal(b, static_cast<unsigned>(b_bits + 63));
        for (int j = 0; j < gamma_bits; ++j) {
            detail::exp_argument x;
            if (j < 60) {
                x.divide(std::uint64_t{1} << (60 - j));
            } else {
                x.multiply(std::uint64_t{1} << (j - 60));
            }
            exp_prefix_[static_cast<std::size_t>(j)] = detail::exact_scaled_inverse(0, x);
        }
        // |y| beyond 11 sigma + 2 has gamma > 50 (|y| - sigma^2/t > 10 sigma): such
        // magnitudes are capped there (same acceptance, 0 to 64 bits), keeping a < 2^234.
        magnitude_cap_ = 11 * static_cast<std::uint64_t>(detail::isqrt(sigma2.numerator() / sigma2.denominator())) + 13;
        // Rounds: (1 - P)^R <= 2^-60 with P's lower bound (file comment), rounded down.
        const double sigma = std::sqrt(sigma2.to_double()) * (1 - 0x1p-40);
        const double t = static_cast<double>(t_);
        const double p_low = (1 / (2 * t)) * (1 - 1 / (12 * t * t)) * std::exp(-0.5) *
                             std::max(1.0, std::sqrt(2 * 3.141592653589793) * sigma) * (1 - 0x1p-30);
        rounds_ = static_cast<int>(std::ceil(60 * std::log(2.0) / -std::log1p(-p_low) * (1 + 0x1p-30)));
    }

    const rational& sigma2() const noexcept { return sigma2_; }
    /// Rounds of CKS20 Algorithm 3 per sample (R).
    int rounds() const noexcept { return rounds_; }
    /// 64-bit words read per sample: R times (the Laplace proposal's words + one).
    int words() const noexcept { return rounds_ * (laplace_.words() + 1); }
    /// Loop iterations per sample: R rounds, each the proposal's digits and 66 acceptance steps.
    int iterations() const noexcept { return rounds_ * (1 + laplace_.iterations() + gamma_bits); }
    /// Total variation distance to the exact discrete Gaussian: R (eta_Laplace + 2^-55) + 2^-60.
    double eta() const noexcept {
        return static_cast<double>(rounds_) * (laplace_.eta() + 0x1p-55) * (1 + 0x1p-40) + 0x1p-60;
    }

    template <std::uniform_random_bit_generator G>
    std::int64_t operator()(G& g) const {
        detail::bit_pool<G> bits(g);
        return draw(bits);
    }

    /// One draw reading exactly words() whole words from the pool's generator.
    template <class Pool>
    std::int64_t draw(Pool& bits) const {
        std::uint64_t out = 0;
        std::uint64_t done = 0;
        for (int round = 0; round < rounds_; ++round) {
            detail::note_iteration(bits);
            const std::int64_t y = laplace_.draw(bits);
            const std::uint64_t sign = detail::mask_if(y < 0);
            const std::uint64_t magnitude = (static_cast<std::uint64_t>(y) ^ sign) - sign;
            const std::uint64_t over = detail::mask_if(magnitude > magnitude_cap_);
            const std::uint64_t capped = (magnitude_cap_ & over) | (magnitude & ~over);
            const std::uint64_t threshold = acceptance(bits, capped);
            const std::uint64_t accept = detail::mask_if(bits.word() < threshold);
            const std::uint64_t take = accept & ~done;
            out = (static_cast<std::uint64_t>(y) & take) | (out & ~take);
            done |= accept;
        }
        return static_cast<std::int64_t>(out);
    }

private:
    static constexpr int gamma_bits = 66;  // gamma 2^60 <= 45 2^60 < 2^66
    template <std::size_t N>
    using limbs_t = std::array<std::uint64_t, N>;

    static limbs_t<2> limbs(detail::u128 v) { return {static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(v >> 64)}; }

    /// a * b in fixed-size schoolbook arithmetic (the same steps for every value).
    template <std::size_t N, std::size_t M>
    static limbs_t<N + M> multiply(const limbs_t<N>& a, const limbs_t<M>& b) {
        limbs_t<N + M> r{};
        for (std::size_t i = 0; i < N; ++i) {
            detail::u128 carry = 0;
            for (std::size_t j = 0; j < M; ++j) {
                const detail::u128 p = static_cast<detail::u128>(a[i]) * b[j] + r[i + j] + carry;
                r[i + j] = static_cast<std::uint64_t>(p);
                carry = p >> 64;
            }
            r[i + M] = static_cast<std::uint64_t>(carry);
        }
        return r;
    }

    static std::uint64_t checked_t(const rational& sigma2) {
        if (!(sigma2.to_double() >= 1.0 / 64 && sigma2.to_double() <= 0x1p100)) {
            detail::throw_invalid(who, "sigma^2 must be in [1/64, 2^100]", sigma2.to_double());
        }
        return static_cast<std::uint64_t>(detail::isqrt(sigma2.numerator() / sigma2.denominator())) + 1;
    }

    /// floor(2^bits / b) for a quotient below 2^64 (capped at 2^64 - 1), bit by bit (construction only).
    static std::uint64_t reciprocal(const detail::big_uint& b, unsigned bits) {
        const detail::big_uint limit = detail::big_uint::power_of_two(bits);
        std::uint64_t q = 0;
        for (int i = 63; i >= 0; --i) {
            const std::uint64_t candidate = q | (std::uint64_t{1} << i);
            detail::big_uint p = b;
            p.mul_small(candidate);
            if (compare(p, limit) <= 0) q = candidate;
        }
        return q;
    }

    /// A 64-bit fixed-point value within 2^-55 of exp(-gamma) (and at most it),
    /// gamma = (m t d - n)^2 / (2 n d t^2), in fixed work.
    template <class Pool>
    std::uint64_t acceptance(Pool& bits, std::uint64_t m) const {
        using detail::u128;
        // a = |m t d - n| in 4 limbs (m t < 2^115, times d < 2^128).
        const u128 mt = static_cast<u128>(m) * t_;
        const limbs_t<4> p = multiply<2, 2>(limbs(mt), d_);
        limbs_t<4> up{};    // p - n
        limbs_t<4> down{};  // n - p
        std::uint64_t borrow_up = 0;
        std::uint64_t borrow_down = 0;
        for (std::size_t i = 0; i < 4; ++i) {
            const std::uint64_t ni = i < 2 ? n_[i] : 0;
            const u128 du = static_cast<u128>(p[i]) - ni - borrow_up;
            up[i] = static_cast<std::uint64_t>(du);
            borrow_up = static_cast<std::uint64_t>(du >> 64) & 1;
            const u128 dd = static_cast<u128>(ni) - p[i] - borrow_down;
            down[i] = static_cast<std::uint64_t>(dd);
            borrow_down = static_cast<std::uint64_t>(dd >> 64) & 1;
        }
        const std::uint64_t negative = detail::mask_if(borrow_up != 0);  // p < n
        limbs_t<4> a{};
        for (std::size_t i = 0; i < 4; ++i) a[i] = (down[i] & negative) | (up[i] & ~negative);
        const limbs_t<9> prod = multiply<8, 1>(multiply<4, 4>(a, a), limbs_t<1>{inv_});
        // g = prod >> shift_ (public), as 2 limbs plus "anything above" (then clamp).
        const auto word = static_cast<std::size_t>(shift_ / 64);
        const int bit = shift_ % 64;
        auto limb_at = [&](std::size_t i) -> std::uint64_t { return i < 9 ? prod[i] : 0; };
        auto shifted = [&](std::size_t i) -> std::uint64_t {  // limb i of prod >> shift_
            const std::uint64_t lo = limb_at(word + i) >> bit;
            const std::uint64_t hi = bit == 0 ? 0 : limb_at(word + i + 1) << (64 - bit);
            return lo | hi;
        };
        std::uint64_t above = 0;
        for (std::size_t i = 2; i < 9; ++i) above |= shifted(i);
        u128 g = (static_cast<u128>(shifted(1)) << 64) | shifted(0);
        const u128 limit = static_cast<u128>(45) << 60;
        const u128 clamp = static_cast<u128>(0) - static_cast<u128>((above != 0) | (g > limit));
        g = (limit & clamp) | (g & ~clamp);
        std::uint64_t acc = ~std::uint64_t{0};
        for (int j = 0; j < gamma_bits; ++j) {
            detail::note_iteration(bits);
            const std::uint64_t on = detail::mask_if(((g >> j) & 1) != 0);
            const std::uint64_t factor = (exp_prefix_[static_cast<std::size_t>(j)] & on) | (~std::uint64_t{0} & ~on);
            acc = static_cast<std::uint64_t>((static_cast<u128>(acc) * factor) >> 64);
        }
        return acc;
    }

    static constexpr const char* who = "dpkit::timing_safe_discrete_gaussian";
    rational sigma2_;
    timing_safe_discrete_laplace laplace_;
    std::uint64_t t_ = 1;
    limbs_t<2> n_{};
    limbs_t<2> d_{};
    std::uint64_t inv_ = 0;
    std::uint64_t magnitude_cap_ = 0;
    int shift_ = 0;
    int rounds_ = 1;
    std::array<std::uint64_t, gamma_bits> exp_prefix_{};
};

}  // namespace dpkit
