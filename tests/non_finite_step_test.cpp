// Guarded training steps: a batch whose loss or gradient overflows, from finite data, is skipped
// and counted, leaves the parameters and the optimizer state unchanged, and can stop training.
// Training that no longer makes finite steps ends with training_diverged, and evaluating or
// predicting with non-finite outputs returns non_finite_output.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "microfit/microfit.hpp"

namespace {

using namespace microfit;

using Bytes = std::vector<std::uint8_t>;

std::string message(const Status& s) {
    char buffer[256];
    s.format(buffer, sizeof buffer);
    return buffer;
}

Bytes bytes_of(const void* data, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    return Bytes(p, p + n);
}

// A linear regression 2 -> 1 trained with plain SGD at a huge learning rate on huge but finite
// features. The first step is finite but throws the weights to about 1e30; the logits of the
// second step, about 1e30 * 1e10, overflow float, so every later step is skipped.
struct Divergent {
    using Model = Sequential<Dense<2, 1>>;
    using TrainerType = Trainer<Model, MeanSquaredError, Sgd, 4>;

    float features[8] = {1e10f, 2e10f, -1e10f, 3e10f, 2e10f, -1e10f, 1e10f, 1e10f};
    float targets[4] = {1.0f, -1.0f, 0.5f, 2.0f};
    Model model{3};
    TrainerType trainer{model, MeanSquaredError{}, Sgd{1e10f, 0.0f}};

    Dataset data() const { return regression_data(features, targets, 4, 2, 1); }

    static FitOptions options(std::size_t epochs) {
        FitOptions o;
        o.epochs = epochs;
        o.batch_size = 4;  // one step per epoch
        o.sampling = Sampling::in_order;
        return o;
    }

    Bytes parameter_bytes() const { return bytes_of(model.parameters(), Model::parameter_bytes); }
    Bytes state_bytes() const {
        const auto& state = trainer.optimizer_state();
        Bytes b = bytes_of(&state.steps, sizeof state.steps);
        const Bytes velocity = bytes_of(state.velocity, sizeof state.velocity);
        b.insert(b.end(), velocity.begin(), velocity.end());
        return b;
    }
};

// What each epoch left behind, recorded by the callback.
struct EpochRecord {
    std::size_t steps;
    std::size_t skipped_steps;
    float loss;
    Bytes parameters;
    Bytes state;
};

}  // namespace

TEST_CASE("an epoch of skipped steps ends training") {
    Divergent d;
    std::vector<EpochRecord> epochs;
    auto record = [&](const EpochLog<0>& log) {
        epochs.push_back({log.steps, log.skipped_steps, log.loss, d.parameter_bytes(), d.state_bytes()});
    };
    const Status s = d.trainer.fit(d.data(), Divergent::options(4), nullptr, record);
    CHECK(s.code == StatusCode::training_diverged);
    CHECK(s.index == 2);
    CHECK(s.option == nullptr);
    CHECK(message(s) ==
          "every step of epoch 2 had a non-finite loss or gradient (1 skipped), so training stopped with the "
          "parameters of the last finite step");

    // The callback saw the failed epoch, whose loss is NaN because no batch counted.
    CHECK(epochs.size() == 2);
    if (epochs.size() != 2) return;
    CHECK(epochs[0].steps == 1);
    CHECK(epochs[0].skipped_steps == 0);
    CHECK(std::isfinite(epochs[0].loss));
    CHECK(epochs[1].steps == 0);
    CHECK(epochs[1].skipped_steps == 1);
    CHECK(std::isnan(epochs[1].loss));
    CHECK(epochs[1].parameters == epochs[0].parameters);
    CHECK(epochs[1].state == epochs[0].state);
    CHECK(d.trainer.optimizer_state().steps == 1);
    for (std::size_t i = 0; i < Divergent::Model::parameter_capacity; ++i) CHECK(std::isfinite(d.model.parameters()[i]));

    const FitSummary& summary = d.trainer.summary();
    CHECK(summary.epochs_completed == 2);
    CHECK(summary.steps == 1);
    CHECK(summary.skipped_steps == 1);
    CHECK(summary.stopped_on_non_finite);
    CHECK(!summary.stopped_by_callback);
}

TEST_CASE("weights that overflow skip the very first step") {
    Divergent d;
    d.model.weight<0>(0, 0) = 3e30f;
    d.model.weight<0>(1, 0) = 3e30f;
    const Bytes parameters = d.parameter_bytes();
    const Bytes state = d.state_bytes();
    const Status s = d.trainer.fit(d.data(), Divergent::options(2));
    CHECK(s.code == StatusCode::training_diverged);
    CHECK(s.index == 1);
    CHECK(d.trainer.summary().epochs_completed == 1);
    CHECK(d.trainer.summary().steps == 0);
    CHECK(d.trainer.summary().skipped_steps == 1);
    CHECK(d.parameter_bytes() == parameters);
    CHECK(d.state_bytes() == state);
    CHECK(d.trainer.optimizer_state().steps == 0);
}

