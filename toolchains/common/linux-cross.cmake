# Shared part of the toolchain files for Debian's Linux cross compilers. The including file sets:
#   MICROFIT_TARGET_TRIPLE     GNU triple, the prefix of the compiler names (aarch64-linux-gnu)
#   MICROFIT_TARGET_PROCESSOR  value of CMAKE_SYSTEM_PROCESSOR (aarch64, armv7-a)
#   MICROFIT_QEMU_USER         qemu-user binary that runs the target's executables (qemu-aarch64)
#   MICROFIT_TARGET_FLAGS      compiler flags that select the instruction set

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${MICROFIT_TARGET_PROCESSOR})

set(CMAKE_C_COMPILER ${MICROFIT_TARGET_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${MICROFIT_TARGET_TRIPLE}-g++)
set(CMAKE_C_FLAGS_INIT "${MICROFIT_TARGET_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${MICROFIT_TARGET_FLAGS}")

# Debian installs each cross target's libraries and headers under /usr/<triple>. That directory is
# not a sysroot in the --sysroot sense (its headers are in include/, not usr/include/), so it is
# given as the find root only.
set(target_root /usr/${MICROFIT_TARGET_TRIPLE})
set(CMAKE_FIND_ROOT_PATH ${target_root})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# CTest and try_run run target executables through qemu-user. -L points qemu at the target's
# dynamic loader and shared libraries (libstdc++, libc).
set(CMAKE_CROSSCOMPILING_EMULATOR ${MICROFIT_QEMU_USER} -L ${target_root})
unset(target_root)

include(${CMAKE_CURRENT_LIST_DIR}/host-header-packages.cmake)
