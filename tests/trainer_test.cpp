// Trainer: whole-model gradients against central differences, seeded reproducibility, the sample
// order of an epoch, evaluation, prediction, callbacks and skipped steps.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "microfit/microfit.hpp"
#include "reference.hpp"

namespace {

using microfit::Dense;
using microfit::Relu;
using microfit::Sequential;
using microfit::Sigmoid;
using microfit::Tanh;
using microfit_test::gradient_component;
using microfit_test::largest_magnitude;
using microfit_test::relative;

/// Learning rate that turns one SGD step into a readable gradient. A power of two makes lr * g
/// exact, and p - lr * g then keeps g to about 2^-24 (|g| + |p| / 1024).
constexpr float gradient_learning_rate = 1024.0f;

/// Features, labels, targets and weights of a small data set that outlives its Dataset views.
struct Samples {
    std::size_t rows = 0;
    std::size_t feature_count = 0;
    std::vector<float> features;
    std::vector<std::int32_t> labels;
    std::vector<float> targets;
    std::vector<float> sample_weight;

    microfit::Dataset classification(bool weighted) const {
        return microfit::classification_data(features.data(), labels.data(), rows, feature_count,
                                             weighted ? sample_weight.data() : nullptr);
    }
    microfit::Dataset regression(std::size_t target_count, bool weighted) const {
        return microfit::regression_data(features.data(), targets.data(), rows, feature_count, target_count,
                                         weighted ? sample_weight.data() : nullptr);
    }
};

/// Random samples: features in [-1, 1], labels cycling through `classes` (at least one of each when
/// rows >= classes), targets in [-2, 2], sample weights in [0.25, 2].
Samples make_samples(std::size_t rows, std::size_t feature_count, std::size_t classes, std::size_t target_count,
                     std::uint64_t seed) {
    microfit::Random random(seed);
    Samples s;
    s.rows = rows;
    s.feature_count = feature_count;
    for (std::size_t i = 0; i < rows * feature_count; ++i) s.features.push_back(random.uniform(-1.0f, 1.0f));
    for (std::size_t r = 0; r < rows; ++r) s.labels.push_back(static_cast<std::int32_t>(r % (classes == 0 ? 1 : classes)));
    for (std::size_t i = 0; i < rows * target_count; ++i) s.targets.push_back(random.uniform(-2.0f, 2.0f));
    for (std::size_t r = 0; r < rows; ++r) s.sample_weight.push_back(random.uniform(0.25f, 2.0f));
    return s;
}

/// Gives every Dense bias of the model a random value in [-0.3, 0.3], so that bias gradients and
/// Relu patterns are not those of zero biases.
template <class Model>
void randomize_biases(Model& model, std::uint64_t seed) {
    microfit::Random random(seed);
    for (const auto& layer : microfit_test::describe_model<Model>()) {
        if (layer.kind != microfit::detail::LayerKind::dense) continue;
        for (std::size_t j = 0; j < layer.outputs; ++j) model.parameters()[layer.bias_offset + j] = random.uniform(-0.3f, 0.3f);
    }
}

/// Trains `start` for one step of SGD (momentum 0, learning rate 1024) on the whole data set as one
/// batch, and returns what the step applied, (p_before - p_after) / 1024, which is the gradient of
/// the batch loss. `reported_loss` receives the epoch loss.
template <class Model, class Loss, std::size_t MaxBatch = 8>
std::vector<double> gradient_from_one_step(const Model& start, const Loss& loss, const microfit::Dataset& data,
                                           microfit::FitOptions options, float& reported_loss) {
    Model model = start;
    microfit::Sgd sgd;
    sgd.learning_rate = gradient_learning_rate;
    sgd.momentum = 0.0f;
    auto trainer = std::make_unique<microfit::Trainer<Model, Loss, microfit::Sgd, MaxBatch>>(model, loss, sgd);

    options.epochs = 1;
    options.batch_size = data.rows;
    options.sampling = microfit::Sampling::in_order;
    microfit::History<microfit::Trainer<Model, Loss, microfit::Sgd, MaxBatch>::classes, 1> history;
    const microfit::Status status = trainer->fit(data, options, nullptr, history);
    CHECK(status.ok());
    CHECK(history.count == 1);
    CHECK(history.logs[0].steps == 1);
    reported_loss = history.logs[0].loss;

    std::vector<double> gradient(Model::parameter_capacity);
    for (std::size_t i = 0; i < Model::parameter_capacity; ++i) {
        gradient[i] = (static_cast<double>(start.parameters()[i]) - model.parameters()[i]) / gradient_learning_rate;
    }
    return gradient;
}

/// Checks the trainer's gradient and reported loss for `model` against central differences of the
/// double-precision batch loss. `sample_loss(logits, row)` is the reference loss of one row.
template <class Model, class Loss, class SampleLoss>
void check_model_gradient(const Model& model, const Loss& loss, const microfit::Dataset& data,
                          const microfit::FitOptions& options, SampleLoss&& sample_loss) {
    constexpr bool classification = Loss::target_kind == microfit::TargetKind::class_index;
    const auto layers = microfit_test::describe_model<Model>();
    const std::vector<double> start = microfit_test::parameters_of(model);
    const std::vector<std::size_t> trainable = microfit_test::trainable_indices<Model>();

    double relu_margin = std::numeric_limits<double>::infinity();
    const auto batch_loss = [&](const std::vector<double>& parameters) {
        std::vector<double> losses;
        std::vector<double> weights;
        for (std::size_t r = 0; r < data.rows; ++r) {
            const std::vector<double> x(data.features + r * data.feature_count,
                                        data.features + (r + 1) * data.feature_count);
            const std::vector<double> logits = microfit_test::reference_forward(layers, parameters, x, &relu_margin);
            losses.push_back(sample_loss(logits, r));
            double weight = data.sample_weight == nullptr ? 1.0 : data.sample_weight[r];
            if (classification) weight *= options.class_weight[static_cast<std::size_t>(data.labels[r])];
            weights.push_back(weight);
        }
        return microfit_test::reference_reduce(losses, weights, options.reduction);
    };

    std::vector<double> values;
    for (std::size_t i : trainable) values.push_back(start[i]);
    const auto loss_of_trainable = [&](const std::vector<double>& v) {
        std::vector<double> parameters = start;
        for (std::size_t t = 0; t < trainable.size(); ++t) parameters[trainable[t]] = v[t];
        return batch_loss(parameters);
    };
    const std::vector<double> expected = microfit_test::numerical_gradient(values, loss_of_trainable);
    // A Relu input within a difference step of 0 would make central differences straddle the kink.
    CHECK(relu_margin > 1e-3);

    float reported_loss = 0.0f;
    const std::vector<double> actual = gradient_from_one_step(model, loss, data, options, reported_loss);
    CHECK(reported_loss == relative(batch_loss(start)));

    const double largest = largest_magnitude(expected);
    CHECK(largest > 1e-3);  // a vanishing gradient would make the check meaningless
    for (std::size_t t = 0; t < trainable.size(); ++t) {
        CAPTURE(trainable[t]);
        CHECK(actual[trainable[t]] == gradient_component(expected[t], largest));
    }
    // Padding floats have zero gradients, so they stay 0.
    std::vector<bool> is_trainable(Model::parameter_capacity, false);
    for (std::size_t i : trainable) is_trainable[i] = true;
    for (std::size_t i = 0; i < Model::parameter_capacity; ++i) {
        if (!is_trainable[i]) CHECK(actual[i] == 0.0);
    }
}

template <class Model>
bool same_parameters(const Model& a, const Model& b) {
    return std::memcmp(a.parameters(), b.parameters(), Model::parameter_bytes) == 0;
}

}  // namespace

