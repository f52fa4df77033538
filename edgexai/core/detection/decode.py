"""The detector head's decoding in numpy: the reference the in-graph decoding is tested against.

Head (one cell per `stride` input pixels): `heat` N×C×h×w logits of "a sign of category c is
centred in this cell", and `reg` N×4×h×w, the log distances (left, top, right, bottom) from the
cell's centre to the box edges, in units of the stride. Decoding keeps local maxima of the
sigmoid map (a 3×3 max-pool equals the value), takes the K best over all categories, and turns
each peak into a box normalised by the input's width and height, so it scales to any frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NMS_IOU = 0.45  # detections of one sign rarely overlap this much with another sign's


@dataclass
class Detections:
    """One frame's detections: boxes in frame pixels [x1, y1, x2, y2], scores, category ids."""

    boxes: np.ndarray  # K×4 float32
    scores: np.ndarray  # K float32
    labels: np.ndarray  # K int32

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, keep: np.ndarray) -> Detections:
        return Detections(self.boxes[keep], self.scores[keep], self.labels[keep])


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def max_pool3(x: np.ndarray) -> np.ndarray:
    """3×3 max-pool, stride 1, padding 1 that never wins (as ONNX MaxPool pads)."""
    p = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(1, 1), (1, 1)], constant_values=-np.inf)
    h, w = x.shape[-2:]
    out = p[..., 0:h, 0:w]
    for dy in range(3):
        for dx in range(3):
            out = np.maximum(out, p[..., dy : dy + h, dx : dx + w])
    return out


def decode(
    heat_logits: np.ndarray, reg: np.ndarray, input_hw: tuple[int, int], stride: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes N×K×4 normalised to [0, 1], scores N×K, labels N×K int32), best first per image.

    Ties keep the lower flat index first, as ONNX TopK does.
    """
    heat = sigmoid(heat_logits.astype(np.float32))
    peaks = np.where(max_pool3(heat) == heat, heat, 0.0).astype(np.float32)
    n, c, h, w = heat.shape
    flat = peaks.reshape(n, c * h * w)
    k = min(k, flat.shape[1])
    idx = np.argsort(-flat, axis=1, kind="stable")[:, :k]
    scores = np.take_along_axis(flat, idx, 1)
    labels, pix = np.divmod(idx, h * w)
    ys, xs = np.divmod(pix, w)
    dist = (
        np.exp(
            np.take_along_axis(
                reg.reshape(n, 4, h * w).astype(np.float32), np.repeat(pix[:, None, :], 4, 1), 2
            )
        )
        * stride
    )
    cx, cy = (xs + 0.5) * stride, (ys + 0.5) * stride
    in_h, in_w = input_hw
    boxes = np.stack(
        [
            (cx - dist[:, 0]) / in_w,
            (cy - dist[:, 1]) / in_h,
            (cx + dist[:, 2]) / in_w,
            (cy + dist[:, 3]) / in_h,
        ],
        -1,
    )
    return (
        np.clip(boxes, 0.0, 1.0).astype(np.float32),
        scores.astype(np.float32),
        labels.astype(np.int32),
    )


def to_frame(
    boxes: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    frame_hw: tuple[int, int],
    min_score: float = 0.0,
) -> Detections:
    """One image's normalised decoder output → Detections in frame pixels, above min_score."""
    keep = scores >= min_score
    h, w = frame_hw
    b = boxes[keep] * np.array([w, h, w, h], np.float32)
    return Detections(
        b.astype(np.float32), scores[keep].astype(np.float32), labels[keep].astype(np.int32)
    )
