"""Training the colour cascade's learned parts: the first-stage rejector and its box refiner
(`edgexai rejector train`). Training side: torch fits the weights; the vehicle runs them in numpy
(edgexai.core.detection.hog_rejector).

Data: the proposer's own output on the GTSDB development frames 0–399 (edgexai.train.data.gtsdb_frames
DEVELOPMENT). Rejector positives: proposals at IoU ≥ 0.5 with a ground-truth sign, plus jittered
ground-truth boxes; negatives: proposals with IoU < 0.3 (what the proposer really confuses with
signs). Refiner: proposals at IoU ≥ 0.3 with a sign, the sign's edges as targets. Both train on
the development frames except the calibration ones (≡ 3 mod 4), which choose the rejector's
threshold for a target recall of sign proposals and report the refiner's effect. Proposing 400
frames takes minutes, so the collected crops are cached (keyed by the ground truth and the
proposer's settings).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgexai.core.arg_types import positive_int, unit_interval
from edgexai.core.detection.hog_rejector import FEATURE_SIZE, Rejector, features
from edgexai.core.errors import EdgexaiError
from edgexai.core.image_files import read_image
from edgexai.core.options import opt
from edgexai.train.data.gtsdb_frames import CALIBRATION_MOD, DEVELOPMENT


@dataclass(frozen=True)
class RejectorTrainOptions:
    out: str = ""  # where the weights go (the command requires it)
    data_root: str | None = opt(
        None, "folder holding gtsdb/ or gtsdb-dev.tar (default: $EDGEXAI_DATA)"
    )
    target_recall: float = opt(
        0.90,
        "fraction of real-sign proposals (calibration frames) the threshold keeps",
        type=unit_interval,
    )
    hidden: int = opt(64, "hidden units of the rejector and of the refiner", type=positive_int)
    epochs: int = opt(10, "rejector training epochs", type=positive_int)
    seed: int = opt(0, "seed for initialisation, batch order and ground-truth jitter", type=int)
    refine_epochs: int = opt(30, "box refiner training epochs", type=positive_int)
    refiner_only: bool = opt(
        False,
        "keep the shipped rejector's classifier head and threshold; (re)train the box refiner only",
    )
    cache: str | None = opt(
        None,
        "folder for the collected crops (default: <cache>/rejector, "
        "EDGEXAI_CACHE or ~/.cache/edgexai)",
        metavar="DIR",
    )


def _frame(folder: Path, i: int) -> np.ndarray:
    from edgexai.train.data.gtsdb_frames import frame_path

    frame = read_image(frame_path(folder, i))
    if frame is None:
        raise EdgexaiError(f"{frame_path(folder, i)} is missing or not an image")
    return frame


def _load_cache(cache: Path) -> dict[str, np.ndarray]:
    """A previous run's collected arrays (proposing hundreds of frames takes minutes)."""
    with np.load(cache) as z:
        return {k: z[k] for k in z.files}


def cache_key(folder: Path) -> str:
    """What the collected crops depend on: the ground truth, the proposer, the crop size."""
    from edgexai.core.detection.colour_candidates import ColourGeneratorConfig
    from edgexai.core.digest import sha256_file

    h = hashlib.sha256(sha256_file(folder / "gt.txt").encode())
    h.update(repr(sorted(asdict(ColourGeneratorConfig()).items())).encode())
    h.update(f"{FEATURE_SIZE}".encode())
    return h.hexdigest()[:16]


