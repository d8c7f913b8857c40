#pragma once
/// \file
/// Composition rules: how an accountant adds up costs and compares the total
/// with its budget. Each rule is a type; accountant<Rule> takes any of them.
///  - basic_composition: (epsilon, delta) add up (sequential composition,
///    Dwork et al. 2006); exact decimal arithmetic.
///  - advanced_composition: pure-DP spends compose by the heterogeneous
///    Dwork-Rothblum-Vadhan bound, using whatever delta the budget has left as
///    its slack, or by basic composition when that is smaller.
///  - zcdp_composition: rho adds up (Bun & Steinke 2016); pure epsilon counts
///    as epsilon^2 / 2; exact decimal arithmetic.
///  - renyi_composition: RDP curves add up order by order (Mironov 2017); the
///    total converts to (epsilon, delta) with the best order.

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../detail/exact_decimal.hpp"
#include "../detail/format.hpp"
#include "../detail/rounding.hpp"
#include "../error.hpp"
#include "../mechanisms/gaussian.hpp"
#include "../mechanisms/laplace.hpp"
#include "../mechanisms/randomized_response.hpp"
#include "../privacy/composition.hpp"
#include "../privacy/cost.hpp"
#include "../privacy/pld.hpp"
#include "../privacy/rdp.hpp"

namespace dpkit {

namespace detail {

inline exact_decimal declared_amount(const char* what, double v) {
    if (!std::isfinite(v) || !(v >= 0)) throw_invalid("dpkit::accountant", std::string(what) + " must be finite and >= 0", v);
    return exact_decimal::declared(v);
}

inline void check_delta_cost(double d) {
    if (!(d >= 0 && d < 1)) throw_invalid("dpkit::accountant", "delta must be in [0, 1)", d);
}

}  // namespace detail

/// Sequential composition of pure and approximate DP: epsilons add, deltas add.
struct basic_composition {
    using budget_type = approx_dp;
    struct state {
        detail::exact_decimal epsilon;
        detail::exact_decimal delta;
    };
    static constexpr bool supports_grants = true;
    static constexpr const char* name = "basic composition";

    static state budget_state(const approx_dp& b) {
        detail::check_delta_cost(b.delta);
        return {detail::declared_amount("epsilon", b.epsilon), detail::declared_amount("delta", b.delta)};
    }
    static state add(const state& s, const pure_dp& c) {
        return {s.epsilon + detail::declared_amount("epsilon", c.epsilon), s.delta};
    }
    static state add(const state& s, const approx_dp& c) {
        detail::check_delta_cost(c.delta);
        return {s.epsilon + detail::declared_amount("epsilon", c.epsilon), s.delta + detail::declared_amount("delta", c.delta)};
    }
    static bool within(const state& spent, const state& budget) {
        return spent.epsilon <= budget.epsilon && spent.delta <= budget.delta;
    }
    /// The (epsilon, delta) a state adds up to (nearest doubles; for reports and grants).
    static approx_dp amount(const state& s) { return {s.epsilon.to_double(), s.delta.to_double()}; }
    static approx_dp spent(const state& s, const state&) { return amount(s); }
    static approx_dp remaining(const state& s, const state& b) {
        return {(b.epsilon - s.epsilon).to_double(), (b.delta - s.delta).to_double()};
    }
    template <class M>
    static auto cost_of(const M& m) {
        return m.cost();
    }
};

namespace detail {

/// Rules that compose pure-DP spends with a slack delta' = the budget's delta
/// minus the deltas already spent: Theorem::epsilon(epsilons, slack) gives the
/// composed epsilon, and basic composition is used whenever it is smaller.
/// What a theorem keeps of the epsilons spent: Theorem::spends when it names
/// one (with record(spends, eps), budget_spends() and spends::empty()), else every epsilon.
template <class Theorem>
struct spends_of {
    using type = std::vector<double>;
};
template <class Theorem>
    requires requires { typename Theorem::spends; }
struct spends_of<Theorem> {
    using type = typename Theorem::spends;
};

template <class Theorem>
struct slack_composition {
    using budget_type = approx_dp;
    struct state {
        basic_composition::state basic;                // exact sums of every epsilon and delta spent
        typename spends_of<Theorem>::type epsilons;    // the epsilons spent
        double budget_delta = 0;                       // budget only
    };
    static constexpr bool supports_grants = false;
    static constexpr const char* name = Theorem::name;

