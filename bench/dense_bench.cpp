// Benchmarks of the dense-layer matrix products against the machine's measured FMA peak and
// against peers doing the same forward work: Eigen 3.4 with fixed-size and dynamic matrices,
// OpenBLAS sgemm on one thread, and two plain triple loops.
//
// Names read `<product>/<implementation>/batch:<B>/in:<In>/out:<Out>`. Every benchmark reports
// the counters `GFLOP/s` (2 * batch * In * Out floating-point operations per call) and `peak_%`,
// the percentage of the FMA peak that this binary measures at start-up with `peak/fma`'s loop.
// tools/run_benchmarks.py runs this binary, prints the ratios and draws the plot.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include <time.h>

#include "microfit/detail/dense_kernels.hpp"
#include "microfit/detail/simd.hpp"
#include "microfit/random.hpp"

#if defined(MICROFIT_BENCH_EIGEN)
// Eigen rejects fixed-size matrices above 128 KiB at compile time. Raising the limit lets the
// large fixed-size shapes compile; the matrices themselves are allocated with new.
#define EIGEN_STACK_ALLOCATION_LIMIT (4 * 1024 * 1024)
#include <Eigen/Core>
#endif

#if defined(MICROFIT_BENCH_OPENBLAS)
#include <cblas.h>
extern "C" void openblas_set_num_threads(int num_threads);
extern "C" char* openblas_get_corename(void);
#endif

namespace {

namespace simd = microfit::detail::simd;

// ---------------------------------------------------------------------------------------------
// FMA peak

/// Independent FMA chains of the peak loop: enough to cover the FMA latency times the FMAs per
/// cycle on every x86 target (4 cycles x 2 FMA units needs 8), and few enough to stay in registers.
constexpr std::size_t peak_chains = simd::registers * 3 / 4;

/// Runs `iterations` rounds of one FMA on each chain C and returns a value that depends on all of
/// them. The chains converge to 1, so no lane ever becomes subnormal or infinite. The fold
/// expression unrolls the chains, so that they stay in registers (a loop over 24 chains is not
/// unrolled by GCC 12 and keeps them in memory). `noipa` keeps the compiler from seeing that the
/// call is pure and hoisting it out of a benchmark loop.
template <std::size_t... C>
[[gnu::noipa]] float run_fma_chains(std::size_t iterations, std::index_sequence<C...>) {
    simd::Vec acc[] = {simd::broadcast(1.0f + 0.01f * static_cast<float>(C))...};
    const simd::Vec scale = simd::broadcast(0.999f);
    const simd::Vec offset = simd::broadcast(0.001f);

    for (std::size_t i = 0; i < iterations; ++i) {
        ((acc[C] = simd::fma(acc[C], scale, offset)), ...);
    }

    simd::Vec sum = simd::broadcast(0.0f);
    ((sum += acc[C]), ...);
    return simd::reduce_add(sum);
}

float run_fma_chains(std::size_t iterations) {
    return run_fma_chains(iterations, std::make_index_sequence<peak_chains>{});
}

double fma_chain_flops(std::size_t iterations) {
    return 2.0 * static_cast<double>(iterations * peak_chains * simd::width);
}

/// Returns the CPU time of the calling thread in seconds. Google Benchmark's rates divide by CPU
/// time too, which on a shared virtual machine leaves out the time other guests took.
double thread_cpu_seconds() {
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

/// FLOP/s of the peak loop: the best of several timed runs of about 20 ms each.
double measure_peak_flops() {
    constexpr std::size_t iterations = 10'000'000;
    double best = 0.0;
    for (int run = 0; run < 9; ++run) {
        const double start = thread_cpu_seconds();
        benchmark::DoNotOptimize(run_fma_chains(iterations));
        const double flops = fma_chain_flops(iterations) / (thread_cpu_seconds() - start);
        if (flops > best) best = flops;
    }
    return best;
}

double peak_flops = 1.0;  // set in main before any benchmark runs

/// Sets the counters of a benchmark that did `flops_per_iteration` floating-point operations in
/// each iteration.
void report_flops(benchmark::State& state, double flops_per_iteration) {
    const double flops = flops_per_iteration * static_cast<double>(state.iterations());
    state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
    state.counters["peak_%"] = benchmark::Counter(100.0 * flops / peak_flops, benchmark::Counter::kIsRate);
}

void peak_benchmark(benchmark::State& state) {
    constexpr std::size_t iterations = 100'000;
    for (auto _ : state) benchmark::DoNotOptimize(run_fma_chains(iterations));
    report_flops(state, fma_chain_flops(iterations));
}

// ---------------------------------------------------------------------------------------------
// Buffers

struct FreeDeleter {
    void operator()(float* p) const noexcept { std::free(p); }
};

/// A zeroed buffer of `count` floats aligned to 64 bytes (a cache line, and at least
/// simd::alignment), so that every implementation gets the same alignment.
class AlignedBuffer {
public:
    explicit AlignedBuffer(std::size_t count) {
        const std::size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
        data_.reset(static_cast<float*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes)));
        std::memset(data_.get(), 0, bytes);
    }
    float* data() const noexcept { return data_.get(); }

private:
    std::unique_ptr<float[], FreeDeleter> data_;
};

