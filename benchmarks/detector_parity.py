"""The exported detector against PyTorch on real frames, and what fp16 / int8 change.

Parity: on N frames, ONNX Runtime's fp32 graph and the PyTorch module (the same DecodedDetector
the export traced) each give their detections above --min-score; they are paired by IoU and the
largest corner difference (frame pixels) and score difference are reported, with any detection
that has no partner. Precisions: the detector alone (class-agnostic, edgexai.train.detector.detector_eval)
on the scored frames at fp32, fp16 and int8 through ONNX Runtime — AP, recall and precision at
the calibrated candidate threshold, proposer recall.

  .venv/bin/python benchmarks/detector_parity.py --detector DET --gt GTSDB_DIR --frames 400:450
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from edgexai.core.detection.boxes import iou_matrix
from edgexai.core.detection.decode import to_frame
from edgexai.core.detection.scoring import at_threshold, match_frames
from edgexai.core.preprocess import resize_frame
from edgexai.deploy.runtime import open_session
from edgexai.train.data.gtsdb_frames import frame_files, read_gt
from edgexai.train.detector.detector_eval import frame_dets, score_frames


def outputs(session, frames: list[np.ndarray]) -> list[tuple[np.ndarray, ...]]:
    out = []
    for f in frames:
        r = session.run(f[None])
        out.append((r["boxes"][0], r["scores"][0], r["labels"][0]))
    return out


def parity(a, b, hw, min_score: float) -> dict[str, float]:
    """Pair the detections of two runs frame by frame (IoU ≥ 0.9, best first)."""
    corner, score, unpaired, pairs = 0.0, 0.0, 0, 0
    for (ba, sa, la), (bb, sb, lb), shape in zip(a, b, hw, strict=True):
        da, db = to_frame(ba, sa, la, shape, min_score), to_frame(bb, sb, lb, shape, min_score)
        iou = iou_matrix(da.boxes, db.boxes)
        used = set()
        for i in np.argsort(-da.scores):
            cand = [j for j in np.argsort(-iou[i]) if j not in used and iou[i, j] >= 0.9]
            if not cand:
                unpaired += 1
                continue
            j = cand[0]
            used.add(j)
            pairs += 1
            corner = max(corner, float(np.abs(da.boxes[i] - db.boxes[j]).max()))
            score = max(score, abs(float(da.scores[i] - db.scores[j])))
        unpaired += len(db) - len(used)
    return {
        "pairs": pairs,
        "unpaired": unpaired,
        "max_corner_px": round(corner, 4),
        "max_score_diff": float(f"{score:.3g}"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--detector", required=True)
    p.add_argument("--gt", required=True, help="the frame folder holding gt.txt")
    p.add_argument("--frames", default="400:450", help="frames for the parity check")
    p.add_argument("--score-frames", default="400:600", help="frames for the precision figures")
    p.add_argument("--min-score", type=float, default=0.05)
    a = p.parse_args()
    import cv2

    gt = read_gt(a.gt)
    files = {int(f.stem): f for f in frame_files(a.gt)}

    def load(rng: str) -> tuple[list[str], list[np.ndarray]]:
        lo, hi = (int(v) for v in rng.split(":"))
        picked = [files[i] for i in range(lo, hi) if i in files]
        return [f.stem for f in picked], [cv2.imread(str(f)) for f in picked]

    fp32 = open_session(a.detector, "ort", "fp32")
    w, h = int(fp32.input.shape[2]), int(fp32.input.shape[1])
    names, raw = load(a.frames)
    small = [resize_frame(f, w, h) for f in raw]
    hw = [f.shape[:2] for f in raw]
    res = {
        "parity": {
            "frames": len(small),
            "min_score": a.min_score,
            **parity(
                outputs(fp32, small),
                outputs(open_session(a.detector, "torch"), small),
                hw,
                a.min_score,
            ),
        }
    }
    names, raw = load(a.score_frames)
    small = [resize_frame(f, w, h) for f in raw]
    hw = [f.shape[:2] for f in raw]
    gate = float((fp32.manifest.get("decision") or {}).get("min_sign_score", 0.2))
    res["precisions"] = {}
    for precision in ("fp32", "fp16", "int8"):
        outs = outputs(open_session(a.detector, "ort", precision), small)
        s = score_frames(outs, names, hw, gt)
        dets = {n: frame_dets(*o, shape) for n, o, shape in zip(names, outs, hw, strict=True)}
        at = at_threshold(match_frames(dets, gt, class_aware=False), gate)
        res["precisions"][precision] = {
            "ap": s["ap"],
            "proposer": s["proposer"],
            "at_candidate_threshold": {
                "threshold": gate,
                "recall": round(at["recall"], 4),
                "precision": round(at["precision"], 4),
            },
        }
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
