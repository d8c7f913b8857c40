#pragma once
/// \file
/// Privacy-budget accountants. An accountant<Rule> holds a budget and refuses
/// any spend that would take the composed total (under Rule) past it:
///  - try_spend(cost, label) returns a [[nodiscard]] spend_result; spend(cost,
///    label) throws dpkit::budget_exhausted. A refused or invalid spend changes
///    nothing: not the total, not the ledger.
///  - Bookkeeping is exact: amounts you declare are read as the decimals you
///    wrote (0.1 is one tenth; ten spends of 0.1 use up a budget of 1 exactly)
///    and summed in arbitrary precision, so tiny spends (1e-300) are never lost
///    and nothing can make the remaining budget grow.
///  - Thread-safe: one mutex per accountant; concurrent spends never exceed the
///    budget and none is lost.
///  - Sub-budgets (rules with additive totals: basic, zCDP): grant() carves a
///    child budget, reserved in the parent at once; the child can never spend
///    past its grant, its spends appear in the parent's ledger, and raise()
///    increases a grant later (if the parent can afford it).
///  - release(accountant, mechanism, value, generator, label) spends the
///    mechanism's cost and returns its noisy value in one call.

#include <atomic>
#include <concepts>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "../error.hpp"
#include "../privacy/cost.hpp"
#include "../privacy/pld.hpp"
#include "../privacy/rdp.hpp"
#include "rules.hpp"

namespace dpkit {

/// Any cost an accountant can record (PLDs are shared, not copied).
using any_cost = std::variant<pure_dp, approx_dp, zcdp, rdp_curve, std::shared_ptr<const privacy_loss_distribution>>;

inline any_cost to_any_cost(const privacy_loss_distribution& c) {
    return std::make_shared<const privacy_loss_distribution>(c);
}
inline any_cost to_any_cost(std::shared_ptr<const privacy_loss_distribution> c) { return c; }
template <class C>
    requires std::constructible_from<any_cost, C>
any_cost to_any_cost(const C& c) {
    return any_cost{c};
}

inline std::string to_string(const std::shared_ptr<const privacy_loss_distribution>& c) {
    if (!c) return "privacy_loss_distribution(null)";
    return "privacy_loss_distribution(interval=" + detail::to_string_exact(c->options().interval) + ", " +
           std::to_string(c->remove_direction().mass.size()) + " losses)";
}
inline std::string to_string(const privacy_loss_distribution& c) {
    return to_string(std::make_shared<const privacy_loss_distribution>(c));
}

inline std::string to_string(const rdp_curve& c) {
    return "rdp_curve(" + std::to_string(c.orders.size()) + " orders, epsilon(" +
           (c.orders.empty() ? std::string("-") : detail::to_string_exact(c.orders.front())) + ")=" +
           (c.epsilons.empty() ? std::string("-") : detail::to_string_exact(c.epsilons.front())) + ")";
}
inline std::string to_string(const any_cost& c) {
    return std::visit([](const auto& v) { return to_string(v); }, c);
}

/// One line of the ledger.
struct ledger_entry {
    std::uint64_t sequence;  ///< order of acceptance within this ledger, from 0
    std::string account;     ///< the accountant that spent it (a child's name for its spends)
    std::string label;
    any_cost cost;
};

/// The outcome of try_spend: converts to true when the spend was accepted.
struct [[nodiscard]] spend_result {
    bool accepted = false;
    std::string message;  ///< why it was refused (empty when accepted)
    explicit operator bool() const noexcept { return accepted; }
};

/// Pure, approximate, zCDP costs and RDP curves of a release over disjoint
/// partitions of the privacy units (each unit affects one part): the
/// composition is the maximum, not the sum (McSherry 2009).
inline pure_dp parallel_composition(std::span<const pure_dp> parts) {
    pure_dp out{0};
    for (const auto& p : parts) out.epsilon = std::max(out.epsilon, p.epsilon);
    return out;
}
inline approx_dp parallel_composition(std::span<const approx_dp> parts) {
    approx_dp out{0, 0};
    for (const auto& p : parts) out = {std::max(out.epsilon, p.epsilon), std::max(out.delta, p.delta)};
    return out;
}
inline zcdp parallel_composition(std::span<const zcdp> parts) {
    zcdp out{0};
    for (const auto& p : parts) out.rho = std::max(out.rho, p.rho);
    return out;
}
inline rdp_curve parallel_composition(std::span<const rdp_curve> parts) {
    if (parts.empty()) detail::throw_invalid("dpkit::parallel_composition", "needs at least one curve");
    rdp_curve out = parts.front();
    for (const auto& p : parts) {
        if (p.orders != out.orders) detail::throw_invalid("dpkit::parallel_composition", "curves must share their orders");
        for (std::size_t i = 0; i < out.epsilons.size(); ++i) out.epsilons[i] = std::max(out.epsilons[i], p.epsilons[i]);
    }
    return out;
}

template <class Rule>
class accountant {
public:
    using rule_type = Rule;
    using budget_type = typename Rule::budget_type;

