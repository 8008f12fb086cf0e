// Layers: forward passes against double-precision references, and gradient checks of every
// layer against central differences. Each check uses the objective L = sum over rows and outputs
// of c[r][j] * y[r][j] with fixed random c, so that dL/dy = c is the upstream gradient.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "microfit/layers.hpp"
#include "microfit/sequential.hpp"
#include "reference.hpp"

namespace {

using microfit_test::AlignedFloats;
using microfit_test::gradient_component;
using microfit_test::largest_magnitude;
using microfit_test::numerical_gradient;
using microfit_test::relative;

constexpr float quiet_nan = std::numeric_limits<float>::quiet_NaN();

/// Forward and backward pass of Dense<In, Out> on `batch` random rows, checked against a double
/// reference: outputs, weight and bias gradients, input gradients, and the padding contracts.
template <std::size_t In, std::size_t Out>
void check_dense(std::size_t batch, std::uint64_t seed) {
    using Layer = microfit::detail::DenseLayer<In, Out>;
    constexpr std::size_t in_stride = Layer::input_stride;
    constexpr std::size_t out_stride = Layer::output_stride;
    CAPTURE(In);
    CAPTURE(Out);
    CAPTURE(batch);

    microfit::Random random(seed);
    AlignedFloats p(Layer::parameter_floats);
    Layer::initialize(p.data(), random);
    for (std::size_t j = 0; j < Out; ++j) p[Layer::bias_offset + j] = random.uniform(-0.5f, 0.5f);

    // Padding lanes of x are documented as never read, so they hold NaN here. Padding lanes of dy
    // must be 0.
    AlignedFloats x(batch * in_stride, quiet_nan);
    AlignedFloats dy(batch * out_stride);
    for (std::size_t r = 0; r < batch; ++r) {
        for (std::size_t k = 0; k < In; ++k) x[r * in_stride + k] = random.uniform(-1.0f, 1.0f);
        for (std::size_t j = 0; j < Out; ++j) dy[r * out_stride + j] = random.uniform(-1.0f, 1.0f);
    }

    AlignedFloats y(batch * out_stride, quiet_nan);
    Layer::forward(p.data(), x.data(), y.data(), batch);
    for (std::size_t r = 0; r < batch; ++r) {
        for (std::size_t j = 0; j < Out; ++j) {
            double expected = p[Layer::bias_offset + j];
            double magnitude = std::fabs(expected);
            for (std::size_t k = 0; k < In; ++k) {
                const double term = static_cast<double>(x[r * in_stride + k]) * p[k * out_stride + j];
                expected += term;
                magnitude += std::fabs(term);
            }
            CAPTURE(r);
            CAPTURE(j);
            // A sum of In + 1 terms is accurate to a few ulps of the sum of their magnitudes.
            CHECK(y[r * out_stride + j] == doctest::Approx(expected).epsilon(1e-5).scale(magnitude));
        }
        for (std::size_t j = Out; j < out_stride; ++j) CHECK(y[r * out_stride + j] == 0.0f);
    }

    AlignedFloats g(Layer::parameter_floats);
    AlignedFloats dx(batch * in_stride, quiet_nan);
    Layer::backward(p.data(), g.data(), x.data(), y.data(), dy.data(), dx.data(), batch);

    // Variables of the reference objective: weights [In][Out], then biases [Out], then inputs
    // [batch][In]. L is linear in each, so central differences are exact up to rounding.
    const std::size_t weight_count = In * Out;
    std::vector<double> variables;
    for (std::size_t k = 0; k < In; ++k) {
        for (std::size_t j = 0; j < Out; ++j) variables.push_back(p[k * out_stride + j]);
    }
    for (std::size_t j = 0; j < Out; ++j) variables.push_back(p[Layer::bias_offset + j]);
    for (std::size_t r = 0; r < batch; ++r) {
        for (std::size_t k = 0; k < In; ++k) variables.push_back(x[r * in_stride + k]);
    }
    const auto objective = [&](const std::vector<double>& v) {
        double total = 0.0;
        for (std::size_t r = 0; r < batch; ++r) {
            for (std::size_t j = 0; j < Out; ++j) {
                double output = v[weight_count + j];
                for (std::size_t k = 0; k < In; ++k) output += v[weight_count + Out + r * In + k] * v[k * Out + j];
                total += dy[r * out_stride + j] * output;
            }
        }
        return total;
    };
    const std::vector<double> expected = numerical_gradient(variables, objective);

    const double largest = largest_magnitude(expected);
    for (std::size_t k = 0; k < In; ++k) {
        for (std::size_t j = 0; j < Out; ++j) {
            CAPTURE(k);
            CAPTURE(j);
            CHECK(g[k * out_stride + j] == gradient_component(expected[k * Out + j], largest));
        }
        for (std::size_t j = Out; j < out_stride; ++j) CHECK(g[k * out_stride + j] == 0.0f);
    }
    for (std::size_t j = 0; j < Out; ++j) {
        CAPTURE(j);
        CHECK(g[Layer::bias_offset + j] == gradient_component(expected[weight_count + j], largest));
    }
    for (std::size_t j = Out; j < out_stride; ++j) CHECK(g[Layer::bias_offset + j] == 0.0f);
    for (std::size_t r = 0; r < batch; ++r) {
        for (std::size_t k = 0; k < In; ++k) {
            CAPTURE(r);
            CAPTURE(k);
            CHECK(dx[r * in_stride + k] == gradient_component(expected[weight_count + Out + r * In + k], largest));
        }
        for (std::size_t k = In; k < in_stride; ++k) CHECK(dx[r * in_stride + k] == 0.0f);
    }
}

/// Forward and backward pass of an activation layer of width `Width` on `batch` rows of `inputs`
/// (row-major [batch][Width]), checked against `reference`, which maps one row of inputs in double
/// to one row of outputs.
template <class Layer, std::size_t Width, class Reference>
void check_activation(const std::vector<float>& inputs, std::size_t batch, std::uint64_t seed, Reference&& reference) {
    constexpr std::size_t stride = Layer::output_stride;
    static_assert(Layer::input_stride == stride, "an activation keeps its width");
    CAPTURE(batch);

    // Padding lanes are 0 in x, as a Dense layer before the activation writes them, and must be 0
    // in dy.
    microfit::Random random(seed);
    AlignedFloats x(batch * stride);
    AlignedFloats dy(batch * stride);
    for (std::size_t r = 0; r < batch; ++r) {
        for (std::size_t j = 0; j < Width; ++j) {
            x[r * stride + j] = inputs[r * Width + j];
            dy[r * stride + j] = random.uniform(-1.0f, 1.0f);
        }
    }

    AlignedFloats y(batch * stride, quiet_nan);
    Layer::forward(nullptr, x.data(), y.data(), batch);
    for (std::size_t r = 0; r < batch; ++r) {
        const std::vector<double> row(inputs.begin() + static_cast<std::ptrdiff_t>(r * Width),
                                      inputs.begin() + static_cast<std::ptrdiff_t>((r + 1) * Width));
        const std::vector<double> expected = reference(row);
        for (std::size_t j = 0; j < Width; ++j) {
            CAPTURE(r);
            CAPTURE(j);
            if (expected[j] == 0.0) {
                CHECK(y[r * stride + j] == 0.0f);
            } else {
                CHECK(y[r * stride + j] == relative(expected[j]));
            }
        }
    }

    AlignedFloats dx(batch * stride, quiet_nan);
    Layer::backward(nullptr, nullptr, x.data(), y.data(), dy.data(), dx.data(), batch);

    for (std::size_t r = 0; r < batch; ++r) {
        const std::vector<double> row(inputs.begin() + static_cast<std::ptrdiff_t>(r * Width),
                                      inputs.begin() + static_cast<std::ptrdiff_t>((r + 1) * Width));
        const auto objective = [&](const std::vector<double>& v) {
            const std::vector<double> output = reference(v);
            double total = 0.0;
            for (std::size_t j = 0; j < Width; ++j) total += dy[r * stride + j] * output[j];
            return total;
        };
        const std::vector<double> expected = numerical_gradient(row, objective);
        const double largest = largest_magnitude(expected);
        for (std::size_t j = 0; j < Width; ++j) {
            CAPTURE(r);
            CAPTURE(j);
            CHECK(dx[r * stride + j] == gradient_component(expected[j], largest));
        }
        for (std::size_t j = Width; j < stride; ++j) CHECK(dx[r * stride + j] == 0.0f);
    }
}

/// Rows of inputs in [-limit, limit], each at least `margin` away from 0.
std::vector<float> random_inputs(std::size_t count, float limit, float margin, std::uint64_t seed) {
    microfit::Random random(seed);
    std::vector<float> values(count);
    for (float& v : values) {
        do {
            v = random.uniform(-limit, limit);
        } while (std::fabs(v) < margin);
    }
    return values;
}

std::vector<double> relu_reference(const std::vector<double>& x) {
    std::vector<double> y(x.size());
    for (std::size_t j = 0; j < x.size(); ++j) y[j] = x[j] > 0.0 ? x[j] : 0.0;
    return y;
}

std::vector<double> sigmoid_reference(const std::vector<double>& x) {
    std::vector<double> y(x.size());
    for (std::size_t j = 0; j < x.size(); ++j) y[j] = 1.0 / (1.0 + std::exp(-x[j]));
    return y;
}

std::vector<double> tanh_reference(const std::vector<double>& x) {
    std::vector<double> y(x.size());
    for (std::size_t j = 0; j < x.size(); ++j) y[j] = std::tanh(x[j]);
    return y;
}

std::vector<double> softmax_reference(const std::vector<double>& x) {
    const double lse = microfit_test::log_sum_exp(x.data(), x.size());
    std::vector<double> y(x.size());
    for (std::size_t j = 0; j < x.size(); ++j) y[j] = std::exp(x[j] - lse);
    return y;
}

}  // namespace

