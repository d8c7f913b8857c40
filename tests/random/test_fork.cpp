// secure_generator across process forks the pthread_atfork handler does not see
// (a raw fork syscall), and when the OS refuses randomness in the child.
#include <dpkit/random/insecure_seeded_generator.hpp>
#include <dpkit/random/secure_generator.hpp>

#include <cstdint>
#include <exception>
#include <set>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdio>
#endif

#include "../support/dpkit_catch.hpp"

#if defined(SKIP)
#define DPKIT_TEST_SKIP(message) SKIP(message)
#else
#define DPKIT_TEST_SKIP(message)      \
    do {                              \
        WARN("SKIPPED: " << message); \
        return;                       \
    } while (false)
#endif

#if !defined(__linux__)
TEST_CASE("raw fork and seccomp tests", "[generator][fork]") {
    DPKIT_TEST_SKIP("raw fork syscalls and seccomp filters are Linux-only");
}
#else
namespace {

constexpr int words_per_process = 300;  // crosses two keystream refills (124 words each)
constexpr int exit_skip = 77;

enum class fork_kind { libc_fork, raw_syscall };

/// A child process with a pipe back to its parent.
struct child_process {
    pid_t pid = -1;
    int read_fd = -1;

    /// Reads `words` words, reaps the child and returns its exit code (-1 if it
    /// did not exit, or exited with 0 but sent fewer words).
    int collect(std::vector<std::uint64_t>& out, std::size_t words) {
        out.assign(words, 0);
        auto* bytes = reinterpret_cast<char*>(out.data());
        std::size_t got = 0;
        while (got < words * sizeof(std::uint64_t)) {
            const auto r = read(read_fd, bytes + got, words * sizeof(std::uint64_t) - got);
            if (r <= 0) break;
            got += static_cast<std::size_t>(r);
        }
        close(read_fd);
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status)) return -1;
        const int code = WEXITSTATUS(status);
        return code == 0 && got != words * sizeof(std::uint64_t) ? -1 : code;
    }
};

/// fork(), or a fork syscall that bypasses libc, so that no pthread_atfork handler runs.
pid_t make_child(fork_kind kind) {
    if (kind == fork_kind::libc_fork) return fork();
#if defined(SYS_fork)
    return static_cast<pid_t>(syscall(SYS_fork));
#elif defined(SYS_clone) && !defined(__s390__)
    return static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
#else
    errno = ENOSYS;
    return -1;
#endif
}

/// Runs `body` in a child; `body` returns the words to send back (or calls
/// _exit(exit_skip)). The child never returns into the test framework.
template <class Body>
child_process spawn(fork_kind kind, Body body) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = make_child(kind);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        int code = 0;
        try {
            const std::vector<std::uint64_t> words = body();
            const auto* bytes = reinterpret_cast<const char*>(words.data());
            std::size_t sent = 0;
            while (sent < words.size() * sizeof(std::uint64_t)) {
                const auto w = write(fds[1], bytes + sent, words.size() * sizeof(std::uint64_t) - sent);
                if (w <= 0) break;
                sent += static_cast<std::size_t>(w);
            }
            code = sent == words.size() * sizeof(std::uint64_t) ? 0 : 2;
        } catch (...) {
            code = 3;
        }
        _exit(code);
    }
    close(fds[1]);
    return child_process{pid, fds[0]};
}

/// Draws one word, forks, draws words_per_process words in each process and
/// returns how many of the child's words the parent also drew.
template <class G>
int words_shared_across_fork(G& g, fork_kind kind) {
    (void)g();  // the buffer now holds unread output that both processes could emit
    child_process child = spawn(kind, [&g] {
        std::vector<std::uint64_t> words;
        for (int i = 0; i < words_per_process; ++i) words.push_back(g());
        return words;
    });
    std::set<std::uint64_t> parent;
    for (int i = 0; i < words_per_process; ++i) parent.insert(g());
    std::vector<std::uint64_t> from_child;
    REQUIRE(child.collect(from_child, words_per_process) == 0);
    int shared = 0;
    for (auto v : from_child) shared += parent.count(v) ? 1 : 0;
    return shared;
}

