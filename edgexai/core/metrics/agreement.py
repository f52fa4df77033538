"""How closely two saliency maps of the same images agree, one number per image.

Used to check that the explanation an engine computes on the device (its in-graph CAM, maybe in
fp16 or int8) is the one the study measured (the fp32 PyTorch Grad-CAM). numpy + scipy only, so
the deployment side may use it too. Every function takes two stacks N×H×W (or N×HW) and returns
N values: per-image agreement, which a caller averages (pooling all pixels of all images would
let a few high-contrast images hide the bad ones).

A constant map (all zero: the ReLU cut everything) has no correlation with anything; two constant
maps count as agreeing (1.0), one constant and one varying map as not (0.0), so means and minima
stay defined.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from edgexai.core.metrics.perturbation import count_removed, rank_pixels


def _flat(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, np.float64).reshape(len(a), -1)
    y = np.asarray(b, np.float64).reshape(len(b), -1)
    if x.shape != y.shape:
        raise ValueError(f"maps of different shapes: {np.shape(a)} vs {np.shape(b)}")
    return x, y


def _correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise Pearson r of N×M arrays, with the constant-map rule of the module docstring."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    nx = np.sqrt((xc * xc).sum(axis=1))
    ny = np.sqrt((yc * yc).sum(axis=1))
    flat_x = nx <= 1e-12 * np.maximum(1.0, np.abs(x).max(axis=1))
    flat_y = ny <= 1e-12 * np.maximum(1.0, np.abs(y).max(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(axis=1) / (nx * ny)
    r = np.clip(np.where(flat_x | flat_y, 0.0, r), -1.0, 1.0)
    return np.where(flat_x & flat_y, 1.0, r)


def pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image Pearson correlation of the pixel values (invariant to a map's scale and offset,
    so a min-max normalised map compares with an unnormalised one)."""
    return _correlation(*_flat(a, b))


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image Spearman rank correlation (ties get their average rank, as
    scipy.stats.spearmanr): agreement of the pixel order, blind to any monotone rescaling."""
    x, y = _flat(a, b)
    return _correlation(rankdata(x, axis=1), rankdata(y, axis=1))


def top_fraction_iou(
    a: np.ndarray, b: np.ndarray, fraction: float = 0.2, tiebreak: np.ndarray | None = None
) -> np.ndarray:
    """Per-image intersection over union of each map's top `fraction` of pixels.

    Each map keeps exactly round(fraction × HW) pixels, chosen by `perturbation.rank_pixels`:
    equal values (the flat zero regions of a ReLU'd CAM, fp16's coarse steps) are ordered by
    `tiebreak` keys N×HW when given — pass the same keys for both maps, as ROAD does — else by
    raster position; either way the same inputs give the same answer.
    """
    x, y = _flat(a, b)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    n, hw = x.shape
    k = max(1, count_removed(100.0 * fraction, hw))
    top_x = np.zeros((n, hw), bool)
    top_y = np.zeros((n, hw), bool)
    np.put_along_axis(top_x, rank_pixels(x, tiebreak)[:, :k], True, axis=1)
    np.put_along_axis(top_y, rank_pixels(y, tiebreak)[:, :k], True, axis=1)
    inter = (top_x & top_y).sum(axis=1)
    return inter / (2 * k - inter)