def _jittered(g: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Four jittered copies of the ground-truth boxes (± 8 % of their size per edge)."""
    wh = np.stack([g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]], 1)
    jit = []
    for _ in range(4):
        d = rng.uniform(-0.08, 0.08, (len(g), 4)) * np.concatenate([wh, wh], 1)
        jit.append(g + d)
    return np.concatenate(jit)


def collect(folder: Path, frames: range, cache: Path) -> dict[str, np.ndarray]:
    """Proposal crops with labels (1 sign, 0 background), frame numbers and whether a crop is
    jittered ground truth; cached."""
    from edgexai.core.batching import extract_crops
    from edgexai.core.detection.boxes import iou_matrix
    from edgexai.core.detection.colour_candidates import ColourShapeGenerator
    from edgexai.core.preprocess import pad_boxes
    from edgexai.train.data.gtsdb_frames import gt_by_number

    if cache.exists():
        return _load_cache(cache)
    gt = gt_by_number(folder)
    prop = ColourShapeGenerator()
    rng = np.random.default_rng(0)
    crops, labels, frame_ids, kinds = [], [], [], []
    for i in frames:
        frame = _frame(folder, i)
        boxes, _ = prop.generate(frame)
        g = np.array([b[:4] for b in gt.get(i, [])], np.float32).reshape(-1, 4)
        best = iou_matrix(boxes, g).max(1) if len(g) and len(boxes) else np.zeros(len(boxes))
        lab = np.where(best >= 0.5, 1, np.where(best < 0.3, 0, -1))
        keep = lab >= 0
        if len(g):  # jittered ground truth: positives the proposer happened to miss
            jb = _jittered(g, rng)
            boxes = np.concatenate([boxes[keep], jb])
            lab = np.concatenate([lab[keep], np.ones(len(jb), int)])
            kind = np.concatenate([np.zeros(keep.sum(), int), np.ones(len(jb), int)])
        else:
            boxes, lab, kind = boxes[keep], lab[keep], np.zeros(keep.sum(), int)
        crops.append(extract_crops(frame, pad_boxes(boxes, frame.shape), FEATURE_SIZE))
        labels.append(lab)
        frame_ids.append(np.full(len(lab), i))
        kinds.append(kind)
    out = {
        "crops": np.concatenate(crops),
        "labels": np.concatenate(labels),
        "frames": np.concatenate(frame_ids),
        "jitter": np.concatenate(kinds),
    }
    _save_cache(cache, out)
    return out


def collect_refine(folder: Path, frames: range, cache: Path) -> dict[str, np.ndarray]:
    """Proposals at IoU ≥ 0.3 with a sign, with the sign's edges as offsets of the proposal's
    width/height (the refiner's targets), cached."""
    from edgexai.core.batching import extract_crops
    from edgexai.core.detection.boxes import iou_matrix
    from edgexai.core.detection.colour_candidates import ColourShapeGenerator
    from edgexai.core.preprocess import pad_boxes
    from edgexai.train.data.gtsdb_frames import gt_by_number

    if cache.exists():
        return _load_cache(cache)
    gt = gt_by_number(folder)
    prop = ColourShapeGenerator()
    crops, targets, frame_ids = [], [], []
    for i in frames:
        g = np.array([b[:4] for b in gt.get(i, [])], np.float32).reshape(-1, 4)
        if not len(g):
            continue
        frame = _frame(folder, i)
        boxes, _ = prop.generate(frame)
        if not len(boxes):
            continue
        m = iou_matrix(boxes, g)
        k = m.max(1) >= 0.3
        if not k.any():
            continue
        pb, q = boxes[k], g[m.argmax(1)[k]]
        w, h = pb[:, 2] - pb[:, 0], pb[:, 3] - pb[:, 1]
        targets.append(
            np.stack(
                [
                    (q[:, 0] - pb[:, 0]) / w,
                    (q[:, 1] - pb[:, 1]) / h,
                    (q[:, 2] - pb[:, 2]) / w,
                    (q[:, 3] - pb[:, 3]) / h,
                ],
                1,
            )
        )
        crops.append(extract_crops(frame, pad_boxes(pb, frame.shape), FEATURE_SIZE))
        frame_ids.append(np.full(len(pb), i))
    if not crops:
        raise EdgexaiError(
            f"no proposal overlaps a sign at IoU ≥ 0.3 on frames {frames.start}–"
            f"{frames.stop - 1}: nothing to train the box refiner on"
        )
    out = {
        "crops": np.concatenate(crops),
        "t": np.concatenate(targets),
        "frames": np.concatenate(frame_ids),
    }
    _save_cache(cache, out)
    return out


def _save_cache(cache: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez through a temporary file, so an interrupted run leaves no half cache."""
    import os

    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.stem + ".partial.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, cache)


def train_one_hidden_layer(
    x: np.ndarray,
    y: np.ndarray,
    hidden: int,
    outputs: int,
    epochs: int,
    seed: int,
    batch: int,
    loss_fn,
):
    """x → Linear → ReLU → Linear(outputs), Adam (lr 1e-3, wd 1e-4) on seeded shuffled batches;
    torch is a training-side dependency only (the vehicle runs the weights in numpy)."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, outputs)
    )
    opt = torch.optim.Adam(net.parameters(), 1e-3, weight_decay=1e-4)
    rng = np.random.default_rng(seed)
    idx = np.arange(len(y))
    for _ in range(epochs):
        rng.shuffle(idx)
        for i in range(0, len(idx), batch):
            b = torch.from_numpy(idx[i : i + batch])
            loss = loss_fn(net(xt[b]), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return (
        net[0].weight.detach().numpy().T.astype(np.float32),
        net[0].bias.detach().numpy().astype(np.float32),
        net[2].weight.detach().numpy(),
        net[2].bias.detach().numpy(),
    )


def fit_refiner(x: np.ndarray, t: np.ndarray, hidden: int, epochs: int, seed: int):
    """One hidden layer regressing the 4 edge offsets (smooth L1)."""
    import torch.nn.functional as F

    w1, b1, w2, b2 = train_one_hidden_layer(
        x, t, hidden, 4, epochs, seed, 256, lambda out, tb: F.smooth_l1_loss(out, tb, beta=0.05)
    )
    return w1, b1, w2.T.astype(np.float32), b2.astype(np.float32)


def fit_mlp(
    x: np.ndarray, y: np.ndarray, hidden: int, epochs: int, seed: int, pos_weight: float
) -> tuple[np.ndarray, ...]:
    """One hidden layer, weighted BCE: the sign / background rejector."""
    import torch
    import torch.nn.functional as F

    pw = torch.tensor(pos_weight)
    w1, b1, w2, b2 = train_one_hidden_layer(
        x,
        y,
        hidden,
        1,
        epochs,
        seed,
        512,
        lambda out, yb: F.binary_cross_entropy_with_logits(out.squeeze(1), yb, pos_weight=pw),
    )
    return w1, b1, w2[0].astype(np.float32), float(b2[0])


def _is_calibration(frames: np.ndarray) -> np.ndarray:
    m, r = CALIBRATION_MOD
    return frames % m == r


def add_refiner(
    rej: Rejector, d: dict[str, np.ndarray], hidden: int, epochs: int, seed: int
) -> str:
    """Train the box refiner on the development frames except the calibration ones; report
    IoU ≥ 0.5 before/after on those."""
    from edgexai.core.detection.boxes import iou_matrix

    x = rej.standardised(d["crops"])
    val = _is_calibration(d["frames"])
    rej.r_w1, rej.r_b1, rej.r_w2, rej.r_b2 = fit_refiner(
        x[~val], d["t"][~val], hidden, epochs, seed
    )
    unit = np.tile(np.array([[0, 0, 100, 100]], np.float32), (int(val.sum()), 1))
    gt_box = unit + 100 * d["t"][val]  # the sign's box, in a 100-px proposal's frame
    ref = rej.refine_x(x[val], unit.copy())
    before = iou_matrix(unit[:1], gt_box)[0] if len(unit) else np.zeros(0)
    after = np.array([iou_matrix(ref[i : i + 1], gt_box[i : i + 1])[0, 0] for i in range(len(ref))])
    return (
        f"box refiner ({hidden} hidden, {epochs} epochs): on validation proposals at IoU ≥ 0.3 "
        f"with a sign, IoU ≥ 0.5 for {float((before >= 0.5).mean()):.3f} before and "
        f"{float((after >= 0.5).mean()):.3f} after refinement (n={int(val.sum())})"
    )


def fit_rejector(d: dict[str, np.ndarray], o: RejectorTrainOptions) -> Rejector:
    """The sign / background head on the training crops, its threshold from the calibration
    frames' proposals (jittered ground truth left out: the vehicle never sees it)."""
    x = np.concatenate(
        [features(d["crops"][i : i + 20000]) for i in range(0, len(d["crops"]), 20000)]
    )
    y = (d["labels"] == 1).astype(np.float64)
    val = _is_calibration(d["frames"])
    mu, sd = x[~val].mean(0), x[~val].std(0) + 1e-6
    pos_w = float((y[~val] == 0).sum() / max((y[~val] == 1).sum(), 1)) ** 0.5
    w1, b1, w2, b2 = fit_mlp((x[~val] - mu) / sd, y[~val], o.hidden, o.epochs, o.seed, pos_w)
    rej = Rejector(mu.astype(np.float32), sd.astype(np.float32), w1, b1, w2, b2, 0.5, "")
    real = val & (d["jitter"] == 0)  # threshold on proposals only (what the vehicle will see)
    s = rej.score(d["crops"][real])
    yv = y[real]
    pos_scores = np.sort(s[yv == 1])
    if not len(pos_scores):
        raise EdgexaiError("no sign proposal on the calibration frames: cannot set the threshold")
    thr = float(pos_scores[int((1 - o.target_recall) * len(pos_scores))])
    keep_neg = float((s[yv == 0] >= thr).mean())
    n_frames = len(np.unique(d["frames"][real]))
    rej.threshold = thr
    m, r = CALIBRATION_MOD
    rej.info = (
        f"trained on GTSDB frames {DEVELOPMENT.start}-{DEVELOPMENT.stop - 1} except frames "
        f"= {r} mod {m}, which chose the "
        f"threshold; {int((~val).sum())} train crops ({int(y[~val].sum())} sign), "
        f"{o.hidden} hidden units, {o.epochs} epochs, seed {o.seed}; validation: threshold "
        f"{thr:.4f} keeps {o.target_recall:.2f} of sign proposals and {keep_neg:.4f} of "
        f"background proposals ({keep_neg * (yv == 0).sum() / n_frames:.1f} per frame)"
    )
    return rej


def train_rejector(o: RejectorTrainOptions) -> Rejector:
    """Train (or, with refiner_only, retrain the refiner of the shipped rejector) and write the
    weights to `o.out`; returns the rejector (its provenance is in `info`)."""
    from edgexai.core.detection.hog_rejector import default_rejector
    from edgexai.train.data.gtsdb_frames import require_gtsdb
    from edgexai.train.data.locate import cache_dir

    if not o.out:
        raise EdgexaiError(
            "rejector train needs --out FILE (the shipped weights: "
            "edgexai/core/detection/data/rejector.npz in a checkout)"
        )
    folder = require_gtsdb(o.data_root)
    cache = Path(o.cache).expanduser() if o.cache else cache_dir() / "rejector"
    key = cache_key(folder)
    frames = range(DEVELOPMENT.start, DEVELOPMENT.stop)
    if o.refiner_only:
        rej = default_rejector()
        if rej is None:
            raise EdgexaiError("--refiner-only needs the shipped rejector, which is missing")
        base_info = rej.info.split("; box refiner")[0]
    else:
        rej = fit_rejector(collect(folder, frames, cache / f"rejector-{key}.npz"), o)
        base_info = rej.info
    d = collect_refine(folder, frames, cache / f"refiner-{key}.npz")
    rej.info = base_info + "; " + add_refiner(rej, d, o.hidden, o.refine_epochs, o.seed)
    out = Path(o.out).expanduser()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        rej.save(out)
    except OSError as exc:
        raise EdgexaiError(f"cannot write {out} ({exc.strerror or exc})") from None
    return rej
