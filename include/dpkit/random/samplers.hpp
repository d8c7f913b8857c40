#pragma once
/// \file
/// Exact samplers: every draw uses integer arithmetic on uniformly random bits
/// only; no floating-point value is computed on any sampling path.
///
/// Algorithms:
///  - uniform integers in [0, n): Lemire 2019, "Fast random integer generation
///    in an interval" (nearly divisionless rejection), and mask rejection above 64 bits;
///  - Bernoulli(p), p rational: a uniform integer below the denominator;
///  - Bernoulli(exp(-gamma)): Canonne, Kamath, Steinke 2020, "The Discrete
///    Gaussian for Differential Privacy" (NeurIPS), Algorithm 1;
///  - discrete Laplace, scale >= 1, and discrete Gaussian, sigma^2 >= 1:
///    rejection from a step-shaped proposal drawn from an integer alias table,
///    accepted by a lazily and exactly decided test (bucket_samplers.hpp), with
///    the sign and "-0" rejection of CKS20 Algorithm 2;
///  - geometric, and discrete Laplace with scale < 1: independent binary digits compared
///    lazily with exact 64-bit table prefixes (digit_samplers.hpp), with the
///    sign and "-0" rejection of CKS20 Algorithm 2; the CKS20 Algorithm 2
///    sampler remains as detail::discrete_laplace_cks (the reference);
///  - discrete Gaussian, otherwise: CKS20 Algorithm 3 with the digit-based Laplace as the
///    proposal and its acceptance test Bernoulli(exp(-gamma)) decided against
///    fixed-point bounds on exp(-gamma), falling back to exact arithmetic when
///    the first 64 random bits do not decide it (Knuth-Yao lazy comparison;
///    digit_samplers.hpp). Tables are shared between distributions of the same scale.
/// Random bits come from a bit_pool (bits.hpp): one 64-bit generator word
/// feeds several decisions. None of these samplers is timing-safe: the work
/// (bits and loop iterations) depends on the value drawn (see timing_safe.hpp).
/// Intermediate values that could exceed 128 bits are computed in a 512-bit
/// integer, so no accepted parameter can overflow; a result that cannot be
/// represented in 64 bits throws dpkit::overflow_error (for accepted parameters
/// this has probability below 2^-80 per draw).

#include <algorithm>
#include <bit>
#include <concepts>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>

#include "../detail/format.hpp"
#include "../detail/int128.hpp"
#include "../detail/wide_uint.hpp"
#include "../error.hpp"
#include "../rational.hpp"
#include "bits.hpp"
#include "digit_samplers.hpp"
#include "bucket_samplers.hpp"

