// EarlyStopping: when it stops, and that the restored parameters are the best epoch's bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "microfit/early_stopping.hpp"
#include "microfit/microfit.hpp"

namespace {

using namespace microfit;

using Model = Sequential<Dense<3, 5>, Tanh, Dense<5, 2>>;
using Bytes = std::vector<std::uint8_t>;

Bytes parameter_bytes(const Model& model) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(model.parameters());
    return Bytes(p, p + Model::parameter_bytes);
}

EpochLog<2> validation_log(std::size_t epoch, float validation_loss) {
    EpochLog<2> log;
    log.epoch = epoch;
    log.loss = 100.0f;  // a training loss that early stopping must ignore
    log.has_validation = true;
    log.validation.loss = validation_loss;
    return log;
}

// Feeds one validation loss per epoch, giving the model new parameters before each, as training
// would. Returns the parameters seen at each epoch (index 0 is epoch 1) and stops feeding when
// the callback returns false.
std::vector<Bytes> run_epochs(EarlyStopping<Model>& stopping, Model& model, const std::vector<float>& losses,
                              std::size_t& epochs_run) {
    std::vector<Bytes> seen;
    epochs_run = 0;
    for (std::size_t e = 0; e < losses.size(); ++e) {
        model.initialize(100 + e);
        seen.push_back(parameter_bytes(model));
        ++epochs_run;
        if (!stopping(validation_log(e + 1, losses[e]))) break;
    }
    return seen;
}

}  // namespace

TEST_CASE("early stopping stops after patience epochs without improvement") {
    Model model;
    EarlyStopping<Model> stopping(model, 3);
    std::size_t epochs_run = 0;
    const auto seen = run_epochs(stopping, model, {1.0f, 0.8f, 0.9f, 0.85f, 0.81f, 0.7f, 0.6f}, epochs_run);
    CHECK(epochs_run == 5);
    CHECK(stopping.stopped_epoch() == 5);
    CHECK(stopping.best_epoch() == 2);
    CHECK(stopping.best_loss() == 0.8f);
    CHECK(parameter_bytes(model) == seen[1]);
}

TEST_CASE("early stopping waits while the loss improves") {
    Model model;
    EarlyStopping<Model> stopping(model, 2);
    std::size_t epochs_run = 0;
    const auto seen = run_epochs(stopping, model, {1.0f, 0.9f, 0.95f, 0.8f, 0.85f, 0.7f}, epochs_run);
    // One epoch without improvement at a time never reaches patience 2.
    CHECK(epochs_run == 6);
    CHECK(stopping.stopped_epoch() == 0);
    CHECK(stopping.best_epoch() == 6);
    CHECK(parameter_bytes(model) == seen[5]);
}

TEST_CASE("early stopping needs an improvement larger than min_delta") {
    Model model;
    EarlyStopping<Model> stopping(model, 2, /*min_delta=*/0.1f);
    std::size_t epochs_run = 0;
    const auto seen = run_epochs(stopping, model, {1.0f, 0.95f, 0.91f, 0.5f}, epochs_run);
    CHECK(epochs_run == 3);
    CHECK(stopping.best_epoch() == 1);
    CHECK(parameter_bytes(model) == seen[0]);
}

TEST_CASE("early stopping with patience 0 stops at the first epoch without improvement") {
    Model model;
    EarlyStopping<Model> stopping(model, 0);
    std::size_t epochs_run = 0;
    const auto seen = run_epochs(stopping, model, {1.0f, 0.5f, 0.5f, 0.1f}, epochs_run);
    CHECK(epochs_run == 3);  // an equal loss is no improvement
    CHECK(stopping.best_epoch() == 2);
    CHECK(parameter_bytes(model) == seen[1]);
}

