// Softmax and log-softmax of one row of logits.
//
// A row has n real values in an aligned buffer readable up to simd::padded(n); the padding lanes
// are masked, so they never change the result, whatever they contain. The row maximum is
// subtracted before exponentiation, so no finite input overflows.
//
// A row whose values are all -inf has no maximum to subtract. It is defined as the limit of n equal
// logits: softmax 1/n in every lane and log-softmax -log(n).
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>

#include "microfit/detail/simd.hpp"

namespace microfit::detail {

/// The log-sum-exp of a row, split as `max + log_sum` so that callers can form `z_i - lse` as
/// `(z_i - max) - log_sum` without losing z_i's low digits when max is large.
struct LogSumExp {
    float max;
    float log_sum;
};

/// Returns the maximum of the n real lanes of a row.
inline float row_max(const float* row, std::size_t n) noexcept {
    using simd::Vec;
    constexpr std::size_t W = simd::width;
    const Vec minus_inf = simd::broadcast(-std::numeric_limits<float>::infinity());
    const std::size_t full = n / W * W;

    Vec m = minus_inf;
    for (std::size_t j = 0; j < full; j += W) m = simd::max(m, simd::load(row + j));
    if (full < n) {
        const Vec lane = simd::lane_indices() + simd::broadcast(static_cast<float>(full));
        const Vec tail = simd::select(lane < simd::broadcast(static_cast<float>(n)), simd::load(row + full), minus_inf);
        m = simd::max(m, tail);
    }
    return simd::reduce_max(m);
}

/// Writes softmax(row) into `out` (aligned, simd::padded(n) lanes; padding lanes become 0) and
/// returns the row's log-sum-exp.
inline LogSumExp softmax(const float* row, std::size_t n, float* out) noexcept {
    using simd::Vec;
    constexpr std::size_t W = simd::width;
    const std::size_t stride = simd::padded(n);
    const float m = row_max(row, n);

    if (m == -std::numeric_limits<float>::infinity()) {
        for (std::size_t j = 0; j < stride; ++j) out[j] = j < n ? 1.0f / static_cast<float>(n) : 0.0f;
        return {m, std::log(static_cast<float>(n))};
    }

    const Vec shift = simd::broadcast(m);
    const Vec limit = simd::broadcast(static_cast<float>(n));
    const Vec zero = simd::broadcast(0.0f);
    Vec sum = zero;
    for (std::size_t j = 0; j < stride; j += W) {
        const Vec lane = simd::lane_indices() + simd::broadcast(static_cast<float>(j));
        const Vec e = simd::select(lane < limit, simd::exp(simd::load(row + j) - shift), zero);
        simd::store(out + j, e);
        sum += e;
    }
    const float total = simd::reduce_add(sum);
    const Vec scale = simd::broadcast(1.0f / total);
    for (std::size_t j = 0; j < stride; j += W) simd::store(out + j, simd::load(out + j) * scale);
    return {m, std::log(total)};
}

/// Writes log-softmax(row) into `out` (aligned, simd::padded(n) lanes; padding lanes become 0).
inline LogSumExp log_softmax(const float* row, std::size_t n, float* out) noexcept {
    using simd::Vec;
    constexpr std::size_t W = simd::width;
    const std::size_t stride = simd::padded(n);
    const float m = row_max(row, n);

    if (m == -std::numeric_limits<float>::infinity()) {
        const float value = -std::log(static_cast<float>(n));
        for (std::size_t j = 0; j < stride; ++j) out[j] = j < n ? value : 0.0f;
        return {m, -value};
    }

    const Vec shift = simd::broadcast(m);
    const Vec limit = simd::broadcast(static_cast<float>(n));
    const Vec zero = simd::broadcast(0.0f);
    Vec sum = zero;
    for (std::size_t j = 0; j < stride; j += W) {
        const Vec lane = simd::lane_indices() + simd::broadcast(static_cast<float>(j));
        sum += simd::select(lane < limit, simd::exp(simd::load(row + j) - shift), zero);
    }
    const float log_sum = std::log(simd::reduce_add(sum));
    const Vec offset = simd::broadcast(log_sum);
    for (std::size_t j = 0; j < stride; j += W) {
        const Vec lane = simd::lane_indices() + simd::broadcast(static_cast<float>(j));
        simd::store(out + j, simd::select(lane < limit, (simd::load(row + j) - shift) - offset, zero));
    }
    return {m, log_sum};
}

}  // namespace microfit::detail
