// Sequential: a model whose type is its architecture.
//
//   using Model = microfit::Sequential<microfit::Dense<30, 16>, microfit::Relu, microfit::Dense<16, 2>>;
//
// All parameters live in one aligned array inside the model object, each layer at a compile-time
// offset, so the optimizer, the storage format and early stopping treat them as one flat buffer.
// The activations of a batch live in a separate `Workspace<Model, MaxBatch>`, which the trainer
// and the predictor own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>

#include "microfit/detail/simd.hpp"
#include "microfit/layers.hpp"
#include "microfit/random.hpp"

namespace microfit {

namespace detail {

template <class T, class = void>
struct declares_input_size : std::false_type {};
template <class T>
struct declares_input_size<T, std::void_t<decltype(T::declared_input_size)>> : std::true_type {};

template <class T, class = void>
struct is_softmax_layer : std::false_type {};
template <class T>
struct is_softmax_layer<T, std::void_t<decltype(T::is_softmax)>> : std::true_type {};

/// Binds each declared layer to the output width of the one before it.
template <std::size_t Width, class... Layers>
struct BindLayers {
    using type = std::tuple<>;
};

template <std::size_t Width, class First, class... Rest>
struct BindLayers<Width, First, Rest...> {
    using bound = typename First::template bind<Width>::type;
    using type = decltype(std::tuple_cat(std::declval<std::tuple<bound>>(),
                                          std::declval<typename BindLayers<bound::output_size, Rest...>::type>()));
};

template <class First, class... Rest>
struct FirstLayer {
    static_assert(declares_input_size<First>::value,
                  "The first layer of a Sequential must be Dense<In, Out>: activations take their width from the "
                  "layer before them, so the model's input size must come from a Dense layer.");
    using type = First;
};

template <class... Layers>
struct LastLayer;
template <class Last>
struct LastLayer<Last> {
    using type = Last;
};
template <class First, class... Rest>
struct LastLayer<First, Rest...> : LastLayer<Rest...> {};

/// FNV-1a over 32-bit words, used for the model's shape signature.
constexpr std::uint32_t fnv1a(std::uint32_t hash, std::uint32_t word) noexcept {
    for (int byte = 0; byte < 4; ++byte) {
        hash ^= (word >> (8 * byte)) & 0xffu;
        hash *= 16777619u;
    }
    return hash;
}

/// Compile-time sizes of a tuple of bound layers. They live outside the model class because a
/// class's own member functions cannot be evaluated in its static member initializers.
template <class Bound, class Indices = std::make_index_sequence<std::tuple_size_v<Bound>>>
struct LayerSizes;

template <class Bound, std::size_t... I>
struct LayerSizes<Bound, std::index_sequence<I...>> {
    template <std::size_t K>
    using Layer = std::tuple_element_t<K, Bound>;

    /// Offset in floats of layer K's parameters.
    template <std::size_t K>
    static constexpr std::size_t parameter_offset() noexcept {
        if constexpr (K == 0) {
            return 0;
        } else {
            return parameter_offset<K - 1>() + Layer<K - 1>::parameter_floats;
        }
    }

    static constexpr std::size_t parameter_count = (std::size_t{0} + ... + Layer<I>::parameter_count);

    static constexpr std::size_t max_output_stride() noexcept {
        std::size_t m = 0;
        ((m = Layer<I>::output_stride > m ? Layer<I>::output_stride : m), ...);
        return m;
    }

    static constexpr std::uint32_t shape_signature() noexcept {
        std::uint32_t h = 2166136261u;
        ((h = fnv1a(fnv1a(fnv1a(h, static_cast<std::uint32_t>(Layer<I>::kind)),
                          static_cast<std::uint32_t>(Layer<I>::input_size)),
                    static_cast<std::uint32_t>(Layer<I>::output_size))),
         ...);
        return h;
    }
};

}  // namespace detail

template <class... Layers>
class Sequential {
    static_assert(sizeof...(Layers) >= 1, "Sequential<...> needs at least one layer.");

public:
    using Bound = typename detail::BindLayers<detail::FirstLayer<Layers...>::type::declared_input_size, Layers...>::type;

    template <std::size_t I>
    using Layer = std::tuple_element_t<I, Bound>;

    static constexpr std::size_t layer_count = sizeof...(Layers);
    static constexpr std::size_t input_size = Layer<0>::input_size;
    static constexpr std::size_t output_size = Layer<layer_count - 1>::output_size;
    static constexpr std::size_t input_stride = detail::simd::padded(input_size);
    static constexpr std::size_t output_stride = detail::simd::padded(output_size);
    static constexpr bool ends_in_softmax = detail::is_softmax_layer<typename detail::LastLayer<Layers...>::type>::value;

    using Sizes = detail::LayerSizes<Bound>;

    /// Offset in floats of layer I's parameters inside `parameters()`.
    template <std::size_t I>
    static constexpr std::size_t parameter_offset() noexcept {
        return Sizes::template parameter_offset<I>();
    }

    /// Floats in the parameter array, padding included (a multiple of the SIMD width).
    static constexpr std::size_t parameter_capacity =
        detail::aligned_floats(Sizes::template parameter_offset<layer_count>());

    /// Number of trainable parameters, padding excluded (what Keras's `count_params` reports).
    static constexpr std::size_t parameter_count = Sizes::parameter_count;

