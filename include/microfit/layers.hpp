// Layers: Dense and the activations Relu, Sigmoid, Tanh and Softmax.
//
// A layer is declared by the user (`Dense<30, 16>`, `Relu`) and bound by `Sequential` to the width
// of the layer before it, which gives a type with compile-time sizes and four static functions:
//   initialize(parameters, random)
//   forward(parameters, x, y, batch)                  x [batch][input_stride] -> y [batch][output_stride]
//   backward(parameters, gradients, x, y, dy, dx, batch)
// `gradients` are accumulated (+=); `dx` may be null when the input gradient is not needed (the
// first layer). Rows are padded to a whole number of SIMD vectors; padding lanes of dy are 0 and
// padding lanes of dx are written as 0.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "microfit/detail/dense_kernels.hpp"
#include "microfit/detail/simd.hpp"
#include "microfit/detail/softmax.hpp"
#include "microfit/random.hpp"

namespace microfit {

namespace detail {

/// Floats of parameter storage rounded up so that the next layer's parameters stay aligned.
constexpr std::size_t aligned_floats(std::size_t n) noexcept {
    constexpr std::size_t unit = simd::alignment / sizeof(float);
    return (n + unit - 1) / unit * unit;
}

/// Identifiers of layer kinds in a model's shape signature. Stored in parameter records, so the
/// values must never change.
enum class LayerKind : std::uint32_t { dense = 1, relu = 2, sigmoid = 3, tanh = 4, softmax = 5 };

template <std::size_t In, std::size_t Out>
struct DenseLayer {
    static constexpr LayerKind kind = LayerKind::dense;
    static constexpr std::size_t input_size = In;
    static constexpr std::size_t output_size = Out;
    static constexpr std::size_t input_stride = simd::padded(In);
    static constexpr std::size_t output_stride = simd::padded(Out);

    /// Parameter layout: weight [In][output_stride] (input-major, zero padding columns), then bias
    /// [output_stride] at an aligned offset.
    static constexpr std::size_t bias_offset = aligned_floats(In * output_stride);
    static constexpr std::size_t parameter_floats = aligned_floats(bias_offset + output_stride);
    static constexpr std::size_t parameter_count = In * Out + Out;

    /// Glorot (Xavier) uniform weights in [-sqrt(6 / (In + Out)), +sqrt(6 / (In + Out))] and zero
    /// biases, the defaults of Keras's Dense layer. Padding stays 0.
    static void initialize(float* p, Random& random) noexcept {
        const float limit = std::sqrt(6.0f / static_cast<float>(In + Out));
        for (std::size_t i = 0; i < parameter_floats; ++i) p[i] = 0.0f;
        for (std::size_t k = 0; k < In; ++k) {
            for (std::size_t j = 0; j < Out; ++j) p[k * output_stride + j] = random.uniform(-limit, limit);
        }
    }

    static void forward(const float* p, const float* x, float* y, std::size_t batch) noexcept {
        dense_forward<In, input_stride, output_stride>(p, p + bias_offset, x, y, batch);
    }

    static void backward(const float* p, float* g, const float* x, const float* /*y*/, const float* dy, float* dx,
                         std::size_t batch) noexcept {
        dense_backward_weights<In, input_stride, output_stride>(x, dy, g, g + bias_offset, batch);
        if (dx != nullptr) dense_backward_input<In, input_stride, output_stride>(p, dy, dx, batch);
    }
};

/// Shared shape of the parameter-free, elementwise layers.
template <std::size_t Width, LayerKind Kind>
struct ActivationShape {
    static constexpr LayerKind kind = Kind;
    static constexpr std::size_t input_size = Width;
    static constexpr std::size_t output_size = Width;
    static constexpr std::size_t input_stride = simd::padded(Width);
    static constexpr std::size_t output_stride = simd::padded(Width);
    static constexpr std::size_t parameter_floats = 0;
    static constexpr std::size_t parameter_count = 0;

    static void initialize(float* /*p*/, Random& /*random*/) noexcept {}
};

template <std::size_t Width>
struct ReluLayer : ActivationShape<Width, LayerKind::relu> {
    static constexpr std::size_t stride = simd::padded(Width);

    static void forward(const float* /*p*/, const float* x, float* y, std::size_t batch) noexcept {
        const simd::Vec zero = simd::broadcast(0.0f);
        for (std::size_t i = 0; i < batch * stride; i += simd::width) simd::store(y + i, simd::max(simd::load(x + i), zero));
    }

    /// dx = dy where y > 0, else 0 (the subgradient at 0 is taken as 0, as in PyTorch and Keras).
    static void backward(const float* /*p*/, float* /*g*/, const float* /*x*/, const float* y, const float* dy, float* dx,
                         std::size_t batch) noexcept {
        if (dx == nullptr) return;
        const simd::Vec zero = simd::broadcast(0.0f);
        for (std::size_t i = 0; i < batch * stride; i += simd::width) {
            simd::store(dx + i, simd::select(simd::load(y + i) > zero, simd::load(dy + i), zero));
        }
    }
};

template <std::size_t Width>
struct SigmoidLayer : ActivationShape<Width, LayerKind::sigmoid> {
    static constexpr std::size_t stride = simd::padded(Width);

