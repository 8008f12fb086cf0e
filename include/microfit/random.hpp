// Seeded random numbers that give the same sequence on every target and compiler.
//
// The standard library's distributions are implementation-defined, so a seed would not reproduce
// the same parameters on a PC and on a device. microfit uses its own generator (PCG32, the
// XSH-RR variant from M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient Statistically
// Good Algorithms for Random Number Generation", 2014) and its own conversions.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace microfit {

class Random {
public:
    explicit constexpr Random(std::uint64_t seed = 0, std::uint64_t stream = 0x5851f42d4c957f2dULL) noexcept
        : increment_((stream << 1u) | 1u) {
        next_u32();
        state_ += seed;
        next_u32();
    }

    /// Returns 32 uniformly distributed bits.
    constexpr std::uint32_t next_u32() noexcept {
        const std::uint64_t old = state_;
        state_ = old * 6364136223846793005ULL + increment_;
        const auto xorshifted = static_cast<std::uint32_t>(((old >> 18u) ^ old) >> 27u);
        const auto rotation = static_cast<std::uint32_t>(old >> 59u);
        return (xorshifted >> rotation) | (xorshifted << ((32u - rotation) & 31u));
    }

    constexpr std::uint64_t next_u64() noexcept {
        const std::uint64_t high = next_u32();
        return (high << 32u) | next_u32();
    }

    /// Returns an integer uniformly distributed in [0, bound) for bound >= 1, without modulo bias
    /// (rejection on the low part of a 32 x 32 -> 64-bit product).
    constexpr std::uint32_t uniform_below(std::uint32_t bound) noexcept {
        std::uint64_t product = std::uint64_t{next_u32()} * bound;
        auto low = static_cast<std::uint32_t>(product);
        if (low < bound) {
            const std::uint32_t threshold = (0u - bound) % bound;
            while (low < threshold) {
                product = std::uint64_t{next_u32()} * bound;
                low = static_cast<std::uint32_t>(product);
            }
        }
        return static_cast<std::uint32_t>(product >> 32u);
    }

    /// Returns a float uniformly distributed in [0, 1) with 24 random bits.
    constexpr float uniform() noexcept { return static_cast<float>(next_u32() >> 8u) * (1.0f / 16777216.0f); }

    /// Returns a float uniformly distributed in [low, high). The product and sum are one explicit
    /// fused multiply-add, so targets with and without FMA instructions round alike and a seed
    /// gives the same values everywhere (a compiler would otherwise fuse them only on FMA targets).
    float uniform(float low, float high) noexcept { return std::fma(high - low, uniform(), low); }

private:
    std::uint64_t state_ = 0;
    std::uint64_t increment_;
};

/// A pseudorandom permutation of [0, size) that needs no index array: a four-round Feistel network
/// over the smallest even number of bits that covers `size`, with cycle walking to stay inside the
/// range. Each `at(i)` costs a few multiplications (on average at most four network passes), so an
/// epoch can be shuffled on a device with no memory for n indices.
class Permutation {
public:
    constexpr Permutation() noexcept = default;

    constexpr Permutation(std::uint32_t size, Random& random) noexcept : size_(size) {
        std::uint32_t bits = 2;
        while (bits < 32 && (std::uint64_t{1} << bits) < size) bits += 2;
        half_bits_ = bits / 2;
        half_mask_ = (std::uint32_t{1} << half_bits_) - 1u;
        for (auto& key : keys_) key = random.next_u32();
    }

    constexpr std::uint32_t size() const noexcept { return size_; }

    /// Returns the element at position `i` (i < size) of the permuted sequence.
    constexpr std::uint32_t at(std::uint32_t i) const noexcept {
        std::uint32_t x = i;
        do {
            x = encrypt(x);
        } while (x >= size_);
        return x;
    }

private:
    constexpr std::uint32_t round_function(std::uint32_t half, std::uint32_t key) const noexcept {
        std::uint32_t h = (half ^ key) * 0x9e3779b1u;
        h ^= h >> 15u;
        h *= 0x85ebca77u;
        h ^= h >> 13u;
        return h & half_mask_;
    }

    constexpr std::uint32_t encrypt(std::uint32_t x) const noexcept {
        std::uint32_t left = x >> half_bits_;
        std::uint32_t right = x & half_mask_;
        for (const std::uint32_t key : keys_) {
            const std::uint32_t next = left ^ round_function(right, key);
            left = right;
            right = next;
        }
        return (left << half_bits_) | right;
    }

    std::uint32_t size_ = 0;
    std::uint32_t half_bits_ = 1;
    std::uint32_t half_mask_ = 1;
    std::uint32_t keys_[4] = {};
};

}  // namespace microfit
