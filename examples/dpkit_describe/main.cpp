// dpkit-describe: a differentially private summary of a CSV or TSV file, like
// pandas' DataFrame.describe(), under one privacy budget.
//
//   dpkit-describe diamonds.csv --bounds carat=0:5 --bounds price=0:20000 \
//       --categories cut=Fair,Good,"Very Good",Premium,Ideal --epsilon 1 \
//       --hist price --bins 30 --svg price.svg
//
// Rules (see --help):
//  - A numeric column is described only with declared bounds (--bounds); its
//    bounds are never read from the data. A categorical column is described
//    with declared categories (--categories) or, with --keys, with the keys that
//    partition selection lets through (needs --delta). Other columns are
//    skipped with a note.
//  - An empty numeric field is a missing value and is not counted. A
//    non-numeric value stops the run with its file, line and column, unless
//    --drop-bad-values (then it is dropped with a warning that does not say how
//    many: that number is private).
//  - --unit COLUMN --max-rows K keeps the first K rows of each privacy unit
//    (memory grows with the number of units); without --unit every row is a unit.
//  - Bad input of any kind is reported before anything is released or spent.
#include <dpkit/dpkit.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <unistd.h>
#include <unordered_map>
#include <vector>

#include "csv_reader.hpp"

namespace {

constexpr const char* version = "dpkit-describe 0.1 (dpkit 0.1)";

/// A failure reported to the user: nothing was released or spent.
struct user_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct options {
    std::string file;
    std::vector<std::string> bounds;
    std::vector<std::string> categories;
    std::vector<std::string> keys;
    std::string unit;
    std::uint64_t max_rows = 1;
    double epsilon = 0;
    double delta = 0;
    std::optional<double> budget;
    double level = 0.95;
    std::optional<std::uint64_t> seed;
    bool json = false;
    bool tsv = false;
    bool drop_bad_values = false;
    std::string hist;
    int bins = 30;
    std::string svg;
};

std::optional<double> parse_double(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::pair<std::string, std::string> split_assignment(const std::string& text, const char* option) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) throw user_error(fmt::format("{} '{}': expected COLUMN=VALUE", option, text));
    return {text.substr(0, eq), text.substr(eq + 1)};
}

dpkit::bounds parse_bounds(const std::string& column, const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos) throw user_error(fmt::format("--bounds {}={}: expected LOWER:UPPER", column, text));
    const auto lo = parse_double(std::string_view(text).substr(0, colon));
    const auto hi = parse_double(std::string_view(text).substr(colon + 1));
    if (!lo || !hi) throw user_error(fmt::format("--bounds {}={}: LOWER and UPPER must be numbers", column, text));
    if (!std::isfinite(*lo) || !std::isfinite(*hi)) throw user_error(fmt::format("--bounds {}={}: the bounds must be finite", column, text));
    if (!(*lo < *hi)) throw user_error(fmt::format("--bounds {}={}: LOWER must be below UPPER", column, text));
    return dpkit::bounds{*lo, *hi};
}

std::vector<std::string> parse_list(const std::string& column, const std::string& text) {
    std::vector<std::string> out;
    std::string item;
    for (char c : text) {
        if (c == ',') {
            out.push_back(item);
            item.clear();
        } else {
            item.push_back(c);
        }
    }
    out.push_back(item);
    for (const auto& s : out) {
        if (s.empty()) throw user_error(fmt::format("--categories {}={}: empty category", column, text));
    }
    return out;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += fmt::format("\\u{:04x}", static_cast<int>(c));
                } else {
                    out.push_back(c);
                }
        }
    }
    return out + "\"";
}

std::string xml_text(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            default: out.push_back(c);
        }
    }
    return out;
}

std::string number(double v) { return fmt::format("{:.6g}", v); }

/// What is described: the declared columns, in the file's order.
struct plan {
    std::vector<std::string> header;
    std::vector<std::size_t> described;        // file column of each table column
    std::vector<dpkit::column_spec> specs;
    std::vector<bool> numeric;                 // per table column
    std::optional<std::size_t> unit_column;
    std::optional<std::size_t> hist_column;    // file column
    dpkit::bounds hist_bounds{0, 1};
    std::vector<std::string> notes;
    std::size_t key_columns = 0;
};

