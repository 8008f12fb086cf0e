// Tests of parameter storage: the record layout byte by byte, round trips, and the rejection of
// truncated, corrupted and mismatched records with the model and optimizer state left unchanged.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "microfit/microfit.hpp"
#include "microfit/storage.hpp"

namespace {

using namespace microfit;

// Odd layer sizes, so that every SIMD width pads the rows of both Dense layers.
using Model = Sequential<Dense<3, 7>, Relu, Dense<7, 1>>;
using OtherModel = Sequential<Dense<3, 8>, Relu, Dense<8, 1>>;
using AdamTrainer = Trainer<Model, BinaryCrossentropy, Adam, 8>;
using SgdTrainer = Trainer<Model, BinaryCrossentropy, Sgd, 8>;

constexpr std::size_t parameter_count = 3 * 7 + 7 + 7 * 1 + 1;

std::string message(const Status& s) {
    char buffer[256];
    s.format(buffer, sizeof buffer);
    return buffer;
}

bool same_bytes(const void* a, const void* b, std::size_t n) { return std::memcmp(a, b, n) == 0; }

// A CRC-32 computed bit by bit from the definition, to check the library's table-driven one.
std::uint32_t bitwise_crc32(const std::uint8_t* data, std::size_t n) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < n; ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit) crc = (crc & 1u) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>((v >> (8 * i)) & 0xff));
}

void put_f32(std::vector<std::uint8_t>& out, float v) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &v, 4);
    put_u32(out, bits);
}

std::uint32_t get_u32(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
}

// Appends a padded array of the model's layout in the documented order: Dense 0 weights [3][7]
// row-major, its bias [7], Dense 2 weights [7][1], its bias [1].
void put_unpadded(std::vector<std::uint8_t>& out, const float* padded) {
    using D0 = Model::Layer<0>;
    using D2 = Model::Layer<2>;
    const float* first = padded + Model::parameter_offset<0>();
    const float* second = padded + Model::parameter_offset<2>();
    for (std::size_t k = 0; k < 3; ++k) {
        for (std::size_t j = 0; j < 7; ++j) put_f32(out, first[k * D0::output_stride + j]);
    }
    for (std::size_t j = 0; j < 7; ++j) put_f32(out, first[D0::bias_offset + j]);
    for (std::size_t k = 0; k < 7; ++k) put_f32(out, second[k * D2::output_stride]);
    put_f32(out, second[D2::bias_offset]);
}

// Builds the record the format document describes, independently of storage.hpp's writer.
std::vector<std::uint8_t> documented_record(const Model& model, const Adam::State<Model::parameter_capacity>* state) {
    std::vector<std::uint8_t> out = {'M', 'F', 'I', 'T', 0xFF, 0xFE};
    put_u16(out, 1);
    put_u32(out, Model::shape_signature);
    put_u16(out, state != nullptr ? 1 : 0);
    put_u16(out, state != nullptr ? 2 : 0);
    put_u32(out, static_cast<std::uint32_t>(state != nullptr ? 4 * parameter_count * 3 + 4 : 4 * parameter_count));
    put_unpadded(out, model.parameters());
    if (state != nullptr) {
        put_u32(out, state->steps);
        put_unpadded(out, state->m);
        put_unpadded(out, state->v);
    }
    put_u32(out, bitwise_crc32(out.data(), out.size()));
    return out;
}

// A few steps of training so that the parameters and the optimizer state are not at their
// initial values.
template <class TrainerType>
void train_a_little(TrainerType& trainer) {
    static const float features[] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f, -2.0f, 1.0f, 0.0f, 0.3f, 0.6f, -0.9f};
    static const std::int32_t labels[] = {1, 0, 1, 0};
    FitOptions options;
    options.epochs = 3;
    options.batch_size = 2;
    CHECK(trainer.fit(classification_data(features, labels, 4, 3), options).ok());
}

