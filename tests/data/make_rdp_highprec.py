#!/usr/bin/env python3
"""Exact Renyi-DP curves at 50 significant digits (mpmath), for tests/accounting/test_rdp.cpp.

Writes rdp_highprec.csv next to this script:  python3 make_rdp_highprec.py

Columns: curve, p1, p2, p3, order, exact.  Every parameter is a double printed
with Python's shortest round-trip repr; mpmath reads the exact binary value.
exact is the divergence of order `order` at those exact parameters, printed with
25 significant digits (rounded to nearest).  Each value is computed twice, at 50
and at 80 digits, and the two must agree to 1e-30 relative.

curve           p1          p2        p3   definition
gaussian        z           -         -    alpha / (2 z^2)
laplace         b           -         -    Laplace(b), shift 1 (Mironov 2017, Prop 6)
dlaplace        t           D         -    P(k) ~ exp(-|k|/t), integer shift D
rr              p_truth     p_other   m    m-ary randomized response, replace-one; the
                                           probabilities normalised (only their ratio counts)
rr_eps          epsilon     -         m    the same with p_truth / p_other = e^epsilon
psg             q           sigma     -    Poisson-subsampled Gaussian, add/remove (MTZ19)
zcdp            rho         -         -    rho alpha
pure            epsilon     -         -    min(epsilon, alpha epsilon^2 / 2)

Conversions of the one-order curve {order: r} at delta (exact may be 0):
to_dp           r           delta     -    max(0, r + log((alpha-1)/alpha) - (log delta + log alpha)/(alpha-1))
to_dp_classic   r           delta     -    r + log(1/delta)/(alpha-1)
"""

import csv
import math
import os

import mpmath as mp

ORDERS = [1.01, 1.1, 1.5, 2.0, 3.5, 10.0, 32.0, 64.0, 256.0, 1024.0]


def gaussian(a, z):
    return a / (2 * z * z)


def laplace(a, b):
    lam = 1 / b
    s = a / (2 * a - 1) * mp.exp((a - 1) * lam) + (a - 1) / (2 * a - 1) * mp.exp(-a * lam)
    return mp.log(s) / (a - 1)


def dlaplace(a, t, d):
    # sum_k P(k)^a Q(k)^(1-a), P = c p^|k|, Q = c p^|k-D|, by the three geometric pieces.
    p = mp.exp(-1 / t)
    c = (1 - p) / (1 + p)
    r = p ** (2 * a - 1)
    s = p ** ((1 - a) * d) / (1 - p) + p ** (a * d) / (1 - p)
    if d > 1:
        s += p ** ((1 - a) * d) * r * (1 - r ** (d - 1)) / (1 - r)
    return mp.log(c * s) / (a - 1)


def rr_ratio(a, r, m):
    # p_other = 1 / (r + m - 1), p_truth = r p_other.
    s = (r ** a + r ** (1 - a) + (m - 2)) / (r + m - 1)
    return mp.log(s) / (a - 1)


def psg(a, q, sigma):
    if a == mp.floor(a):
        n = int(a)
        tot = mp.mpf(0)
        for i in range(n + 1):
            tot += mp.binomial(n, i) * q ** i * (1 - q) ** (n - i) * mp.exp((i * i - i) / (2 * sigma ** 2))
        return mp.log(tot) / (a - 1)
    # A_alpha = E_{z ~ N(0, sigma^2)} [((1 - q) + q exp((2z - 1) / (2 sigma^2)))^alpha]
    def f(z):
        return mp.npdf(z, 0, sigma) * ((1 - q) + q * mp.exp((2 * z - 1) / (2 * sigma ** 2))) ** a
    # The integrand's mass sits near 0 and (for large alpha) near alpha/2 + sigma^2 log-ish terms:
    # split generously and integrate piecewise.
    pts = [-mp.inf] + [mp.mpf(k) * sigma for k in range(-40, 41, 2)] + [mp.mpf(a) + 40 * sigma, mp.inf]
    pts = sorted(set(pts), key=lambda v: v)
    tot = mp.quad(f, pts, maxdegree=10)
    return mp.log(tot) / (a - 1)


def zcdp(a, rho):
    return rho * a


def pure(a, eps):
    return min(eps, a * eps * eps / 2)


def value(curve, params, a):
    a = mp.mpf(a)
    p = [None if x == "" else mp.mpf(x) for x in params]
    if curve == "gaussian":
        return gaussian(a, p[0])
    if curve == "laplace":
        return laplace(a, p[0])
    if curve == "dlaplace":
        return dlaplace(a, p[0], p[1])
    if curve == "rr":
        return rr_ratio(a, p[0] / p[1], p[2])
    if curve == "rr_eps":
        return rr_ratio(a, mp.exp(p[0]), p[2])
    if curve == "psg":
        return psg(a, p[0], p[1])
    if curve == "zcdp":
        return zcdp(a, p[0])
    if curve == "pure":
        return pure(a, p[0])
    if curve == "to_dp":
        return max(mp.mpf(0), p[0] + mp.log((a - 1) / a) - (mp.log(p[1]) + mp.log(a)) / (a - 1))
    if curve == "to_dp_classic":
        return p[0] - mp.log(p[1]) / (a - 1)
    raise ValueError(curve)


def rr_probabilities(eps, m):
    """The doubles a caller would pass for epsilon-RR over m values."""
    e = mp.exp(eps)
    return float(e / (e + m - 1)), float(1 / (e + m - 1))


