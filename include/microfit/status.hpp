// Status: the result of every public function that takes data.
//
// A status carries a code and the numbers that explain it (the row, the column, the bad value, the
// allowed limit). `format` writes a sentence such as "label 7 at row 12 is outside [0, 2)" into a
// caller-supplied buffer, with no heap and no printf. Define MICROFIT_NO_STATUS_TEXT to strip the
// sentences from small firmware: `format` then writes only the status name.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "microfit/config.hpp"

namespace microfit {

enum class StatusCode : std::uint8_t {
    ok = 0,
    empty_dataset,             ///< The data set has no rows.
    missing_data,              ///< A required pointer (features, labels or targets) is null.
    wrong_feature_count,       ///< Features per row differ from the model's input size.
    wrong_target_count,        ///< Targets per row differ from the model's output size.
    label_out_of_range,        ///< A label is outside [0, classes).
    non_finite_feature,        ///< A feature is NaN or infinite.
    non_finite_target,         ///< A regression target is NaN or infinite.
    non_finite_weight,         ///< A sample weight is NaN or infinite.
    negative_weight,           ///< A sample weight is below 0.
    wrong_class_weight_count,  ///< The class weights have a length other than the number of classes.
    invalid_class_weight,      ///< A class weight is negative, NaN or infinite.
    invalid_batch_size,        ///< The batch size is 0 or above the compile-time capacity.
    empty_class,               ///< A class has no samples, or too little total weight, so its balanced weight is undefined or overflows.
    invalid_option,            ///< A training option is out of its valid range.
    output_too_small,          ///< A caller-supplied output buffer is too small.
    storage_too_small,         ///< A parameter buffer is shorter than the record it must hold.
    bad_magic,                 ///< The parameter record does not start with microfit's magic number.
    unsupported_version,       ///< The parameter record has a format version this build cannot read.
    byte_order_mismatch,       ///< The parameter record was written with another byte order.
    shape_mismatch,            ///< The parameter record belongs to a model of another shape.
    size_mismatch,             ///< The payload size in the header disagrees with the model or the buffer.
    checksum_mismatch,         ///< The CRC-32 of the parameter record is wrong (corrupt or half-written).
    missing_optimizer_state,   ///< Optimizer state was requested but the record has none.
    unsupported_flags,         ///< The parameter record has flag bits or an optimizer id this build does not define.
    optimizer_mismatch,        ///< The parameter record holds the state of another optimizer than the trainer's.
    non_finite_parameter,      ///< A parameter or optimizer state value to save or load is NaN or infinite.
    training_diverged,         ///< Training stopped because its steps or parameters were no longer finite.
    non_finite_output,         ///< The model's output for a row is NaN or infinite.
    invalid_optimizer_state,   ///< A stored optimizer state value is finite but impossible (a negative second moment).
};

/// Short, stable identifier of a status code, such as "label_out_of_range".
constexpr const char* status_name(StatusCode code) noexcept {
    switch (code) {
        case StatusCode::ok: return "ok";
        case StatusCode::empty_dataset: return "empty_dataset";
        case StatusCode::missing_data: return "missing_data";
        case StatusCode::wrong_feature_count: return "wrong_feature_count";
        case StatusCode::wrong_target_count: return "wrong_target_count";
        case StatusCode::label_out_of_range: return "label_out_of_range";
        case StatusCode::non_finite_feature: return "non_finite_feature";
        case StatusCode::non_finite_target: return "non_finite_target";
        case StatusCode::non_finite_weight: return "non_finite_weight";
        case StatusCode::negative_weight: return "negative_weight";
        case StatusCode::wrong_class_weight_count: return "wrong_class_weight_count";
        case StatusCode::invalid_class_weight: return "invalid_class_weight";
        case StatusCode::invalid_batch_size: return "invalid_batch_size";
        case StatusCode::empty_class: return "empty_class";
        case StatusCode::invalid_option: return "invalid_option";
        case StatusCode::output_too_small: return "output_too_small";
        case StatusCode::storage_too_small: return "storage_too_small";
        case StatusCode::bad_magic: return "bad_magic";
        case StatusCode::unsupported_version: return "unsupported_version";
        case StatusCode::byte_order_mismatch: return "byte_order_mismatch";
        case StatusCode::shape_mismatch: return "shape_mismatch";
        case StatusCode::size_mismatch: return "size_mismatch";
        case StatusCode::checksum_mismatch: return "checksum_mismatch";
        case StatusCode::missing_optimizer_state: return "missing_optimizer_state";
        case StatusCode::unsupported_flags: return "unsupported_flags";
        case StatusCode::optimizer_mismatch: return "optimizer_mismatch";
        case StatusCode::non_finite_parameter: return "non_finite_parameter";
        case StatusCode::training_diverged: return "training_diverged";
        case StatusCode::non_finite_output: return "non_finite_output";
        case StatusCode::invalid_optimizer_state: return "invalid_optimizer_state";
    }
    return "unknown";
}

/// Origin of the data when a status names a row: the training set, the validation set, or
/// neither (an option or a buffer).
enum class DataRole : std::uint8_t { none, training, validation };

/// A number that a status carries: an exact integer (a size, a count, a label, a header field) or a
/// real value (a weight, a feature, a hyperparameter). Integers keep all 64 bits on every target,
/// so a size such as SIZE_MAX prints exactly where a double would round it above 2^53. The value is
/// kept in two 32-bit words, so the type is 12 bytes with 4-byte alignment on 32- and 64-bit
/// targets alike.
class StatusValue {
public:
    enum class Kind : std::uint8_t { unsigned_integer, signed_integer, real };

