// Parameter storage: saves a model's parameters, and optionally its optimizer state, into a
// caller-supplied byte buffer and loads them back, with no heap.
//
// A record is a 20-byte header, a payload and a CRC-32. The payload contains the parameters without
// SIMD padding, layer by layer (for each Dense layer its weights [in][out] row-major, then its bias
// [out]), as little-endian IEEE-754 float32, so a record written by an AVX-512 build loads on a
// Cortex-M build and the other way round. docs/storage-format.md gives every byte offset.
//
//   std::uint8_t buffer[microfit::storage_bytes<Model>()];  // any alignment
//   Status s = microfit::save_parameters(model, buffer, sizeof buffer);
//   ...
//   s = microfit::load_parameters(model, buffer, sizeof buffer);
//
// Loading checks the whole record before it writes anything: on any error the model (and the
// optimizer state) are bit-for-bit unchanged and the status says which check failed.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "microfit/optimizer.hpp"
#include "microfit/sequential.hpp"
#include "microfit/status.hpp"
#include "microfit/trainer.hpp"

namespace microfit {

static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4,
              "Parameter records store IEEE-754 binary32 floats, so float must be binary32 on this target.");

/// Returns the CRC-32 of IEEE 802.3 (the one of zlib, PNG and Ethernet) over `size` bytes: reflected
/// polynomial 0xEDB88320, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF, so that
/// crc32("123456789", 9) == 0xCBF43926. Pass the result of a previous call as `previous` to
/// continue over more bytes, as zlib's crc32() does.
inline std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t previous = 0) noexcept;

namespace storage {

/// The first four bytes of every record, "MFIT".
inline constexpr std::uint8_t magic[4] = {'M', 'F', 'I', 'T'};
/// Written as a little-endian uint16, so the bytes are FF FE. A record whose bytes are FE FF was
/// written big-endian, which the format does not allow.
inline constexpr std::uint16_t byte_order_mark = 0xFEFF;
/// The format this build writes and the only one it reads.
inline constexpr std::uint16_t format_version = 1;
inline constexpr std::size_t header_bytes = 20;
inline constexpr std::size_t checksum_bytes = 4;
/// Bit 0 of the flags field: the payload contains optimizer state after the parameters.
inline constexpr std::uint16_t flag_optimizer_state = 0x0001;

/// Identifiers of optimizers in the header. Stored in records, so the values must never change.
enum class OptimizerId : std::uint16_t { none = 0, sgd = 1, adam = 2 };

/// Field offsets in the header, in bytes.
namespace offset {
inline constexpr std::size_t magic = 0;
inline constexpr std::size_t byte_order_mark = 4;
inline constexpr std::size_t version = 6;
inline constexpr std::size_t shape_signature = 8;
inline constexpr std::size_t flags = 12;
inline constexpr std::size_t optimizer_id = 14;
inline constexpr std::size_t payload_bytes = 16;
inline constexpr std::size_t payload = 20;
}  // namespace offset

}  // namespace storage

/// Storage layout of an optimizer's state: its id and its per-parameter arrays, in record order.
/// Each optimizer has a specialization, and `OptimizerStorage<void>` means no optimizer state.
template <class Optimizer>
struct OptimizerStorage {
    static_assert(std::is_void_v<Optimizer> && !std::is_void_v<Optimizer>,
                  "This optimizer has no storage layout: specialize microfit::OptimizerStorage for it, with a new "
                  "storage::OptimizerId.");
};

template <>
struct OptimizerStorage<void> {
    static constexpr storage::OptimizerId id = storage::OptimizerId::none;
    static constexpr std::size_t arrays = 0;
};

/// SGD stores its velocity.
template <>
struct OptimizerStorage<Sgd> {
    static constexpr storage::OptimizerId id = storage::OptimizerId::sgd;
    static constexpr std::size_t arrays = 1;

    /// Name of array k when its values cannot be below 0, or null: any finite velocity is valid.
    static constexpr const char* non_negative_array(std::size_t /*k*/) noexcept { return nullptr; }

    template <std::size_t N>
    static float* array(Sgd::State<N>& state, std::size_t /*k*/) noexcept {
        return state.velocity;
    }
    template <std::size_t N>
    static const float* array(const Sgd::State<N>& state, std::size_t /*k*/) noexcept {
        return state.velocity;
    }
};

