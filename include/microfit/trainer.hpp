// Trainer: fit, evaluate and predict, with every buffer a fixed-size member.
//
//   Model model(/*seed=*/1);
//   Trainer<Model, SparseCategoricalCrossentropy, Adam, /*MaxBatch=*/32> trainer(model);
//   Status s = trainer.fit(train, options, &validation, on_epoch_end);
//
// Weighting rules (see docs/weighting.md):
// - The effective weight of a training sample is sample_weight * class_weight[label].
// - The batch loss is reduce(w_i * l_i) with the chosen Reduction, and the gradient is the
//   gradient of exactly that number.
// - The epoch loss is sum(n_b * L_b) / sum(n_b) over the batches b of the epoch, so the last,
//   partial batch counts in proportion to its size. Skipped batches (non-finite loss or gradient)
//   are left out of it and counted instead, and an epoch without a single finite step has loss NaN.
// - Class weights act on the training loss only. Evaluation reports the unweighted loss and
//   metrics and, side by side, the ones weighted by the data set's sample weights.
// - An evaluation loss is the reduction applied to the whole data set at once: sum(w_i l_i) / N,
//   sum(w_i l_i) / sum(w_i) or sum(w_i l_i), whatever the evaluation batch size.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <type_traits>
#include <utility>

#include "microfit/dataset.hpp"
#include "microfit/fit_options.hpp"
#include "microfit/detail/simd.hpp"
#include "microfit/detail/softmax.hpp"
#include "microfit/loss.hpp"
#include "microfit/metrics.hpp"
#include "microfit/random.hpp"
#include "microfit/sampler.hpp"
#include "microfit/sequential.hpp"
#include "microfit/status.hpp"
#include "microfit/weighting.hpp"

namespace microfit {

namespace detail {

struct ContinueTraining {
    template <class Log>
    bool operator()(const Log& /*log*/) const noexcept {
        return true;
    }
};

/// Returns whether every value of the buffer is finite. It sums x * 0, which is NaN for inf and NaN.
inline bool all_finite(const float* values, std::size_t n) noexcept {
    simd::Vec acc = simd::broadcast(0.0f);
    for (std::size_t i = 0; i < n; i += simd::width) acc = simd::fma(simd::load(values + i), simd::broadcast(0.0f), acc);
    return simd::reduce_add(acc) == 0.0f;
}

/// Returns the index of the first value of `values[0..n)` that is NaN or infinite, or n.
inline std::size_t first_non_finite(const float* values, std::size_t n) noexcept {
    std::size_t i = 0;
    while (i < n && std::isfinite(values[i])) ++i;
    return i;
}

/// Detects a callback class that checks the arguments of fit before training starts, as
/// EarlyStopping does: `Status check_fit(bool has_validation) const`.
template <class Callback, class = void>
struct has_check_fit : std::false_type {};

template <class Callback>
struct has_check_fit<Callback, std::void_t<decltype(std::declval<const Callback&>().check_fit(true))>>
    : std::is_same<decltype(std::declval<const Callback&>().check_fit(true)), Status> {};

inline Status validate_reduction(Reduction reduction) noexcept {
    if (reduction == Reduction::sum_over_batch_size || reduction == Reduction::weighted_mean || reduction == Reduction::sum) {
        return Status{};
    }
    Status s(StatusCode::invalid_option);
    s.option = "reduction";
    s.value = static_cast<unsigned>(reduction);
    s.expected = "Reduction::sum_over_batch_size (0), weighted_mean (1) or sum (2)";
    return s;
}

inline Status invalid_batch_size(const char* option, std::size_t value, std::size_t capacity) noexcept {
    Status s(StatusCode::invalid_batch_size);
    s.option = option;
    s.value = value;
    s.limit = capacity;
    return s;
}

}  // namespace detail

template <class Model, class Loss, class Optimizer, std::size_t MaxBatch = 32>
class Trainer {
    static_assert(MaxBatch >= 1, "Trainer<..., MaxBatch>: the batch capacity must be at least 1.");
    static_assert(!Model::ends_in_softmax,
                  "Losses take logits and apply softmax themselves: remove the final Softmax layer from the model "
                  "you train (predict_probabilities applies softmax to the logits).");

public:
    static constexpr std::size_t outputs = Model::output_size;
    static constexpr std::size_t classes = Loss::template classes<outputs>();
    static constexpr bool classification = Loss::target_kind == TargetKind::class_index;
    static constexpr std::size_t max_batch = MaxBatch;
    using OptimizerState = typename Optimizer::template State<Model::parameter_capacity>;

