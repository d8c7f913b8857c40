#pragma once
/// \file
/// dpkit::mpi: aggregate shards across the ranks of an MPI communicator and
/// release once. An opt-in integration (CMake target dpkit::mpi, which links
/// MPI); the core never includes it.
///
/// The pattern (any engine can follow it; MPI is the reference):
///   1. every rank bounds contributions and accumulates its shard;
///   2. reduce() merges the serialized exact states onto one rank, the root;
///   3. release_once() releases there with one spend of the root's accountant
///      and broadcasts the released value to every rank.
/// Only released values leave the root. What crosses the network before that
/// are the ranks' exact, pre-noise partial states and, in shuffle_by_unit, the
/// raw rows: both are as sensitive as the data, so the MPI fabric (the hosts,
/// the links, the MPI runtime) must be trusted as much as the data itself.
///
/// Reduction. Exact states merge by integer addition, so the merged state does
/// not depend on the order of merging: it is byte for byte the state that one
/// process adding every value would hold. States whose serialized size depends
/// only on their public parameters (fixed_size_state) are reduced by MPI_Reduce
/// with a user-defined MPI_Op on the serialized bytes; the others (key
/// histograms, quantile trees and describers, whose states list only their
/// non-zero cells) by a binomial tree of MPI_Send/MPI_Recv
/// of serialized bytes, ceil(log2(p)) rounds, each rank merging what its
/// children send. Both are collective: every rank returns, or every rank throws
/// the same dpkit::invalid_argument (different parameters, a malformed or
/// released state), so that no rank is left waiting.
///
/// Contribution bounding across ranks. A privacy unit whose rows sit on several
/// ranks must still be capped as one unit, which no rank can do alone.
/// shuffle_by_unit() sends every row to the rank owner_of(unit) chosen by a
/// keyed hash of the unit id (SipHash-2-4: Aumasson, Bernstein 2012, "SipHash:
/// a fast short-input PRF") with MPI_Alltoallv, so that each unit's rows all
/// live on one rank; the usual bounders then cap it there, globally. The key is
/// drawn from dpkit::secure_generator on the root and broadcast
/// (make_shuffle_key): the rank that holds a unit then depends on no property of
/// the id an outsider could choose or predict. The privacy guarantee does not
/// rest on the key; it rests on the bounding and on the trusted fabric.

#include <mpi.h>

#include <algorithm>
#include <array>
#include <bit>
#include <climits>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "aggregates.hpp"
#include "error.hpp"
#include "random/secure_generator.hpp"

