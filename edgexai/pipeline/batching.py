"""Crops for the classifier: padded like GTSRB, resized with the shared preprocessing, batched.

Why padded: GTSRB images (the classifier's training data) hold the sign with a ~10 % margin on
each side, while proposals (and GTSDB boxes) are tight, so each box grows by that margin before
cropping. Why one batch: one engine call per frame amortises the call overhead over every crop
(the design's budget assumes it).
"""

from __future__ import annotations

import numpy as np

from edgexai.preprocess import normalise, resize_square

GTSRB_MARGIN = 0.1


def pad_boxes(
    boxes: np.ndarray,
    frame_shape: tuple[int, ...],
    margin: float = GTSRB_MARGIN,
    min_px: float = 2.0,
) -> np.ndarray:
    """Grow each [x1, y1, x2, y2] by `margin` of its size per side (at least min_px), clipped
    to the frame; returns integer pixel boxes (N×4 int32) that are at least 1 px wide."""
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    h, w = frame_shape[:2]
    mx = np.maximum((b[:, 2] - b[:, 0]) * margin, min_px)
    my = np.maximum((b[:, 3] - b[:, 1]) * margin, min_px)
    out = np.stack([b[:, 0] - mx, b[:, 1] - my, b[:, 2] + mx, b[:, 3] + my], 1)
    out = np.round(out).astype(np.int32)
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, w)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, h)
    out[:, 2] = np.maximum(out[:, 2], np.minimum(out[:, 0] + 1, w))
    out[:, 3] = np.maximum(out[:, 3], np.minimum(out[:, 1] + 1, h))
    out[:, 0] = np.minimum(out[:, 0], out[:, 2] - 1)
    out[:, 1] = np.minimum(out[:, 1], out[:, 3] - 1)
    return out


def extract_crops(frame_bgr: np.ndarray, padded: np.ndarray, size: int) -> np.ndarray:
    """N×size×size×3 RGB uint8 crops of the (already padded, integer) boxes."""
    out = np.empty((len(padded), size, size, 3), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(padded):
        out[i] = resize_square(frame_bgr[y1:y2, x1:x2], size)
    return out[..., ::-1]  # BGR → RGB for the whole batch at once (a view; normalise copies)


def make_batch(
    crops_rgb: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]
) -> np.ndarray:
    """N×S×S×3 RGB uint8 → the engine's N×3×S×S float32 input (edgexai.preprocess.normalise)."""
    if len(crops_rgb) == 0:
        s = crops_rgb.shape[1] if crops_rgb.ndim == 4 else 0
        return np.zeros((0, 3, s, s), np.float32)
    return normalise(np.ascontiguousarray(crops_rgb), mean, std)