// Rewrites the CRC of a record after its header or payload was edited.
void reseal(std::vector<std::uint8_t>& record) {
    const std::size_t covered = record.size() - 4;
    const std::uint32_t crc = crc32(record.data(), covered);
    for (int i = 0; i < 4; ++i) record[covered + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((crc >> (8 * i)) & 0xff);
}

struct Snapshot {
    std::vector<std::uint8_t> parameters;
    std::vector<std::uint8_t> state;
};

void append_bytes(std::vector<std::uint8_t>& out, const void* data, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    out.insert(out.end(), p, p + n);
}

// Copies the parameters, and the optimizer state field by field (the struct's padding bytes are
// indeterminate, so a whole-struct memcmp of two trainers could differ where nothing differs).
template <class TrainerType>
Snapshot snapshot(TrainerType& trainer) {
    using Stored = OptimizerStorage<std::decay_t<decltype(trainer.optimizer())>>;
    Snapshot s;
    append_bytes(s.parameters, trainer.model().parameters(), Model::parameter_bytes);
    const auto& state = trainer.optimizer_state();
    append_bytes(s.state, &state.steps, sizeof state.steps);
    for (std::size_t k = 0; k < Stored::arrays; ++k) append_bytes(s.state, Stored::array(state, k), Model::parameter_bytes);
    return s;
}

template <class TrainerType>
bool same_state(TrainerType& a, TrainerType& b) {
    return snapshot(a).state == snapshot(b).state;
}

// A copy of the first `length` bytes in a buffer of exactly that size, so that a read past the
// end is caught by AddressSanitizer.
std::unique_ptr<std::uint8_t[]> prefix(const std::vector<std::uint8_t>& record, std::size_t length) {
    std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[length]);
    std::memcpy(copy.get(), record.data(), length);
    return copy;
}

template <class TrainerType>
bool unchanged(TrainerType& trainer, const Snapshot& before) {
    const Snapshot now = snapshot(trainer);
    return now.parameters == before.parameters && now.state == before.state;
}

}  // namespace

TEST_CASE("crc32 matches the IEEE 802.3 check value") {
    CHECK(crc32("123456789", 9) == 0xCBF43926u);
    CHECK(crc32("", 0) == 0u);
}

TEST_CASE("crc32 agrees with a bitwise CRC and continues across calls") {
    std::vector<std::uint8_t> data(1000);
    Random random(7);
    for (auto& b : data) b = static_cast<std::uint8_t>(random.next_u32());
    for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{31}, std::size_t{1000}}) {
        CHECK(crc32(data.data(), n) == bitwise_crc32(data.data(), n));
    }
    const std::uint32_t first_part = crc32(data.data(), 377);
    CHECK(crc32(data.data() + 377, 623, first_part) == bitwise_crc32(data.data(), 1000));
}

TEST_CASE("storage_bytes counts header, unpadded payload and CRC") {
    static_assert(Model::parameter_count == parameter_count);
    CHECK(storage_bytes<Model>() == 20 + 4 * parameter_count + 4);
    CHECK(storage_bytes<Model, Sgd>() == 20 + 4 * parameter_count * 2 + 4 + 4);
    CHECK(storage_bytes<Model, Adam>() == 20 + 4 * parameter_count * 3 + 4 + 4);
    // Usable as an array size.
    std::uint8_t buffer[storage_bytes<Model>()] = {};
    CHECK(sizeof buffer == 168);
}

TEST_CASE("saved parameters match the documented layout byte for byte") {
    Model model(3);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(model, record.data(), record.size()).ok());
    CHECK(record == documented_record(model, nullptr));
}

TEST_CASE("saved checkpoint matches the documented layout byte for byte") {
    Model model(3);
    AdamTrainer trainer(model);
    train_a_little(trainer);
    CHECK(trainer.optimizer_state().steps == 6);
    std::vector<std::uint8_t> record(storage_bytes<Model, Adam>());
    CHECK(save_checkpoint(trainer, record.data(), record.size()).ok());
    CHECK(record == documented_record(model, &trainer.optimizer_state()));
}

