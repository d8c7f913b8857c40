#pragma once
/// \file
/// Closed-form composition theorems for epsilon-DP mechanisms (each result rounded up):
///  - basic: k eps0 (Dwork, McSherry, Nissim, Smith 2006);
///  - advanced: eps0 sqrt(2k ln(1/delta')) + k eps0 (e^eps0 - 1) at extra delta'
///    (Dwork, Rothblum, Vadhan 2010; Dwork & Roth Thm 3.20), and its heterogeneous form;
///  - Kairouz, Oh, Viswanath 2015 ("The Composition Theorem for Differential
///    Privacy"): Theorem 3.4's bound and Theorem 3.3's exact optimum for k
///    homogeneous eps0-DP mechanisms. The optimum is evaluated in double-double
///    arithmetic (error bounds of Joldes, Muller, Popescu 2017, "Tight and
///    rigorous error bounds for basic building blocks of double-word
///    arithmetic") and rounded toward more loss.

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "../detail/format.hpp"
#include "../detail/rounding.hpp"

namespace dpkit {

namespace detail {
inline void check_composition(const char* who, double eps0, long long k, double delta) {
    if (!std::isfinite(eps0) || !(eps0 > 0)) throw_invalid(who, "epsilon must be finite and > 0", eps0);
    if (k < 1) throw_invalid(who, "k must be >= 1", k);
    if (!(delta > 0 && delta < 1)) throw_invalid(who, "delta must be in (0, 1)", delta);
}
}  // namespace detail

/// Advanced composition (DRV10): k eps0-DP mechanisms are
/// (eps0 sqrt(2k ln(1/delta)) + k eps0 (e^eps0 - 1), delta)-DP (plus their own deltas).
inline double advanced_composition_epsilon(double eps0, long long k, double delta) {
    detail::check_composition("dpkit::advanced_composition_epsilon", eps0, k, delta);
    using namespace detail;
    const double kd = static_cast<double>(k);
    const double first = mul_up(eps0, sqrt_up(mul_up(2 * kd, -log_down(delta))));
    const double second = mul_up(mul_up(kd, eps0), next_up(next_up(std::expm1(eps0))));
    return add_up(first, second);
}

/// Heterogeneous advanced composition: sqrt(2 ln(1/delta) sum eps_i^2) + sum eps_i (e^eps_i - 1).
inline double advanced_composition_epsilon(const std::vector<double>& epsilons, double delta) {
    constexpr const char* who = "dpkit::advanced_composition_epsilon";
    if (!(delta > 0 && delta < 1)) detail::throw_invalid(who, "delta must be in (0, 1)", delta);
    using namespace detail;
    double squares = 0;
    double drift = 0;
    for (double e : epsilons) {
        if (!std::isfinite(e) || !(e >= 0)) throw_invalid(who, "epsilons must be finite and >= 0", e);
        squares = add_up(squares, mul_up(e, e));
        drift = add_up(drift, mul_up(e, next_up(next_up(std::expm1(e)))));
    }
    return add_up(sqrt_up(mul_up(2.0, mul_up(-log_down(delta), squares))), drift);
}

/// KOV15 Theorem 3.4: min(k eps0, k eps0 tanh(eps0/2) + eps0 sqrt(2k ln(e + sqrt(k eps0^2)/delta)),
/// k eps0 tanh(eps0/2) + eps0 sqrt(2k ln(1/delta))).
inline double kov_composition_epsilon(double eps0, long long k, double delta) {
    detail::check_composition("dpkit::kov_composition_epsilon", eps0, k, delta);
    using namespace detail;
    const double kd = static_cast<double>(k);
    const double drift = mul_up(mul_up(kd, eps0), next_up(next_up(std::tanh(eps0 / 2))));
    const double spread = div_up(sqrt_up(mul_up(mul_up(kd, eps0), eps0)), delta);
    const double a = add_up(drift, mul_up(eps0, sqrt_up(mul_up(2 * kd, log_up(add_up(std::numbers::e, spread))))));
    const double b = add_up(drift, mul_up(eps0, sqrt_up(mul_up(2 * kd, -log_down(delta)))));
    return std::min({mul_up(kd, eps0), a, b});
}

namespace detail {

// Double-double numbers: the value hi + lo with |lo| <= ulp(hi) / 2. With
// u = 2^-53, the relative errors of the operations below are at most (JMP17):
// dd + dd 3u^2 (their Algorithm 6), dd * double 2u^2 (Alg. 9), dd * dd 5u^2
// (Alg. 12), dd / double 3u^2 (Alg. 15), dd / dd 15u^2 (Alg. 18), as long as
// nothing underflows.
struct dd {
    double hi = 0;
    double lo = 0;
};

inline dd fast_two_sum(double a, double b) noexcept {
    const double s = a + b;
    return {s, b - (s - a)};
}
inline dd two_sum(double a, double b) noexcept { return {a + b, sum_error(a, b, a + b)}; }
inline dd two_prod(double a, double b) noexcept {
    const double p = a * b;
    return {p, std::fma(a, b, -p)};
}
inline dd dd_add(dd x, dd y) noexcept {
    dd s = two_sum(x.hi, y.hi);
    const dd t = two_sum(x.lo, y.lo);
    s = fast_two_sum(s.hi, s.lo + t.hi);
    return fast_two_sum(s.hi, s.lo + t.lo);
}
inline dd dd_sub(dd x, dd y) noexcept { return dd_add(x, {-y.hi, -y.lo}); }
inline dd dd_mul(dd x, double y) noexcept {
    const dd c = two_prod(x.hi, y);
    const dd t = fast_two_sum(c.hi, x.lo * y);
    return fast_two_sum(t.hi, t.lo + c.lo);
}
inline dd dd_mul(dd x, dd y) noexcept {
    const dd c = two_prod(x.hi, y.hi);
    const double cross = std::fma(x.lo, y.hi, std::fma(x.hi, y.lo, x.lo * y.lo));
    return fast_two_sum(c.hi, c.lo + cross);
}
inline dd dd_div(dd x, double y) noexcept {
    const double th = x.hi / y;
    const dd p = two_prod(th, y);
    const double d = ((x.hi - p.hi) - p.lo) + x.lo;
    return fast_two_sum(th, d / y);
}
inline dd dd_div(dd x, dd y) noexcept {
    const double th = x.hi / y.hi;
    const dd r = dd_mul(y, th);
    const double d = (x.hi - r.hi) + (x.lo - r.lo);
    return fast_two_sum(th, d / y.hi);
}
inline dd dd_ldexp(dd x, long long e) noexcept {
    const int ei = static_cast<int>(std::clamp(e, -4000LL, 4000LL));
    return {std::ldexp(x.hi, ei), std::ldexp(x.lo, ei)};
}

/// e^x as m 2^e, m a double-double in [0.7, 1.42], for |x| <= 2^21, within a
/// relative 2^-92 (plus 3u^2 |x| from rounding x itself): s = x - n ln 2 is
/// formed from a three-double ln 2 (error below 2^21 2^-160 + 6u^2 |s|),
/// e^(s/16) by 15 Taylor terms (truncation below 2^-110, rounding below
/// 150u^2), then squared four times (error times 16, plus 20u^2).
struct scaled_dd {
    dd m;
    long long e = 0;
};
inline scaled_dd dd_exp(dd x) noexcept {
    constexpr double ln2_hi = 0x1.62e42fefa39efp-1;
    constexpr double ln2_mid = 0x1.abc9e3b39803fp-56;
    constexpr double ln2_lo = 0x1.7b57a079a1934p-111;
    const double n = std::nearbyint(x.hi / ln2_hi);
    dd s = dd_sub(x, two_prod(n, ln2_hi));
    s = dd_sub(s, two_prod(n, ln2_mid));
    s = dd_add(s, {-n * ln2_lo, 0});
    s = {s.hi / 16, s.lo / 16};
    dd p{1, 0};
    for (int i = 15; i >= 1; --i) p = dd_add({1, 0}, dd_div(dd_mul(p, s), static_cast<double>(i)));
    for (int i = 0; i < 4; ++i) p = dd_mul(p, p);
    return {p, static_cast<long long>(n)};
}

/// Whether m 2^e <= bound (m >= 0 and bound > 0 doubles, e any exponent).
inline bool scaled_le(double m, long long e, double bound) noexcept {
    if (m == 0) return true;
    int em = 0;
    int eb = 0;
    const double fm = std::frexp(m, &em);
    const double fb = std::frexp(bound, &eb);
    const long long total = em + e;
    return total != eb ? total < eb : fm <= fb;
}

/// The part of the KOV15 Thm 3.3 privacy profile that matters: for X ~
/// Binomial(k, p), p = 1 / (1 + e^eps0), the terms T_l = P(X = l) within a
/// window [lo, hi] around the mode, scaled so that the mode's term is 2^960,
/// with upper bounds on the (scaled) mass outside the window. The window ends
/// where the rest is at most max(2^-1200, floor) of the mode's term.
///
/// Error bound: each window quantity computed from it (terms, partial sums,
/// the total, the sums C_j) is within a relative eta = (N + 16) 2^-87 of its
/// exact value, N the window's length: every term is at most 2N recurrence
/// steps T_(l+1) = T_l (k - l) / (l + 1) e^-eps0 from the mode (each step
/// within 10u^2 + 2^-92 <= 2^-89.9), and sums of positive terms add 3u^2 per
/// term (C_j adds 2^-89.9 per decay by e^-2 eps0). The tails are geometric
/// bounds (the term ratio is monotone in l) rounded up.
class kov_window {
public:
    static constexpr long long max_k = 1LL << 40;
    static constexpr double top = 0x1p960;

