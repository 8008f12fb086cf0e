// Trains a 30-16-2 classifier on the Breast Cancer Wisconsin data four ways (no weights, balanced
// class weights, balanced oversampling, focal loss) and prints, side by side, the unweighted and
// the weighted validation figures of each run.
//
// Usage: breast_cancer_demo [path/to/breast_cancer.csv]
//
// The data: 569 rows, 30 features, 212 malignant (label 0) and 357 benign (label 1). The split is
// stratified (20 % of each class for validation, seeded), and the features are standardized with
// the mean and standard deviation of the training split only.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "microfit/host/csv.hpp"
#include "microfit/microfit.hpp"

#ifndef MICROFIT_DATA_DIR
#define MICROFIT_DATA_DIR "data"
#endif

namespace {

using namespace microfit;

constexpr std::size_t feature_count = 30;
constexpr std::size_t class_count = 2;
constexpr std::size_t max_batch = 32;
using Model = Sequential<Dense<feature_count, 16>, Relu, Dense<16, class_count>>;

constexpr std::size_t epochs = 60;
constexpr std::uint64_t split_seed = 42;
constexpr std::uint64_t model_seed = 7;
constexpr std::uint64_t order_seed = 11;

// Missing a malignant tumour (true 0, predicted 1) costs 10 times a false alarm (true 1, predicted 0).
constexpr float cost_matrix[class_count][class_count] = {{0.0f, 10.0f}, {1.0f, 0.0f}};

struct Split {
    std::vector<float> train_features, validation_features;
    std::vector<std::int32_t> train_labels, validation_labels;
};

/// Puts every fifth sample of each class, in a seeded random order, into the validation split.
Split stratified_split(const host::LabeledData& data) {
    Split split;
    Random random(split_seed);
    for (std::int32_t c = 0; c < static_cast<std::int32_t>(class_count); ++c) {
        std::vector<std::size_t> rows;
        for (std::size_t r = 0; r < data.rows; ++r) {
            if (data.labels[r] == c) rows.push_back(r);
        }
        const Permutation order(static_cast<std::uint32_t>(rows.size()), random);
        const std::size_t validation_rows = rows.size() / 5;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const std::size_t r = rows[order.at(static_cast<std::uint32_t>(i))];
            const bool to_validation = i < validation_rows;
            auto& features = to_validation ? split.validation_features : split.train_features;
            auto& labels = to_validation ? split.validation_labels : split.train_labels;
            features.insert(features.end(), data.features.begin() + static_cast<std::ptrdiff_t>(r * feature_count),
                            data.features.begin() + static_cast<std::ptrdiff_t>((r + 1) * feature_count));
            labels.push_back(c);
        }
    }
    return split;
}

/// Standardizes both splits with the training split's mean and (population) standard deviation.
void standardize(Split& split) {
    const std::size_t rows = split.train_labels.size();
    for (std::size_t c = 0; c < feature_count; ++c) {
        double sum = 0.0;
        double square_sum = 0.0;
        for (std::size_t r = 0; r < rows; ++r) {
            const double v = split.train_features[r * feature_count + c];
            sum += v;
            square_sum += v * v;
        }
        const double mean = sum / static_cast<double>(rows);
        const double variance = square_sum / static_cast<double>(rows) - mean * mean;
        const double scale = variance > 0.0 ? 1.0 / std::sqrt(variance) : 1.0;
        for (auto* features : {&split.train_features, &split.validation_features}) {
            for (std::size_t i = c; i < features->size(); i += feature_count) {
                (*features)[i] = static_cast<float>(((*features)[i] - mean) * scale);
            }
        }
    }
}

struct RunResult {
    const char* name;
    float training_loss;
    Evaluation<class_count> validation;
};

void print_epoch(const EpochLog<class_count>& log) {
    if (log.epoch % 15 != 0 && log.epoch != 1) return;
    const auto& v = log.validation;
    std::printf("  epoch %3zu/%zu  loss %.4f  val_loss %.4f (weighted %.4f)  val_acc %.4f (weighted %.4f)\n", log.epoch,
                log.epochs, static_cast<double>(log.loss), static_cast<double>(v.loss),
                static_cast<double>(v.weighted_loss), static_cast<double>(v.confusion.accuracy()),
                static_cast<double>(v.weighted_confusion.accuracy()));
}

bool report_failure(const Status& status) {
    if (status.ok()) return false;
    char message[160];
    status.format(message, sizeof message);
    std::fprintf(stderr, "error: %s\n", message);
    return true;
}

/// Trains a fresh model with the given loss and options and evaluates it on the validation split.
template <class Loss>
bool run(const char* name, const Loss& loss, const FitOptions& options, const Dataset& train, const Dataset& validation,
         RunResult& result) {
    Model model(model_seed);
    Trainer<Model, Loss, Adam, max_batch> trainer(model, loss, Adam{});

    std::printf("%s (%s, Adam, %zu epochs, batch %zu)\n", name, Loss::name, options.epochs, options.batch_size);
    float last_loss = 0.0f;
    const auto on_epoch_end = [&last_loss](const EpochLog<class_count>& log) {
        print_epoch(log);
        last_loss = log.loss;
    };
    if (report_failure(trainer.fit(train, options, &validation, on_epoch_end))) return false;

    result.name = name;
    result.training_loss = last_loss;
    return !report_failure(trainer.evaluate(validation, result.validation, max_batch));
}

void print_row(const char* label, const std::vector<RunResult>& runs, float (*value)(const RunResult&)) {
    std::printf("%-36s", label);
    for (const RunResult& r : runs) std::printf(" %14.4f", static_cast<double>(value(r)));
    std::printf("\n");
}

