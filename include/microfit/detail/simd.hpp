// The SIMD layer: every hand-vectorized loop in microfit is written against `Vec`.
//
// On targets with SSE2, AVX, AVX-512 or NEON, `Vec` is an xsimd batch of floats for the widest
// instruction set the compiler targets. On targets without SIMD (Cortex-M) or when
// MICROFIT_FORCE_SCALAR is defined, `Vec` is one float in a struct with the same operations, so
// the kernels compile unchanged and xsimd is not included at all.
//
// Differences between xsimd versions are handled in this file only.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if !defined(MICROFIT_FORCE_SCALAR) && \
    (defined(__SSE2__) || defined(_M_X64) || defined(__ARM_NEON) || defined(__ARM_NEON__))
#define MICROFIT_HAS_XSIMD 1
#include <xsimd/xsimd.hpp>
#else
#define MICROFIT_HAS_XSIMD 0
#endif

namespace microfit::detail::simd {

#if MICROFIT_HAS_XSIMD

using Arch = xsimd::default_arch;
using Vec = xsimd::batch<float, Arch>;
using IntVec = xsimd::batch<std::int32_t, Arch>;
using Mask = xsimd::batch_bool<float, Arch>;

/// Number of float lanes in one `Vec`.
inline constexpr std::size_t width = Vec::size;

/// Number of architectural vector registers, which sizes the register-blocked matrix kernels.
inline constexpr std::size_t registers =
#if defined(__AVX512F__) || defined(__aarch64__) || defined(_M_ARM64)
    32;
#elif defined(__x86_64__) || defined(_M_X64) || defined(__ARM_NEON) || defined(__ARM_NEON__)
    16;
#else
    8;  // SSE2 on 32-bit x86
#endif

inline Vec load(const float* p) noexcept { return Vec::load_aligned(p); }
inline Vec load_unaligned(const float* p) noexcept { return Vec::load_unaligned(p); }
inline void store(float* p, Vec v) noexcept { v.store_aligned(p); }
inline void store_unaligned(float* p, Vec v) noexcept { v.store_unaligned(p); }
inline Vec broadcast(float x) noexcept { return Vec(x); }
inline IntVec broadcast_int(std::int32_t x) noexcept { return IntVec(x); }

/// Returns a * b + c, fused where the instruction set has FMA (AVX2+FMA, AVX-512, AArch64 and
/// armv7 with VFPv4); elsewhere xsimd computes it as a product and a sum.
#if defined(__AVX512F__)
// xsimd 8.1.0 has no AVX-512 FMA kernel and computes x * y + z, which the compiler then fuses in
// some places and not in others, so one FMA per term would not hold. Newer xsimd calls the same
// instruction as this.
inline Vec fma(Vec a, Vec b, Vec c) noexcept { return _mm512_fmadd_ps(a, b, c); }
#else
inline Vec fma(Vec a, Vec b, Vec c) noexcept { return xsimd::fma(a, b, c); }
#endif
/// Returns the lane-wise maximum and minimum. Where b is NaN, the result is NaN. On x86, xsimd
/// computes them with MAXPS and MINPS, which return their second operand when either is NaN
/// (xsimd 8.1.0 for SSE2, AVX and AVX-512, and upstream xsimd for SSE2). NEON's VMAX and VMIN
/// return NaN for any NaN operand. Where only a is NaN, the result depends on the target.
/// detail::fast_exp relies on this, and tests/exp_test.cpp checks it on every build.
inline Vec max(Vec a, Vec b) noexcept { return xsimd::max(a, b); }
inline Vec min(Vec a, Vec b) noexcept { return xsimd::min(a, b); }
inline Vec select(Mask m, Vec if_true, Vec if_false) noexcept { return xsimd::select(m, if_true, if_false); }

inline float reduce_add(Vec v) noexcept {
#if XSIMD_VERSION_MAJOR >= 10
    return xsimd::reduce_add(v);
#else
    return xsimd::hadd(v);
#endif
}

#if defined(__AVX512F__)
/// Returns the vector whose lane i is the sum of the lanes of rows[i], for the 16 vectors starting
/// at rows, in 15 shuffle-and-add steps of 3 instructions each.
// xsimd 8.1.0's haddp for AVX-512 returns lanes 2-5 and 10-13 in the wrong order, which
// tests/dense_kernels_test.cpp catches, so the reduction is written out here for every version.
inline Vec reduce_add_each(const Vec* rows) noexcept {
    // Adds the lanes that index vectors `first` and `second` pick from a (0-15) and b (16-31).
    // GCC 12 warns about the undefined pass-through operand of _mm512_shuffle_f32x4, so the 128-bit
    // block moves use two-source permutes, which have none.
    const auto fold = [](__m512 a, __m512 b, __m512i first, __m512i second) {
        return _mm512_add_ps(_mm512_permutex2var_ps(a, first, b), _mm512_permutex2var_ps(a, second, b));
    };

    // Halving step for whole rows: blocks (0, 2) and (1, 3) of a and of b are added. The low 256
    // bits then hold 8 partial sums of a and the high 256 bits 8 partial sums of b.
    const __m512i halves_first = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    const __m512i halves_second = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    const auto fold_halves = [&](__m512 a, __m512 b) { return fold(a, b, halves_first, halves_second); };

    // Halving step across blocks: block k of the result holds 4 partial sums of one input row.
    const __m512i blocks_first = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
    const __m512i blocks_second = _mm512_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    const auto fold_blocks = [&](__m512 a, __m512 b) { return fold(a, b, blocks_first, blocks_second); };

    // Halving step inside each 128-bit block: lanes (0, 1) and (2, 3) of a and b are added.
    const auto fold_pairs = [](__m512 a, __m512 b) {
        return _mm512_add_ps(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
    };

    // Block k of q<m> holds 4 partial sums of row 4k + m, and the last two steps interleave q0 to q3
    // so that lane 4k + m of the result is the sum of row 4k + m.
    const __m512 r0 = fold_halves(rows[0], rows[4]);
    const __m512 r1 = fold_halves(rows[8], rows[12]);
    const __m512 r2 = fold_halves(rows[1], rows[5]);
    const __m512 r3 = fold_halves(rows[9], rows[13]);
    const __m512 r4 = fold_halves(rows[2], rows[6]);
    const __m512 r5 = fold_halves(rows[10], rows[14]);
    const __m512 r6 = fold_halves(rows[3], rows[7]);
    const __m512 r7 = fold_halves(rows[11], rows[15]);

    const __m512 q0 = fold_blocks(r0, r1);
    const __m512 q1 = fold_blocks(r2, r3);
    const __m512 q2 = fold_blocks(r4, r5);
    const __m512 q3 = fold_blocks(r6, r7);

    return fold_pairs(fold_pairs(q0, q1), fold_pairs(q2, q3));
}
#else
/// Returns the vector whose lane i is the sum of the lanes of rows[i], for the `width` vectors
/// starting at rows. Reducing `width` vectors together costs about as much as reducing one.
inline Vec reduce_add_each(const Vec* rows) noexcept { return xsimd::haddp(rows); }
#endif

inline float reduce_max(Vec v) noexcept {
#if XSIMD_VERSION_MAJOR >= 10
    return xsimd::reduce_max(v);
#else
    alignas(Vec::arch_type::alignment()) float lanes[width];
    v.store_aligned(lanes);
    float m = lanes[0];
    for (std::size_t i = 1; i < width; ++i) m = lanes[i] > m ? lanes[i] : m;
    return m;
#endif
}

/// Reinterprets the bits of each lane (no numeric conversion).
inline IntVec bits_of(Vec v) noexcept {
#if XSIMD_VERSION_MAJOR >= 10
    return xsimd::bitwise_cast<std::int32_t>(v);
#else
    return xsimd::bitwise_cast<IntVec>(v);
#endif
}

inline Vec from_bits(IntVec v) noexcept {
#if XSIMD_VERSION_MAJOR >= 10
    return xsimd::bitwise_cast<float>(v);
#else
    return xsimd::bitwise_cast<Vec>(v);
#endif
}

/// Converts each lane to the nearest integer value, ties to even (the current rounding mode).
inline Vec round_to_nearest(Vec v) noexcept { return xsimd::nearbyint(v); }
inline IntVec to_int(Vec v) noexcept { return xsimd::to_int(v); }
inline Vec exp(Vec v) noexcept { return xsimd::exp(v); }
inline Vec log(Vec v) noexcept { return xsimd::log(v); }
inline Vec tanh(Vec v) noexcept { return xsimd::tanh(v); }
inline Vec abs(Vec v) noexcept { return xsimd::abs(v); }
inline Vec sqrt(Vec v) noexcept { return xsimd::sqrt(v); }

/// Returns the lane numbers 0, 1, ..., width - 1 as floats, for masking the tail of a row.
inline Vec lane_indices() noexcept {
    alignas(Arch::alignment()) float lanes[width];
    for (std::size_t i = 0; i < width; ++i) lanes[i] = static_cast<float>(i);
    return Vec::load_aligned(lanes);
}

#else  // scalar path

// The scalar operations are one or two instructions each. At -Os GCC 12 keeps some of them, fma
// among them, as out-of-line functions, and every multiply-add then costs a call and three
// register moves, which makes the code both larger and several times slower.
#if defined(__GNUC__)
#define MICROFIT_SCALAR_INLINE inline __attribute__((always_inline))
#else
#define MICROFIT_SCALAR_INLINE inline
#endif

/// One float with the operations of an xsimd batch, for targets without SIMD.
struct Vec {
    float value;
};

struct IntVec {
    std::int32_t value;
};

struct Mask {
    bool value;
};

inline constexpr std::size_t width = 1;

/// Number of float registers assumed for sizing the matrix kernels. x86-64 has 16 and Cortex-M4F
/// and M7 have 32 single-precision registers.
// NOTE: an estimate; the kernel tiles it implies were not measured on a Cortex-M.
inline constexpr std::size_t registers = 16;

MICROFIT_SCALAR_INLINE Vec load(const float* p) noexcept { return {*p}; }
MICROFIT_SCALAR_INLINE Vec load_unaligned(const float* p) noexcept { return {*p}; }
MICROFIT_SCALAR_INLINE void store(float* p, Vec v) noexcept { *p = v.value; }
MICROFIT_SCALAR_INLINE void store_unaligned(float* p, Vec v) noexcept { *p = v.value; }
MICROFIT_SCALAR_INLINE Vec broadcast(float x) noexcept { return {x}; }
MICROFIT_SCALAR_INLINE IntVec broadcast_int(std::int32_t x) noexcept { return {x}; }

MICROFIT_SCALAR_INLINE Vec operator+(Vec a, Vec b) noexcept { return {a.value + b.value}; }
MICROFIT_SCALAR_INLINE Vec operator-(Vec a, Vec b) noexcept { return {a.value - b.value}; }
MICROFIT_SCALAR_INLINE Vec operator*(Vec a, Vec b) noexcept { return {a.value * b.value}; }
MICROFIT_SCALAR_INLINE Vec operator/(Vec a, Vec b) noexcept { return {a.value / b.value}; }
MICROFIT_SCALAR_INLINE Vec operator-(Vec a) noexcept { return {-a.value}; }
MICROFIT_SCALAR_INLINE Vec& operator+=(Vec& a, Vec b) noexcept { a.value += b.value; return a; }
MICROFIT_SCALAR_INLINE Vec& operator-=(Vec& a, Vec b) noexcept { a.value -= b.value; return a; }
MICROFIT_SCALAR_INLINE Vec& operator*=(Vec& a, Vec b) noexcept { a.value *= b.value; return a; }
MICROFIT_SCALAR_INLINE Mask operator>(Vec a, Vec b) noexcept { return {a.value > b.value}; }
MICROFIT_SCALAR_INLINE Mask operator<(Vec a, Vec b) noexcept { return {a.value < b.value}; }
MICROFIT_SCALAR_INLINE Mask operator>=(Vec a, Vec b) noexcept { return {a.value >= b.value}; }
MICROFIT_SCALAR_INLINE Mask operator<=(Vec a, Vec b) noexcept { return {a.value <= b.value}; }
MICROFIT_SCALAR_INLINE Mask operator!=(Vec a, Vec b) noexcept { return {a.value != b.value}; }
MICROFIT_SCALAR_INLINE Mask operator==(Vec a, Vec b) noexcept { return {a.value == b.value}; }
MICROFIT_SCALAR_INLINE Mask operator&&(Mask a, Mask b) noexcept { return {a.value && b.value}; }
MICROFIT_SCALAR_INLINE Mask operator||(Mask a, Mask b) noexcept { return {a.value || b.value}; }

/// Adds and subtracts modulo 2^32, as SIMD lanes do, where int32 overflow would be undefined
/// behaviour. detail::fast_exp adds garbage exponents in lanes that it replaces afterwards.
MICROFIT_SCALAR_INLINE IntVec operator+(IntVec a, IntVec b) noexcept {
    return {static_cast<std::int32_t>(static_cast<std::uint32_t>(a.value) + static_cast<std::uint32_t>(b.value))};
}
MICROFIT_SCALAR_INLINE IntVec operator-(IntVec a, IntVec b) noexcept {
    return {static_cast<std::int32_t>(static_cast<std::uint32_t>(a.value) - static_cast<std::uint32_t>(b.value))};
}
MICROFIT_SCALAR_INLINE IntVec operator<<(IntVec a, int shift) noexcept {
    return {static_cast<std::int32_t>(static_cast<std::uint32_t>(a.value) << shift)};
}
/// Shifts right with sign extension, as xsimd does for signed lanes. Written without shifting a
/// negative value, whose result C++17 leaves to the implementation.
MICROFIT_SCALAR_INLINE IntVec operator>>(IntVec a, int shift) noexcept {
    return {a.value >= 0 ? a.value >> shift : ~(~a.value >> shift)};
}

/// Returns a * b + c with one rounding when the target has a hardware FMA (Cortex-M4F and M7
/// have VFMA.F32), and as a product and a sum otherwise, matching the xsimd path.
MICROFIT_SCALAR_INLINE Vec fma(Vec a, Vec b, Vec c) noexcept {
#if defined(__FP_FAST_FMAF) || defined(__ARM_FEATURE_FMA)
    return {std::fma(a.value, b.value, c.value)};
#else
    return {a.value * b.value + c.value};
#endif
}
/// Returns b when either operand is NaN, as x86's MAXPS and MINPS do.
MICROFIT_SCALAR_INLINE Vec max(Vec a, Vec b) noexcept { return {a.value > b.value ? a.value : b.value}; }
MICROFIT_SCALAR_INLINE Vec min(Vec a, Vec b) noexcept { return {a.value < b.value ? a.value : b.value}; }
MICROFIT_SCALAR_INLINE Vec select(Mask m, Vec if_true, Vec if_false) noexcept { return m.value ? if_true : if_false; }
MICROFIT_SCALAR_INLINE float reduce_add(Vec v) noexcept { return v.value; }
MICROFIT_SCALAR_INLINE Vec reduce_add_each(const Vec* rows) noexcept { return rows[0]; }
MICROFIT_SCALAR_INLINE float reduce_max(Vec v) noexcept { return v.value; }

MICROFIT_SCALAR_INLINE IntVec bits_of(Vec v) noexcept {
    IntVec r;
    std::memcpy(&r.value, &v.value, sizeof(float));
    return r;
}

MICROFIT_SCALAR_INLINE Vec from_bits(IntVec v) noexcept {
    Vec r;
    std::memcpy(&r.value, &v.value, sizeof(float));
    return r;
}

/// Rounds to the nearest integer, ties to even, as std::nearbyint does in the default rounding
/// mode. FPUs without a rounding instruction (Cortex-M4) would call libm's nearbyintf, so the sum
/// with 2^23, whose float spacing is 1, rounds instead. Larger magnitudes are integers already.
MICROFIT_SCALAR_INLINE Vec round_to_nearest(Vec v) noexcept {
#if defined(__FAST_MATH__)
    // -ffast-math may fold (m + 2^23) - 2^23 to m.
    return {std::nearbyint(v.value)};
#else
    const float magnitude = std::fabs(v.value);
    if (!(magnitude < 0x1p23f)) return v;  // integral already, infinite or NaN
    const float rounded = (magnitude + 0x1p23f) - 0x1p23f;
    return {std::copysign(rounded, v.value)};
#endif
}
/// Truncates toward zero. NaN and values outside the int32 range give INT32_MIN, as x86's
/// CVTTPS2DQ does, because a cast of those values is undefined behaviour.
inline IntVec to_int(Vec v) noexcept {
    const bool in_range = v.value >= -2147483648.0f && v.value < 2147483648.0f;
    return {in_range ? static_cast<std::int32_t>(v.value) : INT32_MIN};
}
inline Vec exp(Vec v) noexcept { return {std::exp(v.value)}; }
inline Vec log(Vec v) noexcept { return {std::log(v.value)}; }
inline Vec tanh(Vec v) noexcept { return {std::tanh(v.value)}; }
inline Vec abs(Vec v) noexcept { return {std::fabs(v.value)}; }
inline Vec sqrt(Vec v) noexcept { return {std::sqrt(v.value)}; }
inline Vec lane_indices() noexcept { return {0.0f}; }

#endif

/// Byte alignment of every buffer that kernels load with `load`: one full vector, and at least
/// 16 bytes so that buffers stay aligned for the widest load on every target.
inline constexpr std::size_t alignment = width * sizeof(float) < 16 ? 16 : width * sizeof(float);

/// Rounds a count of floats up to a whole number of vectors.
constexpr std::size_t padded(std::size_t n) noexcept { return (n + width - 1) / width * width; }

}  // namespace microfit::detail::simd
