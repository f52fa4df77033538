"""Tracking scores against a drive-by's tracks.txt, computed by motmetrics (MOTA, IDF1, ID
switches), not by hand: the CLEAR-MOT and IDF1 bookkeeping (matching kept across frames, switch
counting, the global ID assignment) is easy to get subtly wrong, and a well-kept library makes the
figures comparable with other trackers'.

Boxes are (x, y, w, h) in pixels, as in tracks.txt (MOTChallenge's layout). The IoU distance
matrix is computed here with numpy because motmetrics 1.4.0's `distances.iou_matrix` calls
`np.asfarray`, which NumPy 2 removed; everything else is motmetrics'.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from edgexai.core.errors import EdgexaiError

XYWH = tuple[float, float, float, float]
Tracks = Mapping[int, Sequence[tuple[int, XYWH]]]  # frame → [(track id, box), …]


def read_tracks(path: str | os.PathLike) -> dict[int, list[tuple[int, XYWH]]]:
    """tracks.txt (`frame,id,x,y,w,h,…`) → {frame: [(id, (x, y, w, h)), …]}."""
    out: dict[int, list[tuple[int, XYWH]]] = {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise EdgexaiError(f"{path} cannot be read ({exc.strerror or exc})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            f, i, x, y, w, h = line.split(",")[:6]
            out.setdefault(int(f), []).append((int(i), (float(x), float(y), float(w), float(h))))
        except ValueError:
            raise EdgexaiError(f"{path}:{n}: expected frame,id,x,y,w,h,…, got {line!r}") from None
    return out


def iou_distances(gt: Sequence[XYWH], pred: Sequence[XYWH], min_iou: float) -> np.ndarray:
    """1 − IoU for every (gt, prediction) pair; NaN (no match allowed) where IoU < min_iou."""
    if not len(gt) or not len(pred):
        return np.empty((len(gt), len(pred)))
    a, b = np.asarray(gt, float)[:, None, :], np.asarray(pred, float)[None, :, :]
    iw = np.clip(
        np.minimum(a[..., 0] + a[..., 2], b[..., 0] + b[..., 2]) - np.maximum(a[..., 0], b[..., 0]),
        0,
        None,
    )
    ih = np.clip(
        np.minimum(a[..., 1] + a[..., 3], b[..., 1] + b[..., 3]) - np.maximum(a[..., 1], b[..., 1]),
        0,
        None,
    )
    inter = iw * ih
    iou = inter / (a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter)
    return np.where(iou >= min_iou, 1.0 - iou, np.nan)


def score_tracks(gt: Tracks, pred: Tracks, min_iou: float = 0.5) -> dict:
    """MOTA, IDF1, ID switches (and the counts behind them) of predicted tracks against ground
    truth, over every frame either names. A frame missing from `pred` has no predictions."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=False)
    for frame in sorted(set(gt) | set(pred)):
        g, p = list(gt.get(frame, ())), list(pred.get(frame, ()))
        acc.update(
            [i for i, _ in g],
            [i for i, _ in p],
            iou_distances([b for _, b in g], [b for _, b in p], min_iou),
            frameid=frame,
        )
    names = [
        "mota",
        "motp",
        "idf1",
        "num_switches",
        "num_false_positives",
        "num_misses",
        "num_objects",
        "num_unique_objects",
        "mostly_tracked",
        "num_fragmentations",
    ]
    row = mm.metrics.create().compute(acc, metrics=names, name="drive").iloc[0]
    out = {k: float(row[k]) for k in ("mota", "motp", "idf1")}
    out.update({k: int(row[k]) for k in names if k not in out})
    out["switches_per_track"] = out["num_switches"] / max(out["num_unique_objects"], 1)
    return out
