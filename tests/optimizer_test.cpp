// Optimizers: one and two steps of SGD with momentum and of Adam against values worked out by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "microfit/optimizer.hpp"
#include "reference.hpp"

namespace {

using microfit_test::relative;

/// Parameters per test buffer: a whole number of vectors for every SIMD width up to AVX-512.
constexpr std::size_t parameter_floats = 16;

struct Buffers {
    alignas(64) float parameters[parameter_floats] = {};
    alignas(64) float gradients[parameter_floats] = {};
};

/// Checks that the lanes past the first `used` stayed 0: zero gradients and zero state leave them
/// unchanged, which keeps the padding of a model's parameter array at 0.
void check_unused_lanes_are_zero(const Buffers& buffers, std::size_t used) {
    for (std::size_t i = used; i < parameter_floats; ++i) {
        CAPTURE(i);
        CHECK(buffers.parameters[i] == 0.0f);
    }
}

/// Runs two Adam steps on two parameters: lane 0 starts at 0 with gradients 0.5 then -0.2, lane 1
/// starts at 1 with gradients -2 then -2. Writes the parameters after each step.
void two_adam_steps(const microfit::Adam& adam, float (&after_first)[2], float (&after_second)[2]) {
    Buffers buffers;
    microfit::Adam::State<parameter_floats> state;
    buffers.parameters[1] = 1.0f;

    buffers.gradients[0] = 0.5f;
    buffers.gradients[1] = -2.0f;
    adam.step(buffers.parameters, buffers.gradients, state);
    CHECK(state.steps == 1);
    after_first[0] = buffers.parameters[0];
    after_first[1] = buffers.parameters[1];

    buffers.gradients[0] = -0.2f;
    buffers.gradients[1] = -2.0f;
    adam.step(buffers.parameters, buffers.gradients, state);
    CHECK(state.steps == 2);
    after_second[0] = buffers.parameters[0];
    after_second[1] = buffers.parameters[1];

    check_unused_lanes_are_zero(buffers, 2);
}

microfit::Adam adam_with(microfit::AdamEpsilon form, float epsilon) {
    microfit::Adam adam;
    adam.learning_rate = 0.1f;
    adam.beta1 = 0.9f;
    adam.beta2 = 0.999f;
    adam.epsilon = epsilon;
    adam.epsilon_form = form;
    return adam;
}

}  // namespace

TEST_CASE("sgd with momentum matches two steps worked by hand") {
    // v = momentum v + g, p = p - lr v, with lr 0.1 and momentum 0.9.
    // Lane 0: p = 1, g = 0.5:  v = 0.5,                p = 1 - 0.05 = 0.95,
    //         then g = -0.2:   v = 0.45 - 0.2 = 0.25,   p = 0.95 - 0.025 = 0.925.
    // Lane 1: p = -2, g = 1:   v = 1,                  p = -2 - 0.1 = -2.1,
    //          then g = 1:     v = 0.9 + 1 = 1.9,      p = -2.1 - 0.19 = -2.29.
    // Keras's form v' = 0.9 v' - 0.1 g, p = p + v' gives v' = -0.05, then -0.045 + 0.02 = -0.025 on
    // lane 0: the same parameters.
    microfit::Sgd sgd;
    sgd.learning_rate = 0.1f;
    sgd.momentum = 0.9f;
    CHECK(sgd.validate().ok());

    Buffers buffers;
    microfit::Sgd::State<parameter_floats> state;
    buffers.parameters[0] = 1.0f;
    buffers.parameters[1] = -2.0f;

    buffers.gradients[0] = 0.5f;
    buffers.gradients[1] = 1.0f;
    sgd.step(buffers.parameters, buffers.gradients, state);
    CHECK(state.velocity[0] == relative(0.5));
    CHECK(state.velocity[1] == relative(1.0));
    CHECK(buffers.parameters[0] == relative(0.95));
    CHECK(buffers.parameters[1] == relative(-2.1));

    buffers.gradients[0] = -0.2f;
    buffers.gradients[1] = 1.0f;
    sgd.step(buffers.parameters, buffers.gradients, state);
    CHECK(state.velocity[0] == relative(0.25));
    CHECK(state.velocity[1] == relative(1.9));
    CHECK(buffers.parameters[0] == relative(0.925));
    CHECK(buffers.parameters[1] == relative(-2.29));
    CHECK(state.steps == 2);

    check_unused_lanes_are_zero(buffers, 2);
}

