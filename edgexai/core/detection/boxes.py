"""Box geometry on [x1, y1, x2, y2] arrays (numpy; both sides): IoU and greedy NMS."""

from __future__ import annotations

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every box of a (N×4) and every box of b (M×4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    a = a[:, None, :].astype(np.float32)
    b = b[None, :, :].astype(np.float32)
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-6)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression (OpenCV's, in C++); returns kept indices, best first.

    Scores must be ≥ 0 (cv2.dnn.NMSBoxes refuses a negative score threshold)."""
    import cv2

    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    b = np.asarray(boxes, np.float64)
    xywh = np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
    # OpenCV's IoU counts w+1 × h+1 pixels only for integer Rect; Rect2d uses plain w × h
    keep = cv2.dnn.NMSBoxes(xywh.tolist(), np.maximum(scores, 0).astype(float).tolist(), 0.0, iou)
    return np.asarray(keep, np.int64).reshape(-1)
