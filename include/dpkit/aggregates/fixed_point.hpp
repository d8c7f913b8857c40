#pragma once
/// \file
/// Declared bounds and the fixed-point representation that makes dpkit's sums
/// exact. A value is clamped to its declared bounds [L, U] (infinities clamp
/// like any other value), then rounded to the nearest multiple of the
/// resolution r = 2^e, the largest power of two <= (U - L) 2^-30: r depends on
/// the bounds only. Sums of the resulting integers are exact (checked 128-bit
/// arithmetic), so they are the same under any order of addition and any split
/// into shards, and one value moves them by at most max(|round(L/r)|, |round(U/r)|)
/// steps: rounding is monotone, so the declared sensitivity holds for every
/// input, including the repeated-rounding and absorption cases in which a
/// floating-point sum exceeds it (Casacuberta, Shoemate, Vadhan, Wagaman, CCS
/// 2022, "Widespread underestimation of sensitivity in differentially private
/// libraries and how to fix it").

#include <bit>
#include <cfenv>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "../detail/format.hpp"
#include "../detail/int128.hpp"

namespace dpkit {

/// The public range [lower, upper] that every value is clamped to. Declare it
/// from what the column can hold (ages: 0 to 120), never from the data.
struct bounds {
    double lower;
    double upper;
    friend constexpr bool operator==(const bounds&, const bounds&) = default;
};

/// What add() does with NaN, which has no place between the bounds.
enum class nan_policy : std::uint8_t {
    reject,  ///< throw dpkit::invalid_argument (the default)
    drop,    ///< skip the row (the number skipped is private and is never released)
};

namespace detail {

/// Values in [lower, upper] as integers q = round(x / 2^exponent).
struct fixed_point {
    double lower = 0;
    double upper = 1;
    int exponent = 0;
    std::int64_t q_lower = 0;
    std::int64_t q_upper = 0;

    /// Bits of resolution below the width of the bounds.
    static constexpr int resolution_bits = 30;

    /// Validates the bounds (finite, lower < upper, magnitudes within 2^21 widths
    /// and a normal resolution) and derives the resolution 2^(ilogb(width) - bits).
    static fixed_point for_bounds(const char* who, const bounds& b, int bits = resolution_bits) {
        if (!std::isfinite(b.lower)) throw_invalid(who, "bounds.lower must be finite", b.lower);
        if (!std::isfinite(b.upper)) throw_invalid(who, "bounds.upper must be finite", b.upper);
        if (!(b.lower < b.upper)) throw_invalid(who, "bounds.lower must be < bounds.upper", b.lower);
        const double width = b.upper - b.lower;
        if (!std::isfinite(width)) throw_invalid(who, "bounds too wide: upper - lower must be finite", width);
        fixed_point f;
        f.lower = b.lower;
        f.upper = b.upper;
        f.exponent = std::ilogb(width) - bits;
        if (f.exponent < std::numeric_limits<double>::min_exponent - 1) {
            throw_invalid(who, "bounds too narrow: upper - lower must be >= 2^-990", width);
        }
        const double magnitude = std::fmax(std::fabs(b.lower), std::fabs(b.upper));
        if (!(std::ldexp(magnitude, -f.exponent) < 0x1p52)) {
            throw_invalid(who, "bounds too narrow for their magnitude: max(|lower|, |upper|) / (upper - lower) must be < 2^21",
                          magnitude);
        }
        f.q_lower = f.to_units(b.lower);
        f.q_upper = f.to_units(b.upper);
        return f;
    }

    /// round(x / r) for x already within the bounds (ties away from zero; exact).
    std::int64_t to_units(double x) const noexcept {
        return static_cast<std::int64_t>(std::round(std::ldexp(x, -exponent)));
    }

    /// The clamped, quantised value of x (not NaN).
    std::int64_t quantize(double x) const noexcept {
        const double c = x < lower ? lower : (x > upper ? upper : x);
        return to_units(c);
    }

