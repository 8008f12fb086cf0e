// Accuracy of detail::fast_exp and detail::fast_exp_nonpositive against std::exp in double
// precision, rounded to float.
//
// The sweep over [-87.3, 0] evaluates every float when MICROFIT_EXP_SWEEP_STRIDE is 1: about
// 1.1e9 inputs, split over all hardware threads when MICROFIT_EXP_TEST_THREADS is 1. Under an
// emulator or without optimization that takes far too long, so tests/CMakeLists.txt sets a larger
// stride for cross builds, and the default stride is 97 when the compiler does not optimize. The
// stride should be odd, so that the sampled inputs cover every pattern of low mantissa bits.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "microfit/detail/exp.hpp"
#include "microfit/detail/simd.hpp"

#ifndef MICROFIT_EXP_SWEEP_STRIDE
#if defined(__OPTIMIZE__) || (defined(_MSC_VER) && !defined(_DEBUG))
#define MICROFIT_EXP_SWEEP_STRIDE 1
#else
#define MICROFIT_EXP_SWEEP_STRIDE 97
#endif
#endif

// Bare-metal C++ libraries have no std::thread, so tests/CMakeLists.txt sets this to 0 there.
#ifndef MICROFIT_EXP_TEST_THREADS
#define MICROFIT_EXP_TEST_THREADS 1
#endif
#if MICROFIT_EXP_TEST_THREADS
#include <thread>
#endif

namespace {

using microfit::detail::fast_exp;
using microfit::detail::fast_exp_nonpositive;
namespace simd = microfit::detail::simd;
namespace exp_constants = microfit::detail::exp_constants;

constexpr std::uint32_t sweep_stride = MICROFIT_EXP_SWEEP_STRIDE;
static_assert(sweep_stride >= 1, "MICROFIT_EXP_SWEEP_STRIDE must be at least 1");

constexpr float inf = std::numeric_limits<float>::infinity();

float float_from_bits(std::uint32_t bits) {
    float x;
    std::memcpy(&x, &bits, sizeof x);
    return x;
}

std::uint32_t bits_of(float x) {
    std::uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    return bits;
}

/// Returns 2^k as a double, for k in the normal range of doubles.
double power_of_two(int k) {
    const std::uint64_t bits = static_cast<std::uint64_t>(k + 1023) << 52;
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
}

/// Returns the exponent k of the float ULP at the exact value `e` > 0: ULP = 2^k with
/// k = floor(log2 e) - 23, and k = -149 for values in the subnormal range.
int float_ulp_exponent(double e) {
    std::uint64_t bits;
    std::memcpy(&bits, &e, sizeof bits);
    const int exponent = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
    return std::max(exponent - 23, -149);
}

double float_ulp_at(double e) { return power_of_two(float_ulp_exponent(e)); }

/// Evaluates `exp` on one float by putting it in lane 0 of a vector of zeros.
float evaluate(simd::Vec (*exp)(simd::Vec), float x) {
    alignas(simd::alignment) float lanes[simd::width] = {};
    lanes[0] = x;
    simd::store(lanes, exp(simd::load(lanes)));
    return lanes[0];
}

float fast_exp_of(float x) { return evaluate(fast_exp, x); }
float fast_exp_nonpositive_of(float x) { return evaluate(fast_exp_nonpositive, x); }

/// Error statistics of fast_exp over a set of inputs.
struct SweepResult {
    std::uint64_t count = 0;
    double max_ulp = 0.0;  // max |y - e^x| / ulp(e^x), with e^x from std::exp in double
    float max_ulp_input = 0.0f;
    float max_ulp_result = 0.0f;
    double max_ulp_reference = 0.0;
    std::int64_t max_distance = 0;  // max distance in ULPs to e^x rounded to float
    float max_distance_input = 0.0f;
    std::uint64_t non_finite = 0;        // results that are NaN or inf
    std::uint64_t nonzero = 0;           // results that are not +0 (counted by flush sweeps only)
    std::uint64_t variant_mismatches = 0;  // inputs where fast_exp_nonpositive differs in any bit

    void add(float x, float y) {
        ++count;
        const double e = std::exp(static_cast<double>(x));
        // Both values are non-negative, so their bit patterns are ordered like their values.
        const std::int64_t distance = std::abs(static_cast<std::int64_t>(bits_of(y)) -
                                               static_cast<std::int64_t>(bits_of(static_cast<float>(e))));
        // A result equal to the rounded reference errs by at most 0.5 ULP, so its error only
        // matters while max_ulp is below that.
        if (distance == 0 && max_ulp >= 0.5) return;

        if (!std::isfinite(y)) {
            ++non_finite;
            return;
        }
        if (distance > max_distance) {
            max_distance = distance;
            max_distance_input = x;
        }
        const double error = std::abs(static_cast<double>(y) - e) * power_of_two(-float_ulp_exponent(e));
        if (error > max_ulp) {
            max_ulp = error;
            max_ulp_input = x;
            max_ulp_result = y;
            max_ulp_reference = e;
        }
    }

