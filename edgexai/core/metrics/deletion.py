"""Deletion / insertion AUC (Petsiuk et al. 2018) with cheap fills, numpy only.

Deletion replaces the most relevant pixels first by a fill (a blurred copy, the image mean or
zeros) and tracks the target's probability; insertion starts from the fill and puts the most
relevant pixels back. Area under the probability curve over the fraction changed (0 → 1):
lower deletion / higher insertion = more faithful. No sparse solve, so the vehicle can afford it
on a sampled frame: `perturbation_stack` gives all steps of one image as one batch for one
engine call.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgexai.core.metrics.perturbation import rank_pixels

FILLS = ("blur", "mean", "zero")
MODES = ("deletion", "insertion")


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(round(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def blur(images: np.ndarray, sigma: float = 5.0) -> np.ndarray:
    """Separable Gaussian blur of N×C×H×W over H and W (edge padding), numpy only."""
    k = _gaussian_kernel(sigma)
    r = len(k) // 2
    out = np.asarray(images, np.float64)
    for axis in (2, 3):
        pad = [(0, 0)] * 4
        pad[axis] = (r, r)
        padded = np.pad(out, pad, mode="edge")
        size = out.shape[axis]
        acc = np.zeros_like(out)
        for i, wk in enumerate(k):
            acc += wk * np.take(padded, np.arange(i, i + size), axis=axis)
        out = acc
    return out.astype(np.float32)


def fill_baseline(images: np.ndarray, fill: str = "blur", sigma: float = 5.0) -> np.ndarray:
    """What removed pixels become: a blurred copy, each image's per-channel mean, or zeros."""
    images = np.asarray(images, np.float32)
    if fill == "blur":
        return blur(images, sigma)
    if fill == "mean":
        return np.broadcast_to(images.mean(axis=(2, 3), keepdims=True), images.shape).copy()
    if fill == "zero":
        return np.zeros_like(images)
    raise ValueError(f"unknown fill {fill!r}; expected one of {FILLS}")


def perturbation_stack(
    image: np.ndarray, ranking: np.ndarray, baseline: np.ndarray, steps: int, mode: str
) -> np.ndarray:
    """(steps+1)×C×H×W copies of one C×H×W image with 0, 1/steps, …, all pixels changed."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
    c, h, w = image.shape
    hw = h * w
    src, dst = (image, baseline) if mode == "deletion" else (baseline, image)
    # changed[s, pixel] = pixel is among the first round(s/steps·hw) ranked pixels
    position = np.empty(hw, np.int64)
    position[ranking] = np.arange(hw)
    counts = np.round(np.arange(steps + 1) / steps * hw).astype(np.int64)
    changed = position[None, :] < counts[:, None]  # (steps+1)×HW
    mask = changed.reshape(steps + 1, 1, h, w)
    return np.where(mask, dst[None], src[None]).astype(np.float32)


def auc(values: np.ndarray) -> np.ndarray:
    """Trapezoidal area of curves sampled evenly on [0, 1] along the last axis."""
    v = np.asarray(values, np.float64)
    steps = v.shape[-1] - 1
    return (v[..., 1:] + v[..., :-1]).sum(axis=-1) / (2.0 * steps)


def deletion_insertion(
    predict: Callable[[np.ndarray], np.ndarray],
    images: np.ndarray,
    maps: np.ndarray,
    targets: np.ndarray,
    steps: int = 10,
    fill: str = "blur",
    batch_images: int = 16,
    tiebreak: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Per-image deletion and insertion AUC (target-class softmax probability).

    `predict` maps N×C×H×W float32 (model input) to logits; each image's perturbed copies go in
    one call, `batch_images` images at a time. Returns {"deletion": N, "insertion": N,
    "deletion_curve": N×(steps+1), "insertion_curve": N×(steps+1)}.
    """
    images = np.asarray(images, np.float32)
    targets = np.asarray(targets, np.int64)
    n = len(images)
    ranking = rank_pixels(maps, tiebreak)
    baseline = fill_baseline(images, fill)
    out: dict[str, np.ndarray] = {}
    for mode in MODES:
        curves = np.zeros((n, steps + 1))
        for s in range(0, n, batch_images):
            idx = range(s, min(s + batch_images, n))
            stack = np.concatenate(
                [perturbation_stack(images[i], ranking[i], baseline[i], steps, mode) for i in idx]
            )
            logits = np.asarray(predict(stack), np.float64).reshape(len(idx), steps + 1, -1)
            z = logits - logits.max(axis=2, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(axis=2, keepdims=True)
            curves[s : s + len(idx)] = p[np.arange(len(idx)), :, targets[s : s + len(idx)]]
        out[f"{mode}_curve"] = curves
        out[mode] = auc(curves)
    return out
