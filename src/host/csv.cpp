#include "microfit/host/csv.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace microfit::host {

namespace {

/// Splits one line at commas, trimming spaces and a trailing carriage return.
std::vector<std::string_view> split_fields(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = line.find(',', start);
        std::string_view field = line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        while (!field.empty() && field.front() == ' ') field.remove_prefix(1);
        while (!field.empty() && field.back() == ' ') field.remove_suffix(1);
        fields.push_back(field);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return fields;
}

bool parse_size(std::string_view field, std::size_t& value) {
    if (field.empty()) return false;
    const auto result = std::from_chars(field.data(), field.data() + field.size(), value);
    return result.ec == std::errc() && result.ptr == field.data() + field.size();
}

bool parse_float(std::string_view field, float& value) {
    if (field.empty()) return false;
    const auto result = std::from_chars(field.data(), field.data() + field.size(), value);
    return result.ec == std::errc() && result.ptr == field.data() + field.size() && std::isfinite(value);
}

std::string at_line(std::size_t line, const std::string& message) { return "line " + std::to_string(line) + ": " + message; }

}  // namespace

std::string parse_labeled_csv(std::string_view text, LabeledData& out) {
    LabeledData data;
    std::size_t line_number = 0;
    std::size_t position = 0;
    bool have_header = false;

    while (position < text.size()) {
        const std::size_t end = text.find('\n', position);
        const std::string_view line = text.substr(position, end == std::string_view::npos ? std::string_view::npos : end - position);
        position = end == std::string_view::npos ? text.size() : end + 1;
        ++line_number;
        if (line.empty() || line == "\r") continue;

        const std::vector<std::string_view> fields = split_fields(line);
        if (!have_header) {
            if (fields.size() < 4 || !parse_size(fields[0], data.rows) || !parse_size(fields[1], data.feature_count) ||
                data.feature_count == 0) {
                return at_line(line_number, "expected a header 'rows,features,class_name,class_name[,...]' with at least two classes");
            }
            for (std::size_t i = 2; i < fields.size(); ++i) data.class_names.emplace_back(fields[i]);
            // The header's row count is only a hint: it is checked at the end, never trusted for sizing.
            have_header = true;
            continue;
        }

        if (fields.size() != data.feature_count + 1) {
            return at_line(line_number, "expected " + std::to_string(data.feature_count) + " features and a label, found " +
                                            std::to_string(fields.size()) + " fields");
        }
        for (std::size_t c = 0; c < data.feature_count; ++c) {
            float value = 0.0f;
            if (!parse_float(fields[c], value)) {
                return at_line(line_number, "feature " + std::to_string(c) + " '" + std::string(fields[c]) +
                                                "' is not a finite number");
            }
            data.features.push_back(value);
        }
        std::size_t label = 0;
        if (!parse_size(fields.back(), label) || label >= data.class_names.size()) {
            return at_line(line_number, "label '" + std::string(fields.back()) + "' is not an integer in [0, " +
                                            std::to_string(data.class_names.size()) + ")");
        }
        data.labels.push_back(static_cast<std::int32_t>(label));
    }

    if (!have_header) return "the file is empty: expected a header line";
    if (data.labels.size() != data.rows) {
        return "the header announces " + std::to_string(data.rows) + " rows but the file has " +
               std::to_string(data.labels.size());
    }
    out = std::move(data);
    return {};
}

std::string read_labeled_csv(const std::string& path, LabeledData& out) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return "cannot open '" + path + "'";
    std::ostringstream text;
    text << file.rdbuf();
    const std::string message = parse_labeled_csv(text.str(), out);
    return message.empty() ? message : path + ": " + message;
}

}  // namespace microfit::host
