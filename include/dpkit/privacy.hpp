#pragma once
/// \file
/// Privacy costs and conversions between privacy definitions.

#include "privacy/cost.hpp"
#include "privacy/gaussian.hpp"
#include "privacy/zcdp.hpp"
