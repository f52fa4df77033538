"""Which pixels a faithfulness test removes: a ranking of each map's pixels, then a keep-mask.

numpy only (the vehicle's deletion probe uses it too). Ties — common in Grad-CAM maps, which are
zero wherever the ReLU cut — are broken by a seeded random key, not by raster position, so a flat
region is removed in an unbiased order and the same seed gives the same masks.
"""

from __future__ import annotations

import numpy as np

ORDERS = ("morf", "lerf")


def tiebreak_keys(seed: int, image_ids: np.ndarray, hw: int) -> np.ndarray:
    """Uniform keys N×HW, one stream per (seed, image id), to order equal saliency values."""
    out = np.empty((len(image_ids), hw), np.float64)
    for i, image_id in enumerate(np.asarray(image_ids, np.int64)):
        out[i] = np.random.default_rng([seed, int(image_id), 1]).random(hw)
    return out


def rank_pixels(maps: np.ndarray, tiebreak: np.ndarray | None = None) -> np.ndarray:
    """Flat pixel indices N×HW, most relevant first (descending map value)."""
    flat = np.asarray(maps, np.float64).reshape(len(maps), -1)
    if tiebreak is None:
        return np.argsort(-flat, axis=1, kind="stable")
    return np.lexsort((tiebreak, -flat), axis=-1)


def count_removed(percentage: float, hw: int) -> int:
    """Pixels removed at `percentage` % of an image of `hw` pixels (rounded to nearest)."""
    if not 0 <= percentage <= 100:
        raise ValueError(f"percentage must be in [0, 100], got {percentage}")
    return int(round(percentage / 100.0 * hw))


def keep_mask(ranking: np.ndarray, k: int, order: str, shape: tuple[int, int]) -> np.ndarray:
    """Keep-mask N×H×W that removes the top-k (MoRF) or bottom-k (LeRF) ranked pixels."""
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; expected one of {ORDERS}")
    n, hw = ranking.shape
    keep = np.ones((n, hw), bool)
    if k > 0:
        removed = ranking[:, :k] if order == "morf" else ranking[:, hw - k :]
        np.put_along_axis(keep, removed, False, axis=1)
    return keep.reshape(n, *shape)
