// Tests of the dense-layer matrix products against plain reference loops.
//
// Every kernel runs on every pair of sizes In, Out in {1, 3, 7, 10, 33, 100} and every batch size
// from 1 to 35, so every row-tile and column-tile remainder of every target occurs (the largest
// tile has 12 rows). Padding lanes of x hold NaN, so a kernel that reads them produces NaN, and
// every buffer sits between NaN guards whose bits must be unchanged afterwards.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "microfit/detail/dense_kernels.hpp"
#include "microfit/detail/simd.hpp"
#include "microfit/random.hpp"

namespace {

namespace simd = microfit::detail::simd;

constexpr std::size_t max_batch = 35;
constexpr std::array<std::size_t, 6> sizes = {1, 3, 7, 10, 33, 100};

// A quiet NaN with a recognizable payload, for guards and unwritten outputs.
constexpr std::uint32_t canary_bits = 0x7fc0dead;

float canary() {
    float value;
    std::memcpy(&value, &canary_bits, sizeof value);
    return value;
}

std::uint32_t bits_of(float value) {
    std::uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return bits;
}

// A buffer of `count` floats aligned to simd::alignment, with `guard` canary floats on each side.
class GuardedBuffer {
public:
    static constexpr std::size_t guard = 64;

    explicit GuardedBuffer(std::size_t count) : count_(count), storage_(count + 2 * guard + simd::alignment, canary()) {
        const auto address = reinterpret_cast<std::uintptr_t>(storage_.data() + guard);
        const std::size_t misalignment = address % simd::alignment;
        const std::size_t shift = misalignment == 0 ? 0 : (simd::alignment - misalignment) / sizeof(float);
        data_ = storage_.data() + guard + shift;
    }

    float* data() { return data_; }
    const float* data() const { return data_; }
    float& operator[](std::size_t i) { return data_[i]; }
    float operator[](std::size_t i) const { return data_[i]; }

    bool guards_intact() const {
        for (const float* p = storage_.data(); p < data_; ++p) {
            if (bits_of(*p) != canary_bits) return false;
        }
        for (const float* p = data_ + count_; p < storage_.data() + storage_.size(); ++p) {
            if (bits_of(*p) != canary_bits) return false;
        }
        return true;
    }

private:
    std::size_t count_;
    std::vector<float> storage_;
    float* data_;
};

// Returns a * b + c rounded as one lane of simd::fma rounds it, so that a scalar loop reproduces
// the kernels' documented order bit for bit on every target.
float simd_fma(float a, float b, float c) {
    alignas(simd::alignment) float lanes[simd::width];
    simd::store(lanes, simd::fma(simd::broadcast(a), simd::broadcast(b), simd::broadcast(c)));
    return lanes[0];
}

// Worst ratio of |result - reference| to the error bound of a float sum. Summing n terms in any
// order, with or without FMA, errs by at most n * u * sum |term| to first order (u = 2^-24); the
// bound below takes n + 1 terms and doubles it to cover the second-order term and the double
// reference's own rounding. A ratio above 1 is a wrong result, not rounding.
struct ErrorRatio {
    double worst = 0.0;

    void add(double result, double reference, double sum_of_magnitudes, std::size_t terms) {
        const double unit_roundoff = std::ldexp(1.0, -24);
        const double bound = 2.0 * static_cast<double>(terms + 1) * unit_roundoff * sum_of_magnitudes + 1e-30;
        const double ratio = std::fabs(result - reference) / bound;
        if (!(ratio <= worst)) worst = ratio;  // also records a NaN result
    }
};

template <std::size_t In, std::size_t Out>
struct Shape {
    static constexpr std::size_t in = In;
    static constexpr std::size_t out = Out;
    static constexpr std::size_t in_stride = simd::padded(In);
    static constexpr std::size_t out_stride = simd::padded(Out);
};

template <std::size_t In, class F, std::size_t... J>
void for_each_out(F& f, std::index_sequence<J...>) {
    (f(Shape<In, sizes[J]>{}), ...);
}

template <class F, std::size_t... I>
void for_each_in(F& f, std::index_sequence<I...>) {
    (for_each_out<sizes[I]>(f, std::make_index_sequence<sizes.size()>{}), ...);
}

// Calls f(Shape<In, Out>{}) for every pair of sizes.
template <class F>
void for_each_shape(F f) {
    for_each_in(f, std::make_index_sequence<sizes.size()>{});
}

// Weights and bias as the Dense layer stores them: padding columns and padding bias lanes are 0.
template <class S>
struct Parameters {
    GuardedBuffer w{S::in * S::out_stride};
    GuardedBuffer bias{S::out_stride};

