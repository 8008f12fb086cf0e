// Counts heap allocations and requires none while microfit trains, evaluates and predicts.
//
// Every replaceable global operator new is replaced by a counting version. On glibc, malloc,
// calloc, realloc, aligned_alloc and posix_memalign are interposed too, forwarding to glibc's
// __libc_* entry points, so that allocations that bypass operator new are counted as well. The
// interposition is left out under AddressSanitizer, which replaces malloc itself.
#include <doctest/doctest.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "microfit/microfit.hpp"

namespace {

bool counting = false;
std::size_t allocations = 0;

void note_allocation() noexcept {
    if (counting) ++allocations;
}

void start_counting() noexcept {
    allocations = 0;
    counting = true;
}

std::size_t stop_counting() noexcept {
    counting = false;
    return allocations;
}

void* allocate(std::size_t size) noexcept {
    note_allocation();
    return std::malloc(size == 0 ? 1 : size);
}

/// Allocates with malloc and aligns by hand, keeping malloc's pointer just below the aligned block,
/// because std::aligned_alloc is missing from some C libraries (newlib in C++17 mode).
void* allocate_aligned(std::size_t size, std::align_val_t alignment) noexcept {
    note_allocation();
    const auto align = static_cast<std::size_t>(alignment);
    void* raw = std::malloc(size + align + sizeof(void*));
    if (raw == nullptr) return nullptr;
    const std::uintptr_t first_free = reinterpret_cast<std::uintptr_t>(raw) + sizeof(void*);
    void** aligned = reinterpret_cast<void**>((first_free + align - 1) / align * align);
    aligned[-1] = raw;
    return aligned;
}

void free_aligned(void* p) noexcept {
    if (p != nullptr) std::free(static_cast<void**>(p)[-1]);
}

void* allocate_or_abort(void* p) noexcept {
    // The tests build without exceptions, so a failed allocation cannot throw std::bad_alloc.
    if (p == nullptr) std::abort();
    return p;
}

}  // namespace