    constexpr StatusValue() noexcept = default;

    template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    constexpr StatusValue(T v) noexcept  // implicit, so that `status.value = rows;` reads as for a number
        : low_(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v) & 0xffffffffu)),
          high_(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v) >> 32)),
          kind_(std::is_signed_v<T> ? Kind::signed_integer : Kind::unsigned_integer) {}

    StatusValue(double v) noexcept : kind_(Kind::real) {
        std::uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        low_ = static_cast<std::uint32_t>(bits & 0xffffffffu);
        high_ = static_cast<std::uint32_t>(bits >> 32);
    }

    constexpr Kind kind() const noexcept { return kind_; }
    constexpr bool is_integer() const noexcept { return kind_ != Kind::real; }

    /// The 64 bits of the value: an unsigned integer, a two's complement signed integer, or the
    /// IEEE-754 bits of a double, depending on `kind()`.
    constexpr std::uint64_t bits() const noexcept { return (std::uint64_t{high_} << 32) | low_; }

    /// Converts the value to double, rounding integers above 2^53.
    operator double() const noexcept {
        const std::uint64_t b = bits();
        switch (kind_) {
            case Kind::unsigned_integer: return static_cast<double>(b);
            case Kind::signed_integer: return static_cast<double>(static_cast<std::int64_t>(b));
            case Kind::real: break;
        }
        double v = 0;
        std::memcpy(&v, &b, sizeof v);
        return v;
    }

private:
    std::uint32_t low_ = 0;
    std::uint32_t high_ = 0;
    Kind kind_ = Kind::unsigned_integer;
};

/// Result of a checked operation. `ok()` is true on success; otherwise `code` names what failed and
/// the other fields hold the numbers that `format` puts into the message. Which fields are set
/// depends on the code; unset fields are 0.
class [[nodiscard]] Status {
public:
    StatusCode code = StatusCode::ok;
    DataRole role = DataRole::none;
    StatusValue value;       ///< The offending value (a label, a weight, a size).
    StatusValue limit;       ///< The bound it broke (number of classes, capacity, expected size).
    std::size_t index = 0;   ///< Row, class, option, epoch or value index the problem was found at.
    std::size_t column = 0;  ///< Column of a feature, target or output, or the step of an epoch.
    /// Name of the option, for invalid_option and invalid_batch_size. A name ending in "[]" is an
    /// array, and `index` is then the element that failed. For training_diverged it names the
    /// check that stopped training ("stop_on_non_finite" or "parameters"), or is null when every
    /// step of an epoch was skipped.
    const char* option = nullptr;
    const char* expected = nullptr;  ///< The valid range of an option as text, such as "in [0, 1)".