    /// The most one value moves a sum of quantised values (add/remove neighbours).
    std::uint64_t sum_sensitivity() const noexcept {
        // Negated as unsigned: q_lower may be -2^63 (integer sums).
        const auto a = q_lower < 0 ? 0 - static_cast<std::uint64_t>(q_lower) : static_cast<std::uint64_t>(q_lower);
        const auto b = q_upper < 0 ? 0 - static_cast<std::uint64_t>(q_upper) : static_cast<std::uint64_t>(q_upper);
        return a > b ? a : b;
    }

    /// A quantity in steps as a double (post-processing).
    double to_value(i128 units) const noexcept { return std::ldexp(static_cast<double>(units), exponent); }
    double resolution() const noexcept { return std::ldexp(1.0, exponent); }
};

/// The number of values that add(range) quantises and sums at once.
inline constexpr std::size_t block_length = 256;

/// The exact sums of one block of block_length quantised values.
struct block_sums {
    std::int64_t sum = 0;         ///< sum of q over the values kept (|.| <= 2^60)
    std::uint64_t kept = 0;       ///< the number of values kept (all, or all but the NaNs dropped)
    std::uint64_t offsets = 0;    ///< sum of (s q - low) over the values kept (see block_quantizer)
    std::uint64_t squares = 0;    ///< sum of (s q - low)^2 over the values kept, when asked for
    bool finite = false;          ///< false when the block holds a NaN that was not dropped (the sums are then meaningless)
};

/// Quantises blocks of doubles exactly as fixed_point::quantize does, value by
/// value, but with branch-free vector arithmetic (GCC/Clang vector extensions:
/// SSE2 or AVX2 on x86-64, NEON on AArch64) and without a call to ldexp or round.
///
/// Why it is exact. Let s = +1, or s = -1 when upper <= 0 (the kernel then works
/// on -x: round-half-away commutes with negation), y = clamp(s x) within the
/// kernel's bounds, low = round(lower bound of y / r) and r = 2^e the
/// resolution; for_bounds ensures |y| < 2^52 r.
///  * Non-negative bounds: M = 2^52 r. Then M <= y + M <= 2M and doubles in
///    [M, 2M) are spaced r apart, so t = fl(y + M) = M + r RNE(y / r) (RNE:
///    round to nearest, ties to even) and, the significands of [M, 2M] being
///    consecutive integers, bits(t) - bits(M) = RNE(y / r). rne = t - M is exact
///    (Sterbenz: M <= t <= 2M), and so is e = y - rne: |e| <= r/2, and either
///    rne = 0 or y/2 <= rne <= 2y. e >= r/2 exactly when y / r was a tie that
///    RNE rounded down; adding 1 then gives round-half-away(y / r) = s q.
///  * Bounds of both signs: |y| < max(|lower|, |upper|) < 2 width < 2^31 r, and
///    M = 1.5 2^52 r keeps t = fl(y + M) in [2^52 r, 2^53 r), where the same
///    argument holds; a tie went the wrong way (towards zero) exactly when
///    e = copysign(r/2, y), and is moved one step away from zero.
///  * Sums: each lane adds bits(t) plus the correction in wrapping 64-bit
///    arithmetic; the true block sum of q has |.| <= 256 2^52 = 2^60 < 2^63, so
///    subtracting 256 bits(M) modulo 2^64 leaves it exactly. The squares use
///    s q - low in [0, width / r + 1] with width / r < 2^27 (checked), so each
///    is a 32-bit by 32-bit product below 2^56 and 256 of them stay below 2^64.
///  * No product in the kernel is inexact, so contracting a multiply and an add
///    into an FMA cannot change a result. NaN is the only non-finite value left
///    after clamping; it reaches the sum of the e's (at most 128 r per lane, far
///    from overflow), which is how a block reports it. The dropping variant
///    replaces each NaN by the lower bound (whose offset is 0), counts it, and
///    takes its q = low back out of the sum.
/// The kernel assumes IEEE binary64 evaluated in double precision, rounding to
/// nearest and subnormals kept (default_float_environment() checks the last
/// two at run time; callers fall back to quantize() otherwise).
class block_quantizer {
public:
    explicit block_quantizer(const fixed_point& grid) noexcept {
        negated_ = grid.upper <= 0;
        mixed_ = grid.lower < 0 && grid.upper > 0;
        lo_ = negated_ ? -grid.upper : grid.lower;
        hi_ = negated_ ? -grid.lower : grid.upper;
        low_ = negated_ ? -grid.q_upper : grid.q_lower;
        // M = 2^52 r (or 1.5 2^52 r) must be a finite double.
        usable_ = grid.exponent <= std::numeric_limits<double>::max_exponent - 54 &&
                  grid.exponent >= std::numeric_limits<double>::min_exponent - 1;
        if (!usable_) return;
        magic_ = std::ldexp(mixed_ ? 1.5 : 1.0, 52 + grid.exponent);
        half_ = std::ldexp(1.0, grid.exponent - 1);
        magic_bits_ = std::bit_cast<std::uint64_t>(magic_);
        squares_ok_ = grid.q_upper - grid.q_lower < (std::int64_t{1} << 27);
    }

