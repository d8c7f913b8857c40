// Accountants: exact bookkeeping, refusals that change nothing, messages,
// sub-budgets, parallel composition, release(), rules, and concurrency.
#include <dpkit/accounting.hpp>
#include <dpkit/mechanisms.hpp>
#include <dpkit/random.hpp>

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "../support/dpkit_catch.hpp"

using namespace dpkit;
using basic = accountant<basic_composition>;

static_assert(accountant_type<accountant<basic_composition>>);
static_assert(accountant_type<accountant<zcdp_composition>>);
static_assert(accountant_type<accountant<renyi_composition>>);
static_assert(accountant_type<accountant<advanced_composition>>);
template <class A, class Cost>
concept can_spend = requires(A& a, const Cost& c) { a.try_spend(c, "x"); };
template <class A>
concept can_grant = requires(A& a, const typename A::budget_type& b) { a.grant(b, "child"); };

// A rule accepts only costs it can compose: (epsilon, delta) has no Renyi curve or rho.
static_assert(can_spend<basic, approx_dp>);
static_assert(can_spend<accountant<renyi_composition>, rdp_curve>);
static_assert(!can_spend<accountant<renyi_composition>, approx_dp>);
static_assert(!can_spend<accountant<zcdp_composition>, approx_dp>);
static_assert(!can_spend<basic, rdp_curve>);
// Sub-budgets exist where totals are additive.
static_assert(can_grant<basic>);
static_assert(can_grant<accountant<zcdp_composition>>);
static_assert(!can_grant<accountant<renyi_composition>>);

TEST_CASE("exact bookkeeping: ten spends of 0.1 use up 1, the eleventh is refused", "[accountant]") {
    basic acct(approx_dp{1.0, 0.0}, "study");
    for (int i = 0; i < 10; ++i) REQUIRE(acct.try_spend(pure_dp{0.1}, "query " + std::to_string(i)));
    CHECK(acct.spent() == approx_dp{1.0, 0.0});
    CHECK(acct.remaining() == approx_dp{0.0, 0.0});
    const auto refused = acct.try_spend(pure_dp{0.1}, "query 10");
    CHECK_FALSE(refused);
    CHECK(refused.message ==
          "dpkit::accountant 'study' (basic composition): refused 'query 10' costing pure_dp(epsilon=0.1); spent "
          "approx_dp(epsilon=1, delta=0) of approx_dp(epsilon=1, delta=0), remaining approx_dp(epsilon=0, delta=0)");
    CHECK_THROWS_AS(acct.spend(pure_dp{0.1}, "query 10"), budget_exhausted);
    CHECK(acct.ledger().size() == 10);
    CHECK(acct.ledger()[3].label == "query 3");
    CHECK(acct.ledger()[3].sequence == 3);
    CHECK(std::get<pure_dp>(acct.ledger()[3].cost) == pure_dp{0.1});
    CHECK(acct.try_spend(pure_dp{0.0}, "free"));  // a zero-cost release always fits
}

TEST_CASE("tiny spends are never lost or rounded away", "[accountant]") {
    basic acct(approx_dp{1.0, 0.0});
    REQUIRE(acct.try_spend(pure_dp{0.5}, "a"));
    REQUIRE(acct.try_spend(pure_dp{1e-300}, "tiny"));
    CHECK_FALSE(acct.try_spend(pure_dp{0.5}, "b"));  // 0.5 + 1e-300 + 0.5 > 1
    REQUIRE(acct.try_spend(pure_dp{0.5 - 1e-300 == 0.5 ? 0.25 : 0.0}, "c"));
    basic deltas(approx_dp{1.0, 1e-6});
    for (int i = 0; i < 1000; ++i) REQUIRE(deltas.try_spend(approx_dp{0.0, 1e-9}, "d"));
    CHECK_FALSE(deltas.try_spend(approx_dp{0.0, 1e-300}, "over"));  // exactly 1e-6 was spent
}

