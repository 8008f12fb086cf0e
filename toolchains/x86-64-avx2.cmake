# x86-64 with AVX2 and FMA3 (Intel Haswell, AMD Zen and later): xsimd 8.1 uses its fma3<avx2>
# code, 8 floats per vector.
#
# NOTE: with -mfma, GCC also contracts scalar a * b + c into one fused instruction (GCC 12 defaults
# to -ffp-contract=fast for C++, with -std=c++17 as with -std=gnu++17), so scalar results can
# differ in the last bit from the SSE2 build.

set(MICROFIT_TARGET_FLAGS "-march=x86-64 -mavx2 -mfma")
set(MICROFIT_REQUIRED_CPU_FLAGS avx2 fma)
include(${CMAKE_CURRENT_LIST_DIR}/common/x86-64.cmake)