TEST_CASE("record does not depend on the SIMD width") {
    // Parameters set by position give the same record whatever the padding. The shape signature and
    // the CRC were computed with Python's struct and zlib from the layout in docs/storage-format.md.
    // A build with another SIMD width, such as the scalar variant of this test, must write the same bytes.
    Model model;
    for (std::size_t k = 0; k < 3; ++k) {
        for (std::size_t j = 0; j < 7; ++j) model.weight<0>(k, j) = static_cast<float>(k * 7 + j) * 0.25f;
    }
    for (std::size_t j = 0; j < 7; ++j) model.bias<0>(j) = -static_cast<float>(j);
    for (std::size_t k = 0; k < 7; ++k) model.weight<2>(k, 0) = 1.0f / static_cast<float>(k + 1);
    model.bias<2>(0) = 0.5f;

    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(model, record.data(), record.size()).ok());
    CHECK(record == documented_record(model, nullptr));
    CHECK(get_u32(record.data() + 8) == 0x4300FAC5u);  // the shape signature of 3 -> 7 -> Relu -> 1
    CHECK(get_u32(record.data() + 20) == 0x00000000u);  // weight [0][0] = 0.0f
    CHECK(get_u32(record.data() + 24) == 0x3E800000u);  // weight [0][1] = 0.25f
    CHECK(get_u32(record.data() + 20 + 4 * 21) == 0x80000000u);  // bias [0] = -0.0f
    CHECK(get_u32(record.data() + 20 + 4 * 22) == 0xBF800000u);  // bias [1] = -1.0f
    CHECK(get_u32(record.data() + 20 + 4 * 35) == 0x3F000000u);  // last bias = 0.5f
    CHECK(get_u32(record.data() + 164) == 0x1D70FE38u);
}

TEST_CASE("parameters round trip bit for bit") {
    Model saved(11);
    Model loaded(12);
    CHECK(!same_bytes(saved.parameters(), loaded.parameters(), Model::parameter_bytes));
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    const Status s = load_parameters(loaded, record.data(), record.size());
    CHECK(message(s) == "ok");
    CHECK(same_bytes(saved.parameters(), loaded.parameters(), Model::parameter_bytes));
}

TEST_CASE("special float values round trip bit for bit") {
    Model saved(11);
    saved.weight<0>(0, 0) = -0.0f;
    saved.weight<0>(1, 2) = std::numeric_limits<float>::denorm_min();
    saved.weight<0>(2, 6) = std::numeric_limits<float>::max();
    saved.bias<2>(0) = -std::numeric_limits<float>::min();
    Model loaded(12);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    CHECK(load_parameters(loaded, record.data(), record.size()).ok());
    CHECK(same_bytes(saved.parameters(), loaded.parameters(), Model::parameter_bytes));
}

TEST_CASE("Adam checkpoint round trip resumes training identically") {
    Model original(5);
    AdamTrainer trainer(original);
    train_a_little(trainer);
    std::vector<std::uint8_t> record(storage_bytes<Model, Adam>());
    CHECK(save_checkpoint(trainer, record.data(), record.size()).ok());

    Model restored(6);
    AdamTrainer resumed(restored);
    const Status s = load_checkpoint(resumed, record.data(), record.size());
    CHECK(message(s) == "ok");
    CHECK(same_bytes(original.parameters(), restored.parameters(), Model::parameter_bytes));
    CHECK(same_state(trainer, resumed));

    train_a_little(trainer);
    train_a_little(resumed);
    CHECK(same_bytes(original.parameters(), restored.parameters(), Model::parameter_bytes));
}

TEST_CASE("SGD checkpoint round trip restores the velocity") {
    Model original(5);
    Sgd sgd;
    sgd.learning_rate = 0.1f;
    sgd.momentum = 0.9f;
    SgdTrainer trainer(original, BinaryCrossentropy{}, sgd);
    train_a_little(trainer);
    std::vector<std::uint8_t> record(storage_bytes<Model, Sgd>());
    CHECK(save_checkpoint(trainer, record.data(), record.size()).ok());
    CHECK(record[12] == 1);  // flags: optimizer state present
    CHECK(record[14] == 1);  // optimizer id: SGD

    Model restored(6);
    SgdTrainer resumed(restored, BinaryCrossentropy{}, sgd);
    CHECK(load_checkpoint(resumed, record.data(), record.size()).ok());
    CHECK(same_bytes(original.parameters(), restored.parameters(), Model::parameter_bytes));
    CHECK(same_state(trainer, resumed));
}

