"""Score an `edgexai run` log against GTSDB ground truth (gt.txt).

A detection is correct when it overlaps a ground-truth sign at IoU ≥ 0.5 (greedy matching, most
confident first, each sign matched once). Reported: recall over signs whose longer side is
≥ --min-size px (default 20), precision over all detections (a detection on a smaller real sign
is not a false alarm), the fraction of recalled signs whose class is right, and class-aware
precision. Frames are identified by the log's `file` field (00412.jpg → 412), so run the
pipeline on a folder of GTSDB frames (tools/gtsdb.py prints one).

  .venv/bin/python tools/score_gtsdb.py --log run.jsonl --frames 400:600
  .venv/bin/python tools/score_gtsdb.py --log tune.jsonl --frames 0:400 --calibrate
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))
from gtsdb import frames_dir, read_gt  # noqa: E402

from edgexai.pipeline.log import read_jsonl  # noqa: E402
from edgexai.pipeline.proposals import iou_matrix  # noqa: E402


def load_frames(log: Path) -> dict[int, list[dict]]:
    """{frame number: detections} from a log and its rotated parts (first visit of a frame wins)."""
    parts = sorted(log.parent.glob(log.name + ".[0-9]*"), key=lambda p: -int(p.suffix[1:]))
    out: dict[int, list[dict]] = {}
    for part in [*parts, log]:
        if part.name.endswith(".summary.json"):
            continue
        records, _ = read_jsonl(part)
        for r in records:
            if "event" in r or "file" not in r:
                continue
            stem = Path(r["file"]).stem
            if stem.isdigit():
                out.setdefault(int(stem), r["detections"])
    return out


def score(frames: dict[int, list[dict]], gt: dict, lo: int, hi: int, min_size: float = 20.0,
          min_conf: float = 0.0, min_sign: float = 0.0, mod: tuple[int, int] | None = None,
          min_score: float = 0.0) -> dict:
    n_det = tp = tp_cls = gt_big = found = found_cls = 0
    used = 0
    for i in sorted(frames):
        if not lo <= i < hi or (mod and i % mod[0] != mod[1]):
            continue
        used += 1
        dets = [d for d in frames[i] if d["confidence"] >= min_conf
                and d.get("sign_score", 1.0) >= min_sign
                and d.get("score", d["confidence"] * d.get("sign_score", 1.0)) >= min_score]
        dets.sort(key=lambda d: -d["confidence"])
        g = np.array([b[:4] for b in gt.get(i, [])], np.float32).reshape(-1, 4)
        gcls = [b[4] for b in gt.get(i, [])]
        big = (np.maximum(g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]) >= min_size) if len(g) else []
        gt_big += int(np.sum(big))
        n_det += len(dets)
        if not dets or not len(g):
            continue
        iou = iou_matrix(np.array([d["box"] for d in dets], np.float32), g)
        taken = np.zeros(len(g), bool)
        for k, d in enumerate(dets):
            cand = np.where(~taken & (iou[k] >= 0.5))[0]
            if not len(cand):
                continue
            j = cand[np.argmax(iou[k, cand])]
            taken[j] = True
            tp += 1
            ok = d["class_id"] == gcls[j]
            tp_cls += ok
            if big[j]:
                found += 1
                found_cls += ok
    return {"frames": used, "signs": gt_big, "detections": n_det,
            "recall": round(found / max(gt_big, 1), 4),
            "precision": round(tp / max(n_det, 1), 4),
            "class_correct_of_recalled": round(found_cls / max(found, 1), 4),
            "precision_class_aware": round(tp_cls / max(n_det, 1), 4),
            "recall_class_aware": round(found_cls / max(gt_big, 1), 4),
            "false_alarms_per_frame": round((n_det - tp) / max(used, 1), 3),
            "min_confidence": min_conf, "min_sign_score": min_sign, "min_score": min_score}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--log", required=True)
    p.add_argument("--gt", default=None, help="gt.txt's folder (default: the unpacked GTSDB)")
    p.add_argument("--frames", default="400:600", help="frame range scored (held-out: 400:600)")
    p.add_argument("--min-size", type=float, default=20.0)
    p.add_argument("--min-confidence", type=float, default=0.0, help="extra filter on the log")
    p.add_argument("--calibrate", action="store_true",
                   help="sweep the score threshold (confidence × sign score); pick the one with "
                        "the best recall at precision ≥ --target-precision (tuning frames only; "
                        "run the pipeline with --min-score 0 first)")
    p.add_argument("--target-precision", type=float, default=0.85)
    p.add_argument("--mod", default=None, metavar="M:R",
                   help="only frames with number %% M == R (e.g. 4:3, the rejector's validation "
                        "frames, when calibrating on 0:400)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    gt = read_gt(Path(a.gt) if a.gt else frames_dir())
    lo, hi = (int(x) for x in a.frames.split(":"))
    frames = load_frames(Path(a.log))
    mod = tuple(int(v) for v in a.mod.split(":")) if a.mod else None
    if not a.calibrate:
        r = score(frames, gt, lo, hi, a.min_size, a.min_confidence, mod=mod)
        print(json.dumps(r) if a.json else
              "\n".join(f"{k:>28}: {v}" for k, v in r.items()))
        return
    rows = []
    for t in np.round(np.arange(0.0, 1.0, 0.025), 3):  # the loop's decision: confidence × sign
        rows.append(score(frames, gt, lo, hi, a.min_size, mod=mod, min_score=float(t)))
    ok = [r for r in rows if r["precision"] >= a.target_precision]
    # the best recall; among equal recalls the highest precision (the largest threshold)
    best = max(ok, key=lambda r: (r["recall_class_aware"], r["recall"], r["precision"])) if ok else None
    for r in rows:
        print(f"min_score {r['min_score']:.3f}: recall {r['recall']:.3f} precision "
              f"{r['precision']:.3f} class-correct {r['class_correct_of_recalled']:.3f} "
              f"false alarms/frame {r['false_alarms_per_frame']:.2f}")
    print("chosen:", json.dumps(best))


if __name__ == "__main__":
    main()