namespace dpkit {

namespace detail {

/// Uniform in [0, n), n >= 1 (Lemire's nearly divisionless method).
template <std::uniform_random_bit_generator G>
std::uint64_t uniform_below_u64(G& g, std::uint64_t n) {
    u128 m = static_cast<u128>(draw64(g)) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
        const std::uint64_t threshold = (0 - n) % n;
        while (low < threshold) {
            m = static_cast<u128>(draw64(g)) * n;
            low = static_cast<std::uint64_t>(m);
        }
    }
    return static_cast<std::uint64_t>(m >> 64);
}

template <std::uniform_random_bit_generator G>
std::uint64_t uniform_index(G& g, std::uint64_t n) {
    return uniform_below_u64(g, n);
}

/// Uniform in [0, n), n >= 1.
template <std::uniform_random_bit_generator G>
u128 uniform_index(G& g, u128 n) {
    if (n <= std::numeric_limits<std::uint64_t>::max()) return uniform_below_u64(g, static_cast<std::uint64_t>(n));
    if (n == (u128{1} << 64)) return draw64(g);
    const int bits = bit_width(n - 1);
    while (true) {
        u128 r = (static_cast<u128>(draw64(g)) << 64) | draw64(g);
        r >>= (128 - bits);
        if (r < n) return r;
    }
}

/// Uniform in [0, n), n >= 1.
template <std::size_t L, std::uniform_random_bit_generator G>
wide_uint<L> uniform_index(G& g, const wide_uint<L>& n) {
    const int bits = n.bit_width();
    const auto words = static_cast<std::size_t>((bits + 63) / 64);
    const int top_bits = bits - 64 * static_cast<int>(words - 1);
    while (true) {
        wide_uint<L> r;
        for (std::size_t i = 0; i < words; ++i) r.limb[i] = draw64(g);
        if (top_bits < 64) r.limb[words - 1] >>= (64 - top_bits);
        if (r < n) return r;
    }
}

inline bool is_zero(std::uint64_t v) noexcept { return v == 0; }
inline bool is_zero(u128 v) noexcept { return v == 0; }
template <std::size_t L>
bool is_zero(const wide_uint<L>& v) noexcept {
    return v.is_zero();
}

inline bool checked_mul(std::uint64_t a, std::uint64_t k, std::uint64_t& out) noexcept {
    return !__builtin_mul_overflow(a, k, &out);
}
inline bool checked_mul(u128 a, std::uint64_t k, u128& out) noexcept { return !__builtin_mul_overflow(a, k, &out); }

/// Bernoulli(num / den), 0 <= num <= den.
template <class U, std::uniform_random_bit_generator G>
bool bernoulli_ratio(G& g, const U& num, const U& den) {
    return uniform_index(g, den) < num;
}

/// Bernoulli(1/k) for k >= 1.
template <std::uniform_random_bit_generator G>
bool bernoulli_one_over(G& g, std::uint64_t k) {
    return uniform_below_u64(g, k) == 0;
}

/// Bernoulli(exp(-1)): CKS20 Algorithm 1 with gamma = 1.
template <std::uniform_random_bit_generator G>
bool bernoulli_exp_minus_one(G& g) {
    std::uint64_t k = 2;  // the first trial, Bernoulli(1/1), always succeeds
    while (bernoulli_one_over(g, k)) ++k;
    return (k & 1u) != 0;
}

/// Bernoulli(exp(-num/den)) for den > 0 (CKS20 Algorithm 1): exp(-1) trials for
/// the integer part of the exponent, then the alternating-series loop for the
/// fractional part.
template <class U, std::uniform_random_bit_generator G>
bool bernoulli_exp_ratio(G& g, U num, const U& den) {
    while (!(num < den)) {
        num -= den;
        if (!bernoulli_exp_minus_one(g)) return false;
    }
    if (is_zero(num)) return true;
    if constexpr (std::is_same_v<U, u128>) {
        // Once the remainder is below 2^64, continue in 64-bit arithmetic.
        if (den <= std::numeric_limits<std::uint64_t>::max()) {
            return bernoulli_exp_ratio<std::uint64_t>(g, static_cast<std::uint64_t>(num),
                                                       static_cast<std::uint64_t>(den));
        }
    }
    for (std::uint64_t k = 1;; ++k) {
        // Bernoulli(num / (den * k)), split into two independent trials if den * k overflows.
        U scaled{};
        const bool success = checked_mul(den, k, scaled)
                                 ? bernoulli_ratio(g, num, scaled)
                                 : (bernoulli_ratio(g, num, den) && bernoulli_one_over(g, k));
        if (!success) return (k & 1u) != 0;
    }
}

/// floor((U + t V) / s) for U uniform in [0, t) accepted with probability
/// exp(-U/t) and V ~ Geometric(1 - exp(-1)): P[result = k] is proportional to
/// exp(-k s / t) (CKS20 Algorithm 2 without the sign). t, s >= 1.
template <std::uniform_random_bit_generator G>
std::uint64_t geometric_cks(G& g, std::uint64_t t, std::uint64_t s) {
    std::uint64_t u = 0;
    do {
        u = uniform_below_u64(g, t);
    } while (!bernoulli_exp_ratio<std::uint64_t>(g, u, t));
    std::uint64_t v = 0;
    while (bernoulli_exp_minus_one(g)) ++v;
    const u128 x = static_cast<u128>(t) * v + u;  // t, v < 2^64: no overflow
    const u128 y = x / s;
    if (y > static_cast<u128>(std::numeric_limits<std::int64_t>::max())) {
        throw overflow_error("dpkit: geometric sample does not fit in 64 bits");
    }
    return static_cast<std::uint64_t>(y);
}

/// Discrete Laplace with scale t/s: P[k] proportional to exp(-|k| s / t).
template <std::uniform_random_bit_generator G>
std::int64_t discrete_laplace_cks(G& g, std::uint64_t t, std::uint64_t s) {
    while (true) {
        const std::uint64_t y = geometric_cks(g, t, s);
        const bool negative = (draw64(g) >> 63) != 0;
        if (negative && y == 0) continue;
        return negative ? -static_cast<std::int64_t>(y) : static_cast<std::int64_t>(y);
    }
}

inline bool fits_u64(u128 v) noexcept { return v <= std::numeric_limits<std::uint64_t>::max(); }

}  // namespace detail