TEST_CASE("load_parameters reads the parameters of a checkpoint") {
    Model original(5);
    AdamTrainer trainer(original);
    train_a_little(trainer);
    std::vector<std::uint8_t> record(storage_bytes<Model, Adam>());
    CHECK(save_checkpoint(trainer, record.data(), record.size()).ok());
    Model inference(9);
    CHECK(load_parameters(inference, record.data(), record.size()).ok());
    CHECK(same_bytes(original.parameters(), inference.parameters(), Model::parameter_bytes));
}

TEST_CASE("bytes after the record are ignored") {
    Model saved(11);
    Model loaded(12);
    std::vector<std::uint8_t> buffer(storage_bytes<Model>() + 50, 0xFF);
    CHECK(save_parameters(saved, buffer.data(), buffer.size()).ok());
    CHECK(buffer[storage_bytes<Model>()] == 0xFF);  // the writer stops at the end of the record
    CHECK(load_parameters(loaded, buffer.data(), buffer.size()).ok());
    CHECK(same_bytes(saved.parameters(), loaded.parameters(), Model::parameter_bytes));
}

TEST_CASE("inspect_record reports the header fields") {
    Model model(3);
    AdamTrainer trainer(model);
    train_a_little(trainer);
    std::vector<std::uint8_t> record(storage_bytes<Model, Adam>() + 8);
    CHECK(save_checkpoint(trainer, record.data(), record.size()).ok());
    RecordInfo info;
    CHECK(inspect_record(record.data(), record.size(), info).ok());
    CHECK(info.version == 1);
    CHECK(info.shape_signature == Model::shape_signature);
    CHECK(info.has_optimizer_state());
    CHECK(info.optimizer_id == 2);
    CHECK(info.payload_bytes == 4 * parameter_count * 3 + 4);
    CHECK(info.record_bytes == storage_bytes<Model, Adam>());
}

TEST_CASE("every truncation of a parameter record is rejected") {
    Model saved(11);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    Model loaded(12);
    const std::vector<std::uint8_t> before(reinterpret_cast<const std::uint8_t*>(loaded.parameters()),
                                           reinterpret_cast<const std::uint8_t*>(loaded.parameters()) + Model::parameter_bytes);
    for (std::size_t length = 0; length < record.size(); ++length) {
        CAPTURE(length);
        const auto truncated = prefix(record, length);
        const Status s = load_parameters(loaded, truncated.get(), length);
        CHECK(s.code == StatusCode::storage_too_small);
        CHECK(same_bytes(loaded.parameters(), before.data(), Model::parameter_bytes));
    }
    CHECK(message(load_parameters(loaded, record.data(), 7)) == "buffer has 7 bytes but the record needs 20");
    CHECK(message(load_parameters(loaded, record.data(), 167)) == "buffer has 167 bytes but the record needs 168");
}

TEST_CASE("every truncation of a checkpoint is rejected") {
    Model saved(11);
    AdamTrainer trainer(saved);
    train_a_little(trainer);
    std::vector<std::uint8_t> record(storage_bytes<Model, Adam>());
    CHECK(save_checkpoint(trainer, record.data(), record.size()).ok());

    Model loaded(12);
    AdamTrainer target(loaded);
    train_a_little(target);
    const Snapshot before = snapshot(target);
    for (std::size_t length = 0; length < record.size(); ++length) {
        CAPTURE(length);
        const auto truncated = prefix(record, length);
        const Status s = load_checkpoint(target, truncated.get(), length);
        CHECK(s.code == StatusCode::storage_too_small);
        CHECK(unchanged(target, before));
    }
}

TEST_CASE("saving into a short buffer is rejected and leaves it unchanged") {
    Model model(11);
    AdamTrainer trainer(model);
    std::vector<std::uint8_t> buffer(storage_bytes<Model, Adam>(), 0xA5);
    for (std::size_t size = 0; size < storage_bytes<Model>(); ++size) {
        CAPTURE(size);
        CHECK(save_parameters(model, buffer.data(), size).code == StatusCode::storage_too_small);
    }
    for (std::size_t size = 0; size < storage_bytes<Model, Adam>(); ++size) {
        CAPTURE(size);
        CHECK(save_checkpoint(trainer, buffer.data(), size).code == StatusCode::storage_too_small);
    }
    CHECK(message(save_checkpoint(trainer, buffer.data(), 100)) == "buffer has 100 bytes but the record needs 460");
    CHECK(std::vector<std::uint8_t>(buffer.size(), 0xA5) == buffer);
}

