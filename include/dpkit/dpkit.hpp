#pragma once
/// \file
/// dpkit: differential privacy for C++20. The umbrella header includes the core
/// (randomness, exact samplers, privacy costs, mechanisms, accounting,
/// aggregates); the Eigen and fmt
/// integrations are opt-in: <dpkit/eigen.hpp>, <dpkit/fmt.hpp>.

#include "accounting.hpp"
#include "aggregates.hpp"
#include "error.hpp"
#include "mechanisms.hpp"
#include "privacy.hpp"
#include "random.hpp"
#include "rational.hpp"
#include "version.hpp"