    /// A filter with the given total budget. `name` appears in messages and ledgers.
    explicit accountant(budget_type budget, std::string name = "budget")
        : name_(std::move(name)), budget_(budget), budget_state_(Rule::budget_state(budget)), spent_{} {}

    accountant(const accountant&) = delete;
    accountant& operator=(const accountant&) = delete;

    const std::string& name() const noexcept { return name_; }

    /// Spends `cost` if the composed total stays within the budget; otherwise
    /// spends nothing. Invalid costs throw dpkit::invalid_argument (nothing spent).
    template <class Cost>
        requires requires(const typename Rule::state& s, const Cost& c) { Rule::add(s, c); }
    [[nodiscard]] spend_result try_spend(const Cost& cost, std::string_view label) {
        std::unique_lock lock(mutex_);
        auto next = Rule::add(spent_, cost);  // validates; may throw, nothing changed yet
        if (!Rule::within(next, budget_state_)) return spend_result{false, refusal(cost, label)};
        any_cost recorded = to_any_cost(cost);
        spent_ = std::move(next);
        ledger_.push_back(ledger_entry{ledger_.size(), name_, std::string(label), recorded});
        lock.unlock();
        if (parent_ != nullptr) parent_->record(name_, label, std::move(recorded));
        return spend_result{true, {}};
    }

    /// Spends several costs as one: all of them if their composed total stays
    /// within the budget, none otherwise. Each gets its own ledger line (in
    /// order, consecutive). For releases made of several noisy parts.
    /// Parts given as any_cost may mix kinds (each must be one the rule composes,
    /// or dpkit::invalid_argument is thrown and nothing is spent).
    template <class Cost>
        requires std::same_as<Cost, any_cost> || requires(const typename Rule::state& s, const Cost& c) { Rule::add(s, c); }
    [[nodiscard]] spend_result try_spend_all(std::span<const std::pair<std::string, Cost>> parts) {
        std::unique_lock lock(mutex_);
        auto next = spent_;
        for (const auto& part : parts) next = add_cost(next, part.second);  // validates; nothing changed yet
        if (!Rule::within(next, budget_state_)) {
            std::string labels;
            std::string costs;
            for (const auto& part : parts) {
                labels += (labels.empty() ? "" : " + ") + part.first;
                costs += (costs.empty() ? "" : " + ") + to_string(part.second);
            }
            return spend_result{false, refusal_text(costs, labels)};
        }
        std::vector<any_cost> recorded;
        for (const auto& part : parts) {
            recorded.push_back(to_any_cost(part.second));
            ledger_.push_back(ledger_entry{ledger_.size(), name_, part.first, recorded.back()});
        }
        spent_ = std::move(next);
        lock.unlock();
        if (parent_ != nullptr) {
            for (std::size_t i = 0; i < parts.size(); ++i) parent_->record(name_, parts[i].first, std::move(recorded[i]));
        }
        return spend_result{true, {}};
    }
    /// Like try_spend_all, but a refusal throws dpkit::budget_exhausted.
    template <class Cost>
    void spend_all(std::span<const std::pair<std::string, Cost>> parts) {
        spend_result r = try_spend_all(parts);
        if (!r) throw budget_exhausted(r.message);
    }

    /// Like try_spend, but a refusal throws dpkit::budget_exhausted.
    template <class Cost>
        requires requires(const typename Rule::state& s, const Cost& c) { Rule::add(s, c); }
    void spend(const Cost& cost, std::string_view label) {
        spend_result r = try_spend(cost, label);
        if (!r) throw budget_exhausted(r.message);
    }

    /// The budget (for a child: its grant, including raises).
    budget_type budget() const {
        std::lock_guard lock(mutex_);
        return budget_;
    }
    /// The composed total spent so far, in the budget's terms (child grants count in full).
    budget_type spent() const {
        std::lock_guard lock(mutex_);
        return Rule::spent(spent_, budget_state_);
    }
    /// What remains of the budget.
    budget_type remaining() const {
        std::lock_guard lock(mutex_);
        return Rule::remaining(spent_, budget_state_);
    }
    /// Every accepted spend in order, plus (for a parent) the spends of its
    /// children, grandchildren and so on, each under the name of the account that spent it.
    std::vector<ledger_entry> ledger() const {
        std::lock_guard lock(mutex_);
        return ledger_;
    }

    /// Carves a child budget of `grant` for an analyst: reserved here at once
    /// (a spend labelled "grant to <name>"), refused with budget_exhausted if
    /// this budget cannot afford it. The child lives as long as this accountant.
    accountant& grant(budget_type grant, std::string child_name)
        requires Rule::supports_grants
    {
        auto child = std::make_unique<accountant>(grant, std::move(child_name));
        spend(grant, "grant to " + child->name_);
        child->parent_ = this;
        std::lock_guard lock(mutex_);
        children_.push_back(std::move(child));
        return *children_.back();
    }

