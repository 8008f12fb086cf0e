// BalancedSampler: oversampling by index, as an alternative to class weights.
//
// Each draw picks a class uniformly at random, then a sample of that class uniformly at random, so
// every class appears equally often in expectation whatever its frequency. Nothing is copied and
// nothing is allocated: the sampler keeps only the class counts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "microfit/dataset.hpp"
#include "microfit/random.hpp"
#include "microfit/status.hpp"

namespace microfit {

template <std::size_t Classes>
class BalancedSampler {
    static_assert(Classes >= 2, "BalancedSampler needs at least 2 classes.");

public:
    /// Counts the classes of `labels[0..rows)` and seeds the generator. Returns empty_dataset,
    /// missing_data (null labels), invalid_option (more than 2^32 - 1 rows), label_out_of_range or
    /// empty_class, because a class with no samples cannot be oversampled. The sampler is unchanged
    /// on error.
    Status reset(const std::int32_t* labels, std::size_t rows, std::uint64_t seed) noexcept {
        if (rows == 0) return Status(StatusCode::empty_dataset);
        if (labels == nullptr) {
            Status s(StatusCode::missing_data);
            s.option = "labels";
            return s;
        }
        const Status limit = detail::check_row_limit(rows);
        if (!limit.ok()) return limit;
        std::uint32_t counts[Classes] = {};
        for (std::size_t r = 0; r < rows; ++r) {
            const std::int32_t label = labels[r];
            if (label < 0 || static_cast<std::size_t>(label) >= Classes) {
                Status s(StatusCode::label_out_of_range);
                s.index = r;
                s.value = label;
                s.limit = Classes;
                return s;
            }
            ++counts[label];
        }
        for (std::size_t c = 0; c < Classes; ++c) {
            if (counts[c] == 0) {
                Status s(StatusCode::empty_class);
                s.index = c;
                return s;
            }
        }
        labels_ = labels;
        rows_ = static_cast<std::uint32_t>(rows);
        for (std::size_t c = 0; c < Classes; ++c) counts_[c] = counts[c];
        random_ = Random(seed, 0x2545f4914f6cdd1dULL);
        return Status{};
    }

    /// Returns the row index of the next draw. Call only after a successful `reset`.
    std::uint32_t next() noexcept {
        const auto c = static_cast<std::int32_t>(random_.uniform_below(Classes));
        // Rejection: a uniform row is accepted when it has class c. A class with fraction f needs
        // 1/f tries on average, so after a bounded number the k-th row of class c is found by a scan,
        // which is also uniform over the class.
        constexpr int max_tries = 32;
        for (int t = 0; t < max_tries; ++t) {
            const std::uint32_t row = random_.uniform_below(rows_);
            if (labels_[row] == c) return row;
        }
        std::uint32_t k = random_.uniform_below(counts_[c]);
        for (std::uint32_t row = 0; row < rows_; ++row) {
            if (labels_[row] == c && k-- == 0) return row;
        }
        return 0;  // unreachable: counts_[c] rows have class c
    }

private:
    const std::int32_t* labels_ = nullptr;
    std::uint32_t rows_ = 0;
    std::uint32_t counts_[Classes] = {};
    Random random_;
};

}  // namespace microfit