    static state budget_state(const approx_dp& b) {
        state s;
        s.basic = basic_composition::budget_state(b);
        if (!(b.delta > 0)) throw_invalid("dpkit::accountant", std::string(name) + " needs a budget delta > 0", b.delta);
        s.budget_delta = b.delta;
        if constexpr (requires { Theorem::budget_spends(); }) s.epsilons = Theorem::budget_spends();
        return s;
    }
    template <class Cost>
        requires std::same_as<Cost, pure_dp> || std::same_as<Cost, approx_dp>
    static state add(state s, const Cost& c) {
        s.basic = basic_composition::add(s.basic, c);  // validates c
        if constexpr (requires { typename Theorem::spends; }) {
            s.epsilons = Theorem::record(std::move(s.epsilons), c.epsilon);
        } else {
            s.epsilons.push_back(c.epsilon);
        }
        return s;
    }
    /// The exact sum's nearest double, stepped up when below it.
    static double rounded_up(const exact_decimal& x) {
        const double d = x.to_double();
        return x <= exact_decimal::exactly(d) ? d : next_up(d);
    }
    /// The composed epsilon, rounded up, given the budget's delta.
    static double composed_epsilon(const state& s, double budget_delta) {
        const double basic = rounded_up(s.basic.epsilon);
        const double slack = sub_down(budget_delta, next_up(s.basic.delta.to_double()));
        if (!(slack > 0) || s.epsilons.empty()) return basic;
        return std::min(basic, Theorem::epsilon(s.epsilons, slack));
    }
    static bool within(const state& spent, const state& budget) {
        if (basic_composition::within(spent.basic, budget.basic)) return true;
        if (!(spent.basic.delta <= budget.basic.delta)) return false;
        const auto fits = [&](double eps) { return exact_decimal::exactly(eps) <= budget.basic.epsilon; };
        if constexpr (requires { Theorem::fits(spent.epsilons, 1.0, budget.epsilons, fits); }) {
            // The theorem decides (with its own cache), given the same slack as composed_epsilon.
            const double slack = sub_down(budget.budget_delta, next_up(spent.basic.delta.to_double()));
            if (!(slack > 0) || spent.epsilons.empty()) return false;
            return Theorem::fits(spent.epsilons, slack, budget.epsilons, fits);
        } else {
            return fits(composed_epsilon(spent, budget.budget_delta));
        }
    }
    static approx_dp spent(const state& s, const state& b) {
        const double eps = composed_epsilon(s, b.budget_delta);
        const bool used_theorem = eps < rounded_up(s.basic.epsilon);
        return {eps, used_theorem ? b.budget_delta : s.basic.delta.to_double()};
    }
    /// What is left: the budget's epsilon minus the composed epsilon, and the
    /// budget's delta minus the deltas of approximate-DP spends (the delta those
    /// spends may still use; the theorem's slack is drawn from it). Both only
    /// shrink as spends are added, whichever bound spent() reports.
    static approx_dp remaining(const state& s, const state& b) {
        const double eps = composed_epsilon(s, b.budget_delta);
        return {std::max(0.0, sub_down(b.basic.epsilon.to_double(), eps)),
                (b.basic.delta - s.basic.delta).to_double()};
    }
    template <class M>
    static auto cost_of(const M& m) {
        return m.cost();
    }
};

struct drv_theorem {
    static constexpr const char* name = "advanced composition";
    static double epsilon(const std::vector<double>& epsilons, double slack) {
        return advanced_composition_epsilon(epsilons, slack);
    }
};

/// The accountant's memory of KOV checks for one budget: for the last (eps_max,
/// slack), the largest k known to fit and the smallest known not to. The
/// optimal epsilon grows with k, so a check at k is answered from these bounds
/// when it can be, and otherwise narrows them by bisection: n spends cost
/// O(log n) evaluations of the optimum, not one each.
struct kov_fit_cache {
    std::mutex mutex;
    double eps0 = 0;
    double slack = 0;
    long long fits_up_to = 0;  // k <= fits_up_to fit
    long long fails_from = 0;  // k >= fails_from do not (0: none known)
};

struct kov_theorem {
    static constexpr const char* name = "optimal homogeneous composition";
    /// k spends of at most eps_max each are dominated by k spends of eps_max:
    /// only the count and the largest epsilon matter.
    struct spends {
        double largest = 0;
        long long count = 0;
        std::shared_ptr<kov_fit_cache> cache;  // budget states only
        bool empty() const noexcept { return count == 0; }
    };
    static spends budget_spends() { return spends{0, 0, std::make_shared<kov_fit_cache>()}; }
    static spends record(spends s, double eps) {
        s.largest = std::max(s.largest, eps);
        ++s.count;
        return s;
    }
    static double epsilon(const spends& s, double slack) {
        if (!(s.largest > 0)) return 0;
        return kov_optimal_epsilon(s.largest, s.count, slack);
    }
    /// Whether fits(epsilon(s, slack)) holds, up to the monotonicity in k used by the cache.
    template <class Fits>
    static bool fits(const spends& s, double slack, const spends& budget, Fits fits) {
        if (!(s.largest > 0)) return fits(0.0);
        if (!budget.cache) return fits(epsilon(s, slack));
        kov_fit_cache& c = *budget.cache;
        std::lock_guard lock(c.mutex);
        if (c.eps0 != s.largest || c.slack != slack) {
            c.eps0 = s.largest;
            c.slack = slack;
            c.fits_up_to = 0;
            c.fails_from = 0;
        }
        const long long k = s.count;
        while (true) {
            if (k <= c.fits_up_to) return true;
            if (c.fails_from != 0 && k >= c.fails_from) return false;
            // Probe at k itself once the bracket is tight, else further out.
            long long probe = c.fails_from == 0 ? 2 * k : k + (c.fails_from - k) / 2;
            if (probe <= c.fits_up_to) probe = k;
            if (fits(kov_optimal_epsilon(s.largest, probe, slack))) {
                c.fits_up_to = probe;
            } else {
                c.fails_from = probe;
            }
        }
    }
};

}  // namespace detail

/// Advanced composition (heterogeneous Dwork-Rothblum-Vadhan): for spends
/// eps_1..eps_k and approximate spends' deltas d_j, the total is
/// (min(sum eps_i, sqrt(2 ln(1/d') sum eps_i^2) + sum eps_i (e^eps_i - 1)), sum d_j + d')
/// with slack d' = the budget's delta minus sum d_j.
struct advanced_composition : detail::slack_composition<detail::drv_theorem> {};

/// Optimal homogeneous composition (Kairouz, Oh, Viswanath 2015, Thm 3.3): k
/// spends, each at most eps_max, compose to the exact optimum for k eps_max-DP
/// mechanisms at the slack delta' (or basic composition when that is smaller).
/// Tight when every spend has the same epsilon.
struct optimal_homogeneous_composition : detail::slack_composition<detail::kov_theorem> {};

/// zCDP composition: rho adds up; pure epsilon-DP counts as rho = epsilon^2 / 2.
struct zcdp_composition {
    using budget_type = zcdp;
    struct state {
        detail::exact_decimal rho;
    };
    static constexpr bool supports_grants = true;
    static constexpr const char* name = "zCDP composition";