    void merge(const SweepResult& other) {
        count += other.count;
        non_finite += other.non_finite;
        nonzero += other.nonzero;
        variant_mismatches += other.variant_mismatches;
        if (other.max_ulp > max_ulp) {
            max_ulp = other.max_ulp;
            max_ulp_input = other.max_ulp_input;
            max_ulp_result = other.max_ulp_result;
            max_ulp_reference = other.max_ulp_reference;
        }
        if (other.max_distance > max_distance) {
            max_distance = other.max_distance;
            max_distance_input = other.max_distance_input;
        }
    }
};

/// What a sweep checks besides evaluating fast_exp.
enum class SweepKind {
    accuracy,               // error against std::exp
    accuracy_and_variant,   // the same, and fast_exp_nonpositive against fast_exp (inputs <= 0)
    flush,                  // fast_exp and fast_exp_nonpositive return +0
};

/// Writes fast_exp of `count` inputs to `outputs` and, unless it is null, fast_exp_nonpositive to
/// `variant_outputs`. Kept out of line because, inlined into sweep_bits, GCC 12 reloads every
/// vector constant after each std::exp call there, which made the sweep 1.5 times slower.
[[gnu::noinline]] void evaluate(const float* inputs, std::size_t count, float* outputs, float* variant_outputs) {
    for (std::size_t j = 0; j < count; j += simd::width) {
        const simd::Vec x = simd::load(inputs + j);
        simd::store(outputs + j, fast_exp(x));
        if (variant_outputs != nullptr) simd::store(variant_outputs + j, fast_exp_nonpositive(x));
    }
}

/// Checks fast_exp on the floats with bit patterns first, first + stride, ... up to last
/// (inclusive). Each batch of inputs is filled, then evaluated, then checked, so that the vector
/// loads do not wait for the scalar stores that filled them.
SweepResult sweep_bits(std::uint32_t first, std::uint32_t last, std::uint32_t stride, SweepKind kind) {
    constexpr std::size_t batch = 1024;
    static_assert(batch % simd::width == 0, "the batch must be a whole number of vectors");

    SweepResult result;
    alignas(simd::alignment) float inputs[batch];
    alignas(simd::alignment) float outputs[batch];
    alignas(simd::alignment) float variant_outputs[batch];
    std::uint64_t bits = first;
    while (bits <= last) {
        std::size_t count = 0;
        for (; count < batch && bits <= last; ++count, bits += stride) {
            inputs[count] = float_from_bits(static_cast<std::uint32_t>(bits));
        }
        for (std::size_t i = count; i < batch; ++i) inputs[i] = 0.0f;

        evaluate(inputs, batch, outputs, kind == SweepKind::accuracy ? nullptr : variant_outputs);

        for (std::size_t i = 0; i < count; ++i) {
            if (kind == SweepKind::flush) {
                ++result.count;
                if (bits_of(outputs[i]) != 0 || bits_of(variant_outputs[i]) != 0) ++result.nonzero;
                continue;
            }
            result.add(inputs[i], outputs[i]);
            if (kind == SweepKind::accuracy_and_variant && bits_of(outputs[i]) != bits_of(variant_outputs[i])) {
                ++result.variant_mismatches;
            }
        }
    }
    return result;
}

/// Runs sweep_bits over [first, last] split into one contiguous part per hardware thread.
SweepResult parallel_sweep_bits(std::uint32_t first, std::uint32_t last, std::uint32_t stride, SweepKind kind) {
#if !MICROFIT_EXP_TEST_THREADS
    return sweep_bits(first, last, stride, kind);
#else
    const std::uint64_t steps = (static_cast<std::uint64_t>(last) - first) / stride + 1;
    const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
    const std::uint64_t steps_per_thread = (steps + threads - 1) / threads;

    std::vector<SweepResult> results(threads);
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < threads; ++t) {
        const std::uint64_t begin = t * steps_per_thread;
        if (begin >= steps) break;
        const std::uint64_t end = std::min(steps, begin + steps_per_thread);
        const auto part_first = static_cast<std::uint32_t>(first + begin * stride);
        const auto part_last = static_cast<std::uint32_t>(first + (end - 1) * stride);
        workers.emplace_back([&results, t, part_first, part_last, stride, kind] {
            results[t] = sweep_bits(part_first, part_last, stride, kind);
        });
    }
    for (std::thread& worker : workers) worker.join();

