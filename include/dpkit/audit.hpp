#pragma once
/// \file
/// dpkit's privacy auditor (CMake target dpkit::audit, which needs Boost.Math,
/// header-only; not included by <dpkit/dpkit.hpp>): empirical lower bounds on
/// the privacy loss of any mechanism, the events they test, Clopper-Pearson
/// bounds and neighbouring-dataset helpers.

#include "audit/auditor.hpp"
#include "audit/clopper_pearson.hpp"
#include "audit/events.hpp"
#include "audit/neighbours.hpp"
