# Runs COMMAND and succeeds only if it exits with EXPECTED_STATUS and, when EXPECTED_OUTPUT is not
# empty, its combined output matches that regular expression. Used as a CTest command:
#   cmake -DCOMMAND=<list> -DEXPECTED_STATUS=<n> [-DEXPECTED_OUTPUT=<regex>] -P microfit_expect_exit.cmake

if(NOT DEFINED COMMAND OR NOT DEFINED EXPECTED_STATUS)
  message(FATAL_ERROR "usage: cmake -DCOMMAND=<list> -DEXPECTED_STATUS=<n> [-DEXPECTED_OUTPUT=<regex>] -P ${CMAKE_CURRENT_LIST_FILE}")
endif()

execute_process(COMMAND ${COMMAND}
  RESULT_VARIABLE status
  OUTPUT_VARIABLE output
  ERROR_VARIABLE output)
message("${output}")

if(NOT "${status}" STREQUAL "${EXPECTED_STATUS}")
  message(FATAL_ERROR "exit status ${status}, expected ${EXPECTED_STATUS}")
endif()
if(NOT "${EXPECTED_OUTPUT}" STREQUAL "" AND NOT output MATCHES "${EXPECTED_OUTPUT}")
  message(FATAL_ERROR "output does not match the expected regular expression '${EXPECTED_OUTPUT}'")
endif()
message("exit status ${status} and output as expected")