    /// False when the bounds are too wide for the kernel (resolution above 2^970).
    bool usable() const noexcept { return usable_; }
    /// Whether blocks may ask for squares (the fixed-point width is below 2^27 steps).
    bool squares_usable() const noexcept { return usable_ && squares_ok_; }

    /// The sums of q over x[0], ..., x[block_length - 1]; DropNaN skips NaNs.
    template <bool Squares, bool DropNaN = false>
    block_sums sums(const double* x) const noexcept {
        if (mixed_) return run<Squares, DropNaN, false, true>(x);
        return negated_ ? run<Squares, DropNaN, true, false>(x) : run<Squares, DropNaN, false, false>(x);
    }

    /// The sum over the values kept of (q - centre)^2, from a Squares block.
    i128 centred_squares(const block_sums& b, std::int64_t centre) const noexcept {
        // q - centre = s ((s q - low) + k) with k = low - s centre.
        const i128 k = static_cast<i128>(low_) - (negated_ ? -static_cast<i128>(centre) : static_cast<i128>(centre));
        return static_cast<i128>(b.squares) + 2 * k * static_cast<i128>(b.offsets) + static_cast<i128>(b.kept) * k * k;
    }

private:
    // Two doubles per vector (SSE2, NEON), or four where AVX2 is enabled.
#if defined(__AVX2__)
    static constexpr std::size_t width = 4;
#else
    static constexpr std::size_t width = 2;
#endif
    typedef double f64v __attribute__((vector_size(sizeof(double) * width)));
    typedef std::uint64_t u64v __attribute__((vector_size(sizeof(std::uint64_t) * width)));

    struct lanes {
        u64v q{};
        u64v squares{};
        u64v dropped{};
        f64v error{};
    };

    static f64v splat(double v) noexcept { return f64v{} + v; }
    static u64v splat(std::uint64_t v) noexcept { return u64v{} + v; }
    template <class V>
    static auto total(const V& v) noexcept {
        auto s = v[0];
        for (std::size_t i = 1; i < width; ++i) s += v[i];
        return s;
    }