TEST_CASE("model gradient matches central differences for weighted cross-entropy") {
    using Model = Sequential<Dense<4, 6>, Tanh, Dense<6, 3>>;
    Model model(1);
    randomize_biases(model, 2);
    const Samples samples = make_samples(7, 4, 3, 0, 3);
    const float class_weights[3] = {0.5f, 2.0f, 1.0f};

    for (auto reduction : {microfit::Reduction::weighted_mean, microfit::Reduction::sum_over_batch_size,
                           microfit::Reduction::sum}) {
        CAPTURE(microfit::reduction_name(reduction));
        microfit::FitOptions options;
        options.reduction = reduction;
        options.class_weight = {class_weights, 3};
        check_model_gradient(model, microfit::SparseCategoricalCrossentropy{}, samples.classification(true), options,
                             [&](const std::vector<double>& z, std::size_t r) {
                                 return microfit_test::sparse_categorical_crossentropy(z.data(), 3, samples.labels[r]);
                             });
    }
}

TEST_CASE("model gradient matches central differences through every activation") {
    using Model = Sequential<Dense<5, 7>, Relu, Dense<7, 6>, Sigmoid, Dense<6, 4>, Tanh, Dense<4, 1>>;
    Model model(4);
    randomize_biases(model, 5);
    const Samples samples = make_samples(7, 5, 2, 0, 6);
    const float class_weights[2] = {1.0f, 3.0f};

    microfit::BinaryFocalLoss loss;
    loss.gamma = 2.0f;
    loss.use_alpha = true;
    loss.alpha = 0.25f;
    microfit::FitOptions options;
    options.class_weight = {class_weights, 2};
    check_model_gradient(model, loss, samples.classification(false), options,
                         [&](const std::vector<double>& z, std::size_t r) {
                             return microfit_test::binary_focal(z[0], samples.labels[r], 2.0, true, 0.25);
                         });
}

