// Checks what the port's startup code promises: the FPU is on, .data contains its initial values,
// .bss is zero, static constructors ran, the command line arrived, and main's status 0 reaches the
// host. Linked with the heap trap, so it also shows that this much needs no heap.

#include <cmath>
#include <cstdint>
#include <stdio.h>  // iprintf, newlib's printf without floating point

#include "board.hpp"

namespace {

int failures = 0;

void check(bool condition, const char* description) {
    if (!condition) {
        iprintf("FAILED: %s\n", description);
        ++failures;
    }
}

volatile float initialized_value = 2.5f;
volatile std::uint32_t zeroed_words[64];

struct Constructed {
    Constructed() : value(42) {}
    int value;
};
Constructed constructed;

}  // namespace

int main(int argc, char** argv) {
    setvbuf(stdout, nullptr, _IONBF, 0);

    check(initialized_value == 2.5f, ".data contains its initial value");
    bool all_zero = true;
    for (std::uint32_t word : zeroed_words) all_zero = all_zero && word == 0;
    check(all_zero, ".bss is zero");
    check(constructed.value == 42, "static constructors ran");
    check(argc >= 1 && argv[0] != nullptr, "argv[0] is the image name");

    // Float arithmetic runs on the FPU (the image is built for the hard-float ABI, so without the
    // FPU enabled the first instruction below would fault). 1 + 2^-12 squared is 1 + 2^-11 + 2^-24,
    // which rounds to 1 + 2^-11, so a correctly rounded fma leaves exactly 2^-24.
    volatile float x = 1.0f + 0x1p-12f;
    const float product = x * x;
    check(std::sqrt(x * x * 4.0f) == 2.0f * x, "sqrt of a square");
    check(std::fma(x, x, -product) == 0x1p-24f, "fma rounds once");

    iprintf("selftest: %d failures, %u of %u stack bytes used\n", failures,
                 static_cast<unsigned>(mps2_an386::stack_bytes_used()),
                 static_cast<unsigned>(mps2_an386::stack_size()));
    return failures == 0 ? 0 : 1;
}
