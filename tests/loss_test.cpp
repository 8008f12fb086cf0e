// Losses and reductions: reference values, numerical gradient checks, saturated logits.
// Reference values are natural logarithms computed in double precision.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "microfit/loss.hpp"
#include "microfit/weighting.hpp"
#include "reference.hpp"

namespace {

using microfit_test::gradient_component;
using microfit_test::largest_magnitude;
using microfit_test::numerical_gradient;
using microfit_test::PaddedRow;
using microfit_test::relative;

constexpr float quiet_nan = std::numeric_limits<float>::quiet_NaN();

/// The loss of one sample and its gradient with respect to the logits, as the library returns them.
template <std::size_t N>
struct LossResult {
    float loss = 0.0f;
    PaddedRow<N> gradient;
};

/// Calls loss.compute<N> on aligned, padded copies of `logits`. The gradient buffer starts as NaN,
/// so a lane that the loss leaves unwritten shows up.
template <std::size_t N, class Loss>
LossResult<N> compute(const Loss& loss, const std::array<float, N>& logits, std::int32_t label,
                      const float* target = nullptr) {
    PaddedRow<N> z;
    for (std::size_t j = 0; j < N; ++j) z.values[j] = logits[j];
    LossResult<N> result;
    for (float& g : result.gradient.values) g = quiet_nan;
    result.loss = loss.template compute<N>(z.values, label, target, result.gradient.values);
    return result;
}

/// Checks the loss value against `reference` (a function of the logits in double) and the gradient
/// against central differences of `reference`, and that the padding lanes of the gradient are 0.
template <std::size_t N, class Loss, class Reference>
void check_against_reference(const Loss& loss, const std::array<float, N>& logits, std::int32_t label,
                             const float* target, Reference&& reference) {
    CAPTURE(label);
    const LossResult<N> result = compute<N>(loss, logits, label, target);
    const std::vector<double> z(logits.begin(), logits.end());

    const double expected_loss = reference(z);
    if (expected_loss == 0.0) {
        CHECK(result.loss == 0.0f);
    } else {
        CHECK(result.loss == relative(expected_loss));
    }

    const std::vector<double> expected = numerical_gradient(z, reference);
    const double largest = largest_magnitude(expected);
    for (std::size_t j = 0; j < N; ++j) {
        CAPTURE(j);
        CHECK(result.gradient.values[j] == gradient_component(expected[j], largest));
    }
    for (std::size_t j = N; j < PaddedRow<N>::stride; ++j) {
        CAPTURE(j);
        CHECK(result.gradient.values[j] == 0.0f);
    }
}

template <std::size_t N>
void check_cross_entropy_gradient(const std::array<float, N>& logits) {
    for (std::int32_t label = 0; label < static_cast<std::int32_t>(N); ++label) {
        check_against_reference<N>(microfit::SparseCategoricalCrossentropy{}, logits, label, nullptr,
                                   [&](const std::vector<double>& z) {
                                       return microfit_test::sparse_categorical_crossentropy(z.data(), N, label);
                                   });
    }
}

}  // namespace

TEST_CASE("cross-entropy of logits 1, 2, 3 with label 2 is 0.4076060") {
    const auto result = compute<3>(microfit::SparseCategoricalCrossentropy{}, {1.0f, 2.0f, 3.0f}, 2);
    CHECK(result.loss == relative(0.4076059644443806));

    // The gradient is softmax(z) - onehot(2): softmax(1, 2, 3) = (0.09003057, 0.24472847, 0.66524096).
    CHECK(result.gradient.values[0] == relative(0.09003057317038046));
    CHECK(result.gradient.values[1] == relative(0.24472847105479767));
    CHECK(result.gradient.values[2] == relative(0.66524095577482190 - 1.0));
}