/// A uniformly random integer in [0, n). Throws dpkit::invalid_argument if n == 0.
template <std::uniform_random_bit_generator G>
std::uint64_t uniform_below(G& g, std::uint64_t n) {
    if (n == 0) detail::throw_invalid("dpkit::uniform_below", "n must be >= 1", n);
    return detail::uniform_below_u64(g, n);
}

/// Bernoulli(p) for a rational p in [0, 1]: true with probability exactly p.
template <std::uniform_random_bit_generator G>
bool bernoulli(G& g, const rational& p) {
    if (p.denominator() < p.numerator()) {
        detail::throw_invalid("dpkit::bernoulli", "p must be in [0, 1]", p.to_double());
    }
    return detail::bernoulli_ratio(g, p.numerator(), p.denominator());
}

/// Bernoulli(exp(-gamma)) for a rational gamma >= 0: true with probability
/// exactly exp(-gamma) (CKS20 Algorithm 1).
template <std::uniform_random_bit_generator G>
bool bernoulli_exp(G& g, const rational& gamma) {
    return detail::bernoulli_exp_ratio<detail::u128>(g, gamma.numerator(), gamma.denominator());
}

namespace detail {
/// Selects discrete_laplace_distribution's digit-by-digit sampler where the bucket sampler would apply.
struct digit_sampler_t {
    explicit digit_sampler_t() = default;
};
inline constexpr digit_sampler_t digit_sampler{};
}  // namespace detail

/// Geometric distribution on {0, 1, 2, ...} with P[k] = (1 - e^-gamma) e^(-gamma k)
/// for a rational gamma > 0 whose numerator and denominator are below 2^64.
class geometric_exp_distribution {
public:
    explicit geometric_exp_distribution(const rational& gamma) : gamma_(gamma), digits_(checked(gamma)) {}

    const rational& gamma() const noexcept { return gamma_; }

    template <std::uniform_random_bit_generator G>
    std::uint64_t operator()(G& g) const {
        detail::bit_pool<G> bits(g);
        return (*digits_)(bits);
    }

    /// One draw from bits of an existing pool (for batches).
    template <class Pool>
    std::uint64_t draw(Pool& bits) const {
        return (*digits_)(bits);
    }

private:
    static constexpr const char* who = "dpkit::geometric_exp_distribution";

    static std::shared_ptr<const detail::geometric_digits> checked(const rational& gamma) {
        if (gamma.is_zero()) detail::throw_invalid(who, "gamma must be > 0", 0.0);
        if (!detail::fits_u64(gamma.numerator()) || !detail::fits_u64(gamma.denominator())) {
            detail::throw_invalid(who, "gamma's numerator and denominator must be below 2^64", gamma.to_double());
        }
        if (gamma.to_double() < 0x1p-56) detail::throw_invalid(who, "gamma must be >= 2^-56", gamma.to_double());
        return detail::shared_geometric_digits(static_cast<std::uint64_t>(gamma.denominator()),
                                        static_cast<std::uint64_t>(gamma.numerator()));
    }

