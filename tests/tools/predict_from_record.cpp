// Loads a parameter record into one of the models of exported_models.hpp and prints its outputs
// for the rows of an input file, one row per line.
//
//   predict_from_record softmax|logits RECORD INPUTS
#include <cstdio>
#include <cstring>
#include <vector>

#include <microfit/storage.hpp>

#include "exported_models.hpp"
#include "predict_rows.hpp"

namespace {

template <class Model>
int predict(const char* record_path, const char* inputs_path) {
    std::vector<unsigned char> record;
    std::vector<float> inputs;
    if (!tools_test::read_file(record_path, record)) return 1;
    if (!tools_test::read_rows(inputs_path, Model::input_size, inputs)) return 1;

    static Model model;
    const microfit::Status status = microfit::load_parameters(model, record.data(), record.size());
    if (!status.ok()) {
        char message[160];
        (void)status.format(message, sizeof message);
        std::fprintf(stderr, "load_parameters(%s) failed: %s\n", record_path, message);
        return 1;
    }
    tools_test::print_outputs(model, inputs, stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s softmax|logits RECORD INPUTS\n", argv[0]);
        return 2;
    }
    if (std::strcmp(argv[1], "softmax") == 0) return predict<tools_test::SoftmaxModel>(argv[2], argv[3]);
    if (std::strcmp(argv[1], "logits") == 0) return predict<tools_test::LogitsModel>(argv[2], argv[3]);
    std::fprintf(stderr, "unknown model '%s'; use softmax or logits\n", argv[1]);
    return 2;
}