TEST_CASE("early stopping never takes a NaN loss as the best") {
    Model model;
    EarlyStopping<Model> stopping(model, 2);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::size_t epochs_run = 0;
    const auto seen = run_epochs(stopping, model, {nan, 2.0f, nan, std::numeric_limits<float>::infinity(), 1.0f},
                                 epochs_run);
    CHECK(epochs_run == 4);
    CHECK(stopping.best_epoch() == 2);
    CHECK(parameter_bytes(model) == seen[1]);
}

TEST_CASE("early stopping without restore_best keeps the last parameters") {
    Model model;
    EarlyStopping<Model> stopping(model, 1, 0.0f, /*restore_best=*/false);
    std::size_t epochs_run = 0;
    const auto seen = run_epochs(stopping, model, {1.0f, 2.0f, 0.5f}, epochs_run);
    CHECK(epochs_run == 2);
    CHECK(parameter_bytes(model) == seen[1]);
    CHECK(std::memcmp(stopping.best_parameters(), seen[0].data(), Model::parameter_bytes) == 0);
    stopping.restore_best();
    CHECK(parameter_bytes(model) == seen[0]);
}

TEST_CASE("early stopping can monitor the training loss") {
    Model model;
    EarlyStopping<Model> stopping(model, 1, 0.0f, true, Monitor::training_loss);
    EpochLog<2> log;
    log.epoch = 1;
    log.loss = 1.0f;  // no validation set in the log
    CHECK(stopping(log));
    const Bytes best = parameter_bytes(model);
    model.initialize(9);
    log.epoch = 2;
    log.loss = 1.5f;
    CHECK(!stopping(log));
    CHECK(stopping.status().ok());
    CHECK(parameter_bytes(model) == best);
}

TEST_CASE("early stopping on the validation loss needs a validation set") {
    Model model;
    EarlyStopping<Model> stopping(model, 3);
    const Bytes before = parameter_bytes(model);
    EpochLog<2> log;
    log.epoch = 1;
    log.loss = 1.0f;
    CHECK(!stopping(log));
    const Status s = stopping.status();
    CHECK(s.code == StatusCode::missing_data);
    char buffer[128];
    s.format(buffer, sizeof buffer);
    CHECK(std::string(buffer) ==
          "validation data (EarlyStopping monitors the validation loss) is a null pointer but is required");
    CHECK(parameter_bytes(model) == before);
    stopping.reset();
    CHECK(stopping.status().ok());
}

TEST_CASE("fit with early stopping rejects a missing validation set") {
    using Line = Sequential<Dense<1, 1>>;
    Line model(1);
    const Line before = model;
    Trainer<Line, MeanSquaredError, Sgd, 4> trainer(model);
    const float x[4] = {-1.0f, -0.5f, 0.5f, 1.0f};
    const float y[4] = {-2.0f, -1.0f, 1.0f, 2.0f};
    FitOptions options;
    options.epochs = 5;
    options.batch_size = 4;

    EarlyStopping<Line> stopping(model, 2);
    const Status s = trainer.fit(regression_data(x, y, 4, 1, 1), options, nullptr, stopping);
    CHECK(s.code == StatusCode::missing_data);
    char buffer[128];
    s.format(buffer, sizeof buffer);
    CHECK(std::string(buffer) ==
          "validation data (EarlyStopping monitors the validation loss) is a null pointer but is required");
    CHECK(trainer.summary().epochs_completed == 0);
    CHECK(trainer.optimizer_state().steps == 0);
    CHECK(std::memcmp(model.parameters(), before.parameters(), Line::parameter_bytes) == 0);
    CHECK(stopping.stopped_epoch() == 0);

    // Monitoring the training loss needs no validation set.
    EarlyStopping<Line> on_training_loss(model, 2, 0.0f, true, Monitor::training_loss);
    CHECK(trainer.fit(regression_data(x, y, 4, 1, 1), options, nullptr, on_training_loss).ok());
    CHECK(trainer.summary().epochs_completed == 5);
}

TEST_CASE("early stopping memory is the parameter copy and a few fields") {
    CHECK(sizeof(EarlyStopping<Model>) >= Model::parameter_bytes);
    CHECK(sizeof(EarlyStopping<Model>) <= Model::parameter_bytes + 64);
}

