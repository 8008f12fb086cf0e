// Losses, computed from logits, and the reductions that turn per-sample losses into a batch loss.
//
// Every loss has the same shape:
//   float compute(const float* logits, std::int32_t label, const float* target, float* gradient) const
// It returns the unweighted loss l_i of one sample and, when `gradient` is not null, writes
// dl_i / dlogits into it (output_stride lanes; padding lanes are written as 0). Classification
// losses read `label` and ignore `target`; regression losses read `target` (output_size values)
// and ignore `label`. The trainer multiplies each gradient by the sample's effective weight and the
// reduction's scale, so the gradient is always the gradient of the loss that is reported.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "microfit/detail/simd.hpp"
#include "microfit/detail/softmax.hpp"
#include "microfit/status.hpp"

namespace microfit {

/// Reduction of the weighted per-sample losses w_i * l_i of a batch of n samples to one number.
enum class Reduction : std::uint8_t {
    /// sum(w_i * l_i) / n, the default of Keras. All weights 0 give exactly 0.
    sum_over_batch_size,
    /// sum(w_i * l_i) / sum(w_i), as PyTorch's class-weighted cross-entropy with reduction="mean".
    /// A batch whose weights sum to 0 gives 0 and a zero gradient, never NaN.
    weighted_mean,
    /// sum(w_i * l_i).
    sum,
};

constexpr const char* reduction_name(Reduction r) noexcept {
    switch (r) {
        case Reduction::sum_over_batch_size: return "SumOverBatchSize";
        case Reduction::weighted_mean: return "WeightedMean";
        case Reduction::sum: return "Sum";
    }
    return "unknown";
}

/// Writes into factors[0..n) the factor by which each sample's loss gradient is scaled, so that
/// the sum of the scaled gradients is the gradient of reduce(): w_i / n, w_i / sum(w) (0 when
/// sum(w) is 0), or w_i. `weights` may be null, meaning all weights are 1. Under weighted_mean each
/// weight is divided by the sum, because 1 / sum(w) overflows to inf for a positive sum below
/// 2.9e-39 (1 / FLT_MAX), which tiny but valid weights reach. `factors` may be `weights`.
inline void gradient_factors(const float* weights, std::size_t n, Reduction reduction, float* factors) noexcept {
    const auto weight = [weights](std::size_t i) { return weights == nullptr ? 1.0f : weights[i]; };
    switch (reduction) {
        case Reduction::sum_over_batch_size: {
            const float scale = n == 0 ? 0.0f : 1.0f / static_cast<float>(n);
            for (std::size_t i = 0; i < n; ++i) factors[i] = weight(i) * scale;
            return;
        }
        case Reduction::weighted_mean: {
            float total = 0.0f;
            for (std::size_t i = 0; i < n; ++i) total += weight(i);
            for (std::size_t i = 0; i < n; ++i) factors[i] = total > 0.0f ? weight(i) / total : 0.0f;
            return;
        }
        case Reduction::sum:
            for (std::size_t i = 0; i < n; ++i) factors[i] = weight(i);
            return;
    }
    for (std::size_t i = 0; i < n; ++i) factors[i] = 0.0f;
}

/// Returns the reduced loss of n per-sample losses with optional weights (null means all 1).
/// The weighted sum is divided (not multiplied by a reciprocal) for the best rounding.
inline float reduce(const float* losses, const float* weights, std::size_t n, Reduction reduction) noexcept {
    float weighted_sum = 0.0f;
    float weight_sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) {
        const float w = weights == nullptr ? 1.0f : weights[i];
        weighted_sum += w * losses[i];
        weight_sum += w;
    }
    switch (reduction) {
        case Reduction::sum_over_batch_size:
            return n == 0 ? 0.0f : weighted_sum / static_cast<float>(n);
        case Reduction::weighted_mean:
            return weight_sum > 0.0f ? weighted_sum / weight_sum : 0.0f;
        case Reduction::sum:
            return weighted_sum;
    }
    return 0.0f;
}

/// Kind of target that a loss compares the logits with.
enum class TargetKind : std::uint8_t { class_index, value };

namespace detail {

/// log(sigmoid(x)) = -softplus(-x), finite for every finite x.
inline float log_sigmoid(float x) noexcept { return -(std::fmax(-x, 0.0f) + std::log1p(std::exp(-std::fabs(x)))); }

inline void zero_padding(float* gradient, std::size_t from, std::size_t stride) noexcept {
    for (std::size_t j = from; j < stride; ++j) gradient[j] = 0.0f;
}

}  // namespace detail

