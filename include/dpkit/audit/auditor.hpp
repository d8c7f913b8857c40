#pragma once
/// \file
/// dpkit::audit: an empirical lower bound on the privacy loss of any mechanism,
/// dpkit's or a user's: any callable `mechanism(input, generator) -> output`.
///
/// Method (the hypothesis-testing view of DP; Ding et al., "Detecting
/// Violations of Differential Privacy", CCS 2018; Jagielski, Ullman, Oprea,
/// "Auditing Differentially Private Machine Learning", NeurIPS 2020):
/// 1. draw n outputs on each of two neighbouring inputs D and D' (on all
///    cores, one generator per thread or per chunk);
/// 2. on the first half of each side's outputs, choose the event E and the
///    direction whose Clopper-Pearson bound (step 3, computed on that half) is
///    largest, among thresholds, single values (few distinct outputs),
///    precision events (events.hpp) and the user's events;
/// 3. on the second half, which the choice never saw, count E on both sides and
///    report epsilon_LB = ln((p_lower(E | D) - delta) / p_upper(E | D')), with
///    D and D' in the chosen order. p_lower and p_upper are one-sided
///    Clopper-Pearson bounds at level 1 - alpha/2 each, so with probability at
///    least confidence = 1 - alpha the true loss is at least epsilon_LB. If
///    epsilon_LB exceeds the claimed epsilon, the mechanism is proven not to be
///    (epsilon, delta)-DP at that confidence.
/// A lower bound, never a proof of privacy: a mechanism that passes may still
/// leak through events the search did not try.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "../detail/format.hpp"
#include "../privacy/cost.hpp"
#include "../random/insecure_seeded_generator.hpp"
#include "../random/secure_generator.hpp"
#include "clopper_pearson.hpp"
#include "events.hpp"

