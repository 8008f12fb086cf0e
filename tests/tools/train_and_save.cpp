// Trains a small classifier on a fixed synthetic data set, saves its parameters and an Adam
// checkpoint, and prints what tests/tools/round_trip_test.py compares with the imported records:
//   weight <layer> <k> <j> <value>      every weight, read through Sequential::weight<I>(k, j)
//   bias <layer> <j> <value>            every bias, read through Sequential::bias<I>(j)
//   steps <count>                       Adam steps taken
//   input <values...>                   a feature row
//   logits <values...>                  the model's logits for the row before
//
//   train_and_save PARAMETERS_RECORD CHECKPOINT_RECORD
#include <cstdint>
#include <cstdio>

#include <microfit/microfit.hpp>
#include <microfit/storage.hpp>

namespace {

using Model = microfit::Sequential<microfit::Dense<5, 11>, microfit::Tanh, microfit::Dense<11, 3>>;
using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, 16>;

constexpr std::size_t rows = 64;
constexpr std::size_t features = Model::input_size;

bool write_file(const char* path, const std::uint8_t* bytes, std::size_t size) {
    std::FILE* file = std::fopen(path, "wb");
    if (file == nullptr) {
        std::fprintf(stderr, "cannot create %s\n", path);
        return false;
    }
    const bool written = std::fwrite(bytes, 1, size, file) == size;
    return std::fclose(file) == 0 && written;
}

bool report(const microfit::Status& status, const char* what) {
    if (status.ok()) return true;
    char message[160];
    (void)status.format(message, sizeof message);
    std::fprintf(stderr, "%s failed: %s\n", what, message);
    return false;
}

template <std::size_t I>
void print_dense(Model& model) {
    using Layer = Model::Layer<I>;
    for (std::size_t k = 0; k < Layer::input_size; ++k) {
        for (std::size_t j = 0; j < Layer::output_size; ++j) {
            std::printf("weight %zu %zu %zu %.9g\n", I, k, j, static_cast<double>(model.weight<I>(k, j)));
        }
    }
    for (std::size_t j = 0; j < Layer::output_size; ++j) {
        std::printf("bias %zu %zu %.9g\n", I, j, static_cast<double>(model.bias<I>(j)));
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s PARAMETERS_RECORD CHECKPOINT_RECORD\n", argv[0]);
        return 2;
    }

    // Features uniform in [-2, 2); the label is the largest of three fixed linear scores.
    static float x[rows][features];
    static std::int32_t labels[rows];
    microfit::Random random(/*seed=*/42);
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < features; ++c) x[r][c] = random.uniform(-2.0f, 2.0f);
        const float scores[3] = {x[r][0] + x[r][1], x[r][2] - x[r][3], 0.5f * x[r][4]};
        std::int32_t best = 0;
        for (std::int32_t c = 1; c < 3; ++c) {
            if (scores[c] > scores[best]) best = c;
        }
        labels[r] = best;
    }

    static Model model(/*seed=*/7);
    microfit::Adam adam;
    adam.learning_rate = 0.01f;
    static Trainer trainer(model, {}, adam);
    microfit::FitOptions options;
    options.epochs = 20;
    options.batch_size = 16;
    options.seed = 5;
    if (!report(trainer.fit(microfit::classification_data(&x[0][0], labels, rows, features), options), "fit")) return 1;

    static std::uint8_t parameters[microfit::storage_bytes<Model>()];
    static std::uint8_t checkpoint[microfit::storage_bytes<Model, microfit::Adam>()];
    if (!report(microfit::save_parameters(model, parameters, sizeof parameters), "save_parameters")) return 1;
    if (!report(microfit::save_checkpoint(trainer, checkpoint, sizeof checkpoint), "save_checkpoint")) return 1;
    if (!write_file(argv[1], parameters, sizeof parameters) || !write_file(argv[2], checkpoint, sizeof checkpoint)) {
        return 1;
    }

    print_dense<0>(model);
    print_dense<2>(model);
    std::printf("steps %u\n", static_cast<unsigned>(trainer.optimizer_state().steps));

    constexpr std::size_t shown = 8;
    float logits[shown * Model::output_size];
    if (!report(trainer.predict(&x[0][0], shown, features, logits, shown * Model::output_size), "predict")) return 1;
    for (std::size_t r = 0; r < shown; ++r) {
        std::printf("input");
        for (std::size_t c = 0; c < features; ++c) std::printf(" %.9g", static_cast<double>(x[r][c]));
        std::printf("\nlogits");
        for (std::size_t j = 0; j < Model::output_size; ++j) std::printf(" %.9g", static_cast<double>(logits[r * Model::output_size + j]));
        std::printf("\n");
    }
    return 0;
}
