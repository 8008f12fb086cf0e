# x86-64 with AVX-512 F, DQ, BW and VL (Intel Skylake-SP, Ice Lake, AMD Zen 4 and later): xsimd
# 8.1 uses its avx512bw code, 16 floats per vector. -mfma also enables the 128- and 256-bit FMA3
# forms that GCC may pick for short loops.
#
# NOTE: xsimd 8.1.0 does not compile xsimd::log (and other functions that select between integer
# batches) for avx512bw with GCC 12 at -O0, because GCC then defines _mm512_mask_blend_epi8 as a
# macro whose cast rejects xsimd's batch type. Build this target with optimization (the presets use
# RelWithDebInfo), not as a Debug build.
#
# NOTE: with -mfma, GCC also contracts scalar a * b + c into one fused instruction, so scalar
# results can differ in the last bit from the SSE2 build.

set(MICROFIT_TARGET_FLAGS "-march=x86-64 -mavx512f -mavx512dq -mavx512bw -mavx512vl -mfma")
set(MICROFIT_REQUIRED_CPU_FLAGS avx512f avx512dq avx512bw avx512vl fma)
include(${CMAKE_CURRENT_LIST_DIR}/common/x86-64.cmake)
