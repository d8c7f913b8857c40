#!/usr/bin/env python3
"""Reference values for tests/accounting/test_pld.cpp (extreme PLD parameters),
computed with mpmath at 60 digits. Writes pld_extremes.csv next to this file.

Rows (column `case`):
  approx_rr   delta(eps) of the k-fold composition of (eps0, delta0)-randomized
              response (Kairouz, Oh, Viswanath 2015): 1 - (1 - delta0)^k +
              (1 - delta0)^k sum_l C(k, l) p^(k-l) q^l (1 - e^(eps - (k - 2l) eps0))_+
              with p = e^eps0 / (1 + e^eps0), q = 1 - p.
  rr_eps      epsilon at `delta` of m-ary eps0-randomized response (m in `k`):
              the truth with probability e^eps0 / (e^eps0 + m - 1).
  gauss_eps   epsilon at `delta` of k Gaussians with noise multiplier eps0
              (one Gaussian with eps0 / sqrt(k); Balle & Wang 2018, Thm 8).
  laplace_eps epsilon at `delta` of the Laplace mechanism with b = 1 / eps0:
              delta(eps) = 1 - e^((eps - eps0) / 2) for 0 <= eps <= eps0.
"""
import csv
import os

import mpmath as mp

mp.mp.dps = 60


def approx_rr_delta(eps0, delta0, k, eps):
    eps0, delta0, eps = mp.mpf(eps0), mp.mpf(delta0), mp.mpf(eps)
    p = mp.e ** eps0 / (1 + mp.e ** eps0)
    q = 1 - p
    total = mp.mpf(0)
    for l in range(k + 1):
        loss = (k - 2 * l) * eps0
        if loss <= eps:
            break
        total += mp.binomial(k, l) * p ** (k - l) * q ** l * (1 - mp.e ** (eps - loss))
    keep = (1 - delta0) ** k
    return 1 - keep + keep * total


def gauss_delta(eps, s):
    eps, s = mp.mpf(eps), mp.mpf(s)
    return mp.ncdf(1 / (2 * s) - eps * s) - mp.e ** eps * mp.ncdf(-1 / (2 * s) - eps * s)


def main():
    rows = []
    for eps0, delta0, k in [(0.5, 1e-6, 1), (0.5, 1e-6, 10), (0.5, 1e-6, 100), (1.0, 1e-3, 5)]:
        for eps in [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]:
            rows.append(["approx_rr", eps0, delta0, k, eps, mp.nstr(approx_rr_delta(eps0, delta0, k, eps), 20)])
    for eps0 in [710.0, 800.0]:
        for m in [2, 3]:
            e = mp.e ** mp.mpf(eps0)
            p_truth = e / (e + m - 1)
            delta = mp.mpf("1e-5")
            rows.append(["rr_eps", eps0, 0, m, mp.nstr(eps0 + mp.log(1 - delta / p_truth), 25), "1e-05"])
    for sigma, k in [(0.8, 50), (3.0, 400), (1.0, 7)]:
        s = mp.mpf(sigma) / mp.sqrt(k)
        eps = mp.findroot(lambda e: gauss_delta(e, s) - mp.mpf("1e-5"), 1 / (2 * s * s))
        rows.append(["gauss_eps", sigma, 0, k, mp.nstr(eps, 20), "1e-05"])
    for inv_b in [1500.0, 2000.0]:
        eps = mp.mpf(inv_b) + 2 * mp.log(1 - mp.mpf("1e-5"))
        rows.append(["laplace_eps", inv_b, 0, 1, mp.nstr(eps, 25), "1e-05"])
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pld_extremes.csv")
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case", "eps0", "delta0", "k", "eps", "delta"])
        w.writerows(rows)


if __name__ == "__main__":
    main()
