"""Measure the colour cascade's candidate generator alone on GTSDB frames: recall at IoU ≥ 0.5, proposals per frame, ms.

Tuning uses frames 0–399 only (default); `--frames 400:600` scores the held-out part.
GTSDB comes from --data-root / EDGEXAI_DATA. Example:
  EDGEXAI_DATA=../shared/data nice -n 19 .venv/bin/python tools/tune_colour_candidates.py \
      --set scale=0.5 --set min_fill=0.1
"""

from __future__ import annotations

import argparse
import ast
import sys
import time

import cv2
import numpy as np

from edgexai.core.arg_types import frame_range, positive_float, positive_int
from edgexai.core.detection.boxes import iou_matrix
from edgexai.core.detection.colour_candidates import ColourGeneratorConfig, ColourShapeGenerator
from edgexai.core.errors import EdgexaiError
from edgexai.train.data.gtsdb_frames import frame_path, gt_by_number, require_gtsdb


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--data-root",
        default=None,
        help="folder holding gtsdb/ or gtsdb-dev.tar (default: $EDGEXAI_DATA)",
    )
    p.add_argument("--frames", type=frame_range, default="0:400", metavar="START:STOP")
    p.add_argument(
        "--step", type=positive_int, default=1, help="use every Nth frame (quick tuning)"
    )
    p.add_argument("--min-size", type=positive_float, default=20.0)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = p.parse_args()
    cfg = ColourGeneratorConfig()
    for kv in a.set:
        k, v = kv.split("=", 1)
        setattr(cfg, k, ast.literal_eval(v))
    prop = ColourShapeGenerator(cfg)
    cv2.setNumThreads(1)
    folder = require_gtsdb(a.data_root)
    gt = gt_by_number(folder)
    lo, hi = a.frames
    found = found3 = total = nprop = 0
    ms = []
    missed = []
    for i in range(lo, hi, a.step):
        frame = cv2.imread(str(frame_path(folder, i)))
        t0 = time.perf_counter()
        boxes, _ = prop.generate(frame)
        ms.append((time.perf_counter() - t0) * 1000)
        nprop += len(boxes)
        g = np.array([b[:4] for b in gt.get(i, [])], np.float32).reshape(-1, 4)
        if len(g) == 0:
            continue
        big = np.maximum(g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]) >= a.min_size
        best = iou_matrix(g, boxes).max(1) if len(boxes) else np.zeros(len(g))
        for j in np.where(big)[0]:
            total += 1
            found3 += int(best[j] >= 0.3)
            if best[j] >= 0.5:
                found += 1
            else:
                missed.append((i, gt[i][j][4], round(float(best[j]), 2)))
    n = len(ms)
    print(
        f"recall {found}/{total} = {found / max(total, 1):.3f} (IoU ≥ 0.3: "
        f"{found3 / max(total, 1):.3f})  proposals/frame "
        f"{nprop / n:.0f}  ms p50 {np.median(ms):.1f}  mean {np.mean(ms):.1f}"
    )
    from collections import Counter

    print("missed by class:", Counter(c for _, c, _ in missed).most_common(12))
    print(
        "missed best IoU histogram [0,.1,.2,.3,.4,.5]:",
        np.histogram([m[2] for m in missed], bins=[0, 0.1, 0.2, 0.3, 0.4, 0.5])[0].tolist(),
    )


if __name__ == "__main__":
    try:
        main()
    except EdgexaiError as exc:
        sys.exit(f"tune_colour_candidates: error: {exc}")
