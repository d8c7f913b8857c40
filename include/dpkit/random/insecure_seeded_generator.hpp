#pragma once
/// \file
/// dpkit::insecure_seeded_generator: a reproducible stream for tests and
/// simulations. Its output is fully determined by a 64-bit seed, which anyone
/// can guess: never use it to release data.

#include <array>
#include <cstdint>
#include <limits>

#include "chacha20.hpp"

namespace dpkit {

/// A deterministic std::uniform_random_bit_generator of 64-bit words: ChaCha20
/// (same kernel as secure_generator) keyed by SplitMix64 expansion of a 64-bit
/// seed. The same seed gives the same stream on every platform. INSECURE by
/// design: the seed is the whole secret. Copyable (copies continue identically).
class insecure_seeded_generator {
public:
    using result_type = std::uint64_t;

    static constexpr result_type min() noexcept { return 0; }
    static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

    explicit insecure_seeded_generator(std::uint64_t seed) noexcept { this->seed(seed); }

    void seed(std::uint64_t seed) noexcept {
        std::array<std::uint32_t, 8> key{};
        std::uint64_t state = seed;
        for (std::size_t i = 0; i < 8; i += 2) {
            const std::uint64_t word = splitmix64(state);
            key[i] = static_cast<std::uint32_t>(word);
            key[i + 1] = static_cast<std::uint32_t>(word >> 32);
        }
        stream_.rekey(key);
    }

    result_type operator()() noexcept { return stream_.next(); }

private:
    static std::uint64_t splitmix64(std::uint64_t& state) noexcept {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

    detail::chacha_stream stream_;
};

}  // namespace dpkit
