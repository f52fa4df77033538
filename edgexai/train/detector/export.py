"""The detector as ONNX: frames (N×H×W×3 BGR uint8) → boxes, scores, labels, decoding included.

Peak extraction (3×3 max-pool equality), TopK and box assembly are in the graph, so on a Jetson
the engine itself returns boxes; what remains on the CPU is a threshold and an NMS over at most
`top_k` boxes (numpy, edgexai.core.detection.boxes.nms). Every op is on TensorRT's ONNX-parser list
(export/ops_check.py runs on the file, as for the classifier).
"""

from __future__ import annotations

from pathlib import Path

from edgexai.train.detector.model import DecodedDetector, DetectorNet

INPUT_NAME = "frames"
OUTPUT_NAMES = ("boxes", "scores", "labels")
# Where the backbone ends (the head's maps before decoding): the fp16 / int8 variants convert the
# backbone and leave the decoding in float32 (manifest `onnx.backbone_outputs`).
BACKBONE_OUTPUTS = ("heat_logits", "box_log_dist")


def export_detector(net: DetectorNet, path: str | Path) -> Path:
    """Write the decoded detector to `path` (dynamic batch 'N', everything else static)."""
    import onnx
    import torch

    from edgexai.train.export.onnx_export import export_graph
    from edgexai.train.export.ops_check import check_onnx

    cfg = net.cfg
    model = DecodedDetector(net.eval()).eval()
    model.with_head = True
    example = torch.zeros(2, cfg.input_h, cfg.input_w, 3, dtype=torch.uint8)
    k = model.k
    path = Path(path)
    export_graph(
        model,
        example,
        INPUT_NAME,
        [*OUTPUT_NAMES, *BACKBONE_OUTPUTS],
        path,
        {"boxes": [k, 4], "scores": [k], "labels": [k]},
    )
    # The head maps were outputs only to carry their names into the graph: drop them again.
    proto = onnx.load(str(path))
    kept = [o for o in proto.graph.output if o.name in OUTPUT_NAMES]
    del proto.graph.output[:]
    proto.graph.output.extend(kept)
    onnx.checker.check_model(proto, full_check=True)
    tmp = path.with_name(path.name + ".tmp")
    onnx.save_model(proto, tmp)
    tmp.replace(path)
    check_onnx(path)
    return path