TEST_CASE("dense layer gradients match central differences") {
    for (std::size_t batch : {1u, 3u, 13u}) {
        check_dense<1, 1>(batch, 1);
        check_dense<3, 5>(batch, 2);
        check_dense<5, 7>(batch, 3);
        check_dense<9, 17>(batch, 4);
        check_dense<16, 8>(batch, 5);
        check_dense<20, 3>(batch, 6);
        check_dense<33, 2>(batch, 7);
    }
}

TEST_CASE("dense layer backward accumulates into the gradient buffer") {
    using Layer = microfit::detail::DenseLayer<3, 2>;
    constexpr std::size_t batch = 2;
    microfit::Random random(11);
    AlignedFloats p(Layer::parameter_floats);
    Layer::initialize(p.data(), random);
    AlignedFloats x(batch * Layer::input_stride);
    AlignedFloats dy(batch * Layer::output_stride);
    for (std::size_t r = 0; r < batch; ++r) {
        for (std::size_t k = 0; k < 3; ++k) x[r * Layer::input_stride + k] = random.uniform(-1.0f, 1.0f);
        for (std::size_t j = 0; j < 2; ++j) dy[r * Layer::output_stride + j] = random.uniform(-1.0f, 1.0f);
    }
    AlignedFloats y(batch * Layer::output_stride);
    Layer::forward(p.data(), x.data(), y.data(), batch);

    AlignedFloats once(Layer::parameter_floats);
    Layer::backward(p.data(), once.data(), x.data(), y.data(), dy.data(), nullptr, batch);
    AlignedFloats twice(Layer::parameter_floats);
    Layer::backward(p.data(), twice.data(), x.data(), y.data(), dy.data(), nullptr, batch);
    Layer::backward(p.data(), twice.data(), x.data(), y.data(), dy.data(), nullptr, batch);

    // Weight (0, 0) gets x[0][0] dy[0][0] + x[1][0] dy[1][0] per pass.
    const double expected = static_cast<double>(x[0]) * dy[0] +
                            static_cast<double>(x[Layer::input_stride]) * dy[Layer::output_stride];
    CHECK(once[0] == relative(expected));
    for (std::size_t i = 0; i < Layer::parameter_floats; ++i) {
        CAPTURE(i);
        if (once[i] == 0.0f) {
            CHECK(twice[i] == 0.0f);
        } else {
            CHECK(twice[i] == relative(2.0 * once[i]));
        }
    }
}

