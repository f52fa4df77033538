"""Score the detector alone on frames with ground truth: its PyTorch form during training
(calibration frames), its exported ONNX after (held-out frames, as the vehicle runs it).

Scoring is class-agnostic here (is there a sign, and where); the vehicle's class-aware figures
come from `edgexai run` logs through `edgexai score`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from edgexai.core.detection.boxes import nms
from edgexai.core.detection.decode import NMS_IOU, to_frame
from edgexai.core.detection.scoring import FrameDets, at_threshold, match_frames, summary

PROPOSER_THRESHOLD = 0.2  # the detector score a candidate needs to reach the classifier


def frame_dets(
    boxes: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    frame_hw: tuple[int, int],
    min_score: float = 0.01,
) -> FrameDets:
    """Decoder output of one frame → thresholded, NMS'd detections in frame pixels."""
    d = to_frame(boxes, scores, labels, frame_hw, min_score)
    keep = nms(d.boxes, d.scores, NMS_IOU)
    return FrameDets(d.boxes[keep], d.scores[keep], None)


def score_frames(
    outputs: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    names: Sequence[str],
    frame_hw: Sequence[tuple[int, int]],
    gt: dict[str, list],
) -> dict[str, object]:
    """AP, best operating points and the proposer view (score ≥ PROPOSER_THRESHOLD)."""
    dets = {n: frame_dets(*o, hw) for n, o, hw in zip(names, outputs, frame_hw, strict=True)}
    out = match_frames(dets, gt, class_aware=False)
    res = summary(out)
    res.pop("ap_per_category")  # class-agnostic: no categories here
    prop = at_threshold(out, PROPOSER_THRESHOLD)
    res["proposer"] = {
        "threshold": PROPOSER_THRESHOLD,
        "recall": round(prop["recall"], 4),
        "per_frame": round(prop["detections"] / max(out.frames, 1), 2),
    }
    best = max(
        (at_threshold(out, float(t)) for t in np.arange(0.05, 0.95, 0.05)),
        key=lambda r: 2 * r["recall"] * r["precision"] / max(r["recall"] + r["precision"], 1e-9),
    )
    res["best_f1"] = {k: round(v, 4) if isinstance(v, float) else v for k, v in best.items()}
    return res


def onnx_outputs(
    path: str,
    frames: Sequence[np.ndarray],
    threads: int | None = None,
    progress: Callable | None = None,
) -> list[tuple[np.ndarray, ...]]:
    """Run the exported detector (ONNX Runtime, CPU) on frames already at its input size."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    out = []
    for f in progress(frames) if progress else frames:
        b, s, lab = sess.run(None, {name: f[None]})
        out.append((b[0], s[0], lab[0]))
    return out