    /// Trains and runs `model`, which must outlive the trainer. `loss` and `optimizer` hold their
    /// hyperparameters, which fit() validates.
    explicit Trainer(Model& model, Loss loss = Loss{}, Optimizer optimizer = Optimizer{}) noexcept
        : model_(model), loss_(loss), optimizer_(optimizer) {}

    Model& model() noexcept { return model_; }
    const Model& model() const noexcept { return model_; }
    const Optimizer& optimizer() const noexcept { return optimizer_; }
    Optimizer& optimizer() noexcept { return optimizer_; }
    const Loss& loss() const noexcept { return loss_; }
    OptimizerState& optimizer_state() noexcept { return state_; }
    const OptimizerState& optimizer_state() const noexcept { return state_; }
    const FitSummary& summary() const noexcept { return summary_; }

    /// Trains for `options.epochs` epochs. Every argument is checked before anything changes: on
    /// error the model, the optimizer state and the caller's data are untouched and the status names
    /// the problem. `validation` may be null. `on_epoch_end(const EpochLog<classes>&)` runs after
    /// every epoch; it may return bool, and false stops training.
    ///
    /// Returns the first problem found. The options come first: invalid_batch_size (batch_size
    /// outside [1, MaxBatch]), invalid_option (sampling or reduction out of the enum, or an optimizer
    /// or loss hyperparameter out of range), and missing_data, wrong_class_weight_count or
    /// invalid_class_weight for options.class_weight, which a regression loss must leave empty.
    /// Then `train` and `validation` are checked, with the role set: empty_dataset, invalid_option
    /// (more than 2^32 - 1 rows), missing_data, wrong_feature_count, wrong_target_count,
    /// label_out_of_range, non_finite_feature, non_finite_target, non_finite_weight or
    /// negative_weight. Balanced oversampling returns empty_class for a class without samples. A
    /// callback with a `Status check_fit(bool has_validation) const` member, such as EarlyStopping,
    /// is asked last, and its error (missing_data for a missing validation set) is returned.
    ///
    /// A step whose loss or gradient is not finite is skipped: it changes neither the parameters
    /// nor the optimizer state and is counted in the EpochLog and summary(). After the callback
    /// has seen the epoch, training stops with training_diverged in three cases:
    /// - every step of the epoch was skipped;
    /// - options.stop_on_non_finite is set and a step was skipped;
    /// - a parameter is NaN or infinite at the end of the epoch, because a finite step overflowed it.
    /// In the first two cases the parameters are those of the last finite step. In the third the
    /// model contains the non-finite parameter.
    template <class Callback = detail::ContinueTraining>
    Status fit(const Dataset& train, const FitOptions& options, const Dataset* validation = nullptr,
               Callback&& on_epoch_end = Callback{}) noexcept {
        Status s = check_fit(train, options, validation);
        if (!s.ok()) return s;
        if constexpr (detail::has_check_fit<std::remove_cv_t<std::remove_reference_t<Callback>>>::value) {
            s = on_epoch_end.check_fit(validation != nullptr);
            if (!s.ok()) return s;
        }

        BalancedSampler<Evaluation<classes>::metric_classes> sampler;
        if (options.sampling == Sampling::balanced_oversampling) {
            if constexpr (classification) {
                s = sampler.reset(train.labels, train.rows, options.seed);
                if (!s.ok()) return detail::with_role(s, DataRole::training);
            }
        }

        summary_ = FitSummary{};
        Random order_random(options.seed);
        const std::size_t rows = train.rows;
        const std::size_t steps_per_epoch = (rows + options.batch_size - 1) / options.batch_size;

        for (std::size_t epoch = 0; epoch < options.epochs; ++epoch) {
            Permutation permutation;
            if (options.sampling == Sampling::shuffled) permutation = Permutation(static_cast<std::uint32_t>(rows), order_random);

            EpochLog<classes> log;
            log.epoch = epoch + 1;
            log.epochs = options.epochs;
            double loss_sum = 0.0;
            double counted_rows = 0.0;

            for (std::size_t step = 0; step < steps_per_epoch; ++step) {
                const std::size_t start = step * options.batch_size;
                const std::size_t n = start + options.batch_size <= rows ? options.batch_size : rows - start;
                for (std::size_t r = 0; r < n; ++r) {
                    const auto position = static_cast<std::uint32_t>(start + r);
                    switch (options.sampling) {
                        case Sampling::shuffled: indices_[r] = permutation.at(position); break;
                        case Sampling::in_order: indices_[r] = position; break;
                        case Sampling::balanced_oversampling: indices_[r] = sampler.next(); break;
                    }
                }

                float batch_loss = 0.0f;
                if (train_step(train, n, options, batch_loss)) {
                    loss_sum += static_cast<double>(n) * static_cast<double>(batch_loss);
                    counted_rows += static_cast<double>(n);
                    ++log.steps;
                } else {
                    ++log.skipped_steps;
                    if (options.stop_on_non_finite) break;
                }
            }

            log.loss = counted_rows > 0 ? static_cast<float>(loss_sum / counted_rows) : std::numeric_limits<float>::quiet_NaN();
            summary_.steps += log.steps;
            summary_.skipped_steps += log.skipped_steps;
            if (validation != nullptr) {
                log.has_validation = true;
                // Non-finite outputs show as a NaN or infinite validation loss in the log, which
                // early stopping never takes as the best.
                evaluate_checked(*validation, options.batch_size, options.reduction, log.validation).ignore();
            }
            summary_.epochs_completed = epoch + 1;

            const Status diverged = check_epoch(log, options);
            const bool go_on = report(on_epoch_end, log);
            if (!diverged.ok()) {
                summary_.stopped_on_non_finite = true;
                summary_.stopped_by_callback = !go_on;
                return diverged;
            }
            if (!go_on) {
                summary_.stopped_by_callback = true;
                break;
            }
        }
        return Status{};
    }

