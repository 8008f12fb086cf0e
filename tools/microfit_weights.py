"""Model descriptions, shape signatures and parameter records of microfit, shared by the weight tools.

A model description names the layers of a microfit::Sequential in one of two forms:

  compact   "30-relu-16-2": the input width, then the output width of each Dense layer. A width
            may be preceded by the activation that follows its layer, as in Keras's
            Dense(16, activation="relu"), so "30-relu-16-2" is Dense<30, 16>, Relu, Dense<16, 2>
            and "4-tanh-8-softmax-3" is Dense<4, 8>, Tanh, Dense<8, 3>, Softmax.
  explicit  "Dense(30,16),Relu,Dense(16,2)", or the C++ type as written in a program:
            "microfit::Sequential<microfit::Dense<30, 16>, microfit::Relu, microfit::Dense<16, 2>>".

Layers are numbered from 0, as in Sequential::Layer<I>. The record format is described in
docs/storage-format.md and implemented in C++ by include/microfit/storage.hpp.
"""

import re
import struct
import zlib
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

# Layer kind ids of microfit::detail::LayerKind (include/microfit/layers.hpp). They enter the shape
# signature, so they must stay equal to the C++ values.
LAYER_KIND_IDS = {"dense": 1, "relu": 2, "sigmoid": 3, "tanh": 4, "softmax": 5}
ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax")
CPP_NAMES = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax"}

# Record header (storage::offset in include/microfit/storage.hpp): magic, byte order mark, format
# version, shape signature, flags, optimizer id, payload size, all little-endian.
MAGIC = b"MFIT"
BYTE_ORDER_MARK = 0xFEFF
FORMAT_VERSION = 1
HEADER = struct.Struct("<4sHHIHHI")
HEADER_BYTES = HEADER.size
CHECKSUM_BYTES = 4
FLAG_OPTIMIZER_STATE = 0x0001
# storage::OptimizerId: name and number of per-parameter state arrays of each stored optimizer.
OPTIMIZERS = {0: ("none", 0), 1: ("SGD", 1), 2: ("Adam", 2)}


class Layer(NamedTuple):
    """One layer of a microfit model, with its width bound as Sequential binds it."""

    kind: str
    input_size: int
    output_size: int

    @property
    def parameter_count(self) -> int:
        return self.input_size * self.output_size + self.output_size if self.kind == "dense" else 0

    def cpp_name(self) -> str:
        if self.kind == "dense":
            return "Dense<%d, %d>" % (self.input_size, self.output_size)
        return CPP_NAMES[self.kind]


class ModelDescriptionError(ValueError):
    """A model description that cannot be parsed or that describes no valid microfit model."""


class RecordError(ValueError):
    """A parameter record that is invalid, or that does not belong to the given model."""


def _activation_kind(word: str) -> Optional[str]:
    kind = word.strip().lower()
    return kind if kind in ACTIVATIONS else None


def _parse_compact(description: str) -> List[Layer]:
    tokens = [token.strip() for token in description.split("-")]
    if not tokens[0].isdigit():
        raise ModelDescriptionError(
            "model description %r must start with the input width, as in 30-relu-16-2" % description)
    width = int(tokens[0])
    layers: List[Layer] = []
    pending_activation = None
    for token in tokens[1:]:
        if token.isdigit():
            layers.append(Layer("dense", width, int(token)))
            width = int(token)
            if pending_activation is not None:
                layers.append(Layer(pending_activation, width, width))
                pending_activation = None
            continue
        kind = _activation_kind(token)
        if kind is None:
            raise ModelDescriptionError(
                "model description %r: %r is neither a width nor an activation (relu, sigmoid, tanh, softmax)"
                % (description, token))
        if pending_activation is not None:
            raise ModelDescriptionError(
                "model description %r: two activations (%s, %s) in a row; each Dense width takes at most one"
                % (description, pending_activation, kind))
        pending_activation = kind
    if pending_activation is not None:
        raise ModelDescriptionError(
            "model description %r ends with the activation %s; write it before the width of the layer it "
            "follows, as in 16-softmax-2" % (description, pending_activation))
    return layers


