#pragma once
// 128-bit integer helpers (GCC and Clang provide __int128 on 64-bit targets).

#include <bit>
#include <cstdint>

namespace dpkit::detail {

__extension__ using u128 = unsigned __int128;
__extension__ using i128 = __int128;

inline constexpr u128 u128_max = ~u128{0};

/// Number of bits needed to represent x (0 for x == 0).
constexpr int bit_width(u128 x) noexcept {
    const auto high = static_cast<std::uint64_t>(x >> 64);
    if (high != 0) return 64 + static_cast<int>(std::bit_width(high));
    return static_cast<int>(std::bit_width(static_cast<std::uint64_t>(x)));
}

/// floor(sqrt(n)), exact, by Newton's method on integers.
constexpr u128 isqrt(u128 n) noexcept {
    if (n < 2) return n;
    u128 x = u128{1} << ((bit_width(n) + 1) / 2);  // x >= sqrt(n)
    while (true) {
        const u128 y = (x + n / x) / 2;
        if (y >= x) return x;
        x = y;
    }
}

/// a * b, or false when the product does not fit.
constexpr bool checked_mul(u128 a, u128 b, u128& out) noexcept {
    return !__builtin_mul_overflow(a, b, &out);
}

}  // namespace dpkit::detail
