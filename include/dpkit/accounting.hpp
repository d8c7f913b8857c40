#pragma once
/// \file
/// Accounting: budgets that cannot be overspent, composition rules, release().

#include "accounting/accountant.hpp"
#include "accounting/calibration.hpp"
#include "accounting/rules.hpp"
