# Writes the data set of a labeled CSV file (the layout of data/README.md) as a C++ header of
# constant arrays, so that a firmware image carries the data in flash:
#
#   cmake -DINPUT=data/breast_cancer.csv -DOUTPUT=breast_cancer_data.hpp -P embed_csv.cmake
#
# The header defines, in namespace breast_cancer::data: rows, class_names, features
# ([rows][features], float) and labels (std::int32_t). Each number keeps its decimal text with an f
# suffix, so the compiler rounds it to float exactly as std::from_chars does for the host demo.

if(NOT DEFINED INPUT OR NOT DEFINED OUTPUT)
  message(FATAL_ERROR "usage: cmake -DINPUT=file.csv -DOUTPUT=file.hpp -P embed_csv.cmake")
endif()

file(STRINGS ${INPUT} lines)
list(POP_FRONT lines header)
string(REPLACE "," ";" header "${header}")
list(POP_FRONT header row_count feature_count)
list(LENGTH header class_count)

set(feature_text "")
set(label_text "")
set(row 0)
foreach(line IN LISTS lines)
  if(line STREQUAL "")
    continue()
  endif()
  string(REPLACE "," ";" fields "${line}")
  list(LENGTH fields field_count)
  math(EXPR expected "${feature_count} + 1")
  if(NOT field_count EQUAL expected)
    message(FATAL_ERROR "${INPUT}: row ${row} has ${field_count} fields, expected ${expected}")
  endif()
  list(POP_BACK fields label)
  set(row_text "")
  foreach(field IN LISTS fields)
    if(NOT field MATCHES "^[-+]?[0-9]*\\.?[0-9]+([eE][-+]?[0-9]+)?$")
      message(FATAL_ERROR "${INPUT}: row ${row}: '${field}' is not a decimal number")
    endif()
    if(NOT field MATCHES "[.eE]")
      string(APPEND field ".0")
    endif()
    string(APPEND row_text "${field}f,")
  endforeach()
  string(APPEND feature_text "    ${row_text}\n")
  string(APPEND label_text "${label},")
  math(EXPR row "${row} + 1")
endforeach()
if(NOT row EQUAL row_count)
  message(FATAL_ERROR "${INPUT}: the header announces ${row_count} rows, the file has ${row}")
endif()

set(name_text "")
foreach(name IN LISTS header)
  string(APPEND name_text "\"${name}\",")
endforeach()

get_filename_component(input_name ${INPUT} NAME)
file(WRITE ${OUTPUT}.tmp
"// Generated from ${input_name} by embed_csv.cmake; edit the CSV file, not this one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace breast_cancer::data {

constexpr std::size_t rows = ${row_count};
constexpr std::size_t feature_count = ${feature_count};
constexpr const char* const class_names[${class_count}] = {${name_text}};

alignas(16) constexpr float features[rows * feature_count] = {
${feature_text}};

constexpr std::int32_t labels[rows] = {${label_text}};

}  // namespace breast_cancer::data
")
# Only a changed header makes the image rebuild.
configure_file(${OUTPUT}.tmp ${OUTPUT} COPYONLY)
file(REMOVE ${OUTPUT}.tmp)