TEST_CASE("cross-entropy of two equal logits of 1e8 is ln 2") {
    const auto result = compute<2>(microfit::SparseCategoricalCrossentropy{}, {1e8f, 1e8f}, 1);
    CHECK(result.loss == relative(0.6931471805599453));
    CHECK(result.gradient.values[0] == 0.5f);
    CHECK(result.gradient.values[1] == -0.5f);
}

TEST_CASE("cross-entropy of logits 1000 and 0 neither overflows nor gives NaN") {
    const microfit::SparseCategoricalCrossentropy loss;

    const auto wrong = compute<2>(loss, {1000.0f, 0.0f}, 1);
    CHECK(wrong.loss == 1000.0f);
    CHECK(wrong.gradient.values[0] == 1.0f);
    CHECK(wrong.gradient.values[1] == -1.0f);

    const auto right = compute<2>(loss, {1000.0f, 0.0f}, 0);
    CHECK(right.loss == 0.0f);
    CHECK(right.gradient.values[0] == 0.0f);
    CHECK(right.gradient.values[1] == 0.0f);
}

TEST_CASE("cross-entropy of widely spread logits is minus their log-softmax") {
    // log-softmax of these logits, in double: z_j - max - log(1 + sum of exp(z_k - max)), where
    // every exp(z_k - max) other than the maximum's underflows.
    const std::array<float, 5> logits = {-249.873093f, -424.126709f, -460.292542f, 378.097443f, -292.614532f};
    const double log_softmax[5] = {-627.97052, -802.22412, -838.39001, 0.0, -670.71198};

    for (std::int32_t label = 0; label < 5; ++label) {
        CAPTURE(label);
        const auto result = compute<5>(microfit::SparseCategoricalCrossentropy{}, logits, label);
        if (label == 3) {
            CHECK(result.loss == 0.0f);
        } else {
            CHECK(result.loss == relative(-log_softmax[label]));
        }
        // softmax is (0, 0, 0, 1, 0) exactly in float, because exp(-627) underflows to 0.
        for (std::int32_t j = 0; j < 5; ++j) {
            CAPTURE(j);
            const float softmax = j == 3 ? 1.0f : 0.0f;
            CHECK(result.gradient.values[j] == softmax - (j == label ? 1.0f : 0.0f));
        }
    }
}

TEST_CASE("cross-entropy gradient matches central differences") {
    SUBCASE("three classes") { check_cross_entropy_gradient<3>({0.3f, -1.2f, 2.0f}); }
    SUBCASE("five classes") { check_cross_entropy_gradient<5>({1.5f, -0.5f, 0.25f, 3.0f, -2.0f}); }
    SUBCASE("nine classes, more than one AVX vector") {
        check_cross_entropy_gradient<9>({0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f, 0.7f, -0.8f, 0.9f});
    }
}

TEST_CASE("cross-entropy of a confident prediction keeps relative accuracy") {
    // Logits (9, -3, 1) with label 0: l = log(1 + e^-12 + e^-8) = 3.4154851e-4, and the gradient is
    // (p_0 - 1, p_1, p_2). Formed as log(sum) and p_0 - 1, both would subtract numbers near 1 and
    // keep only about 1e-4 relative accuracy; the loss forms them from q = p_1 + p_2 instead.
    const auto result = compute<3>(microfit::SparseCategoricalCrossentropy{}, {9.0f, -3.0f, 1.0f}, 0);
    const double z[3] = {9.0, -3.0, 1.0};
    const double expected_loss = microfit_test::sparse_categorical_crossentropy(z, 3, 0);
    CHECK(expected_loss == relative(3.4154851e-4, 1e-7));
    CHECK(result.loss == relative(expected_loss));

    const double sum = 1.0 + std::exp(-12.0) + std::exp(-8.0);
    CHECK(result.gradient.values[0] == relative(1.0 / sum - 1.0));
    CHECK(result.gradient.values[1] == relative(std::exp(-12.0) / sum));
    CHECK(result.gradient.values[2] == relative(std::exp(-8.0) / sum));
}

