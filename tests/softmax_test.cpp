// Tests of detail::row_max, detail::softmax and detail::log_softmax against plain double-precision
// loops. Padding lanes of every input row hold NaN, infinities and huge values, so a kernel that
// lets one of them into the maximum or the sum produces a wrong or NaN result.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "microfit/detail/simd.hpp"
#include "microfit/detail/softmax.hpp"
#include "microfit/random.hpp"

namespace {

namespace simd = microfit::detail::simd;
using microfit::detail::LogSumExp;

constexpr std::array<std::size_t, 9> row_lengths = {1, 2, 3, 7, 10, 16, 33, 100, 256};
constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float quiet_nan = std::numeric_limits<float>::quiet_NaN();
constexpr double unit_roundoff = 0x1p-24;  // float rounding error bound, relative

/// A row of n logits in an aligned buffer of simd::padded(n) floats whose padding lanes hold
/// garbage that a masked kernel must ignore.
class Row {
public:
    explicit Row(std::size_t n) : n_(n), storage_(simd::padded(n) + simd::alignment / sizeof(float)) {
        const auto address = reinterpret_cast<std::uintptr_t>(storage_.data());
        const std::size_t misalignment = address % simd::alignment;
        data_ = storage_.data() + (misalignment == 0 ? 0 : (simd::alignment - misalignment) / sizeof(float));

        const float garbage[] = {quiet_nan, inf, -inf, 3e38f, -3e38f, 1e30f};
        for (std::size_t j = n; j < simd::padded(n); ++j) data_[j] = garbage[(j - n) % 6];
    }

    Row(const Row&) = delete;
    Row& operator=(const Row&) = delete;
    Row(Row&&) = default;  // moves the vector's buffer, so data_ stays valid
    Row& operator=(Row&&) = default;

    std::size_t size() const { return n_; }
    std::size_t stride() const { return simd::padded(n_); }
    float* data() { return data_; }
    const float* data() const { return data_; }
    float& operator[](std::size_t j) { return data_[j]; }
    float operator[](std::size_t j) const { return data_[j]; }

private:
    std::size_t n_;
    std::vector<float> storage_;
    float* data_;
};

Row row_of(std::initializer_list<float> values) {
    Row row(values.size());
    std::size_t j = 0;
    for (float v : values) row[j++] = v;
    return row;
}

/// Returns an output buffer for a row of n lanes, filled with a value that no result lane can have.
Row output_for(std::size_t n) {
    Row out(n);
    for (std::size_t j = 0; j < out.stride(); ++j) out[j] = -12345.0f;
    return out;
}

Row random_row(std::size_t n, float low, float high, std::uint64_t seed) {
    microfit::Random random(seed);
    Row row(n);
    for (std::size_t j = 0; j < n; ++j) row[j] = random.uniform(low, high);
    return row;
}

struct Reference {
    double max = -std::numeric_limits<double>::infinity();
    double log_sum = 0.0;          // log sum_j e^(z_j - max)
    std::vector<double> distance;  // max - z_j, the argument of exp with its sign flipped
    double max_distance = 0.0;     // the largest distance
    std::vector<double> softmax;
    std::vector<double> log_softmax;
};

Reference reference_of(const Row& row) {
    Reference ref;
    const std::size_t n = row.size();
    for (std::size_t j = 0; j < n; ++j) ref.max = std::max(ref.max, static_cast<double>(row[j]));
    double sum = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
        sum += std::exp(row[j] - ref.max);
        ref.distance.push_back(ref.max - row[j]);
        ref.max_distance = std::max(ref.max_distance, ref.max - row[j]);
    }
    ref.log_sum = std::log(sum);
    for (std::size_t j = 0; j < n; ++j) {
        ref.softmax.push_back(std::exp(row[j] - ref.max) / sum);
        ref.log_softmax.push_back((row[j] - ref.max) - ref.log_sum);
    }
    return ref;
}

