// Prints Sequential::shape_signature of several models, one per line as "<decimal signature>
// <model description>", for tests/tools/shape_signature_test.py to compare with the Python
// implementation in tools/microfit_weights.py.
#include <cstdio>

#include <microfit/sequential.hpp>

namespace {

template <class Model>
void print_signature(const char* description) {
    std::printf("%lu %s\n", static_cast<unsigned long>(Model::shape_signature), description);
}

}  // namespace

int main() {
    using microfit::Dense;
    using microfit::Relu;
    using microfit::Sequential;
    using microfit::Sigmoid;
    using microfit::Softmax;
    using microfit::Tanh;

    print_signature<Sequential<Dense<1, 1>>>("Dense(1,1)");
    print_signature<Sequential<Dense<30, 16>, Relu, Dense<16, 2>>>("Dense(30,16),Relu,Dense(16,2)");
    print_signature<Sequential<Dense<30, 16>, Tanh, Dense<16, 2>>>("Dense(30,16),Tanh,Dense(16,2)");
    print_signature<Sequential<Dense<16, 30>, Relu, Dense<30, 2>>>("Dense(16,30),Relu,Dense(30,2)");
    print_signature<Sequential<Dense<4, 8>, Sigmoid, Dense<8, 3>, Softmax>>("Dense(4,8),Sigmoid,Dense(8,3),Softmax");
    print_signature<Sequential<Dense<7, 13>, Relu, Dense<13, 10>, Tanh, Dense<10, 5>, Sigmoid, Dense<5, 3>, Softmax>>(
        "Dense(7,13),Relu,Dense(13,10),Tanh,Dense(10,5),Sigmoid,Dense(5,3),Softmax");
    print_signature<Sequential<Dense<2, 2>, Relu, Relu, Dense<2, 2>>>("Dense(2,2),Relu,Relu,Dense(2,2)");
    // Sizes of two and three bytes exercise every byte of the hashed words. The model type is never
    // instantiated, so its 21-million-float parameter array takes no memory.
    print_signature<Sequential<Dense<300, 70000>, Relu, Dense<70000, 1>>>("Dense(300,70000),Relu,Dense(70000,1)");
    return 0;
}