TEST_CASE("model gradient matches central differences for binary cross-entropy") {
    using Model = Sequential<Dense<3, 4>, Sigmoid, Dense<4, 1>>;
    Model model(7);
    randomize_biases(model, 8);
    const Samples samples = make_samples(6, 3, 2, 0, 9);
    const float class_weights[2] = {2.0f, 0.5f};

    microfit::FitOptions options;
    options.reduction = microfit::Reduction::weighted_mean;
    options.class_weight = {class_weights, 2};
    check_model_gradient(model, microfit::BinaryCrossentropy{}, samples.classification(true), options,
                         [&](const std::vector<double>& z, std::size_t r) {
                             return microfit_test::binary_crossentropy(z[0], samples.labels[r]);
                         });
}

TEST_CASE("model gradient matches central differences for categorical focal loss") {
    using Model = Sequential<Dense<4, 5>, Relu, Dense<5, 4>>;
    Model model(10);
    randomize_biases(model, 11);
    const Samples samples = make_samples(8, 4, 4, 0, 12);

    microfit::CategoricalFocalLoss<4> loss;
    loss.gamma = 0.5f;
    loss.use_alpha = true;
    const double alpha[4] = {0.25, 1.0, 2.0, 0.5};
    for (std::size_t c = 0; c < 4; ++c) loss.alpha[c] = static_cast<float>(alpha[c]);
    check_model_gradient(model, loss, samples.classification(true), microfit::FitOptions{},
                         [&](const std::vector<double>& z, std::size_t r) {
                             return microfit_test::categorical_focal(z.data(), 4, samples.labels[r], 0.5, alpha);
                         });
}

