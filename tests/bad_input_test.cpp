// Bad input at every public entry point that takes data: each case checks the status code, the
// exact message, and that the model, the optimizer state and the caller's data are bit-for-bit
// unchanged.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "microfit/microfit.hpp"

namespace doctest {
template <>
struct StringMaker<microfit::StatusCode> {
    static String convert(microfit::StatusCode code) { return microfit::status_name(code); }
};
}  // namespace doctest

namespace {

using namespace microfit;

constexpr float nan_value = std::numeric_limits<float>::quiet_NaN();
constexpr float inf_value = std::numeric_limits<float>::infinity();

std::string message(const Status& s) {
    char buffer[256];
    s.format(buffer, sizeof buffer);
    return buffer;
}

using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(const void* data, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    return Bytes(p, p + n);
}

// The model, optimizer state and data that a rejected call must leave alone, copied before it.
template <class Fixture>
struct Before {
    Bytes parameters;
    Bytes state;
    Bytes data;

    explicit Before(Fixture& f) : parameters(f.parameter_bytes()), state(f.state_bytes()), data(f.data_bytes()) {}
};

// Checks a rejected call: its code, its exact message and that nothing changed.
template <class Fixture>
void check_rejected(Fixture& f, const Before<Fixture>& before, const Status& s, StatusCode code,
                    const std::string& expected_message) {
    CHECK(s.code == code);
    CHECK(message(s) == expected_message);
    CHECK(f.parameter_bytes() == before.parameters);
    CHECK(f.state_bytes() == before.state);
    CHECK(f.data_bytes() == before.data);
}

// Three classes, three features, six training rows and two validation rows. The trainer has run
// one epoch, so the optimizer state is not all zero.
template <class Loss = SparseCategoricalCrossentropy>
struct Classification {
    using Model = Sequential<Dense<3, 5>, Relu, Dense<5, 3>>;
    using TrainerType = Trainer<Model, Loss, Adam, 4>;

    float features[18] = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, -0.6f, 0.7f, 0.8f, -0.9f,
                          1.0f, -1.1f, 1.2f, -1.3f, 1.4f, 1.5f, 1.6f, 1.7f, -1.8f};
    std::int32_t labels[6] = {0, 1, 2, 0, 1, 2};
    float sample_weight[6] = {1.0f, 0.5f, 2.0f, 1.0f, 1.0f, 0.25f};
    float class_weight[3] = {1.0f, 2.0f, 0.5f};
    float validation_features[6] = {0.3f, 0.2f, 0.1f, -0.1f, -0.2f, -0.3f};
    std::int32_t validation_labels[2] = {2, 0};

    Model model{1};
    TrainerType trainer;

    explicit Classification(Loss loss = Loss{}, Adam adam = Adam{}) : trainer(model, loss, adam) {
        FitOptions options;
        options.batch_size = 4;
        CHECK(trainer.fit(train(), options).ok());
        CHECK(trainer.optimizer_state().steps == 2);
    }

    Dataset train() const { return classification_data(features, labels, 6, 3, sample_weight); }
    Dataset validation() const { return classification_data(validation_features, validation_labels, 2, 3); }

    FitOptions options() const {
        FitOptions o;
        o.epochs = 2;
        o.batch_size = 4;
        return o;
    }

    Bytes parameter_bytes() const { return bytes_of(model.parameters(), Model::parameter_bytes); }

    Bytes state_bytes() const {
        const auto& state = trainer.optimizer_state();
        Bytes b = bytes_of(&state.steps, sizeof state.steps);
        const Bytes m = bytes_of(state.m, sizeof state.m);
        const Bytes v = bytes_of(state.v, sizeof state.v);
        b.insert(b.end(), m.begin(), m.end());
        b.insert(b.end(), v.begin(), v.end());
        return b;
    }

    Bytes data_bytes() const {
        Bytes b = bytes_of(features, sizeof features);
        for (const Bytes& part : {bytes_of(labels, sizeof labels), bytes_of(sample_weight, sizeof sample_weight),
                                  bytes_of(class_weight, sizeof class_weight),
                                  bytes_of(validation_features, sizeof validation_features),
                                  bytes_of(validation_labels, sizeof validation_labels)}) {
            b.insert(b.end(), part.begin(), part.end());
        }
        return b;
    }
};

// Two regression targets from three features, trained with SGD and momentum.
struct Regression {
    using Model = Sequential<Dense<3, 4>, Tanh, Dense<4, 2>>;
    using TrainerType = Trainer<Model, MeanSquaredError, Sgd, 4>;

