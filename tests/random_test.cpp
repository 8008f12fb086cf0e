// Random and Permutation: the PCG32 reference sequence, bounded draws, and permutations that are
// bijections.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "microfit/random.hpp"

namespace {

/// Checks that `permutation` maps [0, n) onto [0, n), each value exactly once.
void check_bijection(const microfit::Permutation& permutation) {
    const std::uint32_t n = permutation.size();
    std::vector<bool> seen(n, false);
    std::uint32_t repeats = 0;
    std::uint32_t out_of_range = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::uint32_t value = permutation.at(i);
        if (value >= n) {
            ++out_of_range;
        } else if (seen[value]) {
            ++repeats;
        } else {
            seen[value] = true;
        }
    }
    CHECK(out_of_range == 0);
    CHECK(repeats == 0);
}

}  // namespace

TEST_CASE("random matches the PCG32 reference sequence") {
    // The first outputs of PCG32 (XSH-RR) seeded with state 42 and stream 54, as printed by the
    // pcg32-demo program of O'Neill's reference C implementation.
    microfit::Random random(42, 54);
    const std::uint32_t expected[6] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u, 0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
    for (std::uint32_t value : expected) CHECK(random.next_u32() == value);
}

TEST_CASE("random works at compile time") {
    constexpr std::uint32_t first = [] {
        microfit::Random random(42, 54);
        return random.next_u32();
    }();
    static_assert(first == 0xa15c02b7u, "the generator runs in constant expressions");
    CHECK(first == 0xa15c02b7u);
}

TEST_CASE("same seed gives the same sequence and another seed another") {
    microfit::Random a(7);
    microfit::Random b(7);
    microfit::Random c(8);
    std::size_t equal_to_other_seed = 0;
    for (int i = 0; i < 1000; ++i) {
        const std::uint32_t value = a.next_u32();
        CHECK(value == b.next_u32());
        if (value == c.next_u32()) ++equal_to_other_seed;
    }
    CHECK(equal_to_other_seed < 5);
}

TEST_CASE("uniform_below stays below its bound") {
    microfit::Random random(1);
    for (std::uint32_t bound : {1u, 2u, 3u, 7u, 1000u, 0x80000001u, 0xffffffffu}) {
        CAPTURE(bound);
        std::uint32_t largest = 0;
        for (int i = 0; i < 2000; ++i) {
            const std::uint32_t value = random.uniform_below(bound);
            largest = value > largest ? value : largest;
        }
        CHECK(largest < bound);
    }
    for (int i = 0; i < 100; ++i) CHECK(random.uniform_below(1) == 0);
}

TEST_CASE("uniform_below draws each value equally often") {
    // 60000 draws below 6: each count is Binomial(60000, 1/6), standard deviation 91.3.
    microfit::Random random(2);
    std::uint32_t counts[6] = {};
    for (int i = 0; i < 60000; ++i) ++counts[random.uniform_below(6)];
    for (std::uint32_t count : counts) {
        CAPTURE(count);
        CHECK(std::fabs(static_cast<double>(count) - 10000.0) < 5 * 91.3);
    }
}

TEST_CASE("uniform_below has no bias for a bound of 3 * 2^30") {
    // 2^32 inputs cannot spread evenly over 3 * 2^30 values, so an unrejected reduction favours
    // some values twice as much as others. next_u32() % bound favours the values below 2^30, and
    // the multiply-shift (x * bound) >> 32 favours the multiples of 3 (x = 4k and 4k + 1 both give
    // 3k). Both land in their favoured set with probability 1/2 instead of 1/3. For 30000 unbiased
    // draws each count is Binomial(30000, 1/3), standard deviation 81.6.
    microfit::Random random(3);
    const std::uint32_t bound = 3u << 30u;
    std::uint32_t low = 0;
    std::uint32_t multiples_of_three = 0;
    for (int i = 0; i < 30000; ++i) {
        const std::uint32_t value = random.uniform_below(bound);
        if (value < (1u << 30u)) ++low;
        if (value % 3 == 0) ++multiples_of_three;
    }
    CHECK(std::fabs(static_cast<double>(low) - 10000.0) < 5 * 81.6);
    CHECK(std::fabs(static_cast<double>(multiples_of_three) - 10000.0) < 5 * 81.6);
}

TEST_CASE("uniform floats stay in their half-open interval") {
    microfit::Random random(4);
    double sum = 0.0;
    for (int i = 0; i < 10000; ++i) {
        const float unit = random.uniform();
        CHECK(unit >= 0.0f);
        CHECK(unit < 1.0f);
        sum += unit;
        const float ranged = random.uniform(-3.0f, 5.0f);
        CHECK(ranged >= -3.0f);
        CHECK(ranged < 5.0f);
    }
    // Mean of 10000 draws of U(0, 1): standard error 1 / sqrt(12 * 10000) = 0.0029.
    CHECK(std::fabs(sum / 10000.0 - 0.5) < 5 * 0.0029);
}

TEST_CASE("permutation is a bijection for every size from 1 to 300") {
    for (std::uint64_t seed : {0u, 1u, 12345u}) {
        microfit::Random random(seed);
        for (std::uint32_t n = 1; n <= 300; ++n) {
            CAPTURE(seed);
            CAPTURE(n);
            const microfit::Permutation permutation(n, random);
            CHECK(permutation.size() == n);
            check_bijection(permutation);
        }
    }
}

TEST_CASE("permutation is a bijection at powers of four and beyond") {
    microfit::Random random(5);
    for (std::uint32_t n : {1023u, 1024u, 1025u, 4096u, 65535u, 65536u, 65537u, 100000u}) {
        CAPTURE(n);
        check_bijection(microfit::Permutation(n, random));
    }
}

TEST_CASE("permutation depends on the seed and shuffles") {
    constexpr std::uint32_t n = 300;
    microfit::Random first_random(6);
    microfit::Random same_random(6);
    microfit::Random other_random(7);
    const microfit::Permutation first(n, first_random);
    const microfit::Permutation same(n, same_random);
    const microfit::Permutation other(n, other_random);

    std::uint32_t differences = 0;
    std::uint32_t fixed_points = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        CHECK(first.at(i) == same.at(i));
        if (first.at(i) != other.at(i)) ++differences;
        if (first.at(i) == i) ++fixed_points;
    }
    CHECK(differences > n / 2);
    // A uniformly random permutation has one fixed point on average.
    CHECK(fixed_points < 10);
}