    /// Clears the optimizer state (moments or velocity, and the step count) and summary(), so that
    /// the next fit starts as it would with a new trainer, for example to train the model again
    /// from new parameters. The model's parameters are not changed: call `model().initialize(seed)`
    /// for new ones. Early stopping keeps its own state, which EarlyStopping::reset clears.
    void reset() noexcept {
        static_assert(std::is_trivially_destructible_v<OptimizerState>, "Optimizer states are plain arrays.");
        // Value-initialize in place: an assignment from OptimizerState{} could build the temporary,
        // as large as the model's parameters times the optimizer's arrays, on the stack.
        new (&state_) OptimizerState{};
        summary_ = FitSummary{};
    }

    /// Computes the loss and metrics of the model on `data` in batches of `batch_size` rows. The
    /// losses are those of the whole data set under `reduction` (see Evaluation), so `batch_size`
    /// changes only their rounding. On error `out` is untouched. Returns
    /// invalid_batch_size (outside [1, MaxBatch]), invalid_option (reduction out of the enum), a
    /// data set status as for fit() (without a role), or non_finite_output when an output of the
    /// model is NaN or infinite, as after training diverged.
    Status evaluate(const Dataset& data, Evaluation<classes>& out, std::size_t batch_size = MaxBatch,
                    Reduction reduction = Reduction::sum_over_batch_size) noexcept {
        if (batch_size < 1 || batch_size > MaxBatch) return detail::invalid_batch_size("batch size", batch_size, MaxBatch);
        Status s = detail::validate_reduction(reduction);
        if (!s.ok()) return s;
        s = detail::validate_dataset(data, Model::input_size, outputs, classes, classification, DataRole::none);
        if (!s.ok()) return s;
        Evaluation<classes> result;
        s = evaluate_checked(data, batch_size, reduction, result);
        if (!s.ok()) return s;
        out = result;
        return Status{};
    }

    /// Writes the logits of `rows` feature rows ([rows][feature_count], row-major) into
    /// `logits[rows][output_size]`; `capacity` is the number of floats `logits` can take. Returns
    /// empty_dataset (rows 0), invalid_option (more than 2^32 - 1 rows), missing_data (null features
    /// or output), wrong_feature_count (feature_count differs from the model's input size),
    /// non_finite_feature, output_too_small (capacity below rows * output_size), or
    /// non_finite_output when a logit is NaN or infinite. On error nothing is written, so over
    /// more than MaxBatch rows the forward pass runs twice: once to check, once to write.
    Status predict(const float* features, std::size_t rows, std::size_t feature_count, float* logits,
                   std::size_t capacity) noexcept {
        const Status s = check_predict(features, rows, feature_count, logits, capacity, rows * outputs);
        if (!s.ok()) return s;
        return for_each_output(features, rows, [&](std::size_t row, const float* z) {
            for (std::size_t j = 0; j < outputs; ++j) logits[row * outputs + j] = z[j];
        });
    }

