# The test of one README snippet (see readme_snippets.cmake): builds TARGET in
# BUILD_DIR (which first re-extracts the snippets if the README changed), checks
# the snippet equals SAME_AS when given, and runs EXECUTABLE when RUN is ON.
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BUILD_DIR}" --target "${TARGET}"
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the README snippet ${SNIPPET} does not build:\n${output}")
endif()
if(SAME_AS)
  file(READ "${SNIPPET}" snippet)
  file(READ "${SAME_AS}" expected)
  if(NOT snippet STREQUAL expected)
    message(FATAL_ERROR "the README snippet ${SNIPPET} differs from ${SAME_AS}")
  endif()
endif()
if(RUN)
  execute_process(COMMAND "${EXECUTABLE}" RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
  message(STATUS "${EXECUTABLE}:\n${output}")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "the README snippet ${SNIPPET} exited with ${result}")
  endif()
endif()
