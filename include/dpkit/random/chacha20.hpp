#pragma once
/// \file
/// ChaCha20 block function (RFC 8439, D. J. Bernstein 2008) and the keystream
/// buffer behind dpkit's generators. A scalar reference implementation is
/// checked against the RFC 8439 test vectors; vectorised kernels (GCC/Clang
/// vector extensions: SSE2/NEON baseline, AVX2 and AVX-512 picked at run time)
/// must reproduce it word for word, so a seeded stream is the same on every CPU.
///
/// The buffer uses "fast key erasure" (Bernstein 2017, as OpenBSD's
/// arc4random): each refill computes 16 blocks under the current key, takes 8
/// words of the output as the next key and never emits them, so a later
/// compromise of the state does not reveal earlier output.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dpkit::detail {

inline constexpr std::uint32_t chacha_constants[4] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u};

constexpr std::uint32_t rotl32(std::uint32_t v, int n) noexcept { return (v << n) | (v >> (32 - n)); }

#define DPKIT_CHACHA_QR(x, a, b, c, d)    \
    x[a] += x[b];                         \
    x[d] ^= x[a];                         \
    x[d] = DPKIT_CHACHA_ROTL(x[d], 16);   \
    x[c] += x[d];                         \
    x[b] ^= x[c];                         \
    x[b] = DPKIT_CHACHA_ROTL(x[b], 12);   \
    x[a] += x[b];                         \
    x[d] ^= x[a];                         \
    x[d] = DPKIT_CHACHA_ROTL(x[d], 8);    \
    x[c] += x[d];                         \
    x[b] ^= x[c];                         \
    x[b] = DPKIT_CHACHA_ROTL(x[b], 7)

#define DPKIT_CHACHA_DOUBLE_ROUND(x)        \
    DPKIT_CHACHA_QR(x, 0, 4, 8, 12);        \
    DPKIT_CHACHA_QR(x, 1, 5, 9, 13);        \
    DPKIT_CHACHA_QR(x, 2, 6, 10, 14);       \
    DPKIT_CHACHA_QR(x, 3, 7, 11, 15);       \
    DPKIT_CHACHA_QR(x, 0, 5, 10, 15);       \
    DPKIT_CHACHA_QR(x, 1, 6, 11, 12);       \
    DPKIT_CHACHA_QR(x, 2, 7, 8, 13);        \
    DPKIT_CHACHA_QR(x, 3, 4, 9, 14)

/// RFC 8439 section 2.3: one 64-byte block from the 16-word input state
/// (constants, 8 key words, counter, 3 nonce words), as 16 little-endian words.
inline void chacha20_block(const std::uint32_t input[16], std::uint32_t output[16]) noexcept {
    std::uint32_t x[16];
    for (int i = 0; i < 16; ++i) x[i] = input[i];
#define DPKIT_CHACHA_ROTL(v, n) rotl32(v, n)
    for (int round = 0; round < 10; ++round) {
        DPKIT_CHACHA_DOUBLE_ROUND(x);
    }
#undef DPKIT_CHACHA_ROTL
    for (int i = 0; i < 16; ++i) output[i] = x[i] + input[i];
}

/// Number of blocks per refill and words per buffer.
inline constexpr int chacha_blocks_per_refill = 16;
inline constexpr int chacha_buffer_words = 16 * chacha_blocks_per_refill;

/// The input state for block `counter` under `key` with a zero nonce.
inline void chacha_state(const std::uint32_t key[8], std::uint32_t counter, std::uint32_t state[16]) noexcept {
    for (int i = 0; i < 4; ++i) state[i] = chacha_constants[i];
    for (int i = 0; i < 8; ++i) state[4 + i] = key[i];
    state[12] = counter;
    state[13] = state[14] = state[15] = 0;
}

/// Canonical buffer layout: word i of block b (counter b, zero nonce) is stored
/// at out[i * 16 + b]. Scalar reference used on compilers without vector extensions.
inline void chacha_refill_scalar(const std::uint32_t key[8], std::uint32_t* out) noexcept {
    std::uint32_t state[16];
    std::uint32_t block[16];
    for (int b = 0; b < chacha_blocks_per_refill; ++b) {
        chacha_state(key, static_cast<std::uint32_t>(b), state);
        chacha20_block(state, block);
        for (int i = 0; i < 16; ++i) out[i * chacha_blocks_per_refill + b] = block[i];
    }
}

#if defined(__GNUC__) || defined(__clang__)
#define DPKIT_HAS_VECTOR_CHACHA 1

/// N blocks at once, one lane per block (counters first_block .. first_block+N-1),
/// written into the canonical layout.
template <int N>
struct chacha_vector {
    typedef std::uint32_t type __attribute__((vector_size(4 * N)));
};

