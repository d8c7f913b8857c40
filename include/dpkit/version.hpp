#pragma once
/// \file
/// dpkit's version.

#define DPKIT_VERSION_MAJOR 0
#define DPKIT_VERSION_MINOR 1
#define DPKIT_VERSION_PATCH 0
