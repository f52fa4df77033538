"""Train the first-stage rejector on the proposer's own output, GTSDB frames 0–399 only.

Positives: proposals at IoU ≥ 0.5 with a ground-truth sign, plus jittered ground-truth boxes;
negatives: proposals with IoU < 0.3 (what the proposer really confuses with signs). A one-hidden-
layer perceptron on HOG + chroma features (edgexai.pipeline.rejector), trained with torch (a
tool-side dependency; the vehicle runs it in numpy) on frames 0–399 except those ≡ 3 mod 4,
which choose the threshold for a target recall of sign proposals. Writes
edgexai/pipeline/data/rejector.npz.

  nice -n 19 .venv/bin/python tools/train_rejector.py [--target-recall 0.90]
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

from edgexai.detect.boxes import iou_matrix  # noqa: E402
from edgexai.pipeline.batching import extract_crops, pad_boxes  # noqa: E402
from edgexai.pipeline.proposals import ColourShapeProposer  # noqa: E402
from edgexai.pipeline.rejector import FEATURE_SIZE, Rejector, features  # noqa: E402


def _load_cache(cache: Path) -> dict[str, np.ndarray]:
    """A previous run's collected arrays (proposing hundreds of frames takes minutes)."""
    with np.load(cache) as z:
        return {k: z[k] for k in z.files}


def collect(frames: range, cache: Path) -> dict[str, np.ndarray]:
    """Proposal crops with labels (and frame ids), cached: proposing 400 frames takes minutes."""
    if cache.exists():
        return _load_cache(cache)
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


def collect_refine(frames: range, cache: Path) -> dict[str, np.ndarray]:
    """Proposals at IoU ≥ 0.3 with a sign, with the sign's edges as offsets of the proposal's
    width/height (the refiner's targets), cached."""
    if cache.exists():
        return _load_cache(cache)
    folder = frames_dir()
    gt = read_gt(folder)
    prop = ColourShapeProposer()
    crops, targets, frame_ids = [], [], []
    for i in frames:
        g = np.array([b[:4] for b in gt.get(i, [])], np.float32).reshape(-1, 4)
        if not len(g):
            continue
        frame = cv2.imread(str(folder / f"{i:05d}.jpg"))
        boxes, _ = prop.propose(frame)
        if not len(boxes):
            continue
        m = iou_matrix(boxes, g)
        k = m.max(1) >= 0.3
        if not k.any():
            continue
        pb, q = boxes[k], g[m.argmax(1)[k]]
        w, h = pb[:, 2] - pb[:, 0], pb[:, 3] - pb[:, 1]
        targets.append(np.stack([(q[:, 0] - pb[:, 0]) / w, (q[:, 1] - pb[:, 1]) / h,
                                 (q[:, 2] - pb[:, 2]) / w, (q[:, 3] - pb[:, 3]) / h], 1))
        crops.append(extract_crops(frame, pad_boxes(pb, frame.shape), FEATURE_SIZE))
        frame_ids.append(np.full(len(pb), i))
    out = {"crops": np.concatenate(crops), "t": np.concatenate(targets),
           "frames": np.concatenate(frame_ids)}
    np.savez(cache, **out)
    return out


