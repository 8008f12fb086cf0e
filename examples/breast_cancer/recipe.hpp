// The breast cancer demo's recipe: the stratified split, the standardization, the four training
// runs and the report. The host program (demo.cpp) reads the data from the CSV file, the firmware
// image (on_device.cpp) has it as constant arrays, and both call this recipe. They therefore train
// on the same numbers and print the same text, so their reports can be compared line by line.
//
// Nothing here allocates or needs the hosted C++ library: the caller provides every buffer and a
// `Print` function object that writes one string (`print(const char* text)`). Numbers are
// formatted here rather than with printf, because newlib's printf allocates for %f.
//
// The data: 569 rows, 30 features, 212 malignant (label 0) and 357 benign (label 1). The split is
// stratified (20 % of each class for validation, seeded), and the features are standardized with
// the mean and standard deviation of the training split only.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "microfit/microfit.hpp"

namespace breast_cancer {

constexpr std::size_t feature_count = 30;
constexpr std::size_t class_count = 2;
constexpr std::size_t max_batch = 32;
using Model = microfit::Sequential<microfit::Dense<feature_count, 16>, microfit::Relu, microfit::Dense<16, class_count>>;

constexpr std::size_t epochs = 60;
constexpr std::uint64_t split_seed = 42;
constexpr std::uint64_t model_seed = 7;
constexpr std::uint64_t order_seed = 11;

// Missing a malignant tumour (true 0, predicted 1) costs 10 times a false alarm (true 1, predicted 0).
constexpr float cost_matrix[class_count][class_count] = {{0.0f, 10.0f}, {1.0f, 0.0f}};

/// The four ways the demo trains the model.
enum class Run : std::size_t { no_weights, class_weights, oversampling, focal_loss };
constexpr std::size_t run_count = 4;
constexpr const char* run_names[run_count] = {"no weights", "class weights", "oversampling", "focal loss"};

/// The rows of each split, as row numbers into the whole data set.
struct SplitRows {
    std::size_t train_count = 0;
    std::size_t validation_count = 0;
};

/// Puts every fifth sample of each class, in a seeded random order, into the validation split.
/// Writes the row numbers of the training split to `train_rows` and those of the validation split
/// to `validation_rows`, class by class. `scratch` contains the rows of one class at a time. Each of
/// the three buffers needs room for `rows` entries. Labels must be in [0, class_count).
inline SplitRows stratified_split(const std::int32_t* labels, std::size_t rows, std::uint32_t* scratch,
                                  std::uint32_t* train_rows, std::uint32_t* validation_rows) {
    SplitRows split;
    microfit::Random random(split_seed);
    for (std::int32_t c = 0; c < static_cast<std::int32_t>(class_count); ++c) {
        std::uint32_t class_rows = 0;
        for (std::size_t r = 0; r < rows; ++r) {
            if (labels[r] == c) scratch[class_rows++] = static_cast<std::uint32_t>(r);
        }
        const microfit::Permutation order(class_rows, random);
        const std::uint32_t to_validation = class_rows / 5;
        for (std::uint32_t i = 0; i < class_rows; ++i) {
            const std::uint32_t r = scratch[order.at(i)];
            if (i < to_validation) {
                validation_rows[split.validation_count++] = r;
            } else {
                train_rows[split.train_count++] = r;
            }
        }
    }
    return split;
}

/// Copies the rows of both splits out of `features` ([rows][feature_count]) and standardizes them
/// with the training split's mean and population standard deviation, computed in double. A
/// feature that is constant over the training split is only centred.
inline void standardize(const float* features, const std::uint32_t* train_rows, std::size_t train_count,
                        const std::uint32_t* validation_rows, std::size_t validation_count, float* train_features,
                        float* validation_features) {
    for (std::size_t c = 0; c < feature_count; ++c) {
        double sum = 0.0;
        double square_sum = 0.0;
        for (std::size_t i = 0; i < train_count; ++i) {
            const double v = features[train_rows[i] * feature_count + c];
            sum += v;
            square_sum += v * v;
        }
        const double mean = sum / static_cast<double>(train_count);
        const double variance = square_sum / static_cast<double>(train_count) - mean * mean;
        const double scale = variance > 0.0 ? 1.0 / std::sqrt(variance) : 1.0;
        for (std::size_t i = 0; i < train_count; ++i) {
            const double v = features[train_rows[i] * feature_count + c];
            train_features[i * feature_count + c] = static_cast<float>((v - mean) * scale);
        }
        for (std::size_t i = 0; i < validation_count; ++i) {
            const double v = features[validation_rows[i] * feature_count + c];
            validation_features[i * feature_count + c] = static_cast<float>((v - mean) * scale);
        }
    }
}

/// One line of text, built without printf. Numbers are printed as printf's "%*.*f" would print
/// them: rounded to nearest from their exact binary value, ties to even. Text past 199 characters
/// is dropped.
class Line {
public:
    Line& text(const char* s) {
        while (*s != '\0') put(*s++);
        return *this;
    }

