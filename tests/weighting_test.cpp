// Sample and class weights: effective weights, balanced class weights, and their effect on the
// training loss, the gradient and the evaluation, checked through the trainer.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "microfit/microfit.hpp"
#include "reference.hpp"

namespace {

using microfit::Dense;
using microfit::Sequential;
using microfit::Tanh;
using microfit_test::gradient_component;
using microfit_test::relative;

template <class Model>
bool same_parameters(const Model& a, const Model& b) {
    return std::memcmp(a.parameters(), b.parameters(), Model::parameter_bytes) == 0;
}

/// Plain SGD with the given learning rate. A learning rate of 0 keeps the parameters exactly.
microfit::Sgd sgd_with(float learning_rate) {
    microfit::Sgd sgd;
    sgd.learning_rate = learning_rate;
    sgd.momentum = 0.0f;
    return sgd;
}

/// Features in [-1, 1] for `rows` rows of `feature_count`, and labels cycling through 0..classes-1.
struct ClassificationSamples {
    std::vector<float> features;
    std::vector<std::int32_t> labels;

    ClassificationSamples(std::size_t rows, std::size_t feature_count, std::int32_t classes, std::uint64_t seed) {
        microfit::Random random(seed);
        for (std::size_t i = 0; i < rows * feature_count; ++i) features.push_back(random.uniform(-1.0f, 1.0f));
        for (std::size_t r = 0; r < rows; ++r) labels.push_back(static_cast<std::int32_t>(r) % classes);
    }
};

// A model whose logits are (1, 2, 3) for every input: zero weights and biases 1, 2, 3.
using ConstantLogitsModel = Sequential<Dense<1, 3>>;

ConstantLogitsModel constant_logits_model() {
    ConstantLogitsModel model(0);
    for (std::size_t j = 0; j < 3; ++j) {
        model.weight<0>(0, j) = 0.0f;
        model.bias<0>(j) = static_cast<float>(j + 1);
    }
    return model;
}

}  // namespace

TEST_CASE("effective weight multiplies the sample weight by the class weight") {
    // Class weights {0: 1, 1: 3}, labels [1, 0], sample weights [0.5, 2]: 0.5 * 3 and 2 * 1.
    const float class_weight_values[2] = {1.0f, 3.0f};
    const microfit::ClassWeights class_weights{class_weight_values, 2};
    CHECK(microfit::effective_weight(0.5f, class_weights, 1) == 1.5f);
    CHECK(microfit::effective_weight(2.0f, class_weights, 0) == 2.0f);

    // No class weights count as 1.
    CHECK(microfit::effective_weight(0.5f, microfit::ClassWeights{}, 1) == 0.5f);
}

TEST_CASE("balanced class weights follow scikit-learn's formula") {
    SUBCASE("counts: labels 1, 1, 1, 1, 0, 0") {
        // n / (classes * n_c): 6 / (2 * 2) = 1.5 and 6 / (2 * 4) = 0.75.
        const std::int32_t labels[6] = {1, 1, 1, 1, 0, 0};
        float out[2] = {};
        CHECK(microfit::balanced_class_weights(labels, nullptr, 6, 2, out).ok());
        CHECK(out[0] == 1.5f);
        CHECK(out[1] == 0.75f);
    }
    SUBCASE("sample weights: labels 0, 0, 1, 1 weighted 1, 3, 1, 1") {
        // sum(w) / (classes * sum of w over c): 6 / (2 * 4) = 0.75 and 6 / (2 * 2) = 1.5.
        const std::int32_t labels[4] = {0, 0, 1, 1};
        const float sample_weight[4] = {1.0f, 3.0f, 1.0f, 1.0f};
        float out[2] = {};
        CHECK(microfit::balanced_class_weights(labels, sample_weight, 4, 2, out).ok());
        CHECK(out[0] == 0.75f);
        CHECK(out[1] == 1.5f);
    }
    SUBCASE("three classes") {
        // 6 / (3 * 1) = 2, 6 / (3 * 2) = 1, 6 / (3 * 3) = 0.6666667.
        const std::int32_t labels[6] = {2, 1, 2, 0, 1, 2};
        float out[3] = {};
        CHECK(microfit::balanced_class_weights(labels, nullptr, 6, 3, out).ok());
        CHECK(out[0] == 2.0f);
        CHECK(out[1] == 1.0f);
        CHECK(out[2] == relative(2.0 / 3.0));
    }
}