TEST_CASE("cross-entropy without a gradient buffer returns the same loss") {
    const microfit::SparseCategoricalCrossentropy loss;
    PaddedRow<3> z;
    z.values[0] = 0.3f;
    z.values[1] = -1.2f;
    z.values[2] = 2.0f;
    PaddedRow<3> gradient;
    for (std::int32_t label = 0; label < 3; ++label) {
        CAPTURE(label);
        const float with_gradient = loss.compute<3>(z.values, label, nullptr, gradient.values);
        const float without_gradient = loss.compute<3>(z.values, label, nullptr, nullptr);
        CHECK(with_gradient == without_gradient);
    }
}

TEST_CASE("binary cross-entropy gradient matches central differences") {
    for (float logit : {-4.0f, -0.4f, 0.0f, 0.7f, 3.0f}) {
        CAPTURE(logit);
        for (std::int32_t label : {0, 1}) {
            check_against_reference<1>(microfit::BinaryCrossentropy{}, {logit}, label, nullptr,
                                       [&](const std::vector<double>& z) {
                                           return microfit_test::binary_crossentropy(z[0], label);
                                       });
        }
    }
}

TEST_CASE("binary cross-entropy of saturated logits is finite") {
    const microfit::BinaryCrossentropy loss;

    const auto wrong_positive = compute<1>(loss, {1000.0f}, 0);
    CHECK(wrong_positive.loss == 1000.0f);
    CHECK(wrong_positive.gradient.values[0] == 1.0f);

    const auto right_positive = compute<1>(loss, {1000.0f}, 1);
    CHECK(right_positive.loss == 0.0f);
    CHECK(right_positive.gradient.values[0] == 0.0f);

    const auto wrong_negative = compute<1>(loss, {-1000.0f}, 1);
    CHECK(wrong_negative.loss == 1000.0f);
    CHECK(wrong_negative.gradient.values[0] == -1.0f);

    // The gradient sigmoid(12) - 1 = -sigmoid(-12) = -6.1441746e-6 keeps relative accuracy because
    // it is formed as -sigmoid(-z), not as a difference of numbers near 1.
    const auto confident = compute<1>(loss, {12.0f}, 1);
    CHECK(confident.loss == relative(6.1441934e-6));
    CHECK(confident.gradient.values[0] == relative(-6.1441746e-6));
    const auto saturated = compute<1>(loss, {20.0f}, 1);
    CHECK(saturated.gradient.values[0] == relative(-2.0611536e-9));
}

TEST_CASE("mean squared error gradient matches central differences") {
    const std::array<float, 3> targets = {1.5f, -0.25f, 2.0f};
    for (const auto& logits : {std::array<float, 3>{0.5f, -1.0f, 2.0f}, std::array<float, 3>{-3.0f, 4.0f, 2.5f}}) {
        check_against_reference<3>(microfit::MeanSquaredError{}, logits, 0, targets.data(),
                                   [&](const std::vector<double>& z) {
                                       const double t[3] = {targets[0], targets[1], targets[2]};
                                       return microfit_test::mean_squared_error(z.data(), t, 3);
                                   });
    }
}

TEST_CASE("mean absolute error gradient matches central differences away from kinks") {
    // Every |z_j - t_j| is at least 0.25, far more than the difference step of 1e-5.
    const std::array<float, 3> targets = {1.5f, -0.25f, 1.0f};
    for (const auto& logits : {std::array<float, 3>{0.5f, -1.0f, 2.0f}, std::array<float, 3>{2.0f, 0.0f, 0.75f}}) {
        check_against_reference<3>(microfit::MeanAbsoluteError{}, logits, 0, targets.data(),
                                   [&](const std::vector<double>& z) {
                                       const double t[3] = {targets[0], targets[1], targets[2]};
                                       return microfit_test::mean_absolute_error(z.data(), t, 3);
                                   });
    }
}