TEST_CASE("bad costs are rejected with a message and change nothing", "[accountant][errors]") {
    basic acct(approx_dp{1.0, 1e-5}, "study");
    REQUIRE(acct.try_spend(pure_dp{0.25}, "ok"));
    const auto before = acct.spent();
    CHECK_THROWS_WITH(acct.spend(pure_dp{-0.1}, "negative"), "dpkit::accountant: epsilon must be finite and >= 0 (got -0.1)");
    CHECK_THROWS_WITH(acct.spend(pure_dp{std::nan("")}, "nan"), "dpkit::accountant: epsilon must be finite and >= 0 (got nan)");
    CHECK_THROWS_WITH(acct.spend(pure_dp{INFINITY}, "inf"), "dpkit::accountant: epsilon must be finite and >= 0 (got inf)");
    CHECK_THROWS_WITH(acct.spend(approx_dp{0.1, 1.0}, "delta"), "dpkit::accountant: delta must be in [0, 1) (got 1)");
    CHECK(acct.spent() == before);
    CHECK(acct.ledger().size() == 1);
    CHECK_THROWS_AS(basic(approx_dp{-1.0, 0.0}), dpkit::invalid_argument);
    // A composition that would overflow.
    accountant<renyi_composition> rdp(approx_dp{1e300, 1e-6});
    rdp_curve huge{default_rdp_orders(), std::vector<double>(default_rdp_orders().size(), 1.5e308)};
    REQUIRE_FALSE(rdp.try_spend(huge, "first"));  // over a budget of 1e300: refused
    accountant<renyi_composition> big(approx_dp{std::numeric_limits<double>::max(), 1e-6});
    (void)big.try_spend(huge, "first");
    const auto ledger_size = big.ledger().size();
    CHECK_THROWS_AS(big.spend(huge, "second"), dpkit::overflow_error);
    CHECK(big.ledger().size() == ledger_size);
}

TEST_CASE("sub-budgets: a data scientist with a budget of 700", "[accountant][grants]") {
    basic platform(approx_dp{1000.0, 1e-5}, "platform");
    auto& alice = platform.grant(approx_dp{700.0, 0.0}, "alice");
    CHECK(platform.remaining() == approx_dp{300.0, 1e-5});
    // Alice publishes a noisy weekly series until her budget runs out.
    int weeks = 0;
    while (alice.try_spend(pure_dp{0.5}, "week " + std::to_string(weeks))) ++weeks;
    CHECK(weeks == 1400);
    CHECK(alice.remaining() == approx_dp{0.0, 0.0});
    CHECK(platform.remaining() == approx_dp{300.0, 1e-5});  // her spends were reserved by the grant
    const auto ledger = platform.ledger();
    CHECK(ledger.size() == 1 + 1400);  // the grant, then every spend of hers
    CHECK(ledger[0].label == "grant to alice");
    CHECK(ledger[1].account == "alice");
    CHECK(ledger[1].label == "week 0");
    // A grant larger than what remains is refused and changes nothing.
    CHECK_THROWS_AS(platform.grant(approx_dp{301.0, 0.0}, "bob"), budget_exhausted);
    CHECK(platform.ledger().size() == 1401);
    // Raising a grant.
    platform.raise(alice, approx_dp{100.0, 0.0});
    CHECK(alice.budget() == approx_dp{800.0, 0.0});
    CHECK(alice.try_spend(pure_dp{100.0}, "more"));
    CHECK_FALSE(alice.try_spend(pure_dp{1e-9}, "too much"));
    CHECK_THROWS_AS(platform.raise(alice, approx_dp{200.5, 0.0}), budget_exhausted);
    CHECK(alice.budget() == approx_dp{800.0, 0.0});
    basic stranger(approx_dp{1, 0});
    CHECK_THROWS_AS(platform.raise(stranger, approx_dp{1, 0}), dpkit::invalid_argument);
}

