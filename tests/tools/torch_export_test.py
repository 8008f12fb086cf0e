"""PyTorch models exported with tools/export_weights.py predict in microfit what they predict in
PyTorch.

Two seeded networks are built in PyTorch: one with every activation kind that ends in Softmax,
saved as a whole module, and one with unbounded outputs (logits), saved as a state_dict. Each is
exported to a parameter record, which a C++ program loads with microfit::load_parameters. The
first is also exported to a C++ header, and a program built at test time includes it. The outputs
of both programs on fixed inputs are compared with PyTorch's.

Tolerance: both sides compute in float32 but sum in different orders (PyTorch's matrix product
against microfit's SIMD kernels, with or without fused multiply-add) and use different exp and tanh
approximations (microfit's are within a few ulp). Each output may therefore differ by a few
float32 roundings of the values summed into it, about 1e-7 relative for these sizes. The test
allows 1e-5, absolute for outputs up to 1 in magnitude and relative above, which is still far below
what a wrong weight, a transposed matrix or a wrong activation produces (changes of 1e-2 or more).
"""

import os
import subprocess
import sys
import unittest

import tools_test_support as support

support.require_modules("numpy", "torch")
import numpy as np  # noqa: E402
import torch  # noqa: E402

import microfit_weights as mw  # noqa: E402


def add_nested_options(parser):
    parser.add_argument("--ctest", required=True)
    parser.add_argument("--generator", required=True)
    parser.add_argument("--make-program", default=None)
    parser.add_argument("--config", default=None)
    parser.add_argument("--microfit-source", required=True)
    parser.add_argument("--nested-option", action="append", default=[])


ARGUMENTS, UNITTEST_ARGV = support.parse_arguments(add_nested_options)
WORK = os.path.join(ARGUMENTS.work_dir, "torch_export")
EXPORT = os.path.join(support.TOOLS, "export_weights.py")
TOLERANCE = 1e-5

SOFTMAX_MODEL = "Dense(7,13),Relu,Dense(13,10),Tanh,Dense(10,5),Sigmoid,Dense(5,3),Softmax"
LOGITS_MODEL = "6-relu-20-relu-20-4"


def build_softmax_network():
    torch.manual_seed(1234)
    network = torch.nn.Sequential(
        torch.nn.Linear(7, 13), torch.nn.ReLU(), torch.nn.Linear(13, 10), torch.nn.Tanh(),
        torch.nn.Linear(10, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 3), torch.nn.Softmax(dim=1))
    # PyTorch's default initialization gives small outputs before the Softmax, which would make
    # the outputs nearly uniform. Larger weights make every layer matter to the result.
    with torch.no_grad():
        for module in network:
            if isinstance(module, torch.nn.Linear):
                module.weight.mul_(3.0)
                module.bias.mul_(2.0)
    return network


def build_logits_network():
    torch.manual_seed(99)
    network = torch.nn.Sequential(torch.nn.Linear(6, 20), torch.nn.ReLU(), torch.nn.Linear(20, 20), torch.nn.ReLU(),
                                  torch.nn.Linear(20, 4))
    with torch.no_grad():
        for module in network:
            if isinstance(module, torch.nn.Linear):
                module.weight.mul_(2.0)
    return network


def write_inputs(path, rows, columns, seed):
    """Write float32 inputs uniform in [-3, 3) and return them."""
    values = np.random.default_rng(seed).uniform(-3.0, 3.0, size=(rows, columns)).astype(np.float32)
    with open(path, "w") as out:
        for row in values:
            out.write(" ".join(repr(float(v)) for v in row) + "\n")
    return values


def read_outputs(text):
    return np.array([[float(v) for v in line.split()] for line in text.splitlines() if line.strip()], dtype=np.float32)


def export(*arguments):
    result = subprocess.run([sys.executable, EXPORT] + list(arguments), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True)
    if result.returncode != 0:
        raise AssertionError("export_weights.py %s failed:\n%s" % (" ".join(arguments), result.stderr))
    return result.stdout


def read_record_parameters(path, layers):
    with open(path, "rb") as record:
        return mw.split_parameters(mw.decode_record(record.read(), path), layers, path)


def scaled_difference(actual, expected):
    """Return max |actual - expected| / max(1, |expected|) over all outputs."""
    return float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))
                        / np.maximum(1.0, np.abs(expected.astype(np.float64)))))


class TorchExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(WORK, exist_ok=True)
        cls.softmax_network = build_softmax_network()
        cls.logits_network = build_logits_network()
        torch.save(cls.softmax_network, os.path.join(WORK, "softmax_network.pt"))
        torch.save(cls.logits_network.state_dict(), os.path.join(WORK, "logits_state_dict.pt"))
        cls.softmax_inputs = write_inputs(os.path.join(WORK, "softmax_inputs.txt"), 40, 7, seed=1)
        cls.logits_inputs = write_inputs(os.path.join(WORK, "logits_inputs.txt"), 40, 6, seed=2)
        with torch.no_grad():
            cls.softmax_expected = cls.softmax_network(torch.from_numpy(cls.softmax_inputs)).numpy()
            cls.logits_expected = cls.logits_network(torch.from_numpy(cls.logits_inputs)).numpy()

    def report(self, name, actual, expected, layers, parameters, inputs):
        float64 = mw.forward(layers, parameters, inputs)
        print("%s: max scaled difference microfit - PyTorch %.3g, microfit - float64 %.3g, PyTorch - float64 %.3g"
              % (name, scaled_difference(actual, expected), scaled_difference(actual, float64),
                 scaled_difference(expected, float64)))

    def test_whole_module_record_predicts_as_pytorch(self):
        record = os.path.join(WORK, "softmax_network.mfit")
        export(os.path.join(WORK, "softmax_network.pt"), "--allow-pickle", "--model", SOFTMAX_MODEL, "--record", record)
        actual = read_outputs(support.run_program(ARGUMENTS, "softmax", record, os.path.join(WORK, "softmax_inputs.txt")))

        self.assertEqual(actual.shape, self.softmax_expected.shape)
        layers = mw.parse_model(SOFTMAX_MODEL)
        self.report("softmax model, record", actual, self.softmax_expected, layers,
                    read_record_parameters(record, layers), self.softmax_inputs)
        self.assertLessEqual(scaled_difference(actual, self.softmax_expected), TOLERANCE)
        # Each row is a probability distribution, so a wrong or missing Softmax shows here too.
        np.testing.assert_allclose(actual.sum(axis=1), 1.0, atol=1e-6)

    def test_state_dict_record_predicts_as_pytorch(self):
        record = os.path.join(WORK, "logits_network.mfit")
        export(os.path.join(WORK, "logits_state_dict.pt"), "--model", LOGITS_MODEL, "--record", record)
        actual = read_outputs(support.run_program(ARGUMENTS, "logits", record, os.path.join(WORK, "logits_inputs.txt")))

        self.assertEqual(actual.shape, self.logits_expected.shape)
        layers = mw.parse_model(LOGITS_MODEL)
        self.report("logits model, record", actual, self.logits_expected, layers,
                    read_record_parameters(record, layers), self.logits_inputs)
        self.assertGreater(np.abs(self.logits_expected).max(), 1.0, "the logits test needs outputs above 1")
        self.assertLessEqual(scaled_difference(actual, self.logits_expected), TOLERANCE)

    def test_exported_header_predicts_as_record(self):
        header_dir = os.path.join(WORK, "header")
        os.makedirs(header_dir, exist_ok=True)
        record = os.path.join(WORK, "softmax_network_for_header.mfit")
        export(os.path.join(WORK, "softmax_network.pt"), "--allow-pickle", "--model", SOFTMAX_MODEL,
               "--header", os.path.join(header_dir, "exported_weights.hpp"), "--record", record)
        inputs = os.path.join(WORK, "softmax_inputs.txt")
        outputs = os.path.join(WORK, "header_outputs.txt")
        if os.path.exists(outputs):
            os.remove(outputs)

        command = [ARGUMENTS.ctest, "--build-and-test", os.path.join(os.path.dirname(os.path.abspath(__file__)), "header_program"),
                   os.path.join(WORK, "header_program_build"), "--build-generator", ARGUMENTS.generator]
        if ARGUMENTS.make_program:
            command += ["--build-makeprogram", ARGUMENTS.make_program]
        if ARGUMENTS.config:
            command += ["--build-config", ARGUMENTS.config]
        command += ["--build-options"] + ARGUMENTS.nested_option + [
            "-DMICROFIT_SOURCE_DIR=" + ARGUMENTS.microfit_source, "-DEXPORTED_HEADER_DIR=" + header_dir,
            "-DINPUTS=" + inputs, "-DOUTPUTS=" + outputs]
        command += ["--test-command", ARGUMENTS.ctest, "--output-on-failure"]
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        self.assertEqual(result.returncode, 0, "building or running the header program failed:\n" + result.stdout[-6000:])

        with open(outputs) as out:
            from_header = read_outputs(out.read())
        from_record = read_outputs(support.run_program(ARGUMENTS, "softmax", record, inputs))
        # The header and the record carry the same float32 values, so the outputs are identical.
        np.testing.assert_array_equal(from_header, from_record)
        self.assertLessEqual(scaled_difference(from_header, self.softmax_expected), TOLERANCE)


if __name__ == "__main__":
    support.run_tests(UNITTEST_ARGV)
