"""Crops for the classifier: padded like GTSRB, resized with the shared preprocessing, batched.

Why padded: the classifier is trained on signs framed with a margin (edgexai.core.preprocess.pad_boxes,
the one definition of the framing, shared with ROI-cropped training), while proposals are tight,
so each box grows by that margin before cropping. Why one batch: one engine call per frame
amortises the call overhead over every crop (the design's budget assumes it).
"""

from __future__ import annotations

import numpy as np

from edgexai.core.preprocess import normalise, resize_square


def extract_crops(frame_bgr: np.ndarray, padded: np.ndarray, size: int) -> np.ndarray:
    """N×size×size×3 RGB uint8 crops of the (already padded, integer) boxes."""
    out = np.empty((len(padded), size, size, 3), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(padded):
        out[i] = resize_square(frame_bgr[y1:y2, x1:x2], size)
    return out[..., ::-1]  # BGR → RGB for the whole batch at once (a view; normalise copies)


def make_batch(
    crops_rgb: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]
) -> np.ndarray:
    """N×S×S×3 RGB uint8 → the engine's N×3×S×S float32 input (edgexai.core.preprocess.normalise)."""
    if len(crops_rgb) == 0:
        s = crops_rgb.shape[1] if crops_rgb.ndim == 4 else 0
        return np.zeros((0, 3, s, s), np.float32)
    return normalise(np.ascontiguousarray(crops_rgb), mean, std)
