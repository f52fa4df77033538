"""Check an ONNX graph against TensorRT 10.1's ONNX-parser support matrix, without TensorRT.

A graph that TensorRT would reject should fail here, at build time on the desktop, not on the
vehicle. The matrix (data/onnx-tensorrt-10.1-operators.tsv, copied with its provenance line from
onnx/onnx-tensorrt, Apache-2.0) gives per operator: supported, types, restrictions. Besides
"is the operator supported for this input type", the restrictions that can bite exported graphs are
checked: symmetric Q/DQ (zero points 0), `axes` as initializers (Reduce*, Slice, Squeeze, Pad,
CumSum), constant Unsqueeze axes, Resize modes, TopK, and the opset range 9–20.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError

TABLE = Path(__file__).resolve().parent / "data" / "onnx-tensorrt-10.1-operators.tsv"
OPSET_RANGE = (9, 20)

# ONNX TensorProto element types → the matrix's type names.
_TYPE_NAMES = {
    1: "FP32",
    10: "FP16",
    16: "BF16",
    6: "INT32",
    7: "INT64",
    9: "BOOL",
    2: "UINT8",
    3: "INT8",
    17: "FP8",
    18: "FP8",
    19: "FP8",
    20: "FP8",
    22: "INT4",
    11: "FP64",
    12: "UINT32",
    13: "UINT64",
    5: "INT16",
    4: "UINT16",
    21: "UINT4",
    8: "STRING",
}
# Which input holds `axes` (opset ≥ 13/18 style) for ops whose restriction names it.
_AXES_INPUT = {"Slice": 3, "Squeeze": 1, "Unsqueeze": 1, "Pad": 3, "CumSum": 1}
_RESIZE_COORD = {
    "half_pixel",
    "pytorch_half_pixel",
    "tf_half_pixel_for_nn",
    "asymmetric",
    "align_corners",
}
_RESIZE_MODE = {"nearest", "linear"}
_RESIZE_NEAREST = {"floor", "ceil", "round_prefer_floor", "round_prefer_ceil"}


@dataclass(frozen=True)
class OpSupport:
    supported: bool
    types: frozenset[str]
    restrictions: str


@lru_cache(maxsize=1)
def support_table(path: str = str(TABLE)) -> dict[str, OpSupport]:
    """Parse the TSV (first line: provenance comment; then a header)."""
    table: dict[str, OpSupport] = {}
    lines = [ln for ln in Path(path).read_text().splitlines() if ln and not ln.startswith("#")]
    for line in lines[1:]:
        cols = (line.split("\t") + ["", "", ""])[:4]
        types = {t.strip().replace("INF64", "INT64") for t in cols[2].split(",") if t.strip()}
        table[cols[0].strip()] = OpSupport(
            cols[1].strip() == "Y", frozenset(types), cols[3].strip()
        )
    return table


def _attr(node, name: str, default: Any = None) -> Any:
    import onnx

    for a in node.attribute:
        if a.name == name:
            value = onnx.helper.get_attribute_value(a)
            return value.decode() if isinstance(value, bytes) else value
    return default


def check_graph(model, table: dict[str, OpSupport] | None = None) -> list[str]:
    """All problems TensorRT 10.1's parser would have with `model` (ModelProto); [] when none."""
    import onnx
    from onnx import numpy_helper

    table = table or support_table()
    problems: list[str] = []
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None or not OPSET_RANGE[0] <= opset <= OPSET_RANGE[1]:
        problems.append(
            f"opset {opset}: TensorRT 10 parses opsets {OPSET_RANGE[0]}–{OPSET_RANGE[1]}"
        )
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except Exception:  # shape inference is a help for type checks, not a requirement
        inferred = model
    g = inferred.graph
    types: dict[str, int] = {}
    for v in list(g.input) + list(g.output) + list(g.value_info):
        types[v.name] = v.type.tensor_type.elem_type
    inits = {i.name: i for i in g.initializer}
    for i in g.initializer:
        types[i.name] = i.data_type
    constants = set(inits) | {o for n in g.node if n.op_type == "Constant" for o in n.output}
    io_names = {v.name for v in list(g.input) + list(g.output)}

    for node in g.node:
        where = f"{node.op_type} node '{node.name or node.output[0]}'"
        if node.domain not in ("", "ai.onnx"):
            problems.append(f"{where}: custom domain '{node.domain}' is not parsed by TensorRT")
            continue
        spec = table.get(node.op_type)
        if spec is None or not spec.supported:
            problems.append(f"{where}: operator not supported by TensorRT 10.1's ONNX parser")
            continue
        first = next((x for x in node.input if x), None)
        elem = types.get(first) if first else types.get(node.output[0]) if node.output else None
        name = _TYPE_NAMES.get(elem or 0)
        if name and spec.types and name not in spec.types:
            problems.append(
                f"{where}: input type {name} not in supported types "
                f"({', '.join(sorted(spec.types))})"
            )
        for out in node.output:  # UINT8 is allowed at network I/O only
            if _TYPE_NAMES.get(types.get(out, 0)) == "UINT8" and out not in io_names:
                problems.append(f"{where}: UINT8 tensor '{out}' inside the network")
        problems.extend(
            f"{where}: {p}" for p in _restrictions(node, spec, inits, constants, numpy_helper)
        )
    return problems


