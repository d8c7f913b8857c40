// ChaCha20 against RFC 8439 test vectors; every vector kernel against the scalar reference.
#include <dpkit/random/chacha20.hpp>

#include <array>
#include <cstdint>
#include <string>

#include "../support/dpkit_catch.hpp"

namespace {

std::string hex_of_words(const std::uint32_t* words, int count) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < count; ++i) {
        for (int byte = 0; byte < 4; ++byte) {  // little-endian serialisation
            const auto b = static_cast<unsigned>((words[i] >> (8 * byte)) & 0xffu);
            out += digits[b >> 4];
            out += digits[b & 15u];
        }
    }
    return out;
}

std::array<std::uint32_t, 16> rfc_state(const std::array<std::uint32_t, 8>& key, std::uint32_t counter,
                                        std::uint32_t n0, std::uint32_t n1, std::uint32_t n2) {
    std::array<std::uint32_t, 16> s{};
    dpkit::detail::chacha_state(key.data(), counter, s.data());
    s[13] = n0;
    s[14] = n1;
    s[15] = n2;
    return s;
}

}  // namespace

TEST_CASE("ChaCha20 block function matches RFC 8439 section 2.3.2", "[chacha20]") {
    // key 00:01:...:1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, counter 1
    const std::array<std::uint32_t, 8> key = {0x03020100u, 0x07060504u, 0x0b0a0908u, 0x0f0e0d0cu,
                                              0x13121110u, 0x17161514u, 0x1b1a1918u, 0x1f1e1d1cu};
    const auto state = rfc_state(key, 1, 0x09000000u, 0x4a000000u, 0x00000000u);
    std::uint32_t out[16];
    dpkit::detail::chacha20_block(state.data(), out);
    CHECK(out[0] == 0xe4e7f110u);
    CHECK(out[15] == 0x4e3c50a2u);
    CHECK(hex_of_words(out, 16) ==
          "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
          "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
}

TEST_CASE("ChaCha20 keystream matches RFC 8439 appendix A.1 vectors 1 and 2", "[chacha20]") {
    const std::array<std::uint32_t, 8> zero_key{};
    std::uint32_t out[16];
    auto state = rfc_state(zero_key, 0, 0, 0, 0);
    dpkit::detail::chacha20_block(state.data(), out);
    CHECK(hex_of_words(out, 16) ==
          "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
          "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
    state = rfc_state(zero_key, 1, 0, 0, 0);
    dpkit::detail::chacha20_block(state.data(), out);
    CHECK(hex_of_words(out, 16) ==
          "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
          "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f");
}

TEST_CASE("every ChaCha20 kernel fills the buffer exactly like the scalar reference", "[chacha20]") {
    const std::array<std::uint32_t, 8> key = {1u, 0xdeadbeefu, 3u, 4u, 0x80000000u, 6u, 7u, 0xffffffffu};
    std::array<std::uint32_t, dpkit::detail::chacha_buffer_words> reference{};
    std::array<std::uint32_t, dpkit::detail::chacha_buffer_words> candidate{};
    dpkit::detail::chacha_refill_scalar(key.data(), reference.data());
    // The scalar layout itself: word i of block b at i*16 + b.
    std::uint32_t state[16];
    std::uint32_t block[16];
    dpkit::detail::chacha_state(key.data(), 5, state);
    dpkit::detail::chacha20_block(state, block);
    for (int i = 0; i < 16; ++i) CHECK(reference[static_cast<std::size_t>(i * 16 + 5)] == block[i]);

    candidate.fill(0);
    dpkit::detail::chacha_refill_best()(key.data(), candidate.data());
    CHECK(candidate == reference);
#if defined(DPKIT_HAS_VECTOR_CHACHA)
    candidate.fill(0);
    dpkit::detail::chacha_refill_x4(key.data(), candidate.data());
    CHECK(candidate == reference);
#endif
#if defined(DPKIT_HAS_X86_CHACHA)
    if (__builtin_cpu_supports("avx2")) {
        candidate.fill(0);
        dpkit::detail::chacha_refill_avx2(key.data(), candidate.data());
        CHECK(candidate == reference);
    }
    if (__builtin_cpu_supports("avx512f")) {
        candidate.fill(0);
        dpkit::detail::chacha_refill_avx512(key.data(), candidate.data());
        CHECK(candidate == reference);
    }
#endif
}