// Error bounds, in units of the float rounding error u = 2^-24, for finite rows of n lanes.
//   e_j = fast_exp(fl(z_j - max)): the subtraction errs by u |z_j - max| in the argument, so by as
//   much relative to e_j, and fast_exp adds at most 2 ULP (4u relative, 4.5u allowed).
//   sum of n terms: (n + 1) u relative for the additions, plus the largest term error.
//   softmax_j = e_j * fl(1 / sum): two more roundings, and an absolute error of up to FLT_MIN
//   where e_j or the product falls below FLT_MIN.
//   log-softmax_j = fl(fl(z_j - max) - fl(log sum)): u |z_j - max| + the sum's relative error
//   + 2u |log sum| for std::log + u |result|.
// Each bound is doubled for second-order terms and the double reference's own rounding. A result
// outside it is a wrong result, not rounding.
double sum_error_bound(const Reference& ref, std::size_t n) {
    return (4.5 + ref.max_distance) + static_cast<double>(n + 1);
}

double softmax_bound(const Reference& ref, std::size_t n, std::size_t j) {
    // fast_exp flushes terms below FLT_MIN to 0, and a product below FLT_MIN is subnormal, so a
    // lane may also err by up to FLT_MIN whatever its relative error.
    const double flush_error = std::numeric_limits<float>::min();
    return 2.0 * unit_roundoff * ref.softmax[j] * ((4.5 + ref.distance[j]) + sum_error_bound(ref, n) + 2.0) +
           flush_error;
}

double log_softmax_bound(const Reference& ref, std::size_t n, std::size_t j) {
    return 2.0 * unit_roundoff *
           (ref.distance[j] + sum_error_bound(ref, n) + 2.0 * std::abs(ref.log_sum) + std::abs(ref.log_softmax[j]));
}

void check_padding_is_zero(const Row& out) {
    for (std::size_t j = out.size(); j < out.stride(); ++j) {
        CAPTURE(j);
        CHECK(out[j] == 0.0f);
    }
}

void check_softmax(const Row& row) {
    const std::size_t n = row.size();
    const Reference ref = reference_of(row);
    Row out = output_for(n);
    const LogSumExp lse = microfit::detail::softmax(row.data(), n, out.data());

    CAPTURE(n);
    CHECK(lse.max == static_cast<float>(ref.max));
    CHECK(std::abs(lse.log_sum - ref.log_sum) <= 2.0 * unit_roundoff * (sum_error_bound(ref, n) + 2.0 * ref.log_sum));
    for (std::size_t j = 0; j < n; ++j) {
        CAPTURE(j);
        CAPTURE(row[j]);
        CHECK(std::abs(out[j] - ref.softmax[j]) <= softmax_bound(ref, n, j));
    }
    check_padding_is_zero(out);
}

void check_log_softmax(const Row& row) {
    const std::size_t n = row.size();
    const Reference ref = reference_of(row);
    Row out = output_for(n);
    const LogSumExp lse = microfit::detail::log_softmax(row.data(), n, out.data());

    CAPTURE(n);
    CHECK(lse.max == static_cast<float>(ref.max));
    CHECK(std::abs(lse.log_sum - ref.log_sum) <= 2.0 * unit_roundoff * (sum_error_bound(ref, n) + 2.0 * ref.log_sum));
    for (std::size_t j = 0; j < n; ++j) {
        CAPTURE(j);
        CAPTURE(row[j]);
        CHECK(std::abs(out[j] - ref.log_softmax[j]) <= log_softmax_bound(ref, n, j));
    }
    check_padding_is_zero(out);
}

}  // namespace

TEST_CASE("row_max ignores padding lanes") {
    for (std::size_t n : row_lengths) {
        const Row row = random_row(n, -50.0f, -1.0f, n);
        float expected = -inf;
        for (std::size_t j = 0; j < n; ++j) expected = std::max(expected, row[j]);
        CAPTURE(n);
        CHECK(microfit::detail::row_max(row.data(), n) == expected);
    }
}

