// Reading labeled data sets from CSV files, for host programs (examples, tests, fuzzers).
//
// This is not part of the firmware core: it uses std::vector and std::string.
//
// Layout: the first line is "rows,features,class_name_0,class_name_1,..." and every following
// line holds `features` numbers and then an integer label in [0, number of class names). Blank
// lines and a final line without a newline are accepted; anything else is an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace microfit::host {

struct LabeledData {
    std::size_t rows = 0;
    std::size_t feature_count = 0;
    std::vector<std::string> class_names;
    std::vector<float> features;       ///< [rows][feature_count]
    std::vector<std::int32_t> labels;  ///< [rows]
};

/// Parses CSV text in the layout above into `out`. Returns an empty string on success, else a
/// message naming the line and the problem (e.g. "line 4: expected 30 features and a label, found 29
/// fields"); `out` is unchanged on error.
std::string parse_labeled_csv(std::string_view text, LabeledData& out);

/// Reads and parses a file; the message also covers a file that cannot be opened.
std::string read_labeled_csv(const std::string& path, LabeledData& out);

}  // namespace microfit::host
