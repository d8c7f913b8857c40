// The sensitivity oracle: for adversarial neighbouring datasets D, D' (one
// privacy unit, i.e. up to max_contributions records, added or removed), the
// exact pre-noise states of count, bounded_sum<double>, bounded_sum<int64_t>,
// bounded_mean and bounded_variance, read back from serialize() by a decoder
// written here, never differ by more than the sensitivity the noise is
// calibrated to. The same check flags a naive clamped floating-point sum (and a
// wrapping 64-bit integer sum) on the constructions of Casacuberta, Shoemate,
// Vadhan and Wagaman (CCS 2022), "Widespread underestimation of sensitivity in
// differentially private libraries and how to fix it".
//
// Then the block path of add(range) against adding one value at a time: the
// serialized states are identical byte for byte on adversarial inputs.
#include <dpkit/aggregates.hpp>

#include <algorithm>
#include <bit>
#include <cfenv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <deque>
#include <list>
#include <random>
#include <span>
#include <vector>

#include "../support/dpkit_catch.hpp"

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

using namespace dpkit;

namespace {

using i128 = detail::i128;
using u128 = detail::u128;
constexpr double inf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------
// A decoder of the serialized states (serialization.hpp, version 1), written
// independently of the library's reader.

struct decoded {
    std::uint8_t kind = 0;
    double lower = 0;
    double upper = 0;
    std::int64_t exponent = 0;
    std::uint64_t cap = 0;
    i128 n = 0;        // count (count, mean, variance)
    i128 sum = 0;      // exact sum in fixed-point steps (sums, mean, variance)
    i128 squares = 0;  // variance only
};

class decoder {
public:
    explicit decoder(const std::vector<std::byte>& b) : bytes_(b) {}
    std::uint64_t u(int width) {
        std::uint64_t v = 0;
        for (int i = 0; i < width; ++i) v |= static_cast<std::uint64_t>(bytes_.at(pos_++)) << (8 * i);
        return v;
    }
    double f64() { return std::bit_cast<double>(u(8)); }
    i128 s128() {
        const std::uint64_t lo = u(8);
        const std::uint64_t hi = u(8);
        return static_cast<i128>((static_cast<u128>(hi) << 64) | lo);
    }
    bool done() const { return pos_ == bytes_.size(); }

private:
    const std::vector<std::byte>& bytes_;
    std::size_t pos_ = 0;
};

decoded decode(const std::vector<std::byte>& bytes) {
    decoder r(bytes);
    decoded d;
    REQUIRE(r.u(4) == 0x414B5044u);  // "DPKA"
    REQUIRE(r.u(2) == 1);
    d.kind = static_cast<std::uint8_t>(r.u(1));
    REQUIRE(r.u(1) == 0);  // not released
    if (d.kind == 1) {
        d.cap = r.u(8);
        d.n = r.u(8);
    } else {
        d.lower = r.f64();
        d.upper = r.f64();
        d.exponent = static_cast<std::int64_t>(r.u(8));
        (void)r.u(1);  // nan_policy
        d.cap = r.u(8);
        if (d.kind >= 4) d.n = r.u(8);
        d.sum = r.s128();
        if (d.kind == 5) d.squares = r.s128();
    }
    REQUIRE(r.done());
    return d;
}

// ---------------------------------------------------------------------------
// The declared sensitivities, in fixed-point steps, recomputed here from the
// decoded public parameters (and checked against the library's own numbers).

i128 steps(double x, std::int64_t exponent) {  // round(x / 2^e), ties away from zero
    return static_cast<i128>(std::round(std::ldexp(x, -static_cast<int>(exponent))));
}
i128 absolute(i128 x) { return x < 0 ? -x : x; }

struct declared {
    i128 count = 0;
    i128 sum = 0;
    i128 squares = 0;
};

declared sensitivity_of(const decoded& d) {
    declared s;
    const auto cap = static_cast<i128>(d.cap);
    s.count = cap;
    if (d.kind == 1) return s;
    const i128 lo = d.kind == 3 ? static_cast<i128>(d.lower) : steps(d.lower, d.exponent);
    const i128 hi = d.kind == 3 ? static_cast<i128>(d.upper) : steps(d.upper, d.exponent);
    if (d.kind <= 3) {
        s.sum = cap * std::max(absolute(lo), absolute(hi));  // max_contributions * max(|L|, |U|)
        return s;
    }
    const i128 centre = lo + (hi - lo) / 2;  // centred sums: max_contributions * (U - L) / 2
    const i128 half = std::max(centre - lo, hi - centre);
    s.sum = cap * half;
    s.squares = cap * half * half;
    return s;
}

// The library calibrates its noise to these same numbers.
void check_declared_matches_library(bounds b, nan_policy p, std::uint64_t cap) {
    bounded_sum<double> s(b, p, cap);
    const declared ds = sensitivity_of(decode(s.serialize()));
    CHECK(s.sensitivity() == std::ldexp(static_cast<double>(ds.sum), static_cast<int>(decode(s.serialize()).exponent)));
    const detail::centred_moments<1> m1("test", b, p, cap);
    const detail::centred_moments<2> m2("test", b, p, cap);
    const declared dm = sensitivity_of(decode(bounded_mean(b, p, cap).serialize()));
    const declared dv = sensitivity_of(decode(bounded_variance(b, p, cap).serialize()));
    CHECK(static_cast<i128>(m1.sum_sensitivity) == dm.sum);
    CHECK(static_cast<i128>(m1.count_sensitivity) == dm.count);
    CHECK(static_cast<i128>(m2.sum_sensitivity) == dv.sum);
    CHECK(static_cast<i128>(m2.square_sensitivity) == dv.squares);
    // In the values' units the centred sum's sensitivity is cap (U - L) / 2, up to half a step of rounding per bound.
    const double r = std::ldexp(1.0, static_cast<int>(decode(bounded_mean(b, p, cap).serialize()).exponent));
    CHECK(static_cast<double>(dm.sum) * r <= static_cast<double>(cap) * ((b.upper - b.lower) / 2 + r));
}

// ---------------------------------------------------------------------------
// Feeding a dataset in a random order, by range (block path) or one value at a
// time into random shards that are then merged.

template <class Aggregate, class Value>
Aggregate fed(const Aggregate& empty, const std::vector<Value>& values, std::mt19937_64& rng, bool by_range) {
    Aggregate whole = empty;
    if (by_range) {
        whole.add(values);
        return whole;
    }
    std::vector<Aggregate> shards(1 + rng() % 4, empty);
    for (const Value& v : values) shards[rng() % shards.size()].add(v);
    for (const auto& s : shards) whole.merge(s);
    return whole;
}

template <class Value>
std::vector<Value> shuffled(std::vector<Value> v, std::mt19937_64& rng) {
    std::shuffle(v.begin(), v.end(), rng);
    return v;
}

// |part(D) - part(D')| <= declared part, for every part of the state.
bool within(const decoded& a, const decoded& b) {
    const declared s = sensitivity_of(a);
    return absolute(a.n - b.n) <= s.count && absolute(a.sum - b.sum) <= s.sum && absolute(a.squares - b.squares) <= s.squares;
}

/// The oracle on doubles: count, bounded_sum<double>, bounded_mean and bounded_variance.
void check_neighbours(const std::vector<double>& d, const std::vector<double>& d_prime, bounds b, nan_policy p,
                      std::uint64_t cap, std::mt19937_64& rng, int permutations) {
    for (int trial = 0; trial < permutations; ++trial) {
        const bool range_first = trial % 2 == 0;
        const auto x_values = shuffled(d, rng);
        const auto y_values = shuffled(d_prime, rng);
        const auto check_pair = [&](const auto& empty) {
            const decoded x = decode(fed(empty, x_values, rng, range_first).serialize());
            const decoded y = decode(fed(empty, y_values, rng, !range_first).serialize());
            CHECK(within(x, y));
            CHECK(within(y, x));
        };
        check_pair(count(cap));
        check_pair(bounded_sum<double>(b, p, cap));
        check_pair(bounded_mean(b, p, cap));
        check_pair(bounded_variance(b, p, cap));
    }
}

/// The naive way: clamp, then add left to right in floating point.
double naive_clamped_sum(const std::vector<double>& v, bounds b) {
    double s = 0;
    for (double x : v) s += std::clamp(x, b.lower, b.upper);
    return s;
}

/// |a - b| > bound, with a - b computed exactly (its 2Sum rounding error is 0).
bool naive_exceeds(double a, double b, double bound) {
    const double d = a - b;
    const double b_part = d - a;
    const double a_part = d - b_part;
    REQUIRE((a - a_part) + (-b - b_part) == 0.0);
    return std::fabs(d) > bound;
}

std::vector<double> without_first(std::vector<double> v, double value, std::size_t how_many = 1) {
    for (std::size_t k = 0; k < how_many; ++k) v.erase(std::find(v.begin(), v.end(), value));
    return v;
}

}  // namespace

