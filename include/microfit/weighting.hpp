// Sample and class weights.
//
// The effective weight of sample i is sample_weight[i] * class_weight[label_i], where an absent
// sample weight or class weight counts as 1. This is the convention of tf.keras 2 and scikit-learn
// (Keras 3 rejects class_weight and sample_weight given together instead).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "microfit/dataset.hpp"
#include "microfit/status.hpp"

namespace microfit {

/// Returns sample_weight * class_weight[label]; pass 1 for an absent sample weight. With class
/// weights, `label` must be in [0, class_weight.count), which is not checked here (fit checks it).
constexpr float effective_weight(float sample_weight, const ClassWeights& class_weight, std::int32_t label) noexcept {
    return sample_weight * class_weight[static_cast<std::size_t>(label)];
}

/// Writes balanced class weights into `out[0..classes)`: n / (classes * n_c), where n_c counts the
/// samples of class c, or, with sample weights, sum(w) / (classes * sum of w over class c), which
/// is scikit-learn's compute_class_weight("balanced") extended to weighted samples.
///
/// Returns empty_dataset, missing_data (null labels or out), invalid_option (classes outside
/// [1, 256]), label_out_of_range, non_finite_weight or negative_weight for bad input, and
/// empty_class when a class has no samples or zero total weight, because its weight would be
/// infinite. `out` is written only on success.
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
        s.value = static_cast<double>(classes);
        s.expected = "in [1, 256]";
        return s;
    }

    double per_class[max_classes] = {};
    double total = 0.0;
    for (std::size_t r = 0; r < rows; ++r) {
        const std::int32_t label = labels[r];
        if (label < 0 || static_cast<std::size_t>(label) >= classes) {
            Status s(StatusCode::label_out_of_range);
            s.index = r;
            s.value = label;
            s.limit = static_cast<double>(classes);
            return s;
        }
        const float w = sample_weight == nullptr ? 1.0f : sample_weight[r];
        if (!std::isfinite(w) || w < 0.0f) {
            Status s(std::isfinite(w) ? StatusCode::negative_weight : StatusCode::non_finite_weight);
            s.index = r;
            s.value = w;
            return s;
        }
        per_class[label] += w;
        total += w;
    }
    for (std::size_t c = 0; c < classes; ++c) {
        if (!(per_class[c] > 0.0)) {
            Status s(StatusCode::empty_class);
            s.index = c;
            return s;
        }
    }
    for (std::size_t c = 0; c < classes; ++c) {
        out[c] = static_cast<float>(total / (static_cast<double>(classes) * per_class[c]));
    }
    return Status{};
}

}  // namespace microfit