    rational gamma_;
    std::shared_ptr<const detail::geometric_digits> digits_;
};

/// Discrete Laplace distribution on the integers with rational scale b:
/// P[k] = (1 - p)/(1 + p) p^|k| with p = exp(-1/b). The scale's numerator and
/// denominator must be below 2^64 and b <= 2^56.
class discrete_laplace_distribution {
public:
    /// Scales b >= 1 (the lattice mechanisms' case) are drawn by the bucket
    /// sampler of bucket_samplers.hpp, smaller ones digit by digit (digit_samplers.hpp).
    explicit discrete_laplace_distribution(const rational& scale) : scale_(scale) {
        check(scale);
        const auto t = static_cast<std::uint64_t>(scale.numerator());
        const auto s = static_cast<std::uint64_t>(scale.denominator());
        if (detail::laplace_buckets::supports(t, s)) {
            buckets_ = detail::shared_laplace_buckets(t, s);
        } else {
            digits_ = detail::shared_geometric_digits(t, s);
        }
    }

    /// The digit-by-digit sampler at any accepted scale (for tests and comparisons).
    discrete_laplace_distribution(const rational& scale, detail::digit_sampler_t) : scale_(scale) {
        check(scale);
        digits_ = detail::shared_geometric_digits(static_cast<std::uint64_t>(scale.numerator()),
                                                  static_cast<std::uint64_t>(scale.denominator()));
    }

    const rational& scale() const noexcept { return scale_; }

    template <std::uniform_random_bit_generator G>
    std::int64_t operator()(G& g) const {
        detail::bit_pool<G> bits(g);
        return draw(bits);
    }

    /// One draw from bits of an existing pool (for batches: the pool's unused
    /// bits carry over to the next draw).
    template <class Pool>
    std::int64_t draw(Pool& bits) const {
        if (buckets_) [[likely]] return buckets_->draw(bits);
        return digits_->signed_draw(bits);
    }

    /// Whether draws use the bucket sampler (scale >= 1).
    bool uses_buckets() const noexcept { return buckets_ != nullptr; }

private:
    static constexpr const char* who = "dpkit::discrete_laplace_distribution";

    static void check(const rational& scale) {
        if (scale.is_zero()) detail::throw_invalid(who, "scale must be > 0", 0.0);
        if (!detail::fits_u64(scale.numerator()) || !detail::fits_u64(scale.denominator())) {
            detail::throw_invalid(who, "scale's numerator and denominator must be below 2^64", scale.to_double());
        }
        if (scale.numerator() > (scale.denominator() << 56)) {
            detail::throw_invalid(who, "scale must be <= 2^56", scale.to_double());
        }
    }

    rational scale_;
    std::shared_ptr<const detail::geometric_digits> digits_;
    std::shared_ptr<const detail::laplace_buckets> buckets_;
};

namespace detail {
/// Selects discrete_gaussian_distribution's CKS20 sampler where the bucket sampler would apply.
struct laplace_proposal_t {
    explicit laplace_proposal_t() = default;
};
inline constexpr laplace_proposal_t laplace_proposal{};
}  // namespace detail