/// Cross-entropy between integer labels and the softmax of the logits (softmax fused in):
/// l = logsumexp(z) - z_label, gradient softmax(z) - onehot(label). Needs at least two outputs.
struct SparseCategoricalCrossentropy {
    static constexpr TargetKind target_kind = TargetKind::class_index;
    static constexpr const char* name = "SparseCategoricalCrossentropy";

    template <std::size_t Outputs>
    static constexpr std::size_t classes() noexcept {
        static_assert(Outputs >= 2,
                      "SparseCategoricalCrossentropy needs at least 2 outputs; for one logit use BinaryCrossentropy.");
        return Outputs;
    }

    /// Returns ok: this loss has no hyperparameters.
    Status validate() const noexcept { return Status{}; }

    template <std::size_t Outputs>
    float compute(const float* logits, std::int32_t label, const float* /*target*/, float* gradient) const noexcept {
        constexpr std::size_t stride = detail::simd::padded(Outputs);
        const auto y = static_cast<std::size_t>(label);
        alignas(detail::simd::alignment) float scratch[stride];
        float* probabilities = gradient != nullptr ? gradient : scratch;
        const detail::LogSumExp lse = detail::softmax(logits, Outputs, probabilities);

        if (logits[y] == lse.max) {
            // A confident, correct prediction has p_y near 1, where log(p_y) and p_y - 1 cancel.
            // q = 1 - p_y summed from the other classes' probabilities keeps its digits:
            // l = -log1p(-q) and dl/dz_y = -q.
            float q = 0.0f;
            for (std::size_t j = 0; j < Outputs; ++j) q += j == y ? 0.0f : probabilities[j];
            if (gradient != nullptr) gradient[y] = -q;
            return -std::log1p(-q);
        }
        if (gradient != nullptr) gradient[y] -= 1.0f;
        // (max - z_y) + log(sum) keeps the low digits: logits [1e8, 1e8] give ln 2, not 0.
        return (lse.max - logits[y]) + lse.log_sum;
    }

    template <std::size_t Outputs>
    static std::int32_t predicted_class(const float* logits) noexcept {
        std::size_t best = 0;
        for (std::size_t j = 1; j < Outputs; ++j) best = logits[j] > logits[best] ? j : best;
        return static_cast<std::int32_t>(best);
    }
};

/// Binary cross-entropy of one logit z against a label 0 or 1:
/// l = max(z, 0) - y z + log(1 + exp(-|z|)), gradient sigmoid(z) - y. Class weights are indexed by
/// the label, so class_weight[1] weighs the positive class.
struct BinaryCrossentropy {
    static constexpr TargetKind target_kind = TargetKind::class_index;
    static constexpr const char* name = "BinaryCrossentropy";

    template <std::size_t Outputs>
    static constexpr std::size_t classes() noexcept {
        static_assert(Outputs == 1, "BinaryCrossentropy takes one logit: the model's last layer must have 1 output.");
        return 2;
    }

    /// Returns ok: this loss has no hyperparameters.
    Status validate() const noexcept { return Status{}; }

    template <std::size_t Outputs>
    float compute(const float* logits, std::int32_t label, const float* /*target*/, float* gradient) const noexcept {
        const float z = logits[0];
        const float y = static_cast<float>(label);
        if (gradient != nullptr) {
            // sigmoid(z) - y written without cancellation: -sigmoid(-z) for label 1, sigmoid(z) for 0.
            gradient[0] = label == 1 ? -1.0f / (1.0f + std::exp(z)) : 1.0f / (1.0f + std::exp(-z));
            detail::zero_padding(gradient, 1, detail::simd::padded(1));
        }
        return std::fmax(z, 0.0f) - y * z + std::log1p(std::exp(-std::fabs(z)));
    }

    template <std::size_t Outputs>
    static std::int32_t predicted_class(const float* logits) noexcept {
        return logits[0] > 0.0f ? 1 : 0;
    }
};

/// Mean over outputs of (z_j - t_j)^2, as Keras's MeanSquaredError.
struct MeanSquaredError {
    static constexpr TargetKind target_kind = TargetKind::value;
    static constexpr const char* name = "MeanSquaredError";

