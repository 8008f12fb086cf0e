// The microfit models that tests/tools/torch_export_test.py builds in PyTorch. The Python side
// states the same architectures; loading a record checks the shape signature, so a mismatch fails.
#pragma once

#include <microfit/sequential.hpp>

namespace tools_test {

/// Every activation kind, odd widths (so every row has SIMD padding), ending in Softmax. Exported
/// from a whole nn.Sequential.
using SoftmaxModel = microfit::Sequential<microfit::Dense<7, 13>, microfit::Relu, microfit::Dense<13, 10>, microfit::Tanh,
                                          microfit::Dense<10, 5>, microfit::Sigmoid, microfit::Dense<5, 3>, microfit::Softmax>;

/// Unbounded outputs (logits). Exported from a state_dict.
using LogitsModel = microfit::Sequential<microfit::Dense<6, 20>, microfit::Relu, microfit::Dense<20, 20>, microfit::Relu,
                                         microfit::Dense<20, 4>>;

}  // namespace tools_test