TEST_CASE("model gradient matches central differences for regression losses") {
    using Model = Sequential<Dense<3, 5>, Tanh, Dense<5, 2>>;
    Model model(13);
    randomize_biases(model, 14);
    const Samples samples = make_samples(6, 3, 0, 2, 15);
    const auto targets_of = [&](std::size_t r) {
        return std::vector<double>{samples.targets[2 * r], samples.targets[2 * r + 1]};
    };

    SUBCASE("mean squared error") {
        microfit::FitOptions options;
        options.reduction = microfit::Reduction::sum;
        check_model_gradient(model, microfit::MeanSquaredError{}, samples.regression(2, true), options,
                             [&](const std::vector<double>& z, std::size_t r) {
                                 return microfit_test::mean_squared_error(z.data(), targets_of(r).data(), 2);
                             });
    }
    SUBCASE("mean absolute error away from kinks") {
        // Every |z - t| must be far larger than what a difference step can move z by.
        double smallest = std::numeric_limits<double>::infinity();
        const auto layers = microfit_test::describe_model<Model>();
        for (std::size_t r = 0; r < samples.rows; ++r) {
            const std::vector<double> x(samples.features.begin() + static_cast<std::ptrdiff_t>(3 * r),
                                        samples.features.begin() + static_cast<std::ptrdiff_t>(3 * r + 3));
            const auto z = microfit_test::reference_forward(layers, microfit_test::parameters_of(model), x);
            for (std::size_t j = 0; j < 2; ++j) smallest = std::min(smallest, std::fabs(z[j] - targets_of(r)[j]));
        }
        CHECK(smallest > 1e-2);

        check_model_gradient(model, microfit::MeanAbsoluteError{}, samples.regression(2, true), microfit::FitOptions{},
                             [&](const std::vector<double>& z, std::size_t r) {
                                 return microfit_test::mean_absolute_error(z.data(), targets_of(r).data(), 2);
                             });
    }
}

TEST_CASE("same seed gives bit-identical parameters") {
    using Model = Sequential<Dense<4, 8>, Relu, Dense<8, 3>>;
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, 8>;
    const Samples samples = make_samples(50, 4, 3, 0, 20);
    const microfit::Dataset data = samples.classification(true);

    const auto train = [&](std::uint64_t model_seed, std::uint64_t fit_seed, microfit::Sampling sampling) {
        auto model = std::make_unique<Model>(model_seed);
        auto trainer = std::make_unique<Trainer>(*model);
        microfit::FitOptions options;
        options.epochs = 5;
        options.batch_size = 8;
        options.seed = fit_seed;
        options.sampling = sampling;
        CHECK(trainer->fit(data, options).ok());
        return model;
    };

    for (auto sampling : {microfit::Sampling::shuffled, microfit::Sampling::balanced_oversampling}) {
        CAPTURE(static_cast<int>(sampling));
        const auto first = train(1, 7, sampling);
        const auto second = train(1, 7, sampling);
        CHECK(same_parameters(*first, *second));

        const auto other_fit_seed = train(1, 8, sampling);
        CHECK_FALSE(same_parameters(*first, *other_fit_seed));

        const auto other_model_seed = train(2, 7, sampling);
        CHECK_FALSE(same_parameters(*first, *other_model_seed));
    }

    // The untrained models differ too: the model seed alone draws the initial weights.
    CHECK(same_parameters(Model(3), Model(3)));
    CHECK_FALSE(same_parameters(Model(3), Model(4)));
}

TEST_CASE("reset trainer fits like a new one") {
    using Model = Sequential<Dense<4, 8>, Relu, Dense<8, 3>>;
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, 8>;
    const Samples samples = make_samples(40, 4, 3, 0, 21);
    const microfit::Dataset data = samples.classification(true);
    microfit::FitOptions options;
    options.epochs = 3;
    options.batch_size = 8;
    options.seed = 5;

    auto fresh_model = std::make_unique<Model>(1);
    auto fresh_trainer = std::make_unique<Trainer>(*fresh_model);
    CHECK(fresh_trainer->fit(data, options).ok());

    // A second fit of a used trainer continues Adam's moments and step count.
    auto model = std::make_unique<Model>(1);
    auto trainer = std::make_unique<Trainer>(*model);
    CHECK(trainer->fit(data, options).ok());
    model->initialize(1);
    CHECK(trainer->fit(data, options).ok());
    CHECK(trainer->optimizer_state().steps == 30);
    CHECK_FALSE(same_parameters(*model, *fresh_model));

    model->initialize(1);
    trainer->reset();
    CHECK(trainer->optimizer_state().steps == 0);
    CHECK(trainer->summary().epochs_completed == 0);
    for (std::size_t i = 0; i < Model::parameter_capacity; ++i) {
        CHECK(trainer->optimizer_state().m[i] == 0.0f);
        CHECK(trainer->optimizer_state().v[i] == 0.0f);
    }
    CHECK(trainer->fit(data, options).ok());
    CHECK(trainer->optimizer_state().steps == 15);
    CHECK(same_parameters(*model, *fresh_model));
}

