"""Detections scored against ground truth, with the rules of the project's GTSDB figures.

Rules (the ones `edgexai score` has always used, formerly tools/score_gtsdb.py): a detection is
matched to a ground-truth sign at IoU ≥ 0.5, greedily, best score first, each sign at most once;
recall counts only signs whose longer side is ≥ `min_size` px; a detection on a smaller real sign
is not a false alarm (it counts as correct for precision and is left out of the AP ranking).
Class-aware scoring also needs the predicted class to equal the sign's. AP is the area under the
precision envelope of the ranked detections (all-points, as PASCAL VOC 2010+).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from edgexai.core.detection.boxes import iou_matrix
from edgexai.core.detection.categories import CATEGORIES, category_of

GtBox = tuple[float, float, float, float, int]


@dataclass
class FrameDets:
    """One frame's detections (class ids may be None for class-agnostic scoring)."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray | None = None


@dataclass
class Outcome:
    """Per detection: score, correct, on a small sign (ignored by AP), predicted category;
    per sign: counted in recall, its category, found by which detection score (or -inf)."""

    det_score: np.ndarray
    det_correct: np.ndarray
    det_small: np.ndarray
    det_category: np.ndarray
    sign_big: np.ndarray
    sign_category: np.ndarray
    sign_found_at: np.ndarray
    frames: int
    empty_frames: int
    empty_frame_scores: np.ndarray  # every detection score on frames without any sign


def match_frames(
    dets: Mapping[object, FrameDets],
    gt: Mapping[object, list[GtBox]],
    min_size: float = 20.0,
    iou: float = 0.5,
    class_aware: bool = True,
) -> Outcome:
    """Match every frame of `dets` (frames missing from gt have no signs)."""
    d_score, d_ok, d_small, d_cat = [], [], [], []
    s_big, s_cat, s_found = [], [], []
    empty_scores = []
    empty = 0
    for key, fd in dets.items():
        signs = gt.get(key, [])
        g = np.array([s[:4] for s in signs], np.float32).reshape(-1, 4)
        gcls = np.array([s[4] for s in signs], np.int64)
        big = np.maximum(g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]) >= min_size
        order = np.argsort(-np.asarray(fd.scores), kind="stable")
        boxes = np.asarray(fd.boxes, np.float32).reshape(-1, 4)[order]
        scores = np.asarray(fd.scores, np.float32)[order]
        classes = None if fd.classes is None else np.asarray(fd.classes, np.int64)[order]
        if not len(signs):
            empty += 1
            empty_scores.append(scores)
        found = np.full(len(g), -np.inf, np.float32)
        ious = iou_matrix(boxes, g)
        taken = np.zeros(len(g), bool)
        for k in range(len(boxes)):
            cand = np.where(~taken & (ious[k] >= iou))[0] if len(g) else []
            correct = small = False
            if len(cand):
                j = cand[np.argmax(ious[k, cand])]
                taken[j] = True
                right = not class_aware or classes is None or classes[k] == gcls[j]
                correct = bool(right)
                small = not big[j]
                if right and big[j]:
                    found[j] = scores[k]
            d_score.append(scores[k])
            d_ok.append(correct)
            d_small.append(small)
            d_cat.append(category_of(int(classes[k])) if classes is not None else "")
        s_big.extend(big.tolist())
        s_cat.extend(category_of(int(c)) for c in gcls)
        s_found.extend(found.tolist())
    return Outcome(
        np.array(d_score, np.float32),
        np.array(d_ok, bool),
        np.array(d_small, bool),
        np.array(d_cat, object),
        np.array(s_big, bool),
        np.array(s_cat, object),
        np.array(s_found, np.float32),
        len(dets),
        empty,
        np.concatenate(empty_scores) if empty_scores else np.zeros(0, np.float32),
    )


def average_precision(scores: np.ndarray, correct: np.ndarray, n_signs: int) -> float:
    """All-points AP of ranked detections against n_signs positives."""
    if n_signs == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(correct[order])
    fp = np.cumsum(~correct[order])
    recall = np.concatenate([[0.0], tp / n_signs])
    precision = np.concatenate([[1.0], tp / np.maximum(tp + fp, 1)])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))


def ap(out: Outcome, category: str | None = None) -> float:
    """AP over all signs ≥ min_size, or over one GTSDB category (detections by predicted class)."""
    keep = ~out.det_small
    signs = out.sign_big
    if category is not None:
        keep &= out.det_category == category
        signs = signs & (out.sign_category == category)
    return average_precision(out.det_score[keep], out.det_correct[keep], int(signs.sum()))


def at_threshold(out: Outcome, threshold: float) -> dict[str, float]:
    """Recall, precision and false alarms at one score threshold."""
    kept = out.det_score >= threshold
    n_det = int(kept.sum())
    correct = int((out.det_correct & kept).sum())
    n_signs = int(out.sign_big.sum())
    found = int((out.sign_big & (out.sign_found_at >= threshold)).sum())
    return {
        "threshold": float(threshold),
        "recall": found / max(n_signs, 1),
        "precision": correct / max(n_det, 1) if n_det else 1.0,
        "detections": n_det,
        "false_alarms_per_frame": (n_det - correct) / max(out.frames, 1),
        "false_alarms_per_empty_frame": float((out.empty_frame_scores >= threshold).sum())
        / max(out.empty_frames, 1),
    }


def best_threshold(out: Outcome, target_precision: float) -> dict[str, float] | None:
    """The threshold with the highest recall at precision ≥ target (ties: the higher threshold)."""
    best = None
    for t in np.unique(out.det_score):
        r = at_threshold(out, float(t))
        if r["precision"] >= target_precision and (
            best is None
            or r["recall"] > best["recall"]
            or (r["recall"] == best["recall"] and t > best["threshold"])
        ):
            best = r
    return best


def summary(out: Outcome, threshold: float | None = None) -> dict[str, object]:
    """AP overall and per category, and the operating point at `threshold` if given."""
    res: dict[str, object] = {
        "frames": out.frames,
        "signs": int(out.sign_big.sum()),
        "empty_frames": out.empty_frames,
        "ap": round(ap(out), 4),
        "ap_per_category": {c: round(ap(out, c), 4) for c in CATEGORIES},
    }
    if threshold is not None:
        res["at_threshold"] = {
            k: round(v, 4) if isinstance(v, float) else v
            for k, v in at_threshold(out, threshold).items()
        }
    return res


def report(
    dets: Mapping[object, FrameDets],
    gt: Mapping[object, list[GtBox]],
    threshold: float,
    min_size: float = 20.0,
) -> dict[str, object]:
    """What `edgexai score` prints: the class-aware summary at `threshold` (AP overall and per
    category, the operating point) and the class-agnostic AP, recall and precision beside it."""
    aware = match_frames(dets, gt, min_size, class_aware=True)
    agnostic = match_frames(dets, gt, min_size, class_aware=False)
    res = summary(aware, threshold)
    res["class_agnostic"] = {
        "ap": summary(agnostic)["ap"],
        **{
            k: round(v, 4)
            for k, v in at_threshold(agnostic, threshold).items()
            if k in ("recall", "precision")
        },
    }
    return res