TEST_CASE("relu input gradient matches central differences away from the kink") {
    // Every input is at least 0.05 away from 0, far more than the difference step of 1e-5.
    constexpr std::size_t width = 7;
    for (std::size_t batch : {1u, 4u}) {
        check_activation<microfit::detail::ReluLayer<width>, width>(random_inputs(batch * width, 3.0f, 0.05f, 21), batch,
                                                                    22, relu_reference);
    }
}

TEST_CASE("relu gradient at 0 is 0") {
    using Layer = microfit::detail::ReluLayer<1>;
    AlignedFloats x(Layer::output_stride);
    AlignedFloats y(Layer::output_stride);
    AlignedFloats dy(Layer::output_stride);
    AlignedFloats dx(Layer::output_stride, quiet_nan);
    dy[0] = 1.0f;
    Layer::forward(nullptr, x.data(), y.data(), 1);
    Layer::backward(nullptr, nullptr, x.data(), y.data(), dy.data(), dx.data(), 1);
    CHECK(y[0] == 0.0f);
    CHECK(dx[0] == 0.0f);
}

TEST_CASE("sigmoid input gradient matches central differences") {
    constexpr std::size_t width = 7;
    for (std::size_t batch : {1u, 4u}) {
        check_activation<microfit::detail::SigmoidLayer<width>, width>(random_inputs(batch * width, 6.0f, 0.0f, 31),
                                                                       batch, 32, sigmoid_reference);
    }
}