TEST_CASE("sub-budgets nest: a grandchild's spends reach every ancestor's ledger", "[accountant][grants]") {
    basic hospital(approx_dp{1.0, 1e-6}, "hospital");
    auto& department = hospital.grant(approx_dp{0.5, 0.0}, "cardiology");
    auto& analyst = department.grant(approx_dp{0.2, 0.0}, "analyst");
    REQUIRE(analyst.try_spend(pure_dp{0.1}, "weekly admissions"));
    auto ends_with = [](const std::vector<ledger_entry>& l, const std::string& account, const std::string& label) {
        return !l.empty() && l.back().account == account && l.back().label == label;
    };
    CHECK(ends_with(analyst.ledger(), "analyst", "weekly admissions"));
    CHECK(ends_with(department.ledger(), "analyst", "weekly admissions"));
    CHECK(ends_with(hospital.ledger(), "analyst", "weekly admissions"));
    const auto root = hospital.ledger();
    REQUIRE(root.size() == 3);  // grant to cardiology, grant to analyst (by cardiology), the spend
    CHECK(root[1].account == "cardiology");
    CHECK(root[1].label == "grant to analyst");
    for (std::size_t i = 0; i < root.size(); ++i) CHECK(root[i].sequence == i);
    // The grandchild's refusals stay local and leave every ledger unchanged.
    CHECK_FALSE(analyst.try_spend(pure_dp{0.2}, "too much"));
    CHECK(hospital.ledger().size() == 3);
    CHECK(department.ledger().size() == 2);
    CHECK(hospital.remaining() == approx_dp{0.5, 1e-6});  // the grants were reserved in full
}

TEST_CASE("advanced composition: remaining() never grows, whichever bound is in force", "[accountant]") {
    // Twenty spends of 0.1 compose to ~0.74 by the theorem with slack 0.5; an
    // approximate spend that leaves a slack of 1e-4 makes basic composition (2)
    // the better bound again. remaining().delta used to jump from 0 back up.
    accountant<advanced_composition> acct(approx_dp{5.0, 0.5}, "study");
    approx_dp last = acct.remaining();
    auto check_monotone = [&] {
        const approx_dp now = acct.remaining();
        CHECK(now.epsilon <= last.epsilon);
        CHECK(now.delta <= last.delta);
        last = now;
    };
    for (int i = 0; i < 20; ++i) {
        REQUIRE(acct.try_spend(pure_dp{0.1}, "query"));
        check_monotone();
    }
    CHECK(acct.spent().epsilon < 1.0);  // the theorem was in force
    REQUIRE(acct.try_spend(approx_dp{0.0, 0.4999}, "a Gaussian release"));
    check_monotone();
    CHECK(acct.spent().epsilon == dpkit_test::approx(2.0));  // basic composition is in force now
    CHECK(acct.remaining().delta == dpkit_test::approx(1e-4));
    REQUIRE(acct.try_spend(pure_dp{0.1}, "query"));
    check_monotone();
}

TEST_CASE("parallel composition over disjoint partitions costs the maximum", "[accountant]") {
    const std::vector<pure_dp> parts = {{0.5}, {0.2}, {0.7}};
    CHECK(parallel_composition(parts) == pure_dp{0.7});
    const std::vector<approx_dp> approx = {{0.5, 1e-6}, {0.7, 1e-7}};
    CHECK(parallel_composition(approx) == approx_dp{0.7, 1e-6});
    basic acct(approx_dp{1.0, 0.0});
    // A histogram over 50 disjoint age groups, each bin released with epsilon 0.6: costs 0.6, not 30.
    const std::vector<pure_dp> bins(50, pure_dp{0.6});
    CHECK(acct.try_spend(parallel_composition(bins), "histogram"));
    CHECK_FALSE(acct.try_spend(parallel_composition(bins), "again"));
    const std::vector<rdp_curve> curves = {gaussian_rdp(1.0), gaussian_rdp(2.0)};
    CHECK(parallel_composition(curves) == gaussian_rdp(1.0));
}