void* operator new(std::size_t size) { return allocate_or_abort(allocate(size)); }
void* operator new[](std::size_t size) { return allocate_or_abort(allocate(size)); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new(std::size_t size, std::align_val_t alignment) {
    return allocate_or_abort(allocate_aligned(size, alignment));
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
    return allocate_or_abort(allocate_aligned(size, alignment));
}
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    return allocate_aligned(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
    return allocate_aligned(size, alignment);
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { free_aligned(p); }
void operator delete[](void* p, std::align_val_t) noexcept { free_aligned(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { free_aligned(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { free_aligned(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { free_aligned(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { free_aligned(p); }

#if defined(__SANITIZE_ADDRESS__)
#define MICROFIT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MICROFIT_TEST_ASAN 1
#endif
#endif

#if defined(__GLIBC__) && !defined(MICROFIT_TEST_ASAN)
#define MICROFIT_TEST_COUNTS_MALLOC 1
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);

void* malloc(std::size_t size) noexcept {
    note_allocation();
    return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
    note_allocation();
    return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) noexcept {
    note_allocation();
    return __libc_realloc(p, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
    note_allocation();
    return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
    note_allocation();
    void* p = __libc_memalign(alignment, size);
    if (p == nullptr) return ENOMEM;
    *out = p;
    return 0;
}
}
#else
#define MICROFIT_TEST_COUNTS_MALLOC 0
#endif

namespace {

using microfit::Dense;
using microfit::Relu;
using microfit::Sequential;

using Classifier = Sequential<Dense<6, 12>, Relu, Dense<12, 3>>;
using BinaryModel = Sequential<Dense<6, 8>, microfit::Tanh, Dense<8, 1>>;
using Regressor = Sequential<Dense<6, 8>, microfit::Sigmoid, Dense<8, 2>>;

constexpr std::size_t rows = 50;
constexpr std::size_t features_per_row = 6;

/// Training and validation data, built before counting starts.
struct Data {
    std::vector<float> features;
    std::vector<std::int32_t> labels;
    std::vector<std::int32_t> binary_labels;
    std::vector<float> targets;
    std::vector<float> sample_weight;

    Data() {
        microfit::Random random(1);
        for (std::size_t i = 0; i < rows * features_per_row; ++i) features.push_back(random.uniform(-1.0f, 1.0f));
        for (std::size_t r = 0; r < rows; ++r) {
            labels.push_back(r % 5 == 0 ? 2 : static_cast<std::int32_t>(r % 2));  // imbalanced
            binary_labels.push_back(static_cast<std::int32_t>(r % 3 == 0));
            targets.push_back(random.uniform(-1.0f, 1.0f));
            targets.push_back(random.uniform(-1.0f, 1.0f));
            sample_weight.push_back(random.uniform(0.0f, 2.0f));
        }
    }
};

// Models and trainers have static storage so that their size never matters to the stack.
Classifier classifier(1);
microfit::Trainer<Classifier, microfit::SparseCategoricalCrossentropy, microfit::Adam, 16> classifier_trainer(classifier);
BinaryModel binary_model(2);
microfit::Trainer<BinaryModel, microfit::BinaryFocalLoss, microfit::Sgd, 16> binary_trainer(binary_model);
Regressor regressor(3);
microfit::Trainer<Regressor, microfit::MeanSquaredError, microfit::Adam, 16> regressor_trainer(regressor);

}  // namespace

TEST_CASE("allocation counter sees operator new and malloc") {
    static void* volatile sink = nullptr;
    start_counting();
    sink = ::operator new(16);
    ::operator delete(sink);
    sink = std::malloc(16);
    std::free(sink);
    const std::size_t counted = stop_counting();
    CHECK(counted == (MICROFIT_TEST_COUNTS_MALLOC ? 3u : 1u));
}

TEST_CASE("training, evaluation and prediction allocate nothing") {
    const Data data;
    const microfit::Dataset train =
        microfit::classification_data(data.features.data(), data.labels.data(), rows, features_per_row,
                                      data.sample_weight.data());
    const microfit::Dataset validation = microfit::classification_data(
        data.features.data(), data.labels.data(), rows, features_per_row, data.sample_weight.data());
    const microfit::Dataset binary_train = microfit::classification_data(
        data.features.data(), data.binary_labels.data(), rows, features_per_row, data.sample_weight.data());
    const microfit::Dataset regression = microfit::regression_data(data.features.data(), data.targets.data(), rows,
                                                                   features_per_row, 2, data.sample_weight.data());
    std::vector<float> logits(rows * 3);
    std::vector<float> probabilities(rows * 3);
    std::vector<std::int32_t> classes(rows);
    char message[128];

    microfit::Status statuses[16];
    std::size_t epochs_seen = 0;
    float class_weights[3] = {};
    const float binary_class_weights[2] = {1.0f, 2.0f};
    microfit::History<3, 8> history;
    microfit::Evaluation<3> evaluation;
    microfit::Evaluation<0> regression_evaluation;
    std::size_t message_length = 0;

    start_counting();

    statuses[0] = microfit::balanced_class_weights(data.labels.data(), data.sample_weight.data(), rows, 3, class_weights);

    microfit::FitOptions options;
    options.epochs = 3;
    options.batch_size = 16;
    options.class_weight = {class_weights, 3};
    options.reduction = microfit::Reduction::weighted_mean;
    statuses[1] = classifier_trainer.fit(train, options, &validation, history);

    options.sampling = microfit::Sampling::balanced_oversampling;
    options.class_weight = {};
    statuses[2] = classifier_trainer.fit(train, options, &validation, [&](const microfit::EpochLog<3>& log) {
        epochs_seen += log.epoch;
        return true;
    });

    options.sampling = microfit::Sampling::in_order;
    statuses[3] = classifier_trainer.evaluate(validation, evaluation, 16);
    statuses[4] = classifier_trainer.predict(data.features.data(), rows, features_per_row, logits.data(), logits.size());
    statuses[5] = classifier_trainer.predict_probabilities(data.features.data(), rows, features_per_row,
                                                           probabilities.data(), probabilities.size());
    statuses[6] = classifier_trainer.predict_classes(data.features.data(), rows, features_per_row, classes.data(),
                                                     classes.size());

    microfit::FitOptions binary_options;
    binary_options.epochs = 2;
    binary_options.batch_size = 7;
    binary_options.sampling = microfit::Sampling::balanced_oversampling;
    binary_options.class_weight = {binary_class_weights, 2};
    statuses[7] = binary_trainer.fit(binary_train, binary_options, &binary_train);

    microfit::FitOptions regression_options;
    regression_options.epochs = 2;
    regression_options.batch_size = 16;
    statuses[8] = regressor_trainer.fit(regression, regression_options, &regression);
    statuses[9] = regressor_trainer.evaluate(regression, regression_evaluation, 16);

    // An error path: bad data is rejected with a status and a message, still without the heap.
    const std::int32_t bad_label = 7;
    const microfit::Dataset bad = microfit::classification_data(data.features.data(), &bad_label, 1, features_per_row);
    statuses[10] = classifier_trainer.fit(bad, options);
    message_length = statuses[10].format(message, sizeof message);

    const std::size_t counted = stop_counting();

    CHECK(counted == 0);
    for (std::size_t i = 0; i < 10; ++i) {
        CAPTURE(i);
        CHECK(statuses[i].ok());
    }
    CHECK(statuses[10].code == microfit::StatusCode::label_out_of_range);
    CHECK(message_length > 0);
    CHECK(history.count == 3);
    CHECK(epochs_seen == 1 + 2 + 3);
    CHECK(evaluation.rows == rows);
    CHECK(regression_evaluation.rows == rows);
}
