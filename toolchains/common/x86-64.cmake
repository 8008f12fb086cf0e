# Shared part of the x86-64 toolchain files: the build machine's own compiler with flags for one
# instruction-set level. The including file sets:
#   MICROFIT_TARGET_FLAGS       compiler flags that select the instruction set
#   MICROFIT_REQUIRED_CPU_FLAGS /proc/cpuinfo flags that a CPU needs to run the result
#
# These are not cross builds: tests run directly on the build machine, so it must have the
# instruction set. The check below warns at configure time when it does not, because every test
# would then stop with SIGILL (CTest reports "ILLEGAL").

set(CMAKE_C_FLAGS_INIT "${MICROFIT_TARGET_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT "${MICROFIT_TARGET_FLAGS}")

if(EXISTS /proc/cpuinfo AND NOT MICROFIT_CPU_CHECKED)
  file(STRINGS /proc/cpuinfo cpu_flags_line REGEX "^flags" LIMIT_COUNT 1)
  set(missing_cpu_flags "")
  foreach(cpu_flag ${MICROFIT_REQUIRED_CPU_FLAGS})
    if(NOT cpu_flags_line MATCHES "[ \t]${cpu_flag}( |$)")
      list(APPEND missing_cpu_flags ${cpu_flag})
    endif()
  endforeach()
  if(missing_cpu_flags)
    message(WARNING "This CPU lacks ${missing_cpu_flags} (see /proc/cpuinfo): the binaries of this "
      "build will compile but stop with an illegal instruction when the tests run here.")
  endif()
  # Toolchain files are read again for every try_compile; warn once.
  set(MICROFIT_CPU_CHECKED ON CACHE INTERNAL "")
  unset(cpu_flags_line)
  unset(missing_cpu_flags)
endif()
