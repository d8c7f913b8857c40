import mpmath as mp, sys
mp.mp.dps = 50
def logA_int(q, s, a):
    a = int(a)
    tot = mp.mpf(0)
    for i in range(a+1):
        tot += mp.binomial(a, i) * (1-q)**(a-i) * q**i * mp.e**(mp.mpf(i*i-i)/(2*s*s))
    return mp.log(tot)
worst = {}
for line in sys.stdin:
    q, s, a, e = [mp.mpf(x) for x in line.split()]
    if a != mp.floor(a): continue
    ex = logA_int(q, s, a)/(a-1)
    r = (e - ex)/ex if ex > 0 else e
    key=(float(q), float(s))
    if key not in worst or r < worst[key][0]: worst[key] = (r, float(a), ex, e)
    if e < ex: print('BELOW', float(q), float(s), float(a), mp.nstr(ex,20), mp.nstr(e,20), mp.nstr(r,5))
for k,v in worst.items(): print(k, 'min rel margin', mp.nstr(v[0],5), 'at alpha', v[1], mp.nstr(v[2],8))