    static state budget_state(const zcdp& b) { return {detail::declared_amount("rho", b.rho)}; }
    static state add(const state& s, const zcdp& c) { return {s.rho + detail::declared_amount("rho", c.rho)}; }
    static state add(const state& s, const pure_dp& c) {
        // rho = eps^2 / 2, exactly, in decimal (epsilon read as declared).
        const auto eps = detail::declared_amount("epsilon", c.epsilon);
        return {s.rho + (eps * eps).half()};
    }
    static bool within(const state& spent, const state& budget) { return spent.rho <= budget.rho; }
    /// The rho a state adds up to (nearest double; for reports and grants).
    static zcdp amount(const state& s) { return {s.rho.to_double()}; }
    static zcdp spent(const state& s, const state&) { return amount(s); }
    static zcdp remaining(const state& s, const state& b) { return {(b.rho - s.rho).to_double()}; }
    template <class M>
    static auto cost_of(const M& m) {
        if constexpr (requires { m.zcdp_cost(); }) {
            return m.zcdp_cost();
        } else {
            return m.cost();
        }
    }
};

namespace detail {

/// Rules whose total is a curve converted to epsilon at the budget's delta
/// (Renyi, PLD): Derived provides state (with budget fields epsilon and delta)
/// and composed_epsilon(state, delta).
template <class Derived>
struct converted_composition {
    using budget_type = approx_dp;
    static constexpr bool supports_grants = false;

