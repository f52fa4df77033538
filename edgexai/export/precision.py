"""Variants of model.onnx derived from the graph itself: no-CAM, FP16, INT8 Q/DQ.

Precision lives in the graph so one file serves ONNX Runtime and both TensorRT generations
(TensorRT 11 has no FP16/INT8 builder flags). Everything here needs onnx + onnxruntime, not
torch, so variants can be made from a build folder on any machine that holds the data.

- no-CAM: the same graph cut at `logits` (identical backbone, for measuring the CAM's cost).
- FP16: backbone in float16; the CAM head (the nodes only `cam` depends on) stays float32, because
  its min-max normaliser adds 1e-8, which is 0 in float16 (an all-zero map would become 0/0).
  I/O policy: `images`, `logits`, `cam` stay float32 (Casts at the boundary), so callers feed the
  same arrays to every precision.
- INT8: ONNX Runtime's static quantiser in QDQ format, int8 activations and weights, both
  symmetric (zero points 0, as TensorRT requires), weights per output channel, biases left float
  (TensorRT dequantises int8/fp8/int4 only), calibrated on the images of calibration/. Only Conv
  and Gemm inputs (and residual Adds) are quantised; the CAM head stays float32.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.errors import EdgexaiError
from edgexai.runtime.base import ONNX_FILES as VARIANT_FILES
from edgexai.runtime.base import ONNX_ROLES as VARIANT_ROLES


def _toposort(proto):
    """Graph tools may append nodes out of order; onnx.checker wants them sorted. (onnx_ir comes
    with the exporter; without it the graph is checked as it is.)"""
    try:
        import onnx_ir as ir
        from onnx_ir.passes.common import TopologicalSortPass
    except ImportError:
        return proto

    model = ir.serde.deserialize_model(proto)
    TopologicalSortPass()(model)
    return ir.serde.serialize_model(model)


def _save(proto, path: Path) -> Path:
    import onnx

    proto = _toposort(proto)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise EdgexaiError(f"the {path.name} variant fails onnx.checker: {exc}") from None
    tmp = path.with_name(path.name + ".tmp")
    onnx.save_model(proto, tmp, save_as_external_data=False)
    os.replace(tmp, path)
    return path


def logits_nodes(graph) -> set[int]:
    """Indices of the nodes that `logits` depends on (the backbone and classifier)."""
    producer = {o: i for i, n in enumerate(graph.node) for o in n.output}
    keep: set[int] = set()
    stack = ["logits"]
    while stack:
        name = stack.pop()
        i = producer.get(name)
        if i is None or i in keep:
            continue
        keep.add(i)
        stack.extend(x for x in graph.node[i].input if x)
    return keep


def cam_head_nodes(graph) -> list[str]:
    """Names of the nodes only the CAM output needs (they keep float32 in every variant)."""
    keep = logits_nodes(graph)
    return [n.name for i, n in enumerate(graph.node) if i not in keep]


def make_nocam(src: Path, dst: Path) -> Path:
    """The graph cut at `logits`: what the export with --no-cam would be, from the same weights."""
    import onnx

    proto = onnx.load(str(src))
    keep = logits_nodes(proto.graph)
    nodes = [n for i, n in enumerate(proto.graph.node) if i in keep]
    used = {x for n in nodes for x in n.input}
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    inits = [i for i in proto.graph.initializer if i.name in used]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(inits)
    outs = [o for o in proto.graph.output if o.name == "logits"]
    del proto.graph.output[:]
    proto.graph.output.extend(outs)
    vi = [v for v in proto.graph.value_info if v.name in used]
    del proto.graph.value_info[:]
    proto.graph.value_info.extend(vi)
    return _save(proto, dst)


def make_fp16(src: Path, dst: Path) -> Path:
    """Backbone in float16, CAM head and I/O in float32 (see the module docstring).

    Written here rather than with onnxruntime's converter: with a node block list that converter
    casts between every pair of blocked nodes through float16, which loses the normaliser's eps.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    proto = onnx.load(str(src))
    g = proto.graph
    back = logits_nodes(g)
    inits = {i.name: i for i in g.initializer}
    back_inputs = {x for i in back for x in g.node[i].input}
    head_inputs = {x for i, n in enumerate(g.node) if i not in back for x in n.input}
    produced_back = {o for i in back for o in g.node[i].output}
    renames: dict[str, str] = {}
    new_inits = []
    for name in back_inputs & set(inits):  # float initializers of the backbone → float16 copies
        t = inits[name]
        if t.data_type == TensorProto.FLOAT:
            arr = numpy_helper.to_array(t).astype(np.float16)
            new_inits.append(numpy_helper.from_array(arr, name + "_fp16"))
            renames[name] = name + "_fp16"
    cast_in = helper.make_node("Cast", ["images"], ["images_fp16"], to=TensorProto.FLOAT16,
                               name="cast_images_fp16")
    renames["images"] = "images_fp16"
    nodes = [cast_in]
    tail = []
    for i, node in enumerate(g.node):
        if i in back:
            node.input[:] = [renames.get(x, x) for x in node.input]
            if node.op_type == "Cast":
                for a in node.attribute:
                    if a.name == "to" and a.i == TensorProto.FLOAT:
                        a.i = TensorProto.FLOAT16
            outs = []
            for o in node.output:  # backbone tensors that leave it are cast back to float32
                if o == "logits" or o in head_inputs:
                    outs.append(o + "_fp16")
                    renames[o] = o + "_fp16"  # later backbone nodes read the float16 tensor
                    tail.append(helper.make_node("Cast", [o + "_fp16"], [o], to=TensorProto.FLOAT,
                                                 name=f"cast_{o}_fp32"))
                else:
                    outs.append(o)
            node.output[:] = outs
            nodes.append(node)
            nodes.extend(tail)
            tail = []
        else:
            nodes.append(node)
    assert produced_back  # a graph without a backbone is not one of ours
    del g.node[:]
    g.node.extend(nodes)
    keep = [t for t in g.initializer
            if t.name in head_inputs or (t.name in back_inputs and t.name not in renames)]
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    del g.value_info[:]
    return _save(proto, dst)