    /// `s` left-aligned in a field of `width` characters.
    Line& text(const char* s, std::size_t width) {
        text(s);
        for (std::size_t i = length(s); i < width; ++i) put(' ');
        return *this;
    }

    /// `s` right-aligned in a field of `width` characters.
    Line& text_right(const char* s, std::size_t width) {
        for (std::size_t i = length(s); i < width; ++i) put(' ');
        return text(s);
    }

    /// `value` right-aligned in a field of `width` characters.
    Line& count(std::size_t value, std::size_t width = 0) {
        char digits[24];
        std::size_t n = 0;
        do {
            digits[n++] = static_cast<char>('0' + value % 10);
            value /= 10;
        } while (value != 0);
        for (std::size_t i = n; i < width; ++i) put(' ');
        while (n > 0) put(digits[--n]);
        return *this;
    }

    /// `value` with `decimals` (at most 6) digits after the point, right-aligned in `width`.
    Line& number(float value, int decimals, std::size_t width = 0) {
        char field[48];
        std::size_t n = 0;
        const double v = value;
        if (std::isnan(v)) {
            n = copy(field, "nan");
        } else if (std::isinf(v)) {
            n = copy(field, v < 0 ? "-inf" : "inf");
        } else if (std::fabs(v) >= 1e12) {
            n = copy(field, v < 0 ? "-huge" : "huge");
        } else {
            // A float has 24 significant bits and 10^6 < 2^20, so the scaled value needs at most 44
            // bits and is exact in double. Below 1e12 it also fits the 64-bit integer.
            double scale = 1.0;
            for (int i = 0; i < decimals; ++i) scale *= 10.0;
            const double scaled = std::fabs(v) * scale;
            double whole = std::floor(scaled);
            const double fraction = scaled - whole;
            if (fraction > 0.5 || (fraction == 0.5 && std::fmod(whole, 2.0) != 0.0)) whole += 1.0;
            auto units = static_cast<std::uint64_t>(whole);

            char reversed[40];
            std::size_t digits = 0;
            for (int i = 0; i < decimals; ++i) {
                reversed[digits++] = static_cast<char>('0' + units % 10);
                units /= 10;
            }
            if (decimals > 0) reversed[digits++] = '.';
            do {
                reversed[digits++] = static_cast<char>('0' + units % 10);
                units /= 10;
            } while (units != 0);
            if (std::signbit(v)) reversed[digits++] = '-';
            while (digits > 0) field[n++] = reversed[--digits];
        }
        for (std::size_t i = n; i < width; ++i) put(' ');
        for (std::size_t i = 0; i < n; ++i) put(field[i]);
        return *this;
    }

    const char* str() {
        buffer_[length_] = '\0';
        return buffer_;
    }

private:
    static std::size_t length(const char* s) {
        std::size_t n = 0;
        while (s[n] != '\0') ++n;
        return n;
    }

    static std::size_t copy(char* out, const char* s) {
        const std::size_t n = length(s);
        for (std::size_t i = 0; i < n; ++i) out[i] = s[i];
        return n;
    }

    void put(char c) {
        if (length_ + 1 < sizeof buffer_) buffer_[length_++] = c;
    }

