"""Unit tests of tools/microfit_weights.py, export_weights.py and import_weights.py in Python alone:
model descriptions, the record encoder and decoder with each of their errors, the shape checks and
messages of the export, and the generated header. The cases that read PyTorch files skip when
PyTorch cannot be imported.
"""

import contextlib
import io
import os
import re
import struct
import unittest
import zlib

import tools_test_support as support

support.require_modules("numpy")
import numpy as np  # noqa: E402

import export_weights  # noqa: E402
import import_weights  # noqa: E402
import microfit_weights as mw  # noqa: E402

ARGUMENTS, UNITTEST_ARGV = support.parse_arguments()
WORK = os.path.join(ARGUMENTS.work_dir, "weight_tools")

try:
    import torch
except ImportError:
    torch = None


def random_parameters(layers, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((layers[i].input_size, layers[i].output_size)).astype(np.float32),
             rng.standard_normal(layers[i].output_size).astype(np.float32)) for i in mw.dense_indices(layers)]


def with_new_crc(body):
    """Return a record made of `body` (header and payload) and its correct CRC-32."""
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def run_export(*arguments):
    """Run export_weights.main and return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = export_weights.main([str(a) for a in arguments])
    return code, out.getvalue(), err.getvalue()


def run_import(*arguments):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = import_weights.main([str(a) for a in arguments])
    return code, out.getvalue(), err.getvalue()


def path(name):
    os.makedirs(WORK, exist_ok=True)
    return os.path.join(WORK, name)


class ModelDescriptionTest(unittest.TestCase):
    def test_compact_and_explicit_forms_agree(self):
        expected = [mw.Layer("dense", 30, 16), mw.Layer("relu", 16, 16), mw.Layer("dense", 16, 2)]
        for description in ("30-relu-16-2", "Dense(30,16),Relu,Dense(16,2)", " dense( 30 , 16 ), ReLU, Dense(16,2) ",
                            "microfit::Sequential<microfit::Dense<30, 16>, microfit::Relu, microfit::Dense<16, 2>>",
                            "Sequential<Dense<30, 16>, Relu(), Dense<16, 2>>"):
            with self.subTest(description=description):
                self.assertEqual(mw.parse_model(description), expected)

    def test_compact_activation_follows_its_width(self):
        layers = mw.parse_model("4-tanh-8-softmax-3")
        self.assertEqual([layer.cpp_name() for layer in layers], ["Dense<4, 8>", "Tanh", "Dense<8, 3>", "Softmax"])

    def test_cpp_type_names_every_layer(self):
        self.assertEqual(mw.cpp_type(mw.parse_model("3-sigmoid-2")),
                         "microfit::Sequential<microfit::Dense<3, 2>, microfit::Sigmoid>")

    def test_invalid_descriptions_are_rejected_with_reason(self):
        cases = {
            "": "empty",
            "30": "no layers",
            "30-16-relu": "ends with the activation relu",
            "30-relu-tanh-16": "two activations",
            "30-gelu-16": "'gelu' is neither a width nor an activation",
            "Relu,Dense(2,2)": "first layer must be Dense",
            "Dense(30,16),Relu,Dense(12,2)": "layer 2, Dense<12, 2>, takes 12 inputs but the layer before it has 16",
            "Dense(30,16),Gelu": "cannot read a layer",
            "Dense(0,3)": "at least 1 input",
        }
        for description, message in cases.items():
            with self.subTest(description=description):
                with self.assertRaises(mw.ModelDescriptionError) as caught:
                    mw.parse_model(description)
                self.assertIn(message, str(caught.exception))


class RecordTest(unittest.TestCase):
    layers = mw.parse_model("3-relu-4-2")

    def make_record(self):
        return mw.encode_record(self.layers, random_parameters(self.layers))

    def test_encoded_record_has_the_documented_layout(self):
        parameters = random_parameters(self.layers)
        data = mw.encode_record(self.layers, parameters)
        self.assertEqual(data[:4], b"MFIT")
        self.assertEqual(data[4:6], b"\xff\xfe", "byte order mark 0xFEFF stored little-endian")
        magic, mark, version, signature, flags, optimizer, payload = struct.unpack_from("<4sHHIHHI", data)
        self.assertEqual((version, flags, optimizer), (1, 0, 0))
        self.assertEqual(signature, mw.shape_signature(self.layers))
        self.assertEqual(payload, 4 * (3 * 4 + 4 + 4 * 2 + 2))
        self.assertEqual(len(data), 20 + payload + 4)
        # Weights [in][out] row-major, then the bias, layer after layer.
        first_weights = np.frombuffer(data, dtype="<f4", count=12, offset=20).reshape(3, 4)
        np.testing.assert_array_equal(first_weights, parameters[0][0])
        self.assertEqual(struct.unpack_from("<I", data, len(data) - 4)[0], zlib.crc32(data[:-4]))

    def test_decode_returns_what_was_encoded(self):
        parameters = random_parameters(self.layers, seed=3)
        record = mw.decode_record(mw.encode_record(self.layers, parameters))
        for (weight, bias), (expected_weight, expected_bias) in zip(mw.split_parameters(record, self.layers), parameters):
            np.testing.assert_array_equal(weight, expected_weight)
            np.testing.assert_array_equal(bias, expected_bias)
        self.assertIsNone(record.optimizer_steps)

    def test_decode_ignores_bytes_after_the_record(self):
        data = self.make_record()
        record = mw.decode_record(data + b"\xff" * 12)
        self.assertEqual(record.record_bytes, len(data))

    def test_decode_rejects_each_damage_with_its_reason(self):
        data = self.make_record()
        big_endian = data[:4] + b"\xfe\xff" + data[6:]
        version_2 = data[:6] + struct.pack("<H", 2) + data[8:]
        flipped = bytearray(data)
        flipped[30] ^= 0x01
        unknown_flag = with_new_crc(data[:12] + struct.pack("<H", 2) + data[14:-4])
        state_without_id = with_new_crc(data[:12] + struct.pack("<H", 1) + data[14:-4])
        cases = {
            "short header": (data[:10], "shorter than the 20-byte record header"),
            "bad magic": (b"PK\x03\x04" + data[4:], "does not start with microfit's magic number"),
            "big endian": (big_endian, "written big-endian"),
            "version 2": (version_2, "format version 2 but this tool reads version 1"),
            "truncated": (data[:-8], "truncated"),
            "corrupt": (bytes(flipped), "corrupt or partly written"),
            "unknown flag": (unknown_flag, "flags 0x0002"),
            "state flag without optimizer": (state_without_id, "optimizer id 0"),
        }
        for name, (damaged, message) in cases.items():
            with self.subTest(case=name):
                with self.assertRaises(mw.RecordError) as caught:
                    mw.decode_record(damaged, "model.mfit")
                self.assertIn(message, str(caught.exception))
                self.assertIn("model.mfit", str(caught.exception))

    def test_split_rejects_another_model(self):
        record = mw.decode_record(self.make_record())
        with self.assertRaises(mw.RecordError) as caught:
            mw.split_parameters(record, mw.parse_model("3-tanh-4-2"))
        self.assertIn("shape signature", str(caught.exception))

    def test_split_rejects_a_payload_of_another_size(self):
        data = self.make_record()
        longer = with_new_crc(data[:16] + struct.pack("<I", struct.unpack_from("<I", data, 16)[0] + 4)
                              + data[20:-4] + b"\x00\x00\x00\x00")
        with self.assertRaises(mw.RecordError) as caught:
            mw.split_parameters(mw.decode_record(longer), self.layers)
        self.assertIn("contains 27 parameters", str(caught.exception))
        self.assertIn("has 26", str(caught.exception))

    def test_split_rejects_non_finite_values(self):
        data = self.make_record()
        with_infinity = with_new_crc(data[:20 + 4 * 5] + struct.pack("<f", float("inf")) + data[20 + 4 * 6:-4])
        with self.assertRaises(mw.RecordError) as caught:
            mw.split_parameters(mw.decode_record(with_infinity), self.layers)
        self.assertIn("stored parameter 5 is inf", str(caught.exception))

    def test_signature_of_the_format_example(self):
        # The example of docs/storage-format.md.
        self.assertEqual(mw.shape_signature(mw.parse_model("Dense(3,7),Relu,Dense(7,1)")), 0x4300FAC5)

    def test_decode_reads_optimizer_state(self):
        # A record laid out as save_checkpoint writes it for SGD: parameters, steps, velocity.
        parameters = np.arange(26, dtype=np.float32)
        velocity = -parameters
        payload = parameters.astype("<f4").tobytes() + struct.pack("<I", 9) + velocity.astype("<f4").tobytes()
        header = struct.pack("<4sHHIHHI", b"MFIT", 0xFEFF, 1, mw.shape_signature(self.layers), 1, 1, len(payload))
        record = mw.decode_record(with_new_crc(header + payload))
        self.assertEqual(record.optimizer_name, "SGD")
        self.assertEqual(record.optimizer_steps, 9)
        np.testing.assert_array_equal(record.parameters, parameters)
        np.testing.assert_array_equal(record.optimizer_arrays[0], velocity)

    def test_encode_rejects_non_finite_values(self):
        parameters = random_parameters(self.layers)
        parameters[1][0][2, 1] = np.nan
        with self.assertRaises(mw.RecordError) as caught:
            mw.encode_record(self.layers, parameters)
        self.assertIn("layer 2, Dense<4, 2>: weight[2, 1] is nan", str(caught.exception))


class ExportTest(unittest.TestCase):
    layers = mw.parse_model("5-relu-4-tanh-4-3")

    def save_npz(self, name, layout, parameters=None):
        parameters = parameters or random_parameters(self.layers, seed=11)
        arrays = []
        for weight, bias in parameters:
            arrays += [weight if layout == "in-out" else weight.T, bias]
        np.savez(path(name), *arrays)
        return path(name), parameters

    def test_npz_layouts_give_the_same_record(self):
        keras, parameters = self.save_npz("keras.npz", "in-out")
        pytorch, _ = self.save_npz("pytorch.npz", "out-in", parameters)
        self.assertEqual(run_export(keras, "--layout", "in-out", "--model", "5-relu-4-tanh-4-3", "--record",
                                    path("keras.mfit"))[0], 0)
        self.assertEqual(run_export(pytorch, "--layout", "out-in", "--model", "5-relu-4-tanh-4-3", "--record",
                                    path("pytorch.mfit"))[0], 0)
        with open(path("keras.mfit"), "rb") as a, open(path("pytorch.mfit"), "rb") as b:
            keras_record, pytorch_record = a.read(), b.read()
        self.assertEqual(keras_record, pytorch_record)
        self.assertEqual(keras_record, mw.encode_record(self.layers, parameters))

    def test_npz_arrays_are_ordered_by_number(self):
        parameters = random_parameters(mw.parse_model("2-2-2-2-2-2-2-2-2-2-2-2"), seed=4)
        arrays = [array for pair in parameters for array in pair]
        self.assertGreater(len(arrays), 10, "needs arr_10 and above")
        np.savez(path("many.npz"), *arrays)
        code, _, err = run_export(path("many.npz"), "--layout", "in-out", "--model", "2-2-2-2-2-2-2-2-2-2-2-2",
                                  "--record", path("many.mfit"))
        self.assertEqual(code, 0, err)
        with open(path("many.mfit"), "rb") as record:
            self.assertEqual(record.read(), mw.encode_record(mw.parse_model("2-2-2-2-2-2-2-2-2-2-2-2"), parameters))

    def test_npz_needs_a_layout(self):
        keras, _ = self.save_npz("keras_no_layout.npz", "in-out")
        code, _, err = run_export(keras, "--model", "5-relu-4-tanh-4-3", "--record", path("unused.mfit"))
        self.assertEqual(code, 1)
        self.assertIn("pass --layout in-out", err)

    def test_wrong_layout_is_reported_with_a_hint(self):
        keras, _ = self.save_npz("keras_wrong_layout.npz", "in-out")
        code, _, err = run_export(keras, "--layout", "out-in", "--model", "5-relu-4-tanh-4-3", "--record",
                                  path("unused.mfit"))
        self.assertEqual(code, 1)
        self.assertIn("arrays arr_0, arr_1: the bias has shape (4,) but the weight (layout out-in) has 5 outputs", err)
        self.assertIn("with --layout in-out the weight would have 4 outputs", err)

    def test_shape_mismatch_names_layer_and_sizes(self):
        source = mw.parse_model("30-relu-16-2")
        arrays = [array for pair in random_parameters(source) for array in pair]
        np.savez(path("30_16_2.npz"), *arrays)
        code, _, err = run_export(path("30_16_2.npz"), "--layout", "in-out", "--model", "30-relu-12-2", "--record",
                                  path("unused.mfit"))
        self.assertEqual(code, 1)
        self.assertIn("layer 0: arrays arr_0, arr_1 has 16 outputs but the model's Dense<30, 12> has 12", err)
        self.assertIn("layer 2: arrays arr_2, arr_3 has 16 inputs but the model's Dense<12, 2> takes 12", err)

    def test_layer_count_mismatch_is_reported(self):
        keras, _ = self.save_npz("three_layers.npz", "in-out")
        code, _, err = run_export(keras, "--layout", "in-out", "--model", "5-relu-4-3", "--record", path("unused.mfit"))
        self.assertEqual(code, 1)
        self.assertIn("the source has 3 Dense layers but the model has 2", err)

    def test_missing_bias_exports_zero_bias(self):
        weight = np.ones((3, 2), dtype=np.float32)
        np.savez(path("no_bias.npz"), weight)
        code, _, err = run_export(path("no_bias.npz"), "--layout", "in-out", "--model", "3-2", "--record",
                                  path("no_bias.mfit"))
        self.assertEqual(code, 0, err)
        self.assertIn("no bias", err)
        with open(path("no_bias.mfit"), "rb") as record:
            (weight_read, bias_read), = mw.split_parameters(mw.decode_record(record.read()), mw.parse_model("3-2"))
        np.testing.assert_array_equal(bias_read, np.zeros(2, dtype=np.float32))

    def test_header_literals_read_back_exactly(self):
        values = np.array([0.1, -0.0, 1.0, 3.4028235e38, 1.4e-45, -2.5e-10, 123456.79], dtype=np.float32)
        layers = mw.parse_model("1-7")
        header = export_weights.render_header(layers, [(values.reshape(1, 7), values)], "check", "source.npz")
        literals = re.search(r"layer0_bias\[7\] = \{(.*)\};", header).group(1).split(", ")
        self.assertEqual(len(literals), 7)
        for literal, value in zip(literals, values):
            with self.subTest(literal=literal):
                self.assertTrue(literal.endswith("f"))
                self.assertRegex(literal, r"[.e]", "a literal without '.' or exponent would be an int")
                self.assertEqual(np.float32(literal[:-1]).tobytes(), value.tobytes())

    def test_header_declares_model_signature_and_copy(self):
        keras, _ = self.save_npz("for_header.npz", "in-out")
        code, _, err = run_export(keras, "--layout", "in-out", "--model", "5-relu-4-tanh-4-3", "--header",
                                  path("model-weights.hpp"))
        self.assertEqual(code, 0, err)
        with open(path("model-weights.hpp")) as header_file:
            header = header_file.read()
        self.assertIn("namespace model_weights {", header)
        self.assertIn("using Model = %s;" % mw.cpp_type(self.layers), header)
        self.assertIn("shape_signature = 0x%08Xu;" % mw.shape_signature(self.layers), header)
        self.assertIn("model.weight<2>(k, j) = layer2_weight[k][j];", header)
        self.assertIn("model.bias<4>(j) = layer4_bias[j];", header)

    def test_invalid_namespace_is_rejected(self):
        keras, _ = self.save_npz("for_namespace.npz", "in-out")
        code, _, err = run_export(keras, "--layout", "in-out", "--model", "5-relu-4-tanh-4-3", "--header",
                                  path("x.hpp"), "--namespace", "class")
        self.assertEqual(code, 1)
        self.assertIn("namespace 'class' is not a usable C++ identifier", err)


@unittest.skipUnless(torch is not None, "PyTorch cannot be imported")
class TorchSourceTest(unittest.TestCase):
    def test_whole_module_needs_allow_pickle(self):
        torch.save(torch.nn.Sequential(torch.nn.Linear(3, 2)), path("module.pt"))
        code, _, err = run_export(path("module.pt"), "--model", "3-2", "--record", path("unused.mfit"))
        self.assertEqual(code, 1)
        self.assertIn("Pass --allow-pickle if you trust the file", err)
        code, _, err = run_export(path("module.pt"), "--allow-pickle", "--model", "3-2", "--record", path("module.mfit"))
        self.assertEqual(code, 0, err)

    def test_activation_mismatch_is_reported(self):
        torch.save(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)), path("tanh.pt"))
        code, _, err = run_export(path("tanh.pt"), "--allow-pickle", "--model", "3-relu-4-2", "--record",
                                  path("unused.mfit"))
        self.assertEqual(code, 1)
        self.assertIn("layer 1: the source has module '1' (Tanh) where the model has Relu", err)

    def test_dropout_is_skipped(self):
        network = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(4, 2))
        torch.save(network, path("dropout.pt"))
        code, _, err = run_export(path("dropout.pt"), "--allow-pickle", "--model", "3-relu-4-2", "--record",
                                  path("dropout.mfit"))
        self.assertEqual(code, 0, err)
        self.assertIn("skipping module '2' (Dropout)", err)

    def test_unsupported_module_is_rejected(self):
        torch.save(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)), path("batchnorm.pt"))
        code, _, err = run_export(path("batchnorm.pt"), "--allow-pickle", "--model", "3-4", "--record",
                                  path("unused.mfit"))
        self.assertEqual(code, 1)
        self.assertIn("module '1' (BatchNorm1d) is not supported", err)

    def test_softmax_over_the_batch_is_rejected(self):
        torch.save(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Softmax(dim=0)), path("softmax0.pt"))
        code, _, err = run_export(path("softmax0.pt"), "--allow-pickle", "--model", "3-softmax-2", "--record",
                                  path("unused.mfit"))
        self.assertEqual(code, 1)
        self.assertIn("softmax over dim 0", err)

    def test_state_dict_of_linear_without_bias(self):
        network = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False))
        torch.save(network.state_dict(), path("no_bias.pt"))
        code, _, err = run_export(path("no_bias.pt"), "--model", "3-2", "--record", path("no_bias_pt.mfit"))
        self.assertEqual(code, 0, err)
        with open(path("no_bias_pt.mfit"), "rb") as record:
            (weight, bias), = mw.split_parameters(mw.decode_record(record.read()), mw.parse_model("3-2"))
        np.testing.assert_array_equal(weight, network[0].weight.detach().numpy().T)
        np.testing.assert_array_equal(bias, np.zeros(2, dtype=np.float32))

    def test_layout_option_is_rejected_for_pytorch_files(self):
        torch.save(torch.nn.Sequential(torch.nn.Linear(3, 2)).state_dict(), path("plain.pt"))
        code, _, err = run_export(path("plain.pt"), "--layout", "in-out", "--model", "3-2", "--record",
                                  path("unused.mfit"))
        self.assertEqual(code, 1)
        self.assertIn("--layout applies to .npz files only", err)


class ImportTest(unittest.TestCase):
    layers = mw.parse_model("3-relu-4-2")

    def test_npz_arrays_use_requested_layout(self):
        parameters = random_parameters(self.layers, seed=8)
        with open(path("import.mfit"), "wb") as record:
            record.write(mw.encode_record(self.layers, parameters))
        for layout in ("in-out", "out-in"):
            with self.subTest(layout=layout):
                npz = path("import-%s.npz" % layout)
                code, out, err = run_import(path("import.mfit"), "--model", "3-relu-4-2", "--npz", npz, "--layout", layout)
                self.assertEqual(code, 0, err)
                with np.load(npz) as archive:
                    arrays = [archive[name] for name in archive.files]
                self.assertEqual(archive.files, ["arr_0", "arr_1", "arr_2", "arr_3"])
                weight = arrays[0] if layout == "in-out" else arrays[0].T
                np.testing.assert_array_equal(weight, parameters[0][0])
                np.testing.assert_array_equal(arrays[3], parameters[1][1])

    def test_npz_without_model_is_a_usage_error(self):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            with self.assertRaises(SystemExit) as caught:
                import_weights.main([path("import.mfit"), "--npz", path("unused.npz")])
        self.assertEqual(caught.exception.code, 2)
        self.assertIn("--npz needs --model", err.getvalue())

    def test_bad_file_is_an_error_with_the_reason(self):
        with open(path("not_a_record.mfit"), "wb") as record:
            record.write(b"\x89PNG\r\n\x1a\n" + bytes(40))
        code, _, err = run_import(path("not_a_record.mfit"))
        self.assertEqual(code, 1)
        self.assertIn("does not start with microfit's magic number", err)


if __name__ == "__main__":
    support.run_tests(UNITTEST_ARGV)