    constexpr Status() noexcept = default;
    constexpr explicit Status(StatusCode c) noexcept : code(c) {}

    constexpr bool ok() const noexcept { return code == StatusCode::ok; }
    constexpr const char* name() const noexcept { return status_name(code); }

    /// Writes a one-line message into `buffer` (always terminated when `size > 0`) and returns the
    /// length of the full message, which may exceed `size - 1` when the buffer is too short.
    std::size_t format(char* buffer, std::size_t size) const noexcept;

    /// Marks a status as looked at when the caller decides to ignore it.
    constexpr void ignore() const noexcept {}
};

static_assert(std::is_trivially_copyable_v<Status>, "Status must stay trivially copyable: every checked function returns one by value.");
static_assert(sizeof(StatusValue) == 12, "StatusValue is two 32-bit words and a kind byte.");

namespace detail {

/// Returns whether v is an integer of magnitude below 1e15, without libm's floor.
inline bool is_whole_below_1e15(double v) noexcept {
    return std::fabs(v) < 1e15 && v == static_cast<double>(static_cast<std::int64_t>(v));
}

/// Returns e such that 2^(e - 1) <= v < 2^e for a finite v > 0, as std::frexp does, from the bits.
inline int binary_exponent(double v) noexcept {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    int biased = static_cast<int>((bits >> 52) & 0x7ffu);
    if (biased != 0) return biased - 1022;
    // A subnormal: scale it into the normal range by 2^54, which is exact.
    v *= 0x1p54;
    std::memcpy(&bits, &v, sizeof bits);
    biased = static_cast<int>((bits >> 52) & 0x7ffu);
    return biased - 1022 - 54;
}

/// Appends text to a bounded buffer and counts what would have been written.
class MessageWriter {
public:
    MessageWriter(char* buffer, std::size_t size) noexcept : buffer_(buffer), size_(size) {
        if (size_ > 0) buffer_[0] = '\0';
    }

    void text(const char* s) noexcept {
        for (; s != nullptr && *s != '\0'; ++s) put(*s);
    }