plan make_plan(const options& o, const std::vector<std::string>& header) {
    plan p;
    p.header = header;
    auto column_of = [&](const std::string& name, const char* option) {
        const auto it = std::find(header.begin(), header.end(), name);
        if (it == header.end()) {
            std::string names;
            for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
            throw user_error(fmt::format("{}: {}: unknown column '{}' (the file has: {})", o.file, option, name, names));
        }
        return static_cast<std::size_t>(it - header.begin());
    };
    std::map<std::size_t, dpkit::bounds> bounds;
    std::map<std::size_t, std::vector<std::string>> categories;
    std::map<std::size_t, bool> keys;
    for (const auto& b : o.bounds) {
        const auto [name, text] = split_assignment(b, "--bounds");
        const auto c = column_of(name, "--bounds");
        bounds[c] = parse_bounds(name, text);
    }
    for (const auto& b : o.categories) {
        const auto [name, text] = split_assignment(b, "--categories");
        categories[column_of(name, "--categories")] = parse_list(name, text);
    }
    for (const auto& k : o.keys) keys[column_of(k, "--keys")] = true;
    if (!o.unit.empty()) p.unit_column = column_of(o.unit, "--unit");
    for (std::size_t c = 0; c < header.size(); ++c) {
        const int declared = static_cast<int>(bounds.count(c) + categories.count(c) + keys.count(c));
        if (declared > 1) throw user_error(fmt::format("column '{}' is declared more than once (--bounds, --categories, --keys)", header[c]));
        if (p.unit_column && c == *p.unit_column) {
            if (declared > 0) throw user_error(fmt::format("column '{}' is the privacy unit and cannot be described", header[c]));
            continue;
        }
        if (bounds.count(c)) {
            p.specs.push_back(dpkit::numeric_column{header[c], bounds[c], dpkit::nan_policy::drop});
            p.numeric.push_back(true);
        } else if (categories.count(c)) {
            p.specs.push_back(dpkit::categorical_column{header[c], categories[c], dpkit::undeclared_category::drop});
            p.numeric.push_back(false);
        } else if (keys.count(c)) {
            if (!(o.delta > 0)) throw user_error(fmt::format("--keys {}: partition selection needs --delta > 0", header[c]));
            p.specs.push_back(dpkit::key_column{header[c], dpkit::delta{1}});  // delta set below
            p.numeric.push_back(false);
            ++p.key_columns;
        } else {
            p.notes.push_back(fmt::format("column '{}' skipped: no --bounds, --categories or --keys (bounds are never read from the data)", header[c]));
            continue;
        }
        p.described.push_back(c);
    }
    // The key columns share --delta; their booked deltas add up to at most it.
    const double selection_delta = p.key_columns > 0 ? dpkit::detail::equal_share(o.delta, p.key_columns) : 0;
    for (auto& s : p.specs) {
        if (auto* k = std::get_if<dpkit::key_column>(&s)) k->selection_delta = dpkit::delta{selection_delta};
    }
    if (!o.hist.empty()) {
        const auto c = column_of(o.hist, "--hist");
        if (!bounds.count(c)) throw user_error(fmt::format("--hist {}: the column needs --bounds", o.hist));
        p.hist_column = c;
        p.hist_bounds = bounds[c];
    }
    if (p.described.empty()) throw user_error(fmt::format("{}: nothing to describe: declare --bounds, --categories or --keys", o.file));
    return p;
}