    template <bool Squares, bool DropNaN, bool Negated, bool Mixed>
    void step(lanes& acc, const double* x) const noexcept {
        f64v y;
        std::memcpy(&y, x, sizeof y);
        if constexpr (Negated) y = -y;
        const f64v lo = splat(lo_);
        if constexpr (DropNaN) {
            const auto nan = y != y;
            acc.dropped -= std::bit_cast<u64v>(nan);  // all ones (-1) per NaN
            y = nan ? lo : y;
        }
        y = y < lo ? lo : y;
        y = y > splat(hi_) ? splat(hi_) : y;
        const f64v magic = splat(magic_);
        const f64v t = y + magic;
        const f64v rne = t - magic;
        const f64v e = y - rne;
        u64v q = std::bit_cast<u64v>(t);
        if constexpr (Mixed) {
            const u64v sign = std::bit_cast<u64v>(y) & splat(std::uint64_t{1} << 63);
            const f64v tie = std::bit_cast<f64v>(sign | std::bit_cast<u64v>(splat(half_)));
            const u64v away = std::bit_cast<u64v>(e == tie);           // all ones: a tie went towards zero
            const u64v negative = std::bit_cast<u64v>(y < splat(0.0));  // all ones when y < 0
            q += negative - (away ^ negative);                              // +1, -1 or 0
        } else {
            q -= std::bit_cast<u64v>(e >= splat(half_));  // +1 on a tie rounded down
        }
        acc.q += q;
        if constexpr (!DropNaN) acc.error += e;
        if constexpr (Squares) {
            const u64v offset = (q - splat(magic_bits_ + static_cast<std::uint64_t>(low_))) & splat(std::uint64_t{0xffffffff});
            acc.squares += offset * offset;
        }
    }

    template <bool Squares, bool DropNaN, bool Negated, bool Mixed>
    block_sums run(const double* x) const noexcept {
        lanes a;
        lanes b;
        for (std::size_t i = 0; i < block_length; i += 2 * width) {
            step<Squares, DropNaN, Negated, Mixed>(a, x + i);
            step<Squares, DropNaN, Negated, Mixed>(b, x + i + width);
        }
        const u64v q = a.q + b.q;
        const u64v squares = a.squares + b.squares;
        const u64v dropped = a.dropped + b.dropped;
        const f64v error = a.error + b.error;
        block_sums out;
        out.finite = DropNaN || !std::isnan(total(error));
        const std::uint64_t nans = total(dropped);
        out.kept = block_length - nans;
        // Kernel-signed sum of q over the whole block, the NaNs counted as low.
        const std::uint64_t kernel_sum = total(q) - magic_bits_ * block_length;
        out.offsets = kernel_sum - static_cast<std::uint64_t>(low_) * block_length;
        const auto kept_sum = static_cast<std::int64_t>(kernel_sum - static_cast<std::uint64_t>(low_) * nans);
        out.sum = Negated ? -kept_sum : kept_sum;
        out.squares = total(squares);
        return out;
    }

    double lo_ = 0;
    double hi_ = 0;
    double magic_ = 0;
    double half_ = 0;
    std::uint64_t magic_bits_ = 0;
    std::int64_t low_ = 0;
    bool negated_ = false;
    bool mixed_ = false;
    bool usable_ = false;
    bool squares_ok_ = false;
};

/// True when doubles round to nearest and keep subnormals (no flush-to-zero or
/// denormals-are-zero mode), which block_quantizer relies on.
inline bool default_float_environment() noexcept {
#if defined(__FAST_MATH__) || !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
    return false;
#else
    if (std::fegetround() != FE_TONEAREST) return false;
    volatile double subnormal = std::numeric_limits<double>::denorm_min();
    volatile double normal = std::numeric_limits<double>::min();
    const double a = subnormal;
    const double b = normal;
    return a + 0.0 != 0.0 && b / 3 != 0.0;  // subnormal operands read, subnormal (inexact) results kept
#endif
}

/// |a| < 2^126: a block of at most 2^8 values of at most 2^63 each added one
/// at a time can then never overflow 128 bits, so adding its sum at once gives
/// the same state and the same (absent) exception.
inline bool far_from_limits(i128 a) noexcept {
    const i128 limit = static_cast<i128>(1) << 126;
    return a > -limit && a < limit;
}

/// a + b, refusing to wrap (never happens below 2^64 values of at most 2^53 steps).
inline i128 checked_add(const char* who, i128 a, i128 b) {
    i128 out = 0;
    if (__builtin_add_overflow(a, b, &out)) throw overflow_error(std::string(who) + ": the exact sum would overflow 128 bits");
    return out;
}

}  // namespace detail
}  // namespace dpkit
