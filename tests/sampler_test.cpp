// BalancedSampler: class balance over many draws, uniform rows within a class, seeding, errors, and
// balanced oversampling in training.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "microfit/microfit.hpp"

namespace {

/// Labels of `rows` rows where class c has counts[c] rows, spread over the data set in a seeded
/// random order.
std::vector<std::int32_t> shuffled_labels(const std::vector<std::size_t>& counts, std::uint64_t seed) {
    std::vector<std::int32_t> labels;
    for (std::size_t c = 0; c < counts.size(); ++c) labels.insert(labels.end(), counts[c], static_cast<std::int32_t>(c));
    microfit::Random random(seed);
    for (std::size_t i = labels.size(); i > 1; --i) {
        const std::size_t j = random.uniform_below(static_cast<std::uint32_t>(i));
        std::swap(labels[i - 1], labels[j]);
    }
    return labels;
}

/// Returns whether `count` is within five standard deviations of the mean of Binomial(draws, p).
bool within_binomial_tolerance(double count, double draws, double p) {
    const double standard_deviation = std::sqrt(draws * p * (1.0 - p));
    return std::fabs(count - draws * p) < 5.0 * standard_deviation;
}

}  // namespace

TEST_CASE("balanced sampler draws each class equally often whatever its frequency") {
    // 900, 90 and 10 rows. 30000 draws: each class count is Binomial(30000, 1/3).
    const std::vector<std::int32_t> labels = shuffled_labels({900, 90, 10}, 1);
    microfit::BalancedSampler<3> sampler;
    CHECK(sampler.reset(labels.data(), labels.size(), 2).ok());

    constexpr std::size_t draws = 30000;
    std::vector<std::size_t> row_counts(labels.size(), 0);
    std::size_t class_counts[3] = {};
    std::size_t out_of_range = 0;
    for (std::size_t i = 0; i < draws; ++i) {
        const std::uint32_t row = sampler.next();
        if (row >= labels.size()) {
            ++out_of_range;
            continue;
        }
        ++row_counts[row];
        ++class_counts[labels[row]];
    }
    CHECK(out_of_range == 0);
    for (std::size_t c = 0; c < 3; ++c) {
        CAPTURE(c);
        CAPTURE(class_counts[c]);
        CHECK(within_binomial_tolerance(static_cast<double>(class_counts[c]), draws, 1.0 / 3.0));
    }

    // Within a class every row is equally likely. Given k draws of class 2, each of its 10 rows is
    // drawn Binomial(k, 1/10) times, and likewise Binomial(k, 1/90) for the 90 rows of class 1.
    for (std::size_t row = 0; row < labels.size(); ++row) {
        const std::int32_t c = labels[row];
        if (c == 0) continue;  // about 11 draws per row: too few for a useful bound
        const double rows_in_class = c == 1 ? 90.0 : 10.0;
        CAPTURE(row);
        CAPTURE(row_counts[row]);
        CHECK(within_binomial_tolerance(static_cast<double>(row_counts[row]), static_cast<double>(class_counts[c]),
                                        1.0 / rows_in_class));
    }
}

TEST_CASE("balanced sampler finds a class of one row among ten thousand") {
    // A uniform row has class 1 with probability 1e-4, so 32 rejection tries almost never find it
    // and the sampler falls back to scanning for the k-th row of the class. If that scan returned
    // a row of another class, class 1 would fall below half of the draws.
    std::vector<std::int32_t> labels(10000, 0);
    labels[4321] = 1;
    microfit::BalancedSampler<2> sampler;
    CHECK(sampler.reset(labels.data(), labels.size(), 3).ok());

    constexpr std::size_t draws = 4000;
    std::size_t rare = 0;
    for (std::size_t i = 0; i < draws; ++i) {
        const std::uint32_t row = sampler.next();
        CHECK(row < labels.size());
        if (row < labels.size() && labels[row] == 1) {
            CHECK(row == 4321);
            ++rare;
        }
    }
    CAPTURE(rare);
    CHECK(within_binomial_tolerance(static_cast<double>(rare), draws, 0.5));
}

TEST_CASE("balanced sampler repeats its sequence for the same seed") {
    const std::vector<std::int32_t> labels = shuffled_labels({50, 20, 5}, 4);
    microfit::BalancedSampler<3> a;
    microfit::BalancedSampler<3> b;
    microfit::BalancedSampler<3> c;
    CHECK(a.reset(labels.data(), labels.size(), 9).ok());
    CHECK(b.reset(labels.data(), labels.size(), 9).ok());
    CHECK(c.reset(labels.data(), labels.size(), 10).ok());
    std::size_t equal_to_other_seed = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::uint32_t row = a.next();
        CHECK(row == b.next());
        if (row == c.next()) ++equal_to_other_seed;
    }
    // Two independent draws agree with probability (1/9)(1/50 + 1/20 + 1/5) = 3%.
    CHECK(equal_to_other_seed < 100);
}