TEST_CASE("oracle: the decoder reads the states the library writes", "[aggregates][oracle]") {
    bounded_sum<double> s(bounds{-2, 6}, nan_policy::drop, 3);
    s.add(std::vector<double>{1.0, 5.5, -inf, std::nan("")});
    const decoded d = decode(s.serialize());
    CHECK(d.kind == 2);
    CHECK(d.lower == -2);
    CHECK(d.upper == 6);
    CHECK(d.cap == 3);
    CHECK(d.exponent == -27);  // ilogb(8) - 30
    CHECK(d.sum == steps(1.0 + 5.5 - 2.0, -27));
    bounded_variance v(bounds{0, 4});
    v.add(std::vector<double>{0.0, 4.0, 2.0});
    const decoded w = decode(v.serialize());
    CHECK(w.n == 3);
    CHECK(w.sum == 0);                        // centred on 2: -2, +2, 0
    CHECK(w.squares == 2 * steps(2.0, w.exponent) * steps(2.0, w.exponent));
    for (bounds b : {bounds{0, 1}, bounds{-1, 1}, bounds{-100, -3}, bounds{1e6, 1e6 + 1}, bounds{-0x1p62, 0x1p62}}) {
        for (std::uint64_t cap : {1u, 3u}) check_declared_matches_library(b, nan_policy::drop, cap);
    }
}

