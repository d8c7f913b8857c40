#pragma once
/// \file
/// The serialization format of dpkit's aggregates, version 1. Every state is
///   magic "DPKA" (4 bytes) | version (u16) | kind (u8) | released flag (u8) |
///   public parameters | state
/// with every integer little-endian (u64, i64; 128-bit integers as low u64 then
/// high u64) and every double as the little-endian u64 of its IEEE-754 bits, so
/// the bytes are the same on every platform and a state round-trips byte for
/// byte. deserialize() never trusts its input: a wrong magic, version or kind,
/// a truncated or over-long buffer, parameters that the constructor would
/// refuse, a state outside what those parameters allow, or a released state is
/// refused with dpkit::invalid_argument naming the problem.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "../detail/format.hpp"
#include "../detail/int128.hpp"

namespace dpkit {

/// The aggregate kinds in the serialization header.
enum class aggregate_kind : std::uint8_t {
    count = 1,
    bounded_sum_real = 2,
    bounded_sum_integer = 3,
    bounded_mean = 4,
    bounded_variance = 5,
    histogram = 6,
    category_histogram = 7,
    row_sum = 8,
    quantile_tree = 9,
    key_histogram = 10,
    column_describer = 11,
    category_describer = 12,
    table_describer = 13,
};

namespace detail {

inline constexpr std::uint16_t serialization_version = 1;

class byte_writer {
public:
    byte_writer(aggregate_kind kind, bool is_released) {
        for (char c : {'D', 'P', 'K', 'A'}) bytes_.push_back(static_cast<std::byte>(c));
        u16(serialization_version);
        u8(static_cast<std::uint8_t>(kind));
        u8(is_released ? 1 : 0);
    }
    void u8(std::uint8_t v) { bytes_.push_back(static_cast<std::byte>(v)); }
    void u16(std::uint16_t v) {
        for (int i = 0; i < 2; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
    void i128v(i128 v) {
        const auto u = static_cast<u128>(v);
        u64(static_cast<std::uint64_t>(u));
        u64(static_cast<std::uint64_t>(u >> 64));
    }
    void f64(double v) { u64(std::bit_cast<std::uint64_t>(v)); }
    /// A length-prefixed byte string (a nested state, a name).
    void bytes(std::span<const std::byte> b) {
        u64(b.size());
        bytes_.insert(bytes_.end(), b.begin(), b.end());
    }
    std::vector<std::byte> take() { return std::move(bytes_); }

private:
    std::vector<std::byte> bytes_;
};

class byte_reader {
public:
    /// Checks the header; `who` names the aggregate in errors.
    byte_reader(const char* who, std::span<const std::byte> bytes, aggregate_kind kind) : who_(who), bytes_(bytes) {
        const char magic[4] = {'D', 'P', 'K', 'A'};
        for (char c : magic) {
            if (u8() != static_cast<std::uint8_t>(c)) fail("not a dpkit aggregate state (bad magic bytes)");
        }
        const std::uint16_t version = u16();
        if (version != serialization_version) throw_invalid(who_, "unsupported serialization format version", version);
        const std::uint8_t k = u8();
        if (k != static_cast<std::uint8_t>(kind)) throw_invalid(who_, "the state is of another aggregate kind", k);
        const std::uint8_t flag = u8();
        if (flag > 1) fail("malformed state (bad released flag)");
        if (flag == 1) fail("the state was already released and cannot be used again");
    }
    std::uint8_t u8() {
        need(1);
        return static_cast<std::uint8_t>(bytes_[pos_++]);
    }
    std::uint16_t u16() {
        std::uint16_t v = 0;
        for (int i = 0; i < 2; ++i) v = static_cast<std::uint16_t>(v | (static_cast<std::uint16_t>(u8()) << (8 * i)));
        return v;
    }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(u8()) << (8 * i);
        return v;
    }
    std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
    i128 i128v() {
        const std::uint64_t lo = u64();
        const std::uint64_t hi = u64();
        return static_cast<i128>((static_cast<u128>(hi) << 64) | lo);
    }
    double f64() { return std::bit_cast<double>(u64()); }
    /// A length-prefixed byte string written by byte_writer::bytes.
    std::span<const std::byte> bytes() {
        const std::uint64_t n = u64();
        if (n > bytes_.size() - pos_) fail("malformed state (truncated)");
        const auto out = bytes_.subspan(pos_, static_cast<std::size_t>(n));
        pos_ += static_cast<std::size_t>(n);
        return out;
    }
    /// Throws unless every byte was read.
    void finish() const {
        if (pos_ != bytes_.size()) fail("malformed state (trailing bytes)");
    }
    [[noreturn]] void fail(const std::string& rule) const { throw_invalid(who_, rule); }

private:
    void need(std::size_t n) const {
        if (bytes_.size() - pos_ < n) fail("malformed state (truncated)");
    }
    const char* who_;
    std::span<const std::byte> bytes_;
    std::size_t pos_ = 0;
};

}  // namespace detail
}  // namespace dpkit
