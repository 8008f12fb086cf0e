# CMake part of the MPS2 AN386 port, included by cmake/microfit_firmware.cmake. Like every port it
# defines:
#   microfit_port             OBJECT library: startup code, linker script and newlib specs
#   microfit_port_heap_trap   OBJECT library: malloc and operator new replacements that stop the
#                             program (see heap_trap.cpp)
#   MICROFIT_PORT_EMULATOR    command that runs an image; the image's path is appended

set(MICROFIT_QEMU_MACHINE_DEFAULT mps2-an386)
if(CMAKE_SYSTEM_PROCESSOR STREQUAL "cortex-m7")
  # AN500 is the Cortex-M7 image of the same board, with the same memory map.
  set(MICROFIT_QEMU_MACHINE_DEFAULT mps2-an500)
endif()
set(MICROFIT_QEMU_MACHINE ${MICROFIT_QEMU_MACHINE_DEFAULT} CACHE STRING
  "QEMU machine (-M) that runs the firmware images: mps2-an386 (Cortex-M4) or mps2-an500 (Cortex-M7)")
set(MICROFIT_FIRMWARE_TIMEOUT 600 CACHE STRING
  "Seconds after which a firmware image running under QEMU is stopped and its test fails")

find_program(MICROFIT_QEMU_SYSTEM_ARM qemu-system-arm)
find_program(MICROFIT_TIMEOUT timeout)
if(NOT MICROFIT_QEMU_SYSTEM_ARM OR NOT MICROFIT_TIMEOUT)
  message(WARNING "qemu-system-arm or timeout not found: firmware images build, but their tests "
    "cannot run. Install the Debian packages qemu-system-arm and coreutils.")
endif()

add_library(microfit_port OBJECT ${CMAKE_CURRENT_LIST_DIR}/startup.cpp)
target_include_directories(microfit_port PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_compile_features(microfit_port PUBLIC cxx_std_17)
# rdimon.specs links newlib's semihosting system calls (librdimon). Its own startup file,
# rdimon-crt0, is linked but unused: the entry point is Reset_Handler and --gc-sections drops it.
target_link_options(microfit_port PUBLIC
  -T${CMAKE_CURRENT_LIST_DIR}/mps2-an386.ld
  --specs=rdimon.specs
  LINKER:--gc-sections)
set_property(TARGET microfit_port APPEND PROPERTY INTERFACE_LINK_DEPENDS
  ${CMAKE_CURRENT_LIST_DIR}/mps2-an386.ld)

add_library(microfit_port_heap_trap OBJECT ${CMAKE_CURRENT_LIST_DIR}/heap_trap.cpp)
target_link_libraries(microfit_port_heap_trap PUBLIC microfit_port)

# -nographic keeps QEMU off the display. Its default use of the terminal for the serial port and
# the monitor is turned off, so that QEMU never puts the terminal into raw mode and parallel
# tests do not compete for it; the port writes through semihosting only.
set(MICROFIT_PORT_EMULATOR
  ${MICROFIT_TIMEOUT} --kill-after=10 ${MICROFIT_FIRMWARE_TIMEOUT}
  ${MICROFIT_QEMU_SYSTEM_ARM} -M ${MICROFIT_QEMU_MACHINE} -nographic -monitor none -serial null
  -semihosting-config enable=on,target=native -kernel)