TEST_CASE("every single-bit flip of a parameter record is rejected") {
    Model saved(11);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    Model loaded(12);
    const Model before = loaded;
    for (std::size_t byte = 0; byte < record.size(); ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            CAPTURE(byte);
            CAPTURE(bit);
            std::vector<std::uint8_t> flipped = record;
            flipped[byte] = static_cast<std::uint8_t>(flipped[byte] ^ (1u << bit));
            const Status s = load_parameters(loaded, flipped.data(), flipped.size());
            CHECK(!s.ok());
            if (byte < 4) {
                CHECK(s.code == StatusCode::bad_magic);
            } else if (byte < 6) {
                CHECK(s.code == StatusCode::byte_order_mismatch);
            } else if (byte < 8) {
                CHECK(s.code == StatusCode::unsupported_version);
            } else if (byte >= 16 && byte < 20) {
                // A larger payload size runs past the buffer and is not the model's, and a smaller
                // one moves the CRC.
                const bool larger = (flipped[byte] & (1u << bit)) != 0;
                CHECK(s.code == (larger ? StatusCode::size_mismatch : StatusCode::checksum_mismatch));
            } else {
                CHECK(s.code == StatusCode::checksum_mismatch);
            }
            CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));
        }
    }
}

TEST_CASE("every single-bit flip of a checkpoint is rejected") {
    Model saved(11);
    AdamTrainer trainer(saved);
    train_a_little(trainer);
    std::vector<std::uint8_t> record(storage_bytes<Model, Adam>());
    CHECK(save_checkpoint(trainer, record.data(), record.size()).ok());

    Model loaded(12);
    AdamTrainer target(loaded);
    train_a_little(target);
    const Snapshot before = snapshot(target);
    std::size_t rejected = 0;
    for (std::size_t byte = 0; byte < record.size(); ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            std::vector<std::uint8_t> flipped = record;
            flipped[byte] = static_cast<std::uint8_t>(flipped[byte] ^ (1u << bit));
            if (!load_checkpoint(target, flipped.data(), flipped.size()).ok()) ++rejected;
        }
    }
    CHECK(rejected == record.size() * 8);
    CHECK(unchanged(target, before));
}

TEST_CASE("checkpoint with a single flipped bit is also rejected by load_parameters") {
    Model saved(11);
    AdamTrainer trainer(saved);
    train_a_little(trainer);
    std::vector<std::uint8_t> record(storage_bytes<Model, Adam>());
    CHECK(save_checkpoint(trainer, record.data(), record.size()).ok());
    Model loaded(12);
    const Model before = loaded;
    std::size_t rejected = 0;
    for (std::size_t byte = 0; byte < record.size(); ++byte) {
        for (int bit = 0; bit < 8; ++bit) {
            std::vector<std::uint8_t> flipped = record;
            flipped[byte] = static_cast<std::uint8_t>(flipped[byte] ^ (1u << bit));
            if (!load_parameters(loaded, flipped.data(), flipped.size()).ok()) ++rejected;
        }
    }
    CHECK(rejected == record.size() * 8);
    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));
}

TEST_CASE("record of another shape is rejected") {
    OtherModel other(1);
    std::vector<std::uint8_t> record(storage_bytes<OtherModel>());
    CHECK(save_parameters(other, record.data(), record.size()).ok());
    Model loaded(12);
    const Model before = loaded;
    const Status s = load_parameters(loaded, record.data(), record.size());
    CHECK(s.code == StatusCode::shape_mismatch);
    char expected[128];
    std::snprintf(expected, sizeof expected, "parameter record has shape signature 0x%08X but the model has 0x%08X",
                  static_cast<unsigned>(OtherModel::shape_signature), static_cast<unsigned>(Model::shape_signature));
    CHECK(message(s) == expected);
    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));
}

