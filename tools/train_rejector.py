"""Train the first-stage rejector on the proposer's own output, GTSDB frames 0–399 only.

Positives: proposals at IoU ≥ 0.5 with a ground-truth sign, plus jittered ground-truth boxes;
negatives: proposals with IoU < 0.3 (what the proposer really confuses with signs). A logistic
model on HOG + chroma features (edgexai.pipeline.rejector), fitted with L-BFGS (scipy, a tool-only
dependency); the threshold is chosen on a validation part of the same frames (frames ≡ 3 mod 4)
for a target recall of proposals. Writes edgexai/pipeline/rejector_weights.py.

  nice -n 19 .venv/bin/python tools/train_rejector.py [--target-recall 0.97]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))
from gtsdb import frames_dir, read_gt  # noqa: E402

from edgexai.pipeline.batching import extract_crops, pad_boxes  # noqa: E402
from edgexai.pipeline.proposals import ColourShapeProposer, iou_matrix  # noqa: E402
from edgexai.pipeline.rejector import FEATURE_SIZE, LinearRejector, features  # noqa: E402


def collect(frames: range, cache: Path) -> dict[str, np.ndarray]:
    """Proposal crops with labels (and frame ids), cached: proposing 400 frames takes minutes."""
    if cache.exists():
        z = np.load(cache)
        return {k: z[k] for k in z.files}
    folder = frames_dir()
    gt = read_gt(folder)
    prop = ColourShapeProposer()
    rng = np.random.default_rng(0)
    crops, labels, frame_ids, kinds = [], [], [], []
    for i in frames:
        frame = cv2.imread(str(folder / f"{i:05d}.jpg"))
        boxes, _ = prop.propose(frame)
        g = np.array([b[:4] for b in gt.get(i, [])], np.float32).reshape(-1, 4)
        best = iou_matrix(boxes, g).max(1) if len(g) and len(boxes) else np.zeros(len(boxes))
        lab = np.where(best >= 0.5, 1, np.where(best < 0.3, 0, -1))
        keep = lab >= 0
        if len(g):  # jittered ground truth: positives the proposer happened to miss
            wh = np.stack([g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]], 1)
            jit = []
            for _ in range(4):
                d = rng.uniform(-0.08, 0.08, (len(g), 4)) * np.concatenate([wh, wh], 1)
                jit.append(g + d)
            jb = np.concatenate(jit)
            boxes = np.concatenate([boxes[keep], jb])
            lab = np.concatenate([lab[keep], np.ones(len(jb), int)])
            kind = np.concatenate([np.zeros(keep.sum(), int), np.ones(len(jb), int)])
        else:
            boxes, lab, kind = boxes[keep], lab[keep], np.zeros(keep.sum(), int)
        crops.append(extract_crops(frame, pad_boxes(boxes, frame.shape), FEATURE_SIZE))
        labels.append(lab)
        frame_ids.append(np.full(len(lab), i))
        kinds.append(kind)
    out = {"crops": np.concatenate(crops), "labels": np.concatenate(labels),
           "frames": np.concatenate(frame_ids), "jitter": np.concatenate(kinds)}
    np.savez(cache, **out)
    return out


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, pos_weight: float) -> tuple[np.ndarray, float]:
    from scipy.optimize import minimize

    wts = np.where(y == 1, pos_weight, 1.0)

    def loss(p):
        w, b = p[:-1], p[-1]
        z = x @ w + b
        lz = np.logaddexp(0, -z) * y + np.logaddexp(0, z) * (1 - y)
        s = 1 / (1 + np.exp(-z))
        g = (s - y) * wts
        return (wts * lz).sum() / len(y) + l2 * (w @ w), np.concatenate(
            [x.T @ g / len(y) + 2 * l2 * w, [g.sum() / len(y)]])

    res = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B",
                   options={"maxiter": 500})
    return res.x[:-1], float(res.x[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", default="/tmp/edgexai-rejector-data.npz")
    p.add_argument("--target-recall", type=float, default=0.97,
                   help="fraction of real-sign proposals (validation) the threshold keeps")
    p.add_argument("--l2", type=float, default=1e-3)
    p.add_argument("--out", default=str(REPO / "edgexai" / "pipeline" / "rejector_weights.py"))
    a = p.parse_args()
    t0 = time.time()
    d = collect(range(0, 400), Path(a.cache))
    x = np.concatenate([features(d["crops"][i:i + 20000]) for i in range(0, len(d["crops"]), 20000)])
    y = (d["labels"] == 1).astype(np.float64)
    val = d["frames"] % 4 == 3
    mu, sd = x[~val].mean(0), x[~val].std(0) + 1e-6
    xs = (x - mu) / sd
    pos_w = float((y[~val] == 0).sum() / max((y[~val] == 1).sum(), 1)) ** 0.5
    w, b = fit_logistic(xs[~val], y[~val], a.l2, pos_w)
    s = 1 / (1 + np.exp(-(xs[val] @ w + b)))
    real = val & (d["jitter"] == 0)  # threshold on proposals only (what the vehicle will see)
    sv, yv = s[real[val]], y[real]
    pos_scores = np.sort(sv[yv == 1])
    thr = float(pos_scores[int((1 - a.target_recall) * len(pos_scores))])
    keep_neg = float((sv[yv == 0] >= thr).mean())
    n_frames = len(np.unique(d["frames"][val]))
    info = (f"trained on GTSDB frames 0-399 (frames = 3 mod 4 held out for the threshold); "
            f"{int((~val).sum())} train crops ({int(y[~val].sum())} sign); validation: threshold "
            f"{thr:.4f} keeps {a.target_recall:.2f} of sign proposals and {keep_neg:.4f} of "
            f"background proposals ({keep_neg * (yv == 0).sum() / n_frames:.1f} per frame)")
    # refit on all frames 0-399 with the same settings; keep the validated threshold
    mu, sd = x.mean(0), x.std(0) + 1e-6
    w, b = fit_logistic((x - mu) / sd, y, a.l2, pos_w)
    rej = LinearRejector(mu.astype(np.float32), sd.astype(np.float32), w.astype(np.float32), b,
                         thr, info)
    Path(a.out).write_text(
        '"""Weights of the first-stage rejector, written by tools/train_rejector.py (do not edit).\n\n'
        + info + '\n"""\n\nWEIGHTS = (\n' + "".join(
            f'    "{chunk}"\n' for chunk in (lambda t: [t[i:i + 90] for i in range(0, len(t), 90)])(
                rej.to_b64())) + ")\n")
    print(info)
    print(f"wrote {a.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
