#pragma once
/// \file
/// Aggregates: bounded-contribution accumulators that add, merge, serialize and
/// release once, with exact sums and confidence intervals.

#include "aggregates/approximate_quantiles.hpp"
#include "aggregates/bounded_mean.hpp"
#include "aggregates/bounded_sum.hpp"
#include "aggregates/bounded_variance.hpp"
#include "aggregates/category_histogram.hpp"
#include "aggregates/contribution_bounding.hpp"
#include "aggregates/count.hpp"
#include "aggregates/describe.hpp"
#include "aggregates/fixed_point.hpp"
#include "aggregates/histogram.hpp"
#include "aggregates/key_histogram.hpp"
#include "aggregates/moments.hpp"
#include "aggregates/partition_selection.hpp"
#include "aggregates/quantiles.hpp"
#include "aggregates/release.hpp"
#include "aggregates/serialization.hpp"
