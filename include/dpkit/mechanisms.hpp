#pragma once
/// \file
/// Mechanisms: Laplace, Gaussian, randomized response and selection (exponential
/// mechanism, report-noisy-max, top-k), with their parameter types and accuracy functions.

#include "mechanisms/accuracy.hpp"
#include "mechanisms/exponential.hpp"
#include "mechanisms/gaussian.hpp"
#include "mechanisms/laplace.hpp"
#include "mechanisms/noisy_max.hpp"
#include "mechanisms/parameters.hpp"
#include "mechanisms/randomized_response.hpp"
