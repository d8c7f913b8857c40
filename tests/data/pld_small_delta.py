#!/usr/bin/env python3
"""Reference values for tests/accounting/test_pld.cpp: epsilon at small deltas
and for long compositions, computed with mpmath at 50 digits. Writes
pld_small_delta.csv next to this file.

Rows (column `case`):
  gauss  epsilon at `delta` of k Gaussians with noise multiplier `param`: one
         Gaussian with param / sqrt(k) (Balle & Wang 2018, Thm 8),
         delta(eps) = Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2), mu = sqrt(k)/param.
  rr     epsilon at `delta` of k-fold binary eps0-randomized response (eps0 in
         `param`), by the binomial formula (Kairouz, Oh, Viswanath 2015):
         delta(eps) = sum_l C(k, l) p^(k-l) q^l (1 - e^(eps - (k - 2l) eps0))_+,
         p = e^eps0 / (1 + e^eps0), q = 1 - p.
"""
import csv
import os

import mpmath as mp

mp.mp.dps = 50


def gauss_delta(eps, mu):
    return mp.ncdf(-eps / mu + mu / 2) - mp.e ** eps * mp.ncdf(-eps / mu - mu / 2)


def rr_delta(eps, eps0, k):
    p = mp.e ** eps0 / (1 + mp.e ** eps0)
    q = 1 - p
    # losses (k - 2l) eps0 > eps  <=>  l < (k - eps/eps0) / 2
    lmax = int(mp.ceil((k - eps / eps0) / 2)) - 1
    while lmax >= 0 and (k - 2 * lmax) * eps0 <= eps:
        lmax -= 1
    if lmax < 0:
        return mp.mpf(0)
    log_term = (mp.loggamma(k + 1) - mp.loggamma(lmax + 1) - mp.loggamma(k - lmax + 1)
                + (k - lmax) * mp.log(p) + lmax * mp.log(q))
    term = mp.e ** log_term
    total = mp.mpf(0)
    l = lmax
    while l >= 0:
        total += term * (1 - mp.e ** (eps - (k - 2 * l) * eps0))
        if term < total * mp.mpf(10) ** -45:
            break
        term = term * l / (k - l + 1) * p / q  # T(l-1) from T(l)
        l -= 1
    return total


def solve(delta_of, delta, hi):
    lo = mp.mpf(0)
    hi = mp.mpf(hi)
    for _ in range(200):
        mid = (lo + hi) / 2
        if delta_of(mid) > delta:
            lo = mid
        else:
            hi = mid
        if hi - lo < mp.mpf(10) ** -20 * hi:
            break
    return hi


def main():
    rows = []
    for sigma, k, delta in [(1, 1000, "1e-12"), (1, 1000, "1e-10")]:
        mu = mp.sqrt(k) / sigma
        eps = solve(lambda e: gauss_delta(e, mu), mp.mpf(delta), mu * mu / 2 + 40 * mu)
        rows.append(("gauss", sigma, k, delta, eps))
    for eps0, k, delta in [("0.1", 2, "1e-12"), ("0.1", 1000, "1e-12"), ("0.1", 1000, "1e-10"),
                           ("1", 100000, "1e-5"), ("1", 100000, "1e-10"), ("0.1", 1000000, "1e-5")]:
        e0 = mp.mpf(eps0)
        eps = solve(lambda e: rr_delta(e, e0, k), mp.mpf(delta), k * e0)
        rows.append(("rr", eps0, k, delta, eps))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pld_small_delta.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case", "param", "k", "delta", "eps"])
        for case, param, k, delta, eps in rows:
            w.writerow([case, param, k, delta, mp.nstr(eps, 20)])


if __name__ == "__main__":
    main()
