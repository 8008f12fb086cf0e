// The breast cancer demo as firmware: trains the 30-16-2 classifier four ways on the device, from
// the data set stored as constant arrays in flash, and prints the same report as the host demo
// through semihosting. Built for the MPS2 AN386 board port and linked with its heap trap, so any
// heap use stops it; run it under QEMU with
//
//   qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native \
//       -kernel build/cortex-m4/examples/breast_cancer_on_device.elf
//
// Every buffer is static and sized at compile time from the data: the split sizes are computed
// from the constant labels.
#include <cstddef>
#include <cstdint>
#include <stdio.h>  // fputs and setvbuf; newlib's printf is not used, because %f allocates

#include "board.hpp"
#include "breast_cancer_data.hpp"
#include "recipe.hpp"

namespace {

using namespace breast_cancer;

static_assert(data::feature_count == feature_count, "The embedded data must have the model's 30 features.");

constexpr std::size_t class_rows(std::int32_t c) {
    std::size_t n = 0;
    for (std::int32_t label : data::labels) n += label == c ? 1 : 0;
    return n;
}

// stratified_split puts a fifth of each class, rounded down, into the validation split.
constexpr std::size_t validation_count = class_rows(0) / 5 + class_rows(1) / 5;
constexpr std::size_t train_count = data::rows - validation_count;

std::uint32_t scratch[data::rows];
std::uint32_t train_rows[data::rows];
std::uint32_t validation_rows[data::rows];
alignas(16) float train_features[train_count * feature_count];
alignas(16) float validation_features[validation_count * feature_count];
std::int32_t train_labels[train_count];
std::int32_t validation_labels[validation_count];
float validation_weight[validation_count];
RunResult runs[run_count];

struct SemihostingOutput {
    void operator()(const char* text) const { fputs(text, stdout); }
};

bool report_failure(const microfit::Status& status) {
    if (status.ok()) return false;
    char message[160];
    status.format(message, sizeof message);
    fputs("error: ", stdout);
    fputs(message, stdout);
    fputs("\n", stdout);
    return true;
}

}  // namespace

int main() {
    // Unbuffered, stdout needs no heap for a stream buffer.
    setvbuf(stdout, nullptr, _IONBF, 0);
    SemihostingOutput print;

    const SplitRows split = stratified_split(data::labels, data::rows, scratch, train_rows, validation_rows);
    if (split.train_count != train_count || split.validation_count != validation_count) {
        print("error: the split does not have the sizes computed at compile time\n");
        return 1;
    }
    standardize(data::features, train_rows, train_count, validation_rows, validation_count, train_features,
                validation_features);
    for (std::size_t i = 0; i < train_count; ++i) train_labels[i] = data::labels[train_rows[i]];
    for (std::size_t i = 0; i < validation_count; ++i) validation_labels[i] = data::labels[validation_rows[i]];

    float class_weight[class_count];
    float validation_class_weight[class_count];
    if (report_failure(microfit::balanced_class_weights(train_labels, nullptr, train_count, class_count, class_weight)) ||
        report_failure(microfit::balanced_class_weights(validation_labels, nullptr, validation_count, class_count,
                                                        validation_class_weight))) {
        return 1;
    }
    for (std::size_t i = 0; i < validation_count; ++i) validation_weight[i] = validation_class_weight[validation_labels[i]];

    const microfit::Dataset train = microfit::classification_data(train_features, train_labels, train_count, feature_count);
    const microfit::Dataset validation = microfit::classification_data(validation_features, validation_labels,
                                                                       validation_count, feature_count, validation_weight);

    print_preamble(print, split, data::class_names, class_weight);
    for (std::size_t i = 0; i < run_count; ++i) {
        if (report_failure(train_and_evaluate(static_cast<Run>(i), train, validation, class_weight, print, runs[i]))) {
            return 1;
        }
    }
    print_report(print, runs, data::class_names);

    Line memory;
    memory.text("\nOn the device: ").count(mps2_an386::stack_bytes_used()).text(" bytes of stack used at most, ");
    memory.count(sizeof train_features + sizeof validation_features).text(" bytes of standardized features in RAM.\n");
    print(memory.str());
    return 0;
}
