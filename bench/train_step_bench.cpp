// The demo model's training step and inference, as a user calls them.
//
// One training step is `fit` for one epoch over exactly one batch of 32 rows (in order): data
// checks, forward pass, loss, backward pass and an Adam update. tools/torch_train_step.py times
// the same step in PyTorch on one thread, and tools/run_benchmarks.py prints the ratio.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "microfit/microfit.hpp"

namespace {

using namespace microfit;

constexpr std::size_t feature_count = 30;
constexpr std::size_t batch = 32;
using Model = Sequential<Dense<feature_count, 16>, Relu, Dense<16, 2>>;
using DemoTrainer = Trainer<Model, SparseCategoricalCrossentropy, Adam, batch>;

struct Data {
    float features[batch * feature_count];
    std::int32_t labels[batch];

    Data() {
        Random random(3);
        for (std::size_t r = 0; r < batch; ++r) {
            labels[r] = static_cast<std::int32_t>(r % 2);
            for (std::size_t c = 0; c < feature_count; ++c) features[r * feature_count + c] = random.uniform(-2.0f, 2.0f);
        }
    }
};

void BM_demo_training_step(benchmark::State& state) {
    static Data data;
    static Model model(7);
    static DemoTrainer trainer(model);
    const Dataset train = classification_data(data.features, data.labels, batch, feature_count);
    FitOptions options;
    options.epochs = 1;
    options.batch_size = batch;
    options.sampling = Sampling::in_order;
    for (auto _ : state) {
        const Status s = trainer.fit(train, options);
        benchmark::DoNotOptimize(s);
        benchmark::DoNotOptimize(model.parameters()[0]);
    }
    state.counters["batch"] = batch;
}
BENCHMARK(BM_demo_training_step);

void BM_demo_inference(benchmark::State& state) {
    static Data data;
    static Model model(7);
    static DemoTrainer trainer(model);
    const auto rows = static_cast<std::size_t>(state.range(0));
    float logits[batch * 2];
    for (auto _ : state) {
        const Status s = trainer.predict(data.features, rows, feature_count, logits, batch * 2);
        benchmark::DoNotOptimize(s);
        benchmark::DoNotOptimize(logits[0]);
    }
    state.counters["rows"] = static_cast<double>(rows);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_demo_inference)->Arg(1)->Arg(32);

}  // namespace
