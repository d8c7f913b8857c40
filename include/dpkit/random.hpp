#pragma once
/// \file
/// Randomness: the secure default generator, the seeded test generator, and the exact samplers.

#include "random/chacha20.hpp"
#include "random/insecure_seeded_generator.hpp"
#include "random/samplers.hpp"
#include "random/timing_safe.hpp"
#include "random/secure_generator.hpp"