namespace dpkit::mpi {

/// An accumulator that can cross ranks: serialize(), a static deserialize(bytes)
/// that refuses malformed or released states, and merge(other).
template <class A>
concept mergeable_state = std::copy_constructible<A> && requires(const A& ca, A& a, std::span<const std::byte> b) {
    { ca.serialize() } -> std::same_as<std::vector<std::byte>>;
    { A::deserialize(b) } -> std::same_as<A>;
    a.merge(ca);
};

/// True for accumulators whose serialized size depends on their public
/// parameters only (so that a merge keeps the size and an MPI_Op can reduce
/// them in place): counts, sums, means, variances and the histograms over
/// declared bins or categories. Specialize it to true for another such type.
template <class A>
inline constexpr bool fixed_size_state = false;
template <>
inline constexpr bool fixed_size_state<count> = true;
template <class T>
inline constexpr bool fixed_size_state<bounded_sum<T>> = true;
template <>
inline constexpr bool fixed_size_state<bounded_mean> = true;
template <>
inline constexpr bool fixed_size_state<bounded_variance> = true;
template <>
inline constexpr bool fixed_size_state<histogram> = true;
template <class K>
inline constexpr bool fixed_size_state<category_histogram<K>> = true;

/// How reduce() moves the states.
enum class reduction : std::uint8_t {
    automatic,  ///< custom_op for fixed_size_state types, tree otherwise
    custom_op,  ///< MPI_Reduce with a user-defined MPI_Op on the serialized bytes (fixed_size_state only)
    tree,       ///< a binomial tree of point-to-point messages (any size)
};

namespace detail {

using dpkit::detail::throw_invalid;

/// Exceptions carried from one rank to the others.
enum class failure : std::uint8_t { none = 0, invalid = 1, budget = 2, other = 3 };

inline void check(int rc, const char* what) {
    if (rc != MPI_SUCCESS) throw std::runtime_error(std::string("dpkit::mpi: ") + what + " failed");
}

inline int rank_of(MPI_Comm comm) {
    int r = 0;
    check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank");
    return r;
}
inline int size_of(MPI_Comm comm) {
    int s = 0;
    check(MPI_Comm_size(comm, &s), "MPI_Comm_size");
    return s;
}
inline void check_root(const char* who, MPI_Comm comm, int root) {
    if (root < 0 || root >= size_of(comm)) throw_invalid(who, "root must be a rank of the communicator", root);
}

/// Broadcasts the outcome of a step done on the root (or collected there) and
/// throws the same exception on every rank if it failed.
inline void settle(MPI_Comm comm, int root, failure f, const std::string& message) {
    std::array<std::uint64_t, 2> head{static_cast<std::uint64_t>(f), message.size()};
    check(MPI_Bcast(head.data(), 2, MPI_UINT64_T, root, comm), "MPI_Bcast");
    if (head[0] == 0) return;
    std::string text(static_cast<std::size_t>(head[1]), '\0');
    check(MPI_Bcast(text.data(), static_cast<int>(head[1]), MPI_CHAR, root, comm), "MPI_Bcast");
    if (head[0] == static_cast<std::uint64_t>(failure::invalid)) throw dpkit::invalid_argument(text);
    if (head[0] == static_cast<std::uint64_t>(failure::budget)) throw dpkit::budget_exhausted(text);
    throw std::runtime_error(text);
}

/// Runs f, turning an exception into (kind, message) for settle().
template <class F>
std::pair<failure, std::string> capture(F&& f) {
    try {
        f();
        return {failure::none, {}};
    } catch (const dpkit::invalid_argument& e) {
        return {failure::invalid, e.what()};
    } catch (const dpkit::budget_exhausted& e) {
        return {failure::budget, e.what()};
    } catch (const std::exception& e) {
        return {failure::other, e.what()};
    }
}

inline int checked_int(const char* who, std::size_t n) {
    if (n > static_cast<std::size_t>(INT_MAX)) throw_invalid(who, "a message must be at most 2^31 - 1 bytes", n);
    return static_cast<int>(n);
}

// ---- The custom MPI_Op: deserialize both sides, merge, serialize in place.
// A failure cannot be thrown through MPI: the result is "poisoned" instead (its
// first byte, normally the 'D' of the magic, becomes 0, followed by the message)
// and every later merge passes the poison on, so the root sees it.

inline void poison(std::byte* out, std::size_t len, const std::string& message) {
    std::memset(out, 0, len);
    std::memcpy(out + 1, message.data(), std::min(message.size(), len > 2 ? len - 2 : 0));
}
inline bool poisoned(const std::byte* p) { return p[0] == std::byte{0}; }
inline std::string poison_message(const std::byte* p, std::size_t len) {
    std::string s;
    for (std::size_t i = 1; i < len && p[i] != std::byte{0}; ++i) s.push_back(static_cast<char>(p[i]));
    return s;
}

template <class A>
void merge_op(void* in, void* inout, int* count, MPI_Datatype* type) {
    int bytes = 0;
    MPI_Type_size(*type, &bytes);
    const auto len = static_cast<std::size_t>(bytes);
    for (int i = 0; i < *count; ++i) {
        const auto* a = static_cast<const std::byte*>(in) + static_cast<std::size_t>(i) * len;
        auto* b = static_cast<std::byte*>(inout) + static_cast<std::size_t>(i) * len;
        if (poisoned(b)) continue;
        if (poisoned(a)) {
            std::memcpy(b, a, len);
            continue;
        }
        try {
            A merged = A::deserialize(std::span<const std::byte>(a, len));
            merged.merge(A::deserialize(std::span<const std::byte>(b, len)));
            const auto out = merged.serialize();
            if (out.size() != len) {
                poison(b, len, "dpkit::mpi::reduce: a merge changed the size of a fixed_size_state");
            } else {
                std::memcpy(b, out.data(), len);
            }
        } catch (const std::exception& e) {
            poison(b, len, e.what());
        }
    }
}

template <class A>
std::optional<A> reduce_with_op(const A& local, MPI_Comm comm, int root) {
    static constexpr const char* who = "dpkit::mpi::reduce";
    const std::vector<std::byte> mine = local.serialize();
    // Every rank must hold a state of the same size (else the parameters differ).
    std::array<long long, 2> extent{static_cast<long long>(mine.size()), -static_cast<long long>(mine.size())};
    check(MPI_Allreduce(MPI_IN_PLACE, extent.data(), 2, MPI_LONG_LONG, MPI_MAX, comm), "MPI_Allreduce");
    if (extent[0] != -extent[1]) {
        throw_invalid(who, "the ranks' states differ in size (different parameters or types)", static_cast<std::size_t>(extent[0]));
    }
    const int len = checked_int(who, mine.size());
    MPI_Datatype type{};
    check(MPI_Type_contiguous(len, MPI_BYTE, &type), "MPI_Type_contiguous");
    check(MPI_Type_commit(&type), "MPI_Type_commit");
    MPI_Op op{};
    check(MPI_Op_create(&merge_op<A>, 0, &op), "MPI_Op_create");
    const bool at_root = rank_of(comm) == root;
    std::vector<std::byte> merged(at_root ? mine.size() : 0);
    const int rc = MPI_Reduce(mine.data(), at_root ? merged.data() : nullptr, 1, type, op, root, comm);
    MPI_Op_free(&op);
    MPI_Type_free(&type);
    check(rc, "MPI_Reduce");
    std::optional<A> out;
    failure f = failure::none;
    std::string message;
    if (at_root) {
        if (poisoned(merged.data())) {
            f = failure::invalid;
            message = poison_message(merged.data(), merged.size());
        } else {
            std::tie(f, message) = capture([&] { out.emplace(A::deserialize(merged)); });
        }
    }
    settle(comm, root, f, message);
    return out;
}

inline constexpr int tree_tag = 0x4450;  // "DP"

template <class A>
std::optional<A> reduce_with_tree(const A& local, MPI_Comm comm, int root) {
    static constexpr const char* who = "dpkit::mpi::reduce";
    const int size = size_of(comm);
    const int rel = (rank_of(comm) - root + size) % size;
    std::optional<A> acc(local);
    failure f = failure::none;
    std::string message;
    for (int step = 1; step < size; step <<= 1) {
        if (rel & step) {
            // Send the merged subtree (or the failure) to the parent, then stop.
            std::vector<std::byte> payload{static_cast<std::byte>(f)};
            if (f == failure::none) {
                std::tie(f, message) = capture([&] {
                    const auto s = acc->serialize();
                    checked_int(who, s.size() + 1);
                    payload.insert(payload.end(), s.begin(), s.end());
                });
            }
            if (f != failure::none) {
                payload.assign(1, static_cast<std::byte>(f));
                const auto* m = reinterpret_cast<const std::byte*>(message.data());
                payload.insert(payload.end(), m, m + message.size());
            }
            const int parent = (rel - step + root) % size;
            check(MPI_Send(payload.data(), static_cast<int>(payload.size()), MPI_BYTE, parent, tree_tag, comm), "MPI_Send");
            break;
        }
        if (rel + step >= size) continue;
        const int child = (rel + step + root) % size;
        MPI_Status status{};
        check(MPI_Probe(child, tree_tag, comm, &status), "MPI_Probe");
        int n = 0;
        check(MPI_Get_count(&status, MPI_BYTE, &n), "MPI_Get_count");
        std::vector<std::byte> payload(static_cast<std::size_t>(n));
        check(MPI_Recv(payload.data(), n, MPI_BYTE, child, tree_tag, comm, MPI_STATUS_IGNORE), "MPI_Recv");
        if (f != failure::none) continue;  // keep the first failure, but drain the children
        if (payload.empty()) {
            f = failure::other;
            message = "dpkit::mpi::reduce: an empty message";
        } else if (payload[0] != std::byte{0}) {
            f = static_cast<failure>(payload[0]);
            message.assign(reinterpret_cast<const char*>(payload.data() + 1), payload.size() - 1);
        } else {
            std::tie(f, message) = capture([&] { acc->merge(A::deserialize(std::span<const std::byte>(payload).subspan(1))); });
        }
    }
    settle(comm, root, rel == 0 ? f : failure::none, message);
    if (rel != 0) acc.reset();
    return acc;
}

}  // namespace detail

/// Merges every rank's state onto `root` (collective). The root gets the merged
/// state, equal byte for byte to one state fed every rank's values; the other
/// ranks get std::nullopt. Every rank throws the same dpkit::invalid_argument if
/// the states cannot be merged (different parameters, a released state).
template <mergeable_state A>
std::optional<A> reduce(const A& local, MPI_Comm comm, int root = 0, reduction how = reduction::automatic) {
    detail::check_root("dpkit::mpi::reduce", comm, root);
    if (how == reduction::automatic) how = fixed_size_state<A> ? reduction::custom_op : reduction::tree;
    if (how == reduction::custom_op) {
        if constexpr (fixed_size_state<A>) {
            return detail::reduce_with_op(local, comm, root);
        } else {
            dpkit::detail::throw_invalid("dpkit::mpi::reduce", "reduction::custom_op needs a fixed_size_state type");
        }
    }
    if (how != reduction::tree) dpkit::detail::throw_invalid("dpkit::mpi::reduce", "unknown reduction");
    return detail::reduce_with_tree(local, comm, root);
}

// ---- Broadcasting released values.

namespace detail {

class wire_writer {
public:
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<std::byte>(v >> (8 * i)));
    }
    void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
    void str(const std::string& s) {
        u64(s.size());
        for (char c : s) bytes_.push_back(static_cast<std::byte>(c));
    }
    std::vector<std::byte>& bytes() { return bytes_; }

private:
    std::vector<std::byte> bytes_;
};

