// Checks that Line::number in recipe.hpp prints what printf's "%.*f" prints, so that the firmware
// image, which cannot use printf for floats, gives the host demo's text. Exits with 1 on the first
// difference.
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "recipe.hpp"

namespace {

int failures = 0;

void check(float value, int decimals) {
    char expected[64];
    std::snprintf(expected, sizeof expected, "%.*f", decimals, static_cast<double>(value));
    breast_cancer::Line line;
    const char* printed = line.number(value, decimals).str();
    if (std::strcmp(printed, expected) != 0 && failures++ < 10) {
        std::printf("%a with %d decimals: printf gives %s, Line gives %s\n", static_cast<double>(value), decimals,
                    expected, printed);
    }
}

}  // namespace

int main() {
    // Exact ties at the rounding digit, which must go to the even neighbour.
    const float ties[] = {0.03125f, 0.09375f, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 0.125f, 0.375f, 1023.5f};
    for (float value : ties) {
        for (int decimals = 0; decimals <= 6; ++decimals) check(value, decimals);
    }
    const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.99995f, 0.99994999f, 9.99995e11f, 1e-7f, -1e-7f};
    for (float value : specials) {
        for (int decimals = 0; decimals <= 6; ++decimals) check(value, decimals);
    }

    // Floats from 1e-6 to 1e11 at a fixed stride of bit patterns (115,436 of them), both signs.
    for (std::uint32_t bits = 0x358637bdu; bits < 0x51ba43b7u; bits += 4099u) {
        float value;
        std::memcpy(&value, &bits, sizeof value);
        for (int decimals : {0, 1, 4, 6}) {
            check(value, decimals);
            check(-value, decimals);
        }
    }
    if (failures > 0) {
        std::printf("%d values print differently\n", failures);
        return 1;
    }
    std::printf("Line::number prints as printf for every value checked\n");
    return 0;
}