/// Makes getrandom fail with ENOSYS in the calling process and its future
/// children (a seccomp filter). False if the kernel or sandbox does not allow it.
bool forbid_getrandom() {
#if defined(SYS_getrandom) && defined(SECCOMP_SET_MODE_FILTER) && defined(SYS_seccomp)
    // The filter looks at the syscall number only; it is installed in a
    // throw-away test child, so other architectures' numbering does not matter.
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(offsetof(seccomp_data, nr))),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(SYS_getrandom), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<std::uint32_t>(ENOSYS) & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) return false;
    unsigned char probe = 0;
    return syscall(SYS_getrandom, &probe, 1, 0) == -1 && errno == ENOSYS;
#else
    return false;
#endif
}

constexpr std::uint64_t drew_a_word = 0;
constexpr std::uint64_t threw = 1;
constexpr int attempts = 6;

/// In the child: `attempts` draws, each sent back as (threw, 0) or (drew_a_word, value).
std::vector<std::uint64_t> attempt_draws(dpkit::secure_generator& g) {
    std::vector<std::uint64_t> record;
    for (int i = 0; i < attempts; ++i) {
        try {
            const std::uint64_t value = g();
            record.push_back(drew_a_word);
            record.push_back(value);
        } catch (const std::exception&) {
            record.push_back(threw);
            record.push_back(0);
        }
    }
    return record;
}

/// Forks with getrandom forbidden in the child only; returns the child's
/// record, or an empty vector if seccomp is unavailable. `parent_words` gets
/// the parent's next words.
std::vector<std::uint64_t> draws_without_getrandom(dpkit::secure_generator& g, fork_kind kind,
                                                   std::set<std::uint64_t>& parent_words) {
    (void)g();
    child_process child = spawn(kind, [&g] {
        if (!forbid_getrandom()) _exit(exit_skip);
        return attempt_draws(g);
    });
    for (int i = 0; i < words_per_process; ++i) parent_words.insert(g());
    std::vector<std::uint64_t> record;
    const int code = child.collect(record, 2 * attempts);
    if (code == exit_skip) return {};
    REQUIRE(code == 0);
    return record;
}

/// Makes os_random_bytes fail (the detail:: test hook) for its lifetime.
struct os_randomness_refused {
    os_randomness_refused() noexcept { dpkit::detail::os_random_test_failure.store(ENOSYS); }
    ~os_randomness_refused() { dpkit::detail::os_random_test_failure.store(0); }
    os_randomness_refused(const os_randomness_refused&) = delete;
    os_randomness_refused& operator=(const os_randomness_refused&) = delete;
};

/// Selects a fork detection mode for its lifetime (the detail:: test hook).
struct detection_mode {
    dpkit::detail::fork_detection saved = dpkit::detail::active_fork_detection();
    dpkit::detail::fork_detection now;
    explicit detection_mode(dpkit::detail::fork_detection mode) noexcept
        : now(dpkit::detail::select_fork_detection_for_testing(mode)) {}
    ~detection_mode() { dpkit::detail::select_fork_detection_for_testing(saved); }
    detection_mode(const detection_mode&) = delete;
    detection_mode& operator=(const detection_mode&) = delete;
};

/// The kernel's version as major * 1000 + minor (0 if unknown).
int kernel_version() {
    utsname name{};
    if (uname(&name) != 0) return 0;
    int major = 0;
    int minor = 0;
    if (std::sscanf(name.release, "%d.%d", &major, &minor) != 2) return 0;
    return major * 1000 + minor;
}

}  // namespace

TEST_CASE("Linux 4.14+ detects forks through a wipe-on-fork page", "[generator][fork]") {
    dpkit::secure_generator g;  // sets up fork detection
    if (kernel_version() < 4014) {
        DPKIT_TEST_SKIP("this kernel predates MADV_WIPEONFORK (Linux 4.14): the process-id check is used");
    }
    CHECK(dpkit::detail::active_fork_detection() == dpkit::detail::fork_detection::wipe_on_fork_page);
}

