#!/usr/bin/env python3
"""Writes kov_highprec.csv: the exact optimal epsilon of k-fold composition of
eps0-DP mechanisms (Kairouz, Oh, Viswanath 2015, Theorem 3.3) at delta, for
the double values of eps0 and delta, computed with mpmath at 80 digits and
printed to 50 significant digits.

The privacy profile is that of k-fold binary randomized response:
    delta(eps) = sum_l T_l (1 - e^(eps - L_l))_+,
    T_l = C(k, l) q^(k-l) p^l,  q = e^eps0 / (1 + e^eps0),  p = 1 - q,
    L_l = eps0 (k - 2 l).
On the piece L_(j+1) <= eps <= L_j it is A_j - e^(eps - L_j) C_j with
A_j = sum_(l<=j) T_l and C_j = sum_(l<=j) T_l e^(-2 eps0 (j - l)), so the
answer is L_j + ln((A_j - delta) / C_j) on the first piece j whose lower end
has delta(L_(j+1)) >= delta, or 0 when delta(0) <= delta.

Only the terms within e^-1200 of the largest one are kept: the rest weigh
less than 1e-500 in all and cannot move a 50-digit answer for delta >= 1e-300.

Run: python3 make_kov_highprec.py > kov_highprec.csv   (mpmath 1.3)
"""
import sys

import mpmath
from mpmath import mp, mpf

mp.dps = 80

EPS0 = [1e-6, 1e-3, 0.01, 0.1, 1.0, 5.0, 50.0, 709.0, 710.0, 800.0, 1e4]
KS = [1, 2, 10, 1000, 100000, 1000000]
DELTAS = [1e-300, 1e-12, 1e-6, 0.1, 0.5, 1 - 1e-9]
CUTOFF = mpf(1200)  # keep terms with ln T_l >= ln T_max - CUTOFF


def profile(eps0, k):
    """Window [lo, hi] of l and the terms T_l there (normalised exactly)."""
    e0 = mpf(eps0)
    log_q = -mpmath.log1p(mpmath.exp(-e0))
    log_p = -e0 + log_q
    p = mpmath.exp(log_p)
    m = int(mpmath.floor((k + 1) * p))
    m = min(max(m, 0), k)

    def log_term(l):
        return (mpmath.loggamma(k + 1) - mpmath.loggamma(l + 1) - mpmath.loggamma(k - l + 1)
                + (k - l) * log_q + l * log_p)

    top = log_term(m)
    logs = {m: top}
    cur = top
    l = m
    while l > 0:
        cur = cur + mpmath.log(mpf(l) / (k - l + 1)) + e0  # ln T_(l-1) - ln T_l
        l -= 1
        if cur < top - CUTOFF:
            break
        logs[l] = cur
    cur = top
    l = m
    while l < k:
        cur = cur + mpmath.log(mpf(k - l) / (l + 1)) - e0  # ln T_(l+1) - ln T_l
        l += 1
        if cur < top - CUTOFF:
            break
        logs[l] = cur
    lo, hi = min(logs), max(logs)
    terms = [mpmath.exp(logs[l]) for l in range(lo, hi + 1)]
    return e0, lo, hi, terms


def optimal_epsilon(prof, k, delta):
    e0, lo, hi, terms = prof
    d = mpf(delta)
    decay = mpmath.exp(-2 * e0)
    a = mpf(0)
    c = mpf(0)
    # delta(0)
    d0 = mpf(0)
    for i, t in enumerate(terms):
        loss = e0 * (k - 2 * (lo + i))
        if loss > 0:
            d0 += t * -mpmath.expm1(-loss)
    if d0 <= d:
        return mpf(0)
    for i, t in enumerate(terms):
        j = lo + i
        a += t
        c = c * decay + t
        lj = e0 * (k - 2 * j)
        at_lower_end = a - decay * c  # delta(L_(j+1))
        if at_lower_end >= d or j == hi:
            return lj + mpmath.log((a - d) / c)
    raise AssertionError("unreachable")


def main():
    out = sys.stdout
    out.write("eps0,k,delta,eps_exact\n")
    for eps0 in EPS0:
        for k in KS:
            prof = profile(eps0, k)
            for delta in DELTAS:
                eps = optimal_epsilon(prof, k, delta)
                out.write("%r,%d,%r,%s\n" % (eps0, k, delta, mpmath.nstr(eps, 50, min_fixed=-1, max_fixed=1)))
            out.flush()


if __name__ == "__main__":
    main()
