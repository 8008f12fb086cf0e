// Sample and class weights.
//
// The effective weight of sample i is sample_weight[i] * class_weight[label_i], where an absent
// sample weight or class weight counts as 1. This is the convention of tf.keras 2 and scikit-learn
// (Keras 3 rejects class_weight and sample_weight given together instead).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "microfit/dataset.hpp"
#include "microfit/status.hpp"

namespace microfit {

/// Returns sample_weight * class_weight[label]; pass 1 for an absent sample weight. With class
/// weights, `label` must be in [0, class_weight.count), which is not checked here (fit checks it).
constexpr float effective_weight(float sample_weight, const ClassWeights& class_weight, std::int32_t label) noexcept {
    return sample_weight * class_weight[static_cast<std::size_t>(label)];
}

namespace detail {

/// Classes whose weight sums balanced_class_weights accumulates in one pass over the rows: 16
/// doubles, 128 bytes of stack.
inline constexpr std::size_t balanced_classes_per_pass = 16;

/// Adds the weight of each row whose label is in [first, first + count) to sums[label - first],
/// in row order. The labels and weights have been checked.
inline void sum_class_weights(const std::int32_t* labels, const float* sample_weight, std::size_t rows,
                              std::size_t first, std::size_t count, double* sums) noexcept {
    for (std::size_t c = 0; c < count; ++c) sums[c] = 0.0;
    for (std::size_t r = 0; r < rows; ++r) {
        const auto label = static_cast<std::size_t>(labels[r]);
        if (label < first || label >= first + count) continue;
        sums[label - first] += sample_weight == nullptr ? 1.0 : static_cast<double>(sample_weight[r]);
    }
}

}  // namespace detail

/// Writes balanced class weights into `out[0..classes)`: n / (classes * n_c), where n_c counts the
/// samples of class c, or, with sample weights, sum(w) / (classes * sum of w over class c), which
/// is scikit-learn's compute_class_weight("balanced") extended to weighted samples. The sums are
/// formed in double, in row order.
///
/// Returns empty_dataset, missing_data (null labels or out), invalid_option (classes outside
/// [1, 256]), label_out_of_range, non_finite_weight or negative_weight for bad input, and
/// empty_class when a class has no samples or a total weight so small that its balanced weight
/// would overflow float (`value` is that total, `limit` the weight). `out` is written only on
/// success.
///
/// Stack and time: the per-class sums of 16 classes at a time take 128 bytes of stack, so the
/// function reads the rows 1 + 2 * ceil(classes / 16) times (3 times up to 16 classes).
inline Status balanced_class_weights(const std::int32_t* labels, const float* sample_weight, std::size_t rows,
                                     std::size_t classes, float* out) noexcept {
    if (rows == 0) return Status(StatusCode::empty_dataset);
    if (labels == nullptr || out == nullptr) {
        Status s(StatusCode::missing_data);
        s.option = labels == nullptr ? "labels" : "out";
        return s;
    }
    constexpr std::size_t max_classes = 256;
    if (classes < 1 || classes > max_classes) {
        Status s(StatusCode::invalid_option);
        s.option = "classes";
        s.value = classes;
        s.expected = "in [1, 256]";
        return s;
    }

    double total = 0.0;
    for (std::size_t r = 0; r < rows; ++r) {
        const std::int32_t label = labels[r];
        if (label < 0 || static_cast<std::size_t>(label) >= classes) {
            Status s(StatusCode::label_out_of_range);
            s.index = r;
            s.value = label;
            s.limit = classes;
            return s;
        }
        const float w = sample_weight == nullptr ? 1.0f : sample_weight[r];
        if (!std::isfinite(w) || w < 0.0f) {
            Status s(std::isfinite(w) ? StatusCode::negative_weight : StatusCode::non_finite_weight);
            s.index = r;
            s.value = w;
            return s;
        }
        total += w;
    }

    // Every weight is checked before the first one is written, so the sums are formed twice.
    constexpr std::size_t group = detail::balanced_classes_per_pass;
    double sums[group];
    for (int pass = 0; pass < 2; ++pass) {
        for (std::size_t first = 0; first < classes; first += group) {
            const std::size_t count = classes - first < group ? classes - first : group;
            detail::sum_class_weights(labels, sample_weight, rows, first, count, sums);
            for (std::size_t k = 0; k < count; ++k) {
                const double weight = total / (static_cast<double>(classes) * sums[k]);
                if (pass == 1) {
                    out[first + k] = static_cast<float>(weight);
                } else if (!(sums[k] > 0.0) || !(weight <= static_cast<double>(std::numeric_limits<float>::max()))) {
                    Status s(StatusCode::empty_class);
                    s.index = first + k;
                    s.value = sums[k];
                    s.limit = sums[k] > 0.0 ? weight : 0.0;
                    return s;
                }
            }
        }
    }
    return Status{};
}

}  // namespace microfit