TEST_CASE("tanh input gradient matches central differences") {
    constexpr std::size_t width = 7;
    for (std::size_t batch : {1u, 4u}) {
        check_activation<microfit::detail::TanhLayer<width>, width>(random_inputs(batch * width, 3.0f, 0.0f, 41), batch,
                                                                    42, tanh_reference);
    }
}

TEST_CASE("softmax input gradient matches central differences") {
    for (std::size_t batch : {1u, 4u}) {
        check_activation<microfit::detail::SoftmaxLayer<3>, 3>(random_inputs(batch * 3, 4.0f, 0.0f, 51), batch, 52,
                                                               softmax_reference);
        check_activation<microfit::detail::SoftmaxLayer<10>, 10>(random_inputs(batch * 10, 4.0f, 0.0f, 53), batch, 54,
                                                                 softmax_reference);
    }
}

TEST_CASE("activations of saturated inputs are finite") {
    constexpr std::size_t width = 4;
    const float inputs[width] = {-1000.0f, -100.0f, 100.0f, 1000.0f};

    using Sigmoid = microfit::detail::SigmoidLayer<width>;
    AlignedFloats x(Sigmoid::output_stride);
    for (std::size_t j = 0; j < width; ++j) x[j] = inputs[j];
    AlignedFloats y(Sigmoid::output_stride, quiet_nan);
    Sigmoid::forward(nullptr, x.data(), y.data(), 1);
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == 0.0f);  // exp(100) overflows float to inf, and 1 / inf is 0
    CHECK(y[2] == 1.0f);
    CHECK(y[3] == 1.0f);

    using Tanh = microfit::detail::TanhLayer<width>;
    Tanh::forward(nullptr, x.data(), y.data(), 1);
    CHECK(y[0] == -1.0f);
    CHECK(y[1] == -1.0f);
    CHECK(y[2] == 1.0f);
    CHECK(y[3] == 1.0f);

    using Softmax = microfit::detail::SoftmaxLayer<width>;
    Softmax::forward(nullptr, x.data(), y.data(), 1);
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == 0.0f);
    CHECK(y[2] == 0.0f);
    CHECK(y[3] == 1.0f);
}

TEST_CASE("dense initialization is Glorot uniform with zero biases") {
    using Layer = microfit::detail::DenseLayer<30, 16>;
    const float limit = std::sqrt(6.0f / 46.0f);
    AlignedFloats p(Layer::parameter_floats, quiet_nan);
    microfit::Random random(5);
    Layer::initialize(p.data(), random);

    double sum = 0.0;
    double sum_of_squares = 0.0;
    for (std::size_t k = 0; k < 30; ++k) {
        for (std::size_t j = 0; j < Layer::output_stride; ++j) {
            const float w = p[k * Layer::output_stride + j];
            CAPTURE(k);
            CAPTURE(j);
            if (j >= 16) {
                CHECK(w == 0.0f);
                continue;
            }
            CHECK(w >= -limit);
            CHECK(w < limit);
            sum += w;
            sum_of_squares += static_cast<double>(w) * w;
        }
    }
    for (std::size_t i = 30 * Layer::output_stride; i < Layer::parameter_floats; ++i) CHECK(p[i] == 0.0f);

    // 480 draws of U(-a, a): mean 0 with standard error a / sqrt(3 * 480) = 0.0095, variance
    // a^2 / 3 = 0.0435 with standard error about 0.0018. Five standard errors either way.
    const double n = 480.0;
    CHECK(std::fabs(sum / n) < 5 * 0.0095);
    CHECK(std::fabs(sum_of_squares / n - limit * limit / 3.0) < 5 * 0.0018);
}