TEST_CASE("release spends then releases; a refused release reveals and spends nothing", "[accountant][release]") {
    insecure_seeded_generator g(1);
    basic acct(approx_dp{1.0, 1e-6}, "study");
    const laplace_mechanism<std::int64_t> count(epsilon{0.4}, l1_sensitivity{1});
    const std::int64_t first = release(acct, count, std::int64_t{100}, g, "count 1");
    CHECK(std::abs(first - 100) < 200);
    CHECK(acct.ledger().back().label == "count 1");
    CHECK(release(acct, count, std::int64_t{100}, g, "count 2") != std::numeric_limits<std::int64_t>::min());
    CHECK_THROWS_AS(release(acct, count, std::int64_t{100}, g, "count 3"), budget_exhausted);
    CHECK_FALSE(try_release(acct, count, std::int64_t{100}, g, "count 3").has_value());
    CHECK(acct.ledger().size() == 2);
    // Invalid input throws before anything is spent.
    const laplace_mechanism<double> mean(epsilon{0.1}, l1_sensitivity{1});
    CHECK_THROWS_AS(release(acct, mean, std::nan(""), g, "nan"), dpkit::invalid_argument);
    CHECK(acct.ledger().size() == 2);
    const gaussian_mechanism<double> gauss(epsilon{0.1}, delta{1e-7}, l2_sensitivity{1});
    CHECK(try_release(acct, gauss, 1.0, g, "gaussian").has_value());
    CHECK(acct.spent().delta == 1e-7);
}

TEST_CASE("zCDP and Renyi accountants take mechanisms' costs", "[accountant][rules]") {
    insecure_seeded_generator g(2);
    const gaussian_mechanism<double> gauss(epsilon{1.0}, delta{1e-6}, l2_sensitivity{1});
    accountant<zcdp_composition> z(zcdp{1.0}, "zcdp");
    int n = 0;
    while (try_release(z, gauss, 0.0, g, "q")) ++n;
    CHECK(n == static_cast<int>(std::floor(1.0 / gauss.zcdp_cost().rho)));
    accountant<zcdp_composition> pure(zcdp{0.5});
    CHECK(pure.try_spend(pure_dp{1.0}, "eps 1 is rho 0.5"));
    CHECK_FALSE(pure.try_spend(pure_dp{1e-3}, "over"));
    CHECK(pure.spent() == zcdp{0.5});
    // Renyi: 40 Gaussian releases of (1, 1e-6) compose to far less than basic composition's 40.
    accountant<renyi_composition> r(approx_dp{10.0, 1e-6}, "renyi");
    for (int i = 0; i < 40; ++i) (void)release(r, gauss, 0.0, g, "q");
    CHECK(r.spent().epsilon < 10.0);
    CHECK(r.spent().epsilon > 5.0);
    const laplace_mechanism<double> lap(epsilon{0.1}, l1_sensitivity{1});
    CHECK(r.try_spend(rdp_of(lap), "laplace"));
    const randomized_response rr(epsilon{1.0});
    CHECK(r.try_spend(rdp_of(rr), "rr"));
}

TEST_CASE("advanced composition lets more pure spends fit than basic composition", "[accountant][rules]") {
    accountant<basic_composition> b(approx_dp{7.0, 1e-6});
    accountant<advanced_composition> a(approx_dp{7.0, 1e-6});
    int nb = 0;
    int na = 0;
    while (b.try_spend(pure_dp{0.1}, "q")) ++nb;
    while (a.try_spend(pure_dp{0.1}, "q")) ++na;
    CHECK(nb == 70);
    CHECK(na > 100);
    const std::vector<double> spent(static_cast<std::size_t>(na), 0.1);
    CHECK(advanced_composition_epsilon(spent, 1e-6) <= 7.0);
    const std::vector<double> one_more(static_cast<std::size_t>(na + 1), 0.1);
    CHECK(advanced_composition_epsilon(one_more, 1e-6) > 7.0);
    CHECK(a.spent().epsilon <= 7.0);
    CHECK(a.spent().delta == 1e-6);
}

