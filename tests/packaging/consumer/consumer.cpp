// Trains and runs a tiny model through microfit::microfit and checks that the compile definitions
// of the microfit it was built against reached this program. Exits with 1 on the first failure.
#include <cmath>
#include <cstdio>
#include <cstring>

#include <microfit/microfit.hpp>

namespace {

int failures = 0;

void check(bool condition, const char* what) {
    if (!condition) {
        std::printf("FAILED: %s\n", what);
        ++failures;
    }
}

}  // namespace

int main() {
#if defined(MICROFIT_FORCE_SCALAR)
    constexpr bool force_scalar = true;
#else
    constexpr bool force_scalar = false;
#endif
#if defined(MICROFIT_NO_STATUS_TEXT)
    constexpr bool no_status_text = true;
#else
    constexpr bool no_status_text = false;
#endif
    check(force_scalar == static_cast<bool>(EXPECT_FORCE_SCALAR),
          "MICROFIT_FORCE_SCALAR is defined exactly when microfit was configured with it");
    check(no_status_text == static_cast<bool>(EXPECT_NO_STATUS_TEXT),
          "MICROFIT_NO_STATUS_TEXT is defined exactly when microfit was configured with it");
    // A tree configured without xsimd must never include it. The converse need not hold: a Linux
    // target without SSE2 or NEON finds xsimd but takes the scalar path.
    if (!EXPECT_XSIMD) check(MICROFIT_HAS_XSIMD == 0, "the SIMD layer takes its scalar path without xsimd");

    // Status texts: with MICROFIT_NO_STATUS_TEXT, format writes only the status name.
    microfit::Status status(microfit::StatusCode::empty_dataset);
    char message[96];
    (void)status.format(message, sizeof message);
    const bool name_only = std::strcmp(message, "empty_dataset") == 0;
    check(name_only == no_status_text, "Status::format writes the name alone exactly without status texts");

    // Logical XOR, which a 2-8-2 network learns in a few hundred Adam steps.
    using Model = microfit::Sequential<microfit::Dense<2, 8>, microfit::Tanh, microfit::Dense<8, 2>>;
    static Model model(/*seed=*/3);
    using Trainer = microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, 4>;
    microfit::Adam adam;
    adam.learning_rate = 0.05f;
    static Trainer trainer(model, {}, adam);

    const float features[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    const std::int32_t labels[4] = {0, 1, 1, 0};
    const microfit::Dataset data = microfit::classification_data(&features[0][0], labels, 4, 2);
    microfit::FitOptions options;
    options.epochs = 300;
    options.batch_size = 4;
    status = trainer.fit(data, options);
    check(status.ok(), "fit returns ok");

    std::int32_t predicted[4] = {};
    status = trainer.predict_classes(&features[0][0], 4, 2, predicted, 4);
    check(status.ok(), "predict_classes returns ok");
    for (int row = 0; row < 4; ++row) check(predicted[row] == labels[row], "the trained model classifies XOR");

    std::printf("microfit consumer: %d checks failed (MICROFIT_HAS_XSIMD=%d)\n", failures, MICROFIT_HAS_XSIMD);
    return failures == 0 ? 0 : 1;
}