TEST_CASE("mean absolute error gradient at a kink is 0") {
    const float target = 2.0f;
    const auto result = compute<1>(microfit::MeanAbsoluteError{}, {2.0f}, 0, &target);
    CHECK(result.loss == 0.0f);
    CHECK(result.gradient.values[0] == 0.0f);
}

TEST_CASE("binary focal loss gradient matches central differences") {
    struct AlphaCase {
        bool use_alpha;
        float alpha;
    };
    for (float gamma : {0.0f, 0.5f, 1.0f, 2.0f, 4.0f}) {
        for (AlphaCase alpha : {AlphaCase{false, 0.25f}, AlphaCase{true, 0.25f}, AlphaCase{true, 0.8f}}) {
            microfit::BinaryFocalLoss loss;
            loss.gamma = gamma;
            loss.use_alpha = alpha.use_alpha;
            loss.alpha = alpha.alpha;
            CHECK(loss.validate().ok());
            for (float logit : {-4.0f, -0.4f, 0.0f, 0.7f, 3.0f}) {
                CAPTURE(gamma);
                CAPTURE(alpha.use_alpha);
                CAPTURE(alpha.alpha);
                CAPTURE(logit);
                for (std::int32_t label : {0, 1}) {
                    check_against_reference<1>(loss, {logit}, label, nullptr, [&](const std::vector<double>& z) {
                        return microfit_test::binary_focal(z[0], label, gamma, alpha.use_alpha, alpha.alpha);
                    });
                }
            }
        }
    }
}

TEST_CASE("binary focal loss with gamma 2 matches reference values") {
    const std::array<std::int32_t, 4> labels = {0, 1, 0, 0};
    const std::array<float, 4> logits = {-1.6f, 0.51f, 2.94f, -1.8f};
    const double without_alpha[4] = {0.005189278543637326, 0.06620609119045627, 2.698642212137809,
                                     0.0030781733510219914};

    microfit::BinaryFocalLoss loss;
    loss.gamma = 2.0f;
    float losses[4];
    for (std::size_t i = 0; i < 4; ++i) {
        CAPTURE(i);
        losses[i] = compute<1>(loss, {logits[i]}, labels[i]).loss;
        CHECK(losses[i] == relative(without_alpha[i]));
    }
    CHECK(microfit::reduce(losses, nullptr, 4, microfit::Reduction::sum_over_batch_size) ==
          relative(0.6932789388057311));

    loss.use_alpha = true;
    loss.alpha = 0.25f;
    for (std::size_t i = 0; i < 4; ++i) losses[i] = compute<1>(loss, {logits[i]}, labels[i]).loss;
    CHECK(microfit::reduce(losses, nullptr, 4, microfit::Reduction::sum_over_batch_size) ==
          relative(0.5116834427054914));
}

TEST_CASE("binary focal loss of a saturated logit keeps its digits") {
    microfit::BinaryFocalLoss loss;

    SUBCASE("gamma 0.5, label 1, logit 20") {
        loss.gamma = 0.5f;
        const auto result = compute<1>(loss, {20.0f}, 1);
        CHECK(result.loss == relative(9.35762294955268e-14));
        CHECK(std::isfinite(result.gradient.values[0]));
        CHECK(result.gradient.values[0] == relative(-1.4036434457649823e-13));
    }
    SUBCASE("gamma 0, label 1, logit 1000") {
        loss.gamma = 0.0f;
        const auto result = compute<1>(loss, {1000.0f}, 1);
        CHECK(result.loss == 0.0f);
        CHECK(result.gradient.values[0] == 0.0f);
    }
    SUBCASE("gamma 0, label 0, logit -1000") {
        loss.gamma = 0.0f;
        const auto result = compute<1>(loss, {-1000.0f}, 0);
        CHECK(result.loss == 0.0f);
        CHECK(result.gradient.values[0] == 0.0f);
    }
    SUBCASE("gamma 2, label 0, logit 1000") {
        loss.gamma = 2.0f;
        const auto result = compute<1>(loss, {1000.0f}, 0);
        CHECK(result.loss == relative(1000.0));
        CHECK(result.gradient.values[0] == relative(1.0));
    }
}

