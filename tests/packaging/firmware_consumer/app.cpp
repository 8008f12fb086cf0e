// Trains a 2-8-2 network on XOR on the device and prints how many of the four rows it predicts
// right. It exits with 1 unless training returns ok and all four are right.
#include <cstdint>
#include <stdio.h>  // iprintf, setvbuf

#include "microfit/microfit.hpp"

namespace {

using Model = microfit::Sequential<microfit::Dense<2, 8>, microfit::Tanh, microfit::Dense<8, 2>>;

const float features[] = {0, 0, 0, 1, 1, 0, 1, 1};
const std::int32_t labels[] = {0, 1, 1, 0};
std::int32_t predicted[4];
Model model(3);
microfit::Trainer<Model, microfit::SparseCategoricalCrossentropy, microfit::Adam, 4> trainer(model);

}  // namespace

int main() {
    setvbuf(stdout, nullptr, _IONBF, 0);
    microfit::FitOptions options;
    options.epochs = 500;
    options.batch_size = 4;
    const microfit::Dataset data = microfit::classification_data(features, labels, 4, 2);
    if (!trainer.fit(data, options).ok()) return 1;
    if (!trainer.predict_classes(features, 4, 2, predicted, 4).ok()) return 1;
    int correct = 0;
    for (int r = 0; r < 4; ++r) correct += predicted[r] == labels[r] ? 1 : 0;
    iprintf("xor: accuracy %d of 4\n", correct);
    return correct == 4 ? 0 : 1;
}
