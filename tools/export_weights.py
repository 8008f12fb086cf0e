#!/usr/bin/env python3
"""Export the weights of a PyTorch or Keras model for a microfit model.

Sources:
  model.pt / model.pth  a torch.nn.Sequential of Linear, ReLU, Sigmoid, Tanh and Softmax layers
                        (Dropout and Identity are skipped: they are the identity at inference),
                        saved with torch.save(model) or torch.save(model.state_dict()).
  weights.npz           weight and bias arrays in layer order, as
                        np.savez(*keras_model.get_weights()) writes them. --layout gives the
                        storage order of the weight matrices: in-out for Keras kernels [in][out],
                        out-in for PyTorch Linear weights [out][in].

A whole module is checked layer by layer against the target model, activations included. A
state_dict or an .npz contains no activations, so only the Dense shapes are checked against it.

Outputs:
  --header FILE  a C++ header with the parameters as constant arrays, the model type and an inline
                 copy_parameters(Model&) that writes them into a model.
  --record FILE  microfit's binary parameter record, for microfit::load_parameters.

Example:
  tools/export_weights.py classifier.pt --model 30-relu-16-2 --header classifier_weights.hpp
"""

import argparse
import os
import pickle
import re
import sys
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import microfit_weights as mw  # noqa: E402


class ExportError(Exception):
    """An input that cannot be exported for the target model; the message states what to change."""


class SourceLayer(NamedTuple):
    """A layer of the source model. Dense layers carry their weight as [in][out]."""

    kind: str
    origin: str  # where the layer came from, for messages: "module '2' (Linear)", "arrays arr_0, arr_1"
    input_size: Optional[int] = None
    output_size: Optional[int] = None
    weight: Optional[np.ndarray] = None
    bias: Optional[np.ndarray] = None


def warn(message: str) -> None:
    print("export_weights.py: note: " + message, file=sys.stderr)


def dense_from_arrays(origin: str, weight: np.ndarray, bias: Optional[np.ndarray], layout: str) -> SourceLayer:
    """Build a Dense source layer from a weight matrix in `layout` and an optional bias."""
    weight = np.asarray(weight)
    if weight.ndim != 2:
        raise ExportError("%s: the weight has shape %s but a Dense weight is a matrix" % (origin, weight.shape))
    weight_in_out = weight if layout == "in-out" else weight.T
    inputs, outputs = weight_in_out.shape
    if bias is None:
        warn("%s has no bias; exporting a zero bias, which computes the same" % origin)
        bias = np.zeros(outputs, dtype=np.float32)
    bias = np.asarray(bias)
    if bias.shape != (outputs,):
        hint = ""
        if bias.ndim == 1 and bias.shape[0] == inputs:
            other = "out-in" if layout == "in-out" else "in-out"
            hint = "; with --layout %s the weight would have %d outputs, so check the layout" % (other, inputs)
        raise ExportError("%s: the bias has shape %s but the weight (layout %s) has %d outputs%s"
                          % (origin, bias.shape, layout, outputs, hint))
    return SourceLayer("dense", origin, inputs, outputs, weight_in_out.astype(np.float32), bias.astype(np.float32))


def load_npz(path: str, layout: Optional[str]) -> List[SourceLayer]:
    """Read weight and bias arrays in layer order. np.savez(*arrays) names them arr_0, arr_1, ...,
    which are ordered by number; other names keep the order in which they were saved."""
    if layout is None:
        raise ExportError("%s: pass --layout in-out (Keras kernels, [in][out]) or --layout out-in (PyTorch weights, "
                          "[out][in]); a square matrix looks the same either way, so it cannot be guessed" % path)
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        if names and all(re.fullmatch(r"arr_\d+", name) for name in names):
            names.sort(key=lambda name: int(name[4:]))
        arrays = [(name, archive[name]) for name in names]

    layers = []
    position = 0
    while position < len(arrays):
        name, weight = arrays[position]
        if weight.ndim != 2:
            raise ExportError("%s: array %s has shape %s where a weight matrix was expected; the arrays must be weight, "
                              "bias, weight, bias, ... of Dense layers only" % (path, name, weight.shape))
        bias = None
        origin = "arrays %s" % name
        if position + 1 < len(arrays) and arrays[position + 1][1].ndim == 1:
            bias = arrays[position + 1][1]
            origin = "arrays %s, %s" % (name, arrays[position + 1][0])
            position += 1
        position += 1
        layers.append(dense_from_arrays(origin, weight, bias, layout))
    if not layers:
        raise ExportError("%s contains no arrays" % path)
    return layers


