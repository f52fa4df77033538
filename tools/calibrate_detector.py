"""Calibrate a detector build's decision on tuning frames and record it in its manifest.

Runs the pipeline (detector → classifier) over the tuning frames with every candidate kept
(--min-score 0, a low candidate threshold), sweeps the decision's thresholds
(edgexai.core.detection.calibrate), prints the alternatives (sign score alone, confidence alone, their
product), and writes the product rule's best point at --target-precision into the detector's
manifest as `decision`, naming the classifier it was calibrated with. Tuning frames only: the
default is GTSDB 0–399 ≡ 3 mod 4, the frames `edgexai detector train` keeps out of training.

  .venv/bin/python tools/calibrate_detector.py --detector DET --model CLS --gt GTSDB_DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from edgexai.core.arg_types import frame_mod, frame_range, unit_interval
from edgexai.core.detection.calibrate import Candidate, sweep
from edgexai.core.manifest import load, update_manifest
from edgexai.deploy.pipeline.config import RunConfig
from edgexai.deploy.pipeline.log import read_jsonl
from edgexai.deploy.pipeline.loop import run_pipeline
from edgexai.train.data.gtsdb_frames import frame_files, read_gt

LOW = 0.05  # candidate threshold while calibrating: keep nearly every peak


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--detector", required=True)
    p.add_argument("--model", required=True, help="the classifier the decision is made with")
    p.add_argument("--gt", required=True, help="the frame folder holding gt.txt (GTSDB)")
    p.add_argument("--frames", default="0:400", help="tuning frame range")
    p.add_argument("--mod", default="4:3", help="only frames ≡ R mod M (M:R; 'none': all)")
    p.add_argument("--target-precision", type=unit_interval, default=0.95)
    p.add_argument("--backend", default="ort")
    p.add_argument("--dry-run", action="store_true", help="print, do not write the manifest")
    a = p.parse_args()
    try:  # kept as written: the manifest's `source` names them so
        (lo, hi), mod = frame_range(a.frames), frame_mod(a.mod)
    except argparse.ArgumentTypeError as exc:
        p.error(f"--frames/--mod: {exc}")
    gt = read_gt(a.gt)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "frames"
        folder.mkdir()
        for f in frame_files(a.gt):
            i = int(f.stem)
            if lo <= i < hi and (mod is None or i % mod[0] == mod[1]):
                (folder / f.name).symlink_to(f)
        log = Path(tmp) / "calib.jsonl"
        run_pipeline(
            RunConfig(
                source=str(folder),
                model=a.model,
                detector=a.detector,
                backend=a.backend,
                min_score=0.0,
                candidate_threshold=LOW,
                log=str(log),
                quiet=True,
            )
        )
        records, _ = read_jsonl(log)
    cands = {
        Path(r["file"]).stem: [
            Candidate(tuple(d["box"]), d["sign_score"], d["confidence"], d["class_id"])
            for d in r["detections"]
        ]
        for r in records
        if "file" in r
    }
    points = {
        rule: sweep(cands, gt, a.target_precision, rule)
        for rule in ("sign", "confidence", "product")
    }
    for rule, point in points.items():
        print(f"{rule:>10}: {json.dumps(point)}")
    best = points["product"]
    if best is None:
        sys.exit(f"no threshold reaches precision {a.target_precision} on these frames")
    cls = load(a.model)
    decision = {
        "min_score": best["min_score"],
        "min_sign_score": best["min_sign_score"],
        "min_confidence": 0.0,
        "source": f"tools/calibrate_detector.py: frames {a.frames} mod {a.mod}, "
        f"target precision {a.target_precision}, classifier {cls.name} "
        f"(model sha256 {cls.files['model'].sha256[:12]})",
        "calibration": {k: best[k] for k in ("recall", "precision", "false_alarms_per_frame")},
        "alternatives": {k: v for k, v in points.items() if k != "product"},
    }
    print("decision:", json.dumps(decision))
    if not a.dry_run:
        update_manifest(a.detector, lambda m: m.__setitem__("decision", decision))
        print(f"written to {a.detector}/manifest.json")


if __name__ == "__main__":
    main()