    /// Raises a child's grant by `extra`, reserved here first (refused with
    /// budget_exhausted, and nothing changed, if this budget cannot afford it).
    void raise(accountant& child, budget_type extra)
        requires Rule::supports_grants
    {
        if (child.parent_ != this) detail::throw_invalid("dpkit::accountant::raise", "not a child of this accountant");
        spend(extra, "raise grant of " + child.name_);
        std::lock_guard lock(child.mutex_);
        child.budget_state_ = Rule::add(child.budget_state_, extra);
        child.budget_ = Rule::amount(child.budget_state_);
    }

private:
    template <class Cost>
    static typename Rule::state add_cost(const typename Rule::state& s, const Cost& c) {
        if constexpr (std::same_as<Cost, any_cost>) {
            return std::visit(
                [&](const auto& alternative) -> typename Rule::state {
                    using A = std::decay_t<decltype(alternative)>;
                    if constexpr (std::same_as<A, std::shared_ptr<const privacy_loss_distribution>>) {
                        if constexpr (requires { Rule::add(s, *alternative); }) {
                            if (alternative == nullptr) detail::throw_invalid("dpkit::accountant", "a null privacy-loss distribution");
                            return Rule::add(s, *alternative);
                        } else {
                            detail::throw_invalid("dpkit::accountant", std::string("the rule '") + Rule::name +
                                                                           "' cannot compose a privacy-loss distribution");
                        }
                    } else if constexpr (requires { Rule::add(s, alternative); }) {
                        return Rule::add(s, alternative);
                    } else {
                        detail::throw_invalid("dpkit::accountant", std::string("the rule '") + Rule::name +
                                                                       "' cannot compose the cost " + to_string(c));
                    }
                },
                c);
        } else {
            return Rule::add(s, c);
        }
    }

    template <class Cost>
    std::string refusal(const Cost& cost, std::string_view label) const {
        return refusal_text(to_string(cost), label);
    }
    std::string refusal_text(const std::string& cost, std::string_view label) const {
        return "dpkit::accountant '" + name_ + "' (" + Rule::name + "): refused '" + std::string(label) + "' costing " +
               cost + "; spent " + to_string(Rule::spent(spent_, budget_state_)) + " of " + to_string(budget_) +
               ", remaining " + to_string(Rule::remaining(spent_, budget_state_));
    }

    /// Appends a descendant's spend to this ledger, then to every ancestor's.
    /// (The cost is taken by rvalue reference: a by-value parameter made GCC 12
    /// at -O3 warn, falsely, about a maybe-uninitialized std::variant.)
    void record(const std::string& account, std::string_view label, any_cost&& cost) {
        {
            std::lock_guard lock(mutex_);
            ledger_.push_back(ledger_entry{ledger_.size(), account, std::string(label),
                                           parent_ != nullptr ? any_cost(cost) : std::move(cost)});
        }
        if (parent_ != nullptr) parent_->record(account, label, std::move(cost));
    }

    mutable std::mutex mutex_;
    std::string name_;
    budget_type budget_;
    typename Rule::state budget_state_;
    typename Rule::state spent_;
    std::vector<ledger_entry> ledger_;
    accountant* parent_ = nullptr;
    std::list<std::unique_ptr<accountant>> children_;
};

/// What every accountant offers.
template <class A>
concept accountant_type = requires(A& a, const A& ca, const typename A::budget_type& b) {
    typename A::rule_type;
    typename A::budget_type;
    { ca.spent() } -> std::same_as<typename A::budget_type>;
    { ca.remaining() } -> std::same_as<typename A::budget_type>;
    { ca.ledger() } -> std::same_as<std::vector<ledger_entry>>;
};

/// Releases m(value) after spending m's cost under the accountant's rule, in
/// one call: the noisy value is computed first (so invalid input throws before
/// anything is spent), then the spend is made; if it is refused,
/// budget_exhausted is thrown and the noisy value is discarded unseen.
template <class Rule, class Mechanism, class Value, std::uniform_random_bit_generator G>
auto release(accountant<Rule>& acct, const Mechanism& m, const Value& value, G& g, std::string_view label) {
    auto noisy = m(value, g);
    acct.spend(Rule::cost_of(m), label);
    return noisy;
}

/// Like release, but returns std::nullopt (nothing spent) when the budget cannot afford it.
template <class Rule, class Mechanism, class Value, std::uniform_random_bit_generator G>
auto try_release(accountant<Rule>& acct, const Mechanism& m, const Value& value, G& g, std::string_view label)
    -> std::optional<decltype(m(value, g))> {
    auto noisy = m(value, g);
    if (!acct.try_spend(Rule::cost_of(m), label)) return std::nullopt;
    return noisy;
}

}  // namespace dpkit
