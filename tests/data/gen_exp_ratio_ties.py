"""Exact 64-bit prefixes floor(2^64 e^(-N/D)) and their fractional parts, for
tests/random/test_samplers.cpp (the tie-breaker exact_less_than_exp_minus and
the fixed-point acceptance test). mpmath at 60 digits."""
from mpmath import mp, mpf, exp, floor

mp.dps = 60
CASES = [(1, 1), (10**30 + 7, 3 * 10**29 + 2 * 10**12 + 11), (2**100 + 3, 2**99 + 2**50 + 2**41 + 1)]
for n, d in CASES:
    v = mpf(2) ** 64 * exp(-mpf(n) / d)
    print(f"N={n} D={d} prefix={int(floor(v))} frac={mp.nstr(v - floor(v), 20)}")