/// Adam stores its first moment m, then its second moment v.
template <>
struct OptimizerStorage<Adam> {
    static constexpr storage::OptimizerId id = storage::OptimizerId::adam;
    static constexpr std::size_t arrays = 2;

    /// Name of array k when its values cannot be below 0, or null. The second moment v is an
    /// average of squared gradients, and a negative one would make sqrt(v) NaN in the next step.
    static constexpr const char* non_negative_array(std::size_t k) noexcept {
        return k == 1 ? "Adam's second moment v" : nullptr;
    }

    template <std::size_t N>
    static float* array(Adam::State<N>& state, std::size_t k) noexcept {
        return k == 0 ? state.m : state.v;
    }
    template <std::size_t N>
    static const float* array(const Adam::State<N>& state, std::size_t k) noexcept {
        return k == 0 ? state.m : state.v;
    }
};

namespace detail {

/// CRC-32 remainders of the 16 possible 4-bit values, computed from the reflected polynomial: the
/// CRC is processed four bits at a time, which needs 64 bytes of table instead of 1 KiB.
struct Crc32Table {
    std::uint32_t entries[16] = {};

    constexpr Crc32Table() noexcept {
        for (std::uint32_t i = 0; i < 16; ++i) {
            std::uint32_t c = i;
            for (int bit = 0; bit < 4; ++bit) c = (c & 1u) != 0 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
            entries[i] = c;
        }
    }
};

inline constexpr Crc32Table crc32_table{};

/// Payload bytes of a record for a model with `parameter_count` parameters and `arrays` optimizer
/// state arrays. The optimizer state adds a uint32 step count before its arrays.
constexpr std::uint64_t payload_bytes(std::size_t parameter_count, bool with_state, std::size_t arrays) noexcept {
    const std::uint64_t floats = static_cast<std::uint64_t>(parameter_count) * (1u + (with_state ? arrays : 0u));
    return floats * 4u + (with_state ? 4u : 0u);
}

/// Number of optimizer state arrays for a stored optimizer id, or -1 for an unknown id.
constexpr int stored_arrays(std::uint16_t id) noexcept {
    switch (static_cast<storage::OptimizerId>(id)) {
        case storage::OptimizerId::none: return 0;
        case storage::OptimizerId::sgd: return static_cast<int>(OptimizerStorage<Sgd>::arrays);
        case storage::OptimizerId::adam: return static_cast<int>(OptimizerStorage<Adam>::arrays);
    }
    return -1;
}

inline void write_u16(unsigned char* p, std::uint16_t v) noexcept {
    p[0] = static_cast<unsigned char>(v & 0xffu);
    p[1] = static_cast<unsigned char>(v >> 8);
}

inline void write_u32(unsigned char* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>((v >> (8 * i)) & 0xffu);
}

inline std::uint16_t read_u16(const unsigned char* p) noexcept {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

inline std::uint32_t read_u32(const unsigned char* p) noexcept {
    return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
}

/// Stores a float as the little-endian bytes of its IEEE-754 bits, whatever the host's byte order.
inline void write_f32(unsigned char* p, float v) noexcept {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    write_u32(p, bits);
}

inline float read_f32(const unsigned char* p) noexcept {
    const std::uint32_t bits = read_u32(p);
    float v = 0.0f;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

/// Calls `visit(i)` with the index into the padded parameter array of each stored parameter, in
/// record order: for each Dense layer its weights [in][out] row-major, then its bias [out].
template <class Model, std::size_t I = 0, class Visit>
void for_each_stored_parameter(Visit& visit) noexcept {
    if constexpr (I < Model::layer_count) {
        using L = typename Model::template Layer<I>;
        constexpr std::size_t base = Model::template parameter_offset<I>();
        if constexpr (L::kind == LayerKind::dense) {
            for (std::size_t k = 0; k < L::input_size; ++k) {
                for (std::size_t j = 0; j < L::output_size; ++j) visit(base + k * L::output_stride + j);
            }
            for (std::size_t j = 0; j < L::output_size; ++j) visit(base + L::bias_offset + j);
        } else {
            static_assert(L::parameter_count == 0,
                          "This layer has parameters but no storage layout: extend for_each_stored_parameter.");
        }
        for_each_stored_parameter<Model, I + 1>(visit);
    }
}

/// Returns the first non-finite value among the stored parameters of `values` (a padded array of
/// the model's layout), as a non_finite_parameter status whose index counts from `first_index`.
template <class Model>
Status check_finite(const float* values, std::size_t first_index) noexcept {
    Status s;
    std::size_t position = first_index;
    auto visit = [&](std::size_t i) {
        if (s.ok() && !std::isfinite(values[i])) {
            s = Status(StatusCode::non_finite_parameter);
            s.index = position;
            s.value = values[i];
        }
        ++position;
    };
    for_each_stored_parameter<Model>(visit);
    return s;
}

/// Returns the first non-finite float of a record payload section, as a non_finite_parameter status.
inline Status check_finite_bytes(const unsigned char* bytes, std::size_t floats, std::size_t first_index) noexcept {
    for (std::size_t i = 0; i < floats; ++i) {
        const float v = read_f32(bytes + 4 * i);
        if (!std::isfinite(v)) {
            Status s(StatusCode::non_finite_parameter);
            s.index = first_index + i;
            s.value = v;
            return s;
        }
    }
    return Status{};
}

/// Writes the stored parameters of a padded array at `out` and returns the end of what it wrote.
template <class Model>
unsigned char* write_array(const float* values, unsigned char* out) noexcept {
    auto visit = [&](std::size_t i) {
        write_f32(out, values[i]);
        out += 4;
    };
    for_each_stored_parameter<Model>(visit);
    return out;
}

/// Reads stored parameters into a padded array whose padding lanes are set to 0, and returns the
/// end of what it read.
template <class Model>
const unsigned char* read_array(const unsigned char* in, float* values) noexcept {
    for (std::size_t i = 0; i < Model::parameter_capacity; ++i) values[i] = 0.0f;
    auto visit = [&](std::size_t i) {
        values[i] = read_f32(in);
        in += 4;
    };
    for_each_stored_parameter<Model>(visit);
    return in;
}

inline Status missing_buffer() noexcept {
    Status s(StatusCode::missing_data);
    s.option = "buffer";
    return s;
}

/// Returns the first negative value of the `floats` stored values at `bytes`, which must be at
/// least 0, as an invalid_optimizer_state status naming `array`.
inline Status check_non_negative_bytes(const unsigned char* bytes, std::size_t floats, std::size_t first_index,
                                       const char* array) noexcept {
    for (std::size_t i = 0; i < floats; ++i) {
        const float v = read_f32(bytes + 4 * i);
        if (v < 0.0f) {
            Status s(StatusCode::invalid_optimizer_state);
            s.index = first_index + i;
            s.value = v;
            s.option = array;
            return s;
        }
    }
    return Status{};
}

inline Status storage_too_small(std::size_t size, std::uint64_t needed) noexcept {
    Status s(StatusCode::storage_too_small);
    s.value = size;
    s.limit = needed;
    return s;
}

/// Writes a whole record: the header, the parameters, the optimizer state when `state` is not
/// null, and the CRC. The caller has checked the buffer size and the values.
template <class Model, class Optimizer, class State>
void write_record(const Model& model, const State* state, unsigned char* out) noexcept {
    using Stored = OptimizerStorage<Optimizer>;
    const bool with_state = state != nullptr;
    const auto payload = static_cast<std::uint32_t>(payload_bytes(Model::parameter_count, with_state, Stored::arrays));

    for (std::size_t i = 0; i < 4; ++i) out[storage::offset::magic + i] = storage::magic[i];
    write_u16(out + storage::offset::byte_order_mark, storage::byte_order_mark);
    write_u16(out + storage::offset::version, storage::format_version);
    write_u32(out + storage::offset::shape_signature, Model::shape_signature);
    write_u16(out + storage::offset::flags, with_state ? storage::flag_optimizer_state : std::uint16_t{0});
    write_u16(out + storage::offset::optimizer_id, static_cast<std::uint16_t>(with_state ? Stored::id : storage::OptimizerId::none));
    write_u32(out + storage::offset::payload_bytes, payload);

    unsigned char* p = write_array<Model>(model.parameters(), out + storage::offset::payload);
    if constexpr (Stored::arrays > 0) {
        if (with_state) {
            write_u32(p, state->steps);
            p += 4;
            for (std::size_t k = 0; k < Stored::arrays; ++k) p = write_array<Model>(Stored::array(*state, k), p);
        }
    }
    write_u32(p, crc32(out, storage::header_bytes + payload));
}

}  // namespace detail

inline std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t previous) noexcept {
    const auto* bytes = static_cast<const unsigned char*>(data);
    std::uint32_t crc = ~previous;
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= bytes[i];
        crc = (crc >> 4) ^ detail::crc32_table.entries[crc & 0xfu];
        crc = (crc >> 4) ^ detail::crc32_table.entries[crc & 0xfu];
    }
    return ~crc;
}

