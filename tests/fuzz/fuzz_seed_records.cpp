// Writes the seed corpus of fuzz_load_parameters into an existing directory, the only argument:
// valid records with and without optimizer state, and a few broken ones. The first byte of each
// file is the fuzz target's mode byte (odd: rewrite the CRC before loading).
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "microfit/microfit.hpp"
#include "microfit/storage.hpp"

namespace {

using Model = microfit::Sequential<microfit::Dense<3, 7>, microfit::Relu, microfit::Dense<7, 1>>;

bool write_file(const std::string& path, std::uint8_t mode, const std::vector<std::uint8_t>& record) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
        std::fprintf(stderr, "cannot open %s for writing\n", path.c_str());
        return false;
    }
    const bool written = std::fwrite(&mode, 1, 1, file) == 1 &&
                         std::fwrite(record.data(), 1, record.size(), file) == record.size();
    return std::fclose(file) == 0 && written;
}

template <class Optimizer>
std::vector<std::uint8_t> checkpoint(Model& model) {
    microfit::Trainer<Model, microfit::BinaryCrossentropy, Optimizer, 4> trainer(model);
    const float features[6] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f};
    const std::int32_t labels[2] = {1, 0};
    microfit::FitOptions options;
    options.batch_size = 2;
    options.epochs = 2;
    if (!trainer.fit(microfit::classification_data(features, labels, 2, 3), options).ok()) return {};
    std::vector<std::uint8_t> record(microfit::storage_bytes<Model, Optimizer>());
    if (!microfit::save_checkpoint(trainer, record.data(), record.size()).ok()) return {};
    return record;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUTPUT_DIRECTORY\n", argv[0]);
        return 2;
    }
    const std::string directory = argv[1];  // created by CMake

    Model model(1);
    std::vector<std::uint8_t> parameters(microfit::storage_bytes<Model>());
    if (!microfit::save_parameters(model, parameters.data(), parameters.size()).ok()) return 1;
    const std::vector<std::uint8_t> adam = checkpoint<microfit::Adam>(model);
    const std::vector<std::uint8_t> sgd = checkpoint<microfit::Sgd>(model);
    if (adam.empty() || sgd.empty()) return 1;

    std::vector<std::uint8_t> bad_crc = parameters;
    bad_crc[40] ^= 0x10;
    std::vector<std::uint8_t> truncated(adam.begin(), adam.begin() + 100);
    const std::vector<std::uint8_t> erased(64, 0xFF);

    const bool ok = write_file(directory + "/parameters", 0, parameters) && write_file(directory + "/adam", 0, adam) &&
                    write_file(directory + "/sgd", 0, sgd) && write_file(directory + "/resealed", 1, bad_crc) &&
                    write_file(directory + "/truncated", 0, truncated) && write_file(directory + "/erased", 0, erased);
    return ok ? 0 : 1;
}
