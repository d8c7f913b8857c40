#pragma once
/// \file
/// dpkit::secure_generator, the default source of randomness: ChaCha20 keyed
/// from the operating system's CSPRNG, with fast key erasure, rekeyed in every
/// child after a fork.
///
/// Fork detection. Every draw compares the generator's epoch with one word of
/// process state (a load and a compare, no system call); on a mismatch the
/// generator discards its key and buffered output and rekeys from the OS before
/// it emits another word. What is detected:
///  - fork() and anything else that runs pthread_atfork child handlers;
///  - on Linux 4.14+ also a child made by a raw fork/clone syscall (no handler
///    runs), because the word lives in a MADV_WIPEONFORK page that the kernel
///    zero-fills in the child;
///  - on Linux without MADV_WIPEONFORK, by comparing the process id on every
///    draw instead (a getpid call per draw); this misses a raw-fork descendant
///    that is given the pid of an exited ancestor whose generator state it holds.
/// What is not detected: a copy of the whole process or machine outside the
/// kernel's fork (VM snapshot clones, CRIU checkpoint/restore, a core image
/// resumed twice), raw forks on systems other than Linux, and memory shared
/// with a child through vfork or CLONE_VM (no copy is made, so nothing repeats).
/// If the OS refuses randomness when a rekey is due, that draw throws
/// std::system_error and so does every later draw until the OS answers: no word
/// of the old key is ever emitted.

#include <array>
#include <cstdint>
#include <limits>
#include <utility>

#include "chacha20.hpp"
#include "os_entropy.hpp"

namespace dpkit {

/// A cryptographically secure std::uniform_random_bit_generator of 64-bit
/// words. Keyed with 256 bits from the OS (getrandom / arc4random_buf /
/// BCryptGenRandom); a forked child never repeats its parent's stream (see the
/// file comment for which forks are detected). Not copyable (a copy would repeat
/// the stream); movable (the source rekeys before its next use). Not
/// thread-safe: use one per thread, no lock needed.
class secure_generator {
public:
    using result_type = std::uint64_t;

    static constexpr result_type min() noexcept { return 0; }
    static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

    /// Keys the generator from the OS; throws std::system_error if the OS cannot provide randomness.
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

    /// The next 64 uniformly random bits. Throws std::system_error if a rekey
    /// is due (after a fork, a move or a failed reseed) and the OS refuses.
    result_type operator()() {
        if (epoch_ != detail::fork_epoch_fast().load(std::memory_order_relaxed)) [[unlikely]] return checked_next();
        return stream_.next();
    }

    /// Discards all state and rekeys from the OS. If the OS refuses, throws
    /// std::system_error and leaves the generator keyless: every later draw
    /// asks the OS again and throws while it keeps refusing.
    void reseed() {
        forget();
        const std::uint64_t epoch = detail::current_fork_epoch();
        std::array<std::uint32_t, 8> key{};
        try {
            detail::os_random_bytes(key.data(), sizeof key);
        } catch (...) {
            detail::secure_wipe(key.data(), sizeof key);
            throw;
        }
        stream_.rekey(key);
        detail::secure_wipe(key.data(), sizeof key);
        epoch_ = epoch;
    }

private:
    /// The slow path: the fast word did not match (a fork, a stale generator,
    /// or process-id detection, which looks at every draw).
    [[gnu::noinline]] result_type checked_next() {
        if (epoch_ != detail::current_fork_epoch()) reseed();
        return stream_.next();
    }

    void forget() noexcept {
        stream_.wipe();
        epoch_ = stale_epoch;
    }

    /// Never a current epoch: a generator holding it rekeys before its next word.
    static constexpr std::uint64_t stale_epoch = std::numeric_limits<std::uint64_t>::max();

    detail::chacha_stream stream_;
    std::uint64_t epoch_ = stale_epoch;
};

}  // namespace dpkit
