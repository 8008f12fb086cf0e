# Cortex-M4 with its single-precision FPU (FPv4-SP-D16), hard-float ABI. The FPU has a fused
# multiply-add (vfma.f32), so the scalar path of the SIMD layer computes fma with one rounding.
# QEMU emulates this CPU as the MPS2 AN386 board (ports/mps2-an386).

set(MICROFIT_TARGET_PROCESSOR cortex-m4)
set(MICROFIT_TARGET_FLAGS "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard")
include(${CMAKE_CURRENT_LIST_DIR}/common/arm-none-eabi.cmake)