    kov_window(double eps0, long long k, double mass_floor) : eps0_(eps0), k_(k) {
        const double threshold = std::max(0x1p-240, std::ldexp(mass_floor, 960));
        // e^-eps0 exactly when |eps0| <= 2^20; otherwise 2^-1500000 bounds it above
        // (the window is then the single term l = 0 and only this bound is used).
        if (eps0 <= 0x1p20) {
            down_ = dd_exp({-eps0, 0});
            decay_ = dd_exp({-2 * eps0, 0});
        } else {
            down_ = {{1, 0}, -1500000};
            decay_ = {{0, 0}, 0};
        }
        const double p = 1 / (1 + std::exp(eps0));
        const double mode = std::floor((static_cast<double>(k) + 1) * p);
        const long long m = std::clamp(static_cast<long long>(mode), 0LL, k);
        dd t{top, 0};
        total_ = t;
        long long l = m;
        while (l < k) {
            const double ratio = div_up(static_cast<double>(k - l), static_cast<double>(l + 1));
            const double tail = tail_bound(t, ratio, down_);
            if (tail <= threshold) {
                tail_hi_ = tail;
                break;
            }
            t = step_up(t, l);
            total_ = dd_add(total_, t);
            ++l;
        }
        hi_ = l;
        t = {top, 0};
        l = m;
        if (m > 0) {
            const scaled_dd up = dd_exp({eps0, 0});  // eps0 < ln(k + 1) here
            while (l > 0) {
                const double ratio = div_up(static_cast<double>(l), static_cast<double>(k - l + 1));
                const double tail = tail_bound(t, ratio, up);
                if (tail <= threshold) {
                    tail_lo_ = tail;
                    break;
                }
                t = dd_ldexp(dd_mul(dd_div(dd_mul(t, static_cast<double>(l)), static_cast<double>(k - l + 1)), up.m), up.e);
                total_ = dd_add(total_, t);
                --l;
            }
        }
        lo_ = l;
        first_ = t;
        eta_ = std::ldexp(static_cast<double>(hi_ - lo_ + 17), -87);
    }

