// Optimizers: SGD with momentum, and Adam.
//
// An optimizer is a small struct of hyperparameters with a nested `State<N>` holding its
// per-parameter buffers for a model of N parameter floats (padding included). `step` updates the
// parameters in place from the gradient of the reported loss. Padding lanes have zero gradients and
// zero state, so they stay 0.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "microfit/detail/simd.hpp"
#include "microfit/status.hpp"

namespace microfit {

namespace detail {

inline Status invalid_option(const char* option, double value, const char* expected) noexcept {
    Status s(StatusCode::invalid_option);
    s.option = option;
    s.value = value;
    s.expected = expected;
    return s;
}

inline bool is_finite_non_negative(float x) noexcept { return x >= 0.0f && std::isfinite(x); }

// Adam's bias corrections are computed in double without std::pow and the double std::sqrt. On an
// FPU without double precision (Cortex-M4, M33) those two alone link about 4 KB of libm software
// code, while the helpers below need only the double multiply and divide.

/// Returns base^exponent by repeated squaring. Each squaring doubles the relative error so far, so
/// the error can reach about exponent * 2^-53. In Adam's 1 - beta^t it stays below 1e-12, and the
/// corrections round to the same floats as with std::pow for beta 0.9 to 0.9999 over the first
/// million steps (checked on x86-64).
inline double power(double base, std::uint32_t exponent) noexcept {
    double result = 1.0;
    while (exponent != 0) {
        if ((exponent & 1u) != 0) result *= base;
        base *= base;
        exponent >>= 1;
    }
    return result;
}

/// Returns the square root of x in [6e-8, 1], where Adam's correction 1 - beta2^t lies for float
/// beta2. It refines the float square root by two Newton steps to double precision.
inline double square_root(double x) noexcept {
    double root = static_cast<double>(std::sqrt(static_cast<float>(x)));
    root = 0.5 * (root + x / root);
    return 0.5 * (root + x / root);
}

}  // namespace detail

/// Stochastic gradient descent with momentum, in PyTorch's form (dampening 0, no Nesterov):
///   v = momentum * v + g,   p = p - learning_rate * v.
/// Keras writes v' = momentum * v' - learning_rate * g, p = p + v'; with a constant learning rate
/// v' = -learning_rate * v, so both give the same parameters.
struct Sgd {
    static constexpr const char* name = "SGD";

    float learning_rate = 0.01f;
    float momentum = 0.0f;  ///< In [0, 1).

    template <std::size_t N>
    struct State {
        alignas(detail::simd::alignment) float velocity[N] = {};
        std::uint32_t steps = 0;
    };

    /// Returns invalid_option for a learning rate that is negative, NaN or infinite, or a momentum
    /// outside [0, 1).
    Status validate() const noexcept {
        if (!detail::is_finite_non_negative(learning_rate)) {
            return detail::invalid_option("Sgd.learning_rate", learning_rate, "finite and at least 0");
        }
        if (!(momentum >= 0.0f && momentum < 1.0f)) return detail::invalid_option("Sgd.momentum", momentum, "in [0, 1)");
        return Status{};
    }

    template <std::size_t N>
    void step(float* parameters, const float* gradients, State<N>& state) const noexcept {
        using detail::simd::Vec;
        namespace simd = detail::simd;
        const Vec lr = simd::broadcast(learning_rate);
        const Vec mu = simd::broadcast(momentum);
        for (std::size_t i = 0; i < N; i += simd::width) {
            const Vec v = simd::fma(mu, simd::load(state.velocity + i), simd::load(gradients + i));
            simd::store(state.velocity + i, v);
            simd::store(parameters + i, simd::load(parameters + i) - lr * v);
        }
        ++state.steps;
    }
};

/// Placement of Adam's epsilon. The two published conventions give different steps when epsilon is
/// not negligible against sqrt(v).
enum class AdamEpsilon : std::uint8_t {
    /// PyTorch (torch.optim.Adam) and Algorithm 1 of Kingma and Ba (2015):
    ///   p -= lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t).
    pytorch,
    /// Keras (tf.keras and Keras 3 Adam), the "epsilon hat" form of section 2 of the paper:
    ///   p -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).
    keras,
};

/// Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", 2015), without weight decay
/// or AMSGrad: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, then the update of `epsilon_form`.
/// The defaults (lr 1e-3, b1 0.9, b2 0.999, eps 1e-8, PyTorch's form) are PyTorch's; Keras uses
/// eps 1e-7 with AdamEpsilon::keras.
struct Adam {
    static constexpr const char* name = "Adam";