    float features[12] = {0.1f, 0.2f, 0.3f, -0.4f, 0.5f, -0.6f, 0.7f, 0.8f, -0.9f, 1.0f, -1.1f, 1.2f};
    float targets[8] = {1.0f, -1.0f, 0.5f, 0.25f, -0.5f, 2.0f, 0.0f, 1.5f};
    float sample_weight[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    float class_weight[2] = {1.0f, 1.0f};

    Model model{2};
    TrainerType trainer;

    explicit Regression(Sgd sgd = Sgd{0.05f, 0.9f}) : trainer(model, MeanSquaredError{}, sgd) {
        FitOptions options;
        options.batch_size = 2;
        CHECK(trainer.fit(train(), options).ok());
        CHECK(trainer.optimizer_state().steps == 2);
    }

    Dataset train() const { return regression_data(features, targets, 4, 3, 2, sample_weight); }

    FitOptions options() const {
        FitOptions o;
        o.batch_size = 2;
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

    Bytes data_bytes() const {
        Bytes b = bytes_of(features, sizeof features);
        for (const Bytes& part : {bytes_of(targets, sizeof targets), bytes_of(sample_weight, sizeof sample_weight),
                                  bytes_of(class_weight, sizeof class_weight)}) {
            b.insert(b.end(), part.begin(), part.end());
        }
        return b;
    }
};

using ClassificationFixture = Classification<>;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Trainer::fit: labels, features, targets and weights

TEST_CASE("fit rejects a label above the class range") {
    ClassificationFixture f;
    f.labels[4] = 7;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::label_out_of_range,
                   "training data: label 7 at row 4 is outside [0, 3)");
}

TEST_CASE("fit rejects a negative label") {
    ClassificationFixture f;
    f.labels[0] = -1;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::label_out_of_range,
                   "training data: label -1 at row 0 is outside [0, 3)");
}

TEST_CASE("fit rejects a NaN feature") {
    ClassificationFixture f;
    f.features[1 * 3 + 2] = nan_value;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::non_finite_feature,
                   "training data: feature 2 at row 1 is nan, but values must be finite");
}

TEST_CASE("fit rejects an infinite feature") {
    ClassificationFixture f;
    f.features[5 * 3 + 0] = -inf_value;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::non_finite_feature,
                   "training data: feature 0 at row 5 is -inf, but values must be finite");
}

TEST_CASE("fit rejects a NaN target") {
    Regression f;
    f.targets[3 * 2 + 1] = nan_value;
    const Before<Regression> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::non_finite_target,
                   "training data: target 1 at row 3 is nan, but values must be finite");
}

TEST_CASE("fit rejects an infinite target") {
    Regression f;
    f.targets[0] = inf_value;
    const Before<Regression> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::non_finite_target,
                   "training data: target 0 at row 0 is inf, but values must be finite");
}

TEST_CASE("fit rejects a NaN sample weight") {
    ClassificationFixture f;
    f.sample_weight[2] = nan_value;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::non_finite_weight,
                   "training data: sample weight at row 2 is nan, but weights must be finite and at least 0");
}

TEST_CASE("fit rejects an infinite sample weight") {
    Regression f;
    f.sample_weight[3] = inf_value;
    const Before<Regression> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::non_finite_weight,
                   "training data: sample weight at row 3 is inf, but weights must be finite and at least 0");
}

TEST_CASE("fit rejects a negative sample weight") {
    ClassificationFixture f;
    f.sample_weight[5] = -0.5f;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::negative_weight,
                   "training data: sample weight at row 5 is -0.5, but weights must be finite and at least 0");
}

TEST_CASE("fit reports the first bad row") {
    ClassificationFixture f;
    f.labels[3] = 3;
    f.features[1 * 3 + 1] = inf_value;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::non_finite_feature,
                   "training data: feature 1 at row 1 is inf, but values must be finite");
}

// ---------------------------------------------------------------------------------------------
// Trainer::fit: class weights

TEST_CASE("fit rejects class weights of the wrong length") {
    ClassificationFixture f;
    FitOptions options = f.options();
    options.class_weight = ClassWeights{f.class_weight, 2};
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::wrong_class_weight_count,
                   "got 2 class weights for 3 classes");
}

TEST_CASE("fit rejects a negative class weight") {
    ClassificationFixture f;
    f.class_weight[1] = -1.0f;
    FitOptions options = f.options();
    options.class_weight = ClassWeights{f.class_weight, 3};
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::invalid_class_weight,
                   "class weight of class 1 is -1, but class weights must be finite and at least 0");
}

TEST_CASE("fit rejects a NaN class weight") {
    ClassificationFixture f;
    f.class_weight[2] = nan_value;
    FitOptions options = f.options();
    options.class_weight = ClassWeights{f.class_weight, 3};
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::invalid_class_weight,
                   "class weight of class 2 is nan, but class weights must be finite and at least 0");
}

TEST_CASE("fit rejects a null class weight array with a count") {
    ClassificationFixture f;
    FitOptions options = f.options();
    options.class_weight = ClassWeights{nullptr, 3};
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::missing_data,
                   "class_weight.values is a null pointer but is required");
}

TEST_CASE("fit rejects class weights for a regression loss") {
    Regression f;
    FitOptions options = f.options();
    options.class_weight = ClassWeights{f.class_weight, 2};
    const Before<Regression> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::wrong_class_weight_count,
                   "got 2 class weights, but a regression loss takes none");
}

// ---------------------------------------------------------------------------------------------
// Trainer::fit: data set shape and pointers

TEST_CASE("fit rejects an empty data set") {
    ClassificationFixture f;
    Dataset empty = f.train();
    empty.rows = 0;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(empty, f.options()), StatusCode::empty_dataset,
                   "training data: the data set has no rows");
}