TEST_CASE("wrong shape signature with a valid CRC is rejected") {
    Model saved(11);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    record[8] = static_cast<std::uint8_t>(record[8] ^ 0x01);
    reseal(record);
    Model loaded(12);
    const Model before = loaded;
    const Status s = load_parameters(loaded, record.data(), record.size());
    CHECK(s.code == StatusCode::shape_mismatch);
    CHECK(message(s) == "parameter record has shape signature 0x4300FAC4 but the model has 0x4300FAC5");
    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));
}

TEST_CASE("unsupported version is rejected") {
    Model saved(11);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    record[6] = 2;
    reseal(record);
    Model loaded(12);
    const Model before = loaded;
    const Status s = load_parameters(loaded, record.data(), record.size());
    CHECK(s.code == StatusCode::unsupported_version);
    CHECK(message(s) == "parameter record has format version 2 but this build reads version 1");
    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));
}

TEST_CASE("big-endian byte order mark is rejected") {
    Model saved(11);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    record[4] = 0xFE;
    record[5] = 0xFF;
    Model loaded(12);
    const Model before = loaded;
    const Status s = load_parameters(loaded, record.data(), record.size());
    CHECK(s.code == StatusCode::byte_order_mismatch);
    CHECK(message(s) == "parameter record has byte order mark 0xFFFE but records are little-endian with mark 0xFEFF");
    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));
}

TEST_CASE("erased flash is not a record") {
    std::vector<std::uint8_t> erased(storage_bytes<Model>(), 0xFF);
    Model loaded(12);
    const Model before = loaded;
    const Status s = load_parameters(loaded, erased.data(), erased.size());
    CHECK(s.code == StatusCode::bad_magic);
    CHECK(message(s) == "buffer does not start with a microfit parameter record");
    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));
}

TEST_CASE("corrupt payload is rejected by the CRC") {
    Model saved(11);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    record[100] = static_cast<std::uint8_t>(record[100] + 1);
    Model loaded(12);
    const Model before = loaded;
    const Status s = load_parameters(loaded, record.data(), record.size());
    CHECK(s.code == StatusCode::checksum_mismatch);
    CHECK(message(s) == "parameter record CRC-32 does not match its contents (corrupt or partly written)");
    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));
}

TEST_CASE("payload size that disagrees with the model is rejected") {
    Model saved(11);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    // Drop the last float of the payload and describe the shorter payload consistently.
    record.erase(record.end() - 8, record.end() - 4);
    record[16] = static_cast<std::uint8_t>(record[16] - 4);
    reseal(record);
    Model loaded(12);
    const Model before = loaded;
    const Status s = load_parameters(loaded, record.data(), record.size());
    CHECK(s.code == StatusCode::size_mismatch);
    CHECK(message(s) == "parameter record payload is 140 bytes but 144 were expected");
    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));
}

TEST_CASE("corrupt payload size field is not a short buffer") {
    Model saved(11);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    Model loaded(12);
    const Model before = loaded;

    // Bit 20 of the payload size: 144 becomes 1048720, far past the 168-byte buffer.
    std::vector<std::uint8_t> corrupt = record;
    corrupt[18] = static_cast<std::uint8_t>(corrupt[18] ^ 0x10);
    Status s = load_parameters(loaded, corrupt.data(), corrupt.size());
    CHECK(s.code == StatusCode::size_mismatch);
    CHECK(message(s) == "parameter record payload is 1048720 bytes but 144 were expected");
    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));

    // Without a model a short buffer and a corrupt size field look alike.
    RecordInfo info;
    s = inspect_record(corrupt.data(), corrupt.size(), info);
    CHECK(s.code == StatusCode::storage_too_small);
    CHECK(message(s) == "buffer has 168 bytes but the record needs 1048744");

    // A record that is cut short still reports the short buffer, with the size it needs.
    s = load_parameters(loaded, record.data(), record.size() - 1);
    CHECK(s.code == StatusCode::storage_too_small);
    CHECK(message(s) == "buffer has 167 bytes but the record needs 168");
    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));

    // A checkpoint's size field is checked against the checkpoint size of the model.
    AdamTrainer trainer(saved);
    std::vector<std::uint8_t> checkpoint(storage_bytes<Model, Adam>());
    CHECK(save_checkpoint(trainer, checkpoint.data(), checkpoint.size()).ok());
    checkpoint[17] = static_cast<std::uint8_t>(checkpoint[17] ^ 0x40);
    AdamTrainer target(loaded);
    const Snapshot untouched = snapshot(target);
    s = load_checkpoint(target, checkpoint.data(), checkpoint.size());
    CHECK(s.code == StatusCode::size_mismatch);
    CHECK(message(s) == "parameter record payload is 16820 bytes but 436 were expected");
    CHECK(unchanged(target, untouched));
}