TEST_CASE("every epoch visits each row exactly once") {
    // Row i has the one-hot feature e_i, and every target is far above every prediction, so the
    // absolute error has gradient -1 / batch size on the output for every row. Each time row i is
    // in a batch, weight i grows by learning_rate / batch size and by nothing otherwise.
    // 36 rows fill batches of 4 exactly, so every batch has the same size.
    constexpr std::size_t rows = 36;
    using Model = Sequential<Dense<rows, 1>>;
    std::vector<float> features(rows * rows, 0.0f);
    for (std::size_t i = 0; i < rows; ++i) features[i * rows + i] = 1.0f;
    const std::vector<float> targets(rows, 1000.0f);
    const microfit::Dataset data = microfit::regression_data(features.data(), targets.data(), rows, rows, 1);

    for (std::size_t batch_size : {1u, 4u}) {
        for (auto sampling : {microfit::Sampling::shuffled, microfit::Sampling::in_order}) {
            CAPTURE(batch_size);
            CAPTURE(static_cast<int>(sampling));
            Model model(0);
            for (std::size_t i = 0; i < rows; ++i) model.weight<0>(i, 0) = 0.0f;
            microfit::Sgd sgd;
            sgd.learning_rate = 0.5f;
            microfit::Trainer<Model, microfit::MeanAbsoluteError, microfit::Sgd, 4> trainer(model, {}, sgd);
            microfit::FitOptions options;
            options.epochs = 3;
            options.batch_size = batch_size;
            options.sampling = sampling;
            options.seed = 99;
            CHECK(trainer.fit(data, options).ok());

            // 0.5 / batch_size per visit, three visits: exact in float for batch sizes 1 and 4.
            const float expected = 3.0f * 0.5f / static_cast<float>(batch_size);
            for (std::size_t i = 0; i < rows; ++i) {
                CAPTURE(i);
                CHECK(model.weight<0>(i, 0) == expected);
            }
        }
    }
}

TEST_CASE("shuffled epochs use a new order each epoch") {
    // One-hot rows with squared error and a shared bias: the order of the rows decides the bias
    // in effect when each row is trained, so runs with different orders end with different
    // parameters. Two epochs in
    // one fit must not repeat the first epoch's order, which a second fit with the same seed does.
    constexpr std::size_t rows = 20;
    using Model = Sequential<Dense<rows, 1>>;
    using Trainer = microfit::Trainer<Model, microfit::MeanSquaredError, microfit::Sgd, 4>;
    std::vector<float> features(rows * rows, 0.0f);
    std::vector<float> targets(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        features[i * rows + i] = 1.0f;
        targets[i] = static_cast<float>(i);
    }
    const microfit::Dataset data = microfit::regression_data(features.data(), targets.data(), rows, rows, 1);

    // Trains with each entry of `epochs_per_fit` as one call of fit, all with the same seed.
    const auto train = [&](microfit::Sampling sampling, std::uint64_t seed, std::vector<std::size_t> epochs_per_fit) {
        auto model = std::make_unique<Model>(5);
        microfit::Sgd sgd;
        sgd.learning_rate = 0.1f;
        Trainer trainer(*model, {}, sgd);
        for (std::size_t epochs : epochs_per_fit) {
            microfit::FitOptions options;
            options.epochs = epochs;
            options.batch_size = 1;
            options.sampling = sampling;
            options.seed = seed;
            CHECK(trainer.fit(data, options).ok());
        }
        return model;
    };

    const auto shuffled_twice = train(microfit::Sampling::shuffled, 1, {2});
    const auto same_order_twice = train(microfit::Sampling::shuffled, 1, {1, 1});
    CHECK_FALSE(same_parameters(*shuffled_twice, *same_order_twice));

    // The set-up itself is sound: in row order, one fit of two epochs equals two fits of one.
    CHECK(same_parameters(*train(microfit::Sampling::in_order, 1, {2}), *train(microfit::Sampling::in_order, 1, {1, 1})));

    // And the order depends on the seed and differs from row order.
    CHECK_FALSE(same_parameters(*shuffled_twice, *train(microfit::Sampling::shuffled, 2, {2})));
    CHECK_FALSE(same_parameters(*shuffled_twice, *train(microfit::Sampling::in_order, 1, {2})));
}