    explicit Parameters(microfit::Random& random) {
        for (std::size_t k = 0; k < S::in; ++k) {
            for (std::size_t j = 0; j < S::out_stride; ++j) w[k * S::out_stride + j] = j < S::out ? random.uniform(-1.0f, 1.0f) : 0.0f;
        }
        for (std::size_t j = 0; j < S::out_stride; ++j) bias[j] = j < S::out ? random.uniform(-1.0f, 1.0f) : 0.0f;
    }
};

// Fills `rows` rows of `stride` floats: `width` random values, then `padding` in the other lanes.
void fill_rows(GuardedBuffer& buffer, std::size_t rows, std::size_t width, std::size_t stride, float padding,
               microfit::Random& random) {
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t i = 0; i < stride; ++i) buffer[r * stride + i] = i < width ? random.uniform(-1.0f, 1.0f) : padding;
    }
}

struct ForwardResult {
    double error_ratio = 0.0;
    bool order_exact = true;       // equal to the bias then one FMA per k in increasing order
    bool padding_zero = true;      // padding lanes of y are 0
    bool row_alone_equal = true;   // each row computed as a batch of one gives the same bits
    bool guards_intact = true;
};

template <class S>
ForwardResult run_forward(std::size_t batch, microfit::Random& random) {
    using microfit::detail::dense_forward;
    constexpr std::size_t in = S::in, out = S::out, is = S::in_stride, os = S::out_stride;

    Parameters<S> p(random);
    GuardedBuffer x(batch * is);
    GuardedBuffer y(batch * os);
    fill_rows(x, batch, in, is, std::numeric_limits<float>::quiet_NaN(), random);
    for (std::size_t i = 0; i < batch * os; ++i) y[i] = canary();

    dense_forward<in, is, os>(p.w.data(), p.bias.data(), x.data(), y.data(), batch);

    ForwardResult result;
    ErrorRatio error;
    for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t j = 0; j < out; ++j) {
            double reference = p.bias[j];
            double magnitudes = std::fabs(p.bias[j]);
            float ordered = p.bias[j];
            for (std::size_t k = 0; k < in; ++k) {
                const float xk = x[b * is + k];
                const float wk = p.w[k * os + j];
                reference += static_cast<double>(xk) * wk;
                magnitudes += std::fabs(static_cast<double>(xk) * wk);
                ordered = simd_fma(xk, wk, ordered);
            }
            const float got = y[b * os + j];
            error.add(got, reference, magnitudes, in);
            if (bits_of(got) != bits_of(ordered)) result.order_exact = false;
        }
        for (std::size_t j = out; j < os; ++j) {
            if (y[b * os + j] != 0.0f) result.padding_zero = false;
        }
    }
    result.error_ratio = error.worst;
    result.guards_intact = p.w.guards_intact() && p.bias.guards_intact() && x.guards_intact() && y.guards_intact();

    GuardedBuffer x_row(is);
    GuardedBuffer y_row(os);
    for (std::size_t b = 0; b < batch; ++b) {
        std::memcpy(x_row.data(), x.data() + b * is, is * sizeof(float));
        dense_forward<in, is, os>(p.w.data(), p.bias.data(), x_row.data(), y_row.data(), 1);
        if (std::memcmp(y_row.data(), y.data() + b * os, os * sizeof(float)) != 0) result.row_alone_equal = false;
    }
    result.guards_intact = result.guards_intact && x_row.guards_intact() && y_row.guards_intact();
    return result;
}

