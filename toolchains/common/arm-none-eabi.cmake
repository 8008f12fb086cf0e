# Shared part of the bare-metal Cortex-M toolchain files (Arm GNU Toolchain arm-none-eabi with
# newlib). The including file sets:
#   MICROFIT_TARGET_PROCESSOR  value of CMAKE_SYSTEM_PROCESSOR (cortex-m4)
#   MICROFIT_TARGET_FLAGS      -mcpu, -mfpu and -mfloat-abi flags
#
# These files choose the CPU only. How a program starts, where its memory is and how it reports
# (startup code, linker script, newlib specs such as rdimon.specs) come from a board port, for
# example ports/mps2-an386, selected with -DMICROFIT_PORT=<name>.
#
# xsimd is not used here: Cortex-M has no NEON and no SSE, so the SIMD layer in
# include/microfit/detail/simd.hpp takes its scalar path and never includes xsimd, and the
# top-level CMakeLists.txt does not look for the package on "Generic" systems. xsimd's use of
# posix_memalign, which newlib does not provide, therefore never comes up on these targets.

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR ${MICROFIT_TARGET_PROCESSOR})

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)

# A test program cannot link without a board's startup code and linker script, so CMake's compiler
# checks build a static library instead.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Separate sections let the board's link step (--gc-sections) drop unused functions and data.
# -Wno-psabi silences GCC's note that the passing of some libstdc++ types changed in GCC 7.1, which
# matters only when linking with code built by GCC 6 or older.
# Cortex-M runs Thumb code only, so -mthumb belongs to the instruction-set flags.
string(APPEND MICROFIT_TARGET_FLAGS " -mthumb")
set(common_flags "${MICROFIT_TARGET_FLAGS} -ffunction-sections -fdata-sections -Wno-psabi")
set(CMAKE_C_FLAGS_INIT "${common_flags}")
set(CMAKE_CXX_FLAGS_INIT "${common_flags} -fno-exceptions -fno-rtti")
set(CMAKE_ASM_FLAGS_INIT "${common_flags}")
unset(common_flags)

# Headers and libraries come from the compiler's own newlib. Host packages are searched only
# through explicit <package>_DIR hints (see host-header-packages.cmake), because everything else
# on the host is built for x86-64.
set(CMAKE_FIND_ROOT_PATH /usr/lib/arm-none-eabi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

include(${CMAKE_CURRENT_LIST_DIR}/host-header-packages.cmake)