class wire_reader {
public:
    explicit wire_reader(std::span<const std::byte> b) : bytes_(b) {}
    std::uint64_t u64() {
        if (bytes_.size() - pos_ < 8) throw std::runtime_error("dpkit::mpi::broadcast: truncated message");
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(bytes_[pos_++]) << (8 * i);
        return v;
    }
    double f64() { return std::bit_cast<double>(u64()); }
    std::string str() {
        const std::uint64_t n = u64();
        if (n > bytes_.size() - pos_) throw std::runtime_error("dpkit::mpi::broadcast: truncated message");
        std::string s(static_cast<std::size_t>(n), '\0');
        for (auto& c : s) c = static_cast<char>(bytes_[pos_++]);
        return s;
    }
    std::size_t length() {
        const std::uint64_t n = u64();
        if (n > bytes_.size() - pos_) throw std::runtime_error("dpkit::mpi::broadcast: bad length");
        return static_cast<std::size_t>(n);
    }

private:
    std::span<const std::byte> bytes_;
    std::size_t pos_ = 0;
};

inline void put(wire_writer& w, double v) { w.f64(v); }
inline void get(wire_reader& r, double& v) { v = r.f64(); }
inline void put(wire_writer& w, const std::string& s) { w.str(s); }
inline void get(wire_reader& r, std::string& s) { s = r.str(); }
inline void put(wire_writer& w, const interval& v) {
    w.f64(v.lower);
    w.f64(v.upper);
}
inline void get(wire_reader& r, interval& v) {
    v.lower = r.f64();
    v.upper = r.f64();
}
template <class T>
void put(wire_writer& w, const std::vector<T>& v) {
    w.u64(v.size());
    for (const auto& x : v) put(w, x);
}
template <class T>
void get(wire_reader& r, std::vector<T>& v) {
    v.assign(r.length(), T{});
    for (auto& x : v) get(r, x);
}

