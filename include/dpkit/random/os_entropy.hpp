#pragma once
// Reading seed material from the operating system's CSPRNG, and the fork epoch
// that lets generators notice they are running in a forked child.
//
// The epoch a generator checks on every draw is one word read through
// `fork_epoch_word`. Where the kernel supports it (Linux 4.14+, MADV_WIPEONFORK)
// the word lives in a page of its own that the kernel zero-fills in every child,
// however the child was made: fork(), or a raw fork/clone syscall that runs no
// pthread_atfork handler. A zero word means "forked": the first caller repairs
// it with a fresh epoch. Where that page cannot be had, Linux falls back to the
// process id (a getpid call per draw); the other POSIX systems rely on the
// pthread_atfork handler alone. See secure_generator.hpp for what is and is not
// detected.

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>
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
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>
#else
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#endif

namespace dpkit::detail {

/// Test-only: while non-zero, os_random_bytes fails with this errno value as if
/// the OS could not provide randomness (lets tests reach the failure paths where
/// seccomp is unavailable). Never set outside tests.
inline std::atomic<int> os_random_test_failure{0};

/// Fills `size` bytes with output of the OS CSPRNG: getrandom(2) on Linux,
/// arc4random_buf(3) on the BSDs and macOS, BCryptGenRandom on Windows. Throws
/// std::system_error if the OS cannot provide randomness.
inline void os_random_bytes(void* data, std::size_t size) {
    if (const int failure = os_random_test_failure.load(std::memory_order_relaxed); failure != 0) [[unlikely]] {
        throw std::system_error(failure, std::generic_category(), "dpkit: OS randomness failed (test hook)");
    }
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

/// How this process notices that it is a forked child.
enum class fork_detection {
    wipe_on_fork_page,  ///< the epoch word is zero-filled by the kernel in every child
    process_id,         ///< every draw compares getpid() (Linux without MADV_WIPEONFORK)
    atfork_only,        ///< only forks that run pthread_atfork handlers are seen
};

/// The highest epoch handed out in this process. Ordinary memory: a child
/// inherits it, so an epoch it hands out is newer than every inherited one.
/// Epoch 0 is never handed out: it marks a wiped page.
inline std::atomic<std::uint64_t> fork_epoch_counter{1};

/// The epoch word where no wipe-on-fork page is used (atfork_only).
inline std::atomic<std::uint64_t> fork_epoch_in_memory{1};

/// Always 0: the word read while the process id decides (process_id), so that
/// every draw takes the checked path.
inline std::atomic<std::uint64_t> fork_epoch_unknown{0};

/// The wipe-on-fork page's epoch word, if the kernel provided one.
inline std::atomic<std::atomic<std::uint64_t>*> fork_epoch_page{nullptr};

/// The word every draw compares with its generator's epoch.
inline std::atomic<std::atomic<std::uint64_t>*> fork_epoch_word{&fork_epoch_unknown};

/// The word the per-draw check reads: a load, no system call.
inline const std::atomic<std::uint64_t>& fork_epoch_fast() noexcept {
    return *fork_epoch_word.load(std::memory_order_relaxed);
}

/// Which fork_detection is in effect.
inline fork_detection active_fork_detection() noexcept {
    const auto* word = fork_epoch_word.load(std::memory_order_acquire);
    if (word == &fork_epoch_unknown) return fork_detection::process_id;
    if (word == &fork_epoch_in_memory) return fork_detection::atfork_only;
    return fork_detection::wipe_on_fork_page;
}

/// The current epoch, never 0 and never UINT64_MAX; differs from every epoch
/// seen by the parent once a fork has been detected. Repairs a wiped page.
inline std::uint64_t current_fork_epoch() noexcept {
    auto* word = fork_epoch_word.load(std::memory_order_acquire);
    if (word == &fork_epoch_unknown) {
#if defined(_WIN32)
        return fork_epoch_in_memory.load(std::memory_order_relaxed);
#else
        // pid > 0 fills the high half; the low half tells apart successive
        // children that reuse one pid (fork() bumps the counter).
        const auto pid = static_cast<std::uint64_t>(static_cast<std::uint32_t>(getpid()));
        return (pid << 32) | (fork_epoch_counter.load(std::memory_order_relaxed) & 0xffffffffu);
#endif
    }
    std::uint64_t epoch = word->load(std::memory_order_relaxed);
    if (epoch != 0) return epoch;
    // Zero: the kernel wiped the page in a child that no atfork handler saw.
    const std::uint64_t fresh = fork_epoch_counter.fetch_add(1, std::memory_order_relaxed) + 1;
    if (word->compare_exchange_strong(epoch, fresh, std::memory_order_relaxed)) return fresh;
    return epoch;  // another thread of this child repaired it first
}

/// Runs in the child of every fork() that honours pthread_atfork.
inline void on_fork_child() noexcept {
    const std::uint64_t fresh = fork_epoch_counter.fetch_add(1, std::memory_order_relaxed) + 1;
    fork_epoch_in_memory.store(fresh, std::memory_order_relaxed);
    if (auto* page = fork_epoch_page.load(std::memory_order_relaxed)) page->store(fresh, std::memory_order_relaxed);
}

/// A private anonymous page whose first word holds the epoch and that the
/// kernel zero-fills in children (MADV_WIPEONFORK); nullptr where unavailable.
/// The page is never unmapped.
inline std::atomic<std::uint64_t>* map_wipe_on_fork_word() noexcept {
#if defined(__linux__) && defined(MADV_WIPEONFORK)
    const long page_size = sysconf(_SC_PAGESIZE);
    if (page_size < static_cast<long>(sizeof(std::atomic<std::uint64_t>))) return nullptr;
    const auto size = static_cast<std::size_t>(page_size);
    void* page = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return nullptr;
    if (madvise(page, size, MADV_WIPEONFORK) != 0) {
        munmap(page, size);
        return nullptr;
    }
    return new (page) std::atomic<std::uint64_t>(fork_epoch_counter.load(std::memory_order_relaxed));
#else
    return nullptr;
#endif
}

/// Test-only: switches to `mode` (wipe_on_fork_page only if the kernel gave a
/// page). Safe at any time: generators keyed under another mode rekey.
/// Returns the mode now in effect.
inline fork_detection select_fork_detection_for_testing(fork_detection mode) noexcept {
    std::atomic<std::uint64_t>* word = &fork_epoch_in_memory;
    if (mode == fork_detection::process_id) word = &fork_epoch_unknown;
    if (mode == fork_detection::wipe_on_fork_page) {
        if (auto* page = fork_epoch_page.load(std::memory_order_relaxed)) word = page;
    }
    fork_epoch_word.store(word, std::memory_order_release);
    return active_fork_detection();
}

/// Registers the fork handler and sets up the epoch word, once per process.
inline void ensure_fork_handler() {
    static const int registered = [] {
#if defined(_WIN32)
        fork_epoch_word.store(&fork_epoch_in_memory, std::memory_order_release);
        return 0;
#else
        const int status = pthread_atfork(nullptr, nullptr, &on_fork_child);
        if (status != 0) return status;
#if defined(__linux__)
        if (auto* page = map_wipe_on_fork_word()) {
            fork_epoch_page.store(page, std::memory_order_release);
            fork_epoch_word.store(page, std::memory_order_release);
        }
#else
        fork_epoch_word.store(&fork_epoch_in_memory, std::memory_order_release);
#endif
        return 0;
#endif
    }();
    if (registered != 0) {
        throw std::system_error(registered, std::generic_category(), "dpkit: pthread_atfork failed");
    }
}

}  // namespace dpkit::detail