TEST_CASE("after a raw fork syscall the child never repeats the parent's stream", "[generator][fork]") {
    dpkit::secure_generator g;
    CHECK(words_shared_across_fork(g, fork_kind::raw_syscall) == 0);
    SECTION("a generator first used after the fork") {
        dpkit::secure_generator fresh;
        child_process child = spawn(fork_kind::raw_syscall, [&fresh] {
            std::vector<std::uint64_t> words;
            for (int i = 0; i < words_per_process; ++i) words.push_back(fresh());
            return words;
        });
        std::set<std::uint64_t> parent;
        for (int i = 0; i < words_per_process; ++i) parent.insert(fresh());
        std::vector<std::uint64_t> from_child;
        REQUIRE(child.collect(from_child, words_per_process) == 0);
        int shared = 0;
        for (auto v : from_child) shared += parent.count(v) ? 1 : 0;
        CHECK(shared == 0);
    }
    SECTION("two raw-forked children of the same state share nothing") {
        (void)g();
        const auto draw_all = [&g] {
            std::vector<std::uint64_t> words;
            for (int i = 0; i < words_per_process; ++i) words.push_back(g());
            return words;
        };
        child_process first = spawn(fork_kind::raw_syscall, draw_all);
        child_process second = spawn(fork_kind::raw_syscall, draw_all);
        std::vector<std::uint64_t> a;
        std::vector<std::uint64_t> b;
        REQUIRE(first.collect(a, words_per_process) == 0);
        REQUIRE(second.collect(b, words_per_process) == 0);
        std::set<std::uint64_t> seen(a.begin(), a.end());
        seen.insert(b.begin(), b.end());
        CHECK(seen.size() == 2 * words_per_process);  // a 64-bit collision among 600 words: p < 1e-14
    }
    SECTION("a grandchild of two raw forks shares nothing with its ancestors") {
        child_process child = spawn(fork_kind::raw_syscall, [&g] {
            std::vector<std::uint64_t> words;
            child_process grandchild = spawn(fork_kind::raw_syscall, [&g] {
                std::vector<std::uint64_t> inner;
                for (int i = 0; i < words_per_process; ++i) inner.push_back(g());
                return inner;
            });
            for (int i = 0; i < words_per_process; ++i) words.push_back(g());
            std::vector<std::uint64_t> from_grandchild;
            if (grandchild.collect(from_grandchild, words_per_process) != 0) _exit(4);
            words.insert(words.end(), from_grandchild.begin(), from_grandchild.end());
            return words;
        });
        std::vector<std::uint64_t> all;
        for (int i = 0; i < words_per_process; ++i) all.push_back(g());
        std::vector<std::uint64_t> descendants;
        REQUIRE(child.collect(descendants, 2 * words_per_process) == 0);
        all.insert(all.end(), descendants.begin(), descendants.end());
        CHECK(std::set<std::uint64_t>(all.begin(), all.end()).size() == 3 * words_per_process);
    }
}

TEST_CASE("threads of a raw-forked child all rekey, racing to repair the epoch", "[generator][fork]") {
    constexpr int threads = 4;
    std::vector<dpkit::secure_generator> generators(threads);
    for (auto& g : generators) (void)g();
    child_process child = spawn(fork_kind::raw_syscall, [&generators] {
        std::vector<std::uint64_t> words(threads * words_per_process);
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&generators, &words, t] {
                for (int i = 0; i < words_per_process; ++i) {
                    words[static_cast<std::size_t>(t * words_per_process + i)] =
                        generators[static_cast<std::size_t>(t)]();
                }
            });
        }
        for (auto& w : workers) w.join();
        return words;
    });
    std::vector<std::uint64_t> all;
    for (auto& g : generators) {
        for (int i = 0; i < words_per_process; ++i) all.push_back(g());
    }
    std::vector<std::uint64_t> from_child;
    REQUIRE(child.collect(from_child, threads * words_per_process) == 0);
    all.insert(all.end(), from_child.begin(), from_child.end());
    CHECK(std::set<std::uint64_t>(all.begin(), all.end()).size() == 2 * threads * words_per_process);
}