TEST_CASE("sgd without momentum steps against the gradient") {
    microfit::Sgd sgd;
    sgd.learning_rate = 0.5f;
    Buffers buffers;
    microfit::Sgd::State<parameter_floats> state;
    buffers.parameters[0] = 3.0f;
    buffers.gradients[0] = 2.0f;
    sgd.step(buffers.parameters, buffers.gradients, state);
    CHECK(buffers.parameters[0] == 2.0f);  // 3 - 0.5 * 2
    sgd.step(buffers.parameters, buffers.gradients, state);
    CHECK(buffers.parameters[0] == 1.0f);  // no velocity is kept
}

TEST_CASE("adam in the pytorch form matches two steps worked by hand") {
    // lr 0.1, beta1 0.9, beta2 0.999, eps 0.1, and p -= lr m_hat / (sqrt(v_hat) + eps).
    // Lane 0, step 1, g = 0.5: m = 0.1 * 0.5 = 0.05, v = 0.001 * 0.25 = 0.00025,
    //   m_hat = 0.05 / 0.1 = 0.5, v_hat = 0.00025 / 0.001 = 0.25, sqrt 0.5,
    //   step = 0.1 * 0.5 / 0.6 = 0.0833333, p = -0.0833333.
    // Lane 0, step 2, g = -0.2: m = 0.045 - 0.02 = 0.025, v = 0.00024975 + 0.00004 = 0.00028975,
    //   c1 = 1 - 0.81 = 0.19, c2 = 1 - 0.998001 = 0.001999,
    //   m_hat = 0.1315789, v_hat = 0.1449475, sqrt 0.3807197,
    //   step = 0.1 * 0.1315789 / 0.4807197 = 0.0273712, p = -0.1107046.
    // Lane 1 has a constant g = -2, so m_hat = -2 and v_hat = 4 at every step:
    //   step = 0.1 * -2 / (2 + 0.1) = -0.0952381, p = 1.0952381, then 1.1904762.
    float first[2];
    float second[2];
    two_adam_steps(adam_with(microfit::AdamEpsilon::pytorch, 0.1f), first, second);
    CHECK(first[0] == relative(-0.0833333333));
    CHECK(second[0] == relative(-0.110704575));
    CHECK(first[1] == relative(1.0952381));
    CHECK(second[1] == relative(1.19047619));
}

TEST_CASE("adam in the keras form matches two steps worked by hand") {
    // lr 0.1, beta1 0.9, beta2 0.999, eps 0.1, and p -= lr sqrt(c2) / c1 * m / (sqrt(v) + eps).
    // Lane 0, step 1, g = 0.5: m = 0.05, v = 0.00025, sqrt(v) = 0.0158114,
    //   lr sqrt(0.001) / 0.1 = 0.0316228, step = 0.0316228 * 0.05 / 0.1158114 = 0.0136527,
    //   p = -0.0136527.
    // Lane 0, step 2, g = -0.2: m = 0.025, v = 0.00028975, sqrt(v) = 0.0170220,
    //   lr sqrt(0.001999) / 0.19 = 0.0235317, step = 0.0235317 * 0.025 / 0.1170220 = 0.0050272,
    //   p = -0.0186799.
    // Lane 1, g = -2 twice: m = -0.2, v = 0.004, sqrt(v) = 0.0632456,
    //   step = 0.0316228 * -0.2 / 0.1632456 = -0.0387426, p = 1.0387426,
    //   then m = -0.38, v = 0.007996, sqrt(v) = 0.0894204,
    //   step = 0.0235317 * -0.38 / 0.1894204 = -0.0472074, p = 1.0859500.
    float first[2];
    float second[2];
    two_adam_steps(adam_with(microfit::AdamEpsilon::keras, 0.1f), first, second);
    CHECK(first[0] == relative(-0.0136527059));
    CHECK(second[0] == relative(-0.0186798939));
    CHECK(first[1] == relative(1.03874259));
    CHECK(second[1] == relative(1.08594995));
}

