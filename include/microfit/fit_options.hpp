// The inputs and reports of Trainer::fit: its options, the log of each epoch that its callback
// receives, a fixed-size history of those logs, and the summary of a whole fit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "microfit/dataset.hpp"
#include "microfit/evaluation.hpp"
#include "microfit/loss.hpp"

namespace microfit {

/// Order in which training draws samples.
enum class Sampling : std::uint8_t {
    shuffled,               ///< Every sample once per epoch, in a new seeded random order each epoch.
    in_order,               ///< Every sample once per epoch, in row order.
    balanced_oversampling,  ///< ceil(rows / batch_size) batches drawn by BalancedSampler.
};

struct FitOptions {
    std::size_t epochs = 1;       ///< Passes over the data; 0 trains nothing and returns ok.
    std::size_t batch_size = 32;  ///< In [1, MaxBatch].
    Sampling sampling = Sampling::shuffled;
    std::uint64_t seed = 0;       ///< Seeds the sample order; the same seed gives bit-identical parameters.
    Reduction reduction = Reduction::sum_over_batch_size;
    ClassWeights class_weight;    ///< One weight per class, or empty.
    bool stop_on_non_finite = false;  ///< Stop after the first skipped step instead of going on.
};

/// Per-epoch figures that `fit` passes to its callback.
template <std::size_t Classes>
struct EpochLog {
    std::size_t epoch = 0;          ///< 1-based.
    std::size_t epochs = 0;         ///< Epochs requested.
    /// Training loss as optimized (effective weights, chosen reduction): the mean of the batch
    /// losses weighted by batch size, sum(n_b L_b) / sum(n_b), so under weighted_mean or sum it
    /// depends on the training batch size, unlike `validation`. NaN when no step of the epoch was
    /// finite.
    float loss = 0.0f;
    std::size_t steps = 0;          ///< Optimizer steps taken this epoch.
    std::size_t skipped_steps = 0;  ///< Batches whose loss or gradient was not finite.
    bool has_validation = false;
    /// The validation set after the epoch, as evaluate() computes it with the options' batch size
    /// and reduction.
    Evaluation<Classes> validation;
};

/// A fixed-size record of the epoch logs, usable as the callback of `fit`.
template <std::size_t Classes, std::size_t MaxEpochs>
struct History {
    EpochLog<Classes> logs[MaxEpochs];
    std::size_t count = 0;  ///< Logs recorded; epochs past MaxEpochs are not recorded.

    bool operator()(const EpochLog<Classes>& log) noexcept {
        if (count < MaxEpochs) logs[count++] = log;
        return true;
    }
};

struct FitSummary {
    std::size_t epochs_completed = 0;
    std::size_t steps = 0;
    std::size_t skipped_steps = 0;
    bool stopped_by_callback = false;
    bool stopped_on_non_finite = false;  ///< fit returned training_diverged.
};

}  // namespace microfit
