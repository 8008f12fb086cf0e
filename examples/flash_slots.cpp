// flash_slots: keeps the last good parameters across power cuts, with two slots in flash.
//
// Each slot is one flash sector that contains
//   offset 0  u32 sequence number
//   offset 4  u32 complement of the sequence number (a torn or erased header fails the match)
//   offset 8  a parameter record (include/microfit/storage.hpp)
// To commit new parameters the program
//   1. erases the inactive slot, which contains the older parameters,
//   2. writes the new record into it,
//   3. verifies the record by loading it from flash into a scratch model,
//   4. writes the next sequence number and its complement.
// Only step 4 makes the slot current. At boot, the slot with the highest valid sequence number
// whose record loads wins, so a power cut at any moment leaves either the old parameters or,
// once step 4 is done, the new ones.
//
// The flash is simulated with NOR semantics: erasing sets bytes to 0xFF, and programming can only
// clear bits. A power cut stops an erase or a write after any number of bytes, and the byte being
// programmed at that moment keeps only some of its cleared bits. The program cuts the power at
// every byte position of two commits and checks after each that a reboot finds the last good
// parameters. It exits with 1 if one is ever lost.
//
// The slot code uses no heap and no exceptions. Only the checks use printf, with integers and
// without C99 length modifiers such as %zu, which newlib's printf lacks, so the program also runs
// as Cortex-M firmware with the heap trap linked.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "microfit/microfit.hpp"
#include "microfit/storage.hpp"

namespace {

using Model = microfit::Sequential<microfit::Dense<4, 6>, microfit::Relu, microfit::Dense<6, 3>>;

constexpr std::size_t slot_header_bytes = 8;
constexpr std::size_t record_bytes = microfit::storage_bytes<Model>();
constexpr std::size_t sector_bytes = 256;
static_assert(slot_header_bytes + record_bytes <= sector_bytes, "A slot must hold its header and the record.");

/// Two flash sectors with NOR semantics and a power supply that can fail after a number of byte
/// operations.
class SimulatedFlash {
public:
    SimulatedFlash() noexcept { std::memset(bytes_, 0xFF, sizeof bytes_); }

    const std::uint8_t* sector(std::size_t s) const noexcept { return bytes_[s]; }

    /// Cuts the power after `operations` more byte operations; a negative count never cuts it.
    void cut_power_after(long operations) noexcept { budget_ = operations; }
    bool powered() const noexcept { return budget_ != 0; }
    std::size_t operations() const noexcept { return operations_; }

    /// Sets a sector to 0xFF byte by byte. Returns false if the power failed on the way.
    bool erase(std::size_t s) noexcept {
        for (std::size_t i = 0; i < sector_bytes; ++i) {
            if (!spend()) {
                bytes_[s][i] = static_cast<std::uint8_t>(bytes_[s][i] | 0x0Fu);  // half-erased byte
                return false;
            }
            bytes_[s][i] = 0xFF;
        }
        return true;
    }

    /// Programs bytes (clearing bits only). Returns false if the power failed on the way.
    bool program(std::size_t s, std::size_t offset, const std::uint8_t* data, std::size_t n) noexcept {
        for (std::size_t i = 0; i < n; ++i) {
            std::uint8_t& cell = bytes_[s][offset + i];
            if (!spend()) {
                cell = static_cast<std::uint8_t>(cell & (data[i] | 0xF0u));  // only the low bits were programmed
                return false;
            }
            cell = static_cast<std::uint8_t>(cell & data[i]);
        }
        return true;
    }

private:
    bool spend() noexcept {
        ++operations_;
        if (budget_ == 0) return false;
        if (budget_ > 0) --budget_;
        return true;
    }