def load_torch(path: str, allow_pickle: bool) -> Tuple[List[SourceLayer], bool]:
    """Read a saved nn.Sequential or state_dict. Returns the layers and whether they include the
    activations (true for a whole module)."""
    try:
        import torch
    except ImportError as error:
        raise ExportError("reading %s needs PyTorch, which this Python cannot import (%s); install it (Debian: "
                          "python3-torch) or export the weights to .npz" % (path, error)) from error

    try:
        # weights_only=True reads tensors and containers only; it exists since PyTorch 1.13.
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # PyTorch raises this both for a pickled module and for a file that is no pickle at all.
        if not allow_pickle:
            raise ExportError("%s is not a plain state_dict: it contains pickled Python objects, such as a whole module, "
                              "and loading them runs code from the file. Pass --allow-pickle if you trust the file, "
                              "or save model.state_dict() instead" % path) from error
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=False)
        except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError) as second_error:
            raise ExportError("cannot read %s as a file saved by torch.save: %s" % (path, second_error)) from second_error
    except (RuntimeError, EOFError) as error:
        raise ExportError("cannot read %s as a file saved by torch.save: %s" % (path, error)) from error

    if isinstance(loaded, torch.nn.Module):
        return layers_from_module(loaded), True
    if isinstance(loaded, dict):
        return layers_from_state_dict(loaded, path), False
    raise ExportError("%s contains a %s, not an nn.Sequential or a state_dict" % (path, type(loaded).__name__))


def layers_from_module(module) -> List[SourceLayer]:
    import torch.nn as nn

    if not isinstance(module, nn.Sequential):
        raise ExportError("the saved module is a %s; export an nn.Sequential, or save its state_dict() and give the "
                          "architecture with --model" % type(module).__name__)
    activations = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh"}
    layers = []
    for name, child in module.named_children():
        origin = "module '%s' (%s)" % (name, type(child).__name__)
        if isinstance(child, nn.Linear):
            weight = child.weight.detach().cpu().numpy()
            bias = None if child.bias is None else child.bias.detach().cpu().numpy()
            layers.append(dense_from_arrays(origin, weight, bias, "out-in"))
        elif type(child) in activations:
            layers.append(SourceLayer(activations[type(child)], origin))
        elif isinstance(child, nn.Softmax):
            # dim None is PyTorch's legacy implicit choice, which is dim 1 for [batch][features] input.
            if child.dim not in (None, 1, -1):
                raise ExportError("%s takes softmax over dim %s; microfit's Softmax is over the features of each "
                                  "row (dim 1 or -1)" % (origin, child.dim))
            layers.append(SourceLayer("softmax", origin))
        elif isinstance(child, (nn.Dropout, nn.Identity)):
            warn("skipping %s, which is the identity at inference" % origin)
        else:
            raise ExportError("%s is not supported: microfit has Dense (nn.Linear), Relu, Sigmoid, Tanh and Softmax"
                              % origin)
    return layers


def layers_from_state_dict(state, path: str) -> List[SourceLayer]:
    """Group the entries of a state_dict by module prefix ("0.weight", "0.bias", "2.weight", ...), in
    the order the module registered them."""
    groups = {}
    for key, tensor in state.items():
        prefix, _, field = key.rpartition(".")
        if field not in ("weight", "bias"):
            raise ExportError("%s: state_dict entry '%s' is not a Linear weight or bias; only models of Linear and "
                              "activation layers can be exported" % (path, key))
        groups.setdefault(prefix, {})[field] = tensor.detach().cpu().numpy()
    layers = []
    for prefix, fields in groups.items():
        origin = "state_dict '%s.weight'" % prefix
        if "weight" not in fields:
            raise ExportError("%s: state_dict has '%s.bias' but no '%s.weight'" % (path, prefix, prefix))
        layers.append(dense_from_arrays(origin, fields["weight"], fields.get("bias"), "out-in"))
    if not layers:
        raise ExportError("%s: the state_dict is empty" % path)
    return layers


def source_name(layer: SourceLayer) -> str:
    """Name of a source layer in a message: "Linear" for Dense layers, else the activation."""
    return "Linear" if layer.kind == "dense" else mw.CPP_NAMES[layer.kind]


def compare_dense(index: int, source: SourceLayer, target: mw.Layer) -> List[str]:
    differences = []
    if source.input_size != target.input_size:
        differences.append("layer %d: %s has %d inputs but the model's %s takes %d"
                           % (index, source.origin, source.input_size, target.cpp_name(), target.input_size))
    if source.output_size != target.output_size:
        differences.append("layer %d: %s has %d outputs but the model's %s has %d"
                           % (index, source.origin, source.output_size, target.cpp_name(), target.output_size))
    return differences