void print_table(const std::vector<RunResult>& runs, const host::LabeledData& data) {
    std::printf("\nValidation results (%zu rows). 'weighted' uses the validation sample weights, which here\n"
                "are the balanced weights of the validation labels, so weighted accuracy equals balanced accuracy.\n"
                "Class weights never enter these figures. The focal-loss run reports focal loss, so its\n"
                "losses are not comparable with the cross-entropy of the other runs; its metrics are.\n\n",
                runs.front().validation.rows);
    std::printf("%-36s", "");
    for (const RunResult& r : runs) std::printf(" %14s", r.name);
    std::printf("\n");
    print_row("training loss, as optimized", runs, [](const RunResult& r) { return r.training_loss; });
    print_row("validation loss, unweighted", runs, [](const RunResult& r) { return r.validation.loss; });
    print_row("validation loss, weighted", runs, [](const RunResult& r) { return r.validation.weighted_loss; });
    print_row("accuracy, unweighted", runs, [](const RunResult& r) { return r.validation.confusion.accuracy(); });
    print_row("accuracy, weighted", runs, [](const RunResult& r) { return r.validation.weighted_confusion.accuracy(); });
    print_row("balanced accuracy", runs, [](const RunResult& r) { return r.validation.confusion.balanced_accuracy(); });
    const std::string recall0 = "recall " + data.class_names[0];
    const std::string recall1 = "recall " + data.class_names[1];
    print_row(recall0.c_str(), runs, [](const RunResult& r) { return r.validation.confusion.recall(0); });
    print_row(recall1.c_str(), runs, [](const RunResult& r) { return r.validation.confusion.recall(1); });
    print_row("expected cost per sample (FN 10, FP 1)", runs,
              [](const RunResult& r) { return r.validation.confusion.expected_cost(cost_matrix); });
    print_row("expected cost, weighted", runs,
              [](const RunResult& r) { return r.validation.weighted_confusion.expected_cost(cost_matrix); });

    std::printf("\nConfusion matrices (rows: true class, columns: predicted; %s, %s):\n", data.class_names[0].c_str(),
                data.class_names[1].c_str());
    for (const RunResult& r : runs) {
        const auto& c = r.validation.confusion.counts;
        std::printf("  %-14s [[%3.0f %3.0f] [%3.0f %3.0f]]\n", r.name, static_cast<double>(c[0][0]),
                    static_cast<double>(c[0][1]), static_cast<double>(c[1][0]), static_cast<double>(c[1][1]));
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::string path = argc > 1 ? argv[1] : MICROFIT_DATA_DIR "/breast_cancer.csv";
    host::LabeledData data;
    const std::string error = host::read_labeled_csv(path, data);
    if (!error.empty()) {
        std::fprintf(stderr, "error: %s\n", error.c_str());
        return 1;
    }
    if (data.feature_count != feature_count || data.class_names.size() != class_count) {
        std::fprintf(stderr, "error: %s has %zu features and %zu classes, but the demo model needs %zu and %zu\n",
                     path.c_str(), data.feature_count, data.class_names.size(), feature_count, class_count);
        return 1;
    }

    Split split = stratified_split(data);
    standardize(split);
    const std::size_t train_rows = split.train_labels.size();
    const std::size_t validation_rows = split.validation_labels.size();

    float class_weight[class_count];
    float validation_class_weight[class_count];
    if (report_failure(balanced_class_weights(split.train_labels.data(), nullptr, train_rows, class_count, class_weight)) ||
        report_failure(balanced_class_weights(split.validation_labels.data(), nullptr, validation_rows, class_count,
                                              validation_class_weight))) {
        return 1;
    }
    std::vector<float> validation_weight(validation_rows);
    for (std::size_t r = 0; r < validation_rows; ++r) validation_weight[r] = validation_class_weight[split.validation_labels[r]];

    const Dataset train = classification_data(split.train_features.data(), split.train_labels.data(), train_rows, feature_count);
    const Dataset validation = classification_data(split.validation_features.data(), split.validation_labels.data(),
                                                   validation_rows, feature_count, validation_weight.data());

    std::printf("Breast Cancer Wisconsin: %zu training rows, %zu validation rows, classes %s : %s\n", train_rows,
                validation_rows, data.class_names[0].c_str(), data.class_names[1].c_str());
    std::printf("Model Dense(30,16)-Relu-Dense(16,2): %zu parameters; model and trainer take %zu bytes.\n",
                Model::parameter_count, training_memory_bytes<Model, SparseCategoricalCrossentropy, Adam, max_batch>);
    std::printf("Balanced class weights from the training split: %s %.4f, %s %.4f\n\n", data.class_names[0].c_str(),
                static_cast<double>(class_weight[0]), data.class_names[1].c_str(), static_cast<double>(class_weight[1]));

    FitOptions options;
    options.epochs = epochs;
    options.batch_size = max_batch;
    options.seed = order_seed;

    std::vector<RunResult> runs(4);
    bool ok = run("no weights", SparseCategoricalCrossentropy{}, options, train, validation, runs[0]);

    FitOptions weighted = options;
    weighted.class_weight = ClassWeights{class_weight, class_count};
    ok = ok && run("class weights", SparseCategoricalCrossentropy{}, weighted, train, validation, runs[1]);

    FitOptions oversampled = options;
    oversampled.sampling = Sampling::balanced_oversampling;
    ok = ok && run("oversampling", SparseCategoricalCrossentropy{}, oversampled, train, validation, runs[2]);

    CategoricalFocalLoss<class_count> focal;
    focal.gamma = 2.0f;
    ok = ok && run("focal loss", focal, options, train, validation, runs[3]);
    if (!ok) return 1;

    print_table(runs, data);
    return 0;
}
