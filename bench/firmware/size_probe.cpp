// One program, built in five variants, whose size differences are microfit's share of a firmware
// image (see report.py and docs/targets.md). MICROFIT_SIZE_PROBE selects what a variant does.
//   0  baseline: makes the data and prints a checksum, without microfit
//   1  inference: the baseline plus a forward pass of the 30-16-2 model over a Workspace of one row
//   2  inference and training: the baseline plus Trainer::fit (Adam, sparse categorical
//      cross-entropy, batch 32) and Trainer::predict_classes
//   3  variant 2 plus Trainer::evaluate (weighted and unweighted metrics) and Status::format;
//      built once more with MICROFIT_NO_STATUS_TEXT
// The data comes from a generator seeded through a volatile, so that the compiler can fold none of
// the work away, and every variant prints one number that depends on all of it.
#include <cstddef>
#include <cstdint>
#include <stdio.h>  // iprintf, setvbuf: newlib's integer-only printf

#if MICROFIT_SIZE_PROBE >= 1
#include "microfit/microfit.hpp"
#endif

namespace {

constexpr std::size_t rows = 64;
constexpr std::size_t feature_count = 30;

float features[rows * feature_count];
std::int32_t labels[rows];
volatile std::uint32_t seed = 12345;

std::uint32_t make_data() {
    std::uint32_t state = seed;
    std::uint32_t checksum = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < feature_count; ++c) {
            state = state * 1664525u + 1013904223u;
            features[r * feature_count + c] = static_cast<float>(state >> 8) * 0x1p-24f - 0.5f;
        }
        labels[r] = static_cast<std::int32_t>(state >> 31);
    }
    // Reading the arrays back keeps them in the baseline too, where nothing else uses them.
    for (float x : features) checksum += static_cast<std::uint32_t>(static_cast<std::int32_t>(x * 1024.0f));
    for (std::int32_t label : labels) checksum += static_cast<std::uint32_t>(label);
    return checksum;
}

#if MICROFIT_SIZE_PROBE >= 1
using Model = microfit::Sequential<microfit::Dense<feature_count, 16>, microfit::Relu, microfit::Dense<16, 2>>;
Model model(7);
#endif

#if MICROFIT_SIZE_PROBE == 1
microfit::Workspace<Model, 1> workspace;

std::uint32_t run_microfit() {
    std::uint32_t result = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < feature_count; ++c) workspace.input()[c] = features[r * feature_count + c];
        workspace.forward(model, 1);
        result += workspace.output()[1] > workspace.output()[0] ? 1u : 0u;
    }
    return result;
}
#elif MICROFIT_SIZE_PROBE >= 2
microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, 32> trainer(model);
std::int32_t predicted[rows];

std::uint32_t run_microfit() {
    const microfit::Dataset data = microfit::classification_data(features, labels, rows, feature_count);
    microfit::FitOptions options;
    options.epochs = 2;
    microfit::Status status = trainer.fit(data, options);
    std::uint32_t result = static_cast<std::uint32_t>(status.code);
    status = trainer.predict_classes(features, rows, feature_count, predicted, rows);
    result += static_cast<std::uint32_t>(status.code);
    for (std::int32_t p : predicted) result += static_cast<std::uint32_t>(p);
#if MICROFIT_SIZE_PROBE >= 3
    microfit::Evaluation<2> evaluation;
    status = trainer.evaluate(data, evaluation);
    result += static_cast<std::uint32_t>(evaluation.confusion.accuracy() * 1000.0f);
    char message[128];
    status.format(message, sizeof message);
    fputs(message, stdout);
#endif
    return result;
}
#endif

}  // namespace

int main() {
    setvbuf(stdout, nullptr, _IONBF, 0);
    std::uint32_t result = make_data();
#if MICROFIT_SIZE_PROBE >= 1
    result += run_microfit();
#endif
    iprintf("size probe %d: %lu\n", MICROFIT_SIZE_PROBE, static_cast<unsigned long>(result));
    return 0;
}
