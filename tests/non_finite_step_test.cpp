// Guarded training steps: a batch whose loss or gradient overflows, from finite data, is skipped
// and counted, leaves the parameters and the optimizer state unchanged, and can stop training.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "microfit/microfit.hpp"

namespace {

using namespace microfit;

using Bytes = std::vector<std::uint8_t>;

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

TEST_CASE("overflowing steps are skipped and change nothing") {
    Divergent d;
    std::vector<EpochRecord> epochs;
    auto record = [&](const EpochLog<0>& log) {
        epochs.push_back({log.steps, log.skipped_steps, log.loss, d.parameter_bytes(), d.state_bytes()});
    };
    CHECK(d.trainer.fit(d.data(), Divergent::options(4), nullptr, record).ok());

    CHECK(epochs.size() == 4);
    if (epochs.size() != 4) return;
    CHECK(epochs[0].steps == 1);
    CHECK(epochs[0].skipped_steps == 0);
    CHECK(std::isfinite(epochs[0].loss));
    for (std::size_t e = 1; e < 4; ++e) {
        CAPTURE(e);
        CHECK(epochs[e].steps == 0);
        CHECK(epochs[e].skipped_steps == 1);
        CHECK(epochs[e].loss == 0.0f);  // no batch counted
        CHECK(epochs[e].parameters == epochs[0].parameters);
        CHECK(epochs[e].state == epochs[0].state);
    }
    CHECK(d.trainer.optimizer_state().steps == 1);
    for (std::size_t i = 0; i < Divergent::Model::parameter_capacity; ++i) CHECK(std::isfinite(d.model.parameters()[i]));

    const FitSummary& summary = d.trainer.summary();
    CHECK(summary.epochs_completed == 4);
    CHECK(summary.steps == 1);
    CHECK(summary.skipped_steps == 3);
    CHECK(!summary.stopped_on_non_finite);
    CHECK(!summary.stopped_by_callback);
}

TEST_CASE("weights that overflow skip the very first step") {
    Divergent d;
    d.model.weight<0>(0, 0) = 3e30f;
    d.model.weight<0>(1, 0) = 3e30f;
    const Bytes parameters = d.parameter_bytes();
    const Bytes state = d.state_bytes();
    CHECK(d.trainer.fit(d.data(), Divergent::options(2)).ok());
    CHECK(d.trainer.summary().steps == 0);
    CHECK(d.trainer.summary().skipped_steps == 2);
    CHECK(d.parameter_bytes() == parameters);
    CHECK(d.state_bytes() == state);
    CHECK(d.trainer.optimizer_state().steps == 0);
}

TEST_CASE("an infinite gradient with a finite loss is skipped") {
    // One logit z = w x + b with w = 0 and b = 0, so z = 0 and every loss is ln 2. With the sum
    // reduction each of the 4 rows adds x * (sigmoid(0) - 0) = 3e38 * 0.5 to dL/dw, and the sum
    // 6e38 overflows float.
    using Model = Sequential<Dense<1, 1>>;
    Model model(1);
    model.weight<0>(0, 0) = 0.0f;
    Trainer<Model, BinaryCrossentropy, Adam, 4> trainer(model);
    const float features[4] = {3e38f, 3e38f, 3e38f, 3e38f};
    const std::int32_t labels[4] = {0, 0, 0, 0};
    FitOptions options;
    options.batch_size = 4;
    options.reduction = Reduction::sum;
    const Bytes parameters = bytes_of(model.parameters(), Model::parameter_bytes);
    float epoch_loss = -1.0f;
    CHECK(trainer.fit(classification_data(features, labels, 4, 1), options, nullptr,
                        [&](const EpochLog<2>& log) { epoch_loss = log.loss; })
                .ok());
    CHECK(trainer.summary().skipped_steps == 1);
    CHECK(trainer.summary().steps == 0);
    CHECK(epoch_loss == 0.0f);
    CHECK(bytes_of(model.parameters(), Model::parameter_bytes) == parameters);
    CHECK(trainer.optimizer_state().steps == 0);

    // The same batch with the mean reduction has a finite gradient and trains.
    options.reduction = Reduction::sum_over_batch_size;
    CHECK(trainer.fit(classification_data(features, labels, 4, 1), options).ok());
    CHECK(trainer.summary().skipped_steps == 0);
    CHECK(trainer.optimizer_state().steps == 1);
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
    CHECK(d.trainer.fit(d.data(), options, nullptr, count).ok());
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
    CHECK(d.trainer.fit(d.data(), options).ok());
    CHECK(d.trainer.summary().epochs_completed == 1);
    CHECK(d.trainer.summary().steps == 1);
    CHECK(d.trainer.summary().skipped_steps == 1);
    CHECK(d.trainer.summary().stopped_on_non_finite);
}

TEST_CASE("a callback can stop training on skipped steps") {
    Divergent d;
    Bytes parameters_after_first_epoch;
    auto stop_on_skip = [&](const EpochLog<0>& log) {
        if (log.epoch == 1) parameters_after_first_epoch = d.parameter_bytes();
        return log.skipped_steps == 0;
    };
    CHECK(d.trainer.fit(d.data(), Divergent::options(10), nullptr, stop_on_skip).ok());
    const FitSummary& summary = d.trainer.summary();
    CHECK(summary.stopped_by_callback);
    CHECK(!summary.stopped_on_non_finite);
    CHECK(summary.epochs_completed == 2);
    CHECK(summary.skipped_steps == 1);
    CHECK(d.parameter_bytes() == parameters_after_first_epoch);
}
