// Trains a 30-16-2 classifier on the Breast Cancer Wisconsin data four ways (no weights, balanced
// class weights, balanced oversampling, focal loss) and prints, side by side, the unweighted and
// the weighted validation figures of each run. The recipe is in recipe.hpp; on_device.cpp runs it
// as firmware.
//
// Usage: breast_cancer_demo [path/to/breast_cancer.csv]
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "microfit/host/csv.hpp"
#include "recipe.hpp"

#ifndef MICROFIT_DATA_DIR
#define MICROFIT_DATA_DIR "data"
#endif

namespace {

using namespace breast_cancer;

struct StandardOutput {
    void operator()(const char* text) const { std::fputs(text, stdout); }
};

bool report_failure(const microfit::Status& status) {
    if (status.ok()) return false;
    char message[160];
    status.format(message, sizeof message);
    std::fprintf(stderr, "error: %s\n", message);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string path = argc > 1 ? argv[1] : MICROFIT_DATA_DIR "/breast_cancer.csv";
    microfit::host::LabeledData data;
    const std::string error = microfit::host::read_labeled_csv(path, data);
    if (!error.empty()) {
        std::fprintf(stderr, "error: %s\n", error.c_str());
        return 1;
    }
    if (data.feature_count != feature_count || data.class_names.size() != class_count) {
        std::fprintf(stderr, "error: %s has %zu features and %zu classes, but the demo model needs %zu and %zu\n",
                     path.c_str(), data.feature_count, data.class_names.size(), feature_count, class_count);
        return 1;
    }

    std::vector<std::uint32_t> scratch(data.rows);
    std::vector<std::uint32_t> train_rows(data.rows);
    std::vector<std::uint32_t> validation_rows(data.rows);
    const SplitRows split = stratified_split(data.labels.data(), data.rows, scratch.data(), train_rows.data(),
                                             validation_rows.data());
    std::vector<float> train_features(split.train_count * feature_count);
    std::vector<float> validation_features(split.validation_count * feature_count);
    standardize(data.features.data(), train_rows.data(), split.train_count, validation_rows.data(),
                split.validation_count, train_features.data(), validation_features.data());
    std::vector<std::int32_t> train_labels(split.train_count);
    std::vector<std::int32_t> validation_labels(split.validation_count);
    for (std::size_t i = 0; i < split.train_count; ++i) train_labels[i] = data.labels[train_rows[i]];
    for (std::size_t i = 0; i < split.validation_count; ++i) validation_labels[i] = data.labels[validation_rows[i]];

    float class_weight[class_count];
    float validation_class_weight[class_count];
    if (report_failure(microfit::balanced_class_weights(train_labels.data(), nullptr, split.train_count, class_count,
                                                        class_weight)) ||
        report_failure(microfit::balanced_class_weights(validation_labels.data(), nullptr, split.validation_count,
                                                        class_count, validation_class_weight))) {
        return 1;
    }
    std::vector<float> validation_weight(split.validation_count);
    for (std::size_t i = 0; i < split.validation_count; ++i) {
        validation_weight[i] = validation_class_weight[validation_labels[i]];
    }

    const microfit::Dataset train =
        microfit::classification_data(train_features.data(), train_labels.data(), split.train_count, feature_count);
    const microfit::Dataset validation =
        microfit::classification_data(validation_features.data(), validation_labels.data(), split.validation_count,
                                      feature_count, validation_weight.data());

    const char* const class_names[class_count] = {data.class_names[0].c_str(), data.class_names[1].c_str()};
    StandardOutput print;
    print_preamble(print, split, class_names, class_weight);
    RunResult runs[run_count];
    for (std::size_t i = 0; i < run_count; ++i) {
        if (report_failure(train_and_evaluate(static_cast<Run>(i), train, validation, class_weight, print, runs[i]))) {
            return 1;
        }
    }
    print_report(print, runs, class_names);
    return 0;
}
