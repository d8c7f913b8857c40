#pragma once
/// \file
/// dpkit::count: the number of rows, released once with Laplace or Gaussian noise.
///
/// Neighbouring datasets: add or remove one privacy unit, which contributes at
/// most `max_contributions` rows (1 unless contribution bounding enforces a
/// larger cap), so the sensitivity is max_contributions. The count is an exact
/// 64-bit integer; merging adds counts exactly.

#include <cstdint>
#include <random>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/format.hpp"
#include "release.hpp"
#include "serialization.hpp"

namespace dpkit {

/// A mergeable count of rows with one release.
class count {
public:
    /// Each privacy unit adds at most `max_contributions` rows (>= 1).
    explicit count(std::uint64_t max_contributions = 1) : max_contributions_(max_contributions) {
        if (max_contributions_ == 0) detail::throw_invalid(who, "max_contributions must be >= 1", max_contributions_);
    }

    /// Counts one row.
    void add() {
        check_open("add");
        ++n_;
    }
    /// Counts one row (its value is not used; a string is one row, not a range).
    template <class T>
        requires(!std::ranges::input_range<T> || std::convertible_to<const T&, std::string_view>)
    void add(const T&) {
        add();
    }
    /// Counts every element of a range, one row each (no copy).
    template <std::ranges::input_range R>
        requires(!std::convertible_to<const R&, std::string_view>)
    void add(R&& rows) {
        check_open("add");
        if constexpr (std::ranges::sized_range<R>) {
            n_ += static_cast<std::uint64_t>(std::ranges::size(rows));
        } else {
            for (auto it = std::ranges::begin(rows); it != std::ranges::end(rows); ++it) ++n_;
        }
    }

    /// Adds another shard's count (same max_contributions, neither released).
    void merge(const count& other) {
        check_open("merge");
        if (other.released_) detail::throw_invalid(who, "cannot merge a state that was already released");
        if (other.max_contributions_ != max_contributions_) {
            detail::throw_invalid(who, "cannot merge counts with different max_contributions", other.max_contributions_);
        }
        n_ += other.n_;
    }

    std::uint64_t max_contributions() const noexcept { return max_contributions_; }
    bool is_released() const noexcept { return released_; }

    /// The interval around the release, at `level`, that a release with this
    /// noise would report (computed without spending anything).
    template <noise_spec Noise>
    interval noise_interval(const Noise& noise, double level) const {
        return detail::planned_noise_interval(noise, max_contributions_, level);
    }

    /// Releases the noisy count once: spends the noise's cost through `acct`
    /// (budget_exhausted, and nothing changed, when refused).
    template <class Rule, noise_spec Noise, std::uniform_random_bit_generator G>
    released<double> release(accountant<Rule>& acct, const Noise& noise, double level, G& g, std::string_view label) {
        check_open("release");
        const auto r = detail::draw_integer<Rule>(static_cast<detail::i128>(n_), max_contributions_, noise, level, g);
        auto costs = detail::spend_parts(acct, std::array{std::pair{std::string(label), r.cost}});
        released_ = true;
        const double value = r.scaled(0);
        return released<double>{value, around(value, r.noise), level, std::move(costs)};
    }

    /// The versioned, platform-independent state (see serialization.hpp).
    std::vector<std::byte> serialize() const {
        detail::byte_writer w(aggregate_kind::count, released_);
        w.u64(max_contributions_);
        w.u64(n_);
        return w.take();
    }
    /// Rebuilds an unreleased state; refuses anything malformed or released.
    static count deserialize(std::span<const std::byte> bytes) {
        detail::byte_reader r(who, bytes, aggregate_kind::count);
        const std::uint64_t cap = r.u64();
        if (cap == 0) r.fail("malformed state (max_contributions must be >= 1)");
        count c(cap);
        c.n_ = r.u64();
        r.finish();
        return c;
    }

private:
    static constexpr const char* who = "dpkit::count";

    void check_open(const char* what) const {
        if (released_) detail::throw_invalid(who, std::string(what) + " after release: the count was already released");
    }

    std::uint64_t max_contributions_;
    std::uint64_t n_ = 0;
    bool released_ = false;
};

}  // namespace dpkit