TEST_CASE("oracle: repeated rounding (one large value, then many tiny ones) moves no state beyond its sensitivity",
          "[aggregates][oracle]") {
    // Repeated rounding (Casacuberta et al. 2022). Bounds [0, 1], so the
    // declared sensitivity of a sum is max(|L|, |U|) = 1. D holds m = 2^19 ones
    // and then k = 2^19 copies of t = 2^-34 + 2^-41; D' is D without one of the
    // ones. Left to right in doubles, the running sum of D reaches 2^19, where
    // doubles are 2^-33 apart: t is more than half of that, so every t rounds
    // up to a whole 2^-33. The running sum of D' stops at 2^19 - 1, in the
    // binade below, where doubles are 2^-34 apart: every t rounds down to
    // 2^-34. Each tiny value thus widens the gap by 2^-34 and the naive sums end
    // 1 + k 2^-34 = 1 + 2^-15 apart: more than the sensitivity, although D and
    // D' differ by one record of value 1. The excess is m k 2^-53 (a quarter of
    // the sensitivity with m = 2^26, k = 2^25, 10^8 values, too slow for a
    // test); 2^20 values keep it fast while the violation is exact and certain.
    constexpr std::size_t m = std::size_t{1} << 19;
    constexpr std::size_t k = std::size_t{1} << 19;
    const double t = 0x1p-34 + 0x1p-41;
    std::vector<double> d(m, 1.0);
    d.insert(d.end(), k, t);
    const std::vector<double> d_prime(d.begin() + 1, d.end());
    const bounds b{0, 1};

    // Positive control: the check flags the naive clamped sum in the order given.
    const double naive_d = naive_clamped_sum(d, b);
    const double naive_d_prime = naive_clamped_sum(d_prime, b);
    CHECK(naive_d == 0x1p19 + 0x1p-14);
    CHECK(naive_d_prime == 0x1p19 - 1 + 0x1p-15);
    CHECK(naive_exceeds(naive_d, naive_d_prime, std::max(std::fabs(b.lower), std::fabs(b.upper))));

    // dpkit, under random orders, by range and value by value into shards.
    std::mt19937_64 rng(20220701);
    check_neighbours(d, d_prime, b, nan_policy::reject, 1, rng, 2);
    // The same with the large value negative and the tiny ones positive (bounds of both signs).
    std::vector<double> e(m, -1.0);
    e.insert(e.end(), k, t);
    const std::vector<double> e_prime(e.begin() + 1, e.end());
    check_neighbours(e, e_prime, bounds{-1, 1}, nan_policy::reject, 1, rng, 2);
}

