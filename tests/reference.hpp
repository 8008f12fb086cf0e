// Double-precision reference implementations of microfit's losses and layers, central
// differences, and the tolerances the tests compare float32 results with.
//
// Tolerances: a float32 result is checked against its float64 reference to 1e-5 relative, 84 to
// 168 float32 ulps, which leaves room for the dozens of roundings of a forward and backward pass
// but catches any wrong formula. A gradient component can be a small difference of large terms, so
// gradients are compared to 1e-5 of the largest component of their vector as well. Central
// differences in double with a step of 1e-5 (scaled by the argument) have a truncation error of
// order h^2 |f'''| / 6 ~ 1e-11 and a rounding error of order 1e-16 |f| / h ~ 1e-11, both far below
// these tolerances.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "microfit/microfit.hpp"

namespace microfit_test {

/// Matches a value within `tolerance` relative to the larger of the two magnitudes, with no
/// absolute floor, so that a tiny expected value is not matched by 0.
inline doctest::Approx relative(double expected, double tolerance = 1e-5) {
    return doctest::Approx(expected).epsilon(tolerance).scale(0.0);
}

/// Matches a gradient component within 1e-5 of its own magnitude plus 1e-5 of `largest`, the
/// largest magnitude in its gradient vector.
inline doctest::Approx gradient_component(double expected, double largest) {
    return doctest::Approx(expected).epsilon(1e-5).scale(largest);
}

inline double largest_magnitude(const std::vector<double>& values) {
    double largest = 0.0;
    for (double v : values) largest = std::max(largest, std::fabs(v));
    return largest;
}

/// Central difference step for an argument of magnitude |x|.
inline double difference_step(double x) { return 1e-5 * std::max(1.0, std::fabs(x)); }

/// Returns the gradient of `f` at `x` by central differences, one coordinate at a time.
template <class Function>
std::vector<double> numerical_gradient(std::vector<double> x, Function&& f) {
    std::vector<double> gradient(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double saved = x[i];
        const double h = difference_step(saved);
        x[i] = saved + h;
        const double above = f(x);
        x[i] = saved - h;
        const double below = f(x);
        x[i] = saved;
        gradient[i] = (above - below) / (2.0 * h);
    }
    return gradient;
}

/// N floats in an aligned buffer padded to whole SIMD vectors, the layout every kernel reads.
template <std::size_t N>
struct PaddedRow {
    static constexpr std::size_t stride = microfit::detail::simd::padded(N);
    alignas(microfit::detail::simd::alignment) float values[stride] = {};
};

/// A heap array of floats aligned for the widest SIMD vector microfit uses (64 bytes, AVX-512).
class AlignedFloats {
public:
    static constexpr std::align_val_t alignment{64};

    explicit AlignedFloats(std::size_t count, float fill = 0.0f)
        : count_(count), data_(static_cast<float*>(::operator new[](bytes(count), alignment))) {
        for (std::size_t i = 0; i < count_; ++i) data_[i] = fill;
    }
    AlignedFloats(const AlignedFloats&) = delete;
    AlignedFloats& operator=(const AlignedFloats&) = delete;
    ~AlignedFloats() { ::operator delete[](data_, alignment); }

    float* data() { return data_; }
    const float* data() const { return data_; }
    std::size_t size() const { return count_; }
    float& operator[](std::size_t i) { return data_[i]; }
    float operator[](std::size_t i) const { return data_[i]; }

private:
    static std::size_t bytes(std::size_t count) { return (count == 0 ? 1 : count) * sizeof(float); }

    std::size_t count_;
    float* data_;
};

// ---- Losses of one sample, from logits ----

inline double log_sum_exp(const double* z, std::size_t n) {
    const double m = *std::max_element(z, z + n);
    double sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) sum += std::exp(z[j] - m);
    return m + std::log(sum);
}

inline double log_sigmoid(double x) { return -(std::max(-x, 0.0) + std::log1p(std::exp(-std::fabs(x)))); }

inline double sparse_categorical_crossentropy(const double* z, std::size_t n, std::int32_t label) {
    return log_sum_exp(z, n) - z[label];
}

inline double binary_crossentropy(double z, std::int32_t label) {
    return label == 1 ? -log_sigmoid(z) : -log_sigmoid(-z);
}

inline double mean_squared_error(const double* z, const double* t, std::size_t n) {
    double sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) sum += (z[j] - t[j]) * (z[j] - t[j]);
    return sum / static_cast<double>(n);
}

inline double mean_absolute_error(const double* z, const double* t, std::size_t n) {
    double sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) sum += std::fabs(z[j] - t[j]);
    return sum / static_cast<double>(n);
}

/// -a_t (1 - p_t)^gamma log p_t with p_t = sigmoid(z) for label 1 and sigmoid(-z) for label 0.
inline double binary_focal(double z, std::int32_t label, double gamma, bool use_alpha, double alpha) {
    const double x = label == 1 ? z : -z;
    const double log_p = log_sigmoid(x);
    const double q = std::exp(log_sigmoid(-x));
    double a = 1.0;
    if (use_alpha) a = label == 1 ? alpha : 1.0 - alpha;
    return -a * std::pow(q, gamma) * log_p;
}