/// Fills `rows` rows of `stride` floats with values in [-1, 1) in the first `width` lanes and
/// zeros in the padding lanes.
void fill(float* data, std::size_t rows, std::size_t width, std::size_t stride, microfit::Random& random) {
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t i = 0; i < stride; ++i) data[r * stride + i] = i < width ? random.uniform(-1.0f, 1.0f) : 0.0f;
    }
}

/// The buffers of one dense layer in microfit's layout, filled with random values.
template <std::size_t Batch, std::size_t In, std::size_t Out>
struct LayerData {
    static constexpr std::size_t in_stride = simd::padded(In);
    static constexpr std::size_t out_stride = simd::padded(Out);
    static constexpr double flops = 2.0 * Batch * In * Out;

    AlignedBuffer w{In * out_stride};
    AlignedBuffer bias{out_stride};
    AlignedBuffer x{Batch * in_stride};
    AlignedBuffer y{Batch * out_stride};
    AlignedBuffer dy{Batch * out_stride};
    AlignedBuffer dx{Batch * in_stride};
    AlignedBuffer dw{In * out_stride};
    AlignedBuffer db{out_stride};

    LayerData() {
        microfit::Random random(42);
        fill(w.data(), In, Out, out_stride, random);
        fill(bias.data(), 1, Out, out_stride, random);
        fill(x.data(), Batch, In, in_stride, random);
        fill(dy.data(), Batch, Out, out_stride, random);
    }
};

// ---------------------------------------------------------------------------------------------
// microfit

template <std::size_t Batch, std::size_t In, std::size_t Out>
void microfit_forward(benchmark::State& state) {
    LayerData<Batch, In, Out> d;
    constexpr std::size_t is = LayerData<Batch, In, Out>::in_stride;
    constexpr std::size_t os = LayerData<Batch, In, Out>::out_stride;
    for (auto _ : state) {
        microfit::detail::dense_forward<In, is, os>(d.w.data(), d.bias.data(), d.x.data(), d.y.data(), Batch);
        benchmark::ClobberMemory();
    }
    report_flops(state, d.flops);
}

template <std::size_t Batch, std::size_t In, std::size_t Out>
void microfit_backward_input(benchmark::State& state) {
    LayerData<Batch, In, Out> d;
    constexpr std::size_t is = LayerData<Batch, In, Out>::in_stride;
    constexpr std::size_t os = LayerData<Batch, In, Out>::out_stride;
    for (auto _ : state) {
        microfit::detail::dense_backward_input<In, is, os>(d.w.data(), d.dy.data(), d.dx.data(), Batch);
        benchmark::ClobberMemory();
    }
    report_flops(state, d.flops);
}

template <std::size_t Batch, std::size_t In, std::size_t Out>
void microfit_backward_weights(benchmark::State& state) {
    LayerData<Batch, In, Out> d;
    constexpr std::size_t is = LayerData<Batch, In, Out>::in_stride;
    constexpr std::size_t os = LayerData<Batch, In, Out>::out_stride;
    for (auto _ : state) {
        microfit::detail::dense_backward_weights<In, is, os>(d.x.data(), d.dy.data(), d.dw.data(), d.db.data(), Batch);
        benchmark::ClobberMemory();
    }
    report_flops(state, d.flops);
}