TEST_CASE("softmax matches a double reference for every row length") {
    for (std::size_t n : row_lengths) {
        check_softmax(random_row(n, -3.0f, 3.0f, 1 + n));
        check_softmax(random_row(n, -60.0f, 40.0f, 2 + n));
        check_softmax(random_row(n, 1e4f, 1e4f + 10.0f, 3 + n));
    }
}

TEST_CASE("log_softmax matches a double reference for every row length") {
    for (std::size_t n : row_lengths) {
        check_log_softmax(random_row(n, -3.0f, 3.0f, 1 + n));
        check_log_softmax(random_row(n, -60.0f, 40.0f, 2 + n));
        check_log_softmax(random_row(n, 1e4f, 1e4f + 10.0f, 3 + n));
    }
}

TEST_CASE("log_softmax of logits far apart") {
    // Expected values from PyTorch's float32 log_softmax.
    const Row row = row_of({-249.873093f, -424.126709f, -460.292542f, 378.097443f, -292.614532f});
    const float expected[] = {-627.97052f, -802.22412f, -838.39001f, 0.0f, -670.71198f};
    Row out = output_for(5);
    const LogSumExp lse = microfit::detail::log_softmax(row.data(), 5, out.data());

    CHECK(lse.max == 378.097443f);
    CHECK(lse.log_sum == 0.0f);
    for (std::size_t j = 0; j < 5; ++j) {
        CAPTURE(j);
        // One float ULP at 838 is 6.1e-5.
        CHECK(std::abs(out[j] - expected[j]) <= 1e-4f);
    }
    check_padding_is_zero(out);
}

TEST_CASE("softmax of logits far apart is one-hot") {
    const Row row = row_of({-249.873093f, -424.126709f, -460.292542f, 378.097443f, -292.614532f});
    Row out = output_for(5);
    microfit::detail::softmax(row.data(), 5, out.data());

    CHECK(out[0] == 0.0f);
    CHECK(out[1] == 0.0f);
    CHECK(out[2] == 0.0f);
    CHECK(out[3] == 1.0f);
    CHECK(out[4] == 0.0f);
    check_padding_is_zero(out);
}

TEST_CASE("equal logits of 1e8 give log_softmax -ln 2") {
    const Row row = row_of({1e8f, 1e8f});
    Row log_out = output_for(2);
    const LogSumExp lse = microfit::detail::log_softmax(row.data(), 2, log_out.data());
    const float minus_ln2 = -0.693147180559945f;

    CHECK(lse.max == 1e8f);
    CHECK(lse.log_sum == -minus_ln2);
    CHECK(log_out[0] == minus_ln2);
    CHECK(log_out[1] == minus_ln2);

    Row out = output_for(2);
    microfit::detail::softmax(row.data(), 2, out.data());
    CHECK(out[0] == 0.5f);
    CHECK(out[1] == 0.5f);
}

TEST_CASE("rows of -inf are uniform") {
    for (std::size_t n : row_lengths) {
        Row row(n);
        for (std::size_t j = 0; j < n; ++j) row[j] = -inf;
        CAPTURE(n);

        Row out = output_for(n);
        const LogSumExp lse = microfit::detail::softmax(row.data(), n, out.data());
        CHECK(lse.max == -inf);
        CHECK(lse.log_sum == std::log(static_cast<float>(n)));
        for (std::size_t j = 0; j < n; ++j) CHECK(out[j] == 1.0f / static_cast<float>(n));
        check_padding_is_zero(out);

        Row log_out = output_for(n);
        const LogSumExp log_lse = microfit::detail::log_softmax(row.data(), n, log_out.data());
        CHECK(log_lse.max == -inf);
        CHECK(log_lse.log_sum == std::log(static_cast<float>(n)));
        for (std::size_t j = 0; j < n; ++j) CHECK(log_out[j] == -std::log(static_cast<float>(n)));
        check_padding_is_zero(log_out);
    }
}

