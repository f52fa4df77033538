"""Validation (and, for own datasets, test) split by track and per-class limits.

GTSRB's training set holds 30 images of each physical sign (a track); splitting images at random
puts near-duplicates on both sides and inflates validation accuracy. Whole tracks go to one side.
An own dataset's groups.csv groups play the part of tracks (without it each image is its own).
"""

from __future__ import annotations

import numpy as np

from edgexai.train.data.gtsrb import ArraySplit


def split_by_track(
    data: ArraySplit, val_fraction: float, seed: int = 0
) -> tuple[ArraySplit, ArraySplit]:
    """Hold out `val_fraction` of each class's tracks (at least one where a class has two)."""
    rng = np.random.default_rng(seed)
    val_tracks: list[int] = []
    for label in np.unique(data.labels):
        tracks = np.unique(data.tracks[data.labels == label])
        n_val = int(round(len(tracks) * val_fraction))
        if val_fraction > 0 and len(tracks) >= 2:
            n_val = min(max(n_val, 1), len(tracks) - 1)
        val_tracks.extend(rng.choice(tracks, size=n_val, replace=False).tolist())
    is_val = np.isin(data.tracks, np.array(val_tracks, np.int64))
    return data.subset(np.flatnonzero(~is_val)), data.subset(np.flatnonzero(is_val))


def limit_per_class(data: ArraySplit, limit: int | None, seed: int = 0) -> ArraySplit:
    """Keep at most `limit` images per class, chosen by a seeded draw (for quick runs)."""
    if not limit or not len(data):  # an empty split (e.g. --val-fraction 0) stays empty
        return data
    rng = np.random.default_rng(seed)
    keep: list[np.ndarray] = []
    for label in np.unique(data.labels):
        idx = np.flatnonzero(data.labels == label)
        if len(idx) > limit:
            idx = np.sort(rng.choice(idx, size=limit, replace=False))
        keep.append(idx)
    return data.subset(np.sort(np.concatenate(keep)))