_EXPLICIT_LAYER = re.compile(
    r"\s*(?:microfit::)?(?:"
    r"(?P<dense>dense)\s*[(<]\s*(?P<inputs>\d+)\s*,\s*(?P<outputs>\d+)\s*[)>]"
    r"|(?P<activation>relu|sigmoid|tanh|softmax)(?:\s*\(\s*\))?"
    r")\s*(?:,|$)",
    re.IGNORECASE)


def _parse_explicit(description: str) -> List[Layer]:
    text = description.strip()
    wrapper = re.fullmatch(r"(?:microfit::)?Sequential\s*<(.*)>", text, re.DOTALL)
    if wrapper:
        text = wrapper.group(1).strip()
    layers: List[Layer] = []
    position = 0
    width = None
    while position < len(text):
        match = _EXPLICIT_LAYER.match(text, position)
        if match is None or match.end() == position:
            raise ModelDescriptionError(
                "model description %r: cannot read a layer at %r; layers are Dense(in, out), Relu, Sigmoid, "
                "Tanh and Softmax, separated by commas" % (description, text[position:position + 30]))
        position = match.end()
        index = len(layers)
        if match.group("dense"):
            inputs, outputs = int(match.group("inputs")), int(match.group("outputs"))
            if width is not None and inputs != width:
                raise ModelDescriptionError(
                    "model description %r: layer %d, Dense<%d, %d>, takes %d inputs but the layer before it "
                    "has %d outputs" % (description, index, inputs, outputs, inputs, width))
            layers.append(Layer("dense", inputs, outputs))
            width = outputs
        else:
            kind = match.group("activation").lower()
            if width is None:
                raise ModelDescriptionError(
                    "model description %r: the first layer must be Dense, because activations take their "
                    "width from the layer before them" % description)
            layers.append(Layer(kind, width, width))
    return layers


def parse_model(description: str) -> List[Layer]:
    """Parse a model description in compact or explicit form into microfit's layers."""
    text = description.strip()
    if not text:
        raise ModelDescriptionError("the model description is empty")
    layers = _parse_compact(text) if text[0].isdigit() else _parse_explicit(text)
    if not layers:
        raise ModelDescriptionError("model description %r has no layers" % description)
    for index, layer in enumerate(layers):
        if layer.kind == "dense" and (layer.input_size < 1 or layer.output_size < 1):
            raise ModelDescriptionError(
                "model description %r: layer %d, %s, needs at least 1 input and 1 output"
                % (description, index, layer.cpp_name()))
    return layers


def cpp_type(layers: Sequence[Layer]) -> str:
    """Return the C++ type of the model, as in microfit::Sequential<microfit::Dense<30, 16>, ...>."""
    return "microfit::Sequential<%s>" % ", ".join("microfit::" + layer.cpp_name() for layer in layers)


def _fnv1a_word(hash_value: int, word: int) -> int:
    for byte in range(4):
        hash_value ^= (word >> (8 * byte)) & 0xFF
        hash_value = (hash_value * 16777619) & 0xFFFFFFFF
    return hash_value


def shape_signature(layers: Sequence[Layer]) -> int:
    """Return Sequential::shape_signature: 32-bit FNV-1a over the little-endian bytes of the words
    (kind id, input size, output size) of every layer, as detail::LayerSizes computes it."""
    hash_value = 2166136261
    for layer in layers:
        for word in (LAYER_KIND_IDS[layer.kind], layer.input_size, layer.output_size):
            hash_value = _fnv1a_word(hash_value, word & 0xFFFFFFFF)
    return hash_value


def format_signature(signature: int) -> str:
    """Format a shape signature as microfit's status messages do, as in 0x4300FAC5."""
    return "0x%08X" % signature


def parameter_count(layers: Sequence[Layer]) -> int:
    return sum(layer.parameter_count for layer in layers)


def dense_indices(layers: Sequence[Layer]) -> List[int]:
    return [index for index, layer in enumerate(layers) if layer.kind == "dense"]


