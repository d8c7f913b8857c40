#pragma once
// Real-input FFT of power-of-two size N for composing privacy-loss
// distributions, with a rigorous bound on its rounding error.
//
// The N real inputs are packed as N/2 complex values z_n = x_{2n} + i x_{2n+1}.
// The forward transform is a depth-first (cache-friendly) radix-2
// decimation-in-frequency FFT, which leaves the spectrum in bit-reversed order;
// the inverse is the matching decimation-in-time FFT, which takes bit-reversed
// input. Pointwise work on spectra does not care about the order, so no
// permutation is ever done. In bit-reversed order the frequencies f and M - f
// (M = N/2) of the real-input split sit at mirrored positions of each block
// [2^j, 2^(j+1)), which is how the spectrum of x is split from that of z.
//
// Error bound (used by the PLD composition): with twiddles correct to u
// (u = 2^-53) every radix-2 level rounds each value by at most eta = 7u
// relative to the magnitudes of its inputs (one complex product, two sums;
// Higham, "Accuracy and Stability of Numerical Algorithms", 2002, sec. 24.1),
// so over L = log2(N) levels
//  - each computed coefficient is within L eta / (1 - L eta) times ||x||_1 of
//    the exact one (every output is a sum of the inputs times unit twiddles);
//  - the 2-norm of the error is within L eta / (1 - L eta) times the 2-norm of
//    the exact output (Higham, Thm 24.2);
// the real-input split and merge add at most 8u of the same norms.
// fft_error_factor(N) is that total, for forward and inverse alike.

#include <algorithm>
#include <bit>
#include <cmath>
#include <complex>
#include <cstddef>
#include <memory>
#include <mutex>
#include <numbers>
#include <vector>

namespace dpkit::detail {

/// Twiddles for real FFTs of size n (a power of two >= 4).
class real_fft_plan {
public:
    explicit real_fft_plan(std::size_t n) : n_(n), m_(n / 2), bits_(std::countr_zero(m_)), root_(m_) {
        // root_[f] = e^{-i pi f / m} for f < m; sin and cos are evaluated on the first
        // octant only and the rest follows by exact symmetries.
        const std::size_t eighth = m_ / 4;  // pi f / m <= pi/4
        for (std::size_t f = 0; f <= eighth && f < m_; ++f) {
            const double angle = std::numbers::pi * static_cast<double>(f) / static_cast<double>(m_);
            root_[f] = {std::cos(angle), -std::sin(angle)};
        }
        for (std::size_t f = eighth + 1; f <= m_ / 2 && f < m_; ++f) {
            const auto r = root_[m_ / 2 - f];  // angle pi/2 - that one
            root_[f] = {-r.imag(), -r.real()};
        }
        for (std::size_t f = m_ / 2 + 1; f < m_; ++f) {
            const auto r = root_[m_ - f];  // angle pi - that one
            root_[f] = {-r.real(), r.imag()};
        }
        // twiddle_[h + k] = e^{-i pi k / h} = root_[k m / h], contiguous per level (half-size h).
        twiddle_.resize(std::max<std::size_t>(m_, 2));
        for (std::size_t h = 1; h < m_; h <<= 1) {
            for (std::size_t k = 0; k < h; ++k) twiddle_[h + k] = root_[k * (m_ / h)];
        }
        // split_[p] = e^{-2 pi i f / n} for the frequency f = bit-reverse(p) held at position p.
        // Computed directly (a gather from root_ in bit-reversed order would miss the cache).
        split_.resize(m_);
        for (std::size_t p = 0; p < m_; ++p) {
            const double angle = std::numbers::pi * static_cast<double>(reverse(p)) / static_cast<double>(m_);
            split_[p] = {std::cos(angle), -std::sin(angle)};
        }
        root_.clear();
        root_.shrink_to_fit();
    }

    std::size_t size() const noexcept { return n_; }

    /// Spectrum of n reals (x.size() == n): out[p] holds X_f for f = bit-reverse(p)
    /// and 0 < p < n/2, plus the mirrored partner; out[0] = (X_0, X_{n/2}), both real.
    void forward(const std::vector<double>& x, std::vector<std::complex<double>>& out) const {
        out.resize(m_);
        for (std::size_t k = 0; k < m_; ++k) out[k] = {x[2 * k], x[2 * k + 1]};
        dif(out.data(), m_);
        const double z0r = out[0].real();
        const double z0i = out[0].imag();
        out[0] = {z0r + z0i, z0r - z0i};
        if (m_ > 1) out[1] = std::conj(out[1]);
        for (std::size_t lo = 2; lo < m_; lo <<= 1) {
            for (std::size_t p = lo, q = 2 * lo - 1; p < q; ++p, --q) split_pair(out[p], out[q], split_[p]);
        }
    }

    /// Inverse of forward (times n, so divide by n afterwards): the n reals whose spectrum is `spec`.
    void inverse(std::vector<std::complex<double>>& spec, std::vector<double>& x) const {
        const double x0 = spec[0].real();
        const double xm = spec[0].imag();
        spec[0] = {x0 + xm, x0 - xm};
        if (m_ > 1) spec[1] = std::conj(spec[1]) * 2.0;
        for (std::size_t lo = 2; lo < m_; lo <<= 1) {
            for (std::size_t p = lo, q = 2 * lo - 1; p < q; ++p, --q) merge_pair(spec[p], spec[q], split_[p]);
        }
        dit(spec.data(), m_);
        x.resize(n_);
        for (std::size_t k = 0; k < m_; ++k) {
            x[2 * k] = spec[k].real();
            x[2 * k + 1] = spec[k].imag();
        }
    }

private:
    /// The bit reversal of p over log2(m) bits (the frequency held at position p).
    std::size_t reverse(std::size_t p) const noexcept {
        std::size_t r = 0;
        for (int b = 0; b < bits_; b += 8) r = (r << 8) | byte_reverse(static_cast<unsigned>((p >> b) & 0xffu));
        return r >> (((bits_ + 7) / 8) * 8 - bits_);
    }
    static std::size_t byte_reverse(unsigned v) noexcept {
        v = ((v & 0xf0u) >> 4) | ((v & 0x0fu) << 4);
        v = ((v & 0xccu) >> 2) | ((v & 0x33u) << 2);
        v = ((v & 0xaau) >> 1) | ((v & 0x55u) << 1);
        return v;
    }