TEST_CASE("-inf logits get probability 0") {
    const Row row = row_of({-inf, 2.0f, -inf, 2.0f, -inf});
    Row out = output_for(5);
    microfit::detail::softmax(row.data(), 5, out.data());
    CHECK(out[0] == 0.0f);
    CHECK(out[1] == 0.5f);
    CHECK(out[2] == 0.0f);
    CHECK(out[3] == 0.5f);
    CHECK(out[4] == 0.0f);

    Row log_out = output_for(5);
    microfit::detail::log_softmax(row.data(), 5, log_out.data());
    CHECK(log_out[0] == -inf);
    CHECK(log_out[1] == -0.693147180559945f);
    CHECK(log_out[2] == -inf);
    check_padding_is_zero(log_out);
}

TEST_CASE("logits far below the maximum get probability 0") {
    // e^-95 and e^-200 are below FLT_MIN, where fast_exp flushes to 0. Log-softmax keeps the
    // distances, because it never exponentiates them.
    const Row row = row_of({0.0f, -200.0f, -95.0f});
    Row out = output_for(3);
    microfit::detail::softmax(row.data(), 3, out.data());
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == 0.0f);
    CHECK(out[2] == 0.0f);

    Row log_out = output_for(3);
    microfit::detail::log_softmax(row.data(), 3, log_out.data());
    CHECK(log_out[0] == 0.0f);
    CHECK(log_out[1] == -200.0f);
    CHECK(log_out[2] == -95.0f);
}

TEST_CASE("a NaN or +inf logit makes every lane NaN") {
    // Positions at the start, in the middle and in the last (partial) vector; the other lanes are
    // finite or -inf, which takes the uniform-row path.
    for (std::size_t n : {std::size_t{1}, std::size_t{10}, std::size_t{33}}) {
        for (std::size_t position : {std::size_t{0}, n / 2, n - 1}) {
            for (float other : {1.5f, -inf}) {
                for (float bad : {quiet_nan, inf}) {
                    if (bad == inf && other == -inf) continue;  // a lone +inf is checked below
                    Row row(n);
                    for (std::size_t j = 0; j < n; ++j) row[j] = other;
                    row[position] = bad;
                    CAPTURE(n);
                    CAPTURE(position);
                    CAPTURE(other);
                    CAPTURE(bad);

                    Row out = output_for(n);
                    const LogSumExp lse = microfit::detail::softmax(row.data(), n, out.data());
                    CHECK(std::isnan(lse.log_sum));
                    for (std::size_t j = 0; j < n; ++j) CHECK(std::isnan(out[j]));
                    check_padding_is_zero(out);

                    Row log_out = output_for(n);
                    microfit::detail::log_softmax(row.data(), n, log_out.data());
                    for (std::size_t j = 0; j < n; ++j) CHECK(std::isnan(log_out[j]));
                    check_padding_is_zero(log_out);
                }
            }
        }
    }
}

TEST_CASE("a +inf logit among -inf makes every lane NaN") {
    const Row row = row_of({-inf, inf, -inf});
    Row out = output_for(3);
    microfit::detail::softmax(row.data(), 3, out.data());
    for (std::size_t j = 0; j < 3; ++j) CHECK(std::isnan(out[j]));
    check_padding_is_zero(out);
}

TEST_CASE("softmax and log_softmax may write over their input") {
    for (std::size_t n : row_lengths) {
        CAPTURE(n);
        const Row original = random_row(n, -10.0f, 10.0f, 4 + n);

        Row expected = output_for(n);
        microfit::detail::softmax(original.data(), n, expected.data());
        Row in_place = random_row(n, -10.0f, 10.0f, 4 + n);
        microfit::detail::softmax(in_place.data(), n, in_place.data());
        for (std::size_t j = 0; j < in_place.stride(); ++j) CHECK(in_place[j] == expected[j]);

        Row log_expected = output_for(n);
        microfit::detail::log_softmax(original.data(), n, log_expected.data());
        Row log_in_place = random_row(n, -10.0f, 10.0f, 4 + n);
        microfit::detail::log_softmax(log_in_place.data(), n, log_in_place.data());
        for (std::size_t j = 0; j < log_in_place.stride(); ++j) CHECK(log_in_place[j] == log_expected[j]);
    }
}
