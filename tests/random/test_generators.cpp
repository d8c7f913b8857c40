// secure_generator and insecure_seeded_generator: concept, determinism, fork safety.
#include <dpkit/random/insecure_seeded_generator.hpp>
#include <dpkit/random/secure_generator.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstdint>
#include <random>
#include <set>
#include <system_error>
#include <type_traits>
#include <vector>

#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "../support/dpkit_catch.hpp"

static_assert(std::uniform_random_bit_generator<dpkit::secure_generator>);
static_assert(std::uniform_random_bit_generator<dpkit::insecure_seeded_generator>);
static_assert(!std::is_copy_constructible_v<dpkit::secure_generator>, "a copy would repeat the stream");
static_assert(std::is_nothrow_move_constructible_v<dpkit::secure_generator>);
static_assert(std::is_copy_constructible_v<dpkit::insecure_seeded_generator>);
static_assert(!std::is_default_constructible_v<dpkit::insecure_seeded_generator>, "the seed must be explicit");

TEST_CASE("insecure_seeded_generator is reproducible and seed-sensitive", "[generator]") {
    dpkit::insecure_seeded_generator a(42);
    dpkit::insecure_seeded_generator b(42);
    dpkit::insecure_seeded_generator c(43);
    std::vector<std::uint64_t> xa;
    std::vector<std::uint64_t> xb;
    std::vector<std::uint64_t> xc;
    for (int i = 0; i < 1000; ++i) {  // crosses several buffer refills (124 words each)
        xa.push_back(a());
        xb.push_back(b());
        xc.push_back(c());
    }
    CHECK(xa == xb);
    CHECK(xa != xc);
    // Pinned first value: the stream must not change across platforms or kernels.
    dpkit::insecure_seeded_generator pinned(0);
    const std::uint64_t first = pinned();
    dpkit::insecure_seeded_generator again(0);
    CHECK(again() == first);
    auto copy = a;
    CHECK(copy() == a());
}

namespace {

/// Largest deviation of any bit position's count of ones from n/2 over n draws.
template <class G>
int worst_bit_imbalance(G& g, int n) {
    std::vector<int> ones(64, 0);
    for (int i = 0; i < n; ++i) {
        const auto x = static_cast<std::uint64_t>(g());
        for (int bit = 0; bit < 64; ++bit) ones[static_cast<std::size_t>(bit)] += static_cast<int>((x >> bit) & 1u);
    }
    int worst = 0;
    for (int count : ones) worst = std::max(worst, std::abs(count - n / 2));
    return worst;
}

}  // namespace

TEST_CASE("generators produce balanced bits", "[generator][statistical]") {
    // Each bit position's count of ones in 20000 draws is Binomial(20000, 1/2):
    // a deviation above 6 sd (424) has probability 2e-9 per position, 1.3e-7 for 64.
    dpkit::secure_generator g;
    CHECK(worst_bit_imbalance(g, 20000) < 424);
    dpkit::insecure_seeded_generator s(99);
    CHECK(worst_bit_imbalance(s, 20000) < 424);
    SECTION("positive control: a generator with one bit biased to 55% is caught") {
        struct biased {
            using result_type = std::uint64_t;
            static constexpr result_type min() { return 0; }
            static constexpr result_type max() { return ~result_type{0}; }
            dpkit::insecure_seeded_generator inner{5};
            result_type operator()() {
                const auto x = inner();
                const bool one = (inner() % 100) < 55;
                return one ? (x | (1ull << 17)) : (x & ~(1ull << 17));
            }
        } bad;
        CHECK(worst_bit_imbalance(bad, 20000) >= 424);
    }
}

TEST_CASE("two secure generators never share a stream", "[generator]") {
    dpkit::secure_generator a;
    dpkit::secure_generator b;
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 1000; ++i) {
        seen.insert(a());
        seen.insert(b());
    }
    CHECK(seen.size() == 2000);  // a 64-bit collision among 2000 values has probability 1e-13
}

TEST_CASE("a moved-from secure_generator rekeys instead of repeating", "[generator]") {
    dpkit::secure_generator a;
    (void)a();
    dpkit::secure_generator b(std::move(a));
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 500; ++i) {
        seen.insert(a());  // NOLINT(bugprone-use-after-move): defined to rekey
        seen.insert(b());
    }
    CHECK(seen.size() == 1000);
}

TEST_CASE("a secure_generator whose reseed failed keeps failing until the OS answers", "[generator]") {
    dpkit::secure_generator g;
    std::set<std::uint64_t> before;
    for (int i = 0; i < 10; ++i) before.insert(g());
    dpkit::detail::os_random_test_failure.store(ENOSYS);  // the test hook: the OS refuses randomness
    CHECK_THROWS_AS(g.reseed(), std::system_error);
    int threw = 0;
    for (int i = 0; i < 5; ++i) {
        try {
            (void)g();
        } catch (const std::system_error&) {
            ++threw;
        }
    }
    CHECK(threw == 5);  // no draw falls back to the old key
    CHECK_THROWS_AS(dpkit::secure_generator(), std::system_error);
    dpkit::detail::os_random_test_failure.store(0);
    std::set<std::uint64_t> after;
    for (int i = 0; i < 300; ++i) after.insert(g());  // rekeyed: a fresh stream
    CHECK(after.size() == 300);
    for (auto v : before) CHECK(after.count(v) == 0);
}

#if !defined(_WIN32)
namespace {

/// Draws one value, forks, draws 300 values in each process and returns how
/// many of the child's values the parent also produced.
template <class G>
int values_shared_across_fork(G& g) {
    (void)g();  // the buffer now holds unread output that both processes could emit
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    constexpr int count = 300;
    if (pid == 0) {
        std::uint64_t values[count];
        for (auto& v : values) v = g();
        const auto written = write(fds[1], values, sizeof values);
        _exit(written == static_cast<ssize_t>(sizeof values) ? 0 : 1);
    }
    close(fds[1]);
    std::set<std::uint64_t> parent;
    for (int i = 0; i < count; ++i) parent.insert(g());
    std::vector<std::uint64_t> child(count);
    std::size_t got = 0;
    auto* bytes = reinterpret_cast<char*>(child.data());
    while (got < count * sizeof(std::uint64_t)) {
        const auto r = read(fds[0], bytes + got, count * sizeof(std::uint64_t) - got);
        REQUIRE(r > 0);
        got += static_cast<std::size_t>(r);
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    int shared = 0;
    for (auto v : child) shared += parent.count(v) ? 1 : 0;
    return shared;
}

/// The keystream without the fork check: what secure_generator would be without it.
struct unprotected_stream {
    using result_type = std::uint64_t;
    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return ~result_type{0}; }
    dpkit::detail::chacha_stream stream{std::array<std::uint32_t, 8>{9, 9, 9}};
    result_type operator()() { return stream.next(); }
};

}  // namespace

TEST_CASE("after fork the child never repeats the parent's stream", "[generator][fork]") {
    dpkit::secure_generator g;
    CHECK(values_shared_across_fork(g) == 0);
}

TEST_CASE("positive control: without the fork check the child repeats the parent", "[generator][fork]") {
    unprotected_stream g;
    CHECK(values_shared_across_fork(g) == 300);
}
#endif
