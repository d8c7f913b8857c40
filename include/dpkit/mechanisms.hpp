#pragma once
/// \file
/// Mechanisms: Laplace, Gaussian and randomized response, with their parameter types and accuracy functions.

#include "mechanisms/accuracy.hpp"
#include "mechanisms/exponential.hpp"
#include "mechanisms/gaussian.hpp"
#include "mechanisms/laplace.hpp"
#include "mechanisms/parameters.hpp"
#include "mechanisms/randomized_response.hpp"