    // X_f = E + w O and X_{m-f} = conj(E - w O) with E = (Z_f + conj Z_{m-f})/2, O = (Z_f - conj Z_{m-f})/(2i).
    static void split_pair(std::complex<double>& zp, std::complex<double>& zq, std::complex<double> w) {
        const double ar = zp.real(), ai = zp.imag(), br = zq.real(), bi = zq.imag();
        const double er = 0.5 * (ar + br), ei = 0.5 * (ai - bi);
        const double orr = 0.5 * (ai + bi), oi = -0.5 * (ar - br);
        const double tr = w.real() * orr - w.imag() * oi, ti = w.real() * oi + w.imag() * orr;
        zp = {er + tr, ei + ti};
        zq = {er - tr, -(ei - ti)};
    }
    // Inverse of split_pair, times 2: Z_f = E + i O with E = (X_f + conj X_{m-f}), O = (X_f - conj X_{m-f}) conj(w).
    static void merge_pair(std::complex<double>& xp, std::complex<double>& xq, std::complex<double> w) {
        const double ar = xp.real(), ai = xp.imag(), br = xq.real(), bi = xq.imag();
        const double er = ar + br, ei = ai - bi;
        const double dr = ar - br, di = ai + bi;
        const double orr = dr * w.real() + di * w.imag(), oi = di * w.real() - dr * w.imag();
        xp = {er - oi, ei + orr};
        xq = {er + oi, -(ei - orr)};
    }

    void dif(std::complex<double>* a, std::size_t n) const {
        if (n == 1) return;
        if (n == 2) {
            const auto u = a[0];
            a[0] = u + a[1];
            a[1] = u - a[1];
            return;
        }
        const std::size_t h = n / 2;
        double* d = reinterpret_cast<double*>(a);
        const double* t = reinterpret_cast<const double*>(twiddle_.data() + h);
        for (std::size_t k = 0, s = 0; k < h; ++k, s += 2) {
            const double ur = d[2 * k], ui = d[2 * k + 1];
            const double vr = d[2 * (k + h)], vi = d[2 * (k + h) + 1];
            const double xr = ur - vr, xi = ui - vi;
            d[2 * k] = ur + vr;
            d[2 * k + 1] = ui + vi;
            d[2 * (k + h)] = xr * t[s] - xi * t[s + 1];
            d[2 * (k + h) + 1] = xr * t[s + 1] + xi * t[s];
        }
        dif(a, h);
        dif(a + h, h);
    }

    void dit(std::complex<double>* a, std::size_t n) const {
        if (n == 1) return;
        if (n == 2) {
            const auto u = a[0];
            a[0] = u + a[1];
            a[1] = u - a[1];
            return;
        }
        const std::size_t h = n / 2;
        dit(a, h);
        dit(a + h, h);
        double* d = reinterpret_cast<double*>(a);
        const double* t = reinterpret_cast<const double*>(twiddle_.data() + h);
        for (std::size_t k = 0, s = 0; k < h; ++k, s += 2) {
            const double ur = d[2 * k], ui = d[2 * k + 1];
            const double xr = d[2 * (k + h)], xi = d[2 * (k + h) + 1];
            const double vr = xr * t[s] + xi * t[s + 1], vi = xi * t[s] - xr * t[s + 1];
            d[2 * k] = ur + vr;
            d[2 * k + 1] = ui + vi;
            d[2 * (k + h)] = ur - vr;
            d[2 * (k + h) + 1] = ui - vi;
        }
    }

    std::size_t n_;
    std::size_t m_;
    int bits_;
    std::vector<std::complex<double>> root_;  // e^{-i pi f / m}, only while building
    std::vector<std::complex<double>> twiddle_;
    std::vector<std::complex<double>> split_;
};

/// A shared plan of size n; the two most recent ones are kept for reuse.
inline std::shared_ptr<const real_fft_plan> fft_plan(std::size_t n) {
    static std::mutex mutex;
    static std::shared_ptr<const real_fft_plan> recent[2];
    {
        std::lock_guard lock(mutex);
        for (const auto& p : recent) {
            if (p && p->size() == n) return p;
        }
    }
    auto plan = std::make_shared<const real_fft_plan>(n);
    std::lock_guard lock(mutex);
    recent[1] = recent[0];
    recent[0] = plan;
    return plan;
}

/// Relative error bound of real_fft_plan's transforms of size n, per coefficient
/// against the input's 1-norm and in the 2-norm (see the file comment).
inline double fft_error_factor(std::size_t n) noexcept {
    constexpr double u = 0x1p-53;
    const double level_error = static_cast<double>(std::countr_zero(n)) * 7 * u;
    return level_error / (1 - level_error) * (1 + 1e-6) + 8 * u;
}

/// Linear convolution of two non-negative sequences, directly (for short or
/// sparse inputs).
inline std::vector<double> convolve_direct(const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> out(a.size() + b.size() - 1, 0.0);
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] == 0) continue;
        for (std::size_t j = 0; j < b.size(); ++j) out[i + j] += a[i] * b[j];
    }
    return out;
}

}  // namespace dpkit::detail