TEST_CASE("undefined flags are rejected") {
    Model saved(11);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    Model loaded(12);
    const Model before = loaded;

    std::vector<std::uint8_t> unknown_bit = record;
    unknown_bit[12] = 0x02;
    reseal(unknown_bit);
    Status s = load_parameters(loaded, unknown_bit.data(), unknown_bit.size());
    CHECK(s.code == StatusCode::unsupported_flags);
    CHECK(message(s) == "parameter record has flags 0x0002 and optimizer id 0, which format version 1 does not define");

    std::vector<std::uint8_t> unknown_optimizer = record;
    unknown_optimizer[12] = 0x01;
    unknown_optimizer[14] = 7;
    reseal(unknown_optimizer);
    s = load_parameters(loaded, unknown_optimizer.data(), unknown_optimizer.size());
    CHECK(s.code == StatusCode::unsupported_flags);
    CHECK(message(s) == "parameter record has flags 0x0001 and optimizer id 7, which format version 1 does not define");

    std::vector<std::uint8_t> optimizer_without_flag = record;
    optimizer_without_flag[14] = 2;
    reseal(optimizer_without_flag);
    s = load_parameters(loaded, optimizer_without_flag.data(), optimizer_without_flag.size());
    CHECK(s.code == StatusCode::unsupported_flags);

    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));
}

TEST_CASE("checkpoint load needs optimizer state") {
    Model saved(11);
    std::vector<std::uint8_t> record(storage_bytes<Model>());
    CHECK(save_parameters(saved, record.data(), record.size()).ok());
    Model loaded(12);
    AdamTrainer target(loaded);
    train_a_little(target);
    const Snapshot before = snapshot(target);
    const Status s = load_checkpoint(target, record.data(), record.size());
    CHECK(s.code == StatusCode::missing_optimizer_state);
    CHECK(message(s) == "parameter record has no optimizer state to restore");
    CHECK(unchanged(target, before));
}

TEST_CASE("checkpoint of another optimizer is rejected") {
    Model saved(11);
    AdamTrainer adam_trainer(saved);
    train_a_little(adam_trainer);
    std::vector<std::uint8_t> record(storage_bytes<Model, Adam>());
    CHECK(save_checkpoint(adam_trainer, record.data(), record.size()).ok());

    Model loaded(12);
    SgdTrainer target(loaded);
    train_a_little(target);
    const Snapshot before = snapshot(target);
    const Status s = load_checkpoint(target, record.data(), record.size());
    CHECK(s.code == StatusCode::optimizer_mismatch);
    CHECK(message(s) == "parameter record holds the state of optimizer Adam but the trainer uses SGD");
    CHECK(unchanged(target, before));
}

