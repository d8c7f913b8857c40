#pragma once
/// \file
/// Privacy costs and conversions between privacy definitions.

#include "privacy/composition.hpp"
#include "privacy/cost.hpp"
#include "privacy/gaussian.hpp"
#include "privacy/rdp.hpp"
#include "privacy/zcdp.hpp"
