# Reference tables for tests/mechanisms/test_noisy_max.cpp, with mpmath at 40 digits.
#
# noisy_max_probabilities.csv: the exact output distribution of report-noisy-max
# (k = 1) and one-shot top-2 of 3 (the ordered output is then a full ranking)
# with integer noise Z of scale b, ties ordered uniformly at random:
#   discrete Laplace: P[Z = z] = (1 - r)/(1 + r) r^|z|, geometric: (1 - r) r^z (z >= 0), r = exp(-1/b).
# Report-noisy-max: P[i] = sum_v P[q_i + Z = v] int_0^1 prod_{j != i} (P[q_j + Z < v] + u P[q_j + Z = v]) du
# (a tie with t others is won with probability 1/(1 + t) = int_0^1 u^t du).
# Top-2 of 3, ranking (a, b, c): sum over v_a >= v_b >= v_c, weighted 1, 1/2, 1/2, 1/6 as
# (a, b), (b, c), both pairs are tied.
#
# The same table holds top_k_selection's peeling (two permute-and-flip rounds
# with stop probability exp(-c (q* - q_r)), c = 1/2) on the same scores:
# P[(a, b)] = PF(q)[a] PF(q without a)[b], PF by enumerating every order.
#
# noisy_max_scales.csv: the noise scale m k Delta / epsilon (m = 2, or 1 for
# monotone scores) at extreme parameters, epsilon read as its decimal.
import sys
from mpmath import mp, mpf, exp, log, nstr

mp.dps = 40


def pmf_cdf(kind, b):
    r = exp(-1 / mpf(b))
    if kind == "discrete_laplace":
        pmf = lambda z: (1 - r) / (1 + r) * r ** abs(z)
        # P[Z <= n]
        cdf = lambda n: 1 - r ** (n + 1) / (1 + r) if n >= 0 else r ** (-n) / (1 + r)
    else:
        pmf = lambda z: (1 - r) * r ** z if z >= 0 else mpf(0)
        cdf = lambda n: 1 - r ** (n + 1) if n >= 0 else mpf(0)
    span = int(45 * log(10) * b) + 2  # r^span < 1e-45
    return pmf, cdf, span


def noisy_max(kind, b, q):
    pmf, cdf, span = pmf_cdf(kind, b)
    out = []
    for i in range(len(q)):
        total = mpf(0)
        for v in range(min(q) - span, max(q) + span + 1):
            pi = pmf(v - q[i])
            if pi == 0:
                continue
            poly = [mpf(1)]  # coefficients in u
            for j in range(len(q)):
                if j == i:
                    continue
                below, at = cdf(v - 1 - q[j]), pmf(v - q[j])
                nxt = [mpf(0)] * (len(poly) + 1)
                for d, c in enumerate(poly):
                    nxt[d] += c * below
                    nxt[d + 1] += c * at
                poly = nxt
            total += pi * sum(c / (d + 1) for d, c in enumerate(poly))
        out.append(total)
    return out


def top2_of_3(kind, b, q):
    pmf, cdf, span = pmf_cdf(kind, b)
    vs = range(min(q) - span, max(q) + span + 1)
    p = lambda i, v: pmf(v - q[i])
    lt = lambda i, v: cdf(v - 1 - q[i])  # P[q_i + Z < v]
    gt = lambda i, v: 1 - cdf(v - q[i])  # P[q_i + Z > v]
    out = {}
    for a in range(3):
        for bb in range(3):
            if bb == a:
                continue
            c = 3 - a - bb
            s = mpf(0)
            for v in vs:
                pb = p(bb, v)
                s += pb * gt(a, v) * lt(c, v)
                s += p(a, v) * pb * lt(c, v) / 2
                s += pb * p(c, v) * gt(a, v) / 2
                s += p(a, v) * pb * p(c, v) / 6
            out[(a, bb)] = s
    return out


def permute_and_flip(c, q):
    from itertools import permutations
    best = max(q)
    stop = [exp(-c * (best - x)) for x in q]
    out = [mpf(0)] * len(q)
    perms = list(permutations(range(len(q))))
    for order in perms:
        reach = mpf(1)
        for r in order:
            out[r] += reach * stop[r]
            reach *= 1 - stop[r]
    return [x / len(perms) for x in out]


def peel2_of_3(c, q):
    out = {}
    first = permute_and_flip(c, q)
    for a in range(3):
        rest = [i for i in range(3) if i != a]
        second = permute_and_flip(c, [q[i] for i in rest])
        for j, bb in enumerate(rest):
            out[(a, bb)] = first[a] * second[j]
    return out


def probabilities(path):
    cases = [
        ("rnm", "discrete_laplace", 2, [0, -1, -2, -5, 3, 2]),
        ("rnm", "geometric", 2, [0, -1, -2, -5, 3, 2]),
        ("rnm", "discrete_laplace", 1, [3, 3, 1, 0]),
        ("rnm", "geometric", 1, [3, 3, 1, 0]),
    ]
    with open(path, "w") as f:
        f.write("case,noise,scale,scores,output,probability\n")
        for name, kind, b, q in cases:
            ps = noisy_max(kind, b, q)
            assert abs(sum(ps) - 1) < mpf(10) ** -30, sum(ps)
            for i, pr in enumerate(ps):
                f.write(f"{name},{kind},{b},{' '.join(map(str, q))},{i},{nstr(pr, 30)}\n")
        for kind in ("discrete_laplace", "geometric"):
            q = [2, 0, -1]
            ps = top2_of_3(kind, 2, q)
            assert abs(sum(ps.values()) - 1) < mpf(10) ** -30, sum(ps.values())
            for (a, bb), pr in sorted(ps.items()):
                f.write(f"top2,{kind},2,{' '.join(map(str, q))},{a} {bb},{nstr(pr, 30)}\n")
        q = [2, 0, -1]
        ps = peel2_of_3(mpf(1) / 2, q)
        assert abs(sum(ps.values()) - 1) < mpf(10) ** -30, sum(ps.values())
        for (a, bb), pr in sorted(ps.items()):
            f.write(f"peel2,permute_and_flip,0.5,{' '.join(map(str, q))},{a} {bb},{nstr(pr, 30)}\n")


def scales(path):
    epsilons = ["1e-300", "1e-12", "2.5e-11", "0.1", "1", "3", "709.5", "1e300"]
    sensitivities = ["1", "0.3", "1000"]
    ks = [1, 10, 1000000]
    with open(path, "w") as f:
        f.write("epsilon,score_sensitivity,k,monotone,scale\n")
        for e in epsilons:
            for d in sensitivities:
                for k in ks:
                    for mono in (0, 1):
                        m = 1 if mono else 2
                        s = m * k * mpf(d) / mpf(e)
                        f.write(f"{e},{d},{k},{mono},{nstr(s, 40)}\n")


if __name__ == "__main__":
    here = sys.argv[1] if len(sys.argv) > 1 else "."
    probabilities(f"{here}/noisy_max_probabilities.csv")
    scales(f"{here}/noisy_max_scales.csv")