    /// Bytes of parameter storage, padding included.
    static constexpr std::size_t parameter_bytes = parameter_capacity * sizeof(float);

    /// Largest row stride among all layer inputs and outputs, for the gradient buffers.
    static constexpr std::size_t max_stride =
        Sizes::max_output_stride() > input_stride ? Sizes::max_output_stride() : input_stride;

    /// A 32-bit hash of the layer kinds and sizes, stored with saved parameters so that a record
    /// is never loaded into a model of another shape.
    static constexpr std::uint32_t shape_signature = Sizes::shape_signature();

    /// Creates a model with Glorot-uniform weights drawn from `seed` and zero biases.
    explicit Sequential(std::uint64_t seed = 0) noexcept { initialize(seed); }

    /// Draws new initial parameters from `seed`; the same seed gives the same parameters on every
    /// target.
    void initialize(std::uint64_t seed) noexcept {
        Random random(seed);
        for (float& p : parameters_) p = 0.0f;
        initialize_layers(random, std::make_index_sequence<layer_count>{});
    }

    /// All parameters, `parameter_capacity` floats aligned to simd::alignment, each layer's block at
    /// `parameter_offset<I>()`. The SIMD padding lanes are 0 after construction, and initialize,
    /// load_parameters and training keep them 0; set values through weight<I>() and bias<I>().
    float* parameters() noexcept { return parameters_; }
    const float* parameters() const noexcept { return parameters_; }

    /// Pointer to layer I's parameters. For a Dense layer: weight [In][output_stride] at offset 0,
    /// bias at `Layer<I>::bias_offset`.
    template <std::size_t I>
    float* layer_parameters() noexcept {
        return parameters_ + parameter_offset<I>();
    }
    template <std::size_t I>
    const float* layer_parameters() const noexcept {
        return parameters_ + parameter_offset<I>();
    }

    /// Weight of Dense layer I from input k to output j, with k in [0, Layer<I>::input_size) and j in
    /// [0, Layer<I>::output_size). The indices are not checked: an index past the layer's size
    /// reaches padding or the next layer's parameters.
    template <std::size_t I>
    float& weight(std::size_t k, std::size_t j) noexcept {
        static_assert(Layer<I>::kind == detail::LayerKind::dense, "weight<I>() needs layer I to be Dense.");
        return layer_parameters<I>()[k * Layer<I>::output_stride + j];
    }
    /// Bias of Dense layer I for output j, with j in [0, Layer<I>::output_size), not checked.
    template <std::size_t I>
    float& bias(std::size_t j) noexcept {
        static_assert(Layer<I>::kind == detail::LayerKind::dense, "bias<I>() needs layer I to be Dense.");
        return layer_parameters<I>()[Layer<I>::bias_offset + j];
    }

private:
    template <std::size_t... I>
    void initialize_layers(Random& random, std::index_sequence<I...>) noexcept {
        (Layer<I>::initialize(parameters_ + parameter_offset<I>(), random), ...);
    }

    alignas(detail::simd::alignment) float parameters_[parameter_capacity];
};

/// Activations of one batch for every layer boundary: boundary 0 is the input, boundary L the
/// output (logits). Each boundary contains [MaxBatch][stride] floats.
template <class Model, std::size_t MaxBatch>
class Workspace {
    static_assert(MaxBatch >= 1, "The batch capacity MaxBatch must be at least 1.");

public:
    static constexpr std::size_t max_batch = MaxBatch;

    template <std::size_t K>
    static constexpr std::size_t stride() noexcept {
        if constexpr (K == 0) {
            return Model::input_stride;
        } else {
            return Model::template Layer<K - 1>::output_stride;
        }
    }

    template <std::size_t K>
    static constexpr std::size_t offset() noexcept {
        if constexpr (K == 0) {
            return 0;
        } else {
            return offset<K - 1>() + MaxBatch * stride<K - 1>();
        }
    }

    static constexpr std::size_t float_count = offset<Model::layer_count + 1>();

    template <std::size_t K>
    float* boundary() noexcept {
        return activations_ + offset<K>();
    }
    template <std::size_t K>
    const float* boundary() const noexcept {
        return activations_ + offset<K>();
    }

    /// Input rows, [MaxBatch][Model::input_stride]: row r starts at r * input_stride. Dense layers
    /// never read the padding lanes past input_size.
    float* input() noexcept { return boundary<0>(); }
    /// Outputs of the last forward pass, [MaxBatch][Model::output_stride]: row r, output j is at
    /// r * output_stride + j. These are the logits, or probabilities after a final Softmax.
    const float* output() const noexcept { return boundary<Model::layer_count>(); }

    /// Runs the forward pass of `batch` rows already copied into `input()`, with batch in
    /// [0, MaxBatch]; a larger batch would write past the buffers, which is not checked.
    void forward(const Model& model, std::size_t batch) noexcept {
        forward_from<0>(model, batch);
    }

private:
    template <std::size_t I>
    void forward_from(const Model& model, std::size_t batch) noexcept {
        if constexpr (I < Model::layer_count) {
            Model::template Layer<I>::forward(model.template layer_parameters<I>(), boundary<I>(), boundary<I + 1>(), batch);
            forward_from<I + 1>(model, batch);
        }
    }

    alignas(detail::simd::alignment) float activations_[float_count] = {};
};

}  // namespace microfit