    template <std::size_t Outputs>
    static constexpr std::size_t classes() noexcept {
        return 0;
    }

    /// Returns ok: this loss has no hyperparameters.
    Status validate() const noexcept { return Status{}; }

    template <std::size_t Outputs>
    float compute(const float* logits, std::int32_t /*label*/, const float* target, float* gradient) const noexcept {
        float total = 0.0f;
        for (std::size_t j = 0; j < Outputs; ++j) {
            const float d = logits[j] - target[j];
            total += d * d;
            if (gradient != nullptr) gradient[j] = 2.0f * d / static_cast<float>(Outputs);
        }
        if (gradient != nullptr) detail::zero_padding(gradient, Outputs, detail::simd::padded(Outputs));
        return total / static_cast<float>(Outputs);
    }
};

/// Mean over outputs of |z_j - t_j|. The gradient at z_j == t_j is taken as 0.
struct MeanAbsoluteError {
    static constexpr TargetKind target_kind = TargetKind::value;
    static constexpr const char* name = "MeanAbsoluteError";

    template <std::size_t Outputs>
    static constexpr std::size_t classes() noexcept {
        return 0;
    }

    /// Returns ok: this loss has no hyperparameters.
    Status validate() const noexcept { return Status{}; }

    template <std::size_t Outputs>
    float compute(const float* logits, std::int32_t /*label*/, const float* target, float* gradient) const noexcept {
        float total = 0.0f;
        for (std::size_t j = 0; j < Outputs; ++j) {
            const float d = logits[j] - target[j];
            total += std::fabs(d);
            if (gradient != nullptr) {
                const float sign = d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f);
                gradient[j] = sign / static_cast<float>(Outputs);
            }
        }
        if (gradient != nullptr) detail::zero_padding(gradient, Outputs, detail::simd::padded(Outputs));
        return total / static_cast<float>(Outputs);
    }
};

/// Binary focal loss (Lin et al., "Focal Loss for Dense Object Detection", 2017) of one logit:
/// l = -a_t (1 - p_t)^gamma log(p_t), with p_t = sigmoid(z) for label 1 and 1 - sigmoid(z) for
/// label 0, a_t = alpha for label 1 and 1 - alpha for label 0 (a_t = 1 without alpha).
/// Computed through log-sigmoid so that saturated logits give finite values and gradients.
struct BinaryFocalLoss {
    static constexpr TargetKind target_kind = TargetKind::class_index;
    static constexpr const char* name = "BinaryFocalLoss";

    float gamma = 2.0f;        ///< Focusing parameter, >= 0; 0 gives binary cross-entropy.
    bool use_alpha = false;    ///< Whether `alpha` weighs the classes.
    float alpha = 0.25f;       ///< Weight of the positive class, in [0, 1]; the negative gets 1 - alpha.

    template <std::size_t Outputs>
    static constexpr std::size_t classes() noexcept {
        static_assert(Outputs == 1, "BinaryFocalLoss takes one logit: the model's last layer must have 1 output.");
        return 2;
    }

    /// Returns invalid_option for gamma that is negative, NaN or infinite, or, with use_alpha, alpha
    /// outside [0, 1].
    Status validate() const noexcept {
        if (!(gamma >= 0.0f) || std::isinf(gamma)) return invalid("BinaryFocalLoss.gamma", gamma, "finite and at least 0");
        if (use_alpha && !(alpha >= 0.0f && alpha <= 1.0f)) return invalid("BinaryFocalLoss.alpha", alpha, "in [0, 1]");
        return Status{};
    }

    template <std::size_t Outputs>
    float compute(const float* logits, std::int32_t label, const float* /*target*/, float* gradient) const noexcept {
        // With x = s z (s = +1 for label 1, -1 for label 0): p_t = sigmoid(x), q = 1 - p_t = sigmoid(-x),
        // l = -a q^g log p_t and dl/dx = a q^g (g p_t log p_t - q), dl/dz = s dl/dx.
        const float sign = label == 1 ? 1.0f : -1.0f;
        const float x = sign * logits[0];
        const float log_p = detail::log_sigmoid(x);
        const float log_q = detail::log_sigmoid(-x);
        const float p = std::exp(log_p);
        const float q = std::exp(log_q);
        const float q_gamma = gamma == 0.0f ? 1.0f : std::exp(gamma * log_q);
        const float a = use_alpha ? (label == 1 ? alpha : 1.0f - alpha) : 1.0f;
        if (gradient != nullptr) {
            gradient[0] = sign * a * q_gamma * (gamma * p * log_p - q);
            detail::zero_padding(gradient, 1, detail::simd::padded(1));
        }
        return -a * q_gamma * log_p;
    }

