"""Score an `edgexai run` log against GTSDB ground truth (gt.txt), with edgexai.detect.score's rules.

A detection is correct when it overlaps a ground-truth sign at IoU ≥ 0.5 (greedy matching, best
`score` first, each sign matched once) and — class-aware, the default — names its class. Recall
counts signs whose longer side is ≥ --min-size px (default 20); a detection on a smaller real sign
is not a false alarm. Reported: AP overall and per GTSDB category (prohibitory, danger, mandatory;
detections by predicted class), recall / precision / false alarms per frame at --threshold (the
decision's; default: whatever the log kept), false alarms per sign-free frame, and the class-
agnostic figures beside. Frames are identified by the log's `file` field (00412.jpg → 00412), so
run the pipeline on a folder of GTSDB frames (tools/gtsdb.py prints one). For AP, run the
pipeline with --min-score 0 so the log keeps every classified candidate.

  .venv/bin/python tools/score_gtsdb.py --log run.jsonl --frames 400:600
  .venv/bin/python tools/score_gtsdb.py --log all.jsonl --frames 400:600 --threshold 0.42 --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from edgexai.data.gtsdb import read_gt  # noqa: E402
from edgexai.detect.score import FrameDets, at_threshold, match_frames, summary  # noqa: E402
from edgexai.pipeline.log import read_jsonl  # noqa: E402


def load_frames(log: Path) -> dict[str, list[dict]]:
    """{frame stem: detections} from a log and its rotated parts (first visit of a frame wins)."""
    parts = sorted(log.parent.glob(log.name + ".[0-9]*"), key=lambda p: -int(p.suffix[1:]))
    out: dict[str, list[dict]] = {}
    for part in [*parts, log]:
        if part.name.endswith(".summary.json"):
            continue
        records, _ = read_jsonl(part)
        for r in records:
            if "event" in r or "file" not in r:
                continue
            out.setdefault(Path(r["file"]).stem, r["detections"])
    return out


def frame_dets(dets: list[dict]) -> FrameDets:
    return FrameDets(np.array([d["box"] for d in dets], np.float32).reshape(-1, 4),
                     np.array([d["score"] for d in dets], np.float32),
                     np.array([d["class_id"] for d in dets], np.int64))


def select(frames: dict[str, list[dict]], lo: int, hi: int,
           mod: tuple[int, int] | None = None) -> dict[str, FrameDets]:
    return {k: frame_dets(v) for k, v in sorted(frames.items())
            if k.isdigit() and lo <= int(k) < hi and (mod is None or int(k) % mod[0] == mod[1])}


def report(frames: dict[str, FrameDets], gt: dict, threshold: float, min_size: float) -> dict:
    aware = match_frames(frames, gt, min_size, class_aware=True)
    agnostic = match_frames(frames, gt, min_size, class_aware=False)
    res = summary(aware, threshold)
    res["class_agnostic"] = {"ap": summary(agnostic)["ap"],
                             **{k: round(v, 4) for k, v in at_threshold(agnostic, threshold).items()
                                if k in ("recall", "precision")}}
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--log", required=True)
    p.add_argument("--gt", required=True, help="the GTSDB frame folder holding gt.txt")
    p.add_argument("--frames", default="400:600", help="frame range scored (held-out: 400:600)")
    p.add_argument("--mod", default=None, metavar="M:R", help="only frames ≡ R mod M")
    p.add_argument("--min-size", type=float, default=20.0)
    p.add_argument("--threshold", type=float, default=0.0,
                   help="the operating point's score threshold (default 0: as logged)")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    lo, hi = (int(x) for x in a.frames.split(":"))
    mod = tuple(int(v) for v in a.mod.split(":")) if a.mod else None
    r = report(select(load_frames(Path(a.log)), lo, hi, mod), read_gt(a.gt), a.threshold,
               a.min_size)
    print(json.dumps(r, indent=None if a.json else 1))


if __name__ == "__main__":
    main()