TEST_CASE("binary focal loss with gamma 0 and no alpha is binary cross-entropy") {
    microfit::BinaryFocalLoss focal;
    focal.gamma = 0.0f;
    for (float logit : {-20.0f, -7.0f, -0.4f, 0.0f, 0.7f, 3.0f, 20.0f}) {
        for (std::int32_t label : {0, 1}) {
            CAPTURE(logit);
            CAPTURE(label);
            const auto expected = compute<1>(microfit::BinaryCrossentropy{}, {logit}, label);
            const auto actual = compute<1>(focal, {logit}, label);
            CHECK(actual.loss == relative(expected.loss));
            CHECK(actual.gradient.values[0] == relative(expected.gradient.values[0]));
        }
    }
}

TEST_CASE("categorical focal loss gradient matches central differences") {
    const std::array<std::array<float, 4>, 3> logit_rows = {{
        {0.3f, -1.2f, 2.0f, 0.5f},
        {4.0f, -2.0f, 0.0f, 1.0f},
        {-0.1f, 0.1f, 0.05f, -0.05f},
    }};
    const float alpha[4] = {0.25f, 1.0f, 2.0f, 0.5f};
    const double alpha_double[4] = {0.25, 1.0, 2.0, 0.5};

    for (float gamma : {0.0f, 0.5f, 2.0f, 3.0f}) {
        for (bool use_alpha : {false, true}) {
            microfit::CategoricalFocalLoss<4> loss;
            loss.gamma = gamma;
            loss.use_alpha = use_alpha;
            for (std::size_t c = 0; c < 4; ++c) loss.alpha[c] = alpha[c];
            CHECK(loss.validate().ok());
            for (const auto& logits : logit_rows) {
                for (std::int32_t label = 0; label < 4; ++label) {
                    CAPTURE(gamma);
                    CAPTURE(use_alpha);
                    CAPTURE(logits[0]);
                    check_against_reference<4>(loss, logits, label, nullptr, [&](const std::vector<double>& z) {
                        return microfit_test::categorical_focal(z.data(), 4, label, gamma,
                                                                use_alpha ? alpha_double : nullptr);
                    });
                }
            }
        }
    }
}

TEST_CASE("categorical focal loss with gamma 0 and no alpha is cross-entropy") {
    microfit::CategoricalFocalLoss<3> focal;
    focal.gamma = 0.0f;
    const std::array<float, 3> logits = {0.3f, -1.2f, 2.0f};
    for (std::int32_t label = 0; label < 3; ++label) {
        CAPTURE(label);
        const auto expected = compute<3>(microfit::SparseCategoricalCrossentropy{}, logits, label);
        const auto actual = compute<3>(focal, logits, label);
        CHECK(actual.loss == relative(expected.loss));
        for (std::size_t j = 0; j < 3; ++j) {
            CAPTURE(j);
            CHECK(actual.gradient.values[j] == relative(expected.gradient.values[j]));
        }
    }
}

TEST_CASE("categorical focal loss of a certain prediction is finite") {
    microfit::CategoricalFocalLoss<3> loss;
    for (float gamma : {0.0f, 0.5f, 2.0f}) {
        CAPTURE(gamma);
        loss.gamma = gamma;

        // p_y rounds to 1 in float, so q = 1 - p_y is 0 and log p_y / q takes its limit -1.
        const auto certain = compute<3>(loss, {1000.0f, 0.0f, 0.0f}, 0);
        CHECK(certain.loss == 0.0f);
        for (std::size_t j = 0; j < 3; ++j) CHECK(certain.gradient.values[j] == 0.0f);

        // The opposite: p_y underflows, and the loss is -log p_y = 1000.
        const auto wrong = compute<3>(loss, {1000.0f, 0.0f, 0.0f}, 1);
        CHECK(wrong.loss == relative(1000.0));
        CHECK(wrong.gradient.values[0] == relative(1.0));
        CHECK(wrong.gradient.values[1] == relative(-1.0));
        CHECK(wrong.gradient.values[2] == 0.0f);
    }
}