/// Bytes of a record for `Model`: with `Optimizer` = void the parameters only, otherwise the
/// parameters and that optimizer's state. Usable as an array size:
///   std::uint8_t buffer[microfit::storage_bytes<Model, microfit::Adam>()];
template <class Model, class Optimizer = void>
constexpr std::size_t storage_bytes() noexcept {
    constexpr std::uint64_t payload =
        detail::payload_bytes(Model::parameter_count, !std::is_void_v<Optimizer>, OptimizerStorage<Optimizer>::arrays);
    static_assert(payload <= 0xffffffffu, "A parameter record payload must fit in 4 GiB (its size is a uint32).");
    return storage::header_bytes + static_cast<std::size_t>(payload) + storage::checksum_bytes;
}

/// The header fields of a record that passed `inspect_record`.
struct RecordInfo {
    std::uint16_t version = 0;
    std::uint32_t shape_signature = 0;
    std::uint16_t flags = 0;
    std::uint16_t optimizer_id = 0;   ///< A storage::OptimizerId value.
    std::uint32_t payload_bytes = 0;
    std::size_t record_bytes = 0;     ///< Header, payload and CRC: where the record ends in the buffer.

    constexpr bool has_optimizer_state() const noexcept { return (flags & storage::flag_optimizer_state) != 0; }
};