TEST_CASE("balanced class weights of many classes match a direct sum") {
    // 40 classes: more than one group of the 16 classes summed per pass.
    constexpr std::size_t classes = 40;
    std::vector<std::int32_t> labels;
    std::vector<float> sample_weight;
    microfit::Random random(3);
    for (std::size_t r = 0; r < 500; ++r) {
        labels.push_back(static_cast<std::int32_t>((r * 7 + r / 3) % classes));
        sample_weight.push_back(random.uniform(0.1f, 3.0f));
    }
    double total = 0.0;
    double per_class[classes] = {};
    for (std::size_t r = 0; r < labels.size(); ++r) {
        total += sample_weight[r];
        per_class[labels[r]] += sample_weight[r];
    }
    float out[classes] = {};
    CHECK(microfit::balanced_class_weights(labels.data(), sample_weight.data(), labels.size(), classes, out).ok());
    for (std::size_t c = 0; c < classes; ++c) {
        CAPTURE(c);
        CHECK(out[c] == static_cast<float>(total / (static_cast<double>(classes) * per_class[c])));
    }

    // An empty class in the last group is found before anything is written.
    for (std::int32_t& label : labels) label = label == 37 ? 36 : label;
    float untouched[classes];
    for (float& w : untouched) w = -1.0f;
    const microfit::Status status =
        microfit::balanced_class_weights(labels.data(), sample_weight.data(), labels.size(), classes, untouched);
    CHECK(status.code == microfit::StatusCode::empty_class);
    CHECK(status.index == 37);
    for (float w : untouched) CHECK(w == -1.0f);
}

TEST_CASE("balanced class weights reject bad input and leave the output untouched") {
    float out[3] = {-1.0f, -1.0f, -1.0f};
    const auto untouched = [&] { return out[0] == -1.0f && out[1] == -1.0f && out[2] == -1.0f; };

    SUBCASE("a class with no samples") {
        const std::int32_t labels[4] = {0, 2, 0, 2};
        const microfit::Status status = microfit::balanced_class_weights(labels, nullptr, 4, 3, out);
        CHECK(status.code == microfit::StatusCode::empty_class);
        CHECK(status.index == 1);
        CHECK(untouched());
    }
    SUBCASE("a class whose samples all weigh 0") {
        const std::int32_t labels[3] = {0, 1, 2};
        const float sample_weight[3] = {1.0f, 0.0f, 1.0f};
        const microfit::Status status = microfit::balanced_class_weights(labels, sample_weight, 3, 3, out);
        CHECK(status.code == microfit::StatusCode::empty_class);
        CHECK(status.index == 1);
        CHECK(untouched());
    }
    SUBCASE("a class whose weight would overflow float") {
        // 2e-44 is the subnormal float 1.961818e-44, and 2 / (3 * 1.961818e-44) = 3.4e43.
        const std::int32_t labels[3] = {0, 1, 2};
        const float sample_weight[3] = {1.0f, 2e-44f, 1.0f};
        const microfit::Status status = microfit::balanced_class_weights(labels, sample_weight, 3, 3, out);
        CHECK(status.code == microfit::StatusCode::empty_class);
        CHECK(status.index == 1);
        CHECK(static_cast<double>(status.value) == static_cast<double>(2e-44f));
        char buffer[128];
        status.format(buffer, sizeof buffer);
        CHECK(std::string(buffer) == "class 1 has total weight 1.961818e-44, so its balanced weight 3.398209e43 would "
                                     "overflow float");
        CHECK(untouched());
    }
    SUBCASE("a label out of range") {
        const std::int32_t labels[3] = {0, 1, 3};
        const microfit::Status status = microfit::balanced_class_weights(labels, nullptr, 3, 3, out);
        CHECK(status.code == microfit::StatusCode::label_out_of_range);
        CHECK(status.index == 2);
        CHECK(untouched());
    }
    SUBCASE("a negative sample weight") {
        const std::int32_t labels[3] = {0, 1, 2};
        const float sample_weight[3] = {1.0f, -0.5f, 1.0f};
        const microfit::Status status = microfit::balanced_class_weights(labels, sample_weight, 3, 3, out);
        CHECK(status.code == microfit::StatusCode::negative_weight);
        CHECK(untouched());
    }
}

