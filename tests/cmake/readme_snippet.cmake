# The README's first example must be exactly examples/laplace_count.cpp, which
# the build compiles and the demo runs, so the README never shows code that
# does not build.
file(READ "${SOURCE_DIR}/README.md" readme)
file(READ "${SOURCE_DIR}/examples/laplace_count.cpp" example)
string(FIND "${readme}" "## A first release" section)
string(SUBSTRING "${readme}" ${section} -1 readme)
string(FIND "${readme}" "```cpp\n" open)
math(EXPR open "${open} + 7")
string(SUBSTRING "${readme}" ${open} -1 readme)
string(FIND "${readme}" "```" close)
string(SUBSTRING "${readme}" 0 ${close} snippet)
if(NOT snippet STREQUAL example)
  message(FATAL_ERROR "README's first example differs from examples/laplace_count.cpp")
endif()
