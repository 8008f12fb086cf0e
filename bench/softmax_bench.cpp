// Benchmarks of detail::softmax against a plain loop that calls std::exp, and of the exp
// functions alone.
//
// `softmax/<n>` times both softmax implementations on the same row of n logits, drawn uniformly
// from [-10, 10]. Each benchmark iteration is one batch: about 64K elements through the std::exp
// loop, then as many through detail::softmax, each timed in thread CPU time. The counters are
// the median batch of each, and the two alternate, so that other load on a shared machine
// disturbs both alike:
//   std_exp_ns_per_element    the plain loop
//   microfit_ns_per_element   detail::softmax
//   speedup                   their ratio
// `exp/<implementation>/4096` times std::exp, simd::exp, detail::fast_exp and
// detail::fast_exp_nonpositive on the same 4096 floats from [-20, 0], the range of softmax's
// arguments, and reports the median batch as `ns_per_element`, in thread CPU time.
// The framework's own Time and CPU columns are per batch and can be ignored.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <vector>

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

/// Runs `call` `repetitions` times and returns the CPU seconds per repetition.
template <class Call>
double seconds_per_call(std::size_t repetitions, Call call) {
    const double start = thread_cpu_seconds();
    for (std::size_t r = 0; r < repetitions; ++r) {
        call();
        benchmark::ClobberMemory();
    }
    return (thread_cpu_seconds() - start) / static_cast<double>(repetitions);
}

/// Returns the median of the batch times. It ignores batches slowed by other load, and also the
/// occasional batch that the thread CPU clock of a virtual machine reports as too short, which a
/// minimum would pick.
double median(std::vector<double> seconds) {
    std::nth_element(seconds.begin(), seconds.begin() + seconds.size() / 2, seconds.end());
    return seconds[seconds.size() / 2];
}

void softmax_comparison(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const AlignedBuffer row = random_floats(n, -10.0f, 10.0f);
    AlignedBuffer out = aligned_floats(simd::padded(n));
    const std::size_t rows = std::max<std::size_t>(1, elements_per_batch / n);

    std::vector<double> std_exp_seconds;
    std::vector<double> microfit_seconds;
    for (auto _ : state) {
        std_exp_seconds.push_back(seconds_per_call(rows, [&] {
            softmax_with_std_exp(row.get(), n, out.get());
            benchmark::DoNotOptimize(out.get());
        }));
        microfit_seconds.push_back(seconds_per_call(rows, [&] {
            benchmark::DoNotOptimize(microfit::detail::softmax(row.get(), n, out.get()));
        }));
    }

    const double std_exp = median(std_exp_seconds);
    const double microfit = median(microfit_seconds);
    const double nanoseconds_per_element = 1e9 / static_cast<double>(n);
    state.counters["std_exp_ns_per_element"] = std_exp * nanoseconds_per_element;
    state.counters["microfit_ns_per_element"] = microfit * nanoseconds_per_element;
    state.counters["speedup"] = std_exp / microfit;
}

/// Times batches of `body`, each about 64K elements, and reports the median as `ns_per_element`.
template <class Body>
void report_ns_per_element(benchmark::State& state, std::size_t n, Body body) {
    const std::size_t repetitions = std::max<std::size_t>(1, elements_per_batch / n);
    std::vector<double> seconds;
    for (auto _ : state) seconds.push_back(seconds_per_call(repetitions, body));
    state.counters["ns_per_element"] = median(seconds) * 1e9 / static_cast<double>(n);
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
