# Cortex-M7 with the double-precision FPU (FPv5-D16), hard-float ABI, as on STM32F7x7 and STM32H7.
# For M7 parts with the single-precision FPU only, use -mfpu=fpv5-sp-d16 instead; float code is the
# same, but double arithmetic then goes through software routines.
# QEMU emulates this CPU as the MPS2 AN500 board, which has the memory map of AN386, so the
# ports/mps2-an386 port runs on it unchanged.

set(MICROFIT_TARGET_PROCESSOR cortex-m7)
set(MICROFIT_TARGET_FLAGS "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard")
include(${CMAKE_CURRENT_LIST_DIR}/common/arm-none-eabi.cmake)
