"""Image preprocessing shared by training and the vehicle, so both see the same pixels.

numpy + OpenCV only (deployment side). Crops are resized with INTER_AREA, to RGB uint8 squares;
normalisation happens later with the model's mean/std. The sign's framing is defined here once:
a tight box grown by CROP_MARGIN per side (`pad_boxes`), used by `edgexai run` on every found
sign and by ROI-cropped GTSRB training (`crop_sign`), so train and deploy see the same framing.
"""

from __future__ import annotations

import numpy as np

CROP_MARGIN = 0.1
"""Per side, as a fraction of the box's size: GTSRB's images hold the sign with a ~10 % margin,
while detector proposals (and GTSDB or GTSRB ROI boxes) are tight."""
CROP_MIN_PX = 2.0
"""The least margin per side in pixels, so tiny boxes keep some context."""


def read_rgb(path: str) -> np.ndarray | None:
    """Decode an image file to RGB uint8 (H×W×3), or None when it cannot be decoded; an image
    above the pixel limit is refused before decoding (`image_files.ImageTooLarge`)."""
    import cv2

    from edgexai.core.image_files import read_image

    img = read_image(path)
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


def pad_boxes(
    boxes: np.ndarray,
    frame_shape: tuple[int, ...],
    margin: float = CROP_MARGIN,
    min_px: float = CROP_MIN_PX,
) -> np.ndarray:
    """Grow each [x1, y1, x2, y2] (x2/y2 exclusive) by `margin` of its size per side (at least
    min_px), clipped to the frame; returns integer pixel boxes (N×4 int32) at least 1 px wide."""
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


def crop_sign(img: np.ndarray, roi_inclusive: tuple[int, int, int, int]) -> np.ndarray:
    """The sign at a GTSRB CSV ROI box (x2/y2 inclusive, as the CSV gives them), framed as
    `edgexai run` frames a found sign: the box grown by `pad_boxes`, clipped to the image."""
    x1, y1, x2, y2 = roi_inclusive
    ((bx1, by1, bx2, by2),) = pad_boxes(np.array([[x1, y1, x2 + 1, y2 + 1]]), img.shape)
    return img[by1:by2, bx1:bx2]