/// Checks the parts of a record that need no model, in this order: the buffer is long enough for a
/// header (storage_too_small), the magic number (bad_magic), the byte order mark (byte_order_mismatch),
/// the version (unsupported_version), the buffer contains the whole record (storage_too_small), the
/// CRC-32 (checksum_mismatch), and the flags and optimizer id (unsupported_flags). Bytes after the
/// record are ignored. `info` is written only on success.
// Limitation: without a model, a corrupt payload size field that claims more bytes than the buffer
// has looks like a short buffer and returns storage_too_small. load_parameters and load_checkpoint
// compare the field with the model's sizes and return size_mismatch for it.
inline Status inspect_record(const void* buffer, std::size_t size, RecordInfo& info) noexcept {
    if (buffer == nullptr) return detail::missing_buffer();
    const auto* bytes = static_cast<const unsigned char*>(buffer);
    if (size < storage::header_bytes) return detail::storage_too_small(size, storage::header_bytes);

    for (std::size_t i = 0; i < 4; ++i) {
        if (bytes[storage::offset::magic + i] != storage::magic[i]) return Status(StatusCode::bad_magic);
    }
    const std::uint16_t mark = detail::read_u16(bytes + storage::offset::byte_order_mark);
    if (mark != storage::byte_order_mark) {
        Status s(StatusCode::byte_order_mismatch);
        s.value = mark;
        s.limit = storage::byte_order_mark;
        return s;
    }
    const std::uint16_t version = detail::read_u16(bytes + storage::offset::version);
    if (version != storage::format_version) {
        Status s(StatusCode::unsupported_version);
        s.value = version;
        s.limit = storage::format_version;
        return s;
    }

    const std::uint32_t payload = detail::read_u32(bytes + storage::offset::payload_bytes);
    const std::uint64_t record_bytes = std::uint64_t{storage::header_bytes} + payload + storage::checksum_bytes;
    if (record_bytes > size) return detail::storage_too_small(size, record_bytes);

    const std::size_t covered = storage::header_bytes + payload;
    if (crc32(bytes, covered) != detail::read_u32(bytes + covered)) return Status(StatusCode::checksum_mismatch);

    // The CRC matches, so the header is what a writer meant. Reject what version 1 does not define.
    const std::uint16_t flags = detail::read_u16(bytes + storage::offset::flags);
    const std::uint16_t optimizer_id = detail::read_u16(bytes + storage::offset::optimizer_id);
    const bool has_state = (flags & storage::flag_optimizer_state) != 0;
    const bool id_matches_flag = has_state ? optimizer_id != 0 : optimizer_id == 0;
    if ((flags & ~storage::flag_optimizer_state) != 0 || detail::stored_arrays(optimizer_id) < 0 || !id_matches_flag) {
        Status s(StatusCode::unsupported_flags);
        s.value = flags;
        s.limit = optimizer_id;
        s.index = storage::format_version;
        return s;
    }

    info.version = version;
    info.shape_signature = detail::read_u32(bytes + storage::offset::shape_signature);
    info.flags = flags;
    info.optimizer_id = optimizer_id;
    info.payload_bytes = payload;
    info.record_bytes = static_cast<std::size_t>(record_bytes);
    return Status{};
}