TEST_CASE("fit rejects null features") {
    ClassificationFixture f;
    Dataset d = f.train();
    d.features = nullptr;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(d, f.options()), StatusCode::missing_data,
                   "training data: features is a null pointer but is required");
}

TEST_CASE("fit rejects null labels") {
    ClassificationFixture f;
    Dataset d = f.train();
    d.labels = nullptr;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(d, f.options()), StatusCode::missing_data,
                   "training data: labels is a null pointer but is required");
}

TEST_CASE("fit rejects null targets") {
    Regression f;
    Dataset d = f.train();
    d.targets = nullptr;
    const Before<Regression> before(f);
    check_rejected(f, before, f.trainer.fit(d, f.options()), StatusCode::missing_data,
                   "training data: targets is a null pointer but is required");
}

TEST_CASE("fit rejects the wrong feature count") {
    ClassificationFixture f;
    Dataset d = f.train();
    d.feature_count = 4;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(d, f.options()), StatusCode::wrong_feature_count,
                   "training data: rows have 4 features but the model takes 3");
}

TEST_CASE("fit rejects the wrong target count") {
    Regression f;
    Dataset d = f.train();
    d.target_count = 1;
    const Before<Regression> before(f);
    check_rejected(f, before, f.trainer.fit(d, f.options()), StatusCode::wrong_target_count,
                   "training data: rows have 1 targets but the model has 2 outputs");
}

TEST_CASE("fit rejects more rows than 32-bit indices reach") {
    if constexpr (sizeof(std::size_t) > 4) {
        ClassificationFixture f;
        Dataset d = f.train();
        // The row count is checked before any row is read, so no row past the sixth is touched.
        d.rows = static_cast<std::size_t>(std::uint64_t{1} << 32);
        const Before<ClassificationFixture> before(f);
        check_rejected(f, before, f.trainer.fit(d, f.options()), StatusCode::invalid_option,
                       "training data: option rows is 4294967296, but it must be at most 4294967295, because row "
                       "indices are 32-bit");
    }
}

// ---------------------------------------------------------------------------------------------
// Trainer::fit: batch size and validation set

TEST_CASE("fit rejects batch size 0") {
    ClassificationFixture f;
    FitOptions options = f.options();
    options.batch_size = 0;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::invalid_batch_size,
                   "batch size 0 is outside [1, 4], the compile-time batch capacity");
}

TEST_CASE("fit rejects a batch size above the capacity") {
    ClassificationFixture f;
    FitOptions options = f.options();
    options.batch_size = 5;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::invalid_batch_size,
                   "batch size 5 is outside [1, 4], the compile-time batch capacity");
}

TEST_CASE("fit prints the largest batch size exactly") {
    ClassificationFixture f;
    FitOptions options = f.options();
    options.batch_size = std::numeric_limits<std::size_t>::max();
    const Before<ClassificationFixture> before(f);
    // std::to_string, not printf's %zu, which newlib's printf on Cortex-M does not support.
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::invalid_batch_size,
                   "batch size " + std::to_string(std::numeric_limits<std::size_t>::max()) +
                       " is outside [1, 4], the compile-time batch capacity");
}

TEST_CASE("fit rejects a validation set of the wrong width") {
    ClassificationFixture f;
    Dataset validation = f.validation();
    validation.feature_count = 2;
    validation.rows = 3;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options(), &validation), StatusCode::wrong_feature_count,
                   "validation data: rows have 2 features but the model takes 3");
}

TEST_CASE("fit rejects a validation label out of range") {
    ClassificationFixture f;
    f.validation_labels[1] = 3;
    const Dataset validation = f.validation();
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options(), &validation), StatusCode::label_out_of_range,
                   "validation data: label 3 at row 1 is outside [0, 3)");
}

TEST_CASE("fit rejects a NaN validation feature") {
    ClassificationFixture f;
    f.validation_features[4] = nan_value;
    const Dataset validation = f.validation();
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options(), &validation), StatusCode::non_finite_feature,
                   "validation data: feature 1 at row 1 is nan, but values must be finite");
}

TEST_CASE("fit rejects an empty validation set") {
    ClassificationFixture f;
    Dataset validation = f.validation();
    validation.rows = 0;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options(), &validation), StatusCode::empty_dataset,
                   "validation data: the data set has no rows");
}

TEST_CASE("fit rejects a validation set without labels") {
    ClassificationFixture f;
    Dataset validation = f.validation();
    validation.labels = nullptr;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options(), &validation), StatusCode::missing_data,
                   "validation data: labels is a null pointer but is required");
}

// ---------------------------------------------------------------------------------------------
// Trainer::fit: options, optimizer and loss

TEST_CASE("fit rejects an unknown sampling value") {
    ClassificationFixture f;
    FitOptions options = f.options();
    options.sampling = static_cast<Sampling>(9);
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::invalid_option,
                   "option sampling is 9, but it must be Sampling::shuffled (0), in_order (1) or "
                   "balanced_oversampling (2)");
}

