// Counts the instructions that a Cortex-M core executes for inference and for one training step of the
// demo's 30-16-2 model, under QEMU with -icount shift=0 (one instruction per virtual nanosecond).
// SysTick runs from the virtual clock, so its ticks count instructions; a calibration loop of
// known length gives the instructions per tick. The counts are exact and repeatable, but they
// are not cycles. The Cortex-M4 Technical Reference Manual gives VFMA.F32 3 cycles and a single
// VLDR 2, and flash wait states add more. A real device therefore takes more cycles than
// instructions (an estimate: 1.5 to 2.5 per instruction for these kernels).
#include <cstddef>
#include <cstdint>
#include <stdio.h>  // iprintf, setvbuf

#include "microfit/microfit.hpp"

#ifndef MICROFIT_OPTIMIZATION
#define MICROFIT_OPTIMIZATION "optimization unknown"
#endif
#ifndef MICROFIT_PROCESSOR
#define MICROFIT_PROCESSOR "Cortex-M"
#endif

namespace {

// SysTick, the 24-bit down-counter that every ARMv7-M core has.
volatile std::uint32_t& systick_control = *reinterpret_cast<volatile std::uint32_t*>(0xE000E010);
volatile std::uint32_t& systick_reload = *reinterpret_cast<volatile std::uint32_t*>(0xE000E014);
volatile std::uint32_t& systick_current = *reinterpret_cast<volatile std::uint32_t*>(0xE000E018);
constexpr std::uint32_t systick_enable = 1u << 0;
constexpr std::uint32_t systick_processor_clock = 1u << 2;
constexpr std::uint32_t systick_wrapped = 1u << 16;
constexpr std::uint32_t systick_mask = 0x00FFFFFFu;

/// An interval in SysTick ticks. end() returns false when the counter passed 0 after begin(),
/// which makes the count meaningless.
struct Interval {
    std::uint32_t start = 0;

    void begin() {
        const std::uint32_t control = systick_control;  // reading clears the wrap flag
        static_cast<void>(control);
        start = systick_current;
    }
    bool end(std::uint32_t& ticks) const {
        const std::uint32_t now = systick_current;
        ticks = (start - now) & systick_mask;
        return (systick_control & systick_wrapped) == 0;
    }
};

/// Runs `iterations` passes of a two-instruction loop (subs, bne): 2 * iterations instructions.
void known_loop(std::uint32_t iterations) {
    __asm__ volatile(
        "1:\n"
        "  subs %0, %0, #1\n"
        "  bne 1b\n"
        : "+r"(iterations)
        :
        : "cc");
}

using Model = microfit::Sequential<microfit::Dense<30, 16>, microfit::Relu, microfit::Dense<16, 2>>;
constexpr std::size_t rows = 32;
constexpr std::size_t feature_count = 30;
constexpr std::size_t multiply_adds_per_row = 30 * 16 + 16 * 2;

float features[rows * feature_count];
std::int32_t labels[rows];
std::int32_t predicted[rows];
Model model(7);
microfit::Workspace<Model, 1> workspace;
microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, rows> trainer(model);

double instructions_per_tick = 0.0;

/// Prints one row of the table: instructions per call and per multiply-add of the forward pass.
void report(const char* name, std::uint32_t ticks, std::uint32_t calls, std::size_t multiply_adds) {
    const double instructions = static_cast<double>(ticks) * instructions_per_tick / calls;
    iprintf("%-44s %9lu %8lu.%02lu\n", name, static_cast<unsigned long>(instructions + 0.5),
            static_cast<unsigned long>(instructions / static_cast<double>(multiply_adds)),
            static_cast<unsigned long>(instructions * 100.0 / static_cast<double>(multiply_adds)) % 100);
}

}  // namespace

int main() {
    setvbuf(stdout, nullptr, _IONBF, 0);
    systick_reload = systick_mask;
    systick_current = 0;
    systick_control = systick_enable | systick_processor_clock;

    std::uint32_t state = 12345;
    for (std::size_t i = 0; i < rows * feature_count; ++i) {
        state = state * 1664525u + 1013904223u;
        features[i] = static_cast<float>(state >> 8) * 0x1p-24f - 0.5f;
    }
    for (std::size_t r = 0; r < rows; ++r) labels[r] = features[r * feature_count] > 0.0f ? 1 : 0;

    Interval interval;
    std::uint32_t ticks = 0;
    constexpr std::uint32_t calibration_iterations = 1000000;
    interval.begin();
    known_loop(calibration_iterations);
    if (!interval.end(ticks) || ticks == 0) {
        iprintf("calibration failed: %lu ticks\n", static_cast<unsigned long>(ticks));
        return 1;
    }
    instructions_per_tick = 2.0 * calibration_iterations / ticks;
    iprintf("calibration: %lu ticks for %lu instructions\n\n", static_cast<unsigned long>(ticks),
            static_cast<unsigned long>(2 * calibration_iterations));
    iprintf("%-44s %9s %11s\n", MICROFIT_PROCESSOR ", model 30-16-2, " MICROFIT_OPTIMIZATION, "instr.", "per MAC");

    constexpr std::uint32_t repeats = 200;
    interval.begin();
    for (std::uint32_t k = 0; k < repeats; ++k) {
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t c = 0; c < feature_count; ++c) workspace.input()[c] = features[r * feature_count + c];
            workspace.forward(model, 1);
        }
    }
    if (!interval.end(ticks)) return 1;
    report("forward pass, one row (Workspace)", ticks, repeats * rows, multiply_adds_per_row);

    interval.begin();
    for (std::uint32_t k = 0; k < repeats; ++k) {
        if (!trainer.predict_classes(features, rows, feature_count, predicted, rows).ok()) return 1;
    }
    if (!interval.end(ticks)) return 1;
    report("predict_classes, 32 rows, per row", ticks, repeats * rows, multiply_adds_per_row);

    const microfit::Dataset data = microfit::classification_data(features, labels, rows, feature_count);
    microfit::FitOptions options;
    options.epochs = repeats;
    options.batch_size = rows;
    interval.begin();
    if (!trainer.fit(data, options).ok()) return 1;
    if (!interval.end(ticks)) return 1;
    report("training step, batch of 32, per row", ticks, repeats * rows, multiply_adds_per_row);
    report("training step, batch of 32", ticks, repeats, rows * multiply_adds_per_row);
    return 0;
}