/// Discrete Gaussian distribution on the integers with rational variance
/// parameter sigma^2: P[k] proportional to exp(-k^2 / (2 sigma^2)).
/// Accepts 0 < sigma^2 <= 2^100. A sigma^2 >= 1 with numerator and denominator
/// below 2^120 (the lattice mechanisms' integer variances, the integer
/// mechanisms' dyadic ones) is drawn by the bucket sampler of
/// bucket_samplers.hpp (rejection from a step-shaped proposal, about 1.02
/// rounds per draw); any other by CKS20 Algorithm 3 (proposal discrete Laplace
/// with scale floor(sigma) + 1, about 1.3 rounds per draw). Both are exact.
class discrete_gaussian_distribution {
public:
    explicit discrete_gaussian_distribution(const rational& sigma2) : sigma2_(sigma2) {
        validate(sigma2);
        if (detail::gaussian_buckets::supports(sigma2.numerator(), sigma2.denominator())) {
            buckets_ = detail::shared_gaussian_buckets(sigma2.numerator(), sigma2.denominator());
            return;
        }
        init_laplace_proposal();
    }

    /// The CKS20 Algorithm 3 sampler (rejection from a discrete Laplace) at any
    /// accepted sigma^2, also where the bucket sampler applies (for tests and comparisons).
    discrete_gaussian_distribution(const rational& sigma2, detail::laplace_proposal_t) : sigma2_(sigma2) {
        validate(sigma2);
        init_laplace_proposal();
    }

private:
    static void validate(const rational& sigma2) {
        if (sigma2.is_zero()) detail::throw_invalid(who, "sigma^2 must be > 0", 0.0);
        const detail::u128 whole = sigma2.numerator() / sigma2.denominator();
        if (whole > (detail::u128{1} << 100)) detail::throw_invalid(who, "sigma^2 must be <= 2^100", sigma2.to_double());
    }

    void init_laplace_proposal() {
        const rational& sigma2 = sigma2_;
        const detail::u128 whole = sigma2.numerator() / sigma2.denominator();
        t_ = static_cast<std::uint64_t>(detail::isqrt(whole)) + 1;  // floor(sigma) + 1
        // B = 2 sigma^2 t^2 as num/den: 2 * n * d * t^2 over d^2; we use 2 n d t^2 (see operator()).
        const detail::u128 n = sigma2.numerator();
        const detail::u128 d = sigma2.denominator();
        if (d == 1 && detail::bit_width(n) <= 126) {
            integer_n_ = n;
            // |y| t < 2^127 keeps y t - n in 128 bits.
            integer_limit_ = static_cast<std::uint64_t>(std::min<detail::u128>((detail::u128{1} << 127) / t_, detail::u128{1} << 63));
        }
        fast_denominator_ = 1 + detail::bit_width(n) + detail::bit_width(d) + 2 * detail::bit_width(t_) <= 127;
        if (fast_denominator_) two_n_d_t2_ = 2 * n * d * t_ * t_;
        laplace_ = detail::shared_geometric_digits(t_, 1);
        // 2 n d t^2 and 32 times it in 512 bits (n, d < 2^128, t <= 2^51: no overflow).
        wide_b_ = wide::from(n);
        (void)detail::checked_mul(wide_b_, wide::from(d), wide_b_);
        (void)detail::checked_mul(wide_b_, t_, wide_b_);
        (void)detail::checked_mul(wide_b_, t_, wide_b_);
        (void)detail::checked_mul(wide_b_, std::uint64_t{2}, wide_b_);
        (void)detail::checked_mul(wide_b_, std::uint64_t{32}, wide_b32_);
        int b_exponent = 0;
        const std::uint64_t b_top = detail::top_bits(wide_b_, b_exponent);
        gamma_ = detail::exp_minus_fixed_ratio(b_top, b_exponent);
        narrow_ok_ = wide_b32_.bit_width() <= 190 && detail::bit_width(n) <= 94;
        if (narrow_ok_) {
            for (std::size_t i = 0; i < 3; ++i) {
                narrow_b_.limb[i] = wide_b_.limb[i];
                narrow_b32_.limb[i] = wide_b32_.limb[i];
            }
        }
    }

public:
    const rational& sigma2() const noexcept { return sigma2_; }

    template <std::uniform_random_bit_generator G>
    std::int64_t operator()(G& g) const {
        detail::bit_pool<G> bits(g);
        return draw(bits);
    }