struct InputGradientResult {
    double error_ratio = 0.0;
    bool padding_zero = true;      // padding lanes of dx are written as 0
    bool row_alone_equal = true;   // each row computed as a batch of one gives the same bits
    bool guards_intact = true;
};

template <class S>
InputGradientResult run_backward_input(std::size_t batch, microfit::Random& random) {
    using microfit::detail::dense_backward_input;
    constexpr std::size_t in = S::in, out = S::out, is = S::in_stride, os = S::out_stride;

    Parameters<S> p(random);
    GuardedBuffer dy(batch * os);
    GuardedBuffer dx(batch * is);
    fill_rows(dy, batch, out, os, 0.0f, random);
    for (std::size_t i = 0; i < batch * is; ++i) dx[i] = canary();

    dense_backward_input<in, is, os>(p.w.data(), dy.data(), dx.data(), batch);

    InputGradientResult result;
    ErrorRatio error;
    for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t k = 0; k < in; ++k) {
            double reference = 0.0;
            double magnitudes = 0.0;
            for (std::size_t j = 0; j < out; ++j) {
                const double term = static_cast<double>(dy[b * os + j]) * p.w[k * os + j];
                reference += term;
                magnitudes += std::fabs(term);
            }
            error.add(dx[b * is + k], reference, magnitudes, out);
        }
        for (std::size_t k = in; k < is; ++k) {
            if (bits_of(dx[b * is + k]) != bits_of(0.0f)) result.padding_zero = false;
        }
    }
    result.error_ratio = error.worst;
    result.guards_intact = p.w.guards_intact() && p.bias.guards_intact() && dy.guards_intact() && dx.guards_intact();

    GuardedBuffer dy_row(os);
    GuardedBuffer dx_row(is);
    for (std::size_t b = 0; b < batch; ++b) {
        std::memcpy(dy_row.data(), dy.data() + b * os, os * sizeof(float));
        dense_backward_input<in, is, os>(p.w.data(), dy_row.data(), dx_row.data(), 1);
        if (std::memcmp(dx_row.data(), dx.data() + b * is, is * sizeof(float)) != 0) result.row_alone_equal = false;
    }
    result.guards_intact = result.guards_intact && dy_row.guards_intact() && dx_row.guards_intact();
    return result;
}

struct WeightGradientResult {
    double weight_error_ratio = 0.0;
    double bias_error_ratio = 0.0;
    bool order_exact = true;      // dw equals its old value then one FMA per batch row in order
    bool padding_zero = true;     // padding columns of dw and padding lanes of db stay 0
    bool guards_intact = true;
};

template <class S>
WeightGradientResult run_backward_weights(std::size_t batch, microfit::Random& random) {
    using microfit::detail::dense_backward_weights;
    constexpr std::size_t in = S::in, out = S::out, is = S::in_stride, os = S::out_stride;

    GuardedBuffer x(batch * is);
    GuardedBuffer dy(batch * os);
    GuardedBuffer dw(in * os);
    GuardedBuffer db(os);
    fill_rows(x, batch, in, is, std::numeric_limits<float>::quiet_NaN(), random);
    fill_rows(dy, batch, out, os, 0.0f, random);
    fill_rows(dw, in, out, os, 0.0f, random);  // the products add to gradients already there
    fill_rows(db, 1, out, os, 0.0f, random);
    const std::vector<float> dw_before(dw.data(), dw.data() + in * os);
    const std::vector<float> db_before(db.data(), db.data() + os);

    dense_backward_weights<in, is, os>(x.data(), dy.data(), dw.data(), db.data(), batch);

    WeightGradientResult result;
    ErrorRatio weight_error;
    for (std::size_t k = 0; k < in; ++k) {
        for (std::size_t j = 0; j < out; ++j) {
            double reference = dw_before[k * os + j];
            double magnitudes = std::fabs(reference);
            float ordered = dw_before[k * os + j];
            for (std::size_t b = 0; b < batch; ++b) {
                const float xb = x[b * is + k];
                const float dyb = dy[b * os + j];
                reference += static_cast<double>(xb) * dyb;
                magnitudes += std::fabs(static_cast<double>(xb) * dyb);
                ordered = simd_fma(xb, dyb, ordered);
            }
            const float got = dw[k * os + j];
            weight_error.add(got, reference, magnitudes, batch);
            if (bits_of(got) != bits_of(ordered)) result.order_exact = false;
        }
        for (std::size_t j = out; j < os; ++j) {
            if (dw[k * os + j] != 0.0f) result.padding_zero = false;
        }
    }

    ErrorRatio bias_error;
    for (std::size_t j = 0; j < out; ++j) {
        double reference = db_before[j];
        double magnitudes = std::fabs(reference);
        for (std::size_t b = 0; b < batch; ++b) {
            reference += dy[b * os + j];
            magnitudes += std::fabs(dy[b * os + j]);
        }
        bias_error.add(db[j], reference, magnitudes, batch);
    }
    for (std::size_t j = out; j < os; ++j) {
        if (db[j] != 0.0f) result.padding_zero = false;
    }

    result.weight_error_ratio = weight_error.worst;
    result.bias_error_ratio = bias_error.worst;
    result.guards_intact = x.guards_intact() && dy.guards_intact() && dw.guards_intact() && db.guards_intact();
    return result;
}

}  // namespace

