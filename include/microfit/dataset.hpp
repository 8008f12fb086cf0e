// Dataset: a view over caller-owned arrays, and its validation.
//
// microfit never copies a data set. Training copies one batch of feature rows at a time into its
// aligned, padded input buffer and reads labels, targets and weights in place.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "microfit/status.hpp"

namespace microfit {

struct Dataset {
    const float* features = nullptr;        ///< [rows][feature_count], row-major. Required.
    std::size_t rows = 0;                   ///< Number of samples, >= 1.
    std::size_t feature_count = 0;          ///< Must equal the model's input size.
    const std::int32_t* labels = nullptr;   ///< [rows], each in [0, classes). Classification losses only.
    const float* targets = nullptr;         ///< [rows][target_count]. Regression losses only.
    std::size_t target_count = 0;           ///< Must equal the model's output size when targets are given.
    const float* sample_weight = nullptr;   ///< [rows], each finite and >= 0. Optional: null means all 1.
};

/// Builds a classification data set view.
constexpr Dataset classification_data(const float* features, const std::int32_t* labels, std::size_t rows,
                                      std::size_t feature_count, const float* sample_weight = nullptr) noexcept {
    Dataset d;
    d.features = features;
    d.rows = rows;
    d.feature_count = feature_count;
    d.labels = labels;
    d.sample_weight = sample_weight;
    return d;
}

/// Builds a regression data set view.
constexpr Dataset regression_data(const float* features, const float* targets, std::size_t rows,
                                  std::size_t feature_count, std::size_t target_count,
                                  const float* sample_weight = nullptr) noexcept {
    Dataset d;
    d.features = features;
    d.rows = rows;
    d.feature_count = feature_count;
    d.targets = targets;
    d.target_count = target_count;
    d.sample_weight = sample_weight;
    return d;
}

/// Per-class weights: a pointer to `count` floats, one per class, indexed by label. Null means
/// no class weights (all 1).
struct ClassWeights {
    const float* values = nullptr;
    std::size_t count = 0;

    constexpr bool empty() const noexcept { return values == nullptr; }
    constexpr float operator[](std::size_t c) const noexcept { return values == nullptr ? 1.0f : values[c]; }
};

namespace detail {

/// Largest number of rows in a data set: training and the samplers index rows with 32 bits.
inline constexpr std::uint64_t max_dataset_rows = 0xffffffffu;

/// Returns invalid_option when `rows` exceeds max_dataset_rows, else ok.
inline Status check_row_limit(std::size_t rows) noexcept {
    // Where size_t has 32 bits every count fits, and the comparison would be always false
    // (GCC's -Wtype-limits), so it is compiled only for wider size_t.
    if constexpr (sizeof(std::size_t) > sizeof(std::uint32_t)) {
        if (static_cast<std::uint64_t>(rows) > max_dataset_rows) {
            Status s(StatusCode::invalid_option);
            s.option = "rows";
            s.value = rows;
            s.expected = "at most 4294967295, because row indices are 32-bit";
            return s;
        }
    }
    return Status{};
}

inline Status with_role(Status s, DataRole role) noexcept {
    s.role = role;
    return s;
}

/// Checks the row count, the feature pointer and the feature count of a data set.
inline Status validate_feature_shape(const float* features, std::size_t rows, std::size_t feature_count,
                                     std::size_t input_size) noexcept {
    if (rows == 0) return Status(StatusCode::empty_dataset);
    const Status limit = check_row_limit(rows);
    if (!limit.ok()) return limit;
    if (features == nullptr) {
        Status s(StatusCode::missing_data);
        s.option = "features";
        return s;
    }
    if (feature_count != input_size) {
        Status s(StatusCode::wrong_feature_count);
        s.value = feature_count;
        s.limit = input_size;
        return s;
    }
    return Status{};
}

/// Checks feature rows alone, for prediction: their shape, then that every value is finite.
inline Status validate_features(const float* features, std::size_t rows, std::size_t feature_count,
                                std::size_t input_size) noexcept {
    const Status shape = validate_feature_shape(features, rows, feature_count, input_size);
    if (!shape.ok()) return shape;
    for (std::size_t i = 0; i < rows * feature_count; ++i) {
        if (!std::isfinite(features[i])) {
            Status s(StatusCode::non_finite_feature);
            s.index = i / feature_count;
            s.column = i % feature_count;
            s.value = features[i];
            return s;
        }
    }
    return Status{};
}

/// Checks every field of a data set once, before training touches the model. `classes` is 0 for
/// regression. Returns the first problem found, scanning rows in order.
inline Status validate_dataset(const Dataset& d, std::size_t input_size, std::size_t output_size, std::size_t classes,
                               bool needs_labels, DataRole role) noexcept {
    const Status shape = validate_feature_shape(d.features, d.rows, d.feature_count, input_size);
    if (!shape.ok()) return with_role(shape, role);
    if (needs_labels && d.labels == nullptr) {
        Status s(StatusCode::missing_data);
        s.option = "labels";
        return with_role(s, role);
    }
    if (!needs_labels) {
        if (d.targets == nullptr) {
            Status s(StatusCode::missing_data);
            s.option = "targets";
            return with_role(s, role);
        }
        if (d.target_count != output_size) {
            Status s(StatusCode::wrong_target_count);
            s.value = d.target_count;
            s.limit = output_size;
            return with_role(s, role);
        }
    }

    for (std::size_t r = 0; r < d.rows; ++r) {
        const float* row = d.features + r * d.feature_count;
        for (std::size_t c = 0; c < d.feature_count; ++c) {
            if (!std::isfinite(row[c])) {
                Status s(StatusCode::non_finite_feature);
                s.index = r;
                s.column = c;
                s.value = row[c];
                return with_role(s, role);
            }
        }
        if (needs_labels) {
            const std::int32_t label = d.labels[r];
            if (label < 0 || static_cast<std::size_t>(label) >= classes) {
                Status s(StatusCode::label_out_of_range);
                s.index = r;
                s.value = label;
                s.limit = classes;
                return with_role(s, role);
            }
        } else {
            for (std::size_t c = 0; c < d.target_count; ++c) {
                const float t = d.targets[r * d.target_count + c];
                if (!std::isfinite(t)) {
                    Status s(StatusCode::non_finite_target);
                    s.index = r;
                    s.column = c;
                    s.value = t;
                    return with_role(s, role);
                }
            }
        }
        if (d.sample_weight != nullptr) {
            const float w = d.sample_weight[r];
            if (!std::isfinite(w) || w < 0.0f) {
                Status s(std::isfinite(w) ? StatusCode::negative_weight : StatusCode::non_finite_weight);
                s.index = r;
                s.value = w;
                return with_role(s, role);
            }
        }
    }
    return Status{};
}

/// Checks that class weights, when given, have one finite, non-negative value per class.
inline Status validate_class_weights(const ClassWeights& weights, std::size_t classes) noexcept {
    if (weights.values == nullptr && weights.count != 0) {
        Status s(StatusCode::missing_data);
        s.option = "class_weight.values";
        return s;
    }
    if (weights.empty()) return Status{};
    if (weights.count != classes) {
        Status s(StatusCode::wrong_class_weight_count);
        s.value = weights.count;
        s.limit = classes;
        return s;
    }
    for (std::size_t c = 0; c < classes; ++c) {
        if (!std::isfinite(weights.values[c]) || weights.values[c] < 0.0f) {
            Status s(StatusCode::invalid_class_weight);
            s.index = c;
            s.value = weights.values[c];
            return s;
        }
    }
    return Status{};
}

}  // namespace detail

}  // namespace microfit
