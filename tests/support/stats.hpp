#pragma once
// Statistical helpers for dpkit's tests: goodness of fit (G-test) against an
// exact probability mass function, with the chi-square survival function
// computed from the regularized incomplete gamma function.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <vector>

namespace dpkit_test {

/// Every statistical test in this suite rejects at this level: a correct
/// sampler fails a given test with probability 1e-6 over the choice of seed
/// (seeds are fixed, so a run is deterministic).
inline constexpr double false_failure_rate = 1e-6;

/// Regularized upper incomplete gamma Q(a, x) (Numerical Recipes 6.2: series
/// below a+1, Lentz continued fraction above).
inline double gamma_q(double a, double x) {
    if (x <= 0) return 1.0;
    const double log_prefix = -x + a * std::log(x) - std::lgamma(a);
    if (x < a + 1) {
        double term = 1.0 / a;
        double sum = term;
        for (int n = 1; n < 100000; ++n) {
            term *= x / (a + n);
            sum += term;
            if (std::fabs(term) < std::fabs(sum) * 1e-16) break;
        }
        return 1.0 - sum * std::exp(log_prefix);
    }
    const double tiny = 1e-300;
    double b = x + 1 - a;
    double c = 1 / tiny;
    double d = 1 / b;
    double h = d;
    for (int i = 1; i < 100000; ++i) {
        const double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (std::fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1 / d;
        const double delta = d * c;
        h *= delta;
        if (std::fabs(delta - 1) < 1e-16) break;
    }
    return std::exp(log_prefix) * h;
}

/// P[chi^2_df >= statistic].
inline double chi2_survival(double statistic, double df) { return gamma_q(df / 2, statistic / 2); }

struct fit_result {
    double statistic = 0;
    double degrees_of_freedom = 0;
    double p_value = 1;
    std::size_t bins = 0;
};

/// G-test of integer samples against a pmf. The window [lo, hi] grows from
/// `center` while each value expects at least 5 observations; everything below
/// lo is pooled with lo and everything above hi with hi, so no mass is dropped.
inline fit_result g_test(const std::vector<std::int64_t>& samples, const std::function<double(std::int64_t)>& pmf,
                         std::int64_t center = 0) {
    const double n = static_cast<double>(samples.size());
    std::int64_t lo = center;
    std::int64_t hi = center;
    while (n * pmf(lo - 1) >= 5) --lo;
    while (n * pmf(hi + 1) >= 5) ++hi;
    if (lo == hi) throw std::invalid_argument("g_test: the pmf puts (almost) all its mass on one value");
    std::vector<double> mass;
    for (std::int64_t k = lo; k <= hi; ++k) mass.push_back(pmf(k));
    double below = 0;  // P[X < lo]
    for (std::int64_t k = lo - 1;; --k) {
        const double p = pmf(k);
        below += p;
        if (p <= below * 1e-17 || p < 1e-300) break;
    }
    double inner = 0;  // P[lo < X < hi]
    for (std::size_t i = 1; i + 1 < mass.size(); ++i) inner += mass[i];
    mass.front() += below;
    mass.back() = std::max(0.0, 1.0 - inner - mass.front());
    std::vector<double> observed(mass.size(), 0.0);
    for (auto s : samples) {
        const std::int64_t k = s < lo ? lo : (s > hi ? hi : s);
        observed[static_cast<std::size_t>(k - lo)] += 1;
    }
    fit_result r;
    for (std::size_t i = 0; i < observed.size(); ++i) {
        const double e = n * mass[i];
        if (observed[i] > 0) r.statistic += 2 * observed[i] * std::log(observed[i] / e);
    }
    r.bins = observed.size();
    r.degrees_of_freedom = static_cast<double>(observed.size() - 1);
    r.p_value = chi2_survival(r.statistic, r.degrees_of_freedom);
    return r;
}

/// Two-sided binomial z-test p-value of k successes in n trials against p (normal approximation, n p (1-p) >= 25).
inline double binomial_p_value(std::uint64_t k, std::uint64_t n, double p) {
    const double mean = static_cast<double>(n) * p;
    const double sd = std::sqrt(static_cast<double>(n) * p * (1 - p));
    const double z = std::fabs((static_cast<double>(k) - mean) / sd);
    return std::erfc(z / std::sqrt(2.0));
}


// P[Binomial(n, p) >= k], summing outward from the mode until the terms are negligible.
inline double binomial_upper_tail(std::uint64_t k, std::uint64_t n, double p) {
    if (k == 0) return 1;
    if (k > n) return 0;
    const double lp = std::log(p);
    const double lq = std::log1p(-p);
    const double ln = std::lgamma(static_cast<double>(n) + 1);
    auto term = [&](std::uint64_t i) {
        return std::exp(ln - std::lgamma(static_cast<double>(i) + 1) - std::lgamma(static_cast<double>(n - i) + 1) +
                        static_cast<double>(i) * lp + static_cast<double>(n - i) * lq);
    };
    const auto mode = static_cast<std::uint64_t>(std::floor(static_cast<double>(n) * p));
    const std::uint64_t from = std::max(k, std::min(mode, n));
    double total = 0;
    for (std::uint64_t i = from; i <= n; ++i) {
        const double t = term(i);
        total += t;
        if (t < total * 1e-17 || (t == 0 && i > from + 10)) break;
    }
    for (std::uint64_t i = from; i-- > k;) {
        const double t = term(i);
        total += t;
        if (t < total * 1e-17) break;
    }
    return std::min(1.0, total);
}
// Clopper-Pearson bounds at confidence 1 - alpha (each side alpha / 2).
inline double cp_lower(std::uint64_t k, std::uint64_t n, double alpha) {
    if (k == 0) return 0;
    double lo = 0, hi = 1;
    for (int i = 0; i < 60; ++i) {
        const double mid = (lo + hi) / 2;
        (binomial_upper_tail(k, n, mid) > alpha / 2 ? hi : lo) = mid;
    }
    return lo;
}
inline double cp_upper(std::uint64_t k, std::uint64_t n, double alpha) { return k == n ? 1 : 1 - cp_lower(n - k, n, alpha); }

/// Bin index floor(v / w) of each sample (w >= 1).
inline std::vector<std::int64_t> bin(const std::vector<std::int64_t>& s, std::int64_t w) {
    std::vector<std::int64_t> out;
    out.reserve(s.size());
    for (auto v : s) out.push_back(v >= 0 ? v / w : -((-v - 1) / w) - 1);
    return out;
}

/// G-test of homogeneity of two samples over their common values (values seen
/// fewer than 10 times in the pooled sample are pooled into one cell).
inline double two_sample_p_value(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
    std::map<std::int64_t, std::pair<double, double>> cells;
    for (auto v : a) cells[v].first += 1;
    for (auto v : b) cells[v].second += 1;
    std::vector<std::pair<double, double>> pooled;
    std::pair<double, double> rare{0, 0};
    for (const auto& [v, c] : cells) {
        if (c.first + c.second >= 10) {
            pooled.push_back(c);
        } else {
            rare.first += c.first;
            rare.second += c.second;
        }
    }
    if (rare.first + rare.second > 0) pooled.push_back(rare);
    const double na = static_cast<double>(a.size());
    const double nb = static_cast<double>(b.size());
    double g = 0;
    for (const auto& [x, y] : pooled) {
        const double total = x + y;
        const double ea = total * na / (na + nb);
        const double eb = total * nb / (na + nb);
        if (x > 0) g += 2 * x * std::log(x / ea);
        if (y > 0) g += 2 * y * std::log(y / eb);
    }
    return chi2_survival(g, static_cast<double>(pooled.size() - 1));
}

}  // namespace dpkit_test