TEST_CASE("dense_forward matches reference for all shapes and batches") {
    microfit::Random random(1);
    for_each_shape([&](auto shape) {
        using S = decltype(shape);
        for (std::size_t batch = 1; batch <= max_batch; ++batch) {
            CAPTURE(S::in);
            CAPTURE(S::out);
            CAPTURE(batch);
            const ForwardResult result = run_forward<S>(batch, random);
            CHECK(result.error_ratio <= 1.0);
            CHECK(result.order_exact);
            CHECK(result.padding_zero);
            CHECK(result.row_alone_equal);
            CHECK(result.guards_intact);
        }
    });
}

TEST_CASE("dense_backward_input matches reference for all shapes and batches") {
    microfit::Random random(2);
    for_each_shape([&](auto shape) {
        using S = decltype(shape);
        for (std::size_t batch = 1; batch <= max_batch; ++batch) {
            CAPTURE(S::in);
            CAPTURE(S::out);
            CAPTURE(batch);
            const InputGradientResult result = run_backward_input<S>(batch, random);
            CHECK(result.error_ratio <= 1.0);
            CHECK(result.padding_zero);
            CHECK(result.row_alone_equal);
            CHECK(result.guards_intact);
        }
    });
}

TEST_CASE("dense_backward_weights matches reference for all shapes and batches") {
    microfit::Random random(3);
    for_each_shape([&](auto shape) {
        using S = decltype(shape);
        for (std::size_t batch = 1; batch <= max_batch; ++batch) {
            CAPTURE(S::in);
            CAPTURE(S::out);
            CAPTURE(batch);
            const WeightGradientResult result = run_backward_weights<S>(batch, random);
            CHECK(result.weight_error_ratio <= 1.0);
            CHECK(result.bias_error_ratio <= 1.0);
            CHECK(result.order_exact);
            CHECK(result.padding_zero);
            CHECK(result.guards_intact);
        }
    });
}

TEST_CASE("dense_forward of an empty batch writes nothing") {
    using S = Shape<10, 33>;
    microfit::Random random(4);
    Parameters<S> p(random);
    GuardedBuffer x(S::in_stride);
    GuardedBuffer y(S::out_stride);
    fill_rows(x, 1, S::in, S::in_stride, 0.0f, random);
    for (std::size_t j = 0; j < S::out_stride; ++j) y[j] = canary();

    microfit::detail::dense_forward<S::in, S::in_stride, S::out_stride>(p.w.data(), p.bias.data(), x.data(), y.data(), 0);

    bool untouched = true;
    for (std::size_t j = 0; j < S::out_stride; ++j) untouched = untouched && bits_of(y[j]) == canary_bits;
    CHECK(untouched);
    CHECK(y.guards_intact());
}