void write_svg(const std::string& path, const std::string& column, const dpkit::histogram_estimate& h, const std::vector<double>& edges,
               double epsilon, double total_epsilon, double level) {
    std::ofstream out(path);
    if (!out) throw user_error(fmt::format("--svg {}: cannot write the file", path));
    const double width = 860, height = 480, left = 80, right = 20, top = 50, bottom = 70;
    const double plot_w = width - left - right, plot_h = height - top - bottom;
    double ymax = 1;
    for (std::size_t i = 0; i < h.counts.size(); ++i) ymax = std::max({ymax, h.counts[i], h.intervals[i].upper});
    // A round axis maximum.
    const double magnitude = std::pow(10.0, std::floor(std::log10(ymax)));
    double axis = magnitude;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
        if (m * magnitude >= ymax) {
            axis = m * magnitude;
            break;
        }
    }
    auto y = [&](double v) { return top + plot_h * (1 - std::clamp(v, 0.0, axis) / axis); };
    const std::size_t bins = h.counts.size();
    const double bar_w = plot_w / static_cast<double>(bins);
    out << fmt::format(R"svg(<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" font-family="sans-serif" font-size="12">
<rect width="{0}" height="{1}" fill="white"/>
<text x="{2}" y="28" text-anchor="middle" font-size="16">{3}</text>
)svg",
                       width, height, width / 2,
                       xml_text(fmt::format("Differentially private histogram of {} (\u03b5 = {} of the run's {}, {}% error bars)", column, number(epsilon), number(total_epsilon),
                                            number(100 * level))));
    for (int t = 0; t <= 5; ++t) {
        const double v = axis * t / 5;
        out << fmt::format(R"svg(<line x1="{0}" x2="{1}" y1="{2:.2f}" y2="{2:.2f}" stroke="#ddd"/><text x="{3}" y="{4:.2f}" text-anchor="end">{5}</text>
)svg",
                           left, left + plot_w, y(v), left - 6, y(v) + 4, number(v));
    }
    for (std::size_t i = 0; i < bins; ++i) {
        const double x0 = left + bar_w * static_cast<double>(i);
        out << fmt::format(R"svg(<rect x="{:.2f}" y="{:.2f}" width="{:.2f}" height="{:.2f}" fill="#4c78a8"/>
)svg",
                           x0 + 1, y(h.counts[i]), std::max(0.0, bar_w - 2), top + plot_h - y(h.counts[i]));
        const double xc = x0 + bar_w / 2;
        const double lo = y(std::max(0.0, h.intervals[i].lower)), hi = y(h.intervals[i].upper);
        out << fmt::format(R"svg(<path d="M{0:.2f} {1:.2f}V{2:.2f}M{3:.2f} {1:.2f}H{4:.2f}M{3:.2f} {2:.2f}H{4:.2f}" stroke="black" fill="none"/>
)svg",
                           xc, lo, hi, xc - bar_w / 6, xc + bar_w / 6);
    }
    const std::size_t step = std::max<std::size_t>(1, bins / 6);
    for (std::size_t i = 0; i <= bins; i += step) {
        const double x = left + bar_w * static_cast<double>(i);
        out << fmt::format(R"svg(<line x1="{0:.2f}" x2="{0:.2f}" y1="{1}" y2="{2}" stroke="black"/><text x="{0:.2f}" y="{3}" text-anchor="middle">{4}</text>
)svg",
                           x, top + plot_h, top + plot_h + 5, top + plot_h + 20, number(edges[i]));
    }
    out << fmt::format(R"svg(<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="black"/><line x1="{0}" x2="{0}" y1="{3}" y2="{2}" stroke="black"/>
<text x="{4}" y="{5}" text-anchor="middle">{6}</text>
<text x="20" y="{7}" text-anchor="middle" transform="rotate(-90 20 {7})">noisy count</text>
</svg>
)svg",
                       left, left + plot_w, top + plot_h, top, left + plot_w / 2, height - 20, xml_text(column), top + plot_h / 2);
    if (!out) throw user_error(fmt::format("--svg {}: writing failed", path));
}

