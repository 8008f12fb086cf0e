// Copies the parameters of a header written by tools/export_weights.py into its model and writes
// the model's outputs for the rows of an input file, one row per line.
//
//   predict_from_header INPUTS OUTPUTS
#include <cstdio>
#include <vector>

#include "exported_weights.hpp"
#include "predict_rows.hpp"

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s INPUTS OUTPUTS\n", argv[0]);
        return 2;
    }
    using Model = exported_weights::Model;
    std::vector<float> inputs;
    if (!tools_test::read_rows(argv[1], Model::input_size, inputs)) return 1;

    static Model model;
    exported_weights::copy_parameters(model);

    std::FILE* out = std::fopen(argv[2], "w");
    if (out == nullptr) {
        std::fprintf(stderr, "cannot create %s\n", argv[2]);
        return 1;
    }
    tools_test::print_outputs(model, inputs, out);
    return std::fclose(out) == 0 ? 0 : 1;
}
