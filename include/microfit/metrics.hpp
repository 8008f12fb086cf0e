// Classification metrics from a confusion matrix, unweighted or weighted by sample weights.
//
// A weighted confusion matrix adds each sample's weight instead of 1, so every metric below has a
// weighted form with the same formula. Definitions for empty cases follow scikit-learn with
// zero_division=0: a class that never occurs has recall 0 and is left out of balanced accuracy; a
// class that is never predicted has precision 0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace microfit {

template <std::size_t Classes>
struct ConfusionMatrix {
    static_assert(Classes >= 2, "A confusion matrix needs at least 2 classes.");
    static constexpr std::size_t classes = Classes;

    /// counts[true class][predicted class], summed sample weights (1 each when unweighted).
    float counts[Classes][Classes] = {};

    /// Adds `weight` to counts[true_class][predicted_class]. Both classes must be in [0, Classes),
    /// which is not checked (the trainer validates labels before it adds them).
    void add(std::int32_t true_class, std::int32_t predicted_class, float weight = 1.0f) noexcept {
        counts[true_class][predicted_class] += weight;
    }

    float total() const noexcept {
        float t = 0.0f;
        for (const auto& row : counts) {
            for (float v : row) t += v;
        }
        return t;
    }

    /// Samples (or weight) whose true class is c.
    float support(std::size_t c) const noexcept {
        float t = 0.0f;
        for (float v : counts[c]) t += v;
        return t;
    }

    /// Samples (or weight) predicted as class c.
    float predicted(std::size_t c) const noexcept {
        float t = 0.0f;
        for (std::size_t r = 0; r < Classes; ++r) t += counts[r][c];
        return t;
    }

    /// Fraction classified correctly; 0 for an empty matrix.
    float accuracy() const noexcept {
        float correct = 0.0f;
        for (std::size_t c = 0; c < Classes; ++c) correct += counts[c][c];
        const float t = total();
        return t > 0.0f ? correct / t : 0.0f;
    }

    /// True positives over true class c.
    float recall(std::size_t c) const noexcept {
        const float s = support(c);
        return s > 0.0f ? counts[c][c] / s : 0.0f;
    }

    /// True positives over predicted class c.
    float precision(std::size_t c) const noexcept {
        const float p = predicted(c);
        return p > 0.0f ? counts[c][c] / p : 0.0f;
    }

    float f1(std::size_t c) const noexcept {
        const float p = precision(c);
        const float r = recall(c);
        return p + r > 0.0f ? 2.0f * p * r / (p + r) : 0.0f;
    }

    /// Mean recall over the classes that occur.
    float balanced_accuracy() const noexcept {
        float sum = 0.0f;
        std::size_t present = 0;
        for (std::size_t c = 0; c < Classes; ++c) {
            if (support(c) > 0.0f) {
                sum += recall(c);
                ++present;
            }
        }
        return present > 0 ? sum / static_cast<float>(present) : 0.0f;
    }

    /// Expected cost per sample: sum over t, p of cost[t][p] * counts[t][p], divided by the total.
    /// cost[t][p] is the cost of predicting p when the truth is t (usually 0 on the diagonal).
    float expected_cost(const float (&cost)[Classes][Classes]) const noexcept {
        float sum = 0.0f;
        for (std::size_t t = 0; t < Classes; ++t) {
            for (std::size_t p = 0; p < Classes; ++p) sum += cost[t][p] * counts[t][p];
        }
        const float t = total();
        return t > 0.0f ? sum / t : 0.0f;
    }
};

}  // namespace microfit
