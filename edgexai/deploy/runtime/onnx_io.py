"""The declared inputs and outputs of an ONNX graph, read from its bytes with the stdlib only.

Why not `onnx` or ONNX Runtime: the deployment side checks a build before any backend loads it
(doctor with TensorRT has no ONNX Runtime; a vehicle image has no `onnx`), and all it needs is the
shape of a few tensors — e.g. that the classifier's `logits` have as many columns as the manifest
names classes. A ModelProto is protobuf; the fields read here (onnx/onnx.proto, stable since IR
version 3): ModelProto.graph = 7; GraphProto.input = 11, output = 12; ValueInfoProto.name = 1,
type = 2; TypeProto.tensor_type = 1; TypeProto.Tensor.shape = 2; TensorShapeProto.dim = 1;
Dimension.dim_value = 1, dim_param = 2. Everything else is skipped by its length, unparsed.
"""

from __future__ import annotations

from collections.abc import Iterator

from edgexai.core.errors import EdgexaiError

Dim = int | str | None  # a size, a symbolic name ('N'), or unknown
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


class OnnxFormatError(EdgexaiError):
    """Bytes that are not a protobuf ModelProto."""


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise OnnxFormatError("truncated or malformed varint")
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7


def _fields(buf: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(field number, value) of one message: ints for scalars, a view for length-delimited."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, i = _varint(buf, i)
            yield number, value
            continue
        if wire == _LEN:
            size, i = _varint(buf, i)
            end = i + size
        elif wire in (_FIXED64, _FIXED32):
            end = i + (8 if wire == _FIXED64 else 4)
        else:
            raise OnnxFormatError(f"unsupported protobuf wire type {wire}")
        if end > len(buf):
            raise OnnxFormatError("truncated message")
        yield number, buf[i:end]
        i = end


def _sub(buf: memoryview, number: int) -> Iterator[memoryview]:
    return (v for n, v in _fields(buf) if n == number and isinstance(v, memoryview))


def _dim(buf: memoryview) -> Dim:
    for n, v in _fields(buf):
        if n == 1 and isinstance(v, int):
            return v - (1 << 64) if v >= 1 << 63 else v
        if n == 2 and isinstance(v, memoryview):
            return bytes(v).decode("utf-8", "replace")
    return None


def _value_info(buf: memoryview) -> tuple[str, tuple[Dim, ...] | None]:
    name, shape = "", None
    for n, v in _fields(buf):
        if n == 1 and isinstance(v, memoryview):
            name = bytes(v).decode("utf-8", "replace")
        elif n == 2 and isinstance(v, memoryview):
            for tensor in _sub(v, 1):
                for dims in _sub(tensor, 2):
                    shape = tuple(_dim(d) for d in _sub(dims, 1))
    return name, shape


def graph_io(
    data: bytes,
) -> tuple[dict[str, tuple[Dim, ...] | None], dict[str, tuple[Dim, ...] | None]]:
    """({input name: shape}, {output name: shape}) as the graph declares them (shape None where
    the graph declares none). OnnxFormatError for bytes that are not an ONNX model."""
    buf = memoryview(data)
    graphs = list(_sub(buf, 7))
    if not graphs:
        raise OnnxFormatError("no graph in the model")
    inputs, outputs = {}, {}
    for number, value in _fields(graphs[-1]):
        if number in (11, 12) and isinstance(value, memoryview):
            name, shape = _value_info(value)
            (inputs if number == 11 else outputs)[name] = shape
    return inputs, outputs


def output_width(data: bytes, name: str = "logits") -> int | None:
    """The last dimension of output `name` (a classifier's class count), or None where the graph
    does not declare it as a number. OnnxFormatError for bytes that are not an ONNX model."""
    shape = graph_io(data)[1].get(name)
    if not shape or not isinstance(shape[-1], int) or shape[-1] < 0:
        return None
    return shape[-1]