TEST_CASE("the process-id fallback also catches raw forks", "[generator][fork]") {
    dpkit::secure_generator g;
    const detection_mode pid_check(dpkit::detail::fork_detection::process_id);
    REQUIRE(pid_check.now == dpkit::detail::fork_detection::process_id);
    CHECK(words_shared_across_fork(g, fork_kind::raw_syscall) == 0);
    CHECK(words_shared_across_fork(g, fork_kind::libc_fork) == 0);
}

TEST_CASE("positive control: with the pthread_atfork handler alone a raw fork repeats the stream",
          "[generator][fork]") {
    dpkit::secure_generator g;
    const detection_mode atfork_only(dpkit::detail::fork_detection::atfork_only);
    REQUIRE(atfork_only.now == dpkit::detail::fork_detection::atfork_only);
    CHECK(words_shared_across_fork(g, fork_kind::raw_syscall) == words_per_process);
    CHECK(words_shared_across_fork(g, fork_kind::libc_fork) == 0);
}

TEST_CASE("positive control: a stream copied into a raw-forked child repeats and is caught", "[generator][fork]") {
    dpkit::insecure_seeded_generator same_seed(7);
    CHECK(words_shared_across_fork(same_seed, fork_kind::raw_syscall) == words_per_process);
    dpkit::insecure_seeded_generator also_with_libc_fork(7);
    CHECK(words_shared_across_fork(also_with_libc_fork, fork_kind::libc_fork) == words_per_process);
}

TEST_CASE("when getrandom fails in the child every draw throws and none continues the parent's stream",
          "[generator][fork]") {
    for (const fork_kind kind : {fork_kind::libc_fork, fork_kind::raw_syscall}) {
        CAPTURE(kind == fork_kind::libc_fork ? "fork()" : "syscall(SYS_fork)");
        dpkit::secure_generator g;
        std::set<std::uint64_t> parent_words;
        const std::vector<std::uint64_t> record = draws_without_getrandom(g, kind, parent_words);
        if (record.empty()) {
            DPKIT_TEST_SKIP("seccomp filters are unavailable here (prctl or seccomp refused); "
                            "the test-hook variant below still runs");
        }
        REQUIRE(record.size() == 2 * attempts);
        for (int i = 0; i < attempts; ++i) {
            CAPTURE(i);
            CHECK(record[2 * static_cast<std::size_t>(i)] == threw);
            CHECK(parent_words.count(record[2 * static_cast<std::size_t>(i) + 1]) == 0);
        }
    }
}

TEST_CASE("when the OS refuses randomness in the child (test hook) every draw throws; the parent does not rekey",
          "[generator][fork]") {
    for (const fork_kind kind : {fork_kind::libc_fork, fork_kind::raw_syscall}) {
        CAPTURE(kind == fork_kind::libc_fork ? "fork()" : "syscall(SYS_fork)");
        dpkit::secure_generator g;
        (void)g();
        std::set<std::uint64_t> parent_words;
        std::vector<std::uint64_t> record;
        {
            // Set before the fork, so the parent's draws would throw too if it rekeyed.
            const os_randomness_refused refused;
            child_process child = spawn(kind, [&g] {
                std::vector<std::uint64_t> words = attempt_draws(g);
                dpkit::detail::os_random_test_failure.store(0);  // the OS answers again
                const std::vector<std::uint64_t> recovered = attempt_draws(g);
                words.insert(words.end(), recovered.begin(), recovered.end());
                return words;
            });
            for (int i = 0; i < words_per_process; ++i) parent_words.insert(g());
            REQUIRE(child.collect(record, 4 * attempts) == 0);
        }
        for (int i = 0; i < 2 * attempts; ++i) {
            CAPTURE(i);
            CHECK(record[2 * static_cast<std::size_t>(i)] == (i < attempts ? threw : drew_a_word));
            CHECK(parent_words.count(record[2 * static_cast<std::size_t>(i) + 1]) == 0);
        }
    }
}
#endif