TEST_CASE("adam epsilon forms differ when epsilon is large") {
    float pytorch_first[2];
    float pytorch_second[2];
    float keras_first[2];
    float keras_second[2];
    two_adam_steps(adam_with(microfit::AdamEpsilon::pytorch, 0.1f), pytorch_first, pytorch_second);
    two_adam_steps(adam_with(microfit::AdamEpsilon::keras, 0.1f), keras_first, keras_second);

    // -0.0833 against -0.0137 after one step: the keras form divides m by sqrt(v) + eps, where
    // sqrt(v) is about 30 times smaller than sqrt(v_hat), so eps damps it far more.
    CHECK(pytorch_first[0] - keras_first[0] < -0.05f);
    CHECK(pytorch_second[0] - keras_second[0] < -0.05f);
    CHECK(pytorch_second[1] - keras_second[1] > 0.05f);
}

TEST_CASE("adam epsilon forms agree when epsilon is negligible") {
    // With eps 1e-8 both forms take steps of lr * m_hat / sqrt(v_hat): 0.1, then 0.0345606.
    float pytorch_first[2];
    float pytorch_second[2];
    float keras_first[2];
    float keras_second[2];
    two_adam_steps(adam_with(microfit::AdamEpsilon::pytorch, 1e-8f), pytorch_first, pytorch_second);
    two_adam_steps(adam_with(microfit::AdamEpsilon::keras, 1e-8f), keras_first, keras_second);
    CHECK(pytorch_first[0] == relative(-0.1));
    CHECK(keras_first[0] == relative(-0.1));
    CHECK(pytorch_second[0] == relative(-0.134560582));
    CHECK(keras_second[0] == relative(-0.134560501));
}

TEST_CASE("adam defaults are pytorch's") {
    const microfit::Adam adam;
    CHECK(adam.learning_rate == 1e-3f);
    CHECK(adam.beta1 == 0.9f);
    CHECK(adam.beta2 == 0.999f);
    CHECK(adam.epsilon == 1e-8f);
    CHECK(adam.epsilon_form == microfit::AdamEpsilon::pytorch);
    CHECK(adam.validate().ok());
}

TEST_CASE("adam bias corrections match std::pow and std::sqrt") {
    // Adam computes beta^t by repeated squaring and the square root from the float one, to link
    // no libm code on FPUs without double precision. The corrections stay within 1e-12 of the
    // libm results and round to the same floats for these betas over the first 20,000 steps.
    for (const float beta : {0.9f, 0.99f, 0.999f, 0.9999f}) {
        int different_floats = 0;
        for (std::uint32_t t = 1; t <= 20000; ++t) {
            const double expected = 1.0 - std::pow(static_cast<double>(beta), static_cast<double>(t));
            const double correction = 1.0 - microfit::detail::power(static_cast<double>(beta), t);
            const double root = microfit::detail::square_root(correction);
            if (!(std::fabs(correction - expected) <= 1e-12 * expected) ||
                !(std::fabs(root - std::sqrt(expected)) <= 1e-12 * std::sqrt(expected)) ||
                static_cast<float>(correction) != static_cast<float>(expected) ||
                static_cast<float>(1.0 / root) != static_cast<float>(1.0 / std::sqrt(expected))) {
                ++different_floats;
            }
        }
        CHECK_MESSAGE(different_floats == 0, "beta " << beta);
    }
    CHECK(microfit::detail::power(0.5, 0) == 1.0);
    CHECK(microfit::detail::power(0.5, 10) == 0x1p-10);
    CHECK(microfit::detail::square_root(0.25) == 0.5);
}

TEST_CASE("adam step count saturates instead of wrapping to 0") {
    // A checkpoint can carry any step count. At 2^32 - 1 the next step must not wrap to 0, where
    // the bias corrections 1 - beta^0 would divide by 0.
    microfit::Adam adam;
    microfit::Adam::State<parameter_floats> state;
    state.steps = UINT32_MAX;
    Buffers b;
    b.parameters[0] = 1.0f;
    b.gradients[0] = 0.5f;
    adam.step(b.parameters, b.gradients, state);
    CHECK(state.steps == UINT32_MAX);
    // m = 0.05, v = 0.00025 and both corrections are 1: p = 1 - 0.001 * 0.05 / (sqrt(0.00025) + 1e-8).
    const double expected = 1.0 - 0.001 * 0.05 / (std::sqrt(0.00025) + 1e-8);
    CHECK(b.parameters[0] == relative(expected));
}
