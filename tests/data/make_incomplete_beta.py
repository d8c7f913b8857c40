#!/usr/bin/env python3
"""Reference values of the regularized incomplete beta function I_x(a, b),
its complement and their inverses, for tests/audit/test_clopper_pearson.cpp.

Run offline (python3 with mpmath 1.3):
    python3 make_incomplete_beta.py > incomplete_beta.csv
The (a, b) pairs are the ones Clopper-Pearson bounds use, (k, n - k + 1) and
(k + 1, n - k) for counts k out of n up to 1e7, plus a few non-integer ones.
For integer a, b, I_x(a, b) = P[Binomial(a + b - 1, x) >= a], summed at 60
digits from the tail that starts decaying at once; otherwise mpmath.betainc.

Columns: a, b, x (a double), I = I_x(a, b), p (I rounded to a double),
inv = the exact x' with I_x'(a, b) = p, Q = 1 - I, q (Q rounded to a double),
invc = the exact x'' with 1 - I_x''(a, b) = q. The inverses come from one
Newton step from x (p - I is a rounding error, so the step is exact to far more
than 20 digits)."""
import mpmath as mp

mp.mp.dps = 60


def ibeta(a, b, x):
    if a != int(a) or b != int(b):
        return mp.betainc(a, b, 0, x, regularized=True)
    a, b = int(a), int(b)
    n = a + b - 1
    mode = int(mp.floor((n + 1) * x))
    log_term = lambda j: (mp.loggamma(n + 1) - mp.loggamma(j + 1) - mp.loggamma(n - j + 1)
                          + j * mp.log(x) + (n - j) * mp.log1p(-x))
    ratio_up = x / (1 - x)
    if a > mode:  # P[X >= a]: terms decay upward from a
        j, t, total = a, mp.exp(log_term(a)), mp.mpf(0)
        while j <= n:
            total += t
            if t < total * mp.mpf("1e-50"):
                break
            t *= mp.mpf(n - j) / (j + 1) * ratio_up
            j += 1
        return total
    j, t, total = a - 1, mp.exp(log_term(a - 1)), mp.mpf(0)  # P[X <= a - 1]: decaying downward
    while j >= 0:
        total += t
        if t < total * mp.mpf("1e-50"):
            break
        t *= mp.mpf(j) / (n - j + 1) / ratio_up
        j -= 1
    return 1 - total


def density(a, b, x):
    return mp.exp((a - 1) * mp.log(x) + (b - 1) * mp.log1p(-x) - mp.log(mp.beta(a, b)))


cases = []
for n in [10, 1000, 100000, 10000000]:
    for k in sorted({1, 2, 5, n // 100, n // 10, n // 2, n - 5, n - 1}):
        if 1 <= k < n:
            cases.append((k, n - k + 1))
            cases.append((k + 1, n - k))
cases += [(0.5, 0.5), (2.5, 7.25), (30.5, 3), (1, 1), (1000, 1000)]

print("a,b,x,I,p,inv,Q,q,invc")
for a, b in cases:
    a, b = mp.mpf(a), mp.mpf(b)
    mean = a / (a + b)
    sd = mp.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    xs = set()
    for z in [-4, -1, 0, 1, 4]:
        x = mean + z * sd
        if 0 < x < 1:
            xs.add(float(x))
    for x in sorted(xs):
        x = mp.mpf(x)
        value = ibeta(a, b, x)
        comp = 1 - value
        if value < mp.mpf("1e-300") or comp < mp.mpf("1e-300"):
            continue
        f = density(a, b, x)
        p = mp.mpf(float(value))
        q = mp.mpf(float(comp))
        inv = x + (p - value) / f
        invc = x - (q - comp) / f
        s = lambda v: mp.nstr(v, 20)
        print(f"{float(a)!r},{float(b)!r},{float(x)!r},{s(value)},{float(p)!r},{s(inv)},{s(comp)},{float(q)!r},{s(invc)}")