TEST_CASE("an infinite gradient with a finite loss is skipped") {
    // One logit z = w x + b with w = 0 and b = 0, so z = 0 and every loss is ln 2. With the sum
    // reduction each of the 4 rows adds x * (sigmoid(0) - 0) = 3e38 * 0.5 to dL/dw, and the sum
    // 6e38 overflows float. SGD, because the mean gradient 1.5e38 would overflow Adam's second
    // moment g^2.
    using Model = Sequential<Dense<1, 1>>;
    Model model(1);
    model.weight<0>(0, 0) = 0.0f;
    Trainer<Model, BinaryCrossentropy, Sgd, 4> trainer(model);
    const float features[4] = {3e38f, 3e38f, 3e38f, 3e38f};
    const std::int32_t labels[4] = {0, 0, 0, 0};
    FitOptions options;
    options.batch_size = 4;
    options.reduction = Reduction::sum;
    const Bytes parameters = bytes_of(model.parameters(), Model::parameter_bytes);
    float epoch_loss = -1.0f;
    const Status s = trainer.fit(classification_data(features, labels, 4, 1), options, nullptr,
                                 [&](const EpochLog<2>& log) { epoch_loss = log.loss; });
    CHECK(s.code == StatusCode::training_diverged);
    CHECK(trainer.summary().skipped_steps == 1);
    CHECK(trainer.summary().steps == 0);
    CHECK(std::isnan(epoch_loss));
    CHECK(bytes_of(model.parameters(), Model::parameter_bytes) == parameters);
    CHECK(trainer.optimizer_state().steps == 0);

    // The same batch with the mean reduction has a finite gradient and trains:
    // w = 0 - 0.01 * 1.5e38.
    options.reduction = Reduction::sum_over_batch_size;
    CHECK(trainer.fit(classification_data(features, labels, 4, 1), options).ok());
    CHECK(trainer.summary().skipped_steps == 0);
    CHECK(trainer.optimizer_state().steps == 1);
    CHECK(static_cast<double>(model.weight<0>(0, 0)) == doctest::Approx(-1.5e36).epsilon(1e-6));
}

TEST_CASE("stop_on_non_finite ends training after the first skipped step") {
    Divergent d;
    std::size_t callbacks = 0;
    std::size_t last_skipped = 0;
    auto count = [&](const EpochLog<0>& log) {
        ++callbacks;
        last_skipped = log.skipped_steps;
    };
    FitOptions options = Divergent::options(10);
    options.stop_on_non_finite = true;
    const Status s = d.trainer.fit(d.data(), options, nullptr, count);
    CHECK(s.code == StatusCode::training_diverged);
    CHECK(message(s) ==
          "step 1 of epoch 2 had a non-finite loss or gradient and stop_on_non_finite is set, so training stopped "
          "with the parameters of the last finite step");
    const FitSummary& summary = d.trainer.summary();
    CHECK(summary.stopped_on_non_finite);
    CHECK(summary.epochs_completed == 2);
    CHECK(summary.steps == 1);
    CHECK(summary.skipped_steps == 1);
    CHECK(callbacks == 2);  // the epoch that stopped is still reported
    CHECK(last_skipped == 1);
    CHECK(d.trainer.optimizer_state().steps == 1);
}

TEST_CASE("stop_on_non_finite leaves the rest of the epoch untrained") {
    // Batches of 1 in row order: the first step throws the weights far out, the second overflows,
    // and training stops there without trying rows 3 and 4.
    Divergent d;
    FitOptions options = Divergent::options(3);
    options.batch_size = 1;
    options.stop_on_non_finite = true;
    const Status s = d.trainer.fit(d.data(), options);
    CHECK(s.code == StatusCode::training_diverged);
    CHECK(s.index == 1);
    CHECK(s.column == 2);
    CHECK(d.trainer.summary().epochs_completed == 1);
    CHECK(d.trainer.summary().steps == 1);
    CHECK(d.trainer.summary().skipped_steps == 1);
    CHECK(d.trainer.summary().stopped_on_non_finite);
}