TEST_CASE("weighted cross-entropy matches reference values for each reduction") {
    // Logits [[.2, .3, .5], [.5, .2, .3]], labels [2, 1] and class weights [2, 4, 6] give effective
    // weights [6, 4] and weighted losses 6 * 0.939831 = 5.638986 and 4 * 1.239831 = 4.959324.
    const float class_weight_values[3] = {2.0f, 4.0f, 6.0f};
    const microfit::ClassWeights class_weights{class_weight_values, 3};
    const std::int32_t labels[2] = {2, 1};
    const std::array<std::array<float, 3>, 2> logits = {{{0.2f, 0.3f, 0.5f}, {0.5f, 0.2f, 0.3f}}};

    float losses[2];
    float weights[2];
    for (std::size_t i = 0; i < 2; ++i) {
        losses[i] = compute<3>(microfit::SparseCategoricalCrossentropy{}, logits[i], labels[i]).loss;
        weights[i] = microfit::effective_weight(1.0f, class_weights, labels[i]);
    }
    CHECK(weights[0] == 6.0f);
    CHECK(weights[1] == 4.0f);
    CHECK(weights[0] * losses[0] == relative(5.63898636506676));
    CHECK(weights[1] * losses[1] == relative(4.95932424337784));

    // WeightedMean divides by the weight sum 10, SumOverBatchSize by the batch size 2.
    CHECK(microfit::reduce(losses, weights, 2, microfit::Reduction::weighted_mean) == relative(1.0598310608444599));
    CHECK(microfit::reduce(losses, weights, 2, microfit::Reduction::sum_over_batch_size) ==
          relative(5.2991553042223));
    CHECK(microfit::reduce(losses, weights, 2, microfit::Reduction::sum) == relative(10.5983106084446));
}

TEST_CASE("sample-weighted squared error matches reference values for each reduction") {
    // Predictions [1, 2, 3] against targets [1, 4, 5] give per-sample losses [0, 4, 4].
    const std::array<float, 3> predictions = {1.0f, 2.0f, 3.0f};
    const float targets[3] = {1.0f, 4.0f, 5.0f};
    float losses[3];
    for (std::size_t i = 0; i < 3; ++i) {
        losses[i] = compute<1>(microfit::MeanSquaredError{}, {predictions[i]}, 0, &targets[i]).loss;
    }
    CHECK(losses[0] == 0.0f);
    CHECK(losses[1] == 4.0f);
    CHECK(losses[2] == 4.0f);

    // Weighted sum 0.1 * 4 = 0.4, weight sum 0.2, batch size 3.
    const float weights[3] = {0.1f, 0.0f, 0.1f};
    CHECK(microfit::reduce(losses, weights, 3, microfit::Reduction::sum_over_batch_size) == relative(0.4 / 3.0));
    CHECK(microfit::reduce(losses, weights, 3, microfit::Reduction::weighted_mean) == relative(2.0));
    CHECK(microfit::reduce(losses, weights, 3, microfit::Reduction::sum) == relative(0.4));
}

TEST_CASE("sample-weighted absolute error matches reference values") {
    // Predictions [2, 3] against targets [1, 2] give per-sample losses [1, 1].
    const float targets[2] = {1.0f, 2.0f};
    float losses[2];
    losses[0] = compute<1>(microfit::MeanAbsoluteError{}, {2.0f}, 0, &targets[0]).loss;
    losses[1] = compute<1>(microfit::MeanAbsoluteError{}, {3.0f}, 0, &targets[1]).loss;

    const float weights[2] = {0.0f, 1.0f};
    CHECK(microfit::reduce(losses, weights, 2, microfit::Reduction::sum_over_batch_size) == 0.5f);
    CHECK(microfit::reduce(losses, weights, 2, microfit::Reduction::weighted_mean) == 1.0f);
}

