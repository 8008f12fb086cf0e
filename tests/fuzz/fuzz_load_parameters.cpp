// libFuzzer target for parameter loading: inspect_record, load_parameters and load_checkpoint on
// arbitrary bytes.
//
// Checked on every input:
// - a rejected load leaves the model and the optimizer state bit-for-bit unchanged;
// - an accepted load saves back to exactly the bytes it read (the format has one encoding).
// Random bytes almost never carry a valid CRC-32, so when the first input byte is odd the target
// first rewrites the CRC of the rest, which lets the fuzzer reach the checks that follow the CRC.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

#include "microfit/microfit.hpp"
#include "microfit/storage.hpp"

namespace {

using Model = microfit::Sequential<microfit::Dense<3, 7>, microfit::Relu, microfit::Dense<7, 1>>;
using AdamTrainer = microfit::Trainer<Model, microfit::BinaryCrossentropy, microfit::Adam, 4>;
using SgdTrainer = microfit::Trainer<Model, microfit::BinaryCrossentropy, microfit::Sgd, 4>;

void check(bool condition) {
    if (!condition) std::abort();
}

// Writes the CRC-32 at the end given by the header's payload size, when the bytes are long enough.
void reseal(std::vector<std::uint8_t>& record) {
    if (record.size() < microfit::storage::header_bytes) return;
    const std::uint8_t* size_field = record.data() + microfit::storage::offset::payload_bytes;
    const std::uint64_t payload = std::uint64_t{size_field[0]} | (std::uint64_t{size_field[1]} << 8) |
                                  (std::uint64_t{size_field[2]} << 16) | (std::uint64_t{size_field[3]} << 24);
    const std::uint64_t covered = microfit::storage::header_bytes + payload;
    if (covered + microfit::storage::checksum_bytes > record.size()) return;
    const std::uint32_t crc = microfit::crc32(record.data(), static_cast<std::size_t>(covered));
    for (std::size_t i = 0; i < 4; ++i) record[static_cast<std::size_t>(covered) + i] = static_cast<std::uint8_t>(crc >> (8 * i));
}

// The optimizer state as bytes: the step count, then each per-parameter array.
template <class Optimizer, class State>
std::vector<std::uint8_t> state_bytes(const State& state) {
    using Stored = microfit::OptimizerStorage<Optimizer>;
    const auto* steps = reinterpret_cast<const std::uint8_t*>(&state.steps);
    std::vector<std::uint8_t> bytes(steps, steps + sizeof state.steps);
    for (std::size_t k = 0; k < Stored::arrays; ++k) {
        const auto* array = reinterpret_cast<const std::uint8_t*>(Stored::array(state, k));
        bytes.insert(bytes.end(), array, array + Model::parameter_bytes);
    }
    return bytes;
}

template <class TrainerType>
void fuzz_checkpoint(const std::vector<std::uint8_t>& record) {
    using Optimizer = std::decay_t<decltype(std::declval<TrainerType&>().optimizer())>;
    static Model model(2);
    static TrainerType trainer(model);
    model.initialize(2);
    const Model model_before = model;
    const std::vector<std::uint8_t> state_before = state_bytes<Optimizer>(trainer.optimizer_state());

    const microfit::Status s = microfit::load_checkpoint(trainer, record.data(), record.size());
    if (!s.ok()) {
        check(std::memcmp(model.parameters(), model_before.parameters(), Model::parameter_bytes) == 0);
        check(state_bytes<Optimizer>(trainer.optimizer_state()) == state_before);
        return;
    }
    std::vector<std::uint8_t> saved(microfit::storage_bytes<Model, Optimizer>());
    check(microfit::save_checkpoint(trainer, saved.data(), saved.size()).ok());
    check(saved.size() <= record.size() && std::memcmp(saved.data(), record.data(), saved.size()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::vector<std::uint8_t> record(data + 1, data + size);
    if ((data[0] & 1u) != 0) reseal(record);

    microfit::RecordInfo info;
    const microfit::Status inspected = microfit::inspect_record(record.data(), record.size(), info);
    if (inspected.ok()) check(info.record_bytes <= record.size());

    static Model model(1);
    model.initialize(1);
    const Model before = model;
    const microfit::Status s = microfit::load_parameters(model, record.data(), record.size());
    if (!s.ok()) {
        check(std::memcmp(model.parameters(), before.parameters(), Model::parameter_bytes) == 0);
    } else {
        check(inspected.ok());
        if (!info.has_optimizer_state()) {
            std::vector<std::uint8_t> saved(microfit::storage_bytes<Model>());
            check(microfit::save_parameters(model, saved.data(), saved.size()).ok());
            check(saved.size() <= record.size() && std::memcmp(saved.data(), record.data(), saved.size()) == 0);
        }
    }

    fuzz_checkpoint<AdamTrainer>(record);
    fuzz_checkpoint<SgdTrainer>(record);

    char message[256];
    s.format(message, sizeof message);
    return 0;
}