def train_one_hidden_layer(x: np.ndarray, y: np.ndarray, hidden: int, outputs: int, epochs: int,
                           seed: int, batch: int, loss_fn):
    """x → Linear → ReLU → Linear(outputs), Adam (lr 1e-3, wd 1e-4) on seeded shuffled batches;
    torch is a tool-side dependency only (the vehicle runs the weights in numpy)."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, outputs))
    opt = torch.optim.Adam(net.parameters(), 1e-3, weight_decay=1e-4)
    rng = np.random.default_rng(seed)
    idx = np.arange(len(y))
    for _ in range(epochs):
        rng.shuffle(idx)
        for i in range(0, len(idx), batch):
            b = torch.from_numpy(idx[i:i + batch])
            loss = loss_fn(net(xt[b]), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return (net[0].weight.detach().numpy().T.astype(np.float32),
            net[0].bias.detach().numpy().astype(np.float32),
            net[2].weight.detach().numpy(), net[2].bias.detach().numpy())


def fit_refiner(x: np.ndarray, t: np.ndarray, hidden: int, epochs: int, seed: int):
    """One hidden layer regressing the 4 edge offsets (smooth L1)."""
    import torch.nn.functional as F

    w1, b1, w2, b2 = train_one_hidden_layer(
        x, t, hidden, 4, epochs, seed, 256, lambda out, tb: F.smooth_l1_loss(out, tb, beta=0.05))
    return w1, b1, w2.T.astype(np.float32), b2.astype(np.float32)


def add_refiner(rej: Rejector, cache: Path, hidden: int, epochs: int, seed: int) -> str:
    """Train the box refiner on frames 0–399 except ≡ 3 mod 4; report IoU ≥ 0.5 before/after on
    those validation frames."""
    d = collect_refine(range(0, 400), cache)
    x = rej.standardised(d["crops"])
    val = d["frames"] % 4 == 3
    rej.r_w1, rej.r_b1, rej.r_w2, rej.r_b2 = fit_refiner(x[~val], d["t"][~val], hidden, epochs,
                                                        seed)
    unit = np.tile(np.array([[0, 0, 100, 100]], np.float32), (int(val.sum()), 1))
    gt_box = unit + 100 * d["t"][val]  # the sign's box, in a 100-px proposal's frame
    ref = rej.refine_x(x[val], unit.copy())
    before = iou_matrix(unit[:1], gt_box)[0] if len(unit) else np.zeros(0)
    after = np.array([iou_matrix(ref[i:i + 1], gt_box[i:i + 1])[0, 0] for i in range(len(ref))])
    return (f"box refiner ({hidden} hidden, {epochs} epochs): on validation proposals at IoU ≥ 0.3 "
            f"with a sign, IoU ≥ 0.5 for {float((before >= 0.5).mean()):.3f} before and "
            f"{float((after >= 0.5).mean()):.3f} after refinement (n={int(val.sum())})")


def fit_mlp(x: np.ndarray, y: np.ndarray, hidden: int, epochs: int, seed: int,
            pos_weight: float) -> tuple[np.ndarray, ...]:
    """One hidden layer, weighted BCE: the sign / background rejector."""
    import torch
    import torch.nn.functional as F

    pw = torch.tensor(pos_weight)
    w1, b1, w2, b2 = train_one_hidden_layer(
        x, y, hidden, 1, epochs, seed, 512,
        lambda out, yb: F.binary_cross_entropy_with_logits(out.squeeze(1), yb, pos_weight=pw))
    return w1, b1, w2[0].astype(np.float32), float(b2[0])


def write_weights(rej: Rejector, out: Path) -> None:
    """Save the weights where the package loads them (its provenance is in `rej.info`)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    rej.save(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache", default="/tmp/edgexai-rejector-data.npz")
    p.add_argument("--target-recall", type=float, default=0.90,
                   help="fraction of real-sign proposals (validation) the threshold keeps")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--refine-cache", default="/tmp/edgexai-refiner-data.npz")
    p.add_argument("--refine-epochs", type=int, default=30)
    p.add_argument("--refiner-only", action="store_true",
                   help="keep the shipped classifier head and threshold; (re)train the refiner")
    p.add_argument("--out", default=str(REPO / "edgexai" / "pipeline" / "data" / "rejector.npz"))
    a = p.parse_args()
    t0 = time.time()
    if a.refiner_only:
        from edgexai.pipeline.rejector import default_rejector

        rej = default_rejector()
        base_info = rej.info.split("; box refiner")[0]
        rej.info = base_info + "; " + add_refiner(rej, Path(a.refine_cache), a.hidden,
                                                  a.refine_epochs, a.seed)
        write_weights(rej, Path(a.out))
        print(rej.info)
        return
    d = collect(range(0, 400), Path(a.cache))
    x = np.concatenate([features(d["crops"][i:i + 20000]) for i in range(0, len(d["crops"]), 20000)])
    y = (d["labels"] == 1).astype(np.float64)
    val = d["frames"] % 4 == 3
    mu, sd = x[~val].mean(0), x[~val].std(0) + 1e-6
    pos_w = float((y[~val] == 0).sum() / max((y[~val] == 1).sum(), 1)) ** 0.5
    w1, b1, w2, b2 = fit_mlp((x[~val] - mu) / sd, y[~val], a.hidden, a.epochs, a.seed, pos_w)
    rej = Rejector(mu.astype(np.float32), sd.astype(np.float32), w1, b1, w2, b2, 0.5, "")
    real = val & (d["jitter"] == 0)  # threshold on proposals only (what the vehicle will see)
    s = rej.score(d["crops"][real])
    yv = y[real]
    pos_scores = np.sort(s[yv == 1])
    thr = float(pos_scores[int((1 - a.target_recall) * len(pos_scores))])
    keep_neg = float((s[yv == 0] >= thr).mean())
    n_frames = len(np.unique(d["frames"][real]))
    rej.threshold = thr
    info = (f"trained on GTSDB frames 0-399 except frames = 3 mod 4, which chose the "
                f"threshold; {int((~val).sum())} train crops ({int(y[~val].sum())} sign), "
                f"{a.hidden} hidden units, {a.epochs} epochs, seed {a.seed}; validation: threshold "
                f"{thr:.4f} keeps {a.target_recall:.2f} of sign proposals and {keep_neg:.4f} of "
                f"background proposals ({keep_neg * (yv == 0).sum() / n_frames:.1f} per frame)")
    rej.info = info + "; " + add_refiner(rej, Path(a.refine_cache), a.hidden, a.refine_epochs,
                                         a.seed)
    write_weights(rej, Path(a.out))
    print(rej.info)
    print(f"wrote {a.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
