"""Variants of model.onnx derived from the graph itself: no-CAM, FP16, INT8 Q/DQ.

Precision lives in the graph so one file serves ONNX Runtime and both TensorRT generations
(TensorRT 11 has no FP16/INT8 builder flags). Everything here needs onnx + onnxruntime, not
torch. A build makes every variant of its kind (manifest.BUILD_VARIANTS) on the training machine,
so the vehicle only builds engines.

The manifest names where each graph's backbone ends (`onnx.backbone_outputs`: the classifier's
`logits`; the detector's head maps before decoding). The backbone is what FP16 and INT8 convert;
the rest (the classifier's CAM head, the detector's decoding) stays float32:
- no-CAM (classifiers): the same graph cut at `logits`, for measuring the CAM's cost; for a
  CAM-less build (edgexai.core.manifest.has_cam) a copy of model.onnx, which has logits only.
- FP16: backbone in float16, the head in float32 — the CAM's min-max normaliser adds 1e-8, which
  is 0 in float16; the detector's box corners keep sub-pixel resolution. I/O keeps its dtypes
  (Casts at the boundary), so callers feed the same arrays to every precision.
- INT8: ONNX Runtime's static quantiser in QDQ format, int8 activations and weights, both
  symmetric (zero points 0, as TensorRT requires), weights per output channel, biases left float
  (TensorRT dequantises int8/fp8/int4 only). Only Conv and Gemm inputs (and residual Adds) of the
  backbone are quantised. Classifiers calibrate on their own training images (an older GTSRB
  build made without its INT8 variant: on the packaged GTSRB list), detectors on frames drawn from
  their own training frames.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import BUILD_VARIANTS, VARIANT_FILES, VARIANT_ROLES


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


def backbone_nodes(graph, outputs: Sequence[str]) -> set[int]:
    """Indices of the nodes that the backbone outputs depend on."""
    producer = {o: i for i, n in enumerate(graph.node) for o in n.output}
    keep: set[int] = set()
    stack = list(outputs)
    while stack:
        name = stack.pop()
        i = producer.get(name)
        if i is None or i in keep:
            continue
        keep.add(i)
        stack.extend(x for x in graph.node[i].input if x)
    return keep


def head_nodes(graph, backbone_outputs: Sequence[str]) -> list[str]:
    """Names of the nodes after the backbone (they keep float32 in every variant)."""
    keep = backbone_nodes(graph, backbone_outputs)
    return [n.name for i, n in enumerate(graph.node) if i not in keep]


def make_nocam(src: Path, dst: Path) -> Path:
    """The graph cut at `logits`: what the export with --no-cam would be, from the same weights."""
    import onnx

    proto = onnx.load(str(src))
    keep = backbone_nodes(proto.graph, ["logits"])
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


def make_fp16(src: Path, dst: Path, backbone_outputs: Sequence[str] = ("logits",)) -> Path:
    """Backbone in float16, head and I/O as they were (see the module docstring).

    Written here rather than with onnxruntime's converter: with a node block list that converter
    casts between every pair of blocked nodes through float16, which loses the normaliser's eps.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    proto = onnx.load(str(src))
    g = proto.graph
    back = backbone_nodes(g, backbone_outputs)
    graph_outputs = {o.name for o in g.output}
    (graph_input,) = [i for i in g.input if i.name not in {t.name for t in g.initializer}]
    float_input = graph_input.type.tensor_type.elem_type == TensorProto.FLOAT
    inits = {i.name: i for i in g.initializer}
    back_inputs = {x for i in back for x in g.node[i].input}
    head_inputs = {x for i, n in enumerate(g.node) if i not in back for x in n.input}
    produced_back = {o for i in back for o in g.node[i].output}
    renames: dict[str, str] = {}
    new_inits = []
    # Inputs that stay float32 whatever the data type (ONNX: Resize's roi and scales).
    fixed = {
        n.input[k]
        for i in back
        for n in [g.node[i]]
        if n.op_type == "Resize"
        for k in (1, 2)
        if k < len(n.input) and n.input[k]
    }
    # backbone float initializers → float16, in the graph's initializer order (a set's order
    # depends on the hash seed: the same build would give differently ordered files)
    for name in [n for n in inits if n in back_inputs and n not in fixed]:
        t = inits[name]
        if t.data_type == TensorProto.FLOAT:
            arr = numpy_helper.to_array(t).astype(np.float16)
            new_inits.append(numpy_helper.from_array(arr, name + "_fp16"))
            renames[name] = name + "_fp16"
    nodes = []
    if float_input:  # a float32 input enters the backbone as float16; a uint8 one is Cast already
        name = graph_input.name
        nodes.append(
            helper.make_node(
                "Cast", [name], [name + "_fp16"], to=TensorProto.FLOAT16, name=f"cast_{name}_fp16"
            )
        )
        renames[name] = name + "_fp16"
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
                if o in graph_outputs or o in head_inputs:
                    outs.append(o + "_fp16")
                    renames[o] = o + "_fp16"  # later backbone nodes read the float16 tensor
                    tail.append(
                        helper.make_node(
                            "Cast", [o + "_fp16"], [o], to=TensorProto.FLOAT, name=f"cast_{o}_fp32"
                        )
                    )
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
    keep = [
        t
        for t in g.initializer
        if t.name in head_inputs or (t.name in back_inputs and t.name not in renames)
    ]
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    del g.value_info[:]
    return _save(proto, dst)