    template <class State>
    static State budget_fields(const approx_dp& b, State s) {
        if (!std::isfinite(b.epsilon) || !(b.epsilon >= 0)) throw_invalid("dpkit::accountant", "epsilon must be finite and >= 0", b.epsilon);
        if (!(b.delta > 0 && b.delta < 1)) {
            throw_invalid("dpkit::accountant", std::string(Derived::name) + " needs delta in (0, 1)", b.delta);
        }
        s.epsilon = b.epsilon;
        s.delta = b.delta;
        return s;
    }
    template <class State>
    static bool within(const State& spent, const State& budget) {
        return Derived::composed_epsilon(spent, budget.delta) <= budget.epsilon;
    }
    template <class State>
    static approx_dp spent(const State& s, const State& b) {
        return {Derived::composed_epsilon(s, b.delta), b.delta};
    }
    template <class State>
    static approx_dp remaining(const State& s, const State& b) {
        return {std::max(0.0, b.epsilon - Derived::composed_epsilon(s, b.delta)), b.delta};
    }
};

}  // namespace detail

/// The RDP curve of a mechanism's release, on the given orders. The lattice
/// mechanisms are charged for their exact discrete noise: discrete Gaussian via
/// its zCDP guarantee (CKS20 Thm 4), scalar discrete Laplace by its exact curve
/// (vectors by the pure-DP bound).
template <class T>
rdp_curve rdp_of(const gaussian_mechanism<T>& m, const std::vector<double>& orders = default_rdp_orders()) {
    return to_rdp(m.zcdp_cost(), orders);
}

template <class T>
rdp_curve rdp_of(const laplace_mechanism<T>& m, const std::vector<double>& orders = default_rdp_orders()) {
    if (m.dimension() != 1) return to_rdp(m.cost(), orders);
    // Largest shift in steps between neighbours, and the scale rounded down (more loss).
    const double shift = m.sensitivity_in_steps();
    const double t = detail::next_down(m.noise_distribution().scale().to_double());
    return discrete_laplace_rdp(t, shift, orders);
}

/// Randomized response built from epsilon has the exact curve of its likelihood
/// ratio e^epsilon; a coin-flip survey, being epsilon-DP for its (rounded-up)
/// epsilon, is a post-processing of that binary randomized response (Kairouz, Oh,
/// Viswanath 2015, Thm 2.4), so the same curve bounds it. No probability is formed,
/// so epsilon > 709 is fine.
inline rdp_curve rdp_of(const randomized_response& m, const std::vector<double>& orders = default_rdp_orders()) {
    return detail::randomized_response_rdp_of_loss(m.epsilon(), 2, orders);
}

/// k-ary randomized response: the exact curve of likelihood ratio e^epsilon over
/// k values (the sampler's exact epsilon is at most epsilon, and the curve grows with it).
template <class C>
rdp_curve rdp_of(const generalized_randomized_response<C>& m, const std::vector<double>& orders = default_rdp_orders()) {
    return detail::randomized_response_rdp_of_loss(m.epsilon(), static_cast<double>(m.size()), orders);
}

/// Renyi composition on a fixed order grid; the budget is (epsilon, delta) and
/// the total curve is converted with the improved conversion (rdp_to_approx_dp).
struct renyi_composition : detail::converted_composition<renyi_composition> {
    struct state {
        std::vector<double> epsilons;  // per order, rounded up (empty: nothing spent)
        double epsilon = 0;            // budget only
        double delta = 0;              // budget only
    };
    static constexpr const char* name = "Renyi composition";