TEST_CASE("a callback sees the epoch that ends training") {
    Divergent d;
    Bytes parameters_after_first_epoch;
    auto stop_on_skip = [&](const EpochLog<0>& log) {
        if (log.epoch == 1) parameters_after_first_epoch = d.parameter_bytes();
        return log.skipped_steps == 0;
    };
    const Status s = d.trainer.fit(d.data(), Divergent::options(10), nullptr, stop_on_skip);
    CHECK(s.code == StatusCode::training_diverged);
    const FitSummary& summary = d.trainer.summary();
    CHECK(summary.stopped_by_callback);
    CHECK(summary.stopped_on_non_finite);
    CHECK(summary.epochs_completed == 2);
    CHECK(summary.skipped_steps == 1);
    CHECK(d.parameter_bytes() == parameters_after_first_epoch);
}

TEST_CASE("parameter overflow ends training") {
    // With a learning rate of 1e30 the first gradient, about 1e20, moves the weights past the
    // largest float. The step's loss and gradient were finite, so only the parameters show it.
    Divergent d;
    d.trainer.optimizer().learning_rate = 1e30f;
    History<0, 4> history;
    const Status s = d.trainer.fit(d.data(), Divergent::options(4), nullptr, history);
    CHECK(s.code == StatusCode::training_diverged);
    CHECK(s.index == 1);
    CHECK(std::string(s.option) == "parameters");
    CHECK(std::isinf(static_cast<double>(s.value)));
    CHECK(message(s).find("a parameter became ") == 0);
    CHECK(message(s).find("inf in epoch 1, so training stopped; load saved parameters or initialize the model again") !=
          std::string::npos);
    CHECK(history.count == 1);
    CHECK(history.logs[0].steps == 1);
    CHECK(std::isfinite(history.logs[0].loss));
    CHECK(d.trainer.summary().stopped_on_non_finite);
}

TEST_CASE("diverged model fails evaluate and predict") {
    Divergent d;
    d.trainer.optimizer().learning_rate = 1e30f;
    CHECK(d.trainer.fit(d.data(), Divergent::options(1)).code == StatusCode::training_diverged);

    Evaluation<0> evaluation;
    evaluation.rows = 99;
    evaluation.loss = -1.0f;
    const Status evaluated = d.trainer.evaluate(d.data(), evaluation);
    CHECK(evaluated.code == StatusCode::non_finite_output);
    CHECK(evaluated.index == 0);
    CHECK(evaluated.column == 0);
    CHECK(!std::isfinite(static_cast<double>(evaluated.value)));
    CHECK(evaluation.rows == 99);  // untouched
    CHECK(evaluation.loss == -1.0f);

    float outputs[4] = {7.0f, 7.0f, 7.0f, 7.0f};
    const Status predicted = d.trainer.predict(d.features, 4, 2, outputs, 4);
    CHECK(predicted.code == StatusCode::non_finite_output);
    for (float v : outputs) CHECK(v == 7.0f);
}

TEST_CASE("non-finite logits do not predict class 0") {
    using Model = Sequential<Dense<1, 2>>;
    Model model(5);
    model.weight<0>(0, 1) = std::numeric_limits<float>::quiet_NaN();
    Trainer<Model, SparseCategoricalCrossentropy, Adam, 4> trainer(model);
    const float features[3] = {1.0f, 2.0f, 3.0f};
    std::int32_t predicted[3] = {9, 9, 9};
    const Status s = trainer.predict_classes(features, 3, 1, predicted, 3);
    CHECK(s.code == StatusCode::non_finite_output);
    CHECK(message(s) ==
          "output 1 of row 0 is nan, so the model's parameters are not finite or its outputs overflow float");
    CHECK(predicted[0] == 9);
    CHECK(predicted[1] == 9);
    CHECK(predicted[2] == 9);

    float probabilities[6] = {};
    CHECK(trainer.predict_probabilities(features, 3, 1, probabilities, 6).code == StatusCode::non_finite_output);
}

TEST_CASE("multi-batch predict writes nothing on overflow") {
    // Batches of 4: rows 0 to 3 are finite, and the logit of row 5, 3e38 * 2, overflows.
    using Model = Sequential<Dense<1, 1>>;
    Model model(5);
    model.weight<0>(0, 0) = 2.0f;
    model.bias<0>(0) = 0.0f;
    Trainer<Model, MeanSquaredError, Sgd, 4> trainer(model);
    const float features[6] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 3e38f};
    float logits[6] = {-1.0f, -1.0f, -1.0f, -1.0f, -1.0f, -1.0f};
    const Status s = trainer.predict(features, 6, 1, logits, 6);
    CHECK(s.code == StatusCode::non_finite_output);
    CHECK(s.index == 5);
    CHECK(message(s) == "output 0 of row 5 is inf, so the model's parameters are not finite or its outputs overflow float");
    for (float v : logits) CHECK(v == -1.0f);

    // Without the overflowing row every logit is written.
    CHECK(trainer.predict(features, 5, 1, logits, 6).ok());
    CHECK(logits[4] == 10.0f);
    CHECK(logits[5] == -1.0f);
}