TEST_CASE("early stopping inside fit restores the best epoch bit for bit") {
    // Training pulls the weight of y = w x toward 2, while the validation targets follow y = 0.5 x.
    // From w = -1 the validation loss falls until w passes 0.5 and rises after, so the best
    // epoch lies in the middle of training.
    using Line = Sequential<Dense<1, 1>>;
    Line model(1);
    model.weight<0>(0, 0) = -1.0f;
    model.bias<0>(0) = 0.0f;
    Sgd sgd;
    sgd.learning_rate = 0.05f;
    Trainer<Line, MeanSquaredError, Sgd, 4> trainer(model, MeanSquaredError{}, sgd);

    const float x[4] = {-1.0f, -0.5f, 0.5f, 1.0f};
    const float train_y[4] = {-2.0f, -1.0f, 1.0f, 2.0f};
    const float validation_y[4] = {-0.5f, -0.25f, 0.25f, 0.5f};
    const Dataset train = regression_data(x, train_y, 4, 1, 1);
    const Dataset validation = regression_data(x, validation_y, 4, 1, 1);

    const std::size_t patience = 3;
    EarlyStopping<Line> stopping(model, patience);
    std::vector<std::vector<std::uint8_t>> parameters;
    std::vector<float> losses;
    auto on_epoch_end = [&](const EpochLog<0>& log) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(model.parameters());
        parameters.emplace_back(p, p + Line::parameter_bytes);
        losses.push_back(log.validation.loss);
        return stopping(log);
    };
    FitOptions options;
    options.epochs = 100;
    options.batch_size = 4;
    options.sampling = Sampling::in_order;
    CHECK(trainer.fit(train, options, &validation, on_epoch_end).ok());

    CHECK(!losses.empty());
    if (losses.empty()) return;

    // The best epoch is the first one with the lowest validation loss.
    std::size_t best = 0;
    for (std::size_t e = 1; e < losses.size(); ++e) best = losses[e] < losses[best] ? e : best;
    CHECK(best + 1 >= 5);  // the minimum is not at the start
    CHECK(stopping.best_epoch() == best + 1);
    CHECK(stopping.stopped_epoch() == best + 1 + patience);
    CHECK(trainer.summary().epochs_completed == best + 1 + patience);
    CHECK(trainer.summary().stopped_by_callback);
    CHECK(std::memcmp(model.parameters(), parameters[best].data(), Line::parameter_bytes) == 0);
    CHECK(std::memcmp(model.parameters(), parameters.back().data(), Line::parameter_bytes) != 0);
}

TEST_CASE("fit with early stopping rejects an invalid min_delta") {
    // With a NaN min_delta no epoch after the first could count as an improvement.
    using Line = Sequential<Dense<1, 1>>;
    Line model(1);
    const Line before = model;
    Trainer<Line, MeanSquaredError, Sgd, 4> trainer(model);
    const float x[4] = {-1.0f, -0.5f, 0.5f, 1.0f};
    const float y[4] = {-2.0f, -1.0f, 1.0f, 2.0f};
    FitOptions options;
    options.epochs = 5;
    options.batch_size = 4;

    for (const float min_delta : {std::numeric_limits<float>::quiet_NaN(), -0.5f,
                                  std::numeric_limits<float>::infinity()}) {
        CAPTURE(min_delta);
        EarlyStopping<Line> stopping(model, 2, min_delta, true, Monitor::training_loss);
        const Status s = trainer.fit(regression_data(x, y, 4, 1, 1), options, nullptr, stopping);
        CHECK(s.code == StatusCode::invalid_option);
        CHECK(std::string(s.option) == "EarlyStopping.min_delta");
        CHECK(trainer.summary().epochs_completed == 0);
        CHECK(std::memcmp(model.parameters(), before.parameters(), Line::parameter_bytes) == 0);
    }
}