    float learning_rate = 1e-3f;
    float beta1 = 0.9f;    ///< In [0, 1).
    float beta2 = 0.999f;  ///< In [0, 1).
    float epsilon = 1e-8f; ///< > 0.
    AdamEpsilon epsilon_form = AdamEpsilon::pytorch;

    template <std::size_t N>
    struct State {
        alignas(detail::simd::alignment) float m[N] = {};
        alignas(detail::simd::alignment) float v[N] = {};
        std::uint32_t steps = 0;
    };

    /// Returns invalid_option for a learning rate that is negative, NaN or infinite, beta1 or beta2
    /// outside [0, 1), epsilon that is not finite and above 0, or an epsilon_form out of the enum.
    Status validate() const noexcept {
        if (!detail::is_finite_non_negative(learning_rate)) {
            return detail::invalid_option("Adam.learning_rate", learning_rate, "finite and at least 0");
        }
        if (!(beta1 >= 0.0f && beta1 < 1.0f)) return detail::invalid_option("Adam.beta1", beta1, "in [0, 1)");
        if (!(beta2 >= 0.0f && beta2 < 1.0f)) return detail::invalid_option("Adam.beta2", beta2, "in [0, 1)");
        if (!(epsilon > 0.0f) || std::isinf(epsilon)) {
            return detail::invalid_option("Adam.epsilon", epsilon, "finite and above 0");
        }
        if (epsilon_form != AdamEpsilon::pytorch && epsilon_form != AdamEpsilon::keras) {
            return detail::invalid_option("Adam.epsilon_form", static_cast<double>(epsilon_form),
                                          "AdamEpsilon::pytorch (0) or AdamEpsilon::keras (1)");
        }
        return Status{};
    }

    template <std::size_t N>
    void step(float* parameters, const float* gradients, State<N>& state) const noexcept {
        using detail::simd::Vec;
        namespace simd = detail::simd;
        // The count saturates instead of wrapping to 0, where the corrections would divide by 0.
        // At 2^32 - 1 steps both corrections are already 1 in double for every float beta below
        // 1 (beta^t is at most e^-256 there), so the saturated count changes nothing.
        if (state.steps != UINT32_MAX) ++state.steps;
        // The bias corrections are formed in double: b^t for large t loses digits in float.
        const double correction1 = 1.0 - detail::power(static_cast<double>(beta1), state.steps);
        const double correction2 = 1.0 - detail::power(static_cast<double>(beta2), state.steps);

        const Vec b1 = simd::broadcast(beta1);
        const Vec b2 = simd::broadcast(beta2);
        const Vec one_minus_b1 = simd::broadcast(1.0f - beta1);
        const Vec one_minus_b2 = simd::broadcast(1.0f - beta2);
        const Vec eps = simd::broadcast(epsilon);

        // PyTorch: p -= (lr / c1) * m / (sqrt(v) / sqrt(c2) + eps).
        // Keras:   p -= (lr * sqrt(c2) / c1) * m / (sqrt(v) + eps).
        const bool keras = epsilon_form == AdamEpsilon::keras;
        const auto step_size = static_cast<float>(keras ? learning_rate * detail::square_root(correction2) / correction1
                                                        : learning_rate / correction1);
        const Vec step_vec = simd::broadcast(step_size);
        const Vec root_scale = simd::broadcast(keras ? 1.0f : static_cast<float>(1.0 / detail::square_root(correction2)));

        for (std::size_t i = 0; i < N; i += simd::width) {
            const Vec g = simd::load(gradients + i);
            const Vec m = simd::fma(b1, simd::load(state.m + i), one_minus_b1 * g);
            const Vec v = simd::fma(b2, simd::load(state.v + i), one_minus_b2 * g * g);
            simd::store(state.m + i, m);
            simd::store(state.v + i, v);
            const Vec denominator = simd::sqrt(v) * root_scale + eps;
            simd::store(parameters + i, simd::load(parameters + i) - step_vec * m / denominator);
        }
    }
};

}  // namespace microfit