class _Reader:
    """onnxruntime CalibrationDataReader over normalised arrays, in small batches."""

    def __init__(self, x: np.ndarray, batch: int = 32) -> None:
        self._batches = iter([{"images": x[i:i + batch]} for i in range(0, len(x), batch)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def make_int8(src: Path, dst: Path, calib: np.ndarray, method: str = "minmax") -> Path:
    """Q/DQ INT8 graph calibrated on `calib` (normalised N×3×H×W float32)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if calib.ndim != 4 or len(calib) == 0:
        raise EdgexaiError("INT8 calibration needs at least one image (N×3×H×W)")
    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    proto = onnx.load(str(src))
    for i, node in enumerate(proto.graph.node):
        node.name = node.name or f"n{i}_{node.op_type}"
    named = dst.with_name(dst.name + ".named.onnx")
    onnx.save_model(proto, named)
    tmp = dst.with_name(dst.name + ".tmp.onnx")
    root = logging.getLogger()  # the quantiser warns "consider pre-processing": BN is folded
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_static(
            str(named), str(tmp), _Reader(calib.astype(np.float32)),
            quant_format=QuantFormat.QDQ, activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8, per_channel=True, calibrate_method=methods[method],
            op_types_to_quantize=["Conv", "Gemm", "Add"],
            nodes_to_exclude=cam_head_nodes(proto.graph),
            extra_options={"ActivationSymmetric": True, "WeightSymmetric": True,
                           "QuantizeBias": False})
        return _save(onnx.load(str(tmp)), dst)
    finally:
        root.setLevel(level)
        named.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
        for extra in dst.parent.glob(dst.name + ".tmp*"):
            extra.unlink(missing_ok=True)


def calibration_batch(manifest: dict[str, Any], data_root: str | None,
                      list_path: str | Path | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """The calibration list's images, decoded and normalised as this build's inputs."""
    from edgexai.data.locate import locate_gtsrb
    from edgexai.digest import sha256_file
    from edgexai.export.calibration import DEFAULT_LIST, load_images, read_list
    from edgexai.preprocess import normalise

    path = Path(list_path) if list_path else DEFAULT_LIST
    entries = read_list(path)
    source = locate_gtsrb(data_root, download=False)
    roi = bool(manifest.get("data", {}).get("roi_crop", False))
    images = load_images(entries, source.root, int(manifest["input_size"]), roi)
    info = {"list": path.name, "list_sha256": sha256_file(path), "images": len(entries),
            "data_digest": source.digest}
    return normalise(images, manifest["mean"], manifest["std"]), info


def ensure_variant(build_dir: str | Path, variant: str, data_root: str | None = None,
                   calib_list: str | Path | None = None) -> Path:
    """Make the variant's ONNX next to model.onnx if the manifest lacks it; record it there.

    Returns its path. Existing variants are verified against their digest, never remade silently.
    """
    from edgexai.manifest import file_entry, read_manifest, verify_file, write_manifest

    build_dir = Path(build_dir)
    if variant not in VARIANT_FILES:
        raise EdgexaiError(f"unknown ONNX variant {variant!r}; one of {', '.join(VARIANT_FILES)}")
    manifest = read_manifest(build_dir)
    role = VARIANT_ROLES[variant]
    if role in manifest.get("files", {}):
        return verify_file(build_dir, manifest, role)
    src = verify_file(build_dir, manifest, "onnx")
    dst = build_dir / VARIANT_FILES[variant]
    meta: dict[str, Any] = {"file_role": role}
    if variant == "nocam":
        make_nocam(src, dst)
    elif variant == "fp16":
        make_fp16(src, dst)
        meta.update(io_dtype="float32", cam_head="float32")
    elif variant == "int8":
        x, info = calibration_batch(manifest, data_root, calib_list)
        make_int8(src, dst, x)
        meta.update(scheme="QDQ int8 symmetric, per-channel weights, float bias",
                    method="minmax", calibration=info)
    manifest = read_manifest(build_dir)  # re-read: the manifest may have changed meanwhile
    manifest.setdefault("files", {})[role] = file_entry(build_dir, dst)
    manifest.setdefault("onnx", {}).setdefault("variants", {})[variant] = meta
    write_manifest(build_dir, {k: v for k, v in manifest.items() if k != "format"})
    return dst
