# Exact 64-bit prefixes floor(2^64 / (alpha + e^x)) and the conditional
# probability frac(2^64 / (alpha + e^x)) for tests/random/test_samplers.cpp
# (dpkit's table-driven samplers), at 60 significant digits with mpmath.
from mpmath import mp, mpf, exp, floor
mp.dps = 60
cases = [(1, mpf(1)), (0, mpf(1)), (1, mpf(2**20) / (2**20 + 1)), (0, mpf(8)), (1, mpf(1) / 3), (0, mpf(37) / 10)]
print("alpha,x,prefix,fraction")
for alpha, x in cases:
    v = mpf(2) ** 64 / (alpha + exp(x))
    print(f"{alpha},{mp.nstr(x, 30)},{int(floor(v))},{mp.nstr(v - floor(v), 20)}")
