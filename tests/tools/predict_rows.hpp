// Helpers of the programs that tests/tools/*_test.py run: reading rows of floats from a text file
// and printing a model's outputs for them.
#pragma once

#include <cstddef>
#include <cstdio>
#include <vector>

#include <microfit/sequential.hpp>

namespace tools_test {

/// Reads whitespace-separated floats from `path`. Returns false, after printing why, when the file
/// cannot be opened or its count of values is not a multiple of `row_length`.
inline bool read_rows(const char* path, std::size_t row_length, std::vector<float>& values) {
    std::FILE* file = std::fopen(path, "r");
    if (file == nullptr) {
        std::fprintf(stderr, "cannot open input file %s\n", path);
        return false;
    }
    float value = 0.0f;
    while (std::fscanf(file, "%f", &value) == 1) values.push_back(value);
    const bool at_end = std::feof(file) != 0;
    std::fclose(file);
    if (!at_end || values.empty() || values.size() % row_length != 0) {
        std::fprintf(stderr, "%s: expected rows of %zu numbers, read %zu values%s\n", path, row_length, values.size(),
                     at_end ? "" : " before a token that is not a number");
        return false;
    }
    return true;
}

/// Reads a whole binary file into `bytes`; returns false, after printing why, on failure.
inline bool read_file(const char* path, std::vector<unsigned char>& bytes) {
    std::FILE* file = std::fopen(path, "rb");
    if (file == nullptr) {
        std::fprintf(stderr, "cannot open %s\n", path);
        return false;
    }
    unsigned char chunk[4096];
    std::size_t n = 0;
    while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
    std::fclose(file);
    return true;
}

/// Runs the forward pass of `model` on rows of Model::input_size inputs and prints the outputs, one
/// row per line, with 9 significant digits so that every float reads back exactly.
template <class Model>
void print_outputs(const Model& model, const std::vector<float>& inputs, std::FILE* out) {
    constexpr std::size_t batch_capacity = 16;
    static microfit::Workspace<Model, batch_capacity> workspace;
    const std::size_t rows = inputs.size() / Model::input_size;
    for (std::size_t start = 0; start < rows; start += batch_capacity) {
        const std::size_t batch = rows - start < batch_capacity ? rows - start : batch_capacity;
        for (std::size_t r = 0; r < batch; ++r) {
            for (std::size_t c = 0; c < Model::input_size; ++c) {
                workspace.input()[r * Model::input_stride + c] = inputs[(start + r) * Model::input_size + c];
            }
        }
        workspace.forward(model, batch);
        for (std::size_t r = 0; r < batch; ++r) {
            for (std::size_t j = 0; j < Model::output_size; ++j) {
                std::fprintf(out, j == 0 ? "%.9g" : " %.9g", static_cast<double>(workspace.output()[r * Model::output_stride + j]));
            }
            std::fprintf(out, "\n");
        }
    }
}

}  // namespace tools_test