namespace detail {

/// Returns size_mismatch when a record of the model's shape, with defined flags and optimizer id,
/// has a payload size field that no record of that model can have. This distinguishes a corrupt
/// size field from a short buffer when the field claims more bytes than the buffer has, so that
/// the CRC cannot be read. Returns ok otherwise.
template <class Model>
Status check_claimed_payload(const unsigned char* bytes) noexcept {
    const std::uint16_t flags = read_u16(bytes + storage::offset::flags);
    const std::uint16_t optimizer_id = read_u16(bytes + storage::offset::optimizer_id);
    const int arrays = stored_arrays(optimizer_id);
    const bool has_state = flags == storage::flag_optimizer_state;
    const bool defined = arrays >= 0 && (flags == 0 || has_state) && has_state == (optimizer_id != 0);
    if (!defined || read_u32(bytes + storage::offset::shape_signature) != Model::shape_signature) return Status{};

    const std::uint32_t payload = read_u32(bytes + storage::offset::payload_bytes);
    const std::uint64_t expected = payload_bytes(Model::parameter_count, has_state, static_cast<std::size_t>(arrays));
    if (payload == expected) return Status{};
    Status s(StatusCode::size_mismatch);
    s.value = payload;
    s.limit = expected;
    return s;
}

/// Runs `inspect_record`, then the checks against a model: its shape signature (shape_mismatch),
/// the payload size (size_mismatch) and finite parameters (non_finite_parameter). A payload size
/// that runs past the buffer is size_mismatch rather than storage_too_small when the header is
/// otherwise that of a record of this model and the size is not the one such a record has.
template <class Model>
Status check_record_for_model(const unsigned char* bytes, std::size_t size, RecordInfo& info) noexcept {
    Status s = inspect_record(bytes, size, info);
    if (s.code == StatusCode::storage_too_small && size >= storage::header_bytes) {
        const Status corrupt = check_claimed_payload<Model>(bytes);
        if (!corrupt.ok()) return corrupt;
    }
    if (!s.ok()) return s;
    if (info.shape_signature != Model::shape_signature) {
        s = Status(StatusCode::shape_mismatch);
        s.value = info.shape_signature;
        s.limit = Model::shape_signature;
        return s;
    }
    const auto arrays = static_cast<std::size_t>(stored_arrays(info.optimizer_id));
    const std::uint64_t expected = payload_bytes(Model::parameter_count, info.has_optimizer_state(), arrays);
    if (info.payload_bytes != expected) {
        s = Status(StatusCode::size_mismatch);
        s.value = info.payload_bytes;
        s.limit = expected;
        return s;
    }
    return check_finite_bytes(bytes + storage::offset::payload, Model::parameter_count, 0);
}

}  // namespace detail

/// Saves the parameters of `model` into `buffer[0..storage_bytes<Model>())`. Returns missing_data
/// for a null buffer, storage_too_small when `size` is shorter than the record, and
/// non_finite_parameter when a parameter is NaN or infinite, because such a record could not be
/// loaded. The buffer is unchanged on error.
template <class Model>
Status save_parameters(const Model& model, void* buffer, std::size_t size) noexcept {
    constexpr std::size_t needed = storage_bytes<Model>();
    if (buffer == nullptr) return detail::missing_buffer();
    if (size < needed) return detail::storage_too_small(size, needed);
    const Status s = detail::check_finite<Model>(model.parameters(), 0);
    if (!s.ok()) return s;
    detail::write_record<Model, void, int>(model, nullptr, static_cast<unsigned char*>(buffer));
    return Status{};
}