class _Reader:
    """onnxruntime CalibrationDataReader over input arrays, in small batches."""

    def __init__(self, name: str, x: np.ndarray, batch: int = 32) -> None:
        self._batches = iter([{name: x[i : i + batch]} for i in range(0, len(x), batch)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def make_int8(
    src: Path,
    dst: Path,
    calib: np.ndarray,
    backbone_outputs: Sequence[str] = ("logits",),
    method: str = "minmax",
) -> Path:
    """Q/DQ INT8 graph calibrated on `calib` (a batch of the graph's input, N first)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if calib.ndim != 4 or len(calib) == 0:
        raise EdgexaiError("INT8 calibration needs at least one input (N×…)")
    methods = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }
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
            str(named),
            str(tmp),
            _Reader(_input_name(proto), calib),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=methods[method],
            op_types_to_quantize=["Conv", "Gemm", "Add"],
            nodes_to_exclude=head_nodes(proto.graph, backbone_outputs),
            extra_options={
                "ActivationSymmetric": True,
                "WeightSymmetric": True,
                "QuantizeBias": False,
            },
        )
        return _save(onnx.load(str(tmp)), dst)
    finally:
        root.setLevel(level)
        named.unlink(missing_ok=True)
        tmp.unlink(missing_ok=True)
        for extra in dst.parent.glob(dst.name + ".tmp*"):
            extra.unlink(missing_ok=True)


def _input_name(proto) -> str:
    inits = {t.name for t in proto.graph.initializer}
    return next(i.name for i in proto.graph.input if i.name not in inits)


def calibration_batch(
    manifest: dict[str, Any], data: Any, list_path: str | Path | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """A classifier's calibration: the list's images, decoded and normalised as its inputs.
    `data`: GTSRB as a located DataSource, or a --data-root (None: $EDGEXAI_DATA / the cache).
    A build on its own dataset calibrates on its own training split, drawn as the build drew it."""
    from edgexai.train.data import datasets

    if not datasets.is_gtsrb(manifest):
        if list_path:
            raise EdgexaiError("--calib-list names GTSRB images; this build has its own dataset")
        from edgexai.train.export.calibration import training_calibration

        train = datasets.load_train_split(manifest, progress=False)
        return training_calibration(
            train, manifest["mean"], manifest["std"], int(manifest.get("seed", 0))
        )
    from edgexai.core.digest import sha256_file
    from edgexai.core.preprocess import normalise
    from edgexai.train.data.locate import DataSource, locate_gtsrb
    from edgexai.train.export.calibration import DEFAULT_LIST, load_images, read_list

    path = Path(list_path) if list_path else DEFAULT_LIST
    entries = read_list(path)
    source = data if isinstance(data, DataSource) else locate_gtsrb(data, download=False)
    roi = bool(manifest["data"].get("roi_crop", False))
    images = load_images(entries, source.root, int(manifest["input_size"]), roi)
    info = {
        "list": path.name,
        "list_sha256": sha256_file(path),
        "images": len(entries),
        "data_digest": source.digest,
    }
    return normalise(images, manifest["mean"], manifest["std"]), info


def make_variant(
    build_dir: Path,
    manifest: dict[str, Any],
    variant: str,
    calibration: tuple[np.ndarray, dict[str, Any]] | None = None,
) -> Path:
    """Write `variant` from the build's model.onnx and record it in `manifest` (a dict, changed
    in place; the caller writes it). INT8 needs `calibration`: (input batch, its description)."""
    from edgexai.core.manifest import build_path, file_entry, has_cam

    kind = manifest["kind"]
    if variant not in BUILD_VARIANTS[kind] or variant == "fp32":
        raise EdgexaiError(
            f"a {kind} build has no {variant!r} variant to make "
            f"(it has {', '.join(BUILD_VARIANTS[kind])})"
        )
    src = build_path(build_dir, manifest["files"]["onnx"]["path"], "manifest files.onnx.path")
    dst = Path(build_dir) / VARIANT_FILES[variant]
    backbone = list(manifest["onnx"]["backbone_outputs"])
    meta: dict[str, Any] = {"file_role": VARIANT_ROLES[variant]}
    if variant == "nocam" and not has_cam(manifest):
        # a CAM-less build's graph is logits only already: the no-CAM variant is the same
        # bytes (same digest, so a TensorRT engine cache shares their engine)
        shutil.copyfile(src, dst)
        meta["same_as"] = "fp32"
    elif variant == "nocam":
        make_nocam(src, dst)
    elif variant == "fp16":
        make_fp16(src, dst, backbone)
        meta.update(io="as fp32", head="float32")
    else:
        if calibration is None:
            raise EdgexaiError("the INT8 variant needs calibration data")
        x, info = calibration
        make_int8(src, dst, x, backbone)
        meta.update(
            scheme="QDQ int8 symmetric, per-channel weights, float bias",
            method="minmax",
            calibration=info,
        )
    manifest["files"][VARIANT_ROLES[variant]] = file_entry(Path(build_dir), dst)
    manifest["onnx"]["variants"][variant] = meta
    return dst


def make_build_variants(
    build_dir: Path, manifest: dict[str, Any], calibration: tuple[np.ndarray, dict[str, Any]]
) -> None:
    """Every variant a build of this kind ships (the build calls this before writing its
    manifest), each checked against TensorRT's parser list."""
    from edgexai.train.export.ops_check import check_onnx

    for variant in BUILD_VARIANTS[manifest["kind"]]:
        if variant != "fp32":
            check_onnx(make_variant(build_dir, manifest, variant, calibration))


def ensure_variant(
    build_dir: str | Path,
    variant: str,
    data_root: str | None = None,
    calib_list: str | Path | None = None,
) -> Path:
    """A variant of an existing classifier build, made now if the manifest lacks it (folders
    built before every build shipped its variants); recorded in the manifest.

    Existing variants are verified against their digest, never remade silently.
    """
    from edgexai.core.manifest import read_manifest, update_manifest, verify_file
    from edgexai.train.export.ops_check import check_onnx

    build_dir = Path(build_dir)
    if variant not in VARIANT_FILES:
        raise EdgexaiError(f"unknown ONNX variant {variant!r}; one of {', '.join(VARIANT_FILES)}")
    manifest = read_manifest(build_dir)
    role = VARIANT_ROLES[variant]
    if role in manifest["files"]:
        return verify_file(build_dir, manifest, role)
    verify_file(build_dir, manifest, "onnx")
    if manifest["kind"] != "classifier":
        raise EdgexaiError(
            f"{build_dir} lacks its {variant} variant; rebuild it (`edgexai "
            "detector train` makes every variant)"
        )
    calibration = calibration_batch(manifest, data_root, calib_list) if variant == "int8" else None
    made: list[Path] = []
    update_manifest(
        build_dir, lambda m: made.append(make_variant(build_dir, m, variant, calibration))
    )
    check_onnx(made[0])
    return made[0]
