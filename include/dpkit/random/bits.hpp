#pragma once
/// \file
/// Random bits for dpkit's exact samplers: 64-bit words from any uniform random
/// bit generator, and a pool that deals them out a few bits at a time, so that
/// one 64-bit word (one ChaCha20 output for secure_generator) feeds several
/// decisions. Bits left in a pool when it is discarded are simply not used;
/// every bit handed out is a fresh, independent uniform bit.

#include <bit>
#include <concepts>
#include <cstdint>
#include <limits>
#include <random>

namespace dpkit::detail {

/// 64 uniformly random bits from any uniform random bit generator: the
/// generator's output is used directly when its range is [0, 2^64 - 1];
/// otherwise whole power-of-two chunks of its range are combined (values above
/// the largest such chunk are rejected, so non-power-of-two ranges stay exact).
template <std::uniform_random_bit_generator G>
std::uint64_t draw64(G& g) {
    using result = typename G::result_type;
    constexpr std::uint64_t span = static_cast<std::uint64_t>(G::max()) - static_cast<std::uint64_t>(G::min());
    if constexpr (span == std::numeric_limits<std::uint64_t>::max()) {
        return static_cast<std::uint64_t>(g()) - static_cast<std::uint64_t>(G::min());
    } else {
        constexpr int bits = static_cast<int>(std::bit_width(span + 1)) - 1;  // whole bits per call
        static_assert(bits >= 1, "dpkit: generator must produce at least one random bit");
        constexpr std::uint64_t limit = (std::uint64_t{1} << bits) - 1;
        std::uint64_t out = 0;
        int have = 0;
        while (have < 64) {
            const std::uint64_t v = static_cast<std::uint64_t>(static_cast<result>(g() - G::min()));
            if (v > limit) continue;
            out = (bits >= 64) ? v : ((out << bits) | v);
            have += bits;
        }
        return out;
    }
}

/// Deals out uniformly random bits from 64-bit words of a generator, in order:
/// a request that does not fit in the bits left takes them and the rest from
/// a new word, so no bit is wasted while the pool lives.
template <std::uniform_random_bit_generator G>
class bit_pool {
public:
    explicit bit_pool(G& g) noexcept : g_(g) {}

    /// k uniformly random bits (1 <= k <= 64) as the low bits of the result.
    std::uint64_t take(int k) {
        if (k == 64) return draw64(g_);
        const std::uint64_t mask = (std::uint64_t{1} << k) - 1;
        if (left_ < k) [[unlikely]] {
            const std::uint64_t fresh = draw64(g_);
            const std::uint64_t out = (word_ | (fresh << left_)) & mask;  // left_ < k <= 63
            const int used = k - left_;                                  // 1 <= used <= 63
            word_ = fresh >> used;
            left_ = 64 - used;
            return out;
        }
        const std::uint64_t out = word_ & mask;
        word_ >>= k;
        left_ -= k;
        return out;
    }

    /// A fresh 64-bit word (does not disturb the bits left).
    std::uint64_t word() { return draw64(g_); }

    G& generator() noexcept { return g_; }

private:
    G& g_;
    std::uint64_t word_ = 0;
    int left_ = 0;
};

/// Marks one loop iteration of a sampler on pools that count them (a test's
/// deterministic stand-in for time); compiles to nothing for bit_pool.
template <class Pool>
inline void note_iteration(Pool& bits) {
    if constexpr (requires { bits.note_iteration(); }) bits.note_iteration();
}

}  // namespace dpkit::detail
