"""Reference values for tests/accounting: the exact CKS20 (Cor. 13) conversion
of rho-zCDP to (epsilon, delta)-DP, at 60 significant digits with mpmath:
    eps(rho, delta) = max(0, inf_{alpha > 1} alpha rho
                      + (ln(1/delta) + (alpha-1) ln(1-1/alpha) - ln alpha) / (alpha-1)).
Each value is written as the largest double <= the exact value, so a test can
require dpkit >= the table without a tolerance in the wrong direction.
Run: python3 make_zcdp_highprec.py > zcdp_highprec.csv
"""
import math
import mpmath as mp

mp.mp.dps = 60


def cks20(rho, delta, u):
    am1 = mp.e ** u
    a = 1 + am1
    return a * rho + (mp.log(1 / delta) - am1 * mp.log1p(1 / am1) - mp.log1p(am1)) / am1


def exact(rho, delta):
    rho, delta = mp.mpf(rho), mp.mpf(delta)
    lo, hi = mp.mpf(-120), mp.mpf(1500)
    phi = (mp.sqrt(5) - 1) / 2
    c, d = hi - phi * (hi - lo), lo + phi * (hi - lo)
    fc, fd = cks20(rho, delta, c), cks20(rho, delta, d)
    for _ in range(600):
        if fc < fd:
            hi, d, fd = d, c, fc
            c = hi - phi * (hi - lo)
            fc = cks20(rho, delta, c)
        else:
            lo, c, fc = c, d, fd
            d = lo + phi * (hi - lo)
            fd = cks20(rho, delta, d)
    return max(mp.mpf(0), min(fc, fd))


def double_below(x):
    f = float(x)
    if mp.mpf(f) > x:
        f = math.nextafter(f, -math.inf)
    return f


rhos = [1e-300, 5e-25, 1e-12, 1e-6, 0.01, 0.5, 1.0, 10.0, 1e3, 1e6, 1e12]
deltas = [1e-300, 1e-100, 1e-10, 1e-5, 0.1, 0.5, 0.9, 1 - 1e-9, 1 - 1e-16]
print("rho,delta,eps_exact")
for r in rhos:
    for dl in deltas:
        print(f"{r!r},{dl!r},{double_below(exact(r, dl))!r}")