TEST_CASE("trainer gives a sample of weight 0 no loss and no gradient") {
    // Logits (1, 2, 3) with label 2 have the unweighted loss 0.4076060.
    const float feature = 0.5f;
    const std::int32_t label = 2;

    SUBCASE("weight 0") {
        const float weight = 0.0f;
        ConstantLogitsModel model = constant_logits_model();
        const ConstantLogitsModel before = model;
        microfit::Trainer<ConstantLogitsModel, microfit::SparseCategoricalCrossentropy, microfit::Sgd> trainer(
            model, {}, sgd_with(1.0f));
        for (auto reduction : {microfit::Reduction::sum_over_batch_size, microfit::Reduction::weighted_mean,
                               microfit::Reduction::sum}) {
            CAPTURE(microfit::reduction_name(reduction));
            microfit::FitOptions options;
            options.reduction = reduction;
            microfit::History<3, 1> history;
            CHECK(trainer.fit(microfit::classification_data(&feature, &label, 1, 1, &weight), options, nullptr, history)
                      .ok());
            CHECK(history.logs[0].loss == 0.0f);
            CHECK(history.logs[0].steps == 1);
            CHECK(same_parameters(model, before));
        }
    }
    SUBCASE("weight 1, for comparison") {
        const float weight = 1.0f;
        ConstantLogitsModel model = constant_logits_model();
        microfit::Trainer<ConstantLogitsModel, microfit::SparseCategoricalCrossentropy, microfit::Sgd> trainer(
            model, {}, sgd_with(1.0f));
        microfit::History<3, 1> history;
        CHECK(trainer.fit(microfit::classification_data(&feature, &label, 1, 1, &weight), {}, nullptr, history).ok());
        CHECK(history.logs[0].loss == relative(0.4076059644443806));
        // The bias gradient is softmax(1, 2, 3) - onehot(2), applied with learning rate 1.
        CHECK(model.bias<0>(0) == relative(1.0 - 0.09003057317038046));
        CHECK(model.bias<0>(1) == relative(2.0 - 0.24472847105479767));
        CHECK(model.bias<0>(2) == relative(3.0 + (1.0 - 0.66524095577482190)));
    }
}