template <int N, class vector = typename chacha_vector<N>::type>
struct chacha_lanes {

    __attribute__((always_inline)) static inline void run(const std::uint32_t key[8], std::uint32_t first_block,
                                                          std::uint32_t* out) noexcept {
        vector s[16];
        vector x[16];
        for (int i = 0; i < 4; ++i) s[i] = vector{} + chacha_constants[i];
        for (int i = 0; i < 8; ++i) s[4 + i] = vector{} + key[i];
        vector counter{};
        for (int b = 0; b < N; ++b) counter[b] = first_block + static_cast<std::uint32_t>(b);
        s[12] = counter;
        s[13] = s[14] = s[15] = vector{};
        for (int i = 0; i < 16; ++i) x[i] = s[i];
#define DPKIT_CHACHA_ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
        for (int round = 0; round < 10; ++round) {
            DPKIT_CHACHA_DOUBLE_ROUND(x);
        }
#undef DPKIT_CHACHA_ROTL
        for (int i = 0; i < 16; ++i) {
            const vector word = x[i] + s[i];
            std::memcpy(out + i * chacha_blocks_per_refill + first_block, &word, sizeof word);
        }
    }
};

inline void chacha_refill_x4(const std::uint32_t key[8], std::uint32_t* out) noexcept {
    for (std::uint32_t b = 0; b < chacha_blocks_per_refill; b += 4) chacha_lanes<4>::run(key, b, out);
}

#if defined(__x86_64__) || defined(__i386__)
#define DPKIT_HAS_X86_CHACHA 1
__attribute__((target("avx2"))) inline void chacha_refill_avx2(const std::uint32_t key[8],
                                                               std::uint32_t* out) noexcept {
    chacha_lanes<8>::run(key, 0, out);
    chacha_lanes<8>::run(key, 8, out);
}

__attribute__((target("avx512f"))) inline void chacha_refill_avx512(const std::uint32_t key[8],
                                                                   std::uint32_t* out) noexcept {
    chacha_lanes<16>::run(key, 0, out);
}
#endif
#endif

#undef DPKIT_CHACHA_QR
#undef DPKIT_CHACHA_DOUBLE_ROUND

using chacha_refill_fn = void (*)(const std::uint32_t*, std::uint32_t*) noexcept;

/// The fastest kernel this CPU supports, chosen once.
inline chacha_refill_fn chacha_refill_best() noexcept {
    static const chacha_refill_fn chosen = []() noexcept -> chacha_refill_fn {
#if defined(DPKIT_HAS_X86_CHACHA)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) return &chacha_refill_avx512;
        if (__builtin_cpu_supports("avx2")) return &chacha_refill_avx2;
#endif
#if defined(DPKIT_HAS_VECTOR_CHACHA)
        return &chacha_refill_x4;
#else
        return &chacha_refill_scalar;
#endif
    }();
    return chosen;
}

/// Overwrites memory in a way the optimiser may not remove.
inline void secure_wipe(void* data, std::size_t size) noexcept {
    volatile unsigned char* p = static_cast<volatile unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) p[i] = 0;
}

/// A ChaCha20 keystream with fast key erasure, read 64 bits at a time.
class chacha_stream {
public:
    chacha_stream() noexcept = default;
    explicit chacha_stream(const std::array<std::uint32_t, 8>& key) noexcept { rekey(key); }
    chacha_stream(const chacha_stream&) noexcept = default;
    chacha_stream& operator=(const chacha_stream&) noexcept = default;
    ~chacha_stream() { wipe(); }

    /// Starts a new stream under `key`, discarding any buffered output.
    void rekey(const std::array<std::uint32_t, 8>& key) noexcept {
        key_ = key;
        position_ = chacha_buffer_words;
    }

    std::uint64_t next() noexcept {
        if (position_ >= chacha_buffer_words) [[unlikely]] refill();
        const std::uint64_t low = buffer_[static_cast<std::size_t>(position_)];
        const std::uint64_t high = buffer_[static_cast<std::size_t>(position_) + 1];
        position_ += 2;
        return low | (high << 32);
    }

    void wipe() noexcept {
        secure_wipe(buffer_.data(), sizeof buffer_);
        secure_wipe(key_.data(), sizeof key_);
        position_ = chacha_buffer_words;
    }

private:
    void refill() noexcept {
        chacha_refill_best()(key_.data(), buffer_.data());
        for (std::size_t i = 0; i < 8; ++i) key_[i] = buffer_[i];
        secure_wipe(buffer_.data(), 8 * sizeof(std::uint32_t));
        position_ = 8;
    }

    alignas(64) std::array<std::uint32_t, chacha_buffer_words> buffer_{};
    std::array<std::uint32_t, 8> key_{};
    int position_ = chacha_buffer_words;
};

}  // namespace dpkit::detail
