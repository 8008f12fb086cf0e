#!/usr/bin/env python3
"""Read a microfit parameter record into NumPy arrays.

The record is checked as microfit::load_parameters checks it: magic number, byte order, format
version, size, CRC-32, and, with --model, the shape signature and the number of parameters. A
record stores only a hash of the model's shape, so splitting the parameters into layers needs the
model description.

Examples:
  tools/import_weights.py model.mfit                      print the header
  tools/import_weights.py model.mfit --model 30-relu-16-2 --npz weights.npz

The .npz contains the weight and bias arrays in layer order as arr_0, arr_1, ..., as np.savez(*arrays)
writes them, so keras_model.set_weights([archive[name] for name in archive.files]) loads them
with the default --layout in-out. With --layout out-in the weights are [out][in], the layout of
PyTorch's Linear.weight.
"""

import argparse
import os
import sys
from typing import List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import microfit_weights as mw  # noqa: E402


def read_record(path: str) -> mw.Record:
    """Read and check the record in a file; raises RecordError or OSError."""
    with open(path, "rb") as record_file:
        return mw.decode_record(record_file.read(), path)


def load_parameters(path: str, model: str) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Return (weight [in][out], bias [out]) for each Dense layer of `model`, a model description,
    read from the record in `path`."""
    return mw.split_parameters(read_record(path), mw.parse_model(model), path)


def describe(record: mw.Record, path: str) -> List[str]:
    lines = [
        "%s: microfit parameter record, format version %d" % (path, record.version),
        "  shape signature %s" % mw.format_signature(record.shape_signature),
        "  %d parameters (%d payload bytes)" % (record.parameters.size, record.payload_bytes),
    ]
    if record.optimizer_steps is not None:
        lines.append("  %s optimizer state after %d steps (%d arrays), not exported"
                     % (record.optimizer_name, record.optimizer_steps, len(record.optimizer_arrays)))
    return lines


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="Read a microfit parameter record into NumPy arrays.",
        epilog="The compact model notation lists the input width, then each Dense width, which may be preceded "
               "by the activation that follows its layer: 30-relu-16-2 is Dense<30, 16>, Relu, Dense<16, 2>.")
    parser.add_argument("record", help="the parameter record, as written by microfit::save_parameters, "
                                       "save_checkpoint or tools/export_weights.py")
    parser.add_argument("--model", help='the microfit model, as "30-relu-16-2" or "Dense(30,16),Relu,Dense(16,2)"; '
                                         "needed to check the shape and split the parameters into layers")
    parser.add_argument("--npz", help="write the weight and bias arrays to this .npz file")
    parser.add_argument("--layout", choices=("in-out", "out-in"), default="in-out",
                        help="layout of the weights written to the .npz: in-out (Keras kernels, the default) or "
                             "out-in (PyTorch Linear weights)")
    arguments = parser.parse_args(argv)
    if arguments.npz is not None and arguments.model is None:
        parser.error("--npz needs --model: the record stores only a hash of the layer shapes")
    return arguments


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    try:
        record = read_record(arguments.record)
        lines = describe(record, arguments.record)
        if record.record_bytes < os.path.getsize(arguments.record):
            lines.append("  %d bytes after the record are ignored"
                         % (os.path.getsize(arguments.record) - record.record_bytes))
        if arguments.model is not None:
            layers = mw.parse_model(arguments.model)
            parameters = mw.split_parameters(record, layers, arguments.record)
            lines.append("  matches %s" % mw.cpp_type(layers))
            arrays = []
            for index, (weight, bias) in zip(mw.dense_indices(layers), parameters):
                stored = weight if arguments.layout == "in-out" else weight.T
                lines.append("  layer %d, %s: weight %s, bias %s" % (index, layers[index].cpp_name(),
                                                                     stored.shape, bias.shape))
                arrays += [stored, bias]
            if arguments.npz is not None:
                np.savez(arguments.npz, *arrays)
                lines.append("wrote %s (%d arrays, layout %s)" % (arguments.npz, len(arrays), arguments.layout))
    except (mw.RecordError, mw.ModelDescriptionError, OSError) as error:
        print("import_weights.py: error: %s" % error, file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