// ---------------------------------------------------------------------------------------------
// Plain loops, compiled with the same flags as microfit

/// The textbook order: one dot product per output, bias first, k increasing.
[[gnu::noinline]] void loop_bjk(const float* w, const float* bias, const float* x, float* y, std::size_t batch,
                                std::size_t in, std::size_t out, std::size_t in_stride, std::size_t out_stride) {
    for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t j = 0; j < out; ++j) {
            float sum = bias[j];
            for (std::size_t k = 0; k < in; ++k) sum += x[b * in_stride + k] * w[k * out_stride + j];
            y[b * out_stride + j] = sum;
        }
    }
}

/// The order that compilers vectorize: a row of y updated with one row of w per k.
[[gnu::noinline]] void loop_bkj(const float* w, const float* bias, const float* x, float* y, std::size_t batch,
                                std::size_t in, std::size_t out, std::size_t in_stride, std::size_t out_stride) {
    for (std::size_t b = 0; b < batch; ++b) {
        float* yb = y + b * out_stride;
        for (std::size_t j = 0; j < out; ++j) yb[j] = bias[j];
        for (std::size_t k = 0; k < in; ++k) {
            const float xk = x[b * in_stride + k];
            const float* wk = w + k * out_stride;
            for (std::size_t j = 0; j < out; ++j) yb[j] += xk * wk[j];
        }
    }
}

template <std::size_t Batch, std::size_t In, std::size_t Out, auto Loop>
void loop_forward(benchmark::State& state) {
    LayerData<Batch, In, Out> d;
    constexpr std::size_t is = LayerData<Batch, In, Out>::in_stride;
    constexpr std::size_t os = LayerData<Batch, In, Out>::out_stride;
    for (auto _ : state) {
        Loop(d.w.data(), d.bias.data(), d.x.data(), d.y.data(), Batch, In, Out, is, os);
        benchmark::ClobberMemory();
    }
    report_flops(state, d.flops);
}

// ---------------------------------------------------------------------------------------------
// Eigen 3.4: y = x w, then the bias added to every row

#if defined(MICROFIT_BENCH_EIGEN)
template <std::size_t Batch, std::size_t In, std::size_t Out>
void eigen_fixed_forward(benchmark::State& state) {
    using Input = Eigen::Matrix<float, int{Batch}, int{In}, Eigen::RowMajor>;
    using Weights = Eigen::Matrix<float, int{In}, int{Out}, Eigen::RowMajor>;
    using Output = Eigen::Matrix<float, int{Batch}, int{Out}, Eigen::RowMajor>;
    using Bias = Eigen::Matrix<float, 1, int{Out}, Eigen::RowMajor>;
    auto x = std::make_unique<Input>(Input::Random());
    auto w = std::make_unique<Weights>(Weights::Random());
    auto y = std::make_unique<Output>();
    auto bias = std::make_unique<Bias>(Bias::Random());
    for (auto _ : state) {
        y->noalias() = *x * *w;
        y->rowwise() += *bias;
        benchmark::DoNotOptimize(y->data());
        benchmark::ClobberMemory();
    }
    report_flops(state, 2.0 * Batch * In * Out);
}

