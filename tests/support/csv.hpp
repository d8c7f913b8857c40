#pragma once
// Minimal CSV reader for the reference tables in tests/data (header row, comma
// separated, no quoting).

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dpkit_test {

using csv_row = std::map<std::string, std::string>;

inline std::vector<csv_row> read_csv(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    auto split = [](const std::string& line) {
        std::vector<std::string> out;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ',')) out.push_back(cell);
        return out;
    };
    std::string line;
    std::getline(in, line);
    const auto header = split(line);
    std::vector<csv_row> rows;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        const auto cells = split(line);
        csv_row row;
        for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) row[header[i]] = cells[i];
        rows.push_back(row);
    }
    return rows;
}

inline double number(const csv_row& row, const std::string& column) { return std::stod(row.at(column)); }

}  // namespace dpkit_test