def rows():
    for z in [1e4, 10.0, 1.0, 0.01, 1e-150]:
        yield "gaussian", [z, "", ""]
    for b in [1e8, 1e5, 1e3, 1.0, 0.1, 1e-3, 1e-300]:
        yield "laplace", [b, "", ""]
    for t, d in [(1e8, 1.0), (1e6, 1.0), (1e3, 1.0), (1.0, 1.0), (0.01, 1.0), (1e-300, 1.0),
                 (5.5, 3.0), (0.7, 3.0), (1e3, 7.0),
                 (2.0 * 2**20, 2.0**20), (1e6 * 2**20, 2.0**20), (1e8 * 2**20, 2.0**20),
                 (1e3 * 2**20, 2.0**20), (2.0**20 / 50, 2.0**20), (3e5, 2.0**10)]:
        yield "dlaplace", [t, d, ""]
    for eps in [1e-8, 1e-5, 1e-3, 0.5, 5.0, 50.0]:
        for m in [2, 3, 10, 1000]:
            pt, po = rr_probabilities(eps, m)
            yield "rr", [pt, po, float(m)]
    for eps in [1e-6, 1.0, 50.0, 710.0, 1e4]:
        for m in [2, 5]:
            yield "rr_eps", [eps, "", float(m)]
    for q, sigma in [(0.01, 1.1), (1e-3, 0.8), (1e-4, 4.0), (0.5, 2.0)]:
        yield "psg", [q, sigma, ""]
    for rho in [1e-12, 0.5, 1e290]:
        yield "zcdp", [rho, "", ""]
    for eps in [1e-8, 1e-3, 1.0, 50.0, 1e10]:
        yield "pure", [eps, "", ""]


def selfcheck():
    """The closed forms above against the definitions (direct sums and integrals)."""
    mp.mp.dps = 40
    for t, d, a in [(0.7, 3, 1.5), (5.5, 3, 7.0), (2.0, 1, 2.0), (1.3, 4, 1.01)]:
        t, a = mp.mpf(t), mp.mpf(a)
        p = mp.exp(-1 / t)
        c = (1 - p) / (1 + p)
        n = int(200 * t * a) + 50
        direct = mp.fsum(c * p ** (a * abs(k) + (1 - a) * abs(k - d)) for k in range(-n, n + d + 1))
        assert abs(mp.log(direct) / (a - 1) - dlaplace(a, t, d)) < mp.mpf("1e-30"), (t, d, a)
    for b, a in [(1.0, 2.0), (0.3, 3.5), (7.0, 1.1)]:
        b, a = mp.mpf(b), mp.mpf(a)
        dens = lambda z, mu: mp.exp(-abs(z - mu) / b) / (2 * b)
        direct = mp.quad(lambda z: dens(z, 0) ** a * dens(z, 1) ** (1 - a), [-mp.inf, 0, 1, mp.inf])
        assert abs(mp.log(direct) / (a - 1) - laplace(a, b)) < mp.mpf("1e-25"), (b, a)
    for r, m, a in [(3.0, 2, 2.0), (2.5, 5, 3.5), (1.001, 10, 1.1)]:
        r, a = mp.mpf(r), mp.mpf(a)
        po = 1 / (r + m - 1)
        pt = r * po
        # truth x vs truth y: P = (pt at x, po at y, po elsewhere), Q = (po at x, pt at y, po elsewhere)
        direct = pt ** a * po ** (1 - a) + po ** a * pt ** (1 - a) + (m - 2) * po
        assert abs(mp.log(direct) / (a - 1) - rr_ratio(a, r, m)) < mp.mpf("1e-30"), (r, m, a)


CONVERSION_ORDERS = [1.01, 2.0, 64.0, 1024.0]
CONVERSION_DELTAS = [1e-300, 1e-10, 0.5, 1 - 2.0**-53]


def conversion_rows():
    """(curve, params, order) for the conversions, including curves whose converted
    epsilon is a tiny difference of large terms (a few ulps above where it reaches 0)."""
    for a in CONVERSION_ORDERS:
        for delta in CONVERSION_DELTAS:
            for r in [0.0, 1e-12, 0.5, 30.0, 1e6, 1e300]:
                yield "to_dp", [r, delta, ""], a
                yield "to_dp_classic", [r, delta, ""], a
            mp.mp.dps = 50
            am = mp.mpf(a)
            zero_at = float(-mp.log((am - 1) / am) + (mp.log(mp.mpf(delta)) + mp.log(am)) / (am - 1))
            if zero_at > 0:
                r = zero_at
                for _ in range(4):
                    r = math.nextafter(r, math.inf)
                    yield "to_dp", [r, delta, ""], a


def fmt(x):
    return "" if x == "" else repr(x)


def main():
    selfcheck()
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rdp_highprec.csv")
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["curve", "p1", "p2", "p3", "order", "exact"])
        for curve, params in rows():
            for a in ORDERS:
                if curve == "psg" and a != int(a) and a > 10:
                    continue
                mp.mp.dps = 50
                v50 = value(curve, params, a)
                mp.mp.dps = 80
                v80 = value(curve, params, a)
                assert abs(v50 - v80) <= mp.mpf("1e-30") * abs(v80), (curve, params, a, v50, v80)
                if not (mp.mpf("1e-300") < v80 < mp.mpf("1e307")):
                    continue  # outside what a double (and std::stod) holds comfortably
                w.writerow([curve] + [fmt(x) for x in params] + [repr(a), mp.nstr(v80, 25, min_fixed=0, max_fixed=0)])
        for curve, params, a in conversion_rows():
            mp.mp.dps = 80
            v80 = value(curve, params, a)
            text = "0" if v80 == 0 else mp.nstr(v80, 25, min_fixed=0, max_fixed=0)
            assert v80 == 0 or mp.mpf("1e-300") < v80 < mp.mpf("1e307"), (curve, params, a, v80)
            w.writerow([curve] + [fmt(x) for x in params] + [repr(a), text])


if __name__ == "__main__":
    main()
