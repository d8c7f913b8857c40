#pragma once
// Radix-2 complex FFT with a precomputed twiddle table, and linear convolution
// of non-negative sequences (for composing privacy-loss distributions): sparse
// inputs convolve directly, dense ones through one complex FFT of both inputs.

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <numbers>
#include <vector>

namespace dpkit::detail {

/// In-place FFT of size n (a power of two); inverse = true divides by n.
inline void fft(std::vector<std::complex<double>>& a, bool inverse) {
    const std::size_t n = a.size();
    for (std::size_t i = 1, j = 0; i < n; ++i) {
        std::size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    // Twiddles e^{-2 pi i k / n} for k < n/2, each computed directly (no drift).
    std::vector<std::complex<double>> twiddle(n / 2);
    for (std::size_t k = 0; k < n / 2; ++k) {
        const double angle = -2 * std::numbers::pi * static_cast<double>(k) / static_cast<double>(n);
        twiddle[k] = {std::cos(angle), inverse ? -std::sin(angle) : std::sin(angle)};
    }
    for (std::size_t len = 2; len <= n; len <<= 1) {
        const std::size_t half = len / 2;
        const std::size_t stride = n / len;
        for (std::size_t i = 0; i < n; i += len) {
            for (std::size_t k = 0; k < half; ++k) {
                const auto u = a[i + k];
                const auto v = a[i + k + half] * twiddle[k * stride];
                a[i + k] = u + v;
                a[i + k + half] = u - v;
            }
        }
    }
    if (inverse) {
        for (auto& x : a) x /= static_cast<double>(n);
    }
}

/// Linear convolution of two non-negative sequences; FFT rounding noise below
/// zero is clamped to zero.
inline std::vector<double> convolve(const std::vector<double>& a, const std::vector<double>& b) {
    const std::size_t out_size = a.size() + b.size() - 1;
    std::vector<std::size_t> nz_a;
    std::vector<std::size_t> nz_b;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != 0) nz_a.push_back(i);
    for (std::size_t j = 0; j < b.size(); ++j)
        if (b[j] != 0) nz_b.push_back(j);
    const double fft_cost = 8.0 * static_cast<double>(out_size) * std::log2(static_cast<double>(out_size) + 2);
    if (static_cast<double>(nz_a.size()) * static_cast<double>(nz_b.size()) <= fft_cost) {
        std::vector<double> out(out_size, 0.0);
        for (std::size_t i : nz_a)
            for (std::size_t j : nz_b) out[i + j] += a[i] * b[j];
        return out;
    }
    std::size_t n = 1;
    while (n < out_size) n <<= 1;
    // Both real inputs in one complex FFT: z = a + i b, then A_k = (Z_k + conj Z_{n-k})/2,
    // B_k = (Z_k - conj Z_{n-k})/(2i), and the product A_k B_k.
    std::vector<std::complex<double>> z(n);
    for (std::size_t i = 0; i < a.size(); ++i) z[i].real(a[i]);
    for (std::size_t j = 0; j < b.size(); ++j) z[j].imag(b[j]);
    fft(z, false);
    std::vector<std::complex<double>> product(n);
    for (std::size_t k = 0; k < n; ++k) {
        const auto zk = z[k];
        const auto zc = std::conj(z[(n - k) & (n - 1)]);
        const auto ak = (zk + zc) * 0.5;
        const auto bk = (zk - zc) * std::complex<double>(0, -0.5);
        product[k] = ak * bk;
    }
    fft(product, true);
    std::vector<double> out(out_size);
    for (std::size_t i = 0; i < out_size; ++i) out[i] = std::max(0.0, product[i].real());
    return out;
}

}  // namespace dpkit::detail