    /// One draw from bits of an existing pool (for batches).
    template <class Pool>
    std::int64_t draw(Pool& bits) const {
        if (buckets_) [[likely]] return buckets_->draw(bits);
        return draw_from_laplace(bits);
    }

    /// Whether draws use the bucket sampler (sigma^2 >= 1; see the class comment).
    bool uses_buckets() const noexcept { return buckets_ != nullptr; }

private:
    template <class Pool>
    std::int64_t draw_from_laplace(Pool& bits) const {
        using detail::u128;
        auto& g = bits.generator();
        const u128 n = sigma2_.numerator();
        const u128 d = sigma2_.denominator();
        const detail::geometric_digits& laplace = *laplace_;
        while (true) {
            detail::note_iteration(bits);
            std::uint64_t first16 = 0;  // the acceptance test's first 16 bits, drawn with y's
            bool negative = false;
            const std::uint64_t magnitude = laplace.magnitude_and_sign<16>(bits, negative, first16);
            const std::int64_t y = negative ? -static_cast<std::int64_t>(magnitude) : static_cast<std::int64_t>(magnitude);
            // Accept with probability exp(-(|y| - sigma^2/t)^2 / (2 sigma^2))
            //   = exp(-(|y| t d - n)^2 / (2 n d t^2)).
            if (magnitude < integer_limit_) [[likely]] {  // 0 unless sigma^2 is an integer below 2^126
                // Integer sigma^2 = n < 2^126 (the lattice mechanisms): a = |y t - n| in 128 bits.
                const u128 p = u128{magnitude} * t_;
                const u128 a = p >= integer_n_ ? p - integer_n_ : integer_n_ - p;
                const auto a_high = static_cast<std::uint64_t>(a >> 64);
                const auto a_low = static_cast<std::uint64_t>(a);
                if ((a_high | a_low) == 0) return y;  // gamma = 0
                int a_exponent = 0;
                std::uint64_t a_top = 0;
                if (a_high == 0) [[likely]] {
                    const int zeros = std::countl_zero(a_low);
                    a_top = a_low << zeros;
                    a_exponent = -zeros;
                } else {
                    a_top = detail::top_bits(a, a_exponent);
                }
                const std::uint64_t fixed = gamma_.fixed(a_top, a_exponent);
                if (fixed < fixed_limit) [[likely]] {
                    std::uint64_t tie = 0;
                    const int decided = detail::bernoulli_exp_minus_fixed(bits, fixed, first16, tie);
                    if (decided == 1) [[likely]] return y;
                    if (decided == 2 && exact_tie(bits, tie, detail::to_big(a) * detail::to_big(a))) [[unlikely]] return y;
                    continue;
                }
            }
            const bool small_product =
                detail::bit_width(magnitude) + detail::bit_width(t_) + detail::bit_width(d) <= 127;
            if (fast_denominator_ && small_product) {
                const u128 p = u128{magnitude} * t_ * d;
                const u128 a = p >= n ? p - n : n - p;
                if (detail::bit_width(a) <= 64) {
                    if (a == 0) return y;  // gamma = 0
                    int a_exponent = 0;
                    const std::uint64_t a_top = detail::top_bits(a, a_exponent);
                    const std::uint64_t fixed = gamma_.fixed(a_top, a_exponent);
                    // gamma = a^2 / (2 n d t^2) < 40: the fixed-point test, exact on its rare ties.
                    if (fixed < fixed_limit) [[likely]] {
                        std::uint64_t tie = 0;
                        const int decided = detail::bernoulli_exp_minus_fixed(bits, fixed, first16, tie);
                        if (decided == 1) [[likely]] return y;
                        if (decided == 2 && exact_tie(bits, tie, detail::to_big(a * a))) [[unlikely]] return y;
                        continue;
                    }
                    if (detail::bernoulli_exp_ratio<u128>(g, a * a, two_n_d_t2_)) return y;
                    continue;
                }
            }
            if (accept_wide(bits, magnitude, first16)) return y;
        }
    }

