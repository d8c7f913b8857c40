# Dependencies: find_package first; FetchContent as a fallback for users with a
# network (CMake >= 3.24 FIND_PACKAGE_ARGS tries find_package before fetching).
include(FetchContent)

macro(dpkit_find_eigen)
  if(NOT TARGET Eigen3::Eigen)
    FetchContent_Declare(Eigen3
      URL https://gitlab.com/libeigen/eigen/-/archive/3.4.0/eigen-3.4.0.tar.gz
      FIND_PACKAGE_ARGS 3.4 NAMES Eigen3)
    set(EIGEN_BUILD_DOC OFF CACHE BOOL "" FORCE)
    FetchContent_MakeAvailable(Eigen3)
  endif()
endmacro()

macro(dpkit_find_fmt)
  if(NOT TARGET fmt::fmt)
    FetchContent_Declare(fmt
      URL https://github.com/fmtlib/fmt/releases/download/9.1.0/fmt-9.1.0.zip
      FIND_PACKAGE_ARGS 9)
    FetchContent_MakeAvailable(fmt)
  endif()
endmacro()

macro(dpkit_find_catch2)
  find_package(Catch2 3 QUIET)
  if(NOT Catch2_FOUND)
    find_package(Catch2 2.13 QUIET)
  endif()
  if(NOT Catch2_FOUND)
    FetchContent_Declare(Catch2
      URL https://github.com/catchorg/Catch2/archive/refs/tags/v3.5.2.tar.gz)
    FetchContent_MakeAvailable(Catch2)
    set(Catch2_VERSION 3.5.2)
  endif()
endmacro()

# Boost.Math for the auditor: the system's headers only (no download: Boost is
# large, and the auditor is optional).
macro(dpkit_find_boost)
  if(NOT TARGET Boost::headers)
    find_package(Boost 1.71 QUIET)
  endif()
endmacro()