TEST_CASE("non-finite values are neither saved nor loaded") {
    Model model(11);
    model.bias<0>(3) = std::numeric_limits<float>::quiet_NaN();
    std::vector<std::uint8_t> buffer(storage_bytes<Model>(), 0x5A);
    Status s = save_parameters(model, buffer.data(), buffer.size());
    CHECK(s.code == StatusCode::non_finite_parameter);
    // Weights [3][7] come first, so bias 3 of the first layer is value 21 + 3.
    CHECK(message(s) == "value 24 of the parameter record is nan, but parameters and optimizer state must be finite");
    CHECK(std::vector<std::uint8_t>(buffer.size(), 0x5A) == buffer);

    // A record that contains inf with a valid CRC, as a faulty writer could produce.
    Model finite(11);
    CHECK(save_parameters(finite, buffer.data(), buffer.size()).ok());
    const float inf = std::numeric_limits<float>::infinity();
    std::uint32_t bits = 0;
    std::memcpy(&bits, &inf, 4);
    for (int i = 0; i < 4; ++i) buffer[20 + 4 * 30 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((bits >> (8 * i)) & 0xff);
    reseal(buffer);
    Model loaded(12);
    const Model before = loaded;
    s = load_parameters(loaded, buffer.data(), buffer.size());
    CHECK(s.code == StatusCode::non_finite_parameter);
    CHECK(message(s) == "value 30 of the parameter record is inf, but parameters and optimizer state must be finite");
    CHECK(same_bytes(loaded.parameters(), before.parameters(), Model::parameter_bytes));
}

TEST_CASE("non-finite optimizer state is neither saved nor loaded") {
    Model model(11);
    AdamTrainer trainer(model);
    train_a_little(trainer);
    std::vector<std::uint8_t> record(storage_bytes<Model, Adam>());
    CHECK(save_checkpoint(trainer, record.data(), record.size()).ok());

    // Second moment of the first weight: value 2 * 36 of the payload's floats.
    trainer.optimizer_state().v[0] = std::numeric_limits<float>::infinity();
    std::vector<std::uint8_t> untouched = record;
    Status s = save_checkpoint(trainer, record.data(), record.size());
    CHECK(s.code == StatusCode::non_finite_parameter);
    CHECK(message(s) == "value 72 of the parameter record is inf, but parameters and optimizer state must be finite");
    CHECK(record == untouched);

    // The step count sits before the arrays: m[0] is at payload offset 4 * 36 + 4.
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::uint32_t bits = 0;
    std::memcpy(&bits, &nan, 4);
    for (int i = 0; i < 4; ++i) record[20 + 4 * 36 + 4 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((bits >> (8 * i)) & 0xff);
    reseal(record);
    Model loaded(12);
    AdamTrainer target(loaded);
    const Snapshot before = snapshot(target);
    s = load_checkpoint(target, record.data(), record.size());
    CHECK(s.code == StatusCode::non_finite_parameter);
    CHECK(message(s) == "value 36 of the parameter record is nan, but parameters and optimizer state must be finite");
    CHECK(unchanged(target, before));
}

TEST_CASE("negative Adam second moment is not loaded") {
    Model model(11);
    AdamTrainer trainer(model);
    train_a_little(trainer);
    std::vector<std::uint8_t> record(storage_bytes<Model, Adam>());
    CHECK(save_checkpoint(trainer, record.data(), record.size()).ok());

    // v[1] of the record, value 2 * 36 + 1: after the parameters, the step count and m.
    const float negative = -0.25f;
    std::uint32_t bits = 0;
    std::memcpy(&bits, &negative, 4);
    const std::size_t offset = 20 + 4 * 36 + 4 + 4 * 36 + 4;
    for (int i = 0; i < 4; ++i) record[offset + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((bits >> (8 * i)) & 0xff);
    reseal(record);

    Model loaded(12);
    AdamTrainer target(loaded);
    train_a_little(target);
    const Snapshot before = snapshot(target);
    const Status s = load_checkpoint(target, record.data(), record.size());
    CHECK(s.code == StatusCode::invalid_optimizer_state);
    CHECK(s.index == 73);
    CHECK(message(s) == "value 73 of the parameter record is -0.25, but Adam's second moment v must be at least 0");
    CHECK(unchanged(target, before));

    // The first moment may be negative, and the parameters alone still load.
    CHECK(load_parameters(loaded, record.data(), record.size()).ok());
}

TEST_CASE("null buffers are rejected") {
    Model model(11);
    AdamTrainer trainer(model);
    const Model before = model;
    CHECK(message(save_parameters(model, nullptr, 1000)) == "buffer is a null pointer but is required");
    CHECK(load_parameters(model, nullptr, 1000).code == StatusCode::missing_data);
    CHECK(save_checkpoint(trainer, nullptr, 1000).code == StatusCode::missing_data);
    CHECK(load_checkpoint(trainer, nullptr, 1000).code == StatusCode::missing_data);
    RecordInfo info;
    CHECK(inspect_record(nullptr, 1000, info).code == StatusCode::missing_data);
    CHECK(same_bytes(model.parameters(), before.parameters(), Model::parameter_bytes));
}
