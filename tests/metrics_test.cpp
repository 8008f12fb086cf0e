// Confusion-matrix metrics against values computed by hand, unweighted and weighted.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>

#include "microfit/metrics.hpp"
#include "reference.hpp"

namespace {

using microfit_test::relative;

struct Prediction {
    std::int32_t truth;
    std::int32_t predicted;
    float weight;
};

// Cost of predicting column p when the truth is row t.
constexpr float cost[3][3] = {{0.0f, 1.0f, 2.0f}, {1.0f, 0.0f, 1.0f}, {5.0f, 5.0f, 0.0f}};

}  // namespace

TEST_CASE("unweighted metrics match values computed by hand") {
    // Rows are true classes, columns predicted ones:
    //   true 0: 4 1 0   (support 5)
    //   true 1: 2 2 0   (support 4)
    //   true 2: 1 0 0   (support 1, never predicted)
    microfit::ConfusionMatrix<3> confusion;
    const std::int32_t counts[3][3] = {{4, 1, 0}, {2, 2, 0}, {1, 0, 0}};
    for (std::int32_t t = 0; t < 3; ++t) {
        for (std::int32_t p = 0; p < 3; ++p) {
            for (std::int32_t n = 0; n < counts[t][p]; ++n) confusion.add(t, p);
        }
    }

    CHECK(confusion.total() == 10.0f);
    CHECK(confusion.support(0) == 5.0f);
    CHECK(confusion.predicted(0) == 7.0f);
    CHECK(confusion.predicted(2) == 0.0f);

    CHECK(confusion.accuracy() == relative(0.6));  // 6 of 10 on the diagonal

    CHECK(confusion.recall(0) == relative(0.8));
    CHECK(confusion.recall(1) == relative(0.5));
    CHECK(confusion.recall(2) == 0.0f);

    CHECK(confusion.precision(0) == relative(4.0 / 7.0));
    CHECK(confusion.precision(1) == relative(2.0 / 3.0));
    CHECK(confusion.precision(2) == 0.0f);  // never predicted, so 0 as with zero_division=0

    // F1 = 2PR / (P + R): (2 * 4/7 * 4/5) / (4/7 + 4/5) = 2/3, and (2 * 2/3 * 1/2) / (2/3 + 1/2) = 4/7.
    CHECK(confusion.f1(0) == relative(2.0 / 3.0));
    CHECK(confusion.f1(1) == relative(4.0 / 7.0));
    CHECK(confusion.f1(2) == 0.0f);

    // Mean recall over the three classes that occur: (0.8 + 0.5 + 0) / 3.
    CHECK(confusion.balanced_accuracy() == relative(1.3 / 3.0));

    // 4 * 0 + 1 * 1 + 2 * 1 + 2 * 0 + 1 * 5 = 8 over 10 samples.
    CHECK(confusion.expected_cost(cost) == relative(0.8));
}

TEST_CASE("weighted metrics match values computed by hand") {
    const Prediction predictions[] = {{0, 0, 1.0f}, {0, 0, 2.0f}, {0, 1, 0.5f}, {1, 1, 3.0f}, {1, 0, 1.0f}, {2, 0, 2.0f}};
    microfit::ConfusionMatrix<3> weighted;
    microfit::ConfusionMatrix<3> unweighted;
    for (const Prediction& p : predictions) {
        weighted.add(p.truth, p.predicted, p.weight);
        unweighted.add(p.truth, p.predicted);
    }

    // Weighted counts:
    //   true 0: 3   0.5 0   (support 3.5)
    //   true 1: 1   3   0   (support 4)
    //   true 2: 2   0   0   (support 2)
    // Predicted totals are 6, 3.5 and 0, and the total is 9.5.
    CHECK(weighted.counts[0][0] == 3.0f);
    CHECK(weighted.counts[0][1] == 0.5f);
    CHECK(weighted.total() == 9.5f);
    CHECK(weighted.accuracy() == relative(6.0 / 9.5));
    CHECK(weighted.recall(0) == relative(3.0 / 3.5));
    CHECK(weighted.recall(1) == relative(0.75));
    CHECK(weighted.recall(2) == 0.0f);
    CHECK(weighted.precision(0) == relative(0.5));
    CHECK(weighted.precision(1) == relative(3.0 / 3.5));
    // F1: (2 * 1/2 * 6/7) / (1/2 + 6/7) = 12/19, and (2 * 6/7 * 3/4) / (6/7 + 3/4) = 0.8.
    CHECK(weighted.f1(0) == relative(12.0 / 19.0));
    CHECK(weighted.f1(1) == relative(0.8));
    CHECK(weighted.balanced_accuracy() == relative((3.0 / 3.5 + 0.75) / 3.0));
    // 0.5 * 1 + 1 * 1 + 2 * 5 = 11.5 over a total weight of 9.5.
    CHECK(weighted.expected_cost(cost) == relative(11.5 / 9.5));

    // The same samples counted once each: true 0: 2 1 0, true 1: 1 1 0, true 2: 1 0 0.
    CHECK(unweighted.total() == 6.0f);
    CHECK(unweighted.accuracy() == relative(0.5));
    CHECK(unweighted.recall(0) == relative(2.0 / 3.0));
    CHECK(unweighted.precision(0) == relative(0.5));
    CHECK(unweighted.balanced_accuracy() == relative((2.0 / 3.0 + 0.5 + 0.0) / 3.0));
    CHECK(unweighted.expected_cost(cost) == relative((1.0 + 1.0 + 5.0) / 6.0));
}

TEST_CASE("a class that never occurs is left out of balanced accuracy") {
    // True class 0 is predicted as 0 once and as 2 once, true class 1 as 1 twice, and class 2
    // never occurs.
    microfit::ConfusionMatrix<3> confusion;
    confusion.add(0, 0);
    confusion.add(0, 2);
    confusion.add(1, 1);
    confusion.add(1, 1);

    CHECK(confusion.support(2) == 0.0f);
    CHECK(confusion.recall(2) == 0.0f);
    CHECK(confusion.precision(2) == 0.0f);  // predicted once, never right
    CHECK(confusion.f1(2) == 0.0f);
    CHECK(confusion.balanced_accuracy() == relative(0.75));  // (1/2 + 1) / 2, not / 3
    CHECK(confusion.accuracy() == relative(0.75));
}

TEST_CASE("metrics of an empty confusion matrix are 0") {
    const microfit::ConfusionMatrix<2> confusion;
    const float binary_cost[2][2] = {{0.0f, 1.0f}, {1.0f, 0.0f}};
    CHECK(confusion.total() == 0.0f);
    CHECK(confusion.accuracy() == 0.0f);
    CHECK(confusion.balanced_accuracy() == 0.0f);
    CHECK(confusion.recall(0) == 0.0f);
    CHECK(confusion.precision(1) == 0.0f);
    CHECK(confusion.f1(0) == 0.0f);
    CHECK(confusion.expected_cost(binary_cost) == 0.0f);
}
