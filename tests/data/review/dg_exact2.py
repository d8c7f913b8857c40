import mpmath as mp, sys
mp.mp.dps = 80
def S_direct(m, s2):
    sig = mp.sqrt(s2); tot = mp.mpf(0); k = int(m)
    while True:
        t = mp.e**(-mp.mpf(k)**2/(2*s2)); tot += t
        if t < tot*mp.mpf(10)**(-70): return tot
        k += 1
def S(m, s2):
    if s2 < 10**7: return S_direct(m, s2)
    # sum_{k>=m} exp(-k^2/(2 s2)) by Euler-Maclaurin (m integer > 0)
    c = mp.sqrt(2*s2)
    f = lambda x: mp.e**(-x*x/(2*s2))
    integral = mp.sqrt(mp.pi*s2/2)*mp.erfc(m/c)
    out = integral + f(m)/2
    for k in range(1, 8):
        n = 2*k-1
        deriv = (-1/c)**n * mp.hermite(n, m/c) * f(m)
        out -= mp.bernoulli(2*k)/mp.factorial(2*k) * deriv
    return out
def tail(m, s2):  # P[Y >= m]
    Z = mp.sqrt(2*mp.pi*s2)*mp.jtheta(3, 0, mp.e**(-2*mp.pi**2*s2))  # theta correction e^{-2 pi^2 s2} negligible here
    if m <= 0: return 1 - tail(1-m, s2)
    return S(m, s2)/Z
def dg_delta(eps, s2, D):
    m1 = mp.floor(eps*s2/D - mp.mpf(D)/2) + 1
    return tail(m1, s2) - mp.e**eps*tail(m1+D, s2)
for line in sys.stdin:
    e, d, s2, D = [mp.mpf(x) for x in line.split()[:4]]
    dd = dg_delta(e, s2, D)
    print(mp.nstr(e,6), mp.nstr(d,10), 'exact delta =', mp.nstr(dd,12), 'ratio', mp.nstr(dd/d, 10))