TEST_CASE("evaluate matches whole-set reference losses") {
    using Model = Sequential<Dense<4, 6>, Tanh, Dense<6, 3>>;
    Model model(30);
    randomize_biases(model, 31);
    Samples samples = make_samples(11, 4, 3, 0, 32);
    // Weight 10 on every third row and 0.01 on the others, so that the weighted mean is far from
    // both the plain mean and sum(w l) / N.
    for (std::size_t r = 0; r < samples.rows; ++r) samples.sample_weight[r] = r % 3 == 0 ? 10.0f : 0.01f;
    const auto layers = microfit_test::describe_model<Model>();

    // Per-row losses from the double-precision reference, one row at a time.
    double loss_sum = 0.0;
    double weighted_sum = 0.0;
    double weight_sum = 0.0;
    for (std::size_t r = 0; r < samples.rows; ++r) {
        const std::vector<double> x(samples.features.begin() + static_cast<std::ptrdiff_t>(4 * r),
                                    samples.features.begin() + static_cast<std::ptrdiff_t>(4 * r + 4));
        const auto z = microfit_test::reference_forward(layers, microfit_test::parameters_of(model), x);
        const double l = microfit_test::sparse_categorical_crossentropy(z.data(), 3, samples.labels[r]);
        loss_sum += l;
        weighted_sum += samples.sample_weight[r] * l;
        weight_sum += samples.sample_weight[r];
    }

    struct Expected {
        microfit::Reduction reduction;
        double loss;
        double weighted_loss;
    };
    const Expected cases[] = {
        {microfit::Reduction::sum_over_batch_size, loss_sum / 11.0, weighted_sum / 11.0},
        {microfit::Reduction::weighted_mean, loss_sum / 11.0, weighted_sum / weight_sum},
        {microfit::Reduction::sum, loss_sum, weighted_sum},
    };

    microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Sgd, 16> trainer(model);
    for (const Expected& expected : cases) {
        CAPTURE(microfit::reduction_name(expected.reduction));
        microfit::Evaluation<3> whole_set;
        CHECK(trainer.evaluate(samples.classification(true), whole_set, 11, expected.reduction).ok());

        // Batches of 1, 2 and 3 leave a partial last batch (11 = 5 * 2 + 1 = 3 * 3 + 2).
        for (std::size_t batch_size : {1u, 2u, 3u, 11u}) {
            CAPTURE(batch_size);
            microfit::Evaluation<3> evaluation;
            CHECK(trainer.evaluate(samples.classification(true), evaluation, batch_size, expected.reduction).ok());
            CHECK(evaluation.rows == 11);
            CHECK(evaluation.has_sample_weight);
            CHECK(evaluation.loss == relative(expected.loss));
            CHECK(evaluation.weighted_loss == relative(expected.weighted_loss));
            CHECK(evaluation.confusion.total() == 11.0f);

            // The batch size changes only the float rounding of the sums. For 11 positive terms
            // that is at most about 16 roundings of 2^-24, below 1e-6.
            CHECK(evaluation.loss == relative(whole_set.loss, 1e-6));
            CHECK(evaluation.weighted_loss == relative(whole_set.weighted_loss, 1e-6));
        }
    }
}

