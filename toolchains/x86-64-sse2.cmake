# x86-64 baseline: SSE and SSE2 only, which every x86-64 CPU has. xsimd uses its sse2 code and
# xsimd::fma is a product and a sum (no FMA instruction).

set(MICROFIT_TARGET_FLAGS "-march=x86-64 -mtune=generic")
set(MICROFIT_REQUIRED_CPU_FLAGS sse2)
include(${CMAKE_CURRENT_LIST_DIR}/common/x86-64.cmake)