template <std::size_t Batch, std::size_t In, std::size_t Out>
void eigen_dynamic_forward(benchmark::State& state) {
    using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Matrix x = Matrix::Random(Batch, In);
    const Matrix w = Matrix::Random(In, Out);
    const Eigen::RowVectorXf bias = Eigen::RowVectorXf::Random(Out);
    Matrix y(Batch, Out);
    for (auto _ : state) {
        y.noalias() = x * w;
        y.rowwise() += bias;
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    report_flops(state, 2.0 * Batch * In * Out);
}
#endif

// ---------------------------------------------------------------------------------------------
// OpenBLAS: y = bias in every row, then sgemm with beta = 1, on microfit's buffers

#if defined(MICROFIT_BENCH_OPENBLAS)
template <std::size_t Batch, std::size_t In, std::size_t Out>
void openblas_forward(benchmark::State& state) {
    LayerData<Batch, In, Out> d;
    constexpr std::size_t is = LayerData<Batch, In, Out>::in_stride;
    constexpr std::size_t os = LayerData<Batch, In, Out>::out_stride;
    for (auto _ : state) {
        for (std::size_t b = 0; b < Batch; ++b) std::memcpy(d.y.data() + b * os, d.bias.data(), Out * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int{Batch}, int{Out}, int{In}, 1.0f, d.x.data(), int{is},
                    d.w.data(), int{os}, 1.0f, d.y.data(), int{os});
        benchmark::ClobberMemory();
    }
    report_flops(state, d.flops);
}
#endif

// ---------------------------------------------------------------------------------------------
// Registration

std::string shape_name(std::size_t batch, std::size_t in, std::size_t out) {
    return "/batch:" + std::to_string(batch) + "/in:" + std::to_string(in) + "/out:" + std::to_string(out);
}

template <std::size_t Batch, std::size_t In, std::size_t Out>
struct Shape {};

/// Registers every benchmark of one shape once, even when the shape is listed twice.
template <std::size_t Batch, std::size_t In, std::size_t Out>
void register_shape(std::set<std::string>& registered) {
    const std::string shape = shape_name(Batch, In, Out);
    if (!registered.insert(shape).second) return;

    benchmark::RegisterBenchmark(("forward/microfit" + shape).c_str(), microfit_forward<Batch, In, Out>);
    benchmark::RegisterBenchmark(("backward_input/microfit" + shape).c_str(), microfit_backward_input<Batch, In, Out>);
    benchmark::RegisterBenchmark(("backward_weights/microfit" + shape).c_str(),
                                 microfit_backward_weights<Batch, In, Out>);
#if defined(MICROFIT_BENCH_EIGEN)
    benchmark::RegisterBenchmark(("forward/eigen_fixed" + shape).c_str(), eigen_fixed_forward<Batch, In, Out>);
    benchmark::RegisterBenchmark(("forward/eigen_dynamic" + shape).c_str(), eigen_dynamic_forward<Batch, In, Out>);
#endif
#if defined(MICROFIT_BENCH_OPENBLAS)
    benchmark::RegisterBenchmark(("forward/openblas" + shape).c_str(), openblas_forward<Batch, In, Out>);
#endif
    benchmark::RegisterBenchmark(("forward/loop_bjk" + shape).c_str(), loop_forward<Batch, In, Out, loop_bjk>);
    benchmark::RegisterBenchmark(("forward/loop_bkj" + shape).c_str(), loop_forward<Batch, In, Out, loop_bkj>);
}

template <std::size_t... Batch, std::size_t... In, std::size_t... Out>
void register_shapes(std::set<std::string>& registered, Shape<Batch, In, Out>...) {
    (register_shape<Batch, In, Out>(registered), ...);
}

template <std::size_t Batch>
void register_layer_shapes(std::set<std::string>& registered) {
    register_shapes(registered, Shape<Batch, 30, 16>{}, Shape<Batch, 64, 64>{}, Shape<Batch, 128, 128>{},
                    Shape<Batch, 256, 256>{}, Shape<Batch, 784, 128>{}, Shape<Batch, 128, 10>{});
}

}  // namespace

int main(int argc, char** argv) {
#if defined(MICROFIT_BENCH_OPENBLAS)
    openblas_set_num_threads(1);
    benchmark::AddCustomContext("openblas_core", openblas_get_corename());
#endif
    peak_flops = measure_peak_flops();
    benchmark::AddCustomContext("peak_gflops", std::to_string(peak_flops * 1e-9));
    benchmark::AddCustomContext("simd_width", std::to_string(simd::width));
    benchmark::AddCustomContext("simd_registers", std::to_string(simd::registers));

    benchmark::RegisterBenchmark("peak/fma", peak_benchmark);

    // Square products (batch = In = Out), then the layer shapes.
    std::set<std::string> registered;
    register_shapes(registered, Shape<16, 16, 16>{}, Shape<32, 32, 32>{}, Shape<64, 64, 64>{},
                    Shape<128, 128, 128>{}, Shape<256, 256, 256>{});
    register_layer_shapes<1>(registered);
    register_layer_shapes<8>(registered);
    register_layer_shapes<32>(registered);
    register_layer_shapes<128>(registered);

    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
