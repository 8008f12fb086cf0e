# Turns executables into firmware images for the board port named by MICROFIT_PORT (a folder
# under ports/) and runs them under emulation as tests. Included by the top-level CMakeLists.txt
# for bare-metal builds (CMAKE_SYSTEM_NAME "Generic") only.

set(port_file ${PROJECT_SOURCE_DIR}/ports/${MICROFIT_PORT}/port.cmake)
if(NOT EXISTS ${port_file})
  message(FATAL_ERROR "MICROFIT_PORT is '${MICROFIT_PORT}', but ${port_file} does not exist. "
    "Set MICROFIT_PORT to the name of a folder under ports/.")
endif()
include(${port_file})
unset(port_file)

# The functions below are also called from the directories of a project that adds microfit with
# add_subdirectory, where this directory's variables are not visible; global properties are.
set_property(GLOBAL PROPERTY MICROFIT_PORT_EMULATOR "${MICROFIT_PORT_EMULATOR}")
set_property(GLOBAL PROPERTY MICROFIT_EXPECT_EXIT_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/microfit_expect_exit.cmake")

# microfit_add_firmware(TARGET [HEAP_TRAP])
#
# Links the executable TARGET as a firmware image for the port: startup code, linker script and
# system calls. Writes TARGET.elf, a raw TARGET.bin and a link map TARGET.elf.map next to it, and
# makes add_test(COMMAND TARGET) run the image under the port's emulator.
#
# HEAP_TRAP links replacements of malloc and operator new that stop the program, so that any heap
# use fails the test. Leave it out for programs that need the heap, such as doctest test runners.
function(microfit_add_firmware target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "HEAP_TRAP" "" "")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "microfit_add_firmware(${target}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()

  get_property(emulator GLOBAL PROPERTY MICROFIT_PORT_EMULATOR)
  target_link_libraries(${target} PRIVATE microfit_port)
  if(arg_HEAP_TRAP)
    target_link_libraries(${target} PRIVATE microfit_port_heap_trap)
  endif()
  target_link_options(${target} PRIVATE "LINKER:-Map=$<TARGET_FILE:${target}>.map")
  set_target_properties(${target} PROPERTIES
    SUFFIX .elf
    CROSSCOMPILING_EMULATOR "${emulator}")
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_OBJCOPY} -O binary $<TARGET_FILE:${target}> $<TARGET_FILE_DIR:${target}>/${target}.bin
    VERBATIM)
endfunction()

# microfit_add_firmware_test(NAME TARGET [EXPECTED_STATUS STATUS] [EXPECTED_OUTPUT REGEX])
#
# Registers a test that runs the firmware image TARGET under the emulator. By default it passes
# when the image exits with status 0. With EXPECTED_STATUS it passes only on exactly that status,
# and with EXPECTED_OUTPUT only if the output also matches REGEX; use these to test failure paths.
function(microfit_add_firmware_test name target)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "EXPECTED_STATUS;EXPECTED_OUTPUT" "")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "microfit_add_firmware_test(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()

  if(NOT DEFINED arg_EXPECTED_STATUS AND NOT DEFINED arg_EXPECTED_OUTPUT)
    add_test(NAME ${name} COMMAND ${target})
    return()
  endif()
  if(NOT DEFINED arg_EXPECTED_STATUS)
    set(arg_EXPECTED_STATUS 0)
  endif()
  get_property(emulator GLOBAL PROPERTY MICROFIT_PORT_EMULATOR)
  get_property(script GLOBAL PROPERTY MICROFIT_EXPECT_EXIT_SCRIPT)
  add_test(NAME ${name} COMMAND ${CMAKE_COMMAND}
    "-DCOMMAND=${emulator};$<TARGET_FILE:${target}>"
    -DEXPECTED_STATUS=${arg_EXPECTED_STATUS}
    "-DEXPECTED_OUTPUT=${arg_EXPECTED_OUTPUT}"
    -P ${script})
endfunction()

# microfit_firmware_adapt_doctest(TARGET)
#
# Makes the imported doctest target TARGET (doctest::doctest) usable in firmware images:
# - doctest 2.4 then needs DOCTEST_CONFIG_NO_POSIX_SIGNALS (newlib has no sigaction) and
#   DOCTEST_CONFIG_NO_MULTITHREADING (the arm-none-eabi libstdc++ has no std::mutex). It switches
#   to DOCTEST_CONFIG_NO_EXCEPTIONS by itself under -fno-exceptions.
# - The package's include directory is the host's /usr/include on Debian, which the bare-metal
#   compiler does not search by itself. Used as an include directory, it would put the host's C
#   headers ahead of newlib's, so the doctest headers are copied into the build tree instead.
function(microfit_firmware_adapt_doctest target)
  get_target_property(include_dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  set(copy_dir ${PROJECT_BINARY_DIR}/firmware-include)
  set(header_found OFF)
  foreach(include_dir ${include_dirs})
    if(EXISTS ${include_dir}/doctest/doctest.h)
      file(COPY ${include_dir}/doctest DESTINATION ${copy_dir})
      set(header_found ON)
      break()
    endif()
  endforeach()
  if(NOT header_found)
    message(FATAL_ERROR "doctest/doctest.h not found in the include directories of ${target}: ${include_dirs}")
  endif()

  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${copy_dir})
  set_property(TARGET ${target} APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS
    DOCTEST_CONFIG_NO_POSIX_SIGNALS DOCTEST_CONFIG_NO_MULTITHREADING)
endfunction()