def match_layers(source: Sequence[SourceLayer], target: Sequence[mw.Layer],
                 with_activations: bool) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Check the source layers against the target model and return (weight [in][out], bias) for
    each Dense layer. Raises ExportError listing every difference."""
    differences = []
    target_dense = mw.dense_indices(target)
    if with_activations:
        pairs = list(zip(range(len(target)), source))
        if len(source) != len(target):
            differences.append("the PyTorch model has %d layers (%s) but the model has %d (%s)"
                               % (len(source), ", ".join(source_name(layer) for layer in source), len(target),
                                  ", ".join(layer.cpp_name() for layer in target)))
    else:
        pairs = list(zip(target_dense, source))
        if len(source) != len(target_dense):
            differences.append("the source has %d Dense layers but the model has %d (%s)"
                               % (len(source), len(target_dense),
                                  ", ".join(target[index].cpp_name() for index in target_dense)))

    for index, layer in pairs:
        expected_layer = target[index]
        if layer.kind != expected_layer.kind:
            differences.append("layer %d: the source has %s where the model has %s"
                               % (index, layer.origin, expected_layer.cpp_name()))
        elif layer.kind == "dense":
            differences.extend(compare_dense(index, layer, expected_layer))
    if differences:
        raise ExportError("the source does not match %s:\n  %s" % (mw.cpp_type(target), "\n  ".join(differences)))
    return [(layer.weight, layer.bias) for layer in source if layer.kind == "dense"]


def float_literal(value: np.float32) -> str:
    """Return the shortest decimal that reads back as the same float32, as a C++ float literal."""
    text = str(np.float32(value))
    if "." not in text and "e" not in text:
        text += ".0"
    return text + "f"


def array_initializer(values: np.ndarray, indent: str) -> str:
    if values.ndim == 1:
        return "{" + ", ".join(float_literal(v) for v in values) + "}"
    rows = [indent + "    " + array_initializer(row, indent + "    ") + "," for row in values]
    return "{\n" + "\n".join(rows) + "\n" + indent + "}"


def render_header(layers: Sequence[mw.Layer], parameters: Sequence[Tuple[np.ndarray, np.ndarray]],
                  namespace: str, source_path: str) -> str:
    model_type = mw.cpp_type(layers)
    signature = mw.shape_signature(layers)
    lines = [
        "// Parameters of %s," % model_type,
        "// exported by tools/export_weights.py from %s. Regenerate this file with that tool instead of" % os.path.basename(source_path),
        "// editing it.",
        "//",
        "//   %s::Model model;" % namespace,
        "//   %s::copy_parameters(model);" % namespace,
        "#pragma once",
        "",
        "#include <cstddef>",
        "#include <cstdint>",
        "",
        "#include <microfit/sequential.hpp>",
        "",
        "namespace %s {" % namespace,
        "",
        "using Model = %s;" % model_type,
        "",
        "/// Shape signature of Model as the export tool computed it. The check below fails when the tool and",
        "/// microfit/sequential.hpp disagree.",
        "inline constexpr std::uint32_t shape_signature = %su;" % mw.format_signature(signature),
        "static_assert(Model::shape_signature == shape_signature,",
        "              \"The shape signature computed by tools/export_weights.py differs from Model::shape_signature.\");",
        "",
    ]
    copies = []
    for index, (weight, bias) in zip(mw.dense_indices(layers), parameters):
        layer = layers[index]
        lines.append("/// Layer %d, %s: weight [%d inputs][%d outputs], input-major." % (index, layer.cpp_name(), layer.input_size, layer.output_size))
        lines.append("inline constexpr float layer%d_weight[%d][%d] = %s;"
                     % (index, layer.input_size, layer.output_size, array_initializer(weight, "")))
        lines.append("/// Layer %d, %s: bias [%d outputs]." % (index, layer.cpp_name(), layer.output_size))
        lines.append("inline constexpr float layer%d_bias[%d] = %s;" % (index, layer.output_size, array_initializer(bias, "")))
        lines.append("")
        copies += [
            "    for (std::size_t k = 0; k < %d; ++k) {" % layer.input_size,
            "        for (std::size_t j = 0; j < %d; ++j) model.weight<%d>(k, j) = layer%d_weight[k][j];" % (layer.output_size, index, index),
            "    }",
            "    for (std::size_t j = 0; j < %d; ++j) model.bias<%d>(j) = layer%d_bias[j];" % (layer.output_size, index, index),
        ]
    lines += [
        "/// Copies the exported weights and biases into `model`. The SIMD padding lanes are not written:",
        "/// they keep the zeros that the model's constructor, load_parameters and training leave there.",
        "inline void copy_parameters(Model& model) noexcept {",
    ] + copies + [
        "}",
        "",
        "}  // namespace %s" % namespace,
        "",
    ]
    return "\n".join(lines)


CPP_KEYWORDS = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char", "class", "const",
    "constexpr", "continue", "default", "delete", "do", "double", "else", "enum", "explicit", "export", "extern",
    "false", "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "not",
    "nullptr", "operator", "or", "private", "protected", "public", "register", "return", "short", "signed", "sizeof",
    "static", "struct", "switch", "template", "this", "throw", "true", "try", "typedef", "typename", "union",
    "unsigned", "using", "virtual", "void", "volatile", "while", "microfit", "std",
}


def default_namespace(header_path: str) -> str:
    stem = os.path.splitext(os.path.basename(header_path))[0]
    name = re.sub(r"\W", "_", stem)
    return "_" + name if name[:1].isdigit() else name


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="Export PyTorch or Keras weights as a C++ header and a microfit parameter record.",
        epilog="The compact model notation lists the input width, then each Dense width, which may be preceded "
               "by the activation that follows its layer: 30-relu-16-2 is Dense<30, 16>, Relu, Dense<16, 2>. Layers "
               "are numbered from 0, as in Sequential::Layer<I>.")
    parser.add_argument("source", help="a .pt/.pth file from torch.save, or an .npz file of weight and bias arrays")
    parser.add_argument("--model", required=True,
                        help='the microfit model, as "30-relu-16-2" or "Dense(30,16),Relu,Dense(16,2)"')
    parser.add_argument("--layout", choices=("in-out", "out-in"),
                        help="storage of the .npz weight matrices: in-out for Keras kernels [in][out], out-in for "
                             "PyTorch Linear weights [out][in]; required for .npz, not allowed for PyTorch files")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="allow loading a whole pickled PyTorch module, which runs code from the file")
    parser.add_argument("--header", help="write the C++ header to this file")
    parser.add_argument("--namespace", help="C++ namespace of the header (default: the header's file name)")
    parser.add_argument("--record", help="write the binary parameter record to this file")
    arguments = parser.parse_args(argv)
    if arguments.header is None and arguments.record is None:
        parser.error("nothing to write: pass --header FILE, --record FILE or both")
    if arguments.namespace is not None and arguments.header is None:
        parser.error("--namespace applies to the header; pass --header FILE too")
    return arguments


def export(arguments) -> str:
    """Run the export and return the summary line; raises ExportError, ModelDescriptionError or
    RecordError with the reason when it cannot."""
    target = mw.parse_model(arguments.model)
    is_npz = arguments.source.lower().endswith(".npz")
    if is_npz:
        source = load_npz(arguments.source, arguments.layout)
        with_activations = False
    else:
        if arguments.layout is not None:
            raise ExportError("--layout applies to .npz files only; PyTorch files always store Linear weights "
                              "[out][in]")
        source, with_activations = load_torch(arguments.source, arguments.allow_pickle)
    parameters = match_layers(source, target, with_activations)

    namespace = None
    if arguments.header is not None:
        namespace = arguments.namespace or default_namespace(arguments.header)
        if not re.fullmatch(r"[A-Za-z_]\w*", namespace) or namespace in CPP_KEYWORDS:
            raise ExportError("namespace '%s' is not a usable C++ identifier; choose one with --namespace" % namespace)

    # Encode first: it rejects NaN and infinite values before any file is written.
    record = mw.encode_record(target, parameters)
    written = []
    if arguments.record is not None:
        with open(arguments.record, "wb") as out:
            out.write(record)
        written.append(arguments.record)
    if arguments.header is not None:
        with open(arguments.header, "w", encoding="utf-8") as out:
            out.write(render_header(target, parameters, namespace, arguments.source))
        written.append(arguments.header)
    return "%s: %d parameters, shape signature %s; wrote %s" % (
        mw.cpp_type(target), mw.parameter_count(target), mw.format_signature(mw.shape_signature(target)),
        ", ".join(written))


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    try:
        print(export(arguments))
    except (ExportError, mw.ModelDescriptionError, mw.RecordError, OSError) as error:
        print("export_weights.py: error: %s" % error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
