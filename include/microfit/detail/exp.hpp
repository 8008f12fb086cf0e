// e^x for every lane of a simd::Vec, in single precision, without calling libm.
//
// Method (Cody and Waite range reduction, then a polynomial):
//   1. n = round(x / ln 2) and r = x - n ln 2, so |r| <= ln(2) / 2 and e^x = 2^n e^r.
//      ln 2 is split as ln2_hi + ln2_lo. ln2_hi has 15 significant bits, so n * ln2_hi is exact
//      for |n| <= 511 and x - n * ln2_hi is exact (Sterbenz). Only the ln2_lo term rounds.
//   2. e^r by a degree-5 polynomial with p(0) = 1, evaluated by Horner's rule with simd::fma.
//   3. 2^n applied by adding n to the exponent field of p = e^r, which is exact because every
//      result that is not flushed to 0 is a normal float.
// Lanes whose result is +0 or +inf go through the same steps and are replaced at the end.
//
// Accuracy against std::exp in double (tests/exp_test.cpp): at most 2 ULP from the correctly
// rounded result on every build. Against the exact value, the maximum over every float in
// [-87.3, 0] is 1.89 ULP where simd::fma is fused (AVX2 with FMA, AVX-512, the scalar path with
// FMA) and 2.18 ULP where it is a product and a sum (SSE2, the scalar path without FMA). Builds
// for AArch64, NEON with VFPv4, Cortex-M4F and M7 fuse too, and their sampled sweeps under
// emulation stay below 1.89 ULP. The scalar path runs the same algorithm, so Cortex-M gets this
// accuracy without calling libm's expf.
//
// Special inputs:
//   x > 88.7228317 (the largest float whose e^x rounds to a finite float)   +inf
//   x < -87.3365402 (the smallest float whose e^x is at least FLT_MIN)       +0, also for -inf
//   NaN                                                                      NaN
//   +0 and -0                                                                exactly 1
// Results below FLT_MIN are flushed to 0 instead of rounded to subnormals. Softmax, the user of
// this function, adds them to a sum of at least 1, where they vanish. Producing subnormals would
// cost a second scaling multiply, and arithmetic with subnormal results is slow on many x86 CPUs
// unless flush-to-zero is set.
#pragma once

#include <limits>

#include "microfit/detail/simd.hpp"

namespace microfit::detail {

namespace exp_constants {

inline constexpr float log2_e = 0x1.715476p+0f;  // 1 / ln 2 rounded to float
inline constexpr float ln2_hi = 0x1.62e4p-1f;    // 0.693145751953125, ln 2 to 15 significant bits
inline constexpr float ln2_lo = 0x1.7f7d1cp-20f;  // 1.42860677e-6, ln 2 - ln2_hi rounded to float

/// Largest float whose e^x is finite in float: e^x < 2^128 - 2^103, the midpoint between
/// FLT_MAX and 2^128.
inline constexpr float max_finite_input = 0x1.62e42ep+6f;  // 88.7228317

/// Smallest float whose e^x is at least FLT_MIN = 2^-126, the smallest normal float.
inline constexpr float min_normal_input = -0x1.5d589ep+6f;  // -87.3365402

// Coefficients c1..c5 of p(r) = 1 + c1 r + c2 r^2 + c3 r^3 + c4 r^4 + c5 r^5 ~ e^r on
// |r| <= ln(2) / 2. They minimize the maximum error in float ULPs of e^r (weights 2^24 for r < 0
// and 2^23 for r >= 0), found by Lawson's iteratively reweighted least squares on 8001 points,
// rounding c1 to float first, then refitting and rounding c2, and so on up to c5. The constant
// term is fixed at 1 so that e^0 is exactly 1. Approximation error with these float
// coefficients: 1.07 ULP. Script: tools/fit_exp_polynomial.py.
inline constexpr float c1 = 0x1.ffffeep-1f;   // 0.999999464
inline constexpr float c2 = 0x1.fffdc2p-2f;   // 0.499991447
inline constexpr float c3 = 0x1.555d44p-3f;   // 0.166681796
inline constexpr float c4 = 0x1.573b82p-5f;   // 0.0418984927
inline constexpr float c5 = 0x1.0eba2ep-7f;   // 0.00826194044

inline constexpr int mantissa_bits = 23;

}  // namespace exp_constants

/// Returns e^x for x in [min_normal_input, max_finite_input], and NaN for NaN: the range
/// reduction, the polynomial and the scaling shared by fast_exp and fast_exp_nonpositive. Lanes
/// below min_normal_input get unspecified values, which the callers replace by 0, and lanes above
/// max_finite_input must not occur.
inline simd::Vec exp_core(simd::Vec x) noexcept {
    using simd::Vec;
    namespace c = exp_constants;

    // Range reduction: x = n ln2 + r, |r| <= ln(2) / 2, n in [-126, 128] for valid lanes.
    const Vec n = simd::round_to_nearest(x * simd::broadcast(c::log2_e));
    Vec r = simd::fma(n, simd::broadcast(-c::ln2_hi), x);
    r = simd::fma(n, simd::broadcast(-c::ln2_lo), r);

    // e^r by Horner's rule.
    Vec p = simd::fma(simd::broadcast(c::c5), r, simd::broadcast(c::c4));
    p = simd::fma(p, r, simd::broadcast(c::c3));
    p = simd::fma(p, r, simd::broadcast(c::c2));
    p = simd::fma(p, r, simd::broadcast(c::c1));
    p = simd::fma(p, r, simd::broadcast(1.0f));

    // p * 2^n by adding n to p's exponent field, exact because the result is a normal float:
    // n = -126 only with r >= 0, so p >= 1, and n = 128 only with r < 0, so p < 1. In lanes below
    // min_normal_input the sum wraps or overflows the exponent field, which is harmless there.
    return simd::from_bits(simd::bits_of(p) + (simd::to_int(n) << c::mantissa_bits));
}

/// Returns e^x in every lane, within 2 ULP of the correctly rounded value on [-87.3, 0]. Inputs
/// above 88.7228317 give +inf, inputs below -87.3365402 give +0 (flushed: the exact results there
/// are subnormal), NaN gives NaN.
///
/// Named `fast_exp` to tell it apart from simd::exp (xsimd's exp, or std::exp on the scalar
/// path).
inline simd::Vec fast_exp(simd::Vec x) noexcept {
    using simd::Vec;
    namespace c = exp_constants;
    const Vec low = simd::broadcast(c::min_normal_input);
    const Vec high = simd::broadcast(c::max_finite_input);

    // simd::min returns NaN where its second operand is NaN, so NaN lanes stay NaN.
    const Vec y = exp_core(simd::min(high, x));
    const Vec overflowed = simd::select(x > high, simd::broadcast(std::numeric_limits<float>::infinity()), y);
    return simd::select(x < low, simd::broadcast(0.0f), overflowed);
}

/// Returns fast_exp(x), bit for bit, for lanes with x <= 0 or NaN, such as the shifted logits
/// z - max(z) of softmax. Lanes with x > 0 get unspecified values. Skipping the overflow handling
/// takes a fifth off the time per element (`exp/` rows of bench/softmax_bench.cpp, AVX2 build).
inline simd::Vec fast_exp_nonpositive(simd::Vec x) noexcept {
    const simd::Vec low = simd::broadcast(exp_constants::min_normal_input);
    return simd::select(x < low, simd::broadcast(0.0f), exp_core(x));
}

}  // namespace microfit::detail