    SweepResult total;
    for (const SweepResult& part : results) total.merge(part);
    return total;
#endif
}

void report(const std::string& range, std::uint32_t stride, const SweepResult& result, double seconds) {
    MESSAGE(range << ": " << result.count << " inputs (stride " << stride << ") in " << seconds
                  << " s; max error " << result.max_ulp << " ULP at x = " << result.max_ulp_input << " (got "
                  << result.max_ulp_result << ", exact " << result.max_ulp_reference << "); max distance "
                  << result.max_distance << " ULP to the rounded result, at x = " << result.max_distance_input);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Against the correctly rounded result, the error is at most 2 ULP on every build. Against the
// exact value, the sweeps measured 1.89 ULP where simd::fma is fused and 2.18 ULP where it is a
// product and a sum, so this bound is a regression check for both.
constexpr double max_error_against_exact = 2.25;

}  // namespace

TEST_CASE("fast_exp is within 2 ULP for every float in [-87.3, 0]") {
    const auto start = std::chrono::steady_clock::now();
    // Negative floats order by magnitude in their bit patterns: -0 is 0x80000000.
    const SweepResult result =
        parallel_sweep_bits(bits_of(-0.0f), bits_of(-87.3f), sweep_stride, SweepKind::accuracy_and_variant);
    report("[-87.3, 0]", sweep_stride, result, seconds_since(start));

    CHECK(result.count >= (bits_of(-87.3f) - bits_of(-0.0f)) / sweep_stride);
    CHECK(result.non_finite == 0);
    CHECK(result.max_distance <= 2);
    CHECK(result.max_ulp <= max_error_against_exact);
    CHECK(result.variant_mismatches == 0);
}

TEST_CASE("fast_exp is within 2 ULP down to the smallest normal result") {
    // Every float from just below -87.3 down to min_normal_input, whose e^x is just above FLT_MIN.
    const SweepResult result = parallel_sweep_bits(bits_of(-87.3f) + 1, bits_of(exp_constants::min_normal_input), 1,
                                                   SweepKind::accuracy_and_variant);
    report("[-87.3365402, -87.3)", 1, result, 0.0);

    CHECK(result.non_finite == 0);
    CHECK(result.max_distance <= 2);
    CHECK(result.max_ulp <= max_error_against_exact);
    CHECK(result.variant_mismatches == 0);
    CHECK(fast_exp_of(exp_constants::min_normal_input) >= std::numeric_limits<float>::min());
}

TEST_CASE("fast_exp flushes results below FLT_MIN to 0") {
    const float first_flushed = std::nextafter(exp_constants::min_normal_input, -inf);
    CHECK(std::exp(static_cast<double>(first_flushed)) < static_cast<double>(std::numeric_limits<float>::min()));

    // Every float from there down to -110, past the inputs whose exact result is subnormal.
    const SweepResult result =
        parallel_sweep_bits(bits_of(first_flushed), bits_of(-110.0f), 1, SweepKind::flush);
    CHECK(result.count > 2'000'000);
    CHECK(result.nonzero == 0);

    CHECK(bits_of(fast_exp_of(-200.0f)) == 0);
    CHECK(bits_of(fast_exp_of(std::numeric_limits<float>::lowest())) == 0);
    CHECK(bits_of(fast_exp_nonpositive_of(std::numeric_limits<float>::lowest())) == 0);
}

TEST_CASE("fast_exp is within 2 ULP for positive inputs") {
    // Positive inputs are not used by softmax, so they are sampled with a 16 times larger stride.
    const std::uint32_t stride = 16 * sweep_stride;
    const auto start = std::chrono::steady_clock::now();
    const SweepResult result =
        parallel_sweep_bits(bits_of(0.0f), bits_of(exp_constants::max_finite_input), stride, SweepKind::accuracy);
    report("[0, 88.7228317]", stride, result, seconds_since(start));

    CHECK(result.non_finite == 0);
    CHECK(result.max_distance <= 2);
    CHECK(result.max_ulp <= max_error_against_exact);
}

TEST_CASE("fast_exp of zeros and infinities") {
    CHECK(fast_exp_of(0.0f) == 1.0f);
    CHECK(fast_exp_of(-0.0f) == 1.0f);
    CHECK(fast_exp_nonpositive_of(0.0f) == 1.0f);
    CHECK(fast_exp_nonpositive_of(-0.0f) == 1.0f);

    // +0, not -0: the bits are all zero.
    CHECK(bits_of(fast_exp_of(-inf)) == 0);
    CHECK(bits_of(fast_exp_nonpositive_of(-inf)) == 0);

    CHECK(fast_exp_of(inf) == inf);
}