    char buffer_[200] = {};
    std::size_t length_ = 0;
};

/// The figures of one run that the report prints.
struct RunResult {
    float training_loss = 0.0f;
    microfit::Evaluation<class_count> validation;
};

/// Prints what the runs start from: the split, the model's size and the balanced class weights.
template <class Print>
void print_preamble(Print& print, const SplitRows& split, const char* const (&class_names)[class_count],
                    const float (&class_weight)[class_count]) {
    Line data;
    data.text("Breast Cancer Wisconsin: ").count(split.train_count).text(" training rows, ");
    data.count(split.validation_count).text(" validation rows, classes ").text(class_names[0]).text(" : ");
    data.text(class_names[1]).text("\n");
    print(data.str());

    Line model;
    model.text("Model Dense(30,16)-Relu-Dense(16,2): ").count(Model::parameter_count);
    model.text(" parameters; model and trainer take ");
    model.count(microfit::training_memory_bytes<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, max_batch>);
    model.text(" bytes.\n");
    print(model.str());

    Line weights;
    weights.text("Balanced class weights from the training split: ").text(class_names[0]).text(" ");
    weights.number(class_weight[0], 4).text(", ").text(class_names[1]).text(" ").number(class_weight[1], 4);
    weights.text("\n\n");
    print(weights.str());
}

/// Prints the progress line of epochs 1, 15, 30, 45 and 60.
template <class Print>
void print_epoch(Print& print, const microfit::EpochLog<class_count>& log) {
    if (log.epoch % 15 != 0 && log.epoch != 1) return;
    const auto& v = log.validation;
    Line line;
    line.text("  epoch ").count(log.epoch, 3).text("/").count(log.epochs);
    line.text("  loss ").number(log.loss, 4).text("  val_loss ").number(v.loss, 4);
    line.text(" (weighted ").number(v.weighted_loss, 4).text(")  val_acc ").number(v.confusion.accuracy(), 4);
    line.text(" (weighted ").number(v.weighted_confusion.accuracy(), 4).text(")\n");
    print(line.str());
}

/// Trains a fresh model as `run` selects and evaluates it on the validation split. The trainer,
/// about 25 KB, lives on the stack for the duration of the run.
template <class Print>
microfit::Status train_and_evaluate(Run run, const microfit::Dataset& train, const microfit::Dataset& validation,
                                    const float (&class_weight)[class_count], Print& print, RunResult& result) {
    microfit::FitOptions options;
    options.epochs = epochs;
    options.batch_size = max_batch;
    options.seed = order_seed;
    if (run == Run::class_weights) options.class_weight = microfit::ClassWeights{class_weight, class_count};
    if (run == Run::oversampling) options.sampling = microfit::Sampling::balanced_oversampling;

    const auto train_with = [&](auto loss) {
        using Loss = decltype(loss);
        Model model(model_seed);
        microfit::Trainer<Model, Loss, microfit::Adam, max_batch> trainer(model, loss, microfit::Adam{});

        Line heading;
        heading.text(run_names[static_cast<std::size_t>(run)]).text(" (").text(Loss::name).text(", Adam, ");
        heading.count(options.epochs).text(" epochs, batch ").count(options.batch_size).text(")\n");
        print(heading.str());

        const auto on_epoch_end = [&](const microfit::EpochLog<class_count>& log) {
            print_epoch(print, log);
            result.training_loss = log.loss;
        };
        microfit::Status s = trainer.fit(train, options, &validation, on_epoch_end);
        if (!s.ok()) return s;
        return trainer.evaluate(validation, result.validation, max_batch);
    };

    if (run == Run::focal_loss) {
        microfit::CategoricalFocalLoss<class_count> focal;
        focal.gamma = 2.0f;
        return train_with(focal);
    }
    return train_with(microfit::SparseCategoricalCrossentropy{});
}

/// Prints the side-by-side table of the four runs and their confusion matrices.
template <class Print>
void print_report(Print& print, const RunResult (&runs)[run_count], const char* const (&class_names)[class_count]) {
    Line intro;
    intro.text("\nValidation results (").count(runs[0].validation.rows).text(" rows). ");
    print(intro.str());
    print("'weighted' uses the validation sample weights, which here\n"
          "are the balanced weights of the validation labels, so weighted accuracy equals balanced accuracy.\n"
          "Class weights never enter these figures. The focal-loss run reports focal loss, so its\n"
          "losses are not comparable with the cross-entropy of the other runs; its metrics are.\n\n");

    constexpr std::size_t label_width = 40;
    constexpr std::size_t column_width = 15;
    Line header;
    header.text("", label_width);
    for (const char* name : run_names) header.text_right(name, column_width);
    header.text("\n");
    print(header.str());

    const auto row = [&](const char* label, auto value) {
        Line line;
        line.text(label, label_width);
        for (const RunResult& r : runs) line.number(value(r), 4, column_width);
        line.text("\n");
        print(line.str());
    };
    row("training loss, as optimized", [](const RunResult& r) { return r.training_loss; });
    row("validation loss, unweighted", [](const RunResult& r) { return r.validation.loss; });
    row("validation loss, weighted", [](const RunResult& r) { return r.validation.weighted_loss; });
    row("accuracy, unweighted", [](const RunResult& r) { return r.validation.confusion.accuracy(); });
    row("accuracy, weighted", [](const RunResult& r) { return r.validation.weighted_confusion.accuracy(); });
    row("balanced accuracy", [](const RunResult& r) { return r.validation.confusion.balanced_accuracy(); });
    for (std::size_t c = 0; c < class_count; ++c) {
        Line label;
        label.text("recall ").text(class_names[c]);
        Line line;
        line.text(label.str(), label_width);
        for (const RunResult& r : runs) line.number(r.validation.confusion.recall(c), 4, column_width);
        line.text("\n");
        print(line.str());
    }
    row("expected cost per sample (FN 10, FP 1)",
        [](const RunResult& r) { return r.validation.confusion.expected_cost(cost_matrix); });
    row("expected cost, weighted",
        [](const RunResult& r) { return r.validation.weighted_confusion.expected_cost(cost_matrix); });

    Line matrices;
    matrices.text("\nConfusion matrices (rows: true class, columns: predicted; ").text(class_names[0]).text(", ");
    matrices.text(class_names[1]).text("):\n");
    print(matrices.str());
    for (std::size_t i = 0; i < run_count; ++i) {
        const auto& c = runs[i].validation.confusion.counts;
        Line line;
        line.text("  ").text(run_names[i], 14).text(" [[").number(c[0][0], 0, 3).text(" ").number(c[0][1], 0, 3);
        line.text("] [").number(c[1][0], 0, 3).text(" ").number(c[1][1], 0, 3).text("]]\n");
        print(line.str());
    }
}

}  // namespace breast_cancer
