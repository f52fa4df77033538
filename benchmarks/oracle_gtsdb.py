"""What the stages after the finder can do: classify and score GTSDB's ground-truth boxes.

Feeds every ground-truth sign box (longer side ≥ --min-size) of the chosen frames through the
pipeline's own crop → rejector → refiner-free classification path, as if a perfect proposer had
proposed it, and reports the class accuracy and the fraction that would pass the run's decision
(confidence × sign score ≥ --min-score). With the pipeline's measured recall this separates the
proposer's losses from the classifier's.

  EDGEXAI_DATA=../shared/data .venv/bin/python benchmarks/oracle_gtsdb.py --model DIR --frames 400:600
"""

from __future__ import annotations

import argparse
import json
import sys

import cv2
import numpy as np

from edgexai.core.arg_types import frame_range, positive_float, unit_interval
from edgexai.core.batching import extract_crops
from edgexai.core.detection.hog_rejector import FEATURE_SIZE, default_rejector
from edgexai.core.errors import EdgexaiError
from edgexai.core.preprocess import pad_boxes
from edgexai.deploy.pipeline.decision import COLOUR
from edgexai.deploy.sign_classifier import SignClassifier
from edgexai.train.data.gtsdb_frames import frame_path, gt_by_number, require_gtsdb


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--backend", default="ort")
    p.add_argument(
        "--data-root",
        default=None,
        help="folder holding gtsdb/ or gtsdb-dev.tar (default: $EDGEXAI_DATA)",
    )
    p.add_argument("--frames", type=frame_range, default="400:600", metavar="START:STOP")
    p.add_argument("--min-size", type=positive_float, default=20.0)
    p.add_argument("--min-score", type=unit_interval, default=COLOUR.min_score)
    a = p.parse_args()
    classifier = SignClassifier.open(a.model, a.backend)
    rej = default_rejector()
    folder = require_gtsdb(a.data_root)
    gt = gt_by_number(folder)
    lo, hi = a.frames
    n = correct = passed = passed_correct = 0
    for i in range(lo, hi):
        g = [b for b in gt.get(i, []) if max(b[2] - b[0], b[3] - b[1]) >= a.min_size]
        if not g:
            continue
        frame = cv2.imread(str(frame_path(folder, i)))
        boxes = np.array([b[:4] for b in g], np.float32)
        padded = pad_boxes(boxes, frame.shape)
        prob = classifier.classify_boxes(frame, boxes).probabilities
        cls, conf = prob.argmax(1), prob.max(1)
        sign = rej.score(extract_crops(frame, padded, FEATURE_SIZE)) if rej else np.ones(len(g))
        ok = cls == np.array([b[4] for b in g])
        keep = conf * sign >= a.min_score
        n += len(g)
        correct += int(ok.sum())
        passed += int(keep.sum())
        passed_correct += int((ok & keep).sum())
    print(
        json.dumps(
            {
                "frames": f"{lo}:{hi}",
                "signs": n,
                "class_accuracy": round(correct / n, 4),
                "pass_decision": round(passed / n, 4),
                "pass_and_correct": round(passed_correct / n, 4),
                "min_score": a.min_score,
                "model": classifier.info.name,
            }
        )
    )


if __name__ == "__main__":
    try:
        main()
    except EdgexaiError as exc:
        sys.exit(f"oracle_gtsdb: error: {exc}")
