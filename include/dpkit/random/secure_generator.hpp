#pragma once
/// \file
/// dpkit::secure_generator, the default source of randomness: ChaCha20 keyed
/// from the operating system's CSPRNG, with fast key erasure, rekeyed in every
/// child after fork().

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

#include "chacha20.hpp"
#include "os_entropy.hpp"

namespace dpkit {

/// A cryptographically secure std::uniform_random_bit_generator of 64-bit
/// words. Keyed with 256 bits from the OS (getrandom / arc4random_buf /
/// BCryptGenRandom); a child created by fork() never repeats its parent's
/// stream, because the generator rekeys from the OS when it sees a new fork
/// epoch. Not copyable (a copy would repeat the stream); movable (the source
/// rekeys before its next use). Not thread-safe: use one per thread, no lock needed.
class secure_generator {
public:
    using result_type = std::uint64_t;

    static constexpr result_type min() noexcept { return 0; }
    static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

    secure_generator() {
        detail::ensure_fork_handler();
        reseed();
    }

    secure_generator(const secure_generator&) = delete;
    secure_generator& operator=(const secure_generator&) = delete;

    secure_generator(secure_generator&& other) noexcept : stream_(other.stream_), epoch_(other.epoch_) {
        other.forget();
    }
    secure_generator& operator=(secure_generator&& other) noexcept {
        if (this != &other) {
            stream_ = other.stream_;
            epoch_ = other.epoch_;
            other.forget();
        }
        return *this;
    }

    ~secure_generator() = default;

    /// The next 64 uniformly random bits.
    result_type operator()() {
        if (epoch_ != detail::fork_epoch.load(std::memory_order_relaxed)) [[unlikely]] reseed();
        return stream_.next();
    }

    /// Discards all state and rekeys from the OS.
    void reseed() {
        std::array<std::uint32_t, 8> key{};
        epoch_ = detail::fork_epoch.load(std::memory_order_relaxed);
        detail::os_random_bytes(key.data(), sizeof key);
        stream_.rekey(key);
        detail::secure_wipe(key.data(), sizeof key);
    }

private:
    void forget() noexcept {
        stream_.wipe();
        epoch_ = stale_epoch;
    }

    static constexpr std::uint64_t stale_epoch = std::numeric_limits<std::uint64_t>::max();

    detail::chacha_stream stream_;
    std::uint64_t epoch_ = stale_epoch;
};

}  // namespace dpkit