    using wide = detail::wide_uint<8>;

    template <class Pool>
    bool accept_wide(Pool& bits, std::uint64_t magnitude, std::uint64_t first16) const {
        // 192 bits when they suffice (a < 2^95 and 32 * 2 n d t^2 < 2^190): the
        // common case of large vectors' variances; 512 bits otherwise.
        if (narrow_ok_ && 64 + detail::bit_width(t_) + detail::bit_width(sigma2_.denominator()) -
                                  static_cast<int>(std::countl_zero(magnitude)) <= 94) {
            return accept_in<3>(bits, magnitude, first16, narrow_b_, narrow_b32_);
        }
        return accept_in<8>(bits, magnitude, first16, wide_b_, wide_b32_);
    }

    template <std::size_t L, class Pool>
    bool accept_in(Pool& bits, std::uint64_t magnitude, std::uint64_t first16, const detail::wide_uint<L>& b,
                   const detail::wide_uint<L>& b32) const {
        using w = detail::wide_uint<L>;
        const w n = w::from(sigma2_.numerator());
        const w d = w::from(sigma2_.denominator());
        w p;
        w a;
        w a2;
        // Bounds: |y| < 2^63, t <= 2^51, n, d < 2^128: every product fits 512 bits
        // (and 192 bits when accept_wide chose L = 3).
        bool ok = detail::checked_mul(w::from(magnitude), t_, p) && detail::checked_mul(p, d, p);
        if (n < p) {
            a = p;
            a -= n;
        } else {
            a = n;
            a -= p;
        }
        ok = ok && detail::checked_mul(a, a, a2);
        if (!ok) throw overflow_error("dpkit::discrete_gaussian_distribution: intermediate exceeds 512 bits");
        // gamma = a2 / (2 n d t^2) < 40: the fixed-point test; otherwise CKS20 Algorithm 1.
        if (a.is_zero()) return true;
        int a_exponent = 0;
        const std::uint64_t a_top = detail::top_bits(a, a_exponent);
        const std::uint64_t fixed = gamma_.fixed(a_top, a_exponent);
        if (fixed < fixed_limit) {
            std::uint64_t tie = 0;
            const int decided = detail::bernoulli_exp_minus_fixed(bits, fixed, first16, tie);
            return decided == 1 || (decided == 2 && exact_tie(bits, tie, detail::to_big(a2)));
        }
        (void)b32;
        return detail::bernoulli_exp_ratio<w>(bits.generator(), a2, b);
    }

    /// W < e^(-a2 / B) for the uniform W whose 64-bit prefix is u (exact, at growing precision).
    template <class Pool>
    [[gnu::noinline]] bool exact_tie(Pool& bits, std::uint64_t u, const detail::big_uint& a2) const {
        return detail::exact_less_than_exp_minus([&] { return bits.word(); }, detail::big_uint::from(u), 64, a2,
                                                 detail::to_big(wide_b_));
    }

    static constexpr std::uint64_t fixed_limit = std::uint64_t{40} << 24;
    static constexpr const char* who = "dpkit::discrete_gaussian_distribution";
    rational sigma2_;
    detail::exp_minus_fixed_ratio gamma_;
    std::uint64_t t_ = 1;
    detail::u128 integer_n_ = 0;       // sigma^2 when it is an integer below 2^126, else 0
    std::uint64_t integer_limit_ = 0;  // |y| below which |y| t - sigma^2 fits 128 bits
    bool fast_denominator_ = false;
    detail::u128 two_n_d_t2_ = 0;
    std::shared_ptr<const detail::geometric_digits> laplace_;
    std::shared_ptr<const detail::gaussian_buckets> buckets_;
    wide wide_b_;
    wide wide_b32_;
    bool narrow_ok_ = false;
    detail::wide_uint<3> narrow_b_;
    detail::wide_uint<3> narrow_b32_;
};

}  // namespace dpkit