TEST_CASE("sequential model places each layer's parameters at its offset") {
    using Model = microfit::Sequential<microfit::Dense<3, 5>, microfit::Relu, microfit::Dense<5, 2>>;
    static_assert(Model::parameter_count == 3 * 5 + 5 + 5 * 2 + 2, "Keras counts 32 parameters");
    static_assert(Model::input_size == 3 && Model::output_size == 2, "sizes come from the Dense layers");
    static_assert(Model::parameter_offset<1>() == Model::parameter_offset<2>(), "Relu has no parameters");
    static_assert(Model::parameter_offset<0>() == 0, "the first layer starts the array");
    static_assert(Model::parameter_capacity >= Model::parameter_count, "padding only adds floats");

    Model model(3);
    model.weight<2>(4, 1) = 42.0f;
    model.bias<2>(1) = -7.0f;
    model.bias<0>(4) = 9.0f;
    using Output = Model::Layer<2>;
    CHECK(model.layer_parameters<2>()[4 * Output::output_stride + 1] == 42.0f);
    CHECK(model.parameters()[Model::parameter_offset<2>() + Output::bias_offset + 1] == -7.0f);
    CHECK(model.parameters()[Model::Layer<0>::bias_offset + 4] == 9.0f);

    // Keras's Dense initializes biases to 0.
    CHECK(model.bias<2>(0) == 0.0f);
}

TEST_CASE("sequential shape signature tells apart models of other shapes") {
    using microfit::Dense;
    constexpr std::uint32_t base = microfit::Sequential<Dense<4, 3>, microfit::Relu, Dense<3, 2>>::shape_signature;
    CHECK(base != microfit::Sequential<Dense<4, 3>, microfit::Tanh, Dense<3, 2>>::shape_signature);
    CHECK(base != microfit::Sequential<Dense<4, 2>, microfit::Relu, Dense<2, 2>>::shape_signature);
    CHECK(base != microfit::Sequential<Dense<4, 3>, microfit::Relu, Dense<3, 3>>::shape_signature);
    CHECK(base != microfit::Sequential<Dense<4, 3>, Dense<3, 2>>::shape_signature);
    CHECK(base == microfit::Sequential<Dense<4, 3>, microfit::Relu, Dense<3, 2>>::shape_signature);
}

TEST_CASE("sequential forward pass matches a double reference") {
    using Model = microfit::Sequential<microfit::Dense<5, 6>, microfit::Relu, microfit::Dense<6, 4>, microfit::Sigmoid,
                                       microfit::Dense<4, 4>, microfit::Tanh, microfit::Dense<4, 3>, microfit::Softmax>;
    constexpr std::size_t batch = 5;
    Model model(17);
    microfit::Random random(18);
    for (std::size_t j = 0; j < 6; ++j) model.bias<0>(j) = random.uniform(-0.3f, 0.3f);

    static microfit::Workspace<Model, batch> workspace;
    std::vector<std::vector<double>> rows;
    for (std::size_t r = 0; r < batch; ++r) {
        std::vector<double> row;
        for (std::size_t k = 0; k < 5; ++k) {
            const float value = random.uniform(-2.0f, 2.0f);
            workspace.input()[r * Model::input_stride + k] = value;
            row.push_back(value);
        }
        rows.push_back(row);
    }
    workspace.forward(model, batch);

    const auto layers = microfit_test::describe_model<Model>();
    const std::vector<double> parameters = microfit_test::parameters_of(model);
    for (std::size_t r = 0; r < batch; ++r) {
        const std::vector<double> expected = microfit_test::reference_forward(layers, parameters, rows[r]);
        double total = 0.0;
        for (std::size_t j = 0; j < 3; ++j) {
            CAPTURE(r);
            CAPTURE(j);
            CHECK(workspace.output()[r * Model::output_stride + j] == relative(expected[j]));
            total += workspace.output()[r * Model::output_stride + j];
        }
        CHECK(total == relative(1.0));
    }
}
