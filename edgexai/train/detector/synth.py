"""Synthetic signs for detector training: GTSRB ROI crops (and real GTSDB signs) cut out with the
outline of their class and pasted onto sign-free parts of road frames.

Why: 852 real boxes are too few for a detector to learn what a sign is rather than where these
particular signs stood. Each paste gets a perspective warp, a size from 12 to 128 px, a light and
colour matched partly to its background, blur and noise, so the detector sees signs the way a
camera does (small, soft, dim) without drawing them from the held-out frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgexai.core.detection.categories import FLIP_SAFE, SHAPES


@dataclass
class SignPatch:
    """A tight sign image (BGR uint8, the ROI only), its class and outline mask (float 0..1)."""

    image: np.ndarray
    class_id: int
    mask: np.ndarray


def outline(shape: str, h: int, w: int, supersample: int = 4) -> np.ndarray:
    """Anti-aliased alpha mask (h×w float32) of a sign outline filling its box."""
    import cv2

    s = supersample
    H, W = h * s, w * s
    m = np.zeros((H, W), np.uint8)
    if shape == "circle":
        cv2.ellipse(m, (W // 2, H // 2), (W // 2 - 1, H // 2 - 1), 0, 0, 360, 255, -1)
    else:
        unit = {
            "triangle": [(0.5, 0.0), (1.0, 1.0), (0.0, 1.0)],
            "inverted_triangle": [(0.0, 0.0), (1.0, 0.0), (0.5, 1.0)],
            "diamond": [(0.5, 0.0), (1.0, 0.5), (0.5, 1.0), (0.0, 0.5)],
            "octagon": [
                (0.29, 0.0),
                (0.71, 0.0),
                (1.0, 0.29),
                (1.0, 0.71),
                (0.71, 1.0),
                (0.29, 1.0),
                (0.0, 0.71),
                (0.0, 0.29),
            ],
        }[shape]
        pts = np.array([(x * (W - 1), y * (H - 1)) for x, y in unit], np.int32)
        cv2.fillPoly(m, [pts], 255)
    return cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def make_patch(image_bgr: np.ndarray, class_id: int) -> SignPatch:
    h, w = image_bgr.shape[:2]
    return SignPatch(
        np.ascontiguousarray(image_bgr),
        int(class_id),
        outline(SHAPES.get(int(class_id), "circle"), h, w),
    )


def _overlaps(box: np.ndarray, boxes: list[np.ndarray], margin: float = 0.25) -> bool:
    """Does `box` (grown by margin of its size) touch any of `boxes`?"""
    bw, bh = box[2] - box[0], box[3] - box[1]
    g = box + np.array([-bw, -bh, bw, bh]) * margin
    for b in boxes:
        if min(g[2], b[2]) > max(g[0], b[0]) and min(g[3], b[3]) > max(g[1], b[1]):
            return True
    return False


def paste(
    canvas: np.ndarray,
    patch: SignPatch,
    size: float,
    taken: list[np.ndarray],
    rng: np.random.Generator,
    tries: int = 8,
) -> np.ndarray | None:
    """Paste `patch` at about `size` px (longer side) somewhere free on `canvas` (BGR uint8, in
    place); returns its box [x1, y1, x2, y2] (exclusive), or None when no free place was found."""
    import cv2

    H, W = canvas.shape[:2]
    ph, pw = patch.image.shape[:2]
    aspect = np.exp(rng.uniform(-0.12, 0.12)) * pw / max(ph, 1)  # slight squash: oblique views
    w = size * min(1.0, aspect) if aspect < 1 else size
    h = w / aspect
    if w < 4 or h < 4 or w > W - 2 or h > H - 2:
        return None
    for _ in range(tries):
        x0, y0 = rng.uniform(0, W - w), rng.uniform(0, H - h)
        box = np.array([x0, y0, x0 + w, y0 + h], np.float32)
        if not _overlaps(box, taken):
            break
    else:
        return None
    # Perspective: the patch's corners land on the box's corners, each moved by up to 6 %.
    jitter = rng.uniform(-0.06, 0.06, (4, 2)) * np.array([w, h])
    dst = np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]]) + jitter
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    lx, ly = int(max(0, np.floor(dst[:, 0].min()) - 2)), int(max(0, np.floor(dst[:, 1].min()) - 2))
    rx, ry = int(min(W, np.ceil(dst[:, 0].max()) + 2)), int(min(H, np.ceil(dst[:, 1].max()) + 2))
    if rx - lx < 4 or ry - ly < 4:
        return None
    m = cv2.getPerspectiveTransform(src, (dst - [lx, ly]).astype(np.float32))
    win = (rx - lx, ry - ly)
    img = patch.image
    if patch.class_id in FLIP_SAFE and rng.random() < 0.5:
        img = img[:, ::-1]
    sign = cv2.warpPerspective(
        np.ascontiguousarray(img),
        m,
        win,
        flags=cv2.INTER_AREA if size < min(pw, ph) else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)
    alpha = cv2.warpPerspective(
        patch.mask, m, win, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    ys, xs = np.nonzero(alpha > 0.5)
    if len(xs) < 4:
        return None
    bg = canvas[ly:ry, lx:rx].astype(np.float32)
    # Light: pull the sign's brightness part-way to its surroundings, then colour gain and gamma.
    a3 = alpha[..., None]
    sign_mean = float((sign * a3).sum() / max(a3.sum() * 3, 1))
    bg_mean = float(bg.mean())
    pull = rng.uniform(0.0, 0.6)
    sign *= (1 - pull) + pull * (bg_mean + 1) / (sign_mean + 1)
    sign *= rng.uniform(0.9, 1.1, 3)
    sign = 255.0 * (np.clip(sign, 0, 255) / 255.0) ** np.exp(rng.uniform(-0.3, 0.3))
    if rng.random() < 0.5:
        sigma = rng.uniform(0.3, 1.2) * (0.5 + size / 64)
        sign = cv2.GaussianBlur(sign, (0, 0), sigma)
        alpha = cv2.GaussianBlur(alpha, (0, 0), min(sigma, 1.0))
        a3 = alpha[..., None]
    sign += rng.normal(0, rng.uniform(0, 6), sign.shape)
    canvas[ly:ry, lx:rx] = np.clip(a3 * sign + (1 - a3) * bg, 0, 255).astype(np.uint8)
    return np.array(
        [lx + xs.min(), ly + ys.min(), lx + xs.max() + 1, ly + ys.max() + 1], np.float32
    )