    /// y = 1 / (1 + exp(-x)); exp overflows to inf for x < -88.7, which gives exactly 0.
    static void forward(const float* /*p*/, const float* x, float* y, std::size_t batch) noexcept {
        const simd::Vec one = simd::broadcast(1.0f);
        for (std::size_t i = 0; i < batch * stride; i += simd::width) {
            simd::store(y + i, one / (one + simd::exp(-simd::load(x + i))));
        }
    }

    /// dx = dy * y * (1 - y)
    static void backward(const float* /*p*/, float* /*g*/, const float* /*x*/, const float* y, const float* dy, float* dx,
                         std::size_t batch) noexcept {
        if (dx == nullptr) return;
        const simd::Vec one = simd::broadcast(1.0f);
        for (std::size_t i = 0; i < batch * stride; i += simd::width) {
            const simd::Vec yi = simd::load(y + i);
            simd::store(dx + i, simd::load(dy + i) * yi * (one - yi));
        }
    }
};

template <std::size_t Width>
struct TanhLayer : ActivationShape<Width, LayerKind::tanh> {
    static constexpr std::size_t stride = simd::padded(Width);

    static void forward(const float* /*p*/, const float* x, float* y, std::size_t batch) noexcept {
        for (std::size_t i = 0; i < batch * stride; i += simd::width) simd::store(y + i, simd::tanh(simd::load(x + i)));
    }

    /// dx = dy * (1 - y^2)
    static void backward(const float* /*p*/, float* /*g*/, const float* /*x*/, const float* y, const float* dy, float* dx,
                         std::size_t batch) noexcept {
        if (dx == nullptr) return;
        const simd::Vec one = simd::broadcast(1.0f);
        for (std::size_t i = 0; i < batch * stride; i += simd::width) {
            const simd::Vec yi = simd::load(y + i);
            simd::store(dx + i, simd::load(dy + i) * (one - yi * yi));
        }
    }
};

template <std::size_t Width>
struct SoftmaxLayer : ActivationShape<Width, LayerKind::softmax> {
    static constexpr std::size_t stride = simd::padded(Width);

    static void forward(const float* /*p*/, const float* x, float* y, std::size_t batch) noexcept {
        for (std::size_t r = 0; r < batch; ++r) softmax(x + r * stride, Width, y + r * stride);
    }

    /// dx_i = y_i * (dy_i - sum_j dy_j * y_j), the softmax Jacobian applied to dy.
    static void backward(const float* /*p*/, float* /*g*/, const float* /*x*/, const float* y, const float* dy, float* dx,
                         std::size_t batch) noexcept {
        if (dx == nullptr) return;
        for (std::size_t r = 0; r < batch; ++r) {
            const float* yr = y + r * stride;
            const float* dyr = dy + r * stride;
            float* dxr = dx + r * stride;
            simd::Vec dot = simd::broadcast(0.0f);
            for (std::size_t j = 0; j < stride; j += simd::width) dot = simd::fma(simd::load(dyr + j), simd::load(yr + j), dot);
            const simd::Vec total = simd::broadcast(simd::reduce_add(dot));
            for (std::size_t j = 0; j < stride; j += simd::width) {
                simd::store(dxr + j, simd::load(yr + j) * (simd::load(dyr + j) - total));
            }
        }
    }
};

}  // namespace detail

/// Fully connected layer with bias: y = x W + b, with W of shape [In][Out].
template <std::size_t In, std::size_t Out>
struct Dense {
    static_assert(In > 0 && Out > 0, "Dense<In, Out> needs In >= 1 and Out >= 1.");
    static constexpr std::size_t declared_input_size = In;

    template <std::size_t Width>
    struct bind {
        static_assert(Width == In,
                      "Dense<In, Out>: In must equal the output size of the layer before it. "
                      "Check the sizes of consecutive layers in Sequential<...>.");
        using type = detail::DenseLayer<In, Out>;
    };
};

/// Rectified linear unit, max(x, 0). Its width is the width of the layer before it.
struct Relu {
    template <std::size_t Width>
    struct bind {
        using type = detail::ReluLayer<Width>;
    };
};

/// Logistic sigmoid, 1 / (1 + exp(-x)).
struct Sigmoid {
    template <std::size_t Width>
    struct bind {
        using type = detail::SigmoidLayer<Width>;
    };
};

/// Hyperbolic tangent.
struct Tanh {
    template <std::size_t Width>
    struct bind {
        using type = detail::TanhLayer<Width>;
    };
};

/// Softmax over each row, for models used for inference only. Training losses take logits and
/// apply softmax themselves, so a model trained with them must not end in Softmax.
struct Softmax {
    static constexpr bool is_softmax = true;

    template <std::size_t Width>
    struct bind {
        using type = detail::SoftmaxLayer<Width>;
    };
};

}  // namespace microfit
