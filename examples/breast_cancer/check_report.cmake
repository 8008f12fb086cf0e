# Runs a breast cancer demo (host program or firmware image) and compares its report, from the
# line "Validation results" to the confusion matrices, with the expected text. Used as a CTest
# command:
#   cmake -DCOMMAND=<list> -DEXPECTED=expected_report.txt -P check_report.cmake
#
# The comparison is exact: the recipe gives bit-identical training on every target tested so far
# (x86-64 SSE2 and AVX2, AArch64, armv7, Cortex-M4), so a different figure is a change in the
# numerics, not noise.

if(NOT DEFINED COMMAND OR NOT DEFINED EXPECTED)
  message(FATAL_ERROR "usage: cmake -DCOMMAND=<list> -DEXPECTED=<file> -P ${CMAKE_CURRENT_LIST_FILE}")
endif()

execute_process(COMMAND ${COMMAND}
  RESULT_VARIABLE status
  OUTPUT_VARIABLE output
  ERROR_VARIABLE errors)
message("${output}${errors}")
if(NOT status STREQUAL "0")
  message(FATAL_ERROR "the demo exited with status ${status}")
endif()

string(FIND "${output}" "Validation results" start)
# The firmware image ends with a blank line and a line about its memory, which is not compared.
string(FIND "${output}" "\nOn the device:" end)
if(start EQUAL -1)
  message(FATAL_ERROR "the output has no line starting with 'Validation results'")
endif()
if(end EQUAL -1)
  string(SUBSTRING "${output}" ${start} -1 report)
else()
  math(EXPR length "${end} - ${start}")
  string(SUBSTRING "${output}" ${start} ${length} report)
endif()

file(READ ${EXPECTED} expected)
if(NOT report STREQUAL expected)
  message(FATAL_ERROR "the report differs from ${EXPECTED}; expected:\n${expected}")
endif()
message("the report matches ${EXPECTED}")
