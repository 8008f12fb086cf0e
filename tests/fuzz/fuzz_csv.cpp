// libFuzzer target for the CSV reader of the host helpers (src/host/csv.cpp).
//
// Checked on every input: a rejected text leaves the output unchanged; an
// accepted one gives consistent sizes, finite features and labels inside the class range.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "microfit/host/csv.hpp"

namespace {

void check(bool condition) {
    if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    microfit::host::LabeledData out;
    out.rows = 99;
    out.feature_count = 98;
    const std::string error = microfit::host::parse_labeled_csv(text, out);
    if (!error.empty()) {
        check(out.rows == 99 && out.feature_count == 98 && out.features.empty() && out.labels.empty());
        return 0;
    }
    check(out.features.size() == out.rows * out.feature_count);
    check(out.labels.size() == out.rows);
    for (const float f : out.features) check(std::isfinite(f));
    for (const std::int32_t label : out.labels) {
        check(label >= 0 && static_cast<std::size_t>(label) < out.class_names.size());
    }
    return 0;
}