TEST_CASE("oracle: absorption, values at the bounds and several contributions per unit", "[aggregates][oracle]") {
    std::mt19937_64 rng(2022);
    // Absorption: in D = (1, then k values -2^-54), each -2^-54 is at most half
    // the spacing of doubles below 1 and is absorbed (a tie, rounded to even),
    // so the naive sum of D is exactly 1; in D' (without the 1) the tiny values
    // add up exactly to -k 2^-54: the naive sums differ by 1 + k 2^-54 > 1.
    {
        constexpr std::size_t k = std::size_t{1} << 16;
        std::vector<double> d{1.0};
        d.insert(d.end(), k, -0x1p-54);
        const std::vector<double> d_prime(d.begin() + 1, d.end());
        const bounds b{-1, 1};
        CHECK(naive_clamped_sum(d, b) == 1.0);
        CHECK(naive_exceeds(naive_clamped_sum(d, b), naive_clamped_sum(d_prime, b), 1.0));
        check_neighbours(d, d_prime, b, nan_policy::reject, 1, rng, 4);
    }
    // Values at (and beyond) the bounds, removing a record of the largest
    // magnitude; with max_contributions = 3, removing three.
    for (bounds b : {bounds{0, 100}, bounds{-7, 3}, bounds{-100, -3}, bounds{1e6, 1e6 + 1}, bounds{-0x1p-990, 0x1p-990}}) {
        std::vector<double> d;
        for (int i = 0; i < 3000; ++i) {
            const double pick[] = {b.lower, b.upper, std::nextafter(b.lower, -inf), std::nextafter(b.upper, inf), -inf, inf,
                                   (b.lower + b.upper) / 2};
            d.push_back(pick[rng() % 7]);
        }
        const double far = std::fabs(b.lower) > std::fabs(b.upper) ? b.lower : b.upper;
        d.insert(d.end(), 3, far);
        check_neighbours(d, without_first(d, far), b, nan_policy::reject, 1, rng, 2);
        check_neighbours(d, without_first(d, far, 3), b, nan_policy::reject, 3, rng, 2);
        check_neighbours(d, without_first(d, -inf), b, nan_policy::reject, 1, rng, 2);
    }
}

TEST_CASE("oracle: infinities, NaN under nan_policy::drop and subnormals", "[aggregates][oracle]") {
    std::mt19937_64 rng(754);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double sub = std::numeric_limits<double>::denorm_min();
    for (bounds b : {bounds{-1, 1}, bounds{0, 0x1p-990}, bounds{-0x1p-990, 0}, bounds{0, 100}}) {
        std::vector<double> d;
        for (int i = 0; i < 2000; ++i) {
            const double pick[] = {inf, -inf, nan, sub, -sub, 0x1p-1022 - sub, -0.0, b.upper, b.lower, 3 * sub};
            d.push_back(pick[rng() % 10]);
        }
        for (double removed : {inf, -inf, sub, -sub, b.upper, b.lower}) {
            d.push_back(removed);
            check_neighbours(d, without_first(d, removed), b, nan_policy::drop, 1, rng, 2);
        }
        // A NaN row: dropped by the sums, still a row for count (which moves by 1).
        std::vector<double> without_nan = d;
        without_nan.erase(std::find_if(without_nan.begin(), without_nan.end(), [](double x) { return std::isnan(x); }));
        check_neighbours(d, without_nan, b, nan_policy::drop, 1, rng, 2);
    }
}

