# AArch64 Linux (Debian's g++-aarch64-linux-gnu); tests run under qemu-aarch64.
# NEON and FMA are part of the base ARMv8-A instruction set, so no extra flags are needed: xsimd
# uses its neon64 code and fuses multiply-adds.

set(MICROFIT_TARGET_TRIPLE aarch64-linux-gnu)
set(MICROFIT_TARGET_PROCESSOR aarch64)
set(MICROFIT_QEMU_USER qemu-aarch64)
set(MICROFIT_TARGET_FLAGS "-march=armv8-a")
include(${CMAKE_CURRENT_LIST_DIR}/common/linux-cross.cmake)