TEST_CASE("predict writes the logits of the forward pass") {
    using Model = Sequential<Dense<3, 5>, Relu, Dense<5, 4>>;
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Sgd, 4>;
    Model model(40);
    randomize_biases(model, 41);
    Trainer trainer(model);
    // 10 rows is more than the batch capacity of 4, so predict runs batches of 4, 4 and 2.
    const Samples samples = make_samples(10, 3, 4, 0, 42);
    const auto layers = microfit_test::describe_model<Model>();

    std::vector<float> logits(10 * 4);
    CHECK(trainer.predict(samples.features.data(), 10, 3, logits.data(), logits.size()).ok());
    std::vector<float> probabilities(10 * 4);
    CHECK(trainer.predict_probabilities(samples.features.data(), 10, 3, probabilities.data(), probabilities.size()).ok());
    std::vector<std::int32_t> classes(10);
    CHECK(trainer.predict_classes(samples.features.data(), 10, 3, classes.data(), classes.size()).ok());

    for (std::size_t r = 0; r < 10; ++r) {
        CAPTURE(r);
        const std::vector<double> x(samples.features.begin() + static_cast<std::ptrdiff_t>(3 * r),
                                    samples.features.begin() + static_cast<std::ptrdiff_t>(3 * r + 3));
        const auto z = microfit_test::reference_forward(layers, microfit_test::parameters_of(model), x);
        const double lse = microfit_test::log_sum_exp(z.data(), 4);
        std::size_t best = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            CAPTURE(j);
            CHECK(logits[r * 4 + j] == doctest::Approx(z[j]).epsilon(1e-5).scale(1.0));
            CHECK(probabilities[r * 4 + j] == relative(std::exp(z[j] - lse)));
            if (logits[r * 4 + j] > logits[r * 4 + best]) best = j;
        }
        CHECK(classes[r] == static_cast<std::int32_t>(best));

        // One row on its own gives bit-identical logits to the same row inside a batch.
        float alone[4];
        CHECK(trainer.predict(samples.features.data() + 3 * r, 1, 3, alone, 4).ok());
        CHECK(std::memcmp(alone, logits.data() + 4 * r, sizeof alone) == 0);
    }

    // One row of 4 logits does not fit a capacity of 3 floats.
    float buffer[4] = {};
    const microfit::Status status = trainer.predict(samples.features.data(), 1, 3, buffer, 3);
    CHECK(status.code == microfit::StatusCode::output_too_small);
    CHECK(buffer[0] == 0.0f);
}

TEST_CASE("predict of one logit gives sigmoid probabilities and classes by sign") {
    using Model = Sequential<Dense<1, 1>>;
    Model model(0);
    model.weight<0>(0, 0) = 1.0f;
    model.bias<0>(0) = 0.0f;
    microfit::Trainer<Model, microfit::BinaryCrossentropy, microfit::Sgd, 4> trainer(model);

    const float features[3] = {-2.0f, 0.0f, 3.0f};
    float probabilities[3];
    std::int32_t classes[3];
    CHECK(trainer.predict_probabilities(features, 3, 1, probabilities, 3).ok());
    CHECK(trainer.predict_classes(features, 3, 1, classes, 3).ok());
    CHECK(probabilities[0] == relative(0.11920292202211755));
    CHECK(probabilities[1] == 0.5f);
    CHECK(probabilities[2] == relative(0.9525741268224334));
    CHECK(classes[0] == 0);
    CHECK(classes[1] == 0);  // a logit of exactly 0 is class 0
    CHECK(classes[2] == 1);
}