    /// Writes class probabilities: softmax of the logits for several outputs, or, for one logit,
    /// sigmoid(z) as the probability of class 1. Layout [rows][output_size]. Arguments and statuses
    /// as for predict().
    Status predict_probabilities(const float* features, std::size_t rows, std::size_t feature_count, float* probabilities,
                                 std::size_t capacity) noexcept {
        const Status s = check_predict(features, rows, feature_count, probabilities, capacity, rows * outputs);
        if (!s.ok()) return s;
        return for_each_output(features, rows, [&](std::size_t row, const float* z) {
            if constexpr (outputs == 1) {
                probabilities[row] = 1.0f / (1.0f + std::exp(-z[0]));
            } else {
                alignas(detail::simd::alignment) float p[Model::output_stride];
                detail::softmax(z, outputs, p);
                for (std::size_t j = 0; j < outputs; ++j) probabilities[row * outputs + j] = p[j];
            }
        });
    }

    /// Writes the predicted class of each row (argmax of the logits, or logit > 0 for one logit) into
    /// `predicted[rows]`; `capacity` counts elements and must be at least `rows`. Statuses as for
    /// predict().
    Status predict_classes(const float* features, std::size_t rows, std::size_t feature_count, std::int32_t* predicted,
                           std::size_t capacity) noexcept {
        static_assert(classification, "predict_classes needs a classification loss.");
        const Status s = check_predict(features, rows, feature_count, predicted, capacity, rows);
        if (!s.ok()) return s;
        return for_each_output(features, rows, [&](std::size_t row, const float* z) {
            predicted[row] = Loss::template predicted_class<outputs>(z);
        });
    }

private:
    Status check_fit(const Dataset& train, const FitOptions& options, const Dataset* validation) const noexcept {
        if (options.batch_size < 1 || options.batch_size > MaxBatch) {
            return detail::invalid_batch_size("batch size", options.batch_size, MaxBatch);
        }
        if (options.sampling != Sampling::shuffled && options.sampling != Sampling::in_order &&
            (options.sampling != Sampling::balanced_oversampling || !classification)) {
            Status s(StatusCode::invalid_option);
            s.option = "sampling";
            s.value = static_cast<unsigned>(options.sampling);
            s.expected = classification ? "Sampling::shuffled (0), in_order (1) or balanced_oversampling (2)"
                                        : "Sampling::shuffled (0) or in_order (1) with a regression loss";
            return s;
        }
        Status s = detail::validate_reduction(options.reduction);
        if (!s.ok()) return s;
        s = optimizer_.validate();
        if (!s.ok()) return s;
        s = loss_.validate();
        if (!s.ok()) return s;
        if (classification) {
            s = detail::validate_class_weights(options.class_weight, classes);
            if (!s.ok()) return s;
        } else if (!options.class_weight.empty()) {
            Status e(StatusCode::wrong_class_weight_count);
            e.value = options.class_weight.count;
            e.limit = 0;
            return e;
        }
        s = detail::validate_dataset(train, Model::input_size, outputs, classes, classification, DataRole::training);
        if (!s.ok()) return s;
        if (validation != nullptr) {
            s = detail::validate_dataset(*validation, Model::input_size, outputs, classes, classification,
                                         DataRole::validation);
            if (!s.ok()) return s;
        }
        return Status{};
    }

    template <class Out>
    Status check_predict(const float* features, std::size_t rows, std::size_t feature_count, const Out* out,
                         std::size_t capacity, std::size_t needed) const noexcept {
        const Status s = detail::validate_features(features, rows, feature_count, Model::input_size);
        if (!s.ok()) return s;
        if (out == nullptr) {
            Status e(StatusCode::missing_data);
            e.option = "output";
            return e;
        }
        if (capacity < needed) {
            Status e(StatusCode::output_too_small);
            e.value = capacity;
            e.limit = needed;
            return e;
        }
        return Status{};
    }

    /// Copies the feature rows of `indices_[0..n)` into the padded input buffer.
    void gather(const Dataset& data, std::size_t n) noexcept {
        float* input = workspace_.input();
        for (std::size_t r = 0; r < n; ++r) {
            const float* row = data.features + static_cast<std::size_t>(indices_[r]) * Model::input_size;
            float* dst = input + r * Model::input_stride;
            for (std::size_t c = 0; c < Model::input_size; ++c) dst[c] = row[c];
        }
    }