TEST_CASE("epoch loss weighs each batch loss by its size") {
    // Per-sample absolute errors 1, 2, 3, 4 (prediction 0, targets 1 to 4), sample weights
    // 1, 1, 1, 0, batches of 3 in row order: batch losses (1 + 2 + 3) / 3 = 2 and 0 / 1 = 0, and
    // the epoch loss (3 * 2 + 1 * 0) / 4 = 1.5.
    using Model = Sequential<Dense<1, 1>>;
    using Trainer = microfit::Trainer<Model, microfit::MeanAbsoluteError, microfit::Sgd, 3>;
    const float features[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    const float targets[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    const float sample_weight[4] = {1.0f, 1.0f, 1.0f, 0.0f};

    const auto epoch_loss = [&](std::size_t first_row, std::size_t rows) {
        Model model(0);
        model.weight<0>(0, 0) = 0.0f;
        Trainer trainer(model, {}, sgd_with(0.0f));
        microfit::FitOptions options;
        options.batch_size = 3;
        options.sampling = microfit::Sampling::in_order;
        microfit::History<0, 1> history;
        const microfit::Dataset data = microfit::regression_data(features + first_row, targets + first_row, rows, 1, 1,
                                                                 sample_weight + first_row);
        CHECK(trainer.fit(data, options, nullptr, history).ok());
        CHECK(history.count == 1);
        return history.logs[0].loss;
    };

    CHECK(epoch_loss(0, 4) == 1.5f);
    // Each batch on its own.
    CHECK(epoch_loss(0, 3) == 2.0f);
    CHECK(epoch_loss(3, 1) == 0.0f);
}

TEST_CASE("equal class weights of 2 double the training loss exactly") {
    // The same data as training and validation set, learning rate 0, row order: each batch's
    // weighted loss is sum(2 l_i) / n, exactly twice the unweighted sum(l_i) / n in float.
    using Model = Sequential<Dense<3, 4>, Tanh, Dense<4, 2>>;
    const ClassificationSamples samples(10, 3, 2, 60);
    const microfit::Dataset data = microfit::classification_data(samples.features.data(), samples.labels.data(), 10, 3);
    const float class_weights[2] = {2.0f, 2.0f};

    Model model(61);
    microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Sgd, 4> trainer(model, {}, sgd_with(0.0f));
    microfit::FitOptions options;
    options.epochs = 2;
    options.batch_size = 4;
    options.sampling = microfit::Sampling::in_order;
    options.class_weight = {class_weights, 2};
    microfit::History<2, 2> history;
    CHECK(trainer.fit(data, options, &data, history).ok());
    CHECK(history.count == 2);
    for (std::size_t e = 0; e < history.count; ++e) {
        CAPTURE(e);
        CHECK(history.logs[e].validation.loss > 0.0f);
        CHECK(history.logs[e].loss == 2.0f * history.logs[e].validation.loss);
    }
}

TEST_CASE("weights of exactly 1 give bit-identical training to no weights") {
    using Model = Sequential<Dense<3, 5>, Tanh, Dense<5, 3>>;
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, 4>;
    const ClassificationSamples samples(23, 3, 3, 70);
    const std::vector<float> ones(23, 1.0f);
    const float class_ones[3] = {1.0f, 1.0f, 1.0f};

    struct Run {
        std::unique_ptr<Model> model;
        microfit::History<3, 4> history;
    };
    const auto train = [&](bool sample_weights, bool class_weights, microfit::Reduction reduction) {
        Run run{std::make_unique<Model>(71), {}};
        auto trainer = std::make_unique<Trainer>(*run.model);
        microfit::FitOptions options;
        options.epochs = 4;
        options.batch_size = 4;
        options.seed = 72;
        options.reduction = reduction;
        if (class_weights) options.class_weight = {class_ones, 3};
        const microfit::Dataset data = microfit::classification_data(samples.features.data(), samples.labels.data(), 23,
                                                                     3, sample_weights ? ones.data() : nullptr);
        CHECK(trainer->fit(data, options, nullptr, run.history).ok());
        return run;
    };

    for (auto reduction : {microfit::Reduction::sum_over_batch_size, microfit::Reduction::weighted_mean}) {
        CAPTURE(microfit::reduction_name(reduction));
        const Run unweighted = train(false, false, reduction);
        CHECK(unweighted.history.count == 4);
        struct Weighting {
            bool sample_weights;
            bool class_weights;
        };
        for (const Weighting weighting : {Weighting{true, false}, Weighting{false, true}, Weighting{true, true}}) {
            CAPTURE(weighting.sample_weights);
            CAPTURE(weighting.class_weights);
            const Run weighted = train(weighting.sample_weights, weighting.class_weights, reduction);
            CHECK(same_parameters(*weighted.model, *unweighted.model));
            for (std::size_t e = 0; e < 4; ++e) {
                CAPTURE(e);
                CHECK(weighted.history.logs[e].loss == unweighted.history.logs[e].loss);
            }
        }
    }
}

TEST_CASE("all weights 0 give a zero loss and leave the parameters unchanged") {
    using Model = Sequential<Dense<3, 4>, Tanh, Dense<4, 3>>;
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Sgd, 4>;
    const ClassificationSamples samples(9, 3, 3, 80);
    const std::vector<float> zeros(9, 0.0f);
    const float class_zeros[3] = {0.0f, 0.0f, 0.0f};

    for (auto reduction : {microfit::Reduction::sum_over_batch_size, microfit::Reduction::weighted_mean}) {
        for (bool zero_class_weights : {false, true}) {
            CAPTURE(microfit::reduction_name(reduction));
            CAPTURE(zero_class_weights);
            Model model(81);
            const Model before = model;
            microfit::Sgd sgd;
            sgd.learning_rate = 0.5f;
            sgd.momentum = 0.9f;
            Trainer trainer(model, {}, sgd);
            microfit::FitOptions options;
            options.epochs = 2;
            options.batch_size = 4;
            options.reduction = reduction;
            if (zero_class_weights) options.class_weight = {class_zeros, 3};
            const microfit::Dataset data = microfit::classification_data(
                samples.features.data(), samples.labels.data(), 9, 3, zero_class_weights ? nullptr : zeros.data());
            microfit::History<3, 2> history;
            CHECK(trainer.fit(data, options, nullptr, history).ok());
            for (std::size_t e = 0; e < history.count; ++e) {
                CAPTURE(e);
                CHECK(history.logs[e].loss == 0.0f);
                CHECK(history.logs[e].steps == 3);
                CHECK(history.logs[e].skipped_steps == 0);
            }
            CHECK(same_parameters(model, before));
        }
    }
}

TEST_CASE("class weights do not change the validation loss") {
    using Model = Sequential<Dense<3, 4>, Tanh, Dense<4, 3>>;
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Sgd, 4>;
    const ClassificationSamples training(12, 3, 3, 90);
    const ClassificationSamples validation(7, 3, 3, 91);
    const std::vector<float> validation_weight = {0.5f, 1.0f, 2.0f, 1.5f, 1.0f, 0.25f, 3.0f};
    const microfit::Dataset train_data =
        microfit::classification_data(training.features.data(), training.labels.data(), 12, 3);
    const microfit::Dataset validation_data = microfit::classification_data(
        validation.features.data(), validation.labels.data(), 7, 3, validation_weight.data());
    const float class_weights[3] = {0.2f, 5.0f, 1.0f};

    const auto train = [&](bool with_class_weights) {
        Model model(92);
        Trainer trainer(model, {}, sgd_with(0.0f));
        microfit::FitOptions options;
        options.batch_size = 4;
        if (with_class_weights) options.class_weight = {class_weights, 3};
        microfit::History<3, 1> history;
        CHECK(trainer.fit(train_data, options, &validation_data, history).ok());
        return history.logs[0];
    };
    const microfit::EpochLog<3> without = train(false);
    const microfit::EpochLog<3> with = train(true);

    CHECK(with.loss != without.loss);  // the class weights did act on the training loss
    CHECK(with.validation.loss == without.validation.loss);
    CHECK(with.validation.weighted_loss == without.validation.weighted_loss);
    CHECK(std::memcmp(&with.validation.confusion, &without.validation.confusion, sizeof with.validation.confusion) == 0);
}

TEST_CASE("validation sample weights change only the weighted loss and confusion matrix") {
    // Logits (x, -x): rows x = 2, -1, 0.5, -3 with labels 0, 0, 1, 1 are predicted 0, 1, 0, 1, and
    // their losses are log(1 + e^-4), log(1 + e^2), log(1 + e^1) and log(1 + e^-6).
    using Model = Sequential<Dense<1, 2>>;
    Model model(0);
    model.weight<0>(0, 0) = 1.0f;
    model.weight<0>(0, 1) = -1.0f;
    microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Sgd> trainer(model);
    const float features[4] = {2.0f, -1.0f, 0.5f, -3.0f};
    const std::int32_t labels[4] = {0, 0, 1, 1};
    const float sample_weight[4] = {1.0f, 2.0f, 3.0f, 4.0f};

    microfit::Evaluation<2> unweighted;
    microfit::Evaluation<2> weighted;
    CHECK(trainer.evaluate(microfit::classification_data(features, labels, 4, 1), unweighted).ok());
    CHECK(trainer.evaluate(microfit::classification_data(features, labels, 4, 1, sample_weight), weighted).ok());

    CHECK_FALSE(unweighted.has_sample_weight);
    CHECK(weighted.has_sample_weight);
    CHECK(unweighted.loss == relative(0.8652038279041839));
    CHECK(weighted.loss == unweighted.loss);
    CHECK(unweighted.weighted_loss == unweighted.loss);
    // (1 * 0.01815 + 2 * 2.12693 + 3 * 1.31326 + 4 * 0.00248) / 4
    CHECK(weighted.weighted_loss == relative(2.0554234382773364));
    CHECK(std::memcmp(&weighted.confusion, &unweighted.confusion, sizeof weighted.confusion) == 0);

    const float expected_counts[2][2] = {{1.0f, 1.0f}, {1.0f, 1.0f}};
    const float expected_weights[2][2] = {{1.0f, 2.0f}, {3.0f, 4.0f}};
    for (std::size_t t = 0; t < 2; ++t) {
        for (std::size_t p = 0; p < 2; ++p) {
            CAPTURE(t);
            CAPTURE(p);
            CHECK(unweighted.confusion.counts[t][p] == expected_counts[t][p]);
            CHECK(unweighted.weighted_confusion.counts[t][p] == expected_counts[t][p]);
            CHECK(weighted.weighted_confusion.counts[t][p] == expected_weights[t][p]);
        }
    }

    // With WeightedMean the weighted loss divides by the weight sum 10 instead of the rows.
    microfit::Evaluation<2> weighted_mean;
    CHECK(trainer.evaluate(microfit::classification_data(features, labels, 4, 1, sample_weight), weighted_mean, 32,
                           microfit::Reduction::weighted_mean)
              .ok());
    CHECK(weighted_mean.weighted_loss == relative(0.8221693753109346));
    CHECK(weighted_mean.loss == relative(0.8652038279041839));
}

TEST_CASE("evaluation reduces over the whole set") {
    // Logit z = x and target 0 make the mean absolute error of row i exactly x_i = i + 1. With
    // weights [1, 0, 2, 0.5, 4, 0.25]: sum(l) = 21, sum(w l) = 1 + 6 + 2 + 20 + 1.5 = 30.5 and
    // sum(w) = 7.75 over N = 6 rows.
    using Model = Sequential<Dense<1, 1>>;
    Model model(0);
    model.weight<0>(0, 0) = 1.0f;
    model.bias<0>(0) = 0.0f;
    microfit::Trainer<Model, microfit::MeanAbsoluteError, microfit::Sgd, 8> trainer(model);
    const float features[6] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
    const float targets[6] = {};
    const float sample_weight[6] = {1.0f, 0.0f, 2.0f, 0.5f, 4.0f, 0.25f};
    const microfit::Dataset data = microfit::regression_data(features, targets, 6, 1, 1, sample_weight);

    // Batches of 4 leave a partial batch of 2. A batch of 1 on row 1 has weight sum 0, which
    // weighted_mean reduces to 0 and which then counts with weight 0.
    for (std::size_t batch_size : {1u, 2u, 3u, 4u, 6u}) {
        CAPTURE(batch_size);
        microfit::Evaluation<0> mean;
        microfit::Evaluation<0> weighted_mean;
        microfit::Evaluation<0> sum;
        CHECK(trainer.evaluate(data, mean, batch_size, microfit::Reduction::sum_over_batch_size).ok());
        CHECK(trainer.evaluate(data, weighted_mean, batch_size, microfit::Reduction::weighted_mean).ok());
        CHECK(trainer.evaluate(data, sum, batch_size, microfit::Reduction::sum).ok());

        // Every batch sum and every unweighted batch mean (6 / 3, 10 / 4, 11 / 2, ...) is exact in
        // float here, so these figures are exact at every batch size.
        CHECK(sum.loss == 21.0f);
        CHECK(sum.weighted_loss == 30.5f);
        CHECK(mean.loss == 3.5f);
        CHECK(weighted_mean.loss == 3.5f);

        // A weighted batch mean such as 7 / 3 rounds, so these match to within a few float ulps.
        CHECK(mean.weighted_loss == relative(30.5 / 6.0, 1e-6));
        CHECK(weighted_mean.weighted_loss == relative(30.5 / 7.75, 1e-6));
    }
}

TEST_CASE("weighted_mean evaluation of zero weights is 0") {
    using Model = Sequential<Dense<1, 1>>;
    Model model(0);
    model.weight<0>(0, 0) = 1.0f;
    microfit::Trainer<Model, microfit::MeanAbsoluteError, microfit::Sgd, 4> trainer(model);
    const float features[5] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
    const float targets[5] = {};
    const float zeros[5] = {};
    const microfit::Dataset data = microfit::regression_data(features, targets, 5, 1, 1, zeros);

    for (std::size_t batch_size : {1u, 2u, 4u}) {
        CAPTURE(batch_size);
        microfit::Evaluation<0> evaluation;
        CHECK(trainer.evaluate(data, evaluation, batch_size, microfit::Reduction::weighted_mean).ok());
        CHECK(evaluation.weighted_loss == 0.0f);
        CHECK(evaluation.loss == relative(3.0));
    }
}

TEST_CASE("fit validation loss ignores batch size") {
    // Learning rate 0 keeps the model fixed, so every run gets the same validation outputs.
    using Model = Sequential<Dense<3, 4>, Tanh, Dense<4, 3>>;
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Sgd, 8>;
    const ClassificationSamples training(12, 3, 3, 110);
    const ClassificationSamples validation(10, 3, 3, 111);
    std::vector<float> validation_weight;
    for (std::size_t r = 0; r < 10; ++r) validation_weight.push_back(r % 3 == 0 ? 10.0f : 0.01f);
    const microfit::Dataset train_data =
        microfit::classification_data(training.features.data(), training.labels.data(), 12, 3);
    const microfit::Dataset validation_data = microfit::classification_data(
        validation.features.data(), validation.labels.data(), 10, 3, validation_weight.data());

    for (auto reduction : {microfit::Reduction::sum_over_batch_size, microfit::Reduction::weighted_mean,
                           microfit::Reduction::sum}) {
        CAPTURE(microfit::reduction_name(reduction));
        Model model(112);
        Trainer trainer(model, {}, sgd_with(0.0f));
        microfit::Evaluation<3> whole_set;
        CHECK(trainer.evaluate(validation_data, whole_set, 8, reduction).ok());

        for (std::size_t batch_size : {1u, 3u, 8u}) {
            CAPTURE(batch_size);
            microfit::FitOptions options;
            options.batch_size = batch_size;
            options.reduction = reduction;
            microfit::History<3, 1> history;
            CHECK(trainer.fit(train_data, options, &validation_data, history).ok());
            CHECK(history.count == 1);
            const microfit::Evaluation<3>& logged = history.logs[0].validation;
            CHECK(logged.loss == relative(whole_set.loss, 1e-6));
            CHECK(logged.weighted_loss == relative(whole_set.weighted_loss, 1e-6));
        }
    }
}

TEST_CASE("sample weights multiply class weights in training") {
    // Training with class weights c and sample weights s matches training with sample weights
    // s * c[label] and no class weights, bit for bit.
    using Model = Sequential<Dense<3, 4>, Tanh, Dense<4, 3>>;
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, 4>;
    const ClassificationSamples samples(14, 3, 3, 100);
    const float class_weights[3] = {0.5f, 3.0f, 1.25f};
    std::vector<float> sample_weight;
    std::vector<float> product;
    microfit::Random random(101);
    for (std::size_t r = 0; r < 14; ++r) {
        sample_weight.push_back(random.uniform(0.0f, 2.0f));
        product.push_back(sample_weight.back() * class_weights[samples.labels[r]]);
    }

    const auto train = [&](const float* weights, bool with_class_weights, microfit::History<3, 3>& history) {
        auto model = std::make_unique<Model>(102);
        auto trainer = std::make_unique<Trainer>(*model);
        microfit::FitOptions options;
        options.epochs = 3;
        options.batch_size = 4;
        options.seed = 103;
        options.reduction = microfit::Reduction::weighted_mean;
        if (with_class_weights) options.class_weight = {class_weights, 3};
        const microfit::Dataset data =
            microfit::classification_data(samples.features.data(), samples.labels.data(), 14, 3, weights);
        CHECK(trainer->fit(data, options, nullptr, history).ok());
        return model;
    };
    microfit::History<3, 3> combined_history;
    microfit::History<3, 3> product_history;
    const auto combined = train(sample_weight.data(), true, combined_history);
    const auto multiplied = train(product.data(), false, product_history);
    CHECK(same_parameters(*combined, *multiplied));
    for (std::size_t e = 0; e < 3; ++e) CHECK(combined_history.logs[e].loss == product_history.logs[e].loss);

    // And the weights matter: without the class weights training ends elsewhere.
    microfit::History<3, 3> sample_only_history;
    const auto sample_only = train(sample_weight.data(), false, sample_only_history);
    CHECK_FALSE(same_parameters(*combined, *sample_only));
}

TEST_CASE("binary model with one logit weighs classes by label") {
    // Logit z = x (weight 1, bias 0). Rows x = 1, -2, 0.5 with labels 1, 0, 0 and class weights
    // {0: 2, 1: 0.5}: effective weights 0.5, 2, 2 and losses log(1 + e^-1), log(1 + e^-2),
    // log(1 + e^0.5). SumOverBatchSize: (0.5 * 0.31326 + 2 * 0.12693 + 2 * 0.97408) / 3 = 0.78621.
    using Model = Sequential<Dense<1, 1>>;
    Model model(0);
    model.weight<0>(0, 0) = 1.0f;
    const Model before = model;
    const float features[3] = {1.0f, -2.0f, 0.5f};
    const std::int32_t labels[3] = {1, 0, 0};
    const float class_weights[2] = {2.0f, 0.5f};
    constexpr float learning_rate = 1024.0f;  // a power of two, so the gradient reads back exactly

    microfit::Trainer<Model, microfit::BinaryCrossentropy, microfit::Sgd> trainer(model, {}, sgd_with(learning_rate));
    static_assert(decltype(trainer)::classes == 2, "one logit has two classes");
    microfit::FitOptions options;
    options.class_weight = {class_weights, 2};
    microfit::History<2, 1> history;
    CHECK(trainer.fit(microfit::classification_data(features, labels, 3, 1), options, nullptr, history).ok());
    CHECK(history.logs[0].loss == relative(0.7862136114017565));

    // Gradient (sum of w_i (sigmoid(z_i) - y_i) x_i / 3 for the weight, without x_i for the bias).
    const double weight_gradient = (static_cast<double>(before.parameters()[0]) - model.parameters()[0]) / learning_rate;
    const double bias_gradient =
        (static_cast<double>(before.parameters()[Model::Layer<0>::bias_offset]) - model.bias<0>(0)) / learning_rate;
    CHECK(weight_gradient == gradient_component(0.0037256441427956366, 0.45));
    CHECK(bias_gradient == relative(0.44961793192098226));

    // Labels are 0 or 1: a label of 2 is out of range for a model with one logit.
    const std::int32_t bad_labels[3] = {1, 2, 0};
    const microfit::Status status = trainer.fit(microfit::classification_data(features, bad_labels, 3, 1), options);
    CHECK(status.code == microfit::StatusCode::label_out_of_range);
    CHECK(status.index == 1);
    CHECK(status.limit == 2.0);
}

TEST_CASE("weighted mean training with tiny weights matches unit weights") {
    // Under weighted_mean each gradient is scaled by w_i / sum(w). Ten weights of the smallest
    // float give exactly the factors of ten weights of 1, so the parameters must be identical.
    // Multiplying by the reciprocal of the weight sum instead would overflow to inf and skip every
    // step.
    using Model = Sequential<Dense<3, 4>, Tanh, Dense<4, 2>>;
    const ClassificationSamples samples(10, 3, 2, 62);
    std::vector<float> tiny(10, std::numeric_limits<float>::denorm_min());
    std::vector<float> ones(10, 1.0f);
    microfit::FitOptions options;
    options.epochs = 3;
    options.batch_size = 5;
    options.reduction = microfit::Reduction::weighted_mean;

    Model tiny_model(63);
    microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, 5> tiny_trainer(tiny_model);
    CHECK(tiny_trainer
              .fit(microfit::classification_data(samples.features.data(), samples.labels.data(), 10, 3, tiny.data()),
                   options)
              .ok());
    CHECK(tiny_trainer.summary().steps == 6);
    CHECK(tiny_trainer.summary().skipped_steps == 0);

    Model unit_model(63);
    microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, 5> unit_trainer(unit_model);
    CHECK(unit_trainer
              .fit(microfit::classification_data(samples.features.data(), samples.labels.data(), 10, 3, ones.data()),
                   options)
              .ok());
    CHECK(std::memcmp(tiny_model.parameters(), unit_model.parameters(), Model::parameter_bytes) == 0);
}