    static state budget_state(const approx_dp& b) { return budget_fields(b, state{}); }
    static state add(state s, const rdp_curve& c) {
        if (c.orders != default_rdp_orders()) {
            detail::throw_invalid("dpkit::accountant", "RDP curves must use default_rdp_orders()");
        }
        if (c.epsilons.size() != c.orders.size()) {
            detail::throw_invalid("dpkit::accountant", "an RDP curve needs one epsilon per order",
                                  detail::to_string_exact(c.epsilons.size()) + " epsilons for " +
                                      detail::to_string_exact(c.orders.size()) + " orders");
        }
        if (s.epsilons.empty()) s.epsilons.assign(c.epsilons.size(), 0.0);
        for (std::size_t i = 0; i < s.epsilons.size(); ++i) {
            const double e = c.epsilons[i];
            if (!std::isfinite(e) || !(e >= 0)) detail::throw_invalid("dpkit::accountant", "RDP epsilons must be finite and >= 0", e);
            s.epsilons[i] = detail::add_up(s.epsilons[i], e);
            if (!std::isfinite(s.epsilons[i])) throw overflow_error("dpkit::accountant: the composed RDP curve would overflow");
        }
        return s;
    }
    static state add(const state& s, const zcdp& c) { return add(s, to_rdp(c)); }
    static state add(const state& s, const pure_dp& c) { return add(s, to_rdp(c)); }
    static double composed_epsilon(const state& s, double delta) {
        if (s.epsilons.empty()) return 0;
        return rdp_to_approx_dp(rdp_curve{default_rdp_orders(), s.epsilons}, delta).epsilon;
    }
    template <class M>
    static auto cost_of(const M& m) {
        return rdp_of(m);
    }
};

/// The PLD of a mechanism's release: exact profiles for the lattice Laplace
/// (discrete Laplace) and randomized response, the rigorous upper bound for the
/// scalar discrete Gaussian, and the worst case of the reported (epsilon, delta)
/// otherwise (vectors, coin-flip surveys).
template <class T>
privacy_loss_distribution pld_of(const gaussian_mechanism<T>& m, pld_options options = {}) {
    if (m.dimension() != 1) return privacy_loss_distribution::worst_case(m.cost(), options);
    return privacy_loss_distribution::discrete_gaussian(detail::next_down(m.noise_distribution().sigma2().to_double()),
                                                        m.sensitivity_in_steps(),
                                                        options);
}

template <class T>
privacy_loss_distribution pld_of(const laplace_mechanism<T>& m, pld_options options = {}) {
    if (m.dimension() != 1) return privacy_loss_distribution::worst_case(m.cost(), options);
    return privacy_loss_distribution::discrete_laplace(detail::next_down(m.noise_distribution().scale().to_double()),
                                                       m.sensitivity_in_steps(), options);
}

/// Binary randomized response: epsilon-RR is the worst case of its epsilon (KOV15), and a
/// coin-flip survey is dominated by it (its epsilon is rounded up).
inline privacy_loss_distribution pld_of(const randomized_response& m, pld_options options = {}) {
    return privacy_loss_distribution::randomized_response_epsilon(m.epsilon(), 2, options);
}

/// k-ary randomized response at its epsilon (no overflow for any finite epsilon).
template <class C>
privacy_loss_distribution pld_of(const generalized_randomized_response<C>& m, pld_options options = {}) {
    return privacy_loss_distribution::randomized_response_epsilon(m.epsilon(), static_cast<double>(m.size()), options);
}

/// PLD composition (dp_accounting's PLDAccountant): the total is the
/// composition of every spend's PLD, and its epsilon at the budget's delta must
/// stay within the budget's epsilon. Pure and approximate DP costs enter as their
/// worst-case PLD. All PLDs must share one grid interval.
///
/// The state keeps each distinct PLD once with its count, so the composition is
/// one FFT per distinct PLD raised to its count. A spend is checked first by a
/// Chernoff bound on the delta of that same composition (from each pmf's moment
/// generating function, the bound behind Renyi accounting); only when the bound
/// does not fit is the composition computed (and kept for spent()). Both are
/// upper bounds on the exact composition of the discretised PLDs, and spent()
/// reports the smaller.
struct pld_composition : detail::converted_composition<pld_composition> {
    /// One distinct PLD spent `count` times, with its moment bounds (both directions).
    struct part {
        std::shared_ptr<const privacy_loss_distribution> pld;
        std::uint64_t count = 0;
        std::shared_ptr<const std::vector<detail::pld_moments>> moments;
    };
    struct state {
        std::vector<part> parts;  // empty: nothing spent
        mutable std::shared_ptr<const privacy_loss_distribution> total;  // the composition, once computed
        double epsilon = 0;       // budget only
        double delta = 0;         // budget only
    };
    static constexpr const char* name = "PLD composition";

