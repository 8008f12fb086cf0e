// Softmax and log-softmax of one row of logits.
//
// A row has n >= 1 real values in an aligned buffer readable up to simd::padded(n). The padding
// lanes are masked, so they never change the result, whatever they contain (NaN included). The
// output buffer has the same layout, its padding lanes are written as 0, and it may be the row
// itself. The row maximum is subtracted before exponentiation, so no finite input overflows.
//
// Each function makes three passes over the row: the maximum, then e^(z - max) and its sum
// (detail::fast_exp_nonpositive, within 2 ULP, with results below FLT_MIN flushed to 0), then
// the scaling or the subtraction of log(sum).
//
// Special rows:
//   - All real values -inf: there is no maximum to subtract. The row is defined as the limit of
//     n equal logits: softmax 1/n in every lane and log-softmax -log(n).
//   - Some values -inf: those lanes get softmax 0 and log-softmax -inf.
//   - A NaN or +inf value in a real lane: every real output lane is NaN, and so is the returned
//     log_sum.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include "microfit/config.hpp"
#include "microfit/detail/exp.hpp"
#include "microfit/detail/simd.hpp"

namespace microfit::detail {

/// The log-sum-exp of a row, split as `max + log_sum` so that callers can form `z_i - lse` as
/// `(z_i - max) - log_sum` without losing z_i's low digits when max is large.
struct LogSumExp {
    float max;
    float log_sum;
};

/// Returns a mask of the lanes whose index is below `count`, for the last, partial vector of a row.
inline simd::Mask first_lanes(std::size_t count) noexcept {
    return simd::lane_indices() < simd::broadcast(static_cast<float>(count));
}

/// Returns the maximum of the n real lanes of a row (-inf for n = 0). When a lane is NaN, the
/// result is NaN or the maximum of the other lanes, depending on the lane order.
inline float row_max(const float* row, std::size_t n) noexcept {
    using simd::Vec;
    constexpr std::size_t W = simd::width;
    const Vec minus_inf = simd::broadcast(-std::numeric_limits<float>::infinity());
    const std::size_t full = n / W * W;

    // Four independent maxima, because one would wait for the latency of each max in turn.
    Vec m0 = minus_inf;
    Vec m1 = minus_inf;
    Vec m2 = minus_inf;
    Vec m3 = minus_inf;
    std::size_t j = 0;
    for (; j + 4 * W <= full; j += 4 * W) {
        m0 = simd::max(m0, simd::load(row + j));
        m1 = simd::max(m1, simd::load(row + j + W));
        m2 = simd::max(m2, simd::load(row + j + 2 * W));
        m3 = simd::max(m3, simd::load(row + j + 3 * W));
    }
    for (; j < full; j += W) m0 = simd::max(m0, simd::load(row + j));
    if (full < n) m1 = simd::max(m1, simd::select(first_lanes(n - full), simd::load(row + full), minus_inf));
    return simd::reduce_max(simd::max(simd::max(m0, m1), simd::max(m2, m3)));
}

/// Returns the sum of e^(row[j] - max) over the n real lanes and, if `out` is not null, writes
/// each term to out[j] (padding lanes of the last vector as 0). `max` is the row maximum, so
/// row[j] - max <= 0 (or NaN) in every real lane, as fast_exp_nonpositive requires.
inline float sum_exp(const float* row, std::size_t n, float max, float* out) noexcept {
    using simd::Vec;
    constexpr std::size_t W = simd::width;
    const Vec shift = simd::broadcast(max);
    const std::size_t full = n / W * W;

    // Two independent sums, so that the additions overlap.
    Vec sum0 = simd::broadcast(0.0f);
    Vec sum1 = simd::broadcast(0.0f);
    std::size_t j = 0;
    for (; j + 2 * W <= full; j += 2 * W) {
        const Vec e0 = fast_exp_nonpositive(simd::load(row + j) - shift);
        const Vec e1 = fast_exp_nonpositive(simd::load(row + j + W) - shift);
        if (out != nullptr) {
            simd::store(out + j, e0);
            simd::store(out + j + W, e1);
        }
        sum0 += e0;
        sum1 += e1;
    }
    if (j < full) {
        const Vec e = fast_exp_nonpositive(simd::load(row + j) - shift);
        if (out != nullptr) simd::store(out + j, e);
        sum0 += e;
    }
    if (full < n) {
        // Padding lanes may hold NaN or values above max, so they are replaced after the exp.
        const Vec tail = fast_exp_nonpositive(simd::load(row + full) - shift);
        const Vec e = simd::select(first_lanes(n - full), tail, simd::broadcast(0.0f));
        if (out != nullptr) simd::store(out + full, e);
        sum1 += e;
    }
    return simd::reduce_add(sum0 + sum1);
}

/// Writes the output of a row whose real lanes are all -inf or NaN, for which row_max returned
/// -inf. Every real lane gets the limit of n equal logits, 1/n (softmax) or -log(n) (log-softmax),
/// or NaN if one of the lanes is NaN. Padding lanes become 0.
inline LogSumExp fill_uniform_row(const float* row, std::size_t n, bool log_domain, float* out) noexcept {
    bool has_nan = false;
    for (std::size_t j = 0; j < n; ++j) has_nan = has_nan || std::isnan(row[j]);

    const float log_n = std::log(static_cast<float>(n));
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float value = has_nan ? nan : (log_domain ? -log_n : 1.0f / static_cast<float>(n));
    const std::size_t stride = simd::padded(n);
    for (std::size_t j = 0; j < stride; ++j) out[j] = j < n ? value : 0.0f;
    return {-std::numeric_limits<float>::infinity(), has_nan ? nan : log_n};
}

/// Writes softmax(row) into `out` (aligned, simd::padded(n) lanes; padding lanes become 0) and
/// returns the row's log-sum-exp.
inline LogSumExp softmax(const float* row, std::size_t n, float* out) noexcept {
    using simd::Vec;
    constexpr std::size_t W = simd::width;
    MICROFIT_ASSERT(n >= 1);
    const float m = row_max(row, n);
    if (m == -std::numeric_limits<float>::infinity()) return fill_uniform_row(row, n, false, out);

    // The sum is at least 1 (the maximum lane contributes e^0 = 1), so its reciprocal is finite,
    // unless a NaN or +inf logit made it NaN.
    const float total = sum_exp(row, n, m, out);
    const Vec scale = simd::broadcast(1.0f / total);
    const std::size_t full = n / W * W;
    for (std::size_t j = 0; j < full; j += W) simd::store(out + j, simd::load(out + j) * scale);
    if (full < n) {
        // A NaN total would turn the zero padding lanes into NaN, so they are masked again.
        const Vec tail = simd::load(out + full) * scale;
        simd::store(out + full, simd::select(first_lanes(n - full), tail, simd::broadcast(0.0f)));
    }
    return {m, std::log(total)};
}

/// Writes log-softmax(row) = (row - max) - log_sum into `out` (aligned, simd::padded(n) lanes;
/// padding lanes become 0) and returns the row's log-sum-exp.
inline LogSumExp log_softmax(const float* row, std::size_t n, float* out) noexcept {
    using simd::Vec;
    constexpr std::size_t W = simd::width;
    MICROFIT_ASSERT(n >= 1);
    const float m = row_max(row, n);
    if (m == -std::numeric_limits<float>::infinity()) return fill_uniform_row(row, n, true, out);

    const float log_sum = std::log(sum_exp(row, n, m, nullptr));
    const Vec shift = simd::broadcast(m);
    const Vec offset = simd::broadcast(log_sum);
    const std::size_t full = n / W * W;
    for (std::size_t j = 0; j < full; j += W) simd::store(out + j, (simd::load(row + j) - shift) - offset);
    if (full < n) {
        const Vec tail = (simd::load(row + full) - shift) - offset;
        simd::store(out + full, simd::select(first_lanes(n - full), tail, simd::broadcast(0.0f)));
    }
    return {m, log_sum};
}

}  // namespace microfit::detail
