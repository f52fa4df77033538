"""What the stages after the proposer can do: classify and score GTSDB's ground-truth boxes.

Feeds every ground-truth sign box (longer side ≥ --min-size) of the chosen frames through the
pipeline's own crop → rejector → refiner-free classification path, as if a perfect proposer had
proposed it, and reports the class accuracy and the fraction that would pass the run's decision
(confidence × sign score ≥ --min-score). With the pipeline's measured recall this separates the
proposer's losses from the classifier's.

  .venv/bin/python tools/oracle_gtsdb.py --model DIR --frames 400:600
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))
from gtsdb import frames_dir, read_gt  # noqa: E402

from edgexai.pipeline.batching import extract_crops, make_batch, pad_boxes  # noqa: E402
from edgexai.pipeline.decision import COLOUR  # noqa: E402
from edgexai.pipeline.loop import softmax  # noqa: E402
from edgexai.pipeline.rejector import FEATURE_SIZE, default_rejector  # noqa: E402
from edgexai.pipeline.session import open_model  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--backend", default="ort")
    p.add_argument("--frames", default="400:600")
    p.add_argument("--min-size", type=float, default=20.0)
    p.add_argument("--min-score", type=float, default=COLOUR.min_score)
    a = p.parse_args()
    session, info = open_model(a.model, a.backend)
    rej = default_rejector()
    folder = frames_dir()
    gt = read_gt(folder)
    lo, hi = (int(x) for x in a.frames.split(":"))
    n = correct = passed = passed_correct = 0
    for i in range(lo, hi):
        g = [b for b in gt.get(i, []) if max(b[2] - b[0], b[3] - b[1]) >= a.min_size]
        if not g:
            continue
        frame = cv2.imread(str(folder / f"{i:05d}.jpg"))
        boxes = np.array([b[:4] for b in g], np.float32)
        padded = pad_boxes(boxes, frame.shape)
        crops = extract_crops(frame, padded, info.input_size)
        logits, _ = session.infer(make_batch(crops, info.mean, info.std))
        prob = softmax(np.asarray(logits, np.float64))
        cls, conf = prob.argmax(1), prob.max(1)
        sign = rej.score(extract_crops(frame, padded, FEATURE_SIZE)) if rej else np.ones(len(g))
        ok = cls == np.array([b[4] for b in g])
        keep = conf * sign >= a.min_score
        n += len(g)
        correct += int(ok.sum())
        passed += int(keep.sum())
        passed_correct += int((ok & keep).sum())
    print(json.dumps({"frames": a.frames, "signs": n, "class_accuracy": round(correct / n, 4),
                      "pass_decision": round(passed / n, 4),
                      "pass_and_correct": round(passed_correct / n, 4),
                      "min_score": a.min_score, "model": info.name}))


if __name__ == "__main__":
    main()