TEST_CASE("fit reports every epoch and stops when the callback returns false") {
    using Model = Sequential<Dense<4, 3>>;
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Sgd, 8>;
    const Samples samples = make_samples(20, 4, 3, 0, 50);
    const microfit::Dataset data = samples.classification(false);
    microfit::FitOptions options;
    options.epochs = 4;
    options.batch_size = 8;

    SUBCASE("history records one log per epoch") {
        Model model(1);
        Trainer trainer(model);
        microfit::History<3, 10> history;
        CHECK(trainer.fit(data, options, &data, history).ok());
        CHECK(history.count == 4);
        for (std::size_t e = 0; e < history.count; ++e) {
            CAPTURE(e);
            CHECK(history.logs[e].epoch == e + 1);
            CHECK(history.logs[e].epochs == 4);
            CHECK(history.logs[e].steps == 3);  // 20 rows in batches of 8, 8 and 4
            CHECK(history.logs[e].skipped_steps == 0);
            CHECK(history.logs[e].has_validation);
            CHECK(history.logs[e].validation.rows == 20);
        }
        // Plain SGD on a convex loss with a small learning rate: the loss falls every epoch.
        CHECK(history.logs[3].loss < history.logs[0].loss);
        CHECK(trainer.summary().epochs_completed == 4);
        CHECK(trainer.summary().steps == 12);
        CHECK_FALSE(trainer.summary().stopped_by_callback);
    }
    SUBCASE("a callback returning false stops after that epoch") {
        Model model(1);
        Trainer trainer(model);
        std::size_t calls = 0;
        CHECK(trainer.fit(data, options, nullptr, [&](const microfit::EpochLog<3>& log) {
            ++calls;
            CHECK_FALSE(log.has_validation);
            return log.epoch < 2;
        }).ok());
        CHECK(calls == 2);
        CHECK(trainer.summary().epochs_completed == 2);
        CHECK(trainer.summary().stopped_by_callback);
    }
    SUBCASE("a callback returning nothing never stops training") {
        Model model(1);
        Trainer trainer(model);
        std::size_t calls = 0;
        CHECK(trainer.fit(data, options, nullptr, [&](const microfit::EpochLog<3>&) { ++calls; }).ok());
        CHECK(calls == 4);
        CHECK(trainer.summary().epochs_completed == 4);
    }
}

TEST_CASE("a batch with a non-finite loss is skipped and counted") {
    // A sample weight of 3e38 is valid, but 3e38 times a loss above 1.2 overflows to inf.
    using Model = Sequential<Dense<1, 2>>;
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Sgd, 4>;
    const float features[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    const std::int32_t labels[4] = {0, 0, 1, 1};
    const float sample_weight[4] = {1.0f, 1.0f, 3e38f, 3e38f};
    const microfit::Dataset data = microfit::classification_data(features, labels, 4, 1, sample_weight);

    // Logits (2, 0) for every row: label 1 has loss log(1 + e^2) = 2.13.
    Model model(0);
    model.weight<0>(0, 0) = 0.0f;
    model.weight<0>(0, 1) = 0.0f;
    model.bias<0>(0) = 2.0f;
    const Model before = model;
    Trainer trainer(model);
    microfit::FitOptions options;
    options.epochs = 2;
    options.batch_size = 2;
    options.sampling = microfit::Sampling::in_order;
    options.reduction = microfit::Reduction::sum;

    SUBCASE("training goes on after the skipped batch") {
        microfit::History<2, 2> history;
        CHECK(trainer.fit(data, options, nullptr, history).ok());
        CHECK(history.count == 2);
        CHECK(history.logs[0].steps == 1);
        CHECK(history.logs[0].skipped_steps == 1);
        CHECK(std::isfinite(history.logs[0].loss));
        CHECK(trainer.summary().skipped_steps == 2);
        CHECK_FALSE(trainer.summary().stopped_on_non_finite);
        // The first batch (labels 0) moved the parameters, and nothing became NaN.
        CHECK_FALSE(same_parameters(model, before));
        for (std::size_t i = 0; i < Model::parameter_capacity; ++i) CHECK(std::isfinite(model.parameters()[i]));
    }
    SUBCASE("stop_on_non_finite stops at the first skipped batch") {
        options.stop_on_non_finite = true;
        microfit::History<2, 2> history;
        const microfit::Status s = trainer.fit(data, options, nullptr, history);
        CHECK(s.code == microfit::StatusCode::training_diverged);
        CHECK(s.index == 1);
        CHECK(s.column == 2);
        CHECK(history.count == 1);
        CHECK(trainer.summary().epochs_completed == 1);
        CHECK(trainer.summary().stopped_on_non_finite);
        CHECK(trainer.summary().skipped_steps == 1);
    }
}