TEST_CASE("balanced sampler rejects a missing class and stays unchanged") {
    const std::vector<std::int32_t> good = shuffled_labels({5, 5, 5}, 5);
    microfit::BalancedSampler<3> sampler;
    microfit::BalancedSampler<3> control;
    CHECK(sampler.reset(good.data(), good.size(), 11).ok());
    CHECK(control.reset(good.data(), good.size(), 11).ok());

    SUBCASE("a class with no rows") {
        const std::int32_t labels[4] = {0, 2, 2, 0};
        const microfit::Status status = sampler.reset(labels, 4, 12);
        CHECK(status.code == microfit::StatusCode::empty_class);
        CHECK(status.index == 1);
    }
    SUBCASE("a label out of range") {
        const std::int32_t labels[4] = {0, 1, 3, 2};
        const microfit::Status status = sampler.reset(labels, 4, 12);
        CHECK(status.code == microfit::StatusCode::label_out_of_range);
        CHECK(status.index == 2);
        CHECK(status.value == 3.0);
        CHECK(status.limit == 3.0);
    }
    SUBCASE("no rows") {
        const std::int32_t labels[1] = {0};
        CHECK(sampler.reset(labels, 0, 12).code == microfit::StatusCode::empty_dataset);
    }

    // The failed reset kept the labels and the generator of the good one.
    for (int i = 0; i < 200; ++i) CHECK(sampler.next() == control.next());
}

TEST_CASE("balanced oversampling balances the classes seen in training") {
    // Row i has the one-hot feature e_i, so only row i's visits move row i's weights. With
    // learning rate 1e-6 the softmax stays within 1e-4 of (1/2, 1/2) over the whole run. Each
    // visit of a row with label c raises its weight to output c by lr * (1 - p_c) / batch, about
    // 1.25e-7, so the summed weights of a class count its visits.
    constexpr std::size_t rows = 40;
    constexpr std::size_t batch_size = 4;
    constexpr std::size_t epochs = 50;
    constexpr float learning_rate = 1e-6f;
    using Model = microfit::Sequential<microfit::Dense<rows, 2>>;
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Sgd, batch_size>;

    std::vector<float> features(rows * rows, 0.0f);
    for (std::size_t i = 0; i < rows; ++i) features[i * rows + i] = 1.0f;
    // Rows 0 to 35 have class 0, rows 36 to 39 class 1.
    std::vector<std::int32_t> labels(rows, 0);
    for (std::size_t i = 36; i < rows; ++i) labels[i] = 1;
    const microfit::Dataset data = microfit::classification_data(features.data(), labels.data(), rows, rows);

    const auto visits_per_class = [&](microfit::Sampling sampling, double (&visits)[2]) {
        auto model = std::make_unique<Model>(0);
        for (std::size_t k = 0; k < rows; ++k) {
            model->weight<0>(k, 0) = 0.0f;
            model->weight<0>(k, 1) = 0.0f;
        }
        microfit::Sgd sgd;
        sgd.learning_rate = learning_rate;
        Trainer trainer(*model, {}, sgd);
        microfit::FitOptions options;
        options.epochs = epochs;
        options.batch_size = batch_size;
        options.sampling = sampling;
        options.seed = 13;
        CHECK(trainer.fit(data, options).ok());
        CHECK(trainer.summary().steps == epochs * rows / batch_size);

        const double per_visit = learning_rate * 0.5 / batch_size;
        visits[0] = 0.0;
        visits[1] = 0.0;
        for (std::size_t k = 0; k < rows; ++k) {
            const auto c = static_cast<std::size_t>(labels[k]);
            visits[c] += model->weight<0>(k, c) / per_visit;
        }
    };

    // 2000 draws in all. In row order each row is visited once per epoch: 1800 and 200.
    double in_order[2];
    visits_per_class(microfit::Sampling::in_order, in_order);
    CHECK(std::fabs(in_order[0] - 1800.0) < 5.0);
    CHECK(std::fabs(in_order[1] - 200.0) < 1.0);

    // Balanced: each class Binomial(2000, 1/2), standard deviation 22.4.
    double balanced[2];
    visits_per_class(microfit::Sampling::balanced_oversampling, balanced);
    CAPTURE(balanced[0]);
    CAPTURE(balanced[1]);
    CHECK(std::fabs(balanced[0] + balanced[1] - 2000.0) < 5.0);
    CHECK(within_binomial_tolerance(balanced[1], 2000.0, 0.5));
}
