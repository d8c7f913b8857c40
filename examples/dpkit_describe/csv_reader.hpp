#pragma once
// A streaming reader of delimited text as RFC 4180 specifies it: fields
// separated by a delimiter (',' for CSV, '\t' for TSV), records ended by CRLF
// or LF (a lone CR inside an unquoted field is kept), fields optionally in
// double quotes, in which delimiters, CR and LF are data and "" is one quote.
// The input is read in blocks: memory is one block plus the current record.
// Errors name the physical line (1-based) where the record started and the
// field (1-based): a quote inside an unquoted field, text after a closing
// quote, and an unterminated quoted field at the end of the input.
//
// (Debian's CSV libraries were considered: libfccp fixes the number of columns
// at compile time, and libcsv reports neither the line nor the column of a
// malformed record; this reader is small and tested on the RFC's edge cases in
// tests/examples/test_csv_reader.cpp.)

#include <array>
#include <cstddef>
#include <cstdint>
#include <istream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dpkit_demo {

/// A malformed input: the message names the line and the field.
struct csv_error : std::runtime_error {
    std::uint64_t line;
    std::size_t field;
    csv_error(std::uint64_t l, std::size_t f, const std::string& what)
        : std::runtime_error("line " + std::to_string(l) + ", field " + std::to_string(f) + ": " + what), line(l), field(f) {}
};

class csv_reader {
public:
    explicit csv_reader(std::istream& in, char delimiter = ',') : in_(in), delimiter_(delimiter) {}

    /// Reads the next record into `fields`; false at the end of the input. A
    /// final empty line (the input ends with a line break) is not a record.
    bool next(std::vector<std::string>& fields) {
        fields.clear();
        record_line_ = line_;
        if (!fill()) return false;
        std::string field;
        enum class state { start, unquoted, quoted, quote_in_quoted } st = state::start;
        for (;;) {
            if (!fill()) {
                if (st == state::quoted) throw csv_error(record_line_, fields.size() + 1, "unterminated quoted field");
                fields.push_back(std::move(field));
                return true;
            }
            const char c = buffer_[pos_];
            switch (st) {
                case state::quote_in_quoted:
                    if (c == '"') {
                        field.push_back('"');
                        st = state::quoted;
                        break;
                    }
                    if (c != delimiter_ && c != '\n' && !(c == '\r' && peek_is_lf())) {
                        throw csv_error(record_line_, fields.size() + 1, "text after the closing quote of a quoted field");
                    }
                    st = state::start;  // the field ended: the delimiter or line break is handled below
                    [[fallthrough]];
                case state::start:
                case state::unquoted:
                    if (c == delimiter_) {
                        fields.push_back(std::move(field));
                        field.clear();
                        st = state::start;
                    } else if (c == '\n' || (c == '\r' && peek_is_lf())) {
                        consume_line_break(c);
                        fields.push_back(std::move(field));
                        return true;
                    } else if (c == '"') {
                        if (st == state::unquoted) {
                            throw csv_error(record_line_, fields.size() + 1, "a quote inside an unquoted field (quote the whole field)");
                        }
                        st = state::quoted;
                    } else {
                        field.push_back(c);
                        st = state::unquoted;
                    }
                    break;
                case state::quoted:
                    if (c == '"') {
                        st = state::quote_in_quoted;
                    } else {
                        if (c == '\n') ++line_;
                        field.push_back(c);
                    }
                    break;
            }
            ++pos_;
        }
    }

    /// The line on which the last record returned by next() started.
    std::uint64_t record_line() const noexcept { return record_line_; }
    /// Bytes consumed so far (for progress).
    std::uint64_t bytes_read() const noexcept { return consumed_ + pos_; }

private:
    bool fill() {
        if (pos_ < size_) return true;
        if (eof_) return false;
        consumed_ += size_;
        in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
        size_ = static_cast<std::size_t>(in_.gcount());
        pos_ = 0;
        if (size_ < buffer_.size()) eof_ = true;
        return size_ > 0;
    }
    bool peek_is_lf() {
        // c == '\r' at pos_: a CRLF ends the record; a lone CR is data.
        if (pos_ + 1 < size_) return buffer_[pos_ + 1] == '\n';
        if (eof_) return false;
        const int next = in_.peek();
        return next == '\n';
    }
    void consume_line_break(char c) {
        ++line_;
        ++pos_;
        if (c == '\r') {  // the LF of CRLF
            if (!fill()) return;
            ++pos_;
        }
    }

    std::istream& in_;
    char delimiter_;
    std::array<char, 1 << 16> buffer_{};
    std::size_t size_ = 0;
    std::size_t pos_ = 0;
    std::uint64_t consumed_ = 0;
    bool eof_ = false;
    std::uint64_t line_ = 1;
    std::uint64_t record_line_ = 1;
};

}  // namespace dpkit_demo