inline void put(wire_writer& w, const any_cost& c) {
    w.u64(c.index());
    if (const auto* p = std::get_if<pure_dp>(&c)) {
        w.f64(p->epsilon);
    } else if (const auto* a = std::get_if<approx_dp>(&c)) {
        w.f64(a->epsilon);
        w.f64(a->delta);
    } else if (const auto* z = std::get_if<zcdp>(&c)) {
        w.f64(z->rho);
    } else if (const auto* curve = std::get_if<rdp_curve>(&c)) {
        put(w, curve->orders);
        put(w, curve->epsilons);
    } else {
        throw std::runtime_error("dpkit::mpi::broadcast: a privacy_loss_distribution cost cannot be broadcast");
    }
}
inline void get(wire_reader& r, any_cost& c) {
    switch (r.u64()) {
        case 0: c = pure_dp{r.f64()}; break;
        case 1: {
            const double e = r.f64();
            c = approx_dp{e, r.f64()};
            break;
        }
        case 2: c = zcdp{r.f64()}; break;
        case 3: {
            rdp_curve curve;
            get(r, curve.orders);
            get(r, curve.epsilons);
            c = std::move(curve);
            break;
        }
        default: throw std::runtime_error("dpkit::mpi::broadcast: bad cost kind");
    }
}
inline void put(wire_writer& w, const release_cost& c) {
    w.str(c.label);
    put(w, c.cost);
}
inline void get(wire_reader& r, release_cost& c) {
    c.label = r.str();
    get(r, c.cost);
}
inline void put(wire_writer& w, const histogram_estimate& h) {
    put(w, h.counts);
    put(w, h.noisy);
    put(w, h.intervals);
    w.f64(h.noisy_total);
    w.u64(static_cast<std::uint64_t>(h.coverage));
    w.u64(static_cast<std::uint64_t>(h.postprocessing));
}
inline void get(wire_reader& r, histogram_estimate& h) {
    get(r, h.counts);
    get(r, h.noisy);
    get(r, h.intervals);
    h.noisy_total = r.f64();
    h.coverage = static_cast<histogram_coverage>(r.u64());
    h.postprocessing = static_cast<histogram_postprocessing>(r.u64());
}
template <class T>
void put(wire_writer& w, const released<T>& v) {
    put(w, v.value);
    put(w, v.confidence);
    w.f64(v.level);
    put(w, v.costs);
}
template <class T>
void get(wire_reader& r, released<T>& v) {
    get(r, v.value);
    get(r, v.confidence);
    v.level = r.f64();
    get(r, v.costs);
}
inline void put(wire_writer& w, const described_statistic& s) {
    w.str(s.name);
    w.f64(s.value);
    put(w, s.confidence);
}
inline void get(wire_reader& r, described_statistic& s) {
    s.name = r.str();
    s.value = r.f64();
    get(r, s.confidence);
}
inline void put(wire_writer& w, const budget_share& s) {
    w.str(s.part);
    w.str(s.used_by);
    w.f64(s.fraction);
    put(w, s.cost);
}
inline void get(wire_reader& r, budget_share& s) {
    s.part = r.str();
    s.used_by = r.str();
    s.fraction = r.f64();
    get(r, s.cost);
}
inline void put(wire_writer& w, const column_description& d) {
    w.str(d.column);
    w.u64(static_cast<std::uint64_t>(d.kind));
    put(w, d.statistics);
    w.f64(d.level);
    w.f64(d.table_fraction);
    put(w, d.split);
}
inline void get(wire_reader& r, column_description& d) {
    d.column = r.str();
    d.kind = static_cast<column_kind>(r.u64());
    get(r, d.statistics);
    d.level = r.f64();
    d.table_fraction = r.f64();
    get(r, d.split);
}
inline void put(wire_writer& w, const table_description& t) {
    put(w, t.columns);
    w.f64(t.level);
    put(w, t.costs);
}
inline void get(wire_reader& r, table_description& t) {
    get(r, t.columns);
    t.level = r.f64();
    get(r, t.costs);
}

}  // namespace detail