TEST_CASE("oracle: 64-bit integer sums near the limits of int64", "[aggregates][oracle]") {
    std::mt19937_64 rng(62);
    constexpr std::int64_t big = std::int64_t{1} << 62;
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
    for (std::uint64_t cap : {1u, 3u}) {
        // (cap max(|L|, |U|) must stay below 2^64.)
        const bounds widest = cap == 1 ? bounds{-0x1p63, -0x1p62} : bounds{-0x1p62, 0};
        for (bounds b : {bounds{-0x1p62, 0x1p62}, bounds{-0x1p62, 0x1p62 - 1024}, bounds{0, 0x1p62}, widest}) {
            // 2^16 values of magnitude up to 2^63: the exact sum is near 2^78, far beyond int64.
            std::vector<std::int64_t> d;
            for (int i = 0; i < (1 << 16); ++i) {
                const std::int64_t pick[] = {max, min, big, -big, big - 1, 1 - big, max - 1, 0};
                d.push_back(i % 2 == 0 ? max : pick[rng() % 8]);
            }
            const std::vector<std::int64_t> d_prime(d.begin() + static_cast<std::ptrdiff_t>(cap), d.end());
            const bounded_sum<std::int64_t> empty(b, nan_policy::reject, cap);
            for (int trial = 0; trial < 2; ++trial) {
                const decoded x = decode(fed(empty, shuffled(d, rng), rng, trial == 0).serialize());
                const decoded y = decode(fed(empty, shuffled(d_prime, rng), rng, trial != 0).serialize());
                CHECK(within(x, y));
                CHECK(within(y, x));
                CHECK(absolute(x.sum) > (static_cast<i128>(1) << 70));  // well beyond 64 bits
            }
        }
    }
    // Positive control: a wrapping 64-bit sum of clamped values. D = (2^62,
    // 2^62) wraps to -2^63, D' = (2^62): they differ by 3 2^62 > 2^62.
    const auto wrapping_sum = [&](const std::vector<std::int64_t>& v) {
        std::uint64_t s = 0;
        for (std::int64_t x : v) s += static_cast<std::uint64_t>(std::clamp(x, -big, big));
        return static_cast<i128>(static_cast<std::int64_t>(s));
    };
    const std::vector<std::int64_t> d{big, big};
    const std::vector<std::int64_t> d_prime{big};
    CHECK(absolute(wrapping_sum(d) - wrapping_sum(d_prime)) > big);
    bounded_sum<std::int64_t> x(bounds{-0x1p62, 0x1p62});
    bounded_sum<std::int64_t> y(bounds{-0x1p62, 0x1p62});
    x.add(d);
    y.add(d_prime);
    CHECK(within(decode(x.serialize()), decode(y.serialize())));
}

// ---------------------------------------------------------------------------
// The block path of add(range) against one value at a time.