    std::uint8_t bytes_[2][sector_bytes];
    long budget_ = -1;
    std::size_t operations_ = 0;
};

std::uint32_t read_u32(const std::uint8_t* p) noexcept {
    return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
}

void write_u32(std::uint8_t* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>((v >> (8 * i)) & 0xFFu);
}

/// True when `a` is a later sequence number than `b`, also across the wrap from 2^32 - 1 to 0.
bool is_later(std::uint32_t a, std::uint32_t b) noexcept { return static_cast<std::int32_t>(a - b) > 0; }

/// A slot whose header is intact and whose record loads into a model.
struct ValidSlot {
    bool found = false;
    std::size_t sector = 0;
    std::uint32_t sequence = 0;
};

/// Checks a slot: a sequence number matching its complement, then a record that loads into
/// `scratch` (magic, CRC, shape and all other checks of load_parameters).
bool read_slot(const SimulatedFlash& flash, std::size_t s, Model& scratch, std::uint32_t& sequence) noexcept {
    const std::uint8_t* sector = flash.sector(s);
    sequence = read_u32(sector);
    if ((sequence ^ read_u32(sector + 4)) != 0xFFFFFFFFu) return false;
    return microfit::load_parameters(scratch, sector + slot_header_bytes, sector_bytes - slot_header_bytes).ok();
}

ValidSlot find_current_slot(const SimulatedFlash& flash) noexcept {
    Model scratch;
    ValidSlot best;
    for (std::size_t s = 0; s < 2; ++s) {
        std::uint32_t sequence = 0;
        if (!read_slot(flash, s, scratch, sequence)) continue;
        if (!best.found || is_later(sequence, best.sequence)) {
            best.found = true;
            best.sector = s;
            best.sequence = sequence;
        }
    }
    return best;
}

/// Loads the current parameters into `model`. Returns false, leaving `model` as it is, when no
/// slot is valid (a new device).
bool boot(const SimulatedFlash& flash, Model& model) noexcept {
    const ValidSlot current = find_current_slot(flash);
    if (!current.found) return false;
    return microfit::load_parameters(model, flash.sector(current.sector) + slot_header_bytes,
                                     sector_bytes - slot_header_bytes)
        .ok();
}

/// Steps 1 to 4 above. Returns false when the commit did not happen: a power cut, or a record
/// that did not verify; the current slot is never touched.
bool commit(SimulatedFlash& flash, const Model& model) noexcept {
    const ValidSlot current = find_current_slot(flash);
    const std::size_t target = current.found ? 1 - current.sector : 0;
    const std::uint32_t sequence = current.found ? current.sequence + 1 : 1;

    static std::uint8_t record[record_bytes];
    if (!microfit::save_parameters(model, record, sizeof record).ok()) return false;

    if (!flash.erase(target)) return false;
    if (!flash.program(target, slot_header_bytes, record, sizeof record)) return false;

    Model scratch;
    if (!microfit::load_parameters(scratch, flash.sector(target) + slot_header_bytes, sector_bytes - slot_header_bytes)
             .ok()) {
        return false;
    }
    if (std::memcmp(scratch.parameters(), model.parameters(), Model::parameter_bytes) != 0) return false;

    std::uint8_t header[slot_header_bytes];
    write_u32(header, sequence);
    write_u32(header + 4, ~sequence);
    return flash.program(target, 0, header, sizeof header);
}

/// Trains `model` for a few epochs on a fixed synthetic problem, so that each call gives new
/// parameters.
void train(Model& model, std::uint64_t seed) noexcept {
    static float features[16 * 4];
    static std::int32_t labels[16];
    for (std::size_t r = 0; r < 16; ++r) {
        for (std::size_t c = 0; c < 4; ++c) features[r * 4 + c] = static_cast<float>((r * 7 + c * 3) % 11) / 5.0f - 1.0f;
        labels[r] = static_cast<std::int32_t>(r % 3);
    }
    microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, 8> trainer(model);
    microfit::FitOptions options;
    options.epochs = 3;
    options.batch_size = 8;
    options.seed = seed;
    if (!trainer.fit(microfit::classification_data(features, labels, 16, 4), options).ok()) std::printf("training failed\n");
}

bool same_parameters(const Model& a, const Model& b) noexcept {
    return std::memcmp(a.parameters(), b.parameters(), Model::parameter_bytes) == 0;
}

/// Cuts the power at every byte operation of a commit of `next` onto `flash` (whose current slot
/// contains `current`), reboots, and checks that the model loaded is `current` until the commit
/// reached its header, and `next` once the commit finished. Returns false if a check failed.
bool check_every_power_cut(const SimulatedFlash& flash, const Model& current, const Model& next, const char* name) {
    SimulatedFlash measure = flash;
    const std::size_t before = measure.operations();
    if (!commit(measure, next)) {
        std::printf("%s: the commit failed without a power cut\n", name);
        return false;
    }
    const std::size_t total = measure.operations() - before;
    // The header is the last write: its first byte is operation total - slot_header_bytes.
    const std::size_t header_start = total - slot_header_bytes;

    std::size_t kept_old = 0;
    std::size_t got_new = 0;
    for (std::size_t cut = 0; cut <= total; ++cut) {
        SimulatedFlash trial = flash;
        trial.cut_power_after(static_cast<long>(cut));
        const bool committed = commit(trial, next);
        trial.cut_power_after(-1);  // power back on for the reboot

        Model booted(12345);  // anything that is neither `current` nor `next`
        if (!boot(trial, booted)) {
            std::printf("%s: after a power cut at byte operation %lu no slot is valid\n", name,
                        static_cast<unsigned long>(cut));
            return false;
        }
        const bool is_old = same_parameters(booted, current);
        const bool is_new = same_parameters(booted, next);
        if (!is_old && !is_new) {
            std::printf("%s: after a power cut at byte operation %lu the parameters are neither old nor new\n", name,
                        static_cast<unsigned long>(cut));
            return false;
        }
        if (cut <= header_start && !is_old) {
            std::printf("%s: a power cut at byte operation %lu, before the commit, gave the new parameters\n", name,
                        static_cast<unsigned long>(cut));
            return false;
        }
        if (committed && !is_new) {
            std::printf("%s: the commit finished but a reboot gave the old parameters\n", name);
            return false;
        }
        kept_old += is_old ? 1 : 0;
        got_new += is_new ? 1 : 0;
    }
    std::printf("%s: %lu power cut positions (%lu byte operations), old parameters after %lu, new after %lu, "
                "none lost\n",
                name, static_cast<unsigned long>(total + 1), static_cast<unsigned long>(total),
                static_cast<unsigned long>(kept_old), static_cast<unsigned long>(got_new));
    return true;
}

}  // namespace