/// Loads parameters saved by `save_parameters` or `save_checkpoint` (whose optimizer state it
/// skips) into `model`. Checks, in order, what `inspect_record` checks, then the shape signature
/// (shape_mismatch), the payload size (size_mismatch) and that every value is finite
/// (non_finite_parameter). On error `model` is bit-for-bit unchanged.
template <class Model>
Status load_parameters(Model& model, const void* buffer, std::size_t size) noexcept {
    const auto* bytes = static_cast<const unsigned char*>(buffer);
    RecordInfo info;
    const Status s = detail::check_record_for_model<Model>(bytes, size, info);
    if (!s.ok()) return s;
    detail::read_array<Model>(bytes + storage::offset::payload, model.parameters());
    return Status{};
}

/// Saves the parameters of the trainer's model and the state of its optimizer (step count and
/// per-parameter arrays), so that training can resume, into
/// `buffer[0..storage_bytes<Model, Optimizer>())`. Returns the errors of `save_parameters`, and
/// leaves the buffer unchanged on error.
template <class Model, class Loss, class Optimizer, std::size_t MaxBatch>
Status save_checkpoint(const Trainer<Model, Loss, Optimizer, MaxBatch>& trainer, void* buffer, std::size_t size) noexcept {
    using Stored = OptimizerStorage<Optimizer>;
    constexpr std::size_t needed = storage_bytes<Model, Optimizer>();
    if (buffer == nullptr) return detail::missing_buffer();
    if (size < needed) return detail::storage_too_small(size, needed);

    const auto& state = trainer.optimizer_state();
    Status s = detail::check_finite<Model>(trainer.model().parameters(), 0);
    for (std::size_t k = 0; s.ok() && k < Stored::arrays; ++k) {
        s = detail::check_finite<Model>(Stored::array(state, k), (k + 1) * Model::parameter_count);
    }
    if (!s.ok()) return s;
    detail::write_record<Model, Optimizer>(trainer.model(), &state, static_cast<unsigned char*>(buffer));
    return Status{};
}

/// Loads parameters and optimizer state saved by `save_checkpoint` into the trainer's model and
/// optimizer state. Checks what `load_parameters` checks, then that the record has optimizer state
/// (missing_optimizer_state) of the trainer's optimizer (optimizer_mismatch), with finite values
/// (non_finite_parameter) that the optimizer can have (invalid_optimizer_state: Adam's second
/// moment v below 0). On error the model and the optimizer state are bit-for-bit unchanged.
template <class Model, class Loss, class Optimizer, std::size_t MaxBatch>
Status load_checkpoint(Trainer<Model, Loss, Optimizer, MaxBatch>& trainer, const void* buffer, std::size_t size) noexcept {
    using Stored = OptimizerStorage<Optimizer>;
    const auto* bytes = static_cast<const unsigned char*>(buffer);
    RecordInfo info;
    Status s = detail::check_record_for_model<Model>(bytes, size, info);
    if (!s.ok()) return s;
    if (!info.has_optimizer_state()) return Status(StatusCode::missing_optimizer_state);
    if (info.optimizer_id != static_cast<std::uint16_t>(Stored::id)) {
        s = Status(StatusCode::optimizer_mismatch);
        s.value = info.optimizer_id;
        s.limit = static_cast<unsigned>(Stored::id);
        return s;
    }
    const unsigned char* arrays = bytes + storage::offset::payload + 4 * Model::parameter_count + 4;
    s = detail::check_finite_bytes(arrays, Stored::arrays * Model::parameter_count, Model::parameter_count);
    if (!s.ok()) return s;
    for (std::size_t k = 0; k < Stored::arrays; ++k) {
        const char* name = Stored::non_negative_array(k);
        if (name == nullptr) continue;
        s = detail::check_non_negative_bytes(arrays + 4 * k * Model::parameter_count, Model::parameter_count,
                                             (k + 1) * Model::parameter_count, name);
        if (!s.ok()) return s;
    }

    const unsigned char* p = detail::read_array<Model>(bytes + storage::offset::payload, trainer.model().parameters());
    auto& state = trainer.optimizer_state();
    state.steps = detail::read_u32(p);
    p += 4;
    for (std::size_t k = 0; k < Stored::arrays; ++k) p = detail::read_array<Model>(p, Stored::array(state, k));
    return Status{};
}

}  // namespace microfit
