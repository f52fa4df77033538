"""PyTorch → ONNX with the Grad-CAM output in the graph (training side: needs torch and onnx).

The export traces `edgexai.train.saliency.cam.CamModel` itself, so the engine's CAM is the same code that
`explain` runs. The graph is cleaned with an explicit, small list of passes (constant folding,
BatchNorm folded into Conv, constants lifted to initializers) rather than the exporter's default
optimiser: that optimiser's "x + 0 → x" rule matches the CAM normaliser's `+ 1e-8` (it compares
with a tolerance) and would turn an all-zero map into 0/0 = NaN.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError

OPSET = 18  # TensorRT 10.x parses opsets 9–20; 18 is the exporter's native opset
INPUT_NAME = "images"
OUTPUT_NAMES = ("logits", "cam")
BATCH_DIM = "N"
ONNX_NAME = "model.onnx"

_DTYPES = {1: "float32", 10: "float16", 7: "int64", 6: "int32", 3: "int8", 2: "uint8"}


def _clean(model_ir) -> None:
    """Fold constants and BatchNorm, lift constants to initializers, drop exporter metadata."""
    import onnx_ir.passes.common as passes
    from onnxscript import ir, optimizer, rewriter
    from onnxscript.rewriter.rules import common as rules

    optimizer.fold_constants_ir(model_ir, onnx_shape_inference=True)
    # Exact rewrites only (no tolerance-matched no-ops, see the module docstring).
    rewriter.rewrite(
        model_ir,
        [
            rules.fuse_batchnorm_into_conv_rule,
            rules.materialize_reshape_shape_rule,
            rules.reshape_reshape_rule,
            rules.transpose_transpose_rule,
            rules.no_op_transpose_rule,
        ],
    )
    optimizer.fold_constants_ir(model_ir, onnx_shape_inference=True)
    ir.passes.PassManager(
        [
            passes.RemoveUnusedNodesPass(),
            passes.LiftConstantsToInitializersPass(lift_all_constants=True, size_limit=0),
            passes.DeduplicateInitializersPass(),
            passes.RemoveUnusedOpsetsPass(),
            passes.ClearMetadataAndDocStringPass(),
            passes.TopologicalSortPass(),
        ]
    )(model_ir)


def export_graph(
    net,
    example,
    input_name: str,
    output_names: list[str],
    path: str | Path,
    static_dims: dict[str, list[int]] | None = None,
    opset: int = OPSET,
) -> Path:
    """Export `net` (eval mode) as one ONNX file with a dynamic batch axis named 'N', cleaned by
    the exact passes above, checked by onnx.checker (full), written atomically.

    `static_dims`: per output, the sizes of its non-batch axes where the exporter leaves them
    symbolic although they are fixed.
    """
    import onnx
    import torch

    if not 9 <= opset <= 20:
        raise EdgexaiError(f"opset {opset} is outside what TensorRT 10 parses (9–20)")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            net,
            (example,),
            None,
            input_names=[input_name],
            output_names=list(output_names),
            opset_version=opset,
            dynamo=True,
            optimize=False,
            external_data=False,
            dynamic_shapes=({0: torch.export.Dim(BATCH_DIM, min=1, max=65535)},),
            verbose=False,
        )
    _clean(program.model)
    proto = program.model_proto
    proto.producer_name, proto.producer_version = "edgexai", _version()
    for value in list(proto.graph.input) + list(proto.graph.output):
        dim0 = value.type.tensor_type.shape.dim[0]
        dim0.dim_param = BATCH_DIM  # one name for the batch axis on every tensor
    for out in proto.graph.output:
        for d, size in zip(
            out.type.tensor_type.shape.dim[1:], (static_dims or {}).get(out.name, []), strict=False
        ):
            d.Clear()
            d.dim_value = size
    try:
        onnx.checker.check_model(proto, full_check=True)
    except onnx.checker.ValidationError as exc:
        raise EdgexaiError(f"the exported graph fails onnx.checker: {exc}") from None
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    onnx.save_model(proto, tmp, save_as_external_data=False)
    os.replace(tmp, path)
    return path


def export_onnx(
    model, input_size: int, path: str | Path, cam: bool = True, opset: int = OPSET
) -> Path:
    """Write `model` as one ONNX file: images → logits, + cam for a GAP→linear head (`cam`;
    CamModel refuses any other head)."""
    import torch

    from edgexai.train.saliency.cam import CamModel

    model = model.eval()
    net = CamModel(model, input_size).eval() if cam else model
    outputs = list(OUTPUT_NAMES if cam else OUTPUT_NAMES[:1])
    example = torch.zeros(2, 3, input_size, input_size)
    # the exporter names the CAM's spatial dims symbolically; they are static
    static = {"cam": [input_size, input_size]} if cam else None
    return export_graph(net, example, INPUT_NAME, outputs, path, static, opset)


def _version() -> str:
    from edgexai import __version__

    return __version__


def describe_io(path: str | Path) -> dict[str, Any]:
    """Opset and input/output names, shapes ('N' for the batch) and dtypes, for the manifest."""
    import onnx

    proto = onnx.load(str(path), load_external_data=False)

    def values(vals) -> list[dict[str, Any]]:
        out = []
        for v in vals:
            tt = v.type.tensor_type
            shape = [d.dim_param or d.dim_value for d in tt.shape.dim]
            out.append(
                {
                    "name": v.name,
                    "shape": shape,
                    "dtype": _DTYPES.get(tt.elem_type, str(tt.elem_type)),
                }
            )
        return out

    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    return {
        "opset": opset,
        "inputs": values(proto.graph.input),
        "outputs": values(proto.graph.output),
    }


def export_build(model, input_size: int, build_dir: Path, manifest: dict[str, Any]) -> None:
    """The build's export step: write model.onnx and record it (file digest, opset, I/O) in the
    manifest dict before the manifest is written.

    An arch without an exact in-graph CAM (the registry's `cam_layer` None) exports logits only,
    records `cam: false`, `cam_layer: null` and its reason (`cam_refusal`), and says so on one
    line: the build succeeds, it is never given an approximate CAM."""
    from edgexai.core.manifest import file_entry
    from edgexai.train.export.ops_check import check_onnx
    from edgexai.train.models.arch_registry import get_spec

    spec = get_spec(manifest["arch"])
    if not spec.has_cam:
        manifest.update(cam=False, cam_layer=None, cam_refusal=spec.cam_refusal)
        print(f"edgexai: note: {spec.cam_refusal}", file=sys.stderr)
    path = export_onnx(model, input_size, Path(build_dir) / ONNX_NAME, cam=spec.has_cam)
    check_onnx(path)  # a graph TensorRT 10 would reject fails the build, not the vehicle
    manifest.setdefault("files", {})["onnx"] = file_entry(Path(build_dir), path)
    manifest["onnx"] = {
        **describe_io(path),
        "exporter": "torch.onnx (dynamo)",
        "backbone_outputs": ["logits"],
        "variants": {"fp32": {"file_role": "onnx"}},
    }