    void unsigned_integer(std::uint64_t v) noexcept {
        char digits[20];
        int n = 0;
        do {
            digits[n++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (n > 0) put(digits[--n]);
    }

    /// Writes "0x" and `digits` upper-case hexadecimal digits of v.
    void hexadecimal(std::uint32_t v, int digits) noexcept {
        text("0x");
        for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) put("0123456789ABCDEF"[(v >> shift) & 0xfu]);
    }

    /// Writes an integer value exactly, and a real one truncated toward 0.
    void whole(const StatusValue& v) noexcept {
        if (!v.is_integer()) return integer(static_cast<double>(v));
        std::uint64_t magnitude = v.bits();
        if (v.kind() == StatusValue::Kind::signed_integer && static_cast<std::int64_t>(magnitude) < 0) {
            put('-');
            magnitude = 0 - magnitude;
        }
        unsigned_integer(magnitude);
    }

    // A StatusValue passed here would be rounded through double: use whole().
    void integer(const StatusValue& v) = delete;

    void integer(double v) noexcept {
        if (v < 0) {
            put('-');
            v = -v;
        }
        unsigned_integer(static_cast<std::uint64_t>(v));
    }

    /// Writes a float with up to 7 significant digits, in fixed or exponent notation, as printf's
    /// "%.7g" does but without a "+" or leading zeros in the exponent.
    // NOTE: a double whose 8th and later digits are within one double rounding of a tie (such as
    // 999999.95, stored as 999999.94999999995) can round up where printf rounds down. Every float
    // value (what statuses carry) formats as "%.7g" does.
    void real(double v) noexcept {
        if (std::isnan(v)) return text("nan");
        if (v < 0) {
            put('-');
            v = -v;
        }
        if (std::isinf(v)) return text("inf");
        if (v == 0) return put('0');
        // The decimal exponent: v >= 2^(e - 1), so floor((e - 1) log10 2) is exact or one too low,
        // which the scaled value then shows.
        int exponent = floor_log10_of_power_of_2(binary_exponent(v) - 1);
        double scaled = scale_to_seven_digits(v, exponent);
        if (scaled >= 10000000.0) scaled = scale_to_seven_digits(v, ++exponent);
        std::uint64_t mantissa = round_half_even(scaled);
        if (mantissa >= 10000000u) {  // rounding carried into an eighth digit: 9999999.5 -> 1e7
            mantissa /= 10;
            ++exponent;
        }
        char digits[7];
        for (int i = 6; i >= 0; --i) {
            digits[i] = static_cast<char>('0' + mantissa % 10);
            mantissa /= 10;
        }
        int last = 6;
        while (last > 0 && digits[last] == '0') --last;
        if (exponent >= -4 && exponent < 7) {
            if (exponent < 0) {
                text("0.");
                for (int i = -1; i > exponent; --i) put('0');
                for (int i = 0; i <= last; ++i) put(digits[i]);
                return;
            }
            for (int i = 0; i <= exponent; ++i) put(i <= 6 ? digits[i] : '0');
            if (last > exponent) {
                put('.');
                for (int i = exponent + 1; i <= last; ++i) put(digits[i]);
            }
            return;
        }
        put(digits[0]);
        if (last > 0) {
            put('.');
            for (int i = 1; i <= last; ++i) put(digits[i]);
        }
        put('e');
        integer(exponent);
    }

    /// Writes an option name, with the element index in place of a trailing "[]".
    void option_name(const char* name, std::size_t element) noexcept {
        std::size_t n = 0;
        while (name != nullptr && name[n] != '\0') ++n;
        const bool is_array = n >= 2 && name[n - 2] == '[' && name[n - 1] == ']';
        for (std::size_t i = 0; i < (is_array ? n - 1 : n); ++i) put(name[i]);
        if (is_array) {
            unsigned_integer(element);
            put(']');
        }
    }

    std::size_t length() const noexcept { return length_; }

private:
    /// Returns v * 10^(6 - exponent), which is in [1e6, 1e7) when 10^exponent <= v < 10^(exponent + 1).
    /// Up to 10^22 the powers of 10 are exact doubles, so the result is rounded once. Larger scales
    /// take steps of 10^22 and round once per step, which can move a value that lies within a few
    /// double roundings of a seven-digit tie (see the NOTE above). No libm function is
    /// called: std::pow and std::log10 would link several KB of software code on FPUs without
    /// double precision.
    static double scale_to_seven_digits(double v, int exponent) noexcept {
        static constexpr double powers[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                              1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                              1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        int shift = 6 - exponent;
        double scaled = v;
        for (; shift > 22; shift -= 22) scaled *= 1e22;
        for (; shift < -22; shift += 22) scaled /= 1e22;
        return shift >= 0 ? scaled * powers[shift] : scaled / powers[-shift];
    }

    /// Returns floor(e log10 2) for e in [-1100, 1100], every binary exponent of a double.
    /// 78913 / 2^18 is log10 2 rounded up by 3e-6; the result is exact over that range (checked
    /// for every e), and the division rounds down for negative e too.
    static int floor_log10_of_power_of_2(int e) noexcept {
        const std::int32_t product = e * 78913;
        constexpr std::int32_t divisor = 1 << 18;
        return product >= 0 ? product / divisor : -((-product + divisor - 1) / divisor);
    }

    /// Rounds a non-negative value below 2^63 to an integer, ties to even as printf rounds.
    static std::uint64_t round_half_even(double v) noexcept {
        auto whole = static_cast<std::uint64_t>(v);
        const double fraction = v - static_cast<double>(whole);
        if (fraction > 0.5 || (fraction == 0.5 && (whole & 1u) != 0)) ++whole;
        return whole;
    }

    void put(char c) noexcept {
        if (length_ + 1 < size_) {
            buffer_[length_] = c;
            buffer_[length_ + 1] = '\0';
        }
        ++length_;
    }

    char* buffer_;
    std::size_t size_;
    std::size_t length_ = 0;
};

/// Name of an optimizer by its id in parameter records (see storage.hpp).
inline const char* optimizer_name(int id) noexcept {
    switch (id) {
        case 0: return "none";
        case 1: return "SGD";
        case 2: return "Adam";
        default: break;
    }
    return "unknown";
}

inline const char* role_prefix(DataRole role) noexcept {
    switch (role) {
        case DataRole::training: return "training data: ";
        case DataRole::validation: return "validation data: ";
        case DataRole::none: break;
    }
    return "";
}

}  // namespace detail

inline std::size_t Status::format(char* buffer, std::size_t size) const noexcept {
    detail::MessageWriter out(buffer, size);
#if defined(MICROFIT_NO_STATUS_TEXT)
    out.text(name());
#else
    out.text(detail::role_prefix(role));
    switch (code) {
        case StatusCode::ok:
            out.text("ok");
            break;
        case StatusCode::empty_dataset:
            out.text("the data set has no rows");
            break;
        case StatusCode::missing_data:
            out.text(option);
            out.text(" is a null pointer but is required");
            break;
        case StatusCode::wrong_feature_count:
            out.text("rows have ");
            out.whole(value);
            out.text(" features but the model takes ");
            out.whole(limit);
            break;
        case StatusCode::wrong_target_count:
            out.text("rows have ");
            out.whole(value);
            out.text(" targets but the model has ");
            out.whole(limit);
            out.text(" outputs");
            break;
        case StatusCode::label_out_of_range:
            out.text("label ");
            out.whole(value);
            out.text(" at row ");
            out.unsigned_integer(index);
            out.text(" is outside [0, ");
            out.whole(limit);
            out.text(")");
            break;
        case StatusCode::non_finite_feature:
        case StatusCode::non_finite_target:
            out.text(code == StatusCode::non_finite_feature ? "feature " : "target ");
            out.unsigned_integer(column);
            out.text(" at row ");
            out.unsigned_integer(index);
            out.text(" is ");
            out.real(value);
            out.text(", but values must be finite");
            break;
        case StatusCode::non_finite_weight:
        case StatusCode::negative_weight:
            out.text("sample weight at row ");
            out.unsigned_integer(index);
            out.text(" is ");
            out.real(value);
            out.text(", but weights must be finite and at least 0");
            break;
        case StatusCode::wrong_class_weight_count:
            out.text("got ");
            out.whole(value);
            if (limit.is_integer() && limit.bits() == 0) {
                // Only regression losses have no classes.
                out.text(" class weights, but a regression loss takes none");
                break;
            }
            out.text(" class weights for ");
            out.whole(limit);
            out.text(" classes");
            break;
        case StatusCode::invalid_class_weight:
            out.text("class weight of class ");
            out.unsigned_integer(index);
            out.text(" is ");
            out.real(value);
            out.text(", but class weights must be finite and at least 0");
            break;
        case StatusCode::invalid_batch_size:
            out.text(option != nullptr ? option : "batch size");
            out.text(" ");
            out.whole(value);
            out.text(" is outside [1, ");
            out.whole(limit);
            out.text("], the compile-time batch capacity");
            break;
        case StatusCode::empty_class:
            out.text("class ");
            out.unsigned_integer(index);
            if (static_cast<double>(value) > 0) {
                out.text(" has total weight ");
                out.real(value);
                out.text(", so its balanced weight ");
                out.real(limit);
                out.text(" would overflow float");
            } else {
                out.text(" has no samples (or zero total weight), so it cannot be balanced");
            }
            break;
        case StatusCode::invalid_option:
            out.text("option ");
            out.option_name(option, index);
            out.text(" is ");
            // Integers, such as a number of rows, are printed in full, other values with 7 digits.
            if (value.is_integer() || detail::is_whole_below_1e15(value)) {
                out.whole(value);
            } else {
                out.real(value);
            }
            if (expected != nullptr) {
                out.text(", but it must be ");
                out.text(expected);
            } else {
                out.text(", which is outside its valid range");
            }
            break;
        case StatusCode::output_too_small:
            out.text("output buffer holds ");
            out.whole(value);
            out.text(" values but ");
            out.whole(limit);
            out.text(" are needed");
            break;
        case StatusCode::storage_too_small:
            out.text("buffer has ");
            out.whole(value);
            out.text(" bytes but the record needs ");
            out.whole(limit);
            break;
        case StatusCode::bad_magic:
            out.text("buffer does not start with a microfit parameter record");
            break;
        case StatusCode::unsupported_version:
            out.text("parameter record has format version ");
            out.whole(value);
            out.text(" but this build reads version ");
            out.whole(limit);
            break;
        case StatusCode::byte_order_mismatch:
            out.text("parameter record has byte order mark ");
            out.hexadecimal(static_cast<std::uint32_t>(value.bits()), 4);
            out.text(" but records are little-endian with mark ");
            out.hexadecimal(static_cast<std::uint32_t>(limit.bits()), 4);
            break;
        case StatusCode::shape_mismatch:
            out.text("parameter record has shape signature ");
            out.hexadecimal(static_cast<std::uint32_t>(value.bits()), 8);
            out.text(" but the model has ");
            out.hexadecimal(static_cast<std::uint32_t>(limit.bits()), 8);
            break;
        case StatusCode::size_mismatch:
            out.text("parameter record payload is ");
            out.whole(value);
            out.text(" bytes but ");
            out.whole(limit);
            out.text(" were expected");
            break;
        case StatusCode::checksum_mismatch:
            out.text("parameter record CRC-32 does not match its contents (corrupt or partly written)");
            break;
        case StatusCode::missing_optimizer_state:
            out.text("parameter record has no optimizer state to restore");
            break;
        case StatusCode::unsupported_flags:
            out.text("parameter record has flags ");
            out.hexadecimal(static_cast<std::uint32_t>(value.bits()), 4);
            out.text(" and optimizer id ");
            out.whole(limit);
            out.text(", which format version ");
            out.unsigned_integer(index);
            out.text(" does not define");
            break;
        case StatusCode::optimizer_mismatch:
            out.text("parameter record holds the state of optimizer ");
            out.text(detail::optimizer_name(static_cast<int>(value.bits())));
            out.text(" but the trainer uses ");
            out.text(detail::optimizer_name(static_cast<int>(limit.bits())));
            break;
        case StatusCode::non_finite_parameter:
            out.text("value ");
            out.unsigned_integer(index);
            out.text(" of the parameter record is ");
            out.real(value);
            out.text(", but parameters and optimizer state must be finite");
            break;
        case StatusCode::training_diverged:
            if (option != nullptr && std::strcmp(option, "parameters") == 0) {
                out.text("a parameter became ");
                out.real(value);
                out.text(" in epoch ");
                out.unsigned_integer(index);
                out.text(", so training stopped; load saved parameters or initialize the model again");
            } else if (option != nullptr) {
                out.text("step ");
                out.unsigned_integer(column);
                out.text(" of epoch ");
                out.unsigned_integer(index);
                out.text(" had a non-finite loss or gradient and ");
                out.text(option);
                out.text(" is set, so training stopped with the parameters of the last finite step");
            } else {
                out.text("every step of epoch ");
                out.unsigned_integer(index);
                out.text(" had a non-finite loss or gradient (");
                out.whole(value);
                out.text(" skipped), so training stopped with the parameters of the last finite step");
            }
            break;
        case StatusCode::non_finite_output:
            out.text("output ");
            out.unsigned_integer(column);
            out.text(" of row ");
            out.unsigned_integer(index);
            out.text(" is ");
            out.real(value);
            out.text(", so the model's parameters are not finite or its outputs overflow float");
            break;
        case StatusCode::invalid_optimizer_state:
            out.text("value ");
            out.unsigned_integer(index);
            out.text(" of the parameter record is ");
            out.real(value);
            out.text(", but ");
            out.text(option != nullptr ? option : "this optimizer state value");
            out.text(" must be at least 0");
            break;
    }
#endif
    return out.length();
}

}  // namespace microfit