TEST_CASE("sample weight 0 zeroes the reduced loss and the gradient scale") {
    const auto result = compute<3>(microfit::SparseCategoricalCrossentropy{}, {1.0f, 2.0f, 3.0f}, 2);
    CHECK(result.loss == relative(0.4076059644443806));

    const float weight = 0.0f;
    for (auto reduction : {microfit::Reduction::sum_over_batch_size, microfit::Reduction::weighted_mean,
                           microfit::Reduction::sum}) {
        CAPTURE(microfit::reduction_name(reduction));
        CHECK(microfit::reduce(&result.loss, &weight, 1, reduction) == 0.0f);
        // The trainer multiplies the gradient by the factor.
        float factor = 1.0f;
        microfit::gradient_factors(&weight, 1, reduction, &factor);
        CHECK(factor == 0.0f);
    }
}

TEST_CASE("weighted mean of weights summing to 0 is 0, not NaN") {
    const float losses[3] = {1.0f, 2.0f, 3.0f};
    const float weights[3] = {0.0f, 0.0f, 0.0f};
    CHECK(microfit::reduce(losses, weights, 3, microfit::Reduction::weighted_mean) == 0.0f);
    float factors[3] = {1.0f, 1.0f, 1.0f};
    microfit::gradient_factors(weights, 3, microfit::Reduction::weighted_mean, factors);
    CHECK(factors[0] == 0.0f);
    CHECK(factors[1] == 0.0f);
    CHECK(factors[2] == 0.0f);
    CHECK(microfit::reduce(losses, weights, 3, microfit::Reduction::sum_over_batch_size) == 0.0f);
}

TEST_CASE("gradient factors sum to the derivative of the reduced loss") {
    const float losses[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    const float weights[4] = {0.5f, 1.0f, 2.0f, 0.5f};
    // Weighted sum 0.5 + 2 + 6 + 2 = 10.5, weight sum 4, batch size 4: the reduced loss is
    // sum(factor_i * l_i), since every reduction is linear in the losses.
    for (auto reduction : {microfit::Reduction::sum_over_batch_size, microfit::Reduction::weighted_mean,
                           microfit::Reduction::sum}) {
        CAPTURE(microfit::reduction_name(reduction));
        float factors[4];
        microfit::gradient_factors(weights, 4, reduction, factors);
        double reduced = 0.0;
        for (int i = 0; i < 4; ++i) reduced += static_cast<double>(factors[i]) * losses[i];
        CHECK(microfit::reduce(losses, weights, 4, reduction) == relative(reduced));
    }
    float factors[5];
    microfit::gradient_factors(weights, 4, microfit::Reduction::sum_over_batch_size, factors);
    CHECK(factors[2] == 0.5f);  // 2 / 4
    microfit::gradient_factors(weights, 4, microfit::Reduction::weighted_mean, factors);
    CHECK(factors[2] == 0.5f);  // 2 / 4
    microfit::gradient_factors(nullptr, 5, microfit::Reduction::weighted_mean, factors);
    CHECK(factors[4] == 0.2f);
    microfit::gradient_factors(weights, 4, microfit::Reduction::sum, factors);
    CHECK(factors[2] == 2.0f);
}

TEST_CASE("weighted mean gradient factors of tiny weights stay finite") {
    // Four weights of the smallest float sum to 5.6e-45, whose reciprocal overflows float.
    const float tiny = std::numeric_limits<float>::denorm_min();
    float weights[4] = {tiny, tiny, tiny, tiny};
    microfit::gradient_factors(weights, 4, microfit::Reduction::weighted_mean, weights);
    for (const float factor : weights) CHECK(factor == 0.25f);
}