namespace dpkit {

/// How an audit runs. Only the claim is required when the mechanism has no
/// cost() (dpkit's mechanisms report theirs: pure_dp or approx_dp).
struct audit_options {
    std::uint64_t samples = 1'000'000;      ///< outputs drawn on each input (half choose the event, half test it)
    std::optional<double> epsilon;          ///< the claimed epsilon (default: mechanism.cost())
    std::optional<double> delta;            ///< the claimed delta (default: mechanism.cost(), else 0)
    double confidence = 0.95;               ///< level of the lower bound, in (0, 1)
    unsigned threads = 0;                   ///< sampling threads (0: all cores)
    std::optional<std::uint64_t> seed;      ///< reproducible: insecure_seeded_generator per chunk; default secure_generator
    bool thresholds = true;                 ///< try {o >= t} and {o <= t}
    bool single_values = true;              ///< try {o == v} when the outputs take at most 1024 values
    bool precision_events = true;           ///< try the power-of-two and low-bits events
};

/// What an audit found. The bound holds at `confidence`.
template <class O>
struct audit_report {
    double epsilon_lower_bound = 0;   ///< ln((p_lower - delta) / p_upper), at least 0
    double claimed_epsilon = 0;
    double claimed_delta = 0;
    double confidence = 0;
    bool violation = false;           ///< epsilon_lower_bound > claimed_epsilon: proven at `confidence`
    output_event<O> event;            ///< the witnessing event E
    bool first_more_likely = true;    ///< E is the numerator's event on the first input (else the second)
    std::uint64_t count_first = 0;    ///< outputs in E among the test half of the first input's draws
    std::uint64_t count_second = 0;   ///< the same for the second input
    std::uint64_t test_samples = 0;   ///< test-half draws per input
    std::uint64_t selection_samples = 0;  ///< selection-half draws per input
    double p_lower = 0;               ///< Clopper-Pearson lower bound on P[E] for the numerator's input
    double p_upper = 1;               ///< Clopper-Pearson upper bound on P[E] for the other input
    std::size_t events_tried = 0;     ///< candidate events compared on the selection half
    double samples_per_second = 0;    ///< sampling throughput (both inputs, all threads)
    unsigned threads = 0;
};

namespace detail {

template <class T>
concept has_pure_cost = requires(const T& m) {
    { m.cost() } -> std::same_as<pure_dp>;
};
template <class T>
concept has_approx_cost = requires(const T& m) {
    { m.cost() } -> std::same_as<approx_dp>;
};

template <class M, class I>
concept secure_callable = std::invocable<const M&, const I&, secure_generator&>;
template <class M, class I>
concept seeded_callable = std::invocable<const M&, const I&, insecure_seeded_generator&>;

template <class M, class I>
struct audit_output;
template <class M, class I>
    requires secure_callable<M, I>
struct audit_output<M, I> {
    using type = std::remove_cvref_t<std::invoke_result_t<const M&, const I&, secure_generator&>>;
};
template <class M, class I>
    requires(!secure_callable<M, I> && seeded_callable<M, I>)
struct audit_output<M, I> {
    using type = std::remove_cvref_t<std::invoke_result_t<const M&, const I&, insecure_seeded_generator&>>;
};

/// One stored output (a struct, so that bool outputs are not packed into bits).
template <class O>
struct audit_cell {
    O value{};
};

/// Draws per chunk: the unit of work a thread takes, and of seeding.
inline constexpr std::uint64_t audit_chunk = 4096;

inline std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t side, std::uint64_t chunk) noexcept {
    std::uint64_t z = seed ^ (side * 0x9e3779b97f4a7c15ull) ^ (chunk * 0xd1b54a32d192ed03ull);
    z = (z ^ (z >> 31)) * 0x7fb5d329728ea185ull;
    z = (z ^ (z >> 27)) * 0x81dadef4bc2dd44dull;
    return z ^ (z >> 33);
}

/// Fills out[side][i] = mechanism(input[side], g) on `threads` threads.
template <class O, class M, class I>
void draw_outputs(const M& mechanism, const I& first, const I& second, std::vector<audit_cell<O>> (&out)[2],
                  std::uint64_t n, unsigned threads, std::optional<std::uint64_t> seed) {
    const std::uint64_t chunks = (n + audit_chunk - 1) / audit_chunk;
    std::atomic<std::uint64_t> next{0};
    std::exception_ptr failure;
    std::atomic<bool> failed{false};
    const I* inputs[2] = {&first, &second};
    auto run_chunk = [&](std::uint64_t job, auto& g) {
        const std::uint64_t side = job % 2;
        const std::uint64_t begin = (job / 2) * audit_chunk;
        const std::uint64_t end = std::min(n, begin + audit_chunk);
        for (std::uint64_t i = begin; i < end; ++i) {
            out[side][static_cast<std::size_t>(i)].value = static_cast<O>(std::invoke(mechanism, *inputs[side], g));
        }
    };
    auto worker = [&] {
        try {
            if (seed) {
                if constexpr (seeded_callable<M, I>) {
                    for (std::uint64_t job; !failed.load() && (job = next.fetch_add(1)) < 2 * chunks;) {
                        insecure_seeded_generator g(mix_seed(*seed, job % 2, job / 2));
                        run_chunk(job, g);
                    }
                }
            } else {
                if constexpr (secure_callable<M, I>) {
                    secure_generator g;
                    for (std::uint64_t job; !failed.load() && (job = next.fetch_add(1)) < 2 * chunks;) run_chunk(job, g);
                }
            }
        } catch (...) {
            if (!failed.exchange(true)) failure = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
    if (failure) std::rethrow_exception(failure);
}

/// A candidate event and its counts on the selection half.
template <class O>
struct audit_candidate {
    output_event<O> event;
    std::uint64_t count[2];
};

/// ln((lower(k_num) - delta) / upper(k_den)), or -infinity without evidence.
inline double epsilon_bound(std::uint64_t k_num, std::uint64_t k_den, std::uint64_t n, double delta, double alpha) {
    const double lower = clopper_pearson_lower(k_num, n, alpha / 2) - delta;
    if (!(lower > 0)) return -std::numeric_limits<double>::infinity();
    return std::log(lower / clopper_pearson_upper(k_den, n, alpha / 2));
}

/// A cheap stand-in for epsilon_bound (normal approximation), to rank candidates.
inline double rough_bound(std::uint64_t k_num, std::uint64_t k_den, std::uint64_t n, double delta, double z) {
    const double kn = static_cast<double>(k_num);
    const double kd = static_cast<double>(k_den);
    const double nn = static_cast<double>(n);
    const double lower = (kn - z * std::sqrt(kn)) / nn - delta;
    if (!(lower > 0)) return -std::numeric_limits<double>::infinity();
    return std::log(lower / ((kd + 1 + z * std::sqrt(kd + 1)) / nn));
}

template <class O>
void add_order_candidates(std::vector<audit_candidate<O>>& out, std::vector<O> (&sorted)[2], const audit_options& options) {
    auto count_at_least = [&](int s, const O& t) {
        return static_cast<std::uint64_t>(sorted[s].end() - std::lower_bound(sorted[s].begin(), sorted[s].end(), t));
    };
    auto count_at_most = [&](int s, const O& t) {
        return static_cast<std::uint64_t>(std::upper_bound(sorted[s].begin(), sorted[s].end(), t) - sorted[s].begin());
    };
    std::vector<O> values;
    for (int s = 0; s < 2; ++s) {
        const std::size_t m = sorted[s].size();
        if (m == 0) continue;
        for (double r = 1; r < static_cast<double>(m); r *= 1.08) {
            const auto k = static_cast<std::size_t>(r);
            values.push_back(sorted[s][k - 1]);
            values.push_back(sorted[s][m - k]);
        }
        for (std::size_t q = 0; q <= 256; ++q) values.push_back(sorted[s][std::min(m - 1, q * (m - 1) / 256)]);
    }
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    if (options.thresholds && !std::same_as<O, bool>) {  // for bool, the single values say it all
        for (const O& t : values) {
            out.push_back({output_event<O>::at_least(t), {count_at_least(0, t), count_at_least(1, t)}});
            out.push_back({output_event<O>::at_most(t), {count_at_most(0, t), count_at_most(1, t)}});
        }
    }
    if (options.single_values) {
        std::vector<O> distinct;
        for (int s = 0; s < 2; ++s) {
            for (std::size_t i = 0; i < sorted[s].size() && distinct.size() <= 2048; ++i) {
                if (i == 0 || sorted[s][i - 1] < sorted[s][i]) distinct.push_back(sorted[s][i]);
            }
        }
        std::sort(distinct.begin(), distinct.end());
        distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
        if (distinct.size() <= 1024) {
            for (const O& v : distinct) {
                std::uint64_t c[2];
                for (int s = 0; s < 2; ++s) {
                    const auto range = std::equal_range(sorted[s].begin(), sorted[s].end(), v);
                    c[s] = static_cast<std::uint64_t>(range.second - range.first);
                }
                out.push_back({output_event<O>::equal_to(v), {c[0], c[1]}});
            }
        }
    }
}

template <class O>
void add_precision_candidates(std::vector<audit_candidate<O>>& out, const std::vector<audit_cell<O>> (&cells)[2],
                              std::uint64_t half) {
    constexpr int low_bits = 8;
    std::vector<int> valuations[2];
    std::uint64_t low[2][1 << low_bits] = {};
    int v_min = INT_MAX;
    int v_max = INT_MIN;
    for (int s = 0; s < 2; ++s) {
        valuations[s].reserve(static_cast<std::size_t>(half));
        for (std::uint64_t i = 0; i < half; ++i) {
            const O o = cells[s][static_cast<std::size_t>(i)].value;
            const int v = two_adic_valuation(o);
            valuations[s].push_back(v);
            if (v != valuation_of_zero && v != valuation_of_non_finite) {
                v_min = std::min(v_min, v);
                v_max = std::max(v_max, v);
            }
            ++low[s][representation_bits(o) & ((1u << low_bits) - 1)];
        }
        std::sort(valuations[s].begin(), valuations[s].end());
    }
    if (v_min <= v_max) {
        for (int k = v_min; k <= v_max + 1; ++k) {
            std::uint64_t below[2];
            for (int s = 0; s < 2; ++s) {
                below[s] = static_cast<std::uint64_t>(std::lower_bound(valuations[s].begin(), valuations[s].end(), k) -
                                                      valuations[s].begin());
            }
            out.push_back({output_event<O>::not_multiple_of_power_of_two(k), {below[0], below[1]}});
            out.push_back({output_event<O>::multiple_of_power_of_two(k), {half - below[0], half - below[1]}});
        }
    }
    for (int bits = 1; bits <= low_bits; ++bits) {
        const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
        for (std::uint64_t c = 0; c <= mask; ++c) {
            std::uint64_t count[2] = {0, 0};
            for (int s = 0; s < 2; ++s) {
                for (std::uint64_t b = 0; b < (1u << low_bits); ++b) {
                    if ((b & mask) == c) count[s] += low[s][b];
                }
            }
            out.push_back({output_event<O>::low_bits_equal(bits, c), {count[0], count[1]}});
        }
    }
}

template <class O>
std::uint64_t count_in(const output_event<O>& e, const std::vector<audit_cell<O>>& cells, std::uint64_t begin,
                       std::uint64_t end) {
    std::uint64_t k = 0;
    for (std::uint64_t i = begin; i < end; ++i) k += e.contains(cells[static_cast<std::size_t>(i)].value) ? 1u : 0u;
    return k;
}

template <class O, class M, class I>
audit_report<O> run_audit(const M& mechanism, const I& first, const I& second, const audit_options& options,
                          std::span<const output_event<O>> user_events) {
    static constexpr const char* who = "dpkit::audit";
    if (options.samples < 2) throw_invalid(who, "options.samples must be >= 2", options.samples);
    if (!(options.confidence > 0 && options.confidence < 1)) {
        throw_invalid(who, "options.confidence must be in (0, 1)", options.confidence);
    }
    double claimed_epsilon = std::numeric_limits<double>::quiet_NaN();
    double claimed_delta = 0;
    if constexpr (has_pure_cost<M>) {
        claimed_epsilon = mechanism.cost().epsilon;
    } else if constexpr (has_approx_cost<M>) {
        claimed_epsilon = mechanism.cost().epsilon;
        claimed_delta = mechanism.cost().delta;
    }
    if (options.epsilon) claimed_epsilon = *options.epsilon;
    if (options.delta) claimed_delta = *options.delta;
    if (!(claimed_epsilon >= 0) || !std::isfinite(claimed_epsilon)) {
        throw_invalid(who, "the claimed epsilon (options.epsilon, or the mechanism's cost()) must be finite and >= 0",
                      claimed_epsilon);
    }
    if (!(claimed_delta >= 0 && claimed_delta < 1)) {
        throw_invalid(who, "the claimed delta (options.delta, or the mechanism's cost()) must be in [0, 1)", claimed_delta);
    }
    if (options.seed && !seeded_callable<M, I>) {
        throw_invalid(who, "options.seed needs a mechanism callable with dpkit::insecure_seeded_generator&");
    }
    if (!options.seed && !secure_callable<M, I>) {
        throw_invalid(who, "a mechanism callable only with dpkit::insecure_seeded_generator& needs options.seed");
    }
    unsigned threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    const std::uint64_t n = options.samples;
    const std::uint64_t half = n / 2;
    const std::uint64_t test = n - half;
    threads = static_cast<unsigned>(std::min<std::uint64_t>(threads, 2 * ((n + audit_chunk - 1) / audit_chunk)));

    std::vector<audit_cell<O>> cells[2];
    cells[0].resize(static_cast<std::size_t>(n));
    cells[1].resize(static_cast<std::size_t>(n));
    const auto start = std::chrono::steady_clock::now();
    draw_outputs<O>(mechanism, first, second, cells, n, threads, options.seed);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    // Selection: every candidate's counts on the first half.
    std::vector<audit_candidate<O>> candidates;
    if constexpr (std::totally_ordered<O>) {
        if (options.thresholds || options.single_values) {
            std::vector<O> sorted[2];
            for (int s = 0; s < 2; ++s) {
                sorted[s].reserve(static_cast<std::size_t>(half));
                for (std::uint64_t i = 0; i < half; ++i) {
                    const O& o = cells[s][static_cast<std::size_t>(i)].value;
                    if constexpr (std::floating_point<O>) {
                        if (std::isnan(o)) continue;
                    }
                    sorted[s].push_back(o);
                }
                std::sort(sorted[s].begin(), sorted[s].end());
            }
            add_order_candidates(candidates, sorted, options);
        }
    }
    if constexpr (lattice_output<O>) {
        if (options.precision_events) add_precision_candidates(candidates, cells, half);
    }
    for (const auto& e : user_events) candidates.push_back({e, {count_in(e, cells[0], 0, half), count_in(e, cells[1], 0, half)}});
    if (candidates.empty()) throw_invalid(who, "no event to try: enable an event family or pass user events");

    const double alpha = 1 - options.confidence;
    const double z = std::sqrt(2.0) * 2.0;  // a generous normal quantile for the rough ranking
    struct ranked {
        double score;
        std::size_t index;
        bool forward;
    };
    std::vector<ranked> ranking;
    ranking.reserve(2 * candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const auto& c = candidates[i];
        ranking.push_back({rough_bound(c.count[0], c.count[1], half, claimed_delta, z), i, true});
        ranking.push_back({rough_bound(c.count[1], c.count[0], half, claimed_delta, z), i, false});
    }
    const std::size_t keep = std::min<std::size_t>(ranking.size(), 32);
    std::partial_sort(ranking.begin(), ranking.begin() + static_cast<std::ptrdiff_t>(keep), ranking.end(),
                      [](const ranked& a, const ranked& b) { return a.score > b.score; });
    std::size_t best = ranking.front().index;
    bool forward = ranking.front().forward;
    double best_score = -std::numeric_limits<double>::infinity();
    if (half > 0) {
        for (std::size_t r = 0; r < keep; ++r) {
            const auto& c = candidates[ranking[r].index];
            const std::uint64_t num = ranking[r].forward ? c.count[0] : c.count[1];
            const std::uint64_t den = ranking[r].forward ? c.count[1] : c.count[0];
            const double score = epsilon_bound(num, den, half, claimed_delta, alpha);
            if (score > best_score) {
                best_score = score;
                best = ranking[r].index;
                forward = ranking[r].forward;
            }
        }
    }

    // Test: the chosen event and direction on the second half only.
    const output_event<O>& event = candidates[best].event;
    const std::uint64_t k_first = count_in(event, cells[0], half, n);
    const std::uint64_t k_second = count_in(event, cells[1], half, n);
    const std::uint64_t k_num = forward ? k_first : k_second;
    const std::uint64_t k_den = forward ? k_second : k_first;
    audit_report<O> report{
        .epsilon_lower_bound = std::max(0.0, epsilon_bound(k_num, k_den, test, claimed_delta, alpha)),
        .claimed_epsilon = claimed_epsilon,
        .claimed_delta = claimed_delta,
        .confidence = options.confidence,
        .violation = false,
        .event = event,
        .first_more_likely = forward,
        .count_first = k_first,
        .count_second = k_second,
        .test_samples = test,
        .selection_samples = half,
        .p_lower = clopper_pearson_lower(k_num, test, alpha / 2),
        .p_upper = clopper_pearson_upper(k_den, test, alpha / 2),
        .events_tried = candidates.size(),
        .samples_per_second = seconds > 0 ? static_cast<double>(2 * n) / seconds : 0.0,
        .threads = threads,
    };
    report.violation = report.epsilon_lower_bound > claimed_epsilon;
    return report;
}

}  // namespace detail

/// Audits `mechanism` on the neighbouring inputs `first` and `second`: a lower
/// bound on its privacy loss at options.confidence, the witnessing event and
/// its counts (see the file comment). `mechanism(input, g)` is called
/// concurrently from several threads (options.threads = 1 otherwise) with a
/// dpkit::secure_generator, or with a dpkit::insecure_seeded_generator when
/// options.seed is set (reproducible whatever the number of threads).
template <class M, class I>
    requires detail::secure_callable<M, I> || detail::seeded_callable<M, I>
auto audit(const M& mechanism, const I& first, const I& second, const audit_options& options) {
    using O = typename detail::audit_output<M, I>::type;
    return detail::run_audit<O>(mechanism, first, second, options, std::span<const output_event<O>>{});
}

/// As audit(mechanism, first, second, options), also trying the user's events.
template <class M, class I, class O>
    requires detail::secure_callable<M, I> || detail::seeded_callable<M, I>
audit_report<O> audit(const M& mechanism, const I& first, const I& second, const audit_options& options,
                      std::span<const output_event<O>> events) {
    static_assert(std::same_as<O, typename detail::audit_output<M, I>::type>,
                  "dpkit::audit: the events must be over the mechanism's output type");
    return detail::run_audit<O>(mechanism, first, second, options, events);
}

/// As above, with the user's events in a vector.
template <class M, class I, class O>
    requires detail::secure_callable<M, I> || detail::seeded_callable<M, I>
audit_report<O> audit(const M& mechanism, const I& first, const I& second, const audit_options& options,
                      const std::vector<output_event<O>>& events) {
    return audit(mechanism, first, second, options, std::span<const output_event<O>>(events));
}

}  // namespace dpkit