    /// Takes one optimizer step on the batch `indices_[0..n)`. Returns false, and changes nothing, when
    /// the loss or a gradient is not finite.
    bool train_step(const Dataset& data, std::size_t n, const FitOptions& options, float& batch_loss) noexcept {
        gather(data, n);
        workspace_.forward(model_, n);

        const float* logits = workspace_.output();
        float* dlogits = delta_[0];
        for (std::size_t r = 0; r < n; ++r) {
            const std::size_t i = indices_[r];
            const std::int32_t label = classification ? data.labels[i] : 0;
            const float* target = classification ? nullptr : data.targets + i * outputs;
            const float sample_weight = data.sample_weight == nullptr ? 1.0f : data.sample_weight[i];
            weights_[r] = classification ? effective_weight(sample_weight, options.class_weight, label) : sample_weight;
            losses_[r] = loss_.template compute<outputs>(logits + r * Model::output_stride, label, target,
                                                         dlogits + r * Model::output_stride);
        }

        batch_loss = reduce(losses_, weights_, n, options.reduction);
        // The weights are no longer needed, so they turn into the gradient factors in place.
        gradient_factors(weights_, n, options.reduction, weights_);
        for (std::size_t r = 0; r < n; ++r) {
            const detail::simd::Vec factor = detail::simd::broadcast(weights_[r]);
            float* row = dlogits + r * Model::output_stride;
            for (std::size_t j = 0; j < Model::output_stride; j += detail::simd::width) {
                detail::simd::store(row + j, detail::simd::load(row + j) * factor);
            }
        }

        for (float& g : gradients_) g = 0.0f;
        backward_from<Model::layer_count - 1>(0, n);

        if (!std::isfinite(batch_loss) || !detail::all_finite(gradients_, Model::parameter_capacity)) return false;
        optimizer_.step(model_.parameters(), gradients_, state_);
        return true;
    }

    /// Backpropagates from layer I down to layer 0; `buffer` is the delta buffer holding dL/d(output of I).
    template <std::size_t I>
    void backward_from(int buffer, std::size_t n) noexcept {
        using L = typename Model::template Layer<I>;
        float* dx = I == 0 ? nullptr : delta_[1 - buffer];
        L::backward(model_.template layer_parameters<I>(), gradients_ + Model::template parameter_offset<I>(),
                    workspace_.template boundary<I>(), workspace_.template boundary<I + 1>(), delta_[buffer], dx, n);
        if constexpr (I > 0) backward_from<I - 1>(1 - buffer, n);
    }

    /// Fills `result`, which must be default-constructed, from checked data. Returns
    /// non_finite_output for the first output that is NaN or infinite, with `result` still filled,
    /// so that fit can log the NaN losses.
    Status evaluate_checked(const Dataset& data, std::size_t batch_size, Reduction reduction,
                            Evaluation<classes>& result) noexcept {
        Status status;
        result.rows = data.rows;
        result.has_sample_weight = data.sample_weight != nullptr;
        detail::DataSetLoss loss(reduction);
        detail::DataSetLoss weighted_loss(reduction);

        for (std::size_t start = 0; start < data.rows; start += batch_size) {
            const std::size_t n = start + batch_size <= data.rows ? batch_size : data.rows - start;
            for (std::size_t r = 0; r < n; ++r) indices_[r] = static_cast<std::uint32_t>(start + r);
            gather(data, n);
            workspace_.forward(model_, n);
            if (status.ok()) status = check_outputs(start, n);

            const float* logits = workspace_.output();
            // Summed in row order, as reduce() sums, so that a weighted_mean batch counts with the
            // very weight sum that reduce() divided by.
            float batch_weight = 0.0f;
            for (std::size_t r = 0; r < n; ++r) {
                const std::size_t i = start + r;
                const std::int32_t label = classification ? data.labels[i] : 0;
                const float* target = classification ? nullptr : data.targets + i * outputs;
                const float* z = logits + r * Model::output_stride;
                losses_[r] = loss_.template compute<outputs>(z, label, target, nullptr);
                weights_[r] = data.sample_weight == nullptr ? 1.0f : data.sample_weight[i];
                batch_weight += weights_[r];
                if constexpr (classification) {
                    const std::int32_t predicted = Loss::template predicted_class<outputs>(z);
                    result.confusion.add(label, predicted);
                    result.weighted_confusion.add(label, predicted, weights_[r]);
                }
            }
            loss.add(reduce(losses_, nullptr, n, reduction), n, static_cast<float>(n));
            weighted_loss.add(reduce(losses_, weights_, n, reduction), n, batch_weight);
        }

        result.loss = loss.total();
        result.weighted_loss = weighted_loss.total();
        return status;
    }

