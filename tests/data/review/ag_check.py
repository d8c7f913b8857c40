import mpmath as mp
mp.mp.dps = 60
def sf(x): return mp.erfc(x/mp.sqrt(2))/2
def delta(eps, s):
    a = 1/(2*s); b = eps*s
    return sf(b-a) - mp.e**eps*sf(b+a)
for line in open('ag_out.txt'):
    e,d,s = map(mp.mpf, line.split())
    de = delta(e, s)
    # find exact sigma by bisection
    lo, hi = s*mp.mpf('0.5'), s*2
    for _ in range(200):
        mid=(lo+hi)/2
        if delta(e,mid) > d: lo=mid
        else: hi=mid
    rel = (s-hi)/hi
    print(float(e), mp.nstr(d,8), 'sigma_cpp/exact-1 = %s'%mp.nstr(rel,5), 'BAD' if de > d else '')