TEST_CASE("concurrent spends never exceed the budget and none is lost", "[accountant][concurrency]") {
    SECTION("8 threads x 12500 spends of 1e-5 exhaust 1 exactly") {
        basic acct(approx_dp{1.0, 0.0});
        std::atomic<int> accepted{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < 12500; ++i) accepted += acct.try_spend(pure_dp{1e-5}, "x") ? 1 : 0;
            });
        }
        for (auto& th : threads) th.join();
        CHECK(accepted == 100000);
        CHECK(acct.spent() == approx_dp{1.0, 0.0});
        CHECK(acct.ledger().size() == 100000);
        CHECK_FALSE(acct.try_spend(pure_dp{1e-300}, "over"));
    }
    SECTION("8 threads racing for 10000 slots: exactly 10000 accepted") {
        basic acct(approx_dp{1.0, 0.0});
        std::atomic<int> accepted{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < 2500; ++i) accepted += acct.try_spend(pure_dp{1e-4}, "x") ? 1 : 0;
            });
        }
        for (auto& th : threads) th.join();
        CHECK(accepted == 10000);
        CHECK(acct.remaining() == approx_dp{0.0, 0.0});
    }
    SECTION("children spend concurrently while the parent grants and raises") {
        basic parent(approx_dp{100.0, 0.0});
        auto& c1 = parent.grant(approx_dp{10.0, 0.0}, "c1");
        auto& c2 = parent.grant(approx_dp{10.0, 0.0}, "c2");
        std::atomic<int> accepted{0};
        std::atomic<bool> raises_done{false};
        std::vector<std::thread> threads;
        for (auto* child : {&c1, &c2, &c1, &c2}) {
            threads.emplace_back([&, child] {
                // Stop only when a spend fails after every raise has landed: then the grant is spent.
                while (true) {
                    const bool final_budget = raises_done.load();
                    if (child->try_spend(pure_dp{0.01}, "x")) {
                        ++accepted;
                    } else if (final_budget) {
                        break;
                    }
                }
            });
        }
        threads.emplace_back([&] {
            for (int i = 0; i < 10; ++i) parent.raise(c1, approx_dp{1.0, 0.0});
            raises_done = true;
        });
        for (auto& th : threads) th.join();
        CHECK(accepted == 3000);  // (20 + 10) / 0.01
        CHECK(parent.remaining() == approx_dp{70.0, 0.0});
        CHECK(parent.ledger().size() == 2 + 10 + 3000);
    }
}

TEST_CASE("spend_all of mixed cost kinds: all or nothing, and a kind the rule cannot compose is refused", "[accountant]") {
    accountant<basic_composition> acct(approx_dp{1.0, 1e-6});
    const std::vector<std::pair<std::string, any_cost>> parts{{"a", pure_dp{0.25}}, {"b", approx_dp{0.25, 1e-7}}};
    acct.spend_all(std::span<const std::pair<std::string, any_cost>>(parts));
    CHECK(acct.ledger().size() == 2);
    CHECK(acct.spent() == approx_dp{0.5, 1e-7});
    const std::vector<std::pair<std::string, any_cost>> too_much{{"c", pure_dp{0.25}}, {"d", approx_dp{0.3, 0}}};
    CHECK_THROWS_AS(acct.spend_all(std::span<const std::pair<std::string, any_cost>>(too_much)), budget_exhausted);
    CHECK(acct.ledger().size() == 2);
    CHECK(acct.spent() == approx_dp{0.5, 1e-7});

    accountant<zcdp_composition> z(zcdp{1.0});
    const std::vector<std::pair<std::string, any_cost>> mixed{{"e", zcdp{0.1}}, {"f", approx_dp{0.1, 1e-9}}};
    CHECK_THROWS_AS(z.spend_all(std::span<const std::pair<std::string, any_cost>>(mixed)), invalid_argument);
    CHECK(z.ledger().empty());
}