/// -a_y (1 - p_y)^gamma log p_y over softmax(z). A null `alpha` means a_y = 1.
inline double categorical_focal(const double* z, std::size_t n, std::int32_t label, double gamma,
                                const double* alpha) {
    const double log_p = z[label] - log_sum_exp(z, n);
    const double q = -std::expm1(log_p);
    const double a = alpha == nullptr ? 1.0 : alpha[label];
    return -a * std::pow(q, gamma) * log_p;
}

// ---- Layers and whole Sequential models ----

/// The shape of one bound layer and where its parameters are in the model's parameter array.
struct ReferenceLayer {
    microfit::detail::LayerKind kind;
    std::size_t inputs;
    std::size_t outputs;
    std::size_t weight_offset;  ///< Floats from the start of the parameter array (Dense only).
    std::size_t bias_offset;    ///< Floats from the start of the parameter array (Dense only).
    std::size_t output_stride;  ///< Row stride of the weight matrix (Dense only).
};

template <class Model, std::size_t I>
ReferenceLayer describe_layer() {
    using Layer = typename Model::template Layer<I>;
    ReferenceLayer layer{Layer::kind, Layer::input_size, Layer::output_size, 0, 0, Layer::output_stride};
    if constexpr (Layer::kind == microfit::detail::LayerKind::dense) {
        layer.weight_offset = Model::template parameter_offset<I>();
        layer.bias_offset = Model::template parameter_offset<I>() + Layer::bias_offset;
    }
    return layer;
}

template <class Model, std::size_t... I>
std::vector<ReferenceLayer> describe_layers(std::index_sequence<I...>) {
    return {describe_layer<Model, I>()...};
}

/// The layers of `Model`, in order.
template <class Model>
std::vector<ReferenceLayer> describe_model() {
    return describe_layers<Model>(std::make_index_sequence<Model::layer_count>{});
}

/// Runs one sample through the layers in double precision. `parameters` has the model's layout
/// (padding included). When `relu_margin` is not null, it receives the smallest |input| seen by a
/// Relu, so that a caller can check that central differences do not straddle the kink.
inline std::vector<double> reference_forward(const std::vector<ReferenceLayer>& layers,
                                             const std::vector<double>& parameters, std::vector<double> x,
                                             double* relu_margin = nullptr) {
    using microfit::detail::LayerKind;
    for (const ReferenceLayer& layer : layers) {
        std::vector<double> y(layer.outputs);
        switch (layer.kind) {
            case LayerKind::dense:
                for (std::size_t j = 0; j < layer.outputs; ++j) {
                    double sum = parameters[layer.bias_offset + j];
                    for (std::size_t k = 0; k < layer.inputs; ++k) {
                        sum += x[k] * parameters[layer.weight_offset + k * layer.output_stride + j];
                    }
                    y[j] = sum;
                }
                break;
            case LayerKind::relu:
                for (std::size_t j = 0; j < layer.outputs; ++j) {
                    y[j] = std::max(x[j], 0.0);
                    if (relu_margin != nullptr) *relu_margin = std::min(*relu_margin, std::fabs(x[j]));
                }
                break;
            case LayerKind::sigmoid:
                for (std::size_t j = 0; j < layer.outputs; ++j) y[j] = 1.0 / (1.0 + std::exp(-x[j]));
                break;
            case LayerKind::tanh:
                for (std::size_t j = 0; j < layer.outputs; ++j) y[j] = std::tanh(x[j]);
                break;
            case LayerKind::softmax: {
                const double lse = log_sum_exp(x.data(), x.size());
                for (std::size_t j = 0; j < layer.outputs; ++j) y[j] = std::exp(x[j] - lse);
                break;
            }
        }
        x = std::move(y);
    }
    return x;
}

/// Returns the model's parameter array widened to double.
template <class Model>
std::vector<double> parameters_of(const Model& model) {
    return std::vector<double>(model.parameters(), model.parameters() + Model::parameter_capacity);
}

/// Indices of the trainable floats of a model's parameter array (padding excluded).
template <class Model>
std::vector<std::size_t> trainable_indices() {
    std::vector<std::size_t> indices;
    for (const ReferenceLayer& layer : describe_model<Model>()) {
        if (layer.kind != microfit::detail::LayerKind::dense) continue;
        for (std::size_t k = 0; k < layer.inputs; ++k) {
            for (std::size_t j = 0; j < layer.outputs; ++j) indices.push_back(layer.weight_offset + k * layer.output_stride + j);
        }
        for (std::size_t j = 0; j < layer.outputs; ++j) indices.push_back(layer.bias_offset + j);
    }
    return indices;
}

/// Combines per-sample losses and weights as microfit::Reduction does, in double.
inline double reference_reduce(const std::vector<double>& losses, const std::vector<double>& weights,
                               microfit::Reduction reduction) {
    double weighted_sum = 0.0;
    double weight_sum = 0.0;
    for (std::size_t i = 0; i < losses.size(); ++i) {
        weighted_sum += weights[i] * losses[i];
        weight_sum += weights[i];
    }
    switch (reduction) {
        case microfit::Reduction::sum_over_batch_size: return weighted_sum / static_cast<double>(losses.size());
        case microfit::Reduction::weighted_mean: return weight_sum > 0.0 ? weighted_sum / weight_sum : 0.0;
        case microfit::Reduction::sum: return weighted_sum;
    }
    return 0.0;
}

}  // namespace microfit_test