TEST_CASE("fast_exp of NaN is NaN") {
    const float nans[] = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::signaling_NaN()};
    for (float x : nans) {
        CHECK(std::isnan(fast_exp_of(x)));
        CHECK(std::isnan(fast_exp_nonpositive_of(x)));
    }
}

TEST_CASE("fast_exp overflows to inf only above the last finite input") {
    const float last_finite = exp_constants::max_finite_input;
    const float first_infinite = std::nextafter(last_finite, inf);

    // The limit is where e^x, rounded to float, becomes inf.
    CHECK(std::isfinite(static_cast<float>(std::exp(static_cast<double>(last_finite)))));
    CHECK(std::isinf(static_cast<float>(std::exp(static_cast<double>(first_infinite)))));

    const float y = fast_exp_of(last_finite);
    CHECK(std::isfinite(y));
    CHECK(std::abs(y - std::exp(static_cast<double>(last_finite))) <= 2 * float_ulp_at(y));
    CHECK(fast_exp_of(first_infinite) == inf);
    CHECK(fast_exp_of(100.0f) == inf);
    CHECK(fast_exp_of(std::numeric_limits<float>::max()) == inf);
}

TEST_CASE("fast_exp treats every lane on its own") {
    // Special values next to ordinary ones in the same vector, in every lane position.
    const float inputs[] = {
        std::numeric_limits<float>::quiet_NaN(), -inf, inf, 0.0f, -1.0f, -95.0f, 50.0f, -300.0f, -87.0f,
    };
    constexpr std::size_t count = sizeof inputs / sizeof inputs[0];

    for (std::size_t shift = 0; shift < count; ++shift) {
        alignas(simd::alignment) float lanes[simd::padded(count)] = {};
        for (std::size_t i = 0; i < count; ++i) lanes[i] = inputs[(i + shift) % count];

        alignas(simd::alignment) float results[simd::padded(count)] = {};
        alignas(simd::alignment) float nonpositive_results[simd::padded(count)] = {};
        for (std::size_t j = 0; j < simd::padded(count); j += simd::width) {
            simd::store(results + j, fast_exp(simd::load(lanes + j)));
            simd::store(nonpositive_results + j, fast_exp_nonpositive(simd::load(lanes + j)));
        }

        for (std::size_t i = 0; i < count; ++i) {
            const float x = lanes[i];
            const float y = results[i];
            CAPTURE(x);
            CAPTURE(shift);
            if (std::isnan(x)) {
                CHECK(std::isnan(y));
                CHECK(std::isnan(nonpositive_results[i]));
                continue;
            }
            const double e = std::exp(static_cast<double>(x));
            if (e < static_cast<double>(std::numeric_limits<float>::min())) {
                CHECK(bits_of(y) == 0);
            } else if (std::isinf(static_cast<float>(e))) {
                CHECK(y == inf);
            } else {
                CHECK(std::abs(y - e) <= 2 * float_ulp_at(e));
            }
            if (x <= 0.0f) CHECK(bits_of(nonpositive_results[i]) == bits_of(y));
        }
    }
}

TEST_CASE("round_to_nearest matches nearbyint, ties to even") {
    // The scalar path rounds by adding 2^23 instead of calling nearbyintf; every SIMD path rounds
    // with an instruction. All must agree with std::nearbyint bit for bit, signed zeros included.
    const float cases[] = {0.0f, -0.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 0.49999997f, -0.49999997f,
                           0x1p22f + 0.5f, -(0x1p22f + 0.5f), 0x1p23f - 0.5f, 0x1p23f, 0x1p23f + 1.0f, 1e30f,
                           -1e30f, 1e-40f, -1e-40f, std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity()};
    for (const float x : cases) {
        CAPTURE(x);
        CHECK(bits_of(evaluate(simd::round_to_nearest, x)) == bits_of(std::nearbyint(x)));
    }

    int mismatches = 0;
    for (std::uint32_t bits = 0; bits < 0x4b800000u; bits += 997u) {  // up to 2^24, both signs
        for (const std::uint32_t sign : {0u, 0x80000000u}) {
            const std::uint32_t pattern = bits | sign;
            float x;
            std::memcpy(&x, &pattern, sizeof x);
            if (bits_of(evaluate(simd::round_to_nearest, x)) != bits_of(std::nearbyint(x))) ++mismatches;
        }
    }
    CHECK(mismatches == 0);
}
