import mpmath as mp
mp.mp.dps = 60
def sf(x): return mp.erfc(x/mp.sqrt(2))/2
def delta(eps, s):
    a = 1/(2*s); b = eps*s
    return sf(b-a) - mp.e**eps*sf(b+a)
for e, d in [(700, 2.2715972e-18), (720, 1.7417188e-9)]:
    E = mp.mpf(e); D = mp.mpf(d)
    lo, hi = mp.mpf('0.01'), mp.mpf('0.1')
    for _ in range(250):
        mid = (lo+hi)/2
        if delta(E, mid) > D: lo = mid
        else: hi = mid
    print('exact sigma', e, d, mp.nstr(hi, 30))
exec(open('dg_exact.py').read().split('for line in sys.stdin')[0])
for e, d, D in [(700, 2.2715972e-18, 1048577), (720, 1.7417188e-9, 1048577)]:
    E = mp.mpf(e); dd = mp.mpf(d)
    lo, hi = 1000000000, 2000000000
    while hi - lo > 1:
        mid = (lo+hi)//2
        if dg_delta(E, mp.mpf(mid), D) > dd: lo = mid
        else: hi = mid
    print('smallest integer s2 meeting delta', e, d, hi, 'delta at lo', mp.nstr(dg_delta(E, mp.mpf(lo), D), 15))
def logA_int(q, s, a):
    tot = mp.mpf(0)
    for i in range(a+1):
        tot += mp.binomial(a, i) * (1-q)**(a-i) * q**i * mp.e**(mp.mpf(i*i-i)/(2*s*s))
    return mp.log(tot)
for q, s in [(0.9, 1e4), (0.999, 1e6), (0.05, 200)]:
    for a in [16, 256]:
        print('sg', q, s, a, mp.nstr(logA_int(mp.mpf(q), mp.mpf(s), a)/(a-1), 25))