    long long lo() const noexcept { return lo_; }
    long long hi() const noexcept { return hi_; }
    long long k() const noexcept { return k_; }
    double eps0() const noexcept { return eps0_; }
    double eta() const noexcept { return eta_; }
    dd first() const noexcept { return first_; }
    dd total() const noexcept { return total_; }
    double tail_lo() const noexcept { return tail_lo_; }
    double tail_hi() const noexcept { return tail_hi_; }

    /// T_(l+1) from T_l.
    dd step_up(dd t, long long l) const noexcept {
        return dd_ldexp(dd_mul(dd_div(dd_mul(t, static_cast<double>(k_ - l)), static_cast<double>(l + 1)), down_.m), down_.e);
    }
    /// c e^-2 eps0 (0 when that underflows: a lower bound).
    dd decay(dd c) const noexcept {
        if (decay_.m.hi == 0 || decay_.e < -1000) return {0, 0};
        const dd out = dd_ldexp(dd_mul(c, decay_.m), decay_.e);
        return std::fabs(out.hi) < 0x1p-900 ? dd{0, 0} : out;
    }
    /// L_j = eps0 (k - 2j), rounded up.
    double loss_up(long long j) const noexcept { return mul_up(eps0_, static_cast<double>(k_ - 2 * j)); }
    double loss_down(long long j) const noexcept { return mul_down(eps0_, static_cast<double>(k_ - 2 * j)); }

private:
    /// An upper bound on t (ratio r) / (1 - ratio r), the mass of a tail whose
    /// term ratio is at most ratio r; infinity when ratio r may be >= 1.
    static double tail_bound(dd t, double ratio, const scaled_dd& r) noexcept {
        const double r_up = next_up(r.m.hi);
        const double rho_m = mul_up(ratio, r_up);
        if (!scaled_le(rho_m, r.e, 0.5)) {
            const double rho = next_up(std::ldexp(rho_m, static_cast<int>(std::clamp(r.e, -4000LL, 4000LL))));
            if (!(rho < 1)) return infinity;
            const double head = mul_up(next_up(t.hi), rho);
            return div_up(head, sub_down(1, rho));
        }
        // rho <= 1/2: the tail is at most 2 t rho.
        const double head = mul_up(mul_up(next_up(t.hi), rho_m), 2);
        if (r.e < -4000) return 0x1p-1074;
        return next_up(std::ldexp(head, static_cast<int>(r.e)));
    }