    /// Returns non_finite_output for the first NaN or infinite output of the `n` rows in the
    /// workspace, which are rows `first_row`, `first_row + 1`, ... of the data.
    Status check_outputs(std::size_t first_row, std::size_t n) const noexcept {
        const float* z = workspace_.output();
        for (std::size_t r = 0; r < n; ++r) {
            const std::size_t j = detail::first_non_finite(z + r * Model::output_stride, outputs);
            if (j < outputs) {
                Status s(StatusCode::non_finite_output);
                s.index = first_row + r;
                s.column = j;
                s.value = z[r * Model::output_stride + j];
                return s;
            }
        }
        return Status{};
    }

    /// Runs the forward pass over `rows` rows in batches and calls on_row(row, logits) for each.
    /// Returns non_finite_output, before any call of on_row, when an output is NaN or infinite.
    template <class OnRow>
    Status for_each_output(const float* features, std::size_t rows, OnRow&& on_row) noexcept {
        Dataset d;
        d.features = features;
        d.rows = rows;
        d.feature_count = Model::input_size;
        // One batch is checked where it is computed. More batches are checked in a first pass,
        // because by the time a later batch fails, earlier ones would have been written.
        const bool single_batch = rows <= MaxBatch;
        for (int pass = single_batch ? 1 : 0; pass < 2; ++pass) {
            for (std::size_t start = 0; start < rows; start += MaxBatch) {
                const std::size_t n = start + MaxBatch <= rows ? MaxBatch : rows - start;
                for (std::size_t r = 0; r < n; ++r) indices_[r] = static_cast<std::uint32_t>(start + r);
                gather(d, n);
                workspace_.forward(model_, n);
                if (pass == 0 || single_batch) {
                    const Status s = check_outputs(start, n);
                    if (!s.ok()) return s;
                }
                if (pass == 1) {
                    for (std::size_t r = 0; r < n; ++r) on_row(start + r, workspace_.output() + r * Model::output_stride);
                }
            }
        }
        return Status{};
    }

    /// Returns training_diverged when the epoch just logged should end training: a step was skipped
    /// under stop_on_non_finite, every step was skipped, or a parameter is no longer finite.
    Status check_epoch(const EpochLog<classes>& log, const FitOptions& options) const noexcept {
        Status s(StatusCode::training_diverged);
        s.index = log.epoch;
        if (log.skipped_steps > 0 && options.stop_on_non_finite) {
            s.option = "stop_on_non_finite";
            s.column = log.steps + log.skipped_steps;  // training broke off right after the skipped step
            return s;
        }
        if (log.steps == 0 && log.skipped_steps > 0) {
            s.value = log.skipped_steps;
            return s;
        }
        // NOTE: the optimizer state is not checked. A gradient above about 5.8e20 overflows Adam's
        // second moment v to inf. Then x86 builds leave the parameter finite and frozen (m / inf
        // is 0), and fit returns ok, while armv7 NEON builds make it NaN, which this check catches.
        const float* parameters = model_.parameters();
        const std::size_t i = detail::first_non_finite(parameters, Model::parameter_capacity);
        if (i < Model::parameter_capacity) {
            s.option = "parameters";
            s.value = parameters[i];
            return s;
        }
        return Status{};
    }

    template <class Callback>
    static bool report(Callback& on_epoch_end, const EpochLog<classes>& log) noexcept {
        if constexpr (std::is_same_v<decltype(on_epoch_end(log)), void>) {
            on_epoch_end(log);
            return true;
        } else {
            return static_cast<bool>(on_epoch_end(log));
        }
    }

    Model& model_;
    Loss loss_;
    Optimizer optimizer_;
    FitSummary summary_;
    Workspace<Model, MaxBatch> workspace_;
    alignas(detail::simd::alignment) float gradients_[Model::parameter_capacity] = {};
    alignas(detail::simd::alignment) float delta_[2][MaxBatch * Model::max_stride] = {};
    OptimizerState state_;
    float losses_[MaxBatch] = {};
    float weights_[MaxBatch] = {};
    std::uint32_t indices_[MaxBatch] = {};
};

/// Bytes that a model and its trainer take together: parameters, gradients, optimizer state and
/// the activations and gradients of one batch (everything but the stack).
template <class Model, class Loss, class Optimizer, std::size_t MaxBatch>
inline constexpr std::size_t training_memory_bytes = sizeof(Model) + sizeof(Trainer<Model, Loss, Optimizer, MaxBatch>);

}  // namespace microfit