def _quantize(node, inits, constants, numpy_helper) -> list[str]:
    out = []
    if len(node.input) > 2 and node.input[2]:
        zp = node.input[2]
        if zp not in inits:
            out.append("zero point is not an initializer")
        elif numpy_helper.to_array(inits[zp]).any():
            out.append("zero point is not 0: TensorRT takes symmetric quantization only")
    if node.input[1] not in inits and node.input[1] not in constants:
        out.append("scale is not a constant")
    return out


def _input_kinds(node, spec: OpSupport, inits, constants) -> list[str]:
    """The restrictions column's "`axes`/`axis` must be an initializer/constant" conditions."""
    out = []
    idx = _AXES_INPUT.get(node.op_type, 1)
    has_axes = len(node.input) > idx and node.input[idx]
    if (
        "`axes` must be an initializer" in spec.restrictions
        and has_axes
        and node.input[idx] not in inits
    ):
        out.append("`axes` is not an initializer")
    if (
        "`axes` must be a constant tensor" in spec.restrictions
        and has_axes
        and node.input[idx] not in constants
    ):
        out.append("`axes` is not a constant tensor")
    if (
        "`axis` must be an initializer" in spec.restrictions
        and len(node.input) > 1
        and node.input[1] not in inits
    ):
        out.append("`axis` is not an initializer")
    return out


def _resize(node) -> list[str]:
    coord = _attr(node, "coordinate_transformation_mode", "half_pixel")
    mode = _attr(node, "mode", "nearest")
    axes = _attr(node, "axes")
    checks = [
        (coord not in _RESIZE_COORD, f"coordinate_transformation_mode '{coord}' unsupported"),
        (mode not in _RESIZE_MODE, f"mode '{mode}' unsupported"),
        (
            mode == "nearest"
            and _attr(node, "nearest_mode", "round_prefer_floor") not in _RESIZE_NEAREST,
            "nearest_mode unsupported",
        ),
        (bool(_attr(node, "antialias", 0)), "antialiasing unsupported"),
        (
            _attr(node, "keep_aspect_ratio_policy", "stretch") != "stretch",
            "keep_aspect_ratio_policy must be 'stretch'",
        ),
        (
            axes is not None
            and len(node.input) > 2
            and bool(node.input[2])
            and list(axes) != list(range(len(axes))),
            "`axes` must be an iota vector when `scales` is given",
        ),
    ]
    return [text for bad, text in checks if bad]


def _topk(node, inits, numpy_helper) -> list[str]:
    out = []
    if _attr(node, "sorted", 1) != 1:
        out.append("`sorted` must be 1")
    k = node.input[1] if len(node.input) > 1 else None
    if k in inits and int(numpy_helper.to_array(inits[k]).reshape(-1)[0]) >= 3840:
        out.append("K must be less than 3840")
    return out


def _restrictions(node, spec: OpSupport, inits, constants, numpy_helper) -> list[str]:
    """Problems with the restrictions column's conditions that apply to this node."""
    op = node.op_type
    out = _input_kinds(node, spec, inits, constants)
    if op in ("QuantizeLinear", "DequantizeLinear"):
        out = _quantize(node, inits, constants, numpy_helper) + out
    if op == "Resize":
        out += _resize(node)
    if op == "TopK":
        out += _topk(node, inits, numpy_helper)
    if op == "Dropout" and (len(node.input) < 3 or node.input[2] not in inits):
        out.append("`training_mode` must be an initializer that is False")
    return out


def check_onnx(path_or_model) -> None:
    """Raise EdgexaiError listing what TensorRT 10.1 would reject; quiet when all is well."""
    import onnx

    model = path_or_model
    if not isinstance(model, onnx.ModelProto):
        try:
            model = onnx.load(str(path_or_model), load_external_data=False)
        except Exception as exc:
            raise EdgexaiError(f"{path_or_model} is not a readable ONNX file ({exc})") from None
    problems = check_graph(model)
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise EdgexaiError(
            "the ONNX graph would not parse in TensorRT 10: " + "; ".join(problems[:10]) + more
        )
