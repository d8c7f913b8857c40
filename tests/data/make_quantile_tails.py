#!/usr/bin/env python3
"""Exact tail widths of sums of discrete Laplace / discrete Gaussian noise, for
tests/aggregates/test_quantiles.cpp (the rank-interval Chernoff bounds).

For each (kind, parameter, n terms, alpha) the CSV gives k*, the smallest
integer k with P[|Z_1 + ... + Z_n| > k] <= alpha, computed with mpmath at 40
digits: discrete Laplace (P[z] ~ exp(-|z| / b)) as a difference of two negative
binomials (a sum of n geometric differences); discrete Gaussian
(P[z] ~ exp(-z^2 / (2 sigma^2))) by exact convolution of its truncated pmf
(the truncated mass, below 1e-45, is added to the tail). A correct bound
reports a width >= k*.

Run: python3 make_quantile_tails.py > quantile_tails.csv
"""
import mpmath as mp

mp.mp.dps = 40
EPS_TRUNC = mp.mpf(10) ** -45


def laplace_tail(b, n):
    """Returns f(w) = P[S >= w] for the sum S of n discrete Laplace(b)."""
    p = mp.exp(-1 / mp.mpf(b))
    # NB(n, p): P(k) = C(k + n - 1, k) (1 - p)^n p^k, the sum of n geometrics.
    pmf = [(1 - p) ** n]
    k = 0
    total = pmf[0]
    while True:
        nxt = pmf[-1] * p * (k + n) / (k + 1)
        k += 1
        pmf.append(nxt)
        total += nxt
        if nxt < EPS_TRUNC and k > n * p / (1 - p):
            break
    rest = 1 - total  # mass beyond the table (tiny), counted as far in the tail
    sf = [mp.mpf(0)] * (len(pmf) + 1)
    for i in range(len(pmf) - 1, -1, -1):
        sf[i] = sf[i + 1] + pmf[i]

    def tail(w):
        s = mp.mpf(0)
        for j, pj in enumerate(pmf):
            m = w + j
            s += pj * ((sf[m] if m < len(sf) else 0) + rest)
        return s + rest

    return tail


def gaussian_tail(s2, n):
    s2 = mp.mpf(s2)
    K = int(mp.ceil(mp.sqrt(2 * s2 * 110))) + 2
    w = [mp.exp(-mp.mpf(z) ** 2 / (2 * s2)) for z in range(-K, K + 1)]
    z = sum(w)
    single = [x / z for x in w]
    lost = 1 - sum(single)
    dist = [mp.mpf(1)]
    for _ in range(n):
        out = [mp.mpf(0)] * (len(dist) + len(single) - 1)
        for i, a in enumerate(dist):
            if a < EPS_TRUNC * EPS_TRUNC:
                continue
            for j, c in enumerate(single):
                out[i + j] += a * c
        dist = out
    offset = n * K  # index of sum 0
    sf = [mp.mpf(0)] * (len(dist) + 1)
    for i in range(len(dist) - 1, -1, -1):
        sf[i] = sf[i + 1] + dist[i]
    slack = n * EPS_TRUNC

    def tail(wv):
        idx = offset + wv
        return (sf[idx] if idx < len(sf) else 0) + slack

    return tail


def minimal_width(tail, alpha):
    """Smallest integer k >= 0 with 2 P[S >= k + 1] <= alpha (symmetric S)."""
    lo, hi = -1, 1
    while 2 * tail(hi + 1) > alpha:
        hi *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if 2 * tail(mid + 1) <= alpha:
            hi = mid
        else:
            lo = mid
    return hi


def main():
    print("kind,parameter,terms,alpha,min_width")
    for b in ["0.5", "2", "8"]:
        for n in [1, 3, 12, 45]:
            t = laplace_tail(mp.mpf(b), n)
            for alpha in ["1e-2", "1e-6", "1e-12"]:
                print(f"laplace,{b},{n},{alpha},{minimal_width(t, mp.mpf(alpha))}")
    for s2 in ["0.5", "4", "30"]:
        for n in [1, 3, 12]:
            t = gaussian_tail(s2, n)
            for alpha in ["1e-2", "1e-6", "1e-12"]:
                print(f"gaussian,{s2},{n},{alpha},{minimal_width(t, mp.mpf(alpha))}")


if __name__ == "__main__":
    main()
