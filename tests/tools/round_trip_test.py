"""Parameters trained in C++ and saved by microfit read back into NumPy with tools/import_weights.py.

The C++ program trains a Dense<5, 11>, Tanh, Dense<11, 3> classifier, saves its parameters with
save_parameters and an Adam checkpoint with save_checkpoint, and prints every weight and bias and
the logits of a few rows. The test imports both records and checks that:
  - every imported value equals the printed one exactly (the record stores float32 bits);
  - NumPy's forward pass with the imported weights gives microfit's logits within 1e-5 (float64
    against float32 sums of at most 11 terms, see torch_export_test.py for the bound);
  - exporting the imported arrays again gives the record microfit wrote, byte for byte;
  - the checkpoint contains the same parameters and the Adam state after the steps taken.
"""

import os
import subprocess
import sys
import unittest

import tools_test_support as support

support.require_modules("numpy")
import numpy as np  # noqa: E402

import import_weights  # noqa: E402
import microfit_weights as mw  # noqa: E402

ARGUMENTS, UNITTEST_ARGV = support.parse_arguments()
WORK = os.path.join(ARGUMENTS.work_dir, "round_trip")
MODEL = "5-tanh-11-3"
TOLERANCE = 1e-5


def parse_printout(text):
    """Return the weights, biases, step count, inputs and logits that train_and_save printed."""
    layers = mw.parse_model(MODEL)
    weights = {index: np.full((layers[index].input_size, layers[index].output_size), np.nan, dtype=np.float32)
               for index in mw.dense_indices(layers)}
    biases = {index: np.full(layers[index].output_size, np.nan, dtype=np.float32) for index in mw.dense_indices(layers)}
    steps, inputs, logits = None, [], []
    for line in text.splitlines():
        fields = line.split()
        if fields[0] == "weight":
            weights[int(fields[1])][int(fields[2]), int(fields[3])] = np.float32(fields[4])
        elif fields[0] == "bias":
            biases[int(fields[1])][int(fields[2])] = np.float32(fields[3])
        elif fields[0] == "steps":
            steps = int(fields[1])
        elif fields[0] == "input":
            inputs.append([np.float32(v) for v in fields[1:]])
        elif fields[0] == "logits":
            logits.append([np.float32(v) for v in fields[1:]])
    return weights, biases, steps, np.array(inputs, dtype=np.float32), np.array(logits, dtype=np.float32)


class RoundTripTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(WORK, exist_ok=True)
        cls.parameters_path = os.path.join(WORK, "trained.mfit")
        cls.checkpoint_path = os.path.join(WORK, "checkpoint.mfit")
        printout = support.run_program(ARGUMENTS, cls.parameters_path, cls.checkpoint_path)
        cls.weights, cls.biases, cls.steps, cls.inputs, cls.logits = parse_printout(printout)
        cls.layers = mw.parse_model(MODEL)

    def test_imported_values_equal_the_trained_ones(self):
        imported = import_weights.load_parameters(self.parameters_path, MODEL)
        self.assertEqual(len(imported), 2)
        for index, (weight, bias) in zip(mw.dense_indices(self.layers), imported):
            with self.subTest(layer=index):
                self.assertFalse(np.isnan(self.weights[index]).any(), "the program did not print every weight")
                np.testing.assert_array_equal(weight, self.weights[index])
                np.testing.assert_array_equal(bias, self.biases[index])

    def test_numpy_forward_pass_gives_microfit_logits(self):
        imported = import_weights.load_parameters(self.parameters_path, MODEL)
        self.assertEqual(self.inputs.shape, (8, 5))
        expected = mw.forward(self.layers, imported, self.inputs)
        difference = np.max(np.abs(self.logits - expected) / np.maximum(1.0, np.abs(expected)))
        print("round trip: max scaled difference microfit - NumPy float64 %.3g" % difference)
        self.assertLessEqual(difference, TOLERANCE)

    def test_export_of_imported_arrays_rewrites_the_record(self):
        npz = os.path.join(WORK, "trained.npz")
        self.assertEqual(import_weights.main([self.parameters_path, "--model", MODEL, "--npz", npz]), 0)
        rewritten = os.path.join(WORK, "rewritten.mfit")
        result = subprocess.run([sys.executable, os.path.join(support.TOOLS, "export_weights.py"), npz, "--layout",
                                 "in-out", "--model", MODEL, "--record", rewritten],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(self.parameters_path, "rb") as original, open(rewritten, "rb") as copy:
            self.assertEqual(copy.read(), original.read())

    def test_checkpoint_has_parameters_and_adam_state(self):
        checkpoint = import_weights.read_record(self.checkpoint_path)
        parameters = import_weights.read_record(self.parameters_path)
        self.assertEqual(checkpoint.optimizer_name, "Adam")
        self.assertEqual(checkpoint.optimizer_steps, self.steps)
        self.assertEqual(self.steps, 20 * 64 // 16, "20 epochs of 64 rows in batches of 16")
        self.assertEqual(len(checkpoint.optimizer_arrays), 2)
        np.testing.assert_array_equal(checkpoint.parameters, parameters.parameters)
        first_moment, second_moment = checkpoint.optimizer_arrays
        self.assertEqual(first_moment.shape, parameters.parameters.shape)
        self.assertTrue(np.all(second_moment >= 0), "Adam's second moment is a running mean of squares")
        self.assertTrue(np.any(first_moment != 0), "after 80 steps the first moment is not all zero")
        # The parameters split as for a record without state.
        imported = mw.split_parameters(checkpoint, self.layers, self.checkpoint_path)
        np.testing.assert_array_equal(imported[1][1], self.biases[2])


if __name__ == "__main__":
    support.run_tests(UNITTEST_ARGV)