TEST_CASE("fit rejects balanced oversampling for regression") {
    Regression f;
    FitOptions options = f.options();
    options.sampling = Sampling::balanced_oversampling;
    const Before<Regression> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::invalid_option,
                   "option sampling is 2, but it must be Sampling::shuffled (0) or in_order (1) with a regression "
                   "loss");
}

TEST_CASE("fit rejects balanced oversampling with an empty class") {
    ClassificationFixture f;
    f.labels[2] = 0;
    f.labels[5] = 1;
    FitOptions options = f.options();
    options.sampling = Sampling::balanced_oversampling;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::empty_class,
                   "training data: class 2 has no samples (or zero total weight), so it cannot be balanced");
}

TEST_CASE("fit rejects an unknown reduction") {
    ClassificationFixture f;
    FitOptions options = f.options();
    options.reduction = static_cast<Reduction>(3);
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), options), StatusCode::invalid_option,
                   "option reduction is 3, but it must be Reduction::sum_over_batch_size (0), weighted_mean (1) or "
                   "sum (2)");
}

TEST_CASE("fit rejects a NaN Adam learning rate") {
    ClassificationFixture f;
    f.trainer.optimizer().learning_rate = nan_value;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::invalid_option,
                   "option Adam.learning_rate is nan, but it must be finite and at least 0");
}

TEST_CASE("fit rejects Adam beta1 of 1") {
    ClassificationFixture f;
    f.trainer.optimizer().beta1 = 1.0f;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::invalid_option,
                   "option Adam.beta1 is 1, but it must be in [0, 1)");
}

TEST_CASE("fit rejects a negative Adam beta2") {
    ClassificationFixture f;
    f.trainer.optimizer().beta2 = -0.1f;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::invalid_option,
                   "option Adam.beta2 is -0.1, but it must be in [0, 1)");
}

TEST_CASE("fit rejects Adam epsilon of 0") {
    ClassificationFixture f;
    f.trainer.optimizer().epsilon = 0.0f;
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::invalid_option,
                   "option Adam.epsilon is 0, but it must be finite and above 0");
}

TEST_CASE("fit rejects an unknown Adam epsilon form") {
    ClassificationFixture f;
    f.trainer.optimizer().epsilon_form = static_cast<AdamEpsilon>(5);
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::invalid_option,
                   "option Adam.epsilon_form is 5, but it must be AdamEpsilon::pytorch (0) or AdamEpsilon::keras (1)");
}

TEST_CASE("fit rejects a negative SGD learning rate") {
    Regression f;
    f.trainer.optimizer().learning_rate = -0.01f;
    const Before<Regression> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::invalid_option,
                   "option Sgd.learning_rate is -0.01, but it must be finite and at least 0");
}

TEST_CASE("fit rejects SGD momentum of 1") {
    Regression f;
    f.trainer.optimizer().momentum = 1.0f;
    const Before<Regression> before(f);
    check_rejected(f, before, f.trainer.fit(f.train(), f.options()), StatusCode::invalid_option,
                   "option Sgd.momentum is 1, but it must be in [0, 1)");
}

TEST_CASE("fit rejects a negative focal loss gamma") {
    using Fixture = Classification<CategoricalFocalLoss<3>>;
    CategoricalFocalLoss<3> loss;
    Fixture f(loss);
    // The trainer stores its own copy of the loss, so a bad option needs a trainer built with it.
    // The one below shares the fixture's model and data, and starts with a zero optimizer state.
    loss.gamma = -1.0f;
    Fixture::TrainerType trainer(f.model, loss);
    const Bytes parameters = f.parameter_bytes();
    const Bytes data = f.data_bytes();
    const Status s = trainer.fit(f.train(), f.options());
    CHECK(s.code == StatusCode::invalid_option);
    CHECK(message(s) == "option CategoricalFocalLoss.gamma is -1, but it must be finite and at least 0");
    CHECK(f.parameter_bytes() == parameters);
    CHECK(trainer.optimizer_state().steps == 0);
    CHECK(f.data_bytes() == data);
}

TEST_CASE("fit rejects a negative focal loss alpha and names the class") {
    using Fixture = Classification<CategoricalFocalLoss<3>>;
    CategoricalFocalLoss<3> loss;
    Fixture f(loss);
    loss.use_alpha = true;
    loss.alpha[0] = 1.0f;
    loss.alpha[1] = 1.0f;
    loss.alpha[2] = -1.0f;
    Fixture::TrainerType trainer(f.model, loss);
    const Bytes parameters = f.parameter_bytes();
    const Status s = trainer.fit(f.train(), f.options());
    CHECK(s.code == StatusCode::invalid_option);
    CHECK(message(s) == "option CategoricalFocalLoss.alpha[2] is -1, but it must be finite and at least 0");
    CHECK(f.parameter_bytes() == parameters);
    CHECK(trainer.optimizer_state().steps == 0);
}