template <class Generator>
int run(const options& o, Generator& gen) {
    const char delimiter = o.tsv || (o.file.size() > 4 && o.file.substr(o.file.size() - 4) == ".tsv") ? '\t' : ',';
    std::ifstream in(o.file, std::ios::binary);
    if (!in) throw user_error(fmt::format("{}: cannot open the file", o.file));
    dpkit_demo::csv_reader reader(in, delimiter);
    std::vector<std::string> header;
    try {
        if (!reader.next(header)) throw user_error(fmt::format("{}: the file is empty (a header row is needed)", o.file));
    } catch (const dpkit_demo::csv_error& e) {
        throw user_error(fmt::format("{}: {}", o.file, e.what()));
    }
    plan p = make_plan(o, header);

    // The budget is checked before anything is read: a request it cannot afford stops here.
    const double budget_eps = o.budget.value_or(o.epsilon);
    dpkit::accountant<dpkit::basic_composition> acct(dpkit::approx_dp{budget_eps, std::max(o.delta, 0.0)}, "dpkit-describe");
    if (o.epsilon > budget_eps) {
        throw user_error(fmt::format("the budget (epsilon {}) is too small for what was asked (epsilon {})", number(budget_eps), number(o.epsilon)));
    }

    dpkit::table_describer table(p.specs, o.max_rows);
    std::vector<double> edges;
    std::optional<dpkit::histogram> hist;
    if (p.hist_column) {
        for (int i = 0; i <= o.bins; ++i) {
            edges.push_back(i == o.bins ? p.hist_bounds.upper
                                        : p.hist_bounds.lower + (p.hist_bounds.upper - p.hist_bounds.lower) * i / o.bins);
        }
        hist.emplace(edges, dpkit::nan_policy::drop, dpkit::histogram_outliers::clamp, 1, o.max_rows);
    }
    std::unordered_map<std::string, std::uint64_t> rows_of_unit;
    std::vector<std::string> fields;
    bool dropped_bad = false;
    const bool progress = isatty(2) != 0 && !o.json;
    std::uint64_t records = 0;
    for (;;) {
        try {
            if (!reader.next(fields)) break;
        } catch (const dpkit_demo::csv_error& e) {
            throw user_error(fmt::format("{}: {}", o.file, e.what()));
        }
        if (fields.size() == 1 && fields[0].empty()) continue;  // a blank line
        const auto line = reader.record_line();
        if (fields.size() != header.size()) {
            throw user_error(fmt::format("{}: line {}: {} fields, but the header has {}", o.file, line, fields.size(), header.size()));
        }
        ++records;
        if (progress && records % (1u << 20) == 0) std::fprintf(stderr, "\rread %.0f MB", static_cast<double>(reader.bytes_read()) / 1e6);
        if (p.unit_column) {
            auto& n = rows_of_unit[fields[*p.unit_column]];
            if (n >= o.max_rows) continue;
            ++n;
        }
        for (std::size_t t = 0; t < p.described.size(); ++t) {
            const std::string& f = fields[p.described[t]];
            if (!p.numeric[t]) {
                table.add(t, f);
                continue;
            }
            double v = std::nan("");
            if (!f.empty()) {
                const auto parsed = parse_double(f);
                if (!parsed) {
                    if (!o.drop_bad_values) {
                        throw user_error(fmt::format("{}: line {}, column '{}': '{}' is not a number (use --drop-bad-values to drop such values)",
                                                     o.file, line, header[p.described[t]], f));
                    }
                    dropped_bad = true;
                } else {
                    v = *parsed;
                }
            }
            table.add(t, v);
            if (hist && p.described[t] == *p.hist_column) hist->add(v);
        }
    }
    if (progress) std::fprintf(stderr, "\r%*s\r", 30, "");

    // One budget: the histogram, when asked, takes one column's share.
    const std::size_t parts = p.described.size() + (hist ? 1 : 0);
    const std::vector<double> shares = hist ? std::vector<double>{static_cast<double>(p.described.size()) / static_cast<double>(parts),
                                                                  1.0 / static_cast<double>(parts)}
                                            : std::vector<double>{1.0};
    const auto eps = dpkit::detail::split_amount("dpkit-describe", o.epsilon, std::span<const double>(shares));
    dpkit::table_description d;
    try {
        d = table.release(acct, dpkit::laplace_noise{dpkit::epsilon{eps[0]}}, o.level, gen);
    } catch (const dpkit::budget_exhausted& e) {
        throw user_error(e.what());
    }
    std::optional<dpkit::released<dpkit::histogram_estimate>> h;
    if (hist) {
        h = hist->release(acct, dpkit::laplace_noise{dpkit::epsilon{eps[1]}}, o.level, gen, o.hist + ": histogram",
                          dpkit::histogram_postprocessing::non_negative);
    }
    if (!o.svg.empty()) write_svg(o.svg, o.hist, h->value, edges, eps[1], o.epsilon, o.level);

    const auto spent = acct.spent();
    if (o.json) {
        std::string out = "{\n";
        out += fmt::format("  \"file\": {},\n  \"level\": {},\n  \"epsilon\": {},\n  \"delta\": {},\n", json_string(o.file), o.level, o.epsilon, o.delta);
        out += fmt::format("  \"seeded\": {},\n  \"columns\": [\n", o.seed ? "true" : "false");
        for (std::size_t c = 0; c < d.columns.size(); ++c) {
            const auto& col = d.columns[c];
            out += fmt::format("    {{\"name\": {}, \"kind\": \"{}\", \"budget_fraction\": {}, \"statistics\": [\n", json_string(col.column),
                               col.kind == dpkit::column_kind::numeric ? "numeric" : "categorical", col.table_fraction);
            for (std::size_t s = 0; s < col.statistics.size(); ++s) {
                const auto& st = col.statistics[s];
                out += fmt::format("      {{\"name\": {}, \"value\": {}, \"lower\": {}, \"upper\": {}}}{}\n", json_string(st.name), st.value,
                                   st.confidence.lower, st.confidence.upper, s + 1 < col.statistics.size() ? "," : "");
            }
            out += "    ], \"split\": [\n";
            for (std::size_t s = 0; s < col.split.size(); ++s) {
                const auto& sp = col.split[s];
                out += fmt::format("      {{\"part\": {}, \"fraction\": {}, \"cost\": {}}}{}\n", json_string(sp.part), sp.fraction,
                                   json_string(dpkit::to_string(sp.cost)), s + 1 < col.split.size() ? "," : "");
            }
            out += fmt::format("    ]}}{}\n", c + 1 < d.columns.size() ? "," : "");
        }
        out += "  ],\n";
        if (h) {
            out += fmt::format("  \"histogram\": {{\"column\": {}, \"edges\": [", json_string(o.hist));
            for (std::size_t i = 0; i < edges.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", edges[i]);
            out += "], \"counts\": [";
            for (std::size_t i = 0; i < h->value.counts.size(); ++i) out += fmt::format("{}{}", i ? ", " : "", h->value.counts[i]);
            out += "]},\n";
        }
        out += "  \"ledger\": [\n";
        const auto ledger = acct.ledger();
        for (std::size_t i = 0; i < ledger.size(); ++i) {
            out += fmt::format("    {{\"label\": {}, \"cost\": {}}}{}\n", json_string(ledger[i].label), json_string(dpkit::to_string(ledger[i].cost)),
                               i + 1 < ledger.size() ? "," : "");
        }
        out += fmt::format("  ],\n  \"spent\": {{\"epsilon\": {}, \"delta\": {}}}\n}}\n", spent.epsilon, spent.delta);
        std::fputs(out.c_str(), stdout);
    } else {
        for (const auto& n : p.notes) fmt::print("note: {}\n", n);
        fmt::print("{}: {} columns described with epsilon {} ({}% intervals){}\n\n", o.file, d.columns.size(), number(o.epsilon),
                   number(100 * o.level), o.delta > 0 ? fmt::format(", delta {}", number(o.delta)) : "");
        // Numeric columns side by side, like pandas; categorical ones after.
        std::vector<const dpkit::column_description*> numeric;
        for (const auto& c : d.columns) {
            if (c.kind == dpkit::column_kind::numeric) numeric.push_back(&c);
        }
        if (!numeric.empty()) {
            std::vector<std::vector<std::string>> cells;
            for (const auto* c : numeric) {
                std::vector<std::string> col{c->column};
                for (const auto& s : c->statistics) col.push_back(fmt::format("{} [{}, {}]", number(s.value), number(s.confidence.lower), number(s.confidence.upper)));
                cells.push_back(std::move(col));
            }
            const auto& names = numeric.front()->statistics;
            fmt::print("{:<7}", "");
            for (const auto& col : cells) {
                std::size_t w = 0;
                for (const auto& x : col) w = std::max(w, x.size());
                fmt::print("  {:>{}}", col[0], w);
            }
            fmt::print("\n");
            for (std::size_t r = 0; r < names.size(); ++r) {
                fmt::print("{:<7}", names[r].name);
                for (const auto& col : cells) {
                    std::size_t w = 0;
                    for (const auto& x : col) w = std::max(w, x.size());
                    fmt::print("  {:>{}}", col[r + 1], w);
                }
                fmt::print("\n");
            }
            fmt::print("\n");
        }
        for (const auto& c : d.columns) {
            if (c.kind == dpkit::column_kind::numeric) continue;
            fmt::print("{} (frequencies{})\n", c.column, c.split.size() == 2 ? ", keys by partition selection" : "");
            std::size_t w = 5;
            for (const auto& s : c.statistics) w = std::max(w, s.name.size());
            for (const auto& s : c.statistics) {
                fmt::print("  {:<{}}  {:>9}  [{}, {}]\n", s.name, w, number(s.value), number(s.confidence.lower), number(s.confidence.upper));
            }
            if (c.statistics.empty()) fmt::print("  (no key passed the selection)\n");
            fmt::print("\n");
        }
        if (h) {
            fmt::print("histogram of {} ({} bins over [{}, {}]){}\n", o.hist, o.bins, number(p.hist_bounds.lower), number(p.hist_bounds.upper),
                       o.svg.empty() ? "" : fmt::format(": drawn in {}", o.svg));
        }
        fmt::print("budget split (basic composition; each line is one ledger entry):\n");
        for (const auto& c : d.columns) {
            for (const auto& s : c.split) {
                fmt::print("  {:<30} {:>6.2f}% of the total  {}\n", c.column + ": " + s.part, 100 * s.fraction * c.table_fraction * shares[0],
                           dpkit::to_string(s.cost));
            }
        }
        if (h) fmt::print("  {:<30} {:>6.2f}% of the total  {}\n", o.hist + ": histogram", 100 * shares[1], dpkit::to_string(h->costs.front().cost));
        fmt::print("spent: {} of the budget {}\n", dpkit::to_string(spent), dpkit::to_string(acct.budget()));
        if (dropped_bad) fmt::print("warning: some values were not numbers and were dropped (how many is private and is not shown)\n");
    }
    if (o.seed) std::fprintf(stderr, "warning: --seed makes the noise reproducible: this output is NOT differentially private\n");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    CLI::App app{"A differentially private summary of a CSV or TSV file (like pandas' describe), under one privacy budget.\n"
                 "Bounds and categories are declared, never read from the data; nothing is released or spent on bad input."};
    app.set_version_flag("--version", version);
    app.add_option("file", o.file, "CSV (RFC 4180, header row) or TSV file")->required();
    app.add_option("--bounds", o.bounds, "COLUMN=LOWER:UPPER, declared bounds of a numeric column (values are clamped)");
    app.add_option("--categories", o.categories, "COLUMN=A,B,C, declared categories of a categorical column (others are dropped)");
    app.add_option("--keys", o.keys, "COLUMN, a categorical column whose keys are selected by partition selection (needs --delta)");
    app.add_option("--unit", o.unit, "COLUMN holding the privacy unit (without it, each row is one unit)");
    app.add_option("--max-rows", o.max_rows, "rows kept per privacy unit (the first ones)")->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 20));
    app.add_option("--epsilon", o.epsilon, "total epsilon of this run")->required();
    app.add_option("--delta", o.delta, "total delta (only partition selection uses it)");
    app.add_option("--budget", o.budget, "the accountant's epsilon budget (default: --epsilon)");
    app.add_option("--level", o.level, "confidence level of the intervals")->check(CLI::Bound(0.5, 0.999999));
    app.add_option("--seed", o.seed, "reproducible noise for tests: the output is NOT private");
    app.add_flag("--json", o.json, "machine-readable output");
    app.add_flag("--tsv", o.tsv, "tab-separated input (also chosen by a .tsv name)");
    app.add_flag("--drop-bad-values", o.drop_bad_values, "drop non-numeric values in numeric columns instead of stopping");
    app.add_option("--hist", o.hist, "COLUMN: also release a DP histogram of this numeric column");
    app.add_option("--bins", o.bins, "histogram bins")->check(CLI::Range(1, 1000));
    app.add_option("--svg", o.svg, "draw the histogram as an SVG bar chart (needs --hist)");
    CLI11_PARSE(app, argc, argv);
    try {
        if (!(std::isfinite(o.epsilon) && o.epsilon > 0)) throw user_error(fmt::format("--epsilon must be finite and > 0 (got {})", o.epsilon));
        if (!(o.delta >= 0 && o.delta < 1)) throw user_error(fmt::format("--delta must be in [0, 1) (got {})", o.delta));
        if (o.budget && !(std::isfinite(*o.budget) && *o.budget > 0)) throw user_error(fmt::format("--budget must be finite and > 0 (got {})", *o.budget));
        if (!o.svg.empty() && o.hist.empty()) throw user_error("--svg needs --hist COLUMN");
        if (o.seed) {
            dpkit::insecure_seeded_generator gen(*o.seed);
            return run(o, gen);
        }
        dpkit::secure_generator gen;
        return run(o, gen);
    } catch (const user_error& e) {
        std::fprintf(stderr, "dpkit-describe: %s\n", e.what());
    } catch (const dpkit::invalid_argument& e) {
        std::fprintf(stderr, "dpkit-describe: %s\n", e.what());
    }
    std::fprintf(stderr, "dpkit-describe: nothing was released and nothing was spent\n");
    return 1;
}
