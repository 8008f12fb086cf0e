// EarlyStopping: stops `fit` when the monitored loss has not improved for `patience` epochs and
// puts back the parameters of the best epoch, with no heap.
//
//   EarlyStopping<Model> stopping(model, /*patience=*/5);
//   Status s = trainer.fit(train, options, &validation, stopping);
//
// The copy of the best parameters lives inside the object, so the caller owns that memory:
// sizeof(EarlyStopping<Model>) is Model::parameter_bytes plus at most 64 bytes (a test checks it).
// Keep it static or in a long-lived object on a device with a small stack.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "microfit/optimizer.hpp"  // detail::invalid_option, detail::is_finite_non_negative
#include "microfit/status.hpp"
#include "microfit/trainer.hpp"

namespace microfit {

/// The loss of an epoch that early stopping watches.
enum class Monitor : std::uint8_t {
    validation_loss,  ///< The unweighted validation loss; `fit` needs a validation set.
    training_loss,    ///< The training loss as optimized.
};

template <class Model>
class EarlyStopping {
public:
    /// Watches `model`, which must be the model that `fit` trains. An epoch improves when its loss
    /// is below best_loss - min_delta. At the `patience`-th epoch in a row without improvement the
    /// callback returns false and, when `restore_best` is set, copies the best parameters back.
    /// As in Keras, patience 0 and 1 both stop at the first epoch that does not improve.
    EarlyStopping(Model& model, std::size_t patience, float min_delta = 0.0f, bool restore_best = true,
                  Monitor monitor = Monitor::validation_loss) noexcept
        : model_(model), patience_(patience), min_delta_(min_delta), restore_best_(restore_best), monitor_(monitor) {}

    /// The `fit` callback: returns false to stop training.
    template <std::size_t Classes>
    bool operator()(const EpochLog<Classes>& log) noexcept {
        if (monitor_ == Monitor::validation_loss && !log.has_validation) {
            missing_validation_ = true;
            stopped_epoch_ = log.epoch;
            return false;
        }
        const float loss = monitor_ == Monitor::validation_loss ? log.validation.loss : log.loss;

        // A NaN or infinite loss is never an improvement.
        if (std::isfinite(loss) && (!has_best_ || loss < best_loss_ - min_delta_)) {
            has_best_ = true;
            best_loss_ = loss;
            best_epoch_ = log.epoch;
            epochs_without_improvement_ = 0;
            std::memcpy(best_parameters_, model_.parameters(), Model::parameter_bytes);
            return true;
        }

        ++epochs_without_improvement_;
        if (epochs_without_improvement_ < patience_) return true;
        stopped_epoch_ = log.epoch;
        if (restore_best_) restore_best();
        return false;
    }

    /// Copies the parameters of the best epoch into the model, for example after `fit` ran all its
    /// epochs without stopping. Does nothing before the first finite loss.
    void restore_best() noexcept {
        if (has_best_) std::memcpy(model_.parameters(), best_parameters_, Model::parameter_bytes);
    }

    /// Forgets the best epoch, for a new call of `fit`.
    void reset() noexcept {
        has_best_ = false;
        best_loss_ = std::numeric_limits<float>::infinity();
        best_epoch_ = 0;
        epochs_without_improvement_ = 0;
        stopped_epoch_ = 0;
        missing_validation_ = false;
    }

    bool has_best() const noexcept { return has_best_; }
    float best_loss() const noexcept { return best_loss_; }
    /// 1-based epoch whose parameters are kept; 0 before the first finite loss.
    std::size_t best_epoch() const noexcept { return best_epoch_; }
    /// Epoch after which training was stopped; 0 while it has not been.
    std::size_t stopped_epoch() const noexcept { return stopped_epoch_; }
    std::size_t epochs_without_improvement() const noexcept { return epochs_without_improvement_; }
    /// The best parameters (Model::parameter_capacity floats, padding included).
    const float* best_parameters() const noexcept { return best_parameters_; }
    /// missing_data when the validation loss is monitored but `fit` had no validation set, else ok.
    Status status() const noexcept { return missing_validation_ ? missing_validation() : Status{}; }

    /// Checks, before training, that `fit` gives this callback what it monitors: returns
    /// missing_data when it monitors the validation loss and `has_validation` is false. `fit` calls
    /// it when it receives the EarlyStopping object itself as its callback, and then returns the
    /// error without training.
    // Limitation: fit cannot see an EarlyStopping called from inside another callback (a lambda).
    // Such a callback stops training after the first epoch and only status() reports why, unless
    // the caller runs check_fit first.
    /// Also returns invalid_option for a min_delta that is negative, NaN or infinite, with which no
    /// epoch after the first could improve.
    Status check_fit(bool has_validation) const noexcept {
        if (!detail::is_finite_non_negative(min_delta_)) {
            return detail::invalid_option("EarlyStopping.min_delta", min_delta_, "finite and at least 0");
        }
        return monitor_ == Monitor::validation_loss && !has_validation ? missing_validation() : Status{};
    }

private:
    static Status missing_validation() noexcept {
        Status s(StatusCode::missing_data);
        s.option = "validation data (EarlyStopping monitors the validation loss)";
        return s;
    }

    Model& model_;
    std::size_t patience_;
    float min_delta_;
    bool restore_best_;
    Monitor monitor_;
    bool has_best_ = false;
    float best_loss_ = std::numeric_limits<float>::infinity();
    std::size_t best_epoch_ = 0;
    std::size_t epochs_without_improvement_ = 0;
    std::size_t stopped_epoch_ = 0;
    bool missing_validation_ = false;
    float best_parameters_[Model::parameter_capacity] = {};
};

}  // namespace microfit
