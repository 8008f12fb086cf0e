# 32-bit ARMv7-A Linux, hard-float ABI (Debian's g++-arm-linux-gnueabihf); tests run under
# qemu-arm.
#
# Debian's default for this compiler is VFPv3-D16 without NEON. -mfpu=neon-vfpv4 enables NEON, so
# xsimd uses its neon code, and VFPv4's fused multiply-add (__ARM_FEATURE_FMA), so xsimd::fma
# compiles to vfma.f32. Cortex-A7, A15 and A17 (and Cortex-A5 with its NEON option) have both.
# Cortex-A8 and A9 have only VFPv3, so binaries built this way fail there with an illegal
# instruction.
#
# -Wno-psabi silences GCC's note that the passing of some libstdc++ types changed in GCC 7.1, which
# matters only when linking with code built by GCC 6 or older.

set(MICROFIT_TARGET_TRIPLE arm-linux-gnueabihf)
set(MICROFIT_TARGET_PROCESSOR armv7-a)
set(MICROFIT_QEMU_USER qemu-arm)
set(MICROFIT_TARGET_FLAGS "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard -Wno-psabi")
include(${CMAKE_CURRENT_LIST_DIR}/common/linux-cross.cmake)