TEST_CASE("fit rejects a binary focal loss alpha above 1") {
    using Model = Sequential<Dense<3, 1>>;
    Model model(4);
    BinaryFocalLoss loss;
    loss.use_alpha = true;
    loss.alpha = 1.5f;
    Trainer<Model, BinaryFocalLoss, Adam, 4> trainer(model, loss);
    const float features[6] = {1, 2, 3, 4, 5, 6};
    const std::int32_t labels[2] = {0, 1};
    const Bytes parameters = bytes_of(model.parameters(), Model::parameter_bytes);
    FitOptions options;
    options.batch_size = 2;
    const Status s = trainer.fit(classification_data(features, labels, 2, 3), options);
    CHECK(s.code == StatusCode::invalid_option);
    CHECK(message(s) == "option BinaryFocalLoss.alpha is 1.5, but it must be in [0, 1]");
    CHECK(bytes_of(model.parameters(), Model::parameter_bytes) == parameters);
    CHECK(trainer.optimizer_state().steps == 0);
}

// ---------------------------------------------------------------------------------------------
// Trainer::evaluate

TEST_CASE("evaluate rejects bad input and leaves its output alone") {
    ClassificationFixture f;
    Evaluation<3> out;
    std::memset(static_cast<void*>(&out), 0xAB, sizeof out);
    const Bytes out_before = bytes_of(&out, sizeof out);
    const Before<ClassificationFixture> before(f);

    SUBCASE("batch size 0") {
        check_rejected(f, before, f.trainer.evaluate(f.train(), out, 0), StatusCode::invalid_batch_size,
                       "batch size 0 is outside [1, 4], the compile-time batch capacity");
    }
    SUBCASE("batch size above the capacity") {
        check_rejected(f, before, f.trainer.evaluate(f.train(), out, 9), StatusCode::invalid_batch_size,
                       "batch size 9 is outside [1, 4], the compile-time batch capacity");
    }
    SUBCASE("unknown reduction") {
        check_rejected(f, before, f.trainer.evaluate(f.train(), out, 4, static_cast<Reduction>(7)),
                       StatusCode::invalid_option,
                       "option reduction is 7, but it must be Reduction::sum_over_batch_size (0), weighted_mean (1) or "
                       "sum (2)");
    }
    SUBCASE("label out of range") {
        f.labels[5] = 3;
        const Before<ClassificationFixture> changed(f);
        check_rejected(f, changed, f.trainer.evaluate(f.train(), out), StatusCode::label_out_of_range,
                       "label 3 at row 5 is outside [0, 3)");
    }
    SUBCASE("negative sample weight") {
        f.sample_weight[1] = -2.0f;
        const Before<ClassificationFixture> changed(f);
        check_rejected(f, changed, f.trainer.evaluate(f.train(), out), StatusCode::negative_weight,
                       "sample weight at row 1 is -2, but weights must be finite and at least 0");
    }
    SUBCASE("empty data set") {
        Dataset d = f.train();
        d.rows = 0;
        check_rejected(f, before, f.trainer.evaluate(d, out), StatusCode::empty_dataset, "the data set has no rows");
    }
    CHECK(bytes_of(&out, sizeof out) == out_before);
}

// ---------------------------------------------------------------------------------------------
// Trainer::predict, predict_probabilities, predict_classes

TEST_CASE("predict rejects bad input and leaves its output alone") {
    ClassificationFixture f;
    float logits[18];
    std::fill(std::begin(logits), std::end(logits), 42.0f);
    const Before<ClassificationFixture> before(f);

    SUBCASE("null features") {
        check_rejected(f, before, f.trainer.predict(nullptr, 6, 3, logits, 18), StatusCode::missing_data,
                       "features is a null pointer but is required");
    }
    SUBCASE("no rows") {
        check_rejected(f, before, f.trainer.predict(f.features, 0, 3, logits, 18), StatusCode::empty_dataset,
                       "the data set has no rows");
    }
    SUBCASE("wrong feature count") {
        check_rejected(f, before, f.trainer.predict(f.features, 6, 2, logits, 18), StatusCode::wrong_feature_count,
                       "rows have 2 features but the model takes 3");
    }
    SUBCASE("NaN feature") {
        f.features[16] = nan_value;
        const Before<ClassificationFixture> changed(f);
        check_rejected(f, changed, f.trainer.predict(f.features, 6, 3, logits, 18), StatusCode::non_finite_feature,
                       "feature 1 at row 5 is nan, but values must be finite");
    }
    SUBCASE("null output") {
        check_rejected(f, before, f.trainer.predict(f.features, 6, 3, nullptr, 18), StatusCode::missing_data,
                       "output is a null pointer but is required");
    }
    SUBCASE("output too small") {
        check_rejected(f, before, f.trainer.predict(f.features, 6, 3, logits, 17), StatusCode::output_too_small,
                       "output buffer holds 17 values but 18 are needed");
    }
    for (float v : logits) CHECK(v == 42.0f);
}

TEST_CASE("predict reads only the feature rows") {
    // A model with more outputs than inputs: the check once read the feature buffer as
    // [rows][outputs] targets, past the 2 features of the only row, and rejected the NaN after it.
    using Wide = Sequential<Dense<2, 4>>;
    Wide model(3);
    Trainer<Wide, SparseCategoricalCrossentropy, Sgd, 4> trainer(model);
    const float buffer[4] = {0.5f, -0.5f, nan_value, nan_value};
    float logits[4] = {};
    const Status s = trainer.predict(buffer, 1, 2, logits, 4);
    CHECK(message(s) == "ok");
}