/// A released value that broadcast() can send: released<double>,
/// released<histogram_estimate>, column_description, table_description.
template <class T>
concept broadcastable = std::default_initializable<T> && requires(detail::wire_writer& w, detail::wire_reader& r, const T& c, T& v) {
    detail::put(w, c);
    detail::get(r, v);
};

/// Sends the root's `value` to every rank (collective). Meant for released
/// values only: nothing exact or pre-noise should ever be broadcast.
template <broadcastable T>
void broadcast(T& value, MPI_Comm comm, int root = 0) {
    detail::check_root("dpkit::mpi::broadcast", comm, root);
    const bool at_root = detail::rank_of(comm) == root;
    detail::wire_writer w;
    if (at_root) detail::put(w, value);
    std::uint64_t n = w.bytes().size();
    detail::check(MPI_Bcast(&n, 1, MPI_UINT64_T, root, comm), "MPI_Bcast");
    const int len = detail::checked_int("dpkit::mpi::broadcast", static_cast<std::size_t>(n));
    if (!at_root) w.bytes().resize(static_cast<std::size_t>(n));
    detail::check(MPI_Bcast(w.bytes().data(), len, MPI_BYTE, root, comm), "MPI_Bcast");
    if (!at_root) {
        detail::wire_reader r(w.bytes());
        detail::get(r, value);
    }
}

/// Releases once (collective): `release` runs on the root only (where it
/// spends the root's accountant once and draws the noise once) and its result
/// is broadcast to every rank. If it throws (budget_exhausted, invalid_argument)
/// every rank throws the same kind of exception with the same message.
template <class F>
    requires broadcastable<std::invoke_result_t<F&>>
