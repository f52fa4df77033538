"""Image preprocessing shared by training and the vehicle, so both see the same pixels.

numpy + OpenCV only (deployment side). Crops are resized with INTER_AREA, to RGB uint8 squares;
normalisation happens later with the model's mean/std.
"""

from __future__ import annotations

import numpy as np


def read_rgb(path: str) -> np.ndarray | None:
    """Decode an image file to RGB uint8 (H×W×3), or None when it cannot be decoded."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        return None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def resize_square(img: np.ndarray, size: int) -> np.ndarray:
    """Resize an RGB crop to size×size (area interpolation when shrinking, linear when growing)."""
    import cv2

    h, w = img.shape[:2]
    interp = cv2.INTER_AREA if (h > size or w > size) else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def normalise(
    batch_hwc_uint8: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]
) -> np.ndarray:
    """N×H×W×3 uint8 → N×3×H×W float32, scaled to [0, 1] and normalised per channel."""
    x = batch_hwc_uint8.astype(np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def resize_frame(frame_bgr: np.ndarray, width: int, height: int) -> np.ndarray:
    """A camera frame at the detector's input size (bilinear; the detector trains on bilinear
    resamples too). Returned as is when it already has that size."""
    import cv2

    if frame_bgr.shape[1] == width and frame_bgr.shape[0] == height:
        return frame_bgr
    return cv2.resize(frame_bgr, (width, height), interpolation=cv2.INTER_LINEAR)