    template <std::size_t Outputs>
    static std::int32_t predicted_class(const float* logits) noexcept {
        return logits[0] > 0.0f ? 1 : 0;
    }

private:
    static Status invalid(const char* option, float value, const char* expected) noexcept {
        Status s(StatusCode::invalid_option);
        s.option = option;
        s.value = value;
        s.expected = expected;
        return s;
    }
};

/// Categorical focal loss over softmax(z): l = -a_y (1 - p_y)^gamma log(p_y), with an optional
/// weight a_c per class (a_c = 1 without alpha). Computed through log-softmax.
template <std::size_t Classes>
struct CategoricalFocalLoss {
    static_assert(Classes >= 2, "CategoricalFocalLoss needs at least 2 classes.");
    static constexpr TargetKind target_kind = TargetKind::class_index;
    static constexpr const char* name = "CategoricalFocalLoss";

    float gamma = 2.0f;            ///< Focusing parameter, >= 0; 0 gives cross-entropy.
    bool use_alpha = false;        ///< Whether `alpha` weighs the classes.
    float alpha[Classes] = {};     ///< Weight of each class, each >= 0 and finite.

    template <std::size_t Outputs>
    static constexpr std::size_t classes() noexcept {
        static_assert(Outputs == Classes, "CategoricalFocalLoss<Classes>: Classes must equal the model's output size.");
        return Classes;
    }

    /// Returns invalid_option for gamma that is negative, NaN or infinite, or, with use_alpha, for
    /// an alpha[c] that is negative, NaN or infinite (the status's index is then c).
    Status validate() const noexcept {
        if (!(gamma >= 0.0f) || std::isinf(gamma)) return invalid("CategoricalFocalLoss.gamma", gamma, 0);
        for (std::size_t c = 0; use_alpha && c < Classes; ++c) {
            if (!(alpha[c] >= 0.0f) || std::isinf(alpha[c])) return invalid("CategoricalFocalLoss.alpha[]", alpha[c], c);
        }
        return Status{};
    }

    template <std::size_t Outputs>
    float compute(const float* logits, std::int32_t label, const float* /*target*/, float* gradient) const noexcept {
        constexpr std::size_t stride = detail::simd::padded(Outputs);
        const auto y = static_cast<std::size_t>(label);
        alignas(detail::simd::alignment) float probabilities[stride];
        const detail::LogSumExp lse = detail::softmax(logits, Outputs, probabilities);

        // log p_y, and q = 1 - p_y from expm1 so that it keeps its digits when p_y is near 1.
        const float log_p = (logits[y] - lse.max) - lse.log_sum;
        const float p = probabilities[y];
        const float q = -std::expm1(log_p);
        const float q_gamma = gamma == 0.0f ? 1.0f : (q > 0.0f ? std::exp(gamma * std::log(q)) : 0.0f);
        const float a = use_alpha ? alpha[y] : 1.0f;

        if (gradient != nullptr) {
            // dl/dz_j = a F (p_j - [j == y]), F = q^g - g q^(g-1) p_y log p_y = q^g (1 - g p_y (log p_y / q)).
            // As q -> 0, log p_y / q -> -1, which keeps F finite for every gamma >= 0.
            const float ratio = q > 0.0f ? log_p / q : -1.0f;
            const float factor = a * q_gamma * (1.0f - gamma * p * ratio);
            for (std::size_t j = 0; j < stride; ++j) gradient[j] = factor * probabilities[j];
            gradient[y] -= factor;
        }
        return -a * q_gamma * log_p;
    }

    template <std::size_t Outputs>
    static std::int32_t predicted_class(const float* logits) noexcept {
        return SparseCategoricalCrossentropy::predicted_class<Outputs>(logits);
    }

private:
    static Status invalid(const char* option, float value, std::size_t index) noexcept {
        Status s(StatusCode::invalid_option);
        s.option = option;
        s.value = value;
        s.index = index;
        s.expected = "finite and at least 0";
        return s;
    }
};

}  // namespace microfit