std::invoke_result_t<F&> release_once(MPI_Comm comm, int root, F&& release) {
    detail::check_root("dpkit::mpi::release_once", comm, root);
    std::invoke_result_t<F&> out{};
    auto [f, message] = detail::rank_of(comm) == root ? detail::capture([&] { out = release(); })
                                                      : std::pair<detail::failure, std::string>{};
    detail::settle(comm, root, f, message);
    broadcast(out, comm, root);
    return out;
}

// ---- Contribution bounding across ranks.

/// The secret key of the keyed hash that assigns units to ranks.
struct shuffle_key {
    std::array<std::uint64_t, 2> words{};
};

/// Draws a key from dpkit::secure_generator on `root` and broadcasts it
/// (collective): every rank gets the same key.
inline shuffle_key make_shuffle_key(MPI_Comm comm, int root = 0) {
    detail::check_root("dpkit::mpi::make_shuffle_key", comm, root);
    shuffle_key k;
    if (detail::rank_of(comm) == root) {
        secure_generator g;
        k.words = {g(), g()};
    }
    detail::check(MPI_Bcast(k.words.data(), 2, MPI_UINT64_T, root, comm), "MPI_Bcast");
    return k;
}

namespace detail {

inline void sip_round(std::uint64_t& v0, std::uint64_t& v1, std::uint64_t& v2, std::uint64_t& v3) {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
}

}  // namespace detail

