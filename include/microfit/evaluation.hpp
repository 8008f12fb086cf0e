// Evaluation: the losses and confusion matrices of a model on one data set, as Trainer::evaluate
// and the validation step of Trainer::fit compute them.
//
// An evaluation loss is the reduction applied to the whole data set at once: sum(w_i l_i) / N,
// sum(w_i l_i) / sum(w_i) or sum(w_i l_i), whatever the evaluation batch size (see
// docs/weighting.md).
#pragma once

#include <cstddef>

#include "microfit/loss.hpp"
#include "microfit/metrics.hpp"

namespace microfit {

/// Loss and metrics of a model on one data set. The unweighted figures count every sample once;
/// the weighted ones use the data set's sample weights (and equal the unweighted ones when it has
/// none). Class weights never enter an evaluation.
template <std::size_t Classes>
struct Evaluation {
    static constexpr std::size_t metric_classes = Classes < 2 ? 2 : Classes;
    static constexpr bool has_metrics = Classes >= 2;

    std::size_t rows = 0;
    bool has_sample_weight = false;
    /// Unweighted loss over all N rows: sum(l_i) / N, or sum(l_i) with Reduction::sum.
    float loss = 0.0f;
    /// Loss weighted by the sample weights w_i, over all N rows: sum(w_i l_i) / N
    /// (sum_over_batch_size), sum(w_i l_i) / sum(w_i) (weighted_mean, 0 when sum(w_i) is 0) or
    /// sum(w_i l_i) (sum). The evaluation batch size changes only the rounding of either figure.
    float weighted_loss = 0.0f;
    ConfusionMatrix<metric_classes> confusion;           ///< Unweighted counts; empty for regression.
    ConfusionMatrix<metric_classes> weighted_confusion;  ///< Summed sample weights.
};

namespace detail {

/// Accumulator that turns the reduced losses L_b of the batches of one data set into the loss the
/// reduction defines over the whole set, whatever the batch size. Each batch counts with the
/// divisor d_b its reduction used, so d_b L_b is the batch's sum(w_i l_i):
/// - sum_over_batch_size: d_b = n_b, giving sum(w_i l_i) / N, as the epoch loss rule does.
/// - weighted_mean: d_b = W_b, the batch's weight sum, giving sum(w_i l_i) / sum(w_i), or 0 when
///   the weights of the whole set sum to 0.
/// - sum: the plain sum of the L_b, which is sum(w_i l_i).
/// The sums are taken in double, in batch order. Each L_b was rounded to float, so two batch sizes
/// can differ in the last bits of the result.
class DataSetLoss {
public:
    explicit DataSetLoss(Reduction reduction) noexcept : reduction_(reduction) {}

    /// Adds a batch of `rows` rows with reduced loss `batch_loss` and weight sum `weight_sum`.
    void add(float batch_loss, std::size_t rows, float weight_sum) noexcept {
        double divisor = 1.0;
        if (reduction_ == Reduction::sum_over_batch_size) divisor = static_cast<double>(rows);
        if (reduction_ == Reduction::weighted_mean) divisor = static_cast<double>(weight_sum);
        weighted_sum_ += divisor * static_cast<double>(batch_loss);
        divisor_sum_ += divisor;
    }

    /// Returns the loss of the rows added so far.
    float total() const noexcept {
        if (reduction_ == Reduction::sum) return static_cast<float>(weighted_sum_);
        return divisor_sum_ > 0.0 ? static_cast<float>(weighted_sum_ / divisor_sum_) : 0.0f;
    }

private:
    Reduction reduction_;
    double weighted_sum_ = 0.0;  ///< sum(d_b L_b)
    double divisor_sum_ = 0.0;   ///< sum(d_b)
};

}  // namespace detail

}  // namespace microfit
