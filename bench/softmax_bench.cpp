// Benchmarks of detail::softmax against a plain loop that calls std::exp, and of the exp
// functions alone.
//
// `softmax/<n>` times both softmax implementations on the same row of n logits, drawn uniformly
// from [-10, 10]. Each benchmark iteration is one batch: about 64K elements through the std::exp
// loop, then as many through detail::softmax, each timed in thread CPU time. The counters are
// the fastest batch of each, so that other load on a shared machine disturbs both alike:
//   std_exp_ns_per_element    the plain loop
//   microfit_ns_per_element   detail::softmax
//   speedup                   their ratio
// `exp/<implementation>/4096` times std::exp, simd::exp, detail::fast_exp and
// detail::fast_exp_nonpositive on the same 4096 floats from [-20, 0], the range of softmax's
// arguments, and reports `ns_per_element` in thread CPU time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>

#include <time.h>

#include "microfit/detail/exp.hpp"
#include "microfit/detail/simd.hpp"
#include "microfit/detail/softmax.hpp"
#include "microfit/random.hpp"

namespace {

namespace simd = microfit::detail::simd;

constexpr long row_lengths[] = {16, 256, 4096};
constexpr std::size_t elements_per_batch = 65536;

/// Returns the CPU time of the calling thread in seconds. Google Benchmark's rates divide by CPU
/// time too, which on a shared virtual machine leaves out the time other guests took.
double thread_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

struct AlignedDeleter {
    void operator()(float* p) const { ::operator delete[](p, std::align_val_t{simd::alignment}); }
};
using AlignedBuffer = std::unique_ptr<float[], AlignedDeleter>;

AlignedBuffer aligned_floats(std::size_t count) {
    auto* p = static_cast<float*>(::operator new[](count * sizeof(float), std::align_val_t{simd::alignment}));
    std::fill(p, p + count, 0.0f);
    return AlignedBuffer(p);
}

/// Returns n floats drawn uniformly from [low, high), in an aligned buffer of simd::padded(n).
AlignedBuffer random_floats(std::size_t n, float low, float high) {
    AlignedBuffer values = aligned_floats(simd::padded(n));
    microfit::Random random(n);
    for (std::size_t j = 0; j < n; ++j) values[j] = random.uniform(low, high);
    return values;
}

/// Softmax the plain way: the same max subtraction and normalisation as detail::softmax, with
/// one std::exp call per element.
void softmax_with_std_exp(const float* row, std::size_t n, float* out) {
    float max = row[0];
    for (std::size_t j = 1; j < n; ++j) max = std::max(max, row[j]);
    float sum = 0.0f;
    for (std::size_t j = 0; j < n; ++j) {
        out[j] = std::exp(row[j] - max);
        sum += out[j];
    }
    const float scale = 1.0f / sum;
    for (std::size_t j = 0; j < n; ++j) out[j] *= scale;
}

/// Runs `softmax_row` on `rows` rows and returns the CPU seconds per row.
template <class Softmax>
double seconds_per_row(std::size_t rows, Softmax softmax_row) {
    const double start = thread_cpu_seconds();
    for (std::size_t r = 0; r < rows; ++r) {
        softmax_row();
        benchmark::ClobberMemory();
    }
    return (thread_cpu_seconds() - start) / static_cast<double>(rows);
}

void softmax_comparison(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const AlignedBuffer row = random_floats(n, -10.0f, 10.0f);
    AlignedBuffer out = aligned_floats(simd::padded(n));
    const std::size_t rows = std::max<std::size_t>(1, elements_per_batch / n);

    double best_std_exp = std::numeric_limits<double>::infinity();
    double best_microfit = std::numeric_limits<double>::infinity();
    for (auto _ : state) {
        best_std_exp = std::min(best_std_exp, seconds_per_row(rows, [&] {
            softmax_with_std_exp(row.get(), n, out.get());
            benchmark::DoNotOptimize(out.get());
        }));
        best_microfit = std::min(best_microfit, seconds_per_row(rows, [&] {
            benchmark::DoNotOptimize(microfit::detail::softmax(row.get(), n, out.get()));
        }));
    }

    const double nanoseconds_per_element = 1e9 / static_cast<double>(n);
    state.counters["std_exp_ns_per_element"] = best_std_exp * nanoseconds_per_element;
    state.counters["microfit_ns_per_element"] = best_microfit * nanoseconds_per_element;
    state.counters["speedup"] = best_std_exp / best_microfit;
}

/// Runs `body` for every iteration of `state` and reports `ns_per_element` in thread CPU time.
template <class Body>
void report_ns_per_element(benchmark::State& state, std::size_t n, Body body) {
    const double start = thread_cpu_seconds();
    for (auto _ : state) {
        body();
        benchmark::ClobberMemory();
    }
    const double seconds = thread_cpu_seconds() - start;
    state.counters["ns_per_element"] = seconds * 1e9 / static_cast<double>(state.iterations() * n);
}

void exp_std(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const AlignedBuffer x = random_floats(n, -20.0f, 0.0f);
    AlignedBuffer y = aligned_floats(n);
    report_ns_per_element(state, n, [&] {
        for (std::size_t j = 0; j < n; ++j) y[j] = std::exp(x[j]);
        benchmark::DoNotOptimize(y.get());
    });
}

template <simd::Vec (*Exp)(simd::Vec)>
void exp_vectorized(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const AlignedBuffer x = random_floats(n, -20.0f, 0.0f);
    AlignedBuffer y = aligned_floats(n);
    report_ns_per_element(state, n, [&] {
        for (std::size_t j = 0; j < n; j += simd::width) simd::store(y.get() + j, Exp(simd::load(x.get() + j)));
        benchmark::DoNotOptimize(y.get());
    });
}

void register_benchmarks() {
    for (long n : row_lengths) benchmark::RegisterBenchmark("softmax", softmax_comparison)->Arg(n);
    benchmark::RegisterBenchmark("exp/std_exp", exp_std)->Arg(4096);
    benchmark::RegisterBenchmark("exp/simd_exp", exp_vectorized<simd::exp>)->Arg(4096);
    benchmark::RegisterBenchmark("exp/fast_exp", exp_vectorized<microfit::detail::fast_exp>)->Arg(4096);
    benchmark::RegisterBenchmark("exp/fast_exp_nonpositive", exp_vectorized<microfit::detail::fast_exp_nonpositive>)
        ->Arg(4096);
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    register_benchmarks();
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