int main() {
    // Unbuffered, stdout needs no heap for a stream buffer (newlib allocates one on first use).
    std::setvbuf(stdout, nullptr, _IONBF, 0);
    SimulatedFlash flash;
    Model model(1);

    // A new device: both slots erased, so boot finds nothing and keeps the initial parameters.
    if (boot(flash, model)) {
        std::printf("an erased flash gave parameters\n");
        return 1;
    }

    // Generation 1 goes to slot 0 without power cuts.
    train(model, 1);
    const Model generation1 = model;
    if (!commit(flash, generation1)) {
        std::printf("the first commit failed\n");
        return 1;
    }

    // Generation 2 goes to slot 1 and generation 3 back to slot 0, each with a power cut at every
    // byte position.
    train(model, 2);
    const Model generation2 = model;
    if (!check_every_power_cut(flash, generation1, generation2, "commit to slot 1")) return 1;
    if (!commit(flash, generation2)) return 1;

    train(model, 3);
    const Model generation3 = model;
    if (!check_every_power_cut(flash, generation2, generation3, "commit to slot 0")) return 1;
    if (!commit(flash, generation3)) return 1;

    Model booted;
    if (!boot(flash, booted) || !same_parameters(booted, generation3)) {
        std::printf("the last commit is not what boot loads\n");
        return 1;
    }
    std::printf("the last good parameters survived every power cut\n");
    return 0;
}
