#pragma once
// Reading seed material from the operating system's CSPRNG, and the fork epoch
// that lets generators notice they are running in a forked child.

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <system_error>

#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <bcrypt.h>
#pragma comment(lib, "bcrypt")
#elif defined(__linux__)
#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>
#else
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#endif

namespace dpkit::detail {

/// Fills `size` bytes with output of the OS CSPRNG: getrandom(2) on Linux,
/// arc4random_buf(3) on the BSDs and macOS, BCryptGenRandom on Windows. Throws
/// std::system_error if the OS cannot provide randomness.
inline void os_random_bytes(void* data, std::size_t size) {
#if defined(_WIN32)
    if (BCryptGenRandom(nullptr, static_cast<PUCHAR>(data), static_cast<ULONG>(size),
                        BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) {
        throw std::system_error(std::make_error_code(std::errc::io_error), "dpkit: BCryptGenRandom failed");
    }
#elif defined(__linux__)
    auto* bytes = static_cast<unsigned char*>(data);
    while (size > 0) {
        const ssize_t got = getrandom(bytes, size, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::generic_category(), "dpkit: getrandom failed");
        }
        bytes += got;
        size -= static_cast<std::size_t>(got);
    }
#else
    arc4random_buf(data, size);
#endif
}

/// Incremented in every child process right after fork(); a generator keyed
/// under an older epoch rekeys from the OS before producing another value.
inline std::atomic<std::uint64_t> fork_epoch{0};

inline void on_fork_child() noexcept { fork_epoch.fetch_add(1, std::memory_order_relaxed); }

/// Registers the fork handler once per process.
inline void ensure_fork_handler() {
#if !defined(_WIN32)
    static const int registered = pthread_atfork(nullptr, nullptr, &on_fork_child);
    if (registered != 0) {
        throw std::system_error(registered, std::generic_category(), "dpkit: pthread_atfork failed");
    }
#endif
}

}  // namespace dpkit::detail
