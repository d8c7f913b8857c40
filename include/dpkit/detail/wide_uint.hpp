#pragma once
// A fixed-width unsigned integer of L 64-bit limbs: just the operations the
// exact samplers need (compare, subtract, multiply with overflow detection,
// uniform sampling below a bound). Used only when 128 bits could overflow.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "int128.hpp"

namespace dpkit::detail {

template <std::size_t L>
struct wide_uint {
    std::array<std::uint64_t, L> limb{};  // little-endian

    static constexpr wide_uint from(u128 v) noexcept {
        wide_uint r;
        r.limb[0] = static_cast<std::uint64_t>(v);
        if constexpr (L > 1) r.limb[1] = static_cast<std::uint64_t>(v >> 64);
        return r;
    }

    constexpr bool is_zero() const noexcept {
        for (auto x : limb)
            if (x != 0) return false;
        return true;
    }

    constexpr int bit_width() const noexcept {
        for (std::size_t i = L; i-- > 0;) {
            if (limb[i] != 0) return static_cast<int>(64 * i) + static_cast<int>(std::bit_width(limb[i]));
        }
        return 0;
    }

    friend constexpr bool operator==(const wide_uint&, const wide_uint&) noexcept = default;

    friend constexpr bool operator<(const wide_uint& a, const wide_uint& b) noexcept {
        for (std::size_t i = L; i-- > 0;) {
            if (a.limb[i] != b.limb[i]) return a.limb[i] < b.limb[i];
        }
        return false;
    }

    /// *this -= b; requires b <= *this.
    constexpr wide_uint& operator-=(const wide_uint& b) noexcept {
        std::uint64_t borrow = 0;
        for (std::size_t i = 0; i < L; ++i) {
            const std::uint64_t x = limb[i];
            const std::uint64_t d = x - b.limb[i] - borrow;
            borrow = (x < b.limb[i] || (x == b.limb[i] && borrow != 0)) ? 1 : 0;
            limb[i] = d;
        }
        return *this;
    }
};

/// out = a * b; false when the product needs more than L limbs.
template <std::size_t L>
constexpr bool checked_mul(const wide_uint<L>& a, const wide_uint<L>& b, wide_uint<L>& out) noexcept {
    std::array<std::uint64_t, 2 * L> r{};
    for (std::size_t i = 0; i < L; ++i) {
        if (a.limb[i] == 0) continue;
        u128 carry = 0;
        for (std::size_t j = 0; j < L; ++j) {
            const u128 cur = static_cast<u128>(a.limb[i]) * b.limb[j] + r[i + j] + carry;
            r[i + j] = static_cast<std::uint64_t>(cur);
            carry = cur >> 64;
        }
        r[i + L] = static_cast<std::uint64_t>(carry);
    }
    for (std::size_t i = L; i < 2 * L; ++i)
        if (r[i] != 0) return false;
    for (std::size_t i = 0; i < L; ++i) out.limb[i] = r[i];
    return true;
}

/// out = a * k; false on overflow.
template <std::size_t L>
constexpr bool checked_mul(const wide_uint<L>& a, std::uint64_t k, wide_uint<L>& out) noexcept {
    u128 carry = 0;
    wide_uint<L> r;
    for (std::size_t i = 0; i < L; ++i) {
        const u128 cur = static_cast<u128>(a.limb[i]) * k + carry;
        r.limb[i] = static_cast<std::uint64_t>(cur);
        carry = cur >> 64;
    }
    if (carry != 0) return false;
    out = r;
    return true;
}

}  // namespace dpkit::detail