/// SipHash-2-4 of `data` under `key` (Aumasson, Bernstein 2012); key words are
/// the little-endian halves of the 128-bit key.
inline std::uint64_t siphash24(const shuffle_key& key, std::span<const std::byte> data) {
    const std::uint64_t k0 = key.words[0];
    const std::uint64_t k1 = key.words[1];
    std::uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    std::uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    std::uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    std::uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    const std::size_t whole = data.size() / 8 * 8;
    const auto word = [&](std::size_t at, std::size_t n) {
        std::uint64_t m = 0;
        for (std::size_t i = 0; i < n; ++i) m |= static_cast<std::uint64_t>(data[at + i]) << (8 * i);
        return m;
    };
    for (std::size_t at = 0; at < whole; at += 8) {
        const std::uint64_t m = word(at, 8);
        v3 ^= m;
        detail::sip_round(v0, v1, v2, v3);
        detail::sip_round(v0, v1, v2, v3);
        v0 ^= m;
    }
    const std::uint64_t b = (static_cast<std::uint64_t>(data.size() & 0xff) << 56) | word(whole, data.size() - whole);
    v3 ^= b;
    detail::sip_round(v0, v1, v2, v3);
    detail::sip_round(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    for (int i = 0; i < 4; ++i) detail::sip_round(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/// A unit id that can be shuffled: an integer or a std::string.
template <class U>
concept shuffle_unit = std::integral<U> || std::same_as<U, std::string>;

namespace detail {

template <shuffle_unit U>
void put_unit(std::vector<std::byte>& out, const U& u) {
    if constexpr (std::integral<U>) {
        const auto v = static_cast<std::uint64_t>(u);
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
    } else {
        const std::uint64_t n = u.size();
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>(n >> (8 * i)));
        for (char c : u) out.push_back(static_cast<std::byte>(c));
    }
}

}  // namespace detail

/// The rank (in [0, ranks)) that holds `unit`'s rows after shuffle_by_unit.
template <shuffle_unit U>
int owner_of(const U& unit, const shuffle_key& key, int ranks) {
    if (ranks < 1) dpkit::detail::throw_invalid("dpkit::mpi::owner_of", "ranks must be >= 1", ranks);
    std::uint64_t h = 0;
    if constexpr (std::integral<U>) {
        std::array<std::byte, 8> b{};
        const auto v = static_cast<std::uint64_t>(unit);
        for (std::size_t i = 0; i < 8; ++i) b[i] = static_cast<std::byte>(v >> (8 * i));
        h = siphash24(key, b);
    } else {
        std::vector<std::byte> b;
        detail::put_unit(b, unit);
        h = siphash24(key, b);
    }
    return static_cast<int>((static_cast<dpkit::detail::u128>(h) * static_cast<unsigned>(ranks)) >> 64);
}

/// Sends every row (unit, value) to the rank owner_of(unit) with MPI_Alltoallv
/// (collective) and returns the rows this rank now holds, every row of each of
/// its units, from all ranks, in rank order. Bound them with any dpkit bounder:
/// the caps then hold per unit across the whole communicator. The raw rows
/// cross the network (trusted fabric); values travel as their object bytes, so
/// every rank must run the same build.
template <shuffle_unit U, class V>
    requires std::is_trivially_copyable_v<V> && std::default_initializable<V>
std::vector<std::pair<U, V>> shuffle_by_unit(std::span<const std::pair<U, V>> rows, const shuffle_key& key, MPI_Comm comm) {
    static constexpr const char* who = "dpkit::mpi::shuffle_by_unit";
    const int size = detail::size_of(comm);
    const auto ranks = static_cast<std::size_t>(size);
    std::vector<std::vector<std::byte>> outgoing(ranks);
    for (const auto& [unit, value] : rows) {
        auto& out = outgoing[static_cast<std::size_t>(owner_of(unit, key, size))];
        detail::put_unit(out, unit);
        const auto* p = reinterpret_cast<const std::byte*>(&value);
        out.insert(out.end(), p, p + sizeof(V));
    }
    std::vector<long long> send_counts(ranks), recv_counts(ranks);
    for (std::size_t r = 0; r < ranks; ++r) send_counts[r] = static_cast<long long>(outgoing[r].size());
    detail::check(MPI_Alltoall(send_counts.data(), 1, MPI_LONG_LONG, recv_counts.data(), 1, MPI_LONG_LONG, comm), "MPI_Alltoall");
    long long sent = 0, received = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
        sent += send_counts[r];
        received += recv_counts[r];
    }
    long long largest = std::max(sent, received);
    detail::check(MPI_Allreduce(MPI_IN_PLACE, &largest, 1, MPI_LONG_LONG, MPI_MAX, comm), "MPI_Allreduce");
    if (largest > INT_MAX) {
        dpkit::detail::throw_invalid(who, "a rank would send or receive more than 2^31 - 1 bytes: shuffle in batches",
                                     static_cast<std::uint64_t>(largest));
    }
    std::vector<int> sc(ranks), sd(ranks), rc(ranks), rd(ranks);
    std::vector<std::byte> send_buf;
    send_buf.reserve(static_cast<std::size_t>(sent));
    int s_at = 0, r_at = 0;
    for (std::size_t r = 0; r < ranks; ++r) {
        sc[r] = static_cast<int>(send_counts[r]);
        sd[r] = s_at;
        s_at += sc[r];
        rc[r] = static_cast<int>(recv_counts[r]);
        rd[r] = r_at;
        r_at += rc[r];
        send_buf.insert(send_buf.end(), outgoing[r].begin(), outgoing[r].end());
        outgoing[r] = {};
    }
    std::vector<std::byte> recv_buf(static_cast<std::size_t>(received));
    detail::check(MPI_Alltoallv(send_buf.data(), sc.data(), sd.data(), MPI_BYTE, recv_buf.data(), rc.data(), rd.data(), MPI_BYTE, comm),
                  "MPI_Alltoallv");
    std::vector<std::pair<U, V>> out;
    std::size_t at = 0;
    const auto u64_at = [&](std::size_t i) {
        std::uint64_t v = 0;
        for (int b = 0; b < 8; ++b) v |= static_cast<std::uint64_t>(recv_buf[i + static_cast<std::size_t>(b)]) << (8 * b);
        return v;
    };
    while (at < recv_buf.size()) {
        std::pair<U, V> row{};
        if constexpr (std::integral<U>) {
            row.first = static_cast<U>(u64_at(at));
            at += 8;
        } else {
            const auto n = static_cast<std::size_t>(u64_at(at));
            at += 8;
            row.first.assign(reinterpret_cast<const char*>(recv_buf.data() + at), n);
            at += n;
        }
        std::memcpy(&row.second, recv_buf.data() + at, sizeof(V));
        at += sizeof(V);
        out.push_back(std::move(row));
    }
    return out;
}

/// The same for rows held in a std::vector.
template <shuffle_unit U, class V>
std::vector<std::pair<U, V>> shuffle_by_unit(const std::vector<std::pair<U, V>>& rows, const shuffle_key& key, MPI_Comm comm) {
    return shuffle_by_unit(std::span<const std::pair<U, V>>(rows), key, comm);
}

}  // namespace dpkit::mpi
