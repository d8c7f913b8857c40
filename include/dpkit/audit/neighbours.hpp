#pragma once
/// \file
/// Neighbouring datasets for audits. dpkit's aggregates protect one privacy
/// unit under add/remove-one neighbours; replace-one neighbours are two
/// add/remove steps apart (so an epsilon-DP add/remove mechanism is 2 epsilon-DP
/// for them). The extreme pairs add a value at one of the declared bounds, where
/// a clamped query moves most.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "../aggregates/fixed_point.hpp"
#include "../detail/format.hpp"

namespace dpkit {

/// Two neighbouring datasets and how they differ.
template <class T>
struct neighbouring_pair {
    std::vector<T> first;
    std::vector<T> second;
    std::string description;
};

/// {data, data with `value` appended}: add/remove-one neighbours.
template <class T>
neighbouring_pair<T> add_one(std::vector<T> data, T value) {
    neighbouring_pair<T> pair{data, std::move(data), "add one record"};
    pair.second.push_back(std::move(value));
    return pair;
}

/// {data, data without the record at `index`}: add/remove-one neighbours.
template <class T>
neighbouring_pair<T> remove_one(std::vector<T> data, std::size_t index) {
    if (index >= data.size()) detail::throw_invalid("dpkit::remove_one", "index must be < data.size()", index);
    neighbouring_pair<T> pair{data, std::move(data), "remove record " + std::to_string(index)};
    pair.second.erase(pair.second.begin() + static_cast<std::ptrdiff_t>(index));
    return pair;
}

/// {data, data with the record at `index` replaced by `value`}: replace-one neighbours.
template <class T>
neighbouring_pair<T> replace_one(std::vector<T> data, std::size_t index, T value) {
    if (index >= data.size()) detail::throw_invalid("dpkit::replace_one", "index must be < data.size()", index);
    neighbouring_pair<T> pair{data, std::move(data), "replace record " + std::to_string(index)};
    pair.second[index] = std::move(value);
    return pair;
}

/// The extreme pairs for a query clamped to `b`: add the lower bound, add the
/// upper bound (add/remove-one), and the lower bound against the upper bound
/// (replace-one).
inline std::vector<neighbouring_pair<double>> extreme_neighbours(const std::vector<double>& data, dpkit::bounds b) {
    if (!(b.lower < b.upper)) detail::throw_invalid("dpkit::extreme_neighbours", "bounds.lower must be < bounds.upper", b.lower);
    std::vector<neighbouring_pair<double>> pairs;
    pairs.push_back(add_one(data, b.lower));
    pairs.back().description = "add one record at the lower bound";
    pairs.push_back(add_one(data, b.upper));
    pairs.back().description = "add one record at the upper bound";
    std::vector<double> low = data;
    low.push_back(b.lower);
    pairs.push_back(replace_one(std::move(low), data.size(), b.upper));
    pairs.back().description = "one record at the lower bound against the upper bound";
    return pairs;
}

}  // namespace dpkit