TEST_CASE("predict_probabilities rejects a short output") {
    ClassificationFixture f;
    float probabilities[18];
    std::fill(std::begin(probabilities), std::end(probabilities), 42.0f);
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.predict_probabilities(f.features, 6, 3, probabilities, 15),
                   StatusCode::output_too_small, "output buffer holds 15 values but 18 are needed");
    for (float v : probabilities) CHECK(v == 42.0f);
}

TEST_CASE("predict_probabilities rejects an infinite feature") {
    ClassificationFixture f;
    f.features[0] = inf_value;
    float probabilities[18] = {};
    const Before<ClassificationFixture> before(f);
    check_rejected(f, before, f.trainer.predict_probabilities(f.features, 6, 3, probabilities, 18),
                   StatusCode::non_finite_feature, "feature 0 at row 0 is inf, but values must be finite");
}

TEST_CASE("predict_classes rejects bad input and leaves its output alone") {
    ClassificationFixture f;
    std::int32_t predicted[6] = {9, 9, 9, 9, 9, 9};
    const Before<ClassificationFixture> before(f);
    SUBCASE("output too small") {
        check_rejected(f, before, f.trainer.predict_classes(f.features, 6, 3, predicted, 5), StatusCode::output_too_small,
                       "output buffer holds 5 values but 6 are needed");
    }
    SUBCASE("null output") {
        check_rejected(f, before, f.trainer.predict_classes(f.features, 6, 3, nullptr, 6), StatusCode::missing_data,
                       "output is a null pointer but is required");
    }
    SUBCASE("NaN feature") {
        f.features[7] = nan_value;
        const Before<ClassificationFixture> changed(f);
        check_rejected(f, changed, f.trainer.predict_classes(f.features, 6, 3, predicted, 6),
                       StatusCode::non_finite_feature, "feature 1 at row 2 is nan, but values must be finite");
    }
    for (std::int32_t c : predicted) CHECK(c == 9);
}

// ---------------------------------------------------------------------------------------------
// balanced_class_weights

namespace {

struct WeightsCase {
    std::int32_t labels[5] = {0, 1, 2, 1, 0};
    float sample_weight[5] = {1.0f, 2.0f, 1.0f, 0.5f, 1.0f};
    float out[3] = {-7.0f, -7.0f, -7.0f};

    Status run(std::size_t rows = 5, std::size_t classes = 3, bool with_weights = true) {
        return balanced_class_weights(labels, with_weights ? sample_weight : nullptr, rows, classes, out);
    }

    bool out_untouched() const { return out[0] == -7.0f && out[1] == -7.0f && out[2] == -7.0f; }
};

}  // namespace

TEST_CASE("balanced_class_weights accepts the base case") {
    WeightsCase c;
    CHECK(c.run().ok());
    CHECK(!c.out_untouched());
}

TEST_CASE("balanced_class_weights rejects a label out of range") {
    WeightsCase c;
    c.labels[2] = 3;
    const Status s = c.run();
    CHECK(s.code == StatusCode::label_out_of_range);
    CHECK(message(s) == "label 3 at row 2 is outside [0, 3)");
    CHECK(c.out_untouched());
}

TEST_CASE("balanced_class_weights rejects a negative weight") {
    WeightsCase c;
    c.sample_weight[3] = -0.5f;
    const Status s = c.run();
    CHECK(s.code == StatusCode::negative_weight);
    CHECK(message(s) == "sample weight at row 3 is -0.5, but weights must be finite and at least 0");
    CHECK(c.out_untouched());
}

TEST_CASE("balanced_class_weights rejects a NaN weight") {
    WeightsCase c;
    c.sample_weight[0] = nan_value;
    const Status s = c.run();
    CHECK(s.code == StatusCode::non_finite_weight);
    CHECK(message(s) == "sample weight at row 0 is nan, but weights must be finite and at least 0");
    CHECK(c.out_untouched());
}

TEST_CASE("balanced_class_weights rejects an empty class") {
    WeightsCase c;
    c.sample_weight[2] = 0.0f;  // the only sample of class 2 weighs nothing
    const Status s = c.run();
    CHECK(s.code == StatusCode::empty_class);
    CHECK(message(s) == "class 2 has no samples (or zero total weight), so it cannot be balanced");
    CHECK(c.out_untouched());
}

TEST_CASE("balanced_class_weights rejects no rows") {
    WeightsCase c;
    const Status s = c.run(0);
    CHECK(s.code == StatusCode::empty_dataset);
    CHECK(message(s) == "the data set has no rows");
    CHECK(c.out_untouched());
}

TEST_CASE("balanced_class_weights rejects a class count outside its range") {
    WeightsCase c;
    Status s = c.run(5, 300);
    CHECK(s.code == StatusCode::invalid_option);
    CHECK(message(s) == "option classes is 300, but it must be in [1, 256]");
    s = c.run(5, 0);
    CHECK(message(s) == "option classes is 0, but it must be in [1, 256]");
    CHECK(c.out_untouched());
}

