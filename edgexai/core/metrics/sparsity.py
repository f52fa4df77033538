"""Gini sparsity of explanation maps (Chalasani et al. 2020; Quantus `Sparseness`), numpy only.

Definition (Hurley & Rickard 2009, as in Quantus' Sparseness and the reference study): a = |map| channel-summed, divided by its max, flattened, + 1e-7, sorted
ascending; G = Σ_i (2i − n − 1)·a_(i) / (n·Σa), i = 1..n. Higher = sparser; one-hot → 1 − 1/n
(exactly (n−1)/(n + n²·1e-7) with the offset), uniform → 0.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-7


def to_map(attributions: np.ndarray, channel_axis: int | None = None) -> np.ndarray:
    """|attributions| summed over `channel_axis` (None: already one channel)."""
    a = np.abs(np.asarray(attributions, dtype=np.float64))
    return a if channel_axis is None else a.sum(axis=channel_axis)


def gini(maps: np.ndarray) -> np.ndarray | float:
    """Gini index of each H×W map in `maps` (…×H×W); a single H×W map gives a float.

    Maps must already be channel-summed (see `to_map`); an all-zero map scores 0.
    """
    a = np.abs(np.asarray(maps, dtype=np.float64))
    if a.ndim < 2:
        raise ValueError(f"gini expects …×H×W maps, got shape {a.shape}")
    lead = a.shape[:-2]
    a = a.reshape(-1, a.shape[-2] * a.shape[-1])
    peak = a.max(axis=1, keepdims=True)
    a = np.divide(a, peak, out=np.zeros_like(a), where=peak > 0) + EPS
    a.sort(axis=1)
    n = a.shape[1]
    coef = 2.0 * np.arange(1, n + 1) - n - 1
    g = (a @ coef) / (n * a.sum(axis=1))
    return float(g[0]) if not lead else g.reshape(lead)