def encode_record(layers: Sequence[Layer], parameters: Sequence[Tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Encode the record that microfit::save_parameters writes for these parameters.

    `parameters` contains (weight [in][out], bias [out]) for each Dense layer in order. Values are
    rounded to float32. Raises RecordError for a wrong shape or a NaN or infinite value, which
    microfit::load_parameters would reject.
    """
    indices = dense_indices(layers)
    if len(parameters) != len(indices):
        raise RecordError("got parameters for %d Dense layers but the model has %d" % (len(parameters), len(indices)))
    chunks = []
    for index, (weight, bias) in zip(indices, parameters):
        layer = layers[index]
        weight = np.asarray(weight, dtype=np.float32)
        bias = np.asarray(bias, dtype=np.float32)
        if weight.shape != (layer.input_size, layer.output_size) or bias.shape != (layer.output_size,):
            raise RecordError("layer %d, %s: got weight %s and bias %s, expected (%d, %d) and (%d,)"
                              % (index, layer.cpp_name(), weight.shape, bias.shape, layer.input_size,
                                 layer.output_size, layer.output_size))
        for name, values in (("weight", weight), ("bias", bias)):
            bad = np.argwhere(~np.isfinite(values))
            if bad.size:
                position = tuple(int(i) for i in bad[0])
                raise RecordError("layer %d, %s: %s%s is %r, but microfit stores only finite values"
                                  % (index, layer.cpp_name(), name, list(position), float(values[position])))
        chunks.append(np.ascontiguousarray(weight).astype("<f4").tobytes())
        chunks.append(bias.astype("<f4").tobytes())
    payload = b"".join(chunks)
    header = HEADER.pack(MAGIC, BYTE_ORDER_MARK, FORMAT_VERSION, shape_signature(layers), 0, 0, len(payload))
    body = header + payload
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


class Record(NamedTuple):
    """The contents of a parameter record."""

    version: int
    shape_signature: int
    flags: int
    optimizer_id: int
    payload_bytes: int
    record_bytes: int        # header, payload and CRC; bytes after them are not part of the record
    parameters: np.ndarray   # float32, every stored parameter in record order
    optimizer_steps: Optional[int]
    optimizer_arrays: List[np.ndarray]  # float32, each as long as `parameters`

    @property
    def optimizer_name(self) -> str:
        return OPTIMIZERS[self.optimizer_id][0]


def decode_record(data: bytes, source: str = "the record") -> Record:
    """Decode a parameter record, checking what microfit::inspect_record checks, in the same order:
    size of the header, magic, byte order mark, version, size of the whole record, CRC-32, flags and
    optimizer id. Raises RecordError naming `source` and the failed check."""
    if len(data) < HEADER_BYTES:
        raise RecordError("%s is %d bytes long, shorter than the %d-byte record header" % (source, len(data), HEADER_BYTES))
    magic, mark, version, signature, flags, optimizer_id, payload_bytes = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise RecordError("%s does not start with microfit's magic number %r (found %r); it is not a parameter record"
                          % (source, MAGIC.decode(), magic))
    if mark != BYTE_ORDER_MARK:
        detail = " (written big-endian)" if mark == 0xFFFE else ""
        raise RecordError("%s has byte order mark 0x%04x but records are little-endian with mark 0x%04x%s"
                          % (source, mark, BYTE_ORDER_MARK, detail))
    if version != FORMAT_VERSION:
        raise RecordError("%s has format version %d but this tool reads version %d" % (source, version, FORMAT_VERSION))
    record_bytes = HEADER_BYTES + payload_bytes + CHECKSUM_BYTES
    if len(data) < record_bytes:
        raise RecordError("%s is %d bytes long but its header gives a %d-byte payload, so the record needs %d bytes "
                          "(truncated?)" % (source, len(data), payload_bytes, record_bytes))
    covered = HEADER_BYTES + payload_bytes
    (stored_crc,) = struct.unpack_from("<I", data, covered)
    computed_crc = zlib.crc32(data[:covered]) & 0xFFFFFFFF
    if stored_crc != computed_crc:
        raise RecordError("%s has CRC-32 0x%08x but its contents give 0x%08x; the record is corrupt or partly written"
                          % (source, stored_crc, computed_crc))

    has_state = bool(flags & FLAG_OPTIMIZER_STATE)
    if flags & ~FLAG_OPTIMIZER_STATE or optimizer_id not in OPTIMIZERS or has_state != (optimizer_id != 0):
        raise RecordError("%s has flags 0x%04x and optimizer id %d, which format version %d does not define"
                          % (source, flags, optimizer_id, FORMAT_VERSION))

    arrays = OPTIMIZERS[optimizer_id][1] if has_state else 0
    state_bytes = 4 if has_state else 0
    float_bytes = payload_bytes - state_bytes
    if float_bytes < 0 or float_bytes % (4 * (1 + arrays)) != 0:
        raise RecordError("%s has a %d-byte payload, which does not divide into %d float32 arrays%s"
                          % (source, payload_bytes, 1 + arrays, " and a step count" if has_state else ""))
    count = float_bytes // (4 * (1 + arrays))
    payload = memoryview(data)[HEADER_BYTES:covered]
    parameters = np.frombuffer(payload, dtype="<f4", count=count).astype(np.float32)
    steps = None
    optimizer_arrays = []
    if has_state:
        (steps,) = struct.unpack_from("<I", payload, 4 * count)
        for k in range(arrays):
            offset = 4 * count + 4 + 4 * count * k
            optimizer_arrays.append(np.frombuffer(payload, dtype="<f4", count=count, offset=offset).astype(np.float32))
    return Record(version, signature, flags, optimizer_id, payload_bytes, record_bytes, parameters, steps,
                  optimizer_arrays)


def split_parameters(record: Record, layers: Sequence[Layer],
                     source: str = "the record") -> List[Tuple[np.ndarray, np.ndarray]]:
    """Check that a record belongs to the model (shape signature, payload size, then finite values,
    as microfit::load_parameters does) and return (weight [in][out], bias [out]) for each Dense layer."""
    expected_signature = shape_signature(layers)
    if record.shape_signature != expected_signature:
        raise RecordError("%s has shape signature %s but %s has %s; it was saved from a model of another shape"
                          % (source, format_signature(record.shape_signature), cpp_type(layers),
                             format_signature(expected_signature)))
    expected = parameter_count(layers)
    if record.parameters.size != expected:
        raise RecordError("%s contains %d parameters but %s has %d"
                          % (source, record.parameters.size, cpp_type(layers), expected))
    bad = np.flatnonzero(~np.isfinite(record.parameters))
    if bad.size:
        raise RecordError("%s: stored parameter %d is %r, but records contain only finite values"
                          % (source, int(bad[0]), float(record.parameters[bad[0]])))
    result = []
    offset = 0
    for index in dense_indices(layers):
        layer = layers[index]
        weight_count = layer.input_size * layer.output_size
        weight = record.parameters[offset:offset + weight_count].reshape(layer.input_size, layer.output_size)
        offset += weight_count
        bias = record.parameters[offset:offset + layer.output_size]
        offset += layer.output_size
        result.append((weight.copy(), bias.copy()))
    return result


def forward(layers: Sequence[Layer], parameters: Sequence[Tuple[np.ndarray, np.ndarray]],
            inputs: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Run the model on inputs [rows][input_size] with NumPy, in `dtype`, as microfit's forward pass
    defines it: Dense is x W + b, Softmax is taken over each row."""
    x = np.asarray(inputs, dtype=dtype)
    dense = iter(parameters)
    for layer in layers:
        if layer.kind == "dense":
            weight, bias = next(dense)
            x = x @ np.asarray(weight, dtype=dtype) + np.asarray(bias, dtype=dtype)
        elif layer.kind == "relu":
            x = np.maximum(x, 0)
        elif layer.kind == "sigmoid":
            x = 1 / (1 + np.exp(-x))
        elif layer.kind == "tanh":
            x = np.tanh(x)
        else:
            shifted = np.exp(x - x.max(axis=1, keepdims=True))
            x = shifted / shifted.sum(axis=1, keepdims=True)
    return x