TEST_CASE("balanced_class_weights rejects null pointers") {
    WeightsCase c;
    Status s = balanced_class_weights(nullptr, nullptr, 5, 3, c.out);
    CHECK(s.code == StatusCode::missing_data);
    CHECK(message(s) == "labels is a null pointer but is required");
    s = balanced_class_weights(c.labels, nullptr, 5, 3, nullptr);
    CHECK(message(s) == "out is a null pointer but is required");
    CHECK(c.out_untouched());
}

// ---------------------------------------------------------------------------------------------
// BalancedSampler::reset

TEST_CASE("BalancedSampler reset rejects bad labels and keeps its state") {
    const std::int32_t good[6] = {0, 1, 2, 2, 1, 0};
    BalancedSampler<3> sampler;
    CHECK(sampler.reset(good, 6, 5).ok());
    BalancedSampler<3> reference = sampler;

    std::int32_t bad[6] = {0, 1, 2, 2, 1, 0};
    Status s;
    SUBCASE("label out of range") {
        bad[4] = 3;
        s = sampler.reset(bad, 6, 9);
        CHECK(s.code == StatusCode::label_out_of_range);
        CHECK(message(s) == "label 3 at row 4 is outside [0, 3)");
    }
    SUBCASE("negative label") {
        bad[0] = -2;
        s = sampler.reset(bad, 6, 9);
        CHECK(message(s) == "label -2 at row 0 is outside [0, 3)");
    }
    SUBCASE("empty class") {
        bad[2] = 0;
        bad[3] = 1;
        s = sampler.reset(bad, 6, 9);
        CHECK(s.code == StatusCode::empty_class);
        CHECK(message(s) == "class 2 has no samples (or zero total weight), so it cannot be balanced");
    }
    SUBCASE("no rows") {
        s = sampler.reset(bad, 0, 9);
        CHECK(s.code == StatusCode::empty_dataset);
        CHECK(message(s) == "the data set has no rows");
    }
    SUBCASE("null labels") {
        s = sampler.reset(nullptr, 6, 9);
        CHECK(s.code == StatusCode::missing_data);
        CHECK(message(s) == "labels is a null pointer but is required");
    }
    // The rejected reset changed nothing: both samplers draw the same rows.
    for (int i = 0; i < 50; ++i) CHECK(sampler.next() == reference.next());
}

// ---------------------------------------------------------------------------------------------
// Status::format

namespace {

// Formats the value through the message of a non-finite feature, which prints it with `real`.
std::string real_text(double value) {
    Status s(StatusCode::non_finite_feature);
    s.value = value;
    const std::string full = message(s);
    const std::string prefix = "feature 0 at row 0 is ";
    const std::string suffix = ", but values must be finite";
    const bool framed = full.size() >= prefix.size() + suffix.size() && full.compare(0, prefix.size(), prefix) == 0;
    CHECK_MESSAGE(framed, "unexpected message: " << full);
    if (!framed) return full;
    return full.substr(prefix.size(), full.size() - prefix.size() - suffix.size());
}

}  // namespace

TEST_CASE("format writes integers exactly") {
    Status s(StatusCode::label_out_of_range);
    s.value = -2147483648.0;
    s.index = std::numeric_limits<std::size_t>::max();
    s.limit = 1000000;
    // std::to_string, not printf's %zu, which newlib's printf on Cortex-M does not support.
    const std::string expected = "label -2147483648 at row " + std::to_string(std::numeric_limits<std::size_t>::max()) +
                                 " is outside [0, 1000000)";
    CHECK(message(s) == expected);
    s.value = 0;
    s.index = 0;
    s.limit = 2;
    CHECK(message(s) == "label 0 at row 0 is outside [0, 2)");
}

TEST_CASE("format writes sizes above 2^53 exactly") {
    Status s(StatusCode::storage_too_small);
    s.value = std::uint64_t{9007199254740993};  // 2^53 + 1, which a double rounds to 2^53
    s.limit = std::numeric_limits<std::uint64_t>::max();
    CHECK(message(s) == "buffer has 9007199254740993 bytes but the record needs 18446744073709551615");
    CHECK(s.value.kind() == StatusValue::Kind::unsigned_integer);
    CHECK(s.value.bits() == 9007199254740993u);

    Status label(StatusCode::label_out_of_range);
    label.value = std::numeric_limits<std::int64_t>::min();
    label.limit = 2;
    CHECK(message(label) == "label -9223372036854775808 at row 0 is outside [0, 2)");
    CHECK(static_cast<double>(label.value) == -9223372036854775808.0);
}

TEST_CASE("status stays small and trivially copyable") {
    static_assert(std::is_trivially_copyable_v<Status>);
    // code and role (4 bytes with padding), two 12-byte values, then index, column and two
    // pointers: 44 bytes where size_t and pointers have 32 bits, 64 where they have 64.
    CHECK(sizeof(Status) == (sizeof(void*) == 8 ? 64u : 44u));
}