    static state budget_state(const approx_dp& b) { return budget_fields(b, state{}); }
    static state add(const state& s, const std::shared_ptr<const privacy_loss_distribution>& c) {
        if (!c) detail::throw_invalid("dpkit::accountant", "the PLD must not be null");
        if (!s.parts.empty() && c->options().interval != s.parts.front().pld->options().interval) {
            detail::throw_invalid("dpkit::accountant", "every PLD must use the interval of the first spend",
                                  c->options().interval);
        }
        state out = s;
        out.total = nullptr;
        for (auto& p : out.parts) {
            if (p.pld == c || *p.pld == *c) {
                if (p.count == std::numeric_limits<std::uint64_t>::max()) {
                    throw overflow_error("dpkit::accountant: too many spends of one PLD");
                }
                ++p.count;
                return out;
            }
        }
        auto moments = std::make_shared<std::vector<detail::pld_moments>>();
        const double h = c->options().interval;
        moments->push_back(privacy_loss_distribution::moments(c->remove_direction(), h));
        if (!c->symmetric()) moments->push_back(privacy_loss_distribution::moments(c->add_direction(), h));
        out.parts.push_back(part{c, 1, std::move(moments)});
        return out;
    }
    static state add(const state& s, const privacy_loss_distribution& c) {
        return add(s, std::make_shared<const privacy_loss_distribution>(c));
    }
    /// Pure and approximate DP costs: their worst case on the grid of the spends so far.
    static state add(const state& s, const pure_dp& c) { return add(s, privacy_loss_distribution::worst_case(c, grid(s))); }
    static state add(const state& s, const approx_dp& c) {
        detail::check_delta_cost(c.delta);
        return add(s, privacy_loss_distribution::worst_case(c, grid(s)));
    }
    static pld_options grid(const state& s) { return s.parts.empty() ? pld_options{} : s.parts.front().pld->options(); }

    /// The composition of everything spent (computed once per state).
    static const privacy_loss_distribution& total(const state& s) {
        if (!s.total) {
            std::vector<privacy_loss_distribution::power> powers;
            for (const auto& p : s.parts) powers.push_back({p.pld.get(), p.count});
            s.total = std::make_shared<const privacy_loss_distribution>(privacy_loss_distribution::compose_powers(powers));
        }
        return *s.total;
    }

    /// Chernoff bound on the epsilon of the composition at delta (rounded up; may be +inf).
    static double bound_epsilon(const state& s, double delta) {
        const auto& orders = detail::pld_orders();
        double worst = 0;
        for (std::size_t direction = 0; direction < 2; ++direction) {
            double log_keep = 0;
            for (const auto& p : s.parts) {
                const auto& pmf = direction == 0 ? p.pld->remove_direction() : p.pld->add_direction();
                log_keep += static_cast<double>(p.count) * std::log1p(-pmf.infinity_mass);
            }
            const double infinity = -std::expm1(log_keep) * (1 + 1e-12);
            if (!(infinity < delta)) return detail::infinity;
            const double log_room = std::log(delta - infinity) - 1e-12;
            double best = detail::infinity;
            for (std::size_t j = 0; j < orders.size(); ++j) {
                // delta_finite(eps) <= C(lambda) e^{-lambda eps} E[e^{lambda L}; L finite],
                // C(lambda) = (lambda / (1 + lambda))^lambda / (1 + lambda).
                const double lambda = orders[j];
                double log_mgf = 0;
                bool empty = false;
                for (const auto& p : s.parts) {
                    const auto& m = (*p.moments)[std::min(direction, p.moments->size() - 1)];
                    if (m.empty) {
                        empty = true;
                        break;
                    }
                    log_mgf += static_cast<double>(p.count) * m.up[j];
                }
                if (empty) return detail::infinity;
                const double log_c = -std::log1p(lambda) - lambda * std::log1p(1 / lambda);
                best = std::min(best, (log_mgf + log_c - log_room) / lambda);
            }
            worst = std::max(worst, best);
        }
        return std::max(0.0, detail::next_up(worst + 1e-12 * (1 + std::fabs(worst))));
    }

    static double composed_epsilon(const state& s, double delta) {
        if (s.parts.empty()) return 0.0;
        return std::min(bound_epsilon(s, delta), total(s).epsilon_for_delta(delta));
    }
    static bool within(const state& spent, const state& budget) {
        if (spent.parts.empty()) return true;
        if (bound_epsilon(spent, budget.delta) <= budget.epsilon) return true;
        return total(spent).epsilon_for_delta(budget.delta) <= budget.epsilon;
    }
    template <class M>
    static auto cost_of(const M& m) {
        return pld_of(m);
    }
};

}  // namespace dpkit