namespace {

enum class mix { with_nan, infinite, finite };

/// Values meant to break a fast quantiser: ties at half-steps (of both
/// resolutions in use) and their neighbours, the bounds and their neighbours,
/// infinities, subnormals of both signs, -0, random bit patterns and NaN; or
/// the same without NaN, or with neither NaN nor infinities (a block holding
/// one of those may take another path than a block of finite values).
std::vector<double> adversarial(bounds b, std::size_t n, mix kind, std::mt19937_64& rng) {
    const double r30 = detail::fixed_point::for_bounds("test", b).resolution();
    const double r24 = detail::fixed_point::for_bounds("test", b, 24).resolution();
    const double width = b.upper - b.lower;
    std::uniform_real_distribution<double> u(b.lower - width / 8, b.upper + width / 8);
    std::vector<double> v(n);
    for (auto& x : v) {
        const double r = rng() % 2 == 0 ? r30 : r24;
        const double tie = (std::floor(u(rng) / r) + 0.5) * r;
        switch (rng() % 12) {
            case 0: x = u(rng); break;
            case 1: x = tie; break;
            case 2: x = std::nextafter(tie, rng() % 2 == 0 ? inf : -inf); break;
            case 3: x = std::nextafter(0.5 * r, 0.0) * static_cast<double>(1 + rng() % 3); break;  // 0.49999... steps
            case 4: x = rng() % 2 == 0 ? b.lower : b.upper; break;
            case 5: x = rng() % 2 == 0 ? std::nextafter(b.lower, -inf) : std::nextafter(b.upper, inf); break;
            case 6: x = rng() % 2 == 0 ? inf : -inf; break;
            case 7: x = std::ldexp(static_cast<double>(rng() % 4096), -1074) * (rng() % 2 == 0 ? 1 : -1); break;
            case 8: x = -0.0; break;
            case 9: x = std::bit_cast<double>(rng()); break;  // any bit pattern, NaNs included
            case 10: x = -tie; break;
            default: x = kind == mix::with_nan && rng() % 8 == 0 ? std::numeric_limits<double>::quiet_NaN() : u(rng); break;
        }
        if (kind != mix::with_nan && std::isnan(x)) x = b.upper;
        if (kind == mix::finite && std::isinf(x)) x = x > 0 ? std::numeric_limits<double>::max() : std::nextafter(b.lower, -inf);
    }
    return v;
}

template <class Aggregate>
void check_block_path(const Aggregate& empty, const std::vector<double>& values) {
    Aggregate by_range = empty;
    Aggregate by_value = empty;
    by_range.add(values);
    for (double x : values) by_value.add(x);
    CHECK(by_range.serialize() == by_value.serialize());
    // A span and an offset (unaligned) start take the same path.
    Aggregate from_span = empty;
    from_span.add(std::span<const double>(values).subspan(1));
    Aggregate by_value_tail = empty;
    for (std::size_t i = 1; i < values.size(); ++i) by_value_tail.add(values[i]);
    CHECK(from_span.serialize() == by_value_tail.serialize());
}

}  // namespace

TEST_CASE("add(range): the block path gives the same bytes as one value at a time", "[aggregates][oracle][fast]") {
    std::mt19937_64 rng(99);
    const bounds all[] = {{0, 100},          {-50, 50},       {-100, -3},          {-3, 7},
                          {0, 1},            {-1, 0},         {-0.0, 5},           {1e6, 1e6 + 1},
                          {-1e6 - 1, -1e6},  {4194302, 4194303.5},                 {-0x1p-990, 0x1p-990},
                          {0, 0x1p-990},     {0x1p-980, 0x1p-979},                 {0, 1e300},
                          {-8e307, 8e307},   {-1e-300, 1e300}};
    for (const bounds& b : all) {
        for (int trial = 0; trial < 6; ++trial) {
            const std::size_t n = detail::block_length * (1 + rng() % 8) + rng() % 300;
            const auto values = adversarial(b, n, mix::with_nan, rng);
            check_block_path(bounded_sum<double>(b, nan_policy::drop), values);
            check_block_path(bounded_mean(b, nan_policy::drop, 2), values);
            check_block_path(bounded_variance(b, nan_policy::drop), values);
            for (mix kind : {mix::infinite, mix::finite}) {
                const auto no_nan = adversarial(b, n, kind, rng);
                check_block_path(bounded_sum<double>(b), no_nan);
                check_block_path(bounded_mean(b), no_nan);
                check_block_path(bounded_variance(b), no_nan);
            }
        }
    }
}

TEST_CASE("add(range): a NaN under nan_policy::reject throws at the same value, leaving the same state",
          "[aggregates][oracle][fast]") {
    std::mt19937_64 rng(5);
    const bounds b{-3, 7};
    auto values = adversarial(b, detail::block_length * 5, mix::infinite, rng);
    values[detail::block_length * 3 + 17] = std::numeric_limits<double>::quiet_NaN();
    const auto check = [&](auto by_range) {
        auto by_value = by_range;
        CHECK_THROWS_AS(by_range.add(values), dpkit::invalid_argument);
        CHECK_THROWS_AS([&] {
            for (double x : values) by_value.add(x);
        }(), dpkit::invalid_argument);
        CHECK(by_range.serialize() == by_value.serialize());
    };
    check(bounded_sum<double>(b));
    check(bounded_mean(b));
    check(bounded_variance(b));
}