TEST_CASE("format writes floats with seven significant digits") {
    CHECK(real_text(0.1) == "0.1");
    CHECK(real_text(static_cast<double>(0.1f)) == "0.1");
    CHECK(real_text(1e-20) == "1e-20");
    CHECK(real_text(-3.5e+30) == "-3.5e30");
    CHECK(real_text(0.0) == "0");
    CHECK(real_text(-0.5) == "-0.5");
    CHECK(real_text(1.0) == "1");
    CHECK(real_text(1234567.0) == "1234567");
    CHECK(real_text(12345678.0) == "1.234568e7");
    CHECK(real_text(0.0001) == "0.0001");
    CHECK(real_text(0.00001) == "1e-5");
    CHECK(real_text(0.000123456789) == "0.0001234568");
    CHECK(real_text(3.14159265) == "3.141593");
    CHECK(real_text(9999999.5) == "1e7");
    CHECK(real_text(static_cast<double>(std::numeric_limits<float>::max())) == "3.402823e38");
    CHECK(real_text(static_cast<double>(std::numeric_limits<float>::denorm_min())) == "1.401298e-45");
    CHECK(real_text(5e-324) == "4.940656e-324");
}

/// Returns printf's "%.7g" of a value in the messages' notation: no "+" and no leading zeros in
/// the exponent ("1.5e-05" becomes "1.5e-5"). Trailing zeros of the digits are removed here too,
/// as %g must do, because newlib 3.3 keeps them in some results ("1.099440e+07").
std::string printf_seven_digits(double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.7g", value);
    std::string text = buffer;
    const std::size_t e = text.find('e');
    std::string digits = text.substr(0, e);
    if (digits.find('.') != std::string::npos) {
        while (digits.back() == '0') digits.pop_back();
        if (digits.back() == '.') digits.pop_back();
    }
    if (e == std::string::npos) return digits;
    std::string exponent = text.substr(e + 1);
    const bool negative = exponent[0] == '-';
    exponent.erase(0, 1);
    while (exponent.size() > 1 && exponent[0] == '0') exponent.erase(0, 1);
    return digits + "e" + (negative ? "-" : "") + exponent;
}

TEST_CASE("format writes floats as printf's %.7g over the whole range") {
    // The formatter scales by exact powers of 10 and finds the exponent from the binary one,
    // without libm. Every float at this stride, from the smallest subnormal up, must agree.
    int mismatches = 0;
    for (std::uint32_t bits = 1; bits < 0x7f800000u; bits += 32771u) {
        float x;
        std::memcpy(&x, &bits, sizeof x);
        const std::string expected = printf_seven_digits(static_cast<double>(x));
        if (real_text(static_cast<double>(x)) != expected && ++mismatches <= 5) {
            MESSAGE("bits " << bits << ": expected " << expected << ", got " << real_text(static_cast<double>(x)));
        }
    }
    CHECK(mismatches == 0);
    for (const double x : {1e22, 1e23, 9.999999e22, 1.7976931348623157e308, 2.2250738585072014e-308, 1e-310}) {
        CAPTURE(x);
        CHECK(real_text(x) == printf_seven_digits(x));
    }
}

TEST_CASE("format writes ties to even as printf does") {
    CHECK(real_text(38721.125) == "38721.12");
    CHECK(real_text(2360708.5) == "2360708");
    CHECK(real_text(2360709.5) == "2360710");
}

TEST_CASE("format writes NaN and infinities") {
    CHECK(real_text(std::numeric_limits<double>::quiet_NaN()) == "nan");
    CHECK(real_text(std::numeric_limits<double>::infinity()) == "inf");
    CHECK(real_text(-std::numeric_limits<double>::infinity()) == "-inf");
}

TEST_CASE("format truncates to the buffer and returns the full length") {
    Status s(StatusCode::label_out_of_range);
    s.value = 7;
    s.index = 12;
    s.limit = 2;
    const std::string full = "label 7 at row 12 is outside [0, 2)";

    char buffer[64];
    std::memset(buffer, 'x', sizeof buffer);
    CHECK(s.format(buffer, 0) == full.size());
    CHECK(buffer[0] == 'x');  // size 0: nothing is written

    CHECK(s.format(buffer, 1) == full.size());
    CHECK(std::string(buffer) == "");

    std::memset(buffer, 'x', sizeof buffer);
    CHECK(s.format(buffer, 10) == full.size());
    CHECK(std::string(buffer) == full.substr(0, 9));
    CHECK(buffer[10] == 'x');  // nothing past the buffer size

    CHECK(s.format(buffer, full.size()) == full.size());
    CHECK(std::string(buffer) == full.substr(0, full.size() - 1));

    CHECK(s.format(buffer, full.size() + 1) == full.size());
    CHECK(std::string(buffer) == full);
}

TEST_CASE("format gives every status code a name and a message") {
    const auto last = static_cast<int>(StatusCode::invalid_optimizer_state);
    // A code added after the last one tested here would have a name: extend `last` then.
    CHECK(std::string(status_name(static_cast<StatusCode>(last + 1))) == "unknown");
    for (int c = 1; c <= last; ++c) {
        CAPTURE(c);
        Status s(static_cast<StatusCode>(c));
        s.option = "x";
        CHECK(std::string(s.name()) != "unknown");
        char buffer[256];
        CHECK(s.format(buffer, sizeof buffer) > 0);
        CHECK(std::string(buffer).find(s.name()) == std::string::npos);  // a sentence, not the name
    }
}
