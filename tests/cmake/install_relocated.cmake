# Runs the README's install commands (the ```sh block after the marker
# "<!-- snippet: install -->"), with the build directory moved to WORK/build and
# the prefix /opt/dpkit replaced by WORK/stage, then moves the installed tree to
# PREFIX, so the find_package consumer proves both that the README's commands
# install a working package and that the package is relocatable. GENERATOR and
# CXX are those of the enclosing build.
file(READ "${SOURCE_DIR}/README.md" readme)
string(FIND "${readme}" "<!-- snippet: install -->\n```sh\n" open)
if(open EQUAL -1)
  message(FATAL_ERROR "README.md has no ```sh block marked <!-- snippet: install -->")
endif()
string(SUBSTRING "${readme}" ${open} -1 readme)
string(REGEX MATCH "```sh\n([^`]*)```" block "${readme}")
string(REPLACE "\n" ";" lines "${CMAKE_MATCH_1}")

set(stage "${WORK}/stage")
file(REMOVE_RECURSE "${WORK}" "${PREFIX}")
file(MAKE_DIRECTORY "${WORK}")
set(ran 0)
foreach(line IN LISTS lines)
  string(REGEX REPLACE "#.*$" "" line "${line}")
  string(STRIP "${line}" line)
  if(line STREQUAL "")
    continue()
  endif()
  separate_arguments(args UNIX_COMMAND "${line}")
  list(POP_FRONT args program)
  if(NOT program STREQUAL "cmake")
    message(FATAL_ERROR "the README's install commands must each run cmake, not '${program}'")
  endif()
  list(TRANSFORM args REPLACE "^build/install$" "${WORK}/build")
  list(TRANSFORM args REPLACE "^/opt/dpkit$" "${stage}")
  message(STATUS "README: ${line}")
  execute_process(COMMAND "${CMAKE_COMMAND}" -E env "CMAKE_GENERATOR=${GENERATOR}" "CXX=${CXX}"
                          "${CMAKE_COMMAND}" ${args}
                  WORKING_DIRECTORY "${SOURCE_DIR}" RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "the README's install command failed: ${line}\n${output}")
  endif()
  math(EXPR ran "${ran} + 1")
endforeach()
if(ran EQUAL 0 OR NOT EXISTS "${stage}")
  message(FATAL_ERROR "the README's install commands installed nothing into /opt/dpkit")
endif()

file(RENAME "${stage}" "${PREFIX}")
file(GLOB_RECURSE config "${PREFIX}/*dpkit-config.cmake")
if(NOT config)
  message(FATAL_ERROR "no dpkit-config.cmake installed")
endif()
file(READ "${PREFIX}/share/cmake/dpkit/dpkit-targets.cmake" targets)
if(targets MATCHES "${stage}")
  message(FATAL_ERROR "installed targets hard-code the install prefix")
endif()