TEST_CASE("add(range): integer sums by block equal the sums value by value", "[aggregates][oracle][fast]") {
    std::mt19937_64 rng(64);
    for (bounds b : {bounds{-0x1p62, 0x1p62}, bounds{-0x1p63, 0x1p63 - 1024}, bounds{0, 100}, bounds{-5, -2}}) {
        std::vector<std::int64_t> v(detail::block_length * 6 + 91);
        for (auto& x : v) x = rng() % 3 == 0 ? static_cast<std::int64_t>(rng()) : static_cast<std::int64_t>(rng() % 200) - 100;
        bounded_sum<std::int64_t> by_range(b);
        bounded_sum<std::int64_t> by_value(b);
        by_range.add(v);
        for (std::int64_t x : v) by_value.add(x);
        CHECK(by_range.serialize() == by_value.serialize());
    }
    // int32 values, and ranges that are not contiguous, take the value-by-value path.
    std::vector<std::int32_t> small{-7, 4, 1 << 30, -(1 << 30)};
    std::list<double> listed{1.5, -inf, 2.25};
    bounded_sum<std::int32_t> s32(bounds{-100, 100});
    s32.add(small);
    CHECK(decode(s32.serialize()).sum == -7 + 4 + 100 - 100);
    bounded_mean m(bounds{0, 4});
    m.add(listed);
    m.add(std::deque<double>{0.0, 0.5, 1.0});
    m.add(std::vector<float>{0.25f});  // converted value by value
    CHECK(decode(m.serialize()).n == 7);
}

TEST_CASE("add(range): outside the default floating-point environment the result does not change",
          "[aggregates][oracle][fast]") {
    // Rounding upwards would turn a fast quantiser's round-to-nearest into a
    // ceiling (and q(upper) could exceed the declared sensitivity by a step);
    // add(range) checks the rounding mode and falls back to the exact
    // value-by-value path, whose rounding does not depend on it.
    std::mt19937_64 rng(1);
    const bounds b{0, 100};
    const auto values = adversarial(b, detail::block_length * 4, mix::infinite, rng);
    bounded_sum<double> reference(b);
    for (double x : values) reference.add(x);
    for (int mode : {FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO}) {
        bounded_sum<double> s(b);
        REQUIRE(std::fesetround(mode) == 0);
        s.add(values);
        std::fesetround(FE_TONEAREST);
        CHECK(s.serialize() == reference.serialize());
    }
}

#if defined(__SSE2__)
TEST_CASE("add(range): with flush-to-zero or denormals-are-zero set the result does not change", "[aggregates][oracle][fast]") {
    // x86 MXCSR modes that a program (or -ffast-math's startup code) may set:
    // subnormals read or produced as 0. With bounds [0, 2^-992] the resolution
    // is 2^-1022 and half a step, 2^-1023, is subnormal: read as 0 it would
    // make a fast quantiser take every value for a tie. add(range) probes for
    // these modes and takes the value-by-value path instead.
    std::mt19937_64 rng(3);
    const bounds b{0, 0x1p-992};
    REQUIRE(detail::fixed_point::for_bounds("test", b).exponent == -1022);
    std::vector<double> values(detail::block_length * 4);
    for (auto& x : values) x = std::ldexp(static_cast<double>(rng() % (std::uint64_t{1} << 31)), -1022 - 1);
    const unsigned saved = _mm_getcsr();
    for (unsigned mode : {0x8000u, 0x0040u, 0x8040u}) {  // FTZ, DAZ, both
        bounded_sum<double> by_range(b);
        bounded_sum<double> by_value(b);
        bounded_variance v_range(b);
        bounded_variance v_value(b);
        _mm_setcsr(saved | mode);
        by_range.add(values);
        v_range.add(values);
        for (double x : values) {
            by_value.add(x);
            v_value.add(x);
        }
        _mm_setcsr(saved);
        CHECK(by_range.serialize() == by_value.serialize());
        CHECK(v_range.serialize() == v_value.serialize());
    }
}
#endif
