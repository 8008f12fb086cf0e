// Status::format built with MICROFIT_NO_STATUS_TEXT, which strips the message texts: it writes
// only the status name. CMake compiles this file with that definition.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "microfit/microfit.hpp"
#include "microfit/storage.hpp"

#if !defined(MICROFIT_NO_STATUS_TEXT)
#error "status_name_only_test.cpp must be compiled with MICROFIT_NO_STATUS_TEXT"
#endif

using namespace microfit;

namespace {

std::string message(const Status& s) {
    char buffer[128];
    s.format(buffer, sizeof buffer);
    return buffer;
}

}  // namespace

TEST_CASE("format writes only the status name") {
    Status s(StatusCode::label_out_of_range);
    s.role = DataRole::training;
    s.value = 7;
    s.index = 12;
    s.limit = 2;
    CHECK(message(s) == "label_out_of_range");
    CHECK(message(Status{}) == "ok");
    CHECK(message(Status(StatusCode::checksum_mismatch)) == "checksum_mismatch");
}

TEST_CASE("format writes the name of every status code") {
    const auto last = static_cast<int>(StatusCode::invalid_optimizer_state);
    for (int c = 0; c <= last; ++c) {
        CAPTURE(c);
        const Status s(static_cast<StatusCode>(c));
        CHECK(message(s) == s.name());
    }
}

TEST_CASE("format of a name truncates to the buffer") {
    const Status s(StatusCode::invalid_batch_size);
    char buffer[8];
    CHECK(s.format(buffer, sizeof buffer) == std::strlen("invalid_batch_size"));
    CHECK(std::string(buffer) == "invalid");
}

TEST_CASE("statuses from the library carry the name") {
    using Model = Sequential<Dense<2, 3>, Relu, Dense<3, 2>>;
    Model model(1);
    Trainer<Model, SparseCategoricalCrossentropy, Sgd, 4> trainer(model);
    const float features[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    const std::int32_t labels[2] = {0, 5};
    CHECK(message(trainer.fit(classification_data(features, labels, 2, 2), FitOptions{})) == "invalid_batch_size");
    FitOptions options;
    options.batch_size = 2;
    CHECK(message(trainer.fit(classification_data(features, labels, 2, 2), options)) == "label_out_of_range");
    unsigned char erased[64];
    std::memset(erased, 0xFF, sizeof erased);
    CHECK(message(load_parameters(model, erased, sizeof erased)) == "bad_magic");
}