    double eps0_;
    long long k_;
    scaled_dd down_;
    scaled_dd decay_;
    long long lo_ = 0;
    long long hi_ = 0;
    dd first_;
    dd total_;
    double tail_lo_ = 0;
    double tail_hi_ = 0;
    double eta_ = 0;
};

/// ln(x) of a positive double-double, rounded up (error of log/log1p within 2 ulps).
inline double dd_log_up(dd x) noexcept {
    double v = 0;
    if (x.hi >= 0.5 && x.hi <= 2) {
        v = std::log1p((x.hi - 1) + x.lo);
    } else {
        v = std::log(x.hi) + x.lo / x.hi;
    }
    return add_up(v, std::fabs(v) * 0x1p-50 + 0x1p-100);
}

inline void check_kov(const char* who, double eps0, long long k) {
    if (!std::isfinite(eps0) || !(eps0 > 0)) throw_invalid(who, "epsilon must be finite and > 0", eps0);
    if (k < 1) throw_invalid(who, "k must be >= 1", k);
}

}  // namespace detail

/// delta(eps) of k-fold composition of eps0-DP mechanisms (KOV15 Thm 3.3, the
/// privacy profile of k-fold binary randomized response), rounded up:
/// (1 + e^eps0)^-k sum_l C(k,l) max(0, e^{eps0 (k-l)} - e^eps e^{eps0 l}); k <= 2^40.
/// The result exceeds the exact value by at most 4 eta + 2^-1190 relative to the
/// window mass in play (eta as in detail::kov_window, below 2^-60 for k <= 2^40).
inline double kov_optimal_delta(double eps0, long long k, double eps) {
    constexpr const char* who = "dpkit::kov_optimal_delta";
    detail::check_kov(who, eps0, k);
    if (k > detail::kov_window::max_k) detail::throw_invalid(who, "k must be <= 2^40", k);
    if (!(eps >= 0)) detail::throw_invalid(who, "eps must be >= 0", eps);
    using namespace detail;
    if (eps >= mul_up(eps0, static_cast<double>(k))) return 0;
    const kov_window w(eps0, k, 0);
    const double eta2 = 2 * w.eta();
    const double s_down = mul_down(next_down(w.total().hi), 1 - eta2);
    // delta(eps) <= tails + max_j sum_(lo <= l <= j) T_l (1 - e^(eps - L_l)), the
    // maximum taken at the piece L_(j+1) <= eps <= L_j: evaluate every piece that
    // may contain eps (the rounded ends overlap) and keep the largest.
    double best = 0;
    dd a{0, 0};
    dd c{0, 0};
    dd t = w.first();
    for (long long j = w.lo(); j <= w.hi(); ++j) {
        if (j > w.lo()) t = w.step_up(t, j - 1);
        a = dd_add(a, t);
        c = dd_add(w.decay(c), t);
        const double l_up = w.loss_up(j);
        if (eps > l_up) break;
        if (j < w.hi() && eps < w.loss_down(j + 1)) continue;
        // A_j up, C_j and e^(eps - L_j) down (the exponent's error is below 2^-100 |eps - L_j|).
        const dd a_up = dd_add(a, {mul_up(std::fabs(a.hi), eta2), 0});
        const dd c_down = dd_add(c, {-c.hi * eta2, 0});
        const dd x = dd_sub({eps, 0}, two_prod(eps0, static_cast<double>(k - 2 * j)));
        double value = a_up.hi;
        if (x.hi > -0x1p20) {
            const scaled_dd f = dd_exp(x);
            dd product = dd_ldexp(dd_mul(c_down, f.m), f.e);
            if (std::fabs(product.hi) < 0x1p-900) product = {0, 0};
            product = dd_add(product, {-product.hi * (0x1p-88 + std::fabs(x.hi) * 0x1p-99), 0});
            const dd diff = dd_sub(a_up, product);
            value = add_up(diff.hi, std::fabs(diff.hi) * 0x1p-100 + std::fabs(a_up.hi) * 0x1p-104);
        } else {
            value = next_up(a_up.hi);
        }
        best = std::max(best, value);
    }
    const double out = div_up(add_up(best, add_up(w.tail_lo(), w.tail_hi())), s_down);
    return std::min(out, 1.0);
}

/// The smallest eps with delta(eps) <= delta for k-fold composition of eps0-DP
/// mechanisms: the exact optimum (KOV15 Thm 3.3), rounded up. On the piece
/// L_(j+1) <= eps <= L_j (L_j = eps0 (k - 2j)) the profile is A_j - e^(eps - L_j) C_j,
/// so one walk over the pieces solves it. For k > 2^40, KOV15 Thm 3.4's bound.
///
/// Rounding: A_j and the tails are taken eta (detail::kov_window) above their
/// computed values, C_j and the total eta below, and the logarithm 2^-50
/// relative + 2^-100 above, so delta at the returned eps is at most `delta`: the
/// result is an upper bound of the optimum, above it by a few ulps of the
/// largest of eps, |ln(A_j - delta) - ln C_j| and 2 eps0 (O(window) time, no bisection).
inline double kov_optimal_epsilon(double eps0, long long k, double delta) {
    detail::check_composition("dpkit::kov_optimal_epsilon", eps0, k, delta);
    using namespace detail;
    if (k > kov_window::max_k) return kov_composition_epsilon(eps0, k, delta);
    // Terms below delta 2^-64 of the largest one only enter the tail bounds.
    const kov_window w(eps0, k, std::ldexp(delta, -64));
    const double eta2 = 2 * w.eta();
    // Pessimism: A_j and the tails up, C_j and the total (hence delta * total) down.
    dd scaled_delta = dd_mul(w.total(), delta);
    scaled_delta = dd_add(scaled_delta, {-scaled_delta.hi * eta2, 0});
    dd a{0, 0};
    dd c{0, 0};
    dd t = w.first();
    for (long long j = w.lo(); j <= w.hi(); ++j) {
        if (j > w.lo()) t = w.step_up(t, j - 1);
        a = dd_add(a, t);
        c = dd_add(w.decay(c), t);
        const bool last = j == w.hi();  // on the last piece the bound holds for every eps <= L_j
        const double extra = add_up(mul_up(std::fabs(a.hi), eta2), add_up(w.tail_lo(), last ? w.tail_hi() : 0.0));
        const dd excess = dd_sub(dd_add(a, {extra, 0}), scaled_delta);  // >= A_j - delta (scaled)
        const dd c_down = dd_add(c, {-c.hi * eta2, 0});
        if (!last) {
            // delta(L_(j+1)) <= delta: the answer is at most L_(j+1); go on.
            const dd rhs = w.decay(c_down);
            const dd diff = dd_sub(excess, rhs);
            if (diff.hi <= -(std::fabs(excess.hi) + std::fabs(rhs.hi)) * 0x1p-99) {
                if (k - 2 * (j + 1) <= 0) return 0;
                continue;
            }
        }
        // The answer lies on this piece: L_j + ln(excess / C_j), kept within the
        // piece's ends (delta(L_j) <= delta was shown by the previous piece).
        const double l_up = w.loss_up(j);
        double eps = -infinity;
        if (excess.hi > 0) eps = add_up(l_up, dd_log_up(dd_div(excess, c_down)));
        eps = std::min(eps, l_up);
        if (!last) eps = std::max(eps, w.loss_up(j + 1));
        return std::max(eps, 0.0);
    }
    return infinity;  // not reached: the last piece always returns
}

}  // namespace dpkit
