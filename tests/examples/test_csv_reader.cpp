// The streaming CSV/TSV reader of dpkit-describe on RFC 4180's cases: quoted
// fields, doubled quotes, embedded delimiters and line breaks, CRLF and LF,
// a missing final line break, empty fields, block boundaries, and the
// malformed inputs it must refuse with their line and field.
#include <sstream>
#include <string>
#include <vector>

#include "../support/dpkit_catch.hpp"
#include "csv_reader.hpp"

using dpkit_demo::csv_error;
using dpkit_demo::csv_reader;
using records = std::vector<std::vector<std::string>>;

namespace {

records read_all(const std::string& text, char delimiter = ',') {
    std::istringstream in(text);
    csv_reader r(in, delimiter);
    records out;
    std::vector<std::string> fields;
    while (r.next(fields)) out.push_back(fields);
    return out;
}

}  // namespace

TEST_CASE("csv_reader reads RFC 4180 records", "[csv]") {
    CHECK(read_all("a,b,c\r\n1,2,3\r\n") == records{{"a", "b", "c"}, {"1", "2", "3"}});
    CHECK(read_all("a,b\n1,2") == records{{"a", "b"}, {"1", "2"}});  // LF, no final line break
    CHECK(read_all("\"a,1\",\"b\"\"q\"\"\",c\r\n") == records{{"a,1", "b\"q\"", "c"}});
    CHECK(read_all("\"multi\r\nline\",x\r\ny,z\r\n") == records{{"multi\r\nline", "x"}, {"y", "z"}});
    CHECK(read_all(",,\r\n") == records{{"", "", ""}});
    CHECK(read_all("\"\",x\n") == records{{"", "x"}});
    CHECK(read_all("a\rb,c\n") == records{{"a\rb", "c"}});  // a lone CR is data
    CHECK(read_all("").empty());
    CHECK(read_all("\n") == records{{""}});
    CHECK(read_all("a\tb\t\"c\td\"\n", '\t') == records{{"a", "b", "c\td"}});
    CHECK(read_all("x,y\r\n", '\t') == records{{"x,y"}});
}

TEST_CASE("csv_reader keeps state across read blocks and counts physical lines", "[csv]") {
    // Records that straddle the 64 KiB block boundary, including a CRLF split across it.
    std::string text;
    std::string big(65534, 'x');
    text += big + ",\"q\"\"\r\nq\"\r\n";  // the CR of the first line break inside the quote sits at the boundary
    text += "last,row\r\n";
    std::istringstream in(text);
    csv_reader r(in);
    std::vector<std::string> f;
    REQUIRE(r.next(f));
    CHECK(f == std::vector<std::string>{big, "q\"\r\nq"});
    CHECK(r.record_line() == 1);
    REQUIRE(r.next(f));
    CHECK(f == std::vector<std::string>{"last", "row"});
    CHECK(r.record_line() == 3);  // the quoted line break counts as a line
    CHECK_FALSE(r.next(f));
    for (std::size_t pad = 65530; pad < 65540; ++pad) {  // CRLF at every offset around the boundary
        const std::string t = std::string(pad, 'y') + "\r\nz\r\n";
        CHECK(read_all(t) == records{{std::string(pad, 'y')}, {"z"}});
    }
}

TEST_CASE("csv_reader refuses malformed records, naming the line and the field", "[csv]") {
    auto error_of = [](const std::string& text) -> std::string {
        try {
            read_all(text);
        } catch (const csv_error& e) {
            return std::to_string(e.line) + ":" + std::to_string(e.field);
        }
        return "no error";
    };
    CHECK(error_of("a,b\nx,y\"z\n") == "2:2");       // a quote inside an unquoted field
    CHECK(error_of("a,b\n\"x\"y,z\n") == "2:1");     // text after a closing quote
    CHECK(error_of("a\n\"b\nc\nd,\"e\n") == "2:1");  // unterminated quoted field (records start at line 2)
}
