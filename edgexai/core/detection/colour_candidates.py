"""Sign candidates in full frames by colour and shape: the colour cascade's first step.

Why classical: on a CPU the frame budget (≥ 15 FPS on 2 cores) leaves no room for a CNN detector
over 1360×800 pixels, while traffic signs are designed to be found by colour and shape. The
generator works at reduced resolution (default 0.5) on local-contrast colour maps (red, blue,
yellow), thresholds each map at several levels, keeps connected components whose size, aspect and
fill look like a sign, and removes near-duplicates with NMS. It over-proposes on purpose (most
proposals are background); the classifier stage decides. Tuned on GTSDB frames 0–399 only
(tools/tune_colour_candidates.py); scored on 400–599.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from edgexai.core.detection.boxes import nms


@runtime_checkable
class CandidateGenerator(Protocol):
    """Anything that maps a BGR uint8 frame to candidate sign boxes.

    `generate` returns an N×4 float32 array of [x1, y1, x2, y2] in frame pixels (x2/y2 exclusive)
    and an N float32 array of scores (higher = more sign-like; only used for ordering).
    """

    def generate(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class ColourGeneratorConfig:
    """Parameters of the colour/shape generator (defaults tuned on GTSDB frames 0–399)."""

    scale: float = 0.5  # work at this fraction of the frame size
    contrast_kernel: int = 31  # box-filter size (working pixels) for local contrast
    thresholds: tuple[float, ...] = (0.02, 0.04, 0.07, 0.11, 0.16, 0.22)
    colours: tuple[str, ...] = ("red", "blue", "yellow")
    min_side: float = 14.0  # frame pixels: smallest box side kept
    max_side: float = 200.0  # frame pixels
    min_aspect: float = 0.55  # w / h
    max_aspect: float = 1.8
    min_fill: float = 0.12  # component area / box area
    max_fill: float = 0.97
    close_kernel: int = 3  # morphological close before labelling (0 = off)
    smooth: int = 0  # box blur of each map before thresholding (0 = off)
    # extra boxes per colour, scaled about the component centre: a priority diamond's yellow core
    # is ~0.6 of the sign's box, so its component alone never reaches IoU 0.5; a red/blue
    # component often misses the sign's anti-aliased rim
    expand: dict = field(
        default_factory=lambda: {
            "yellow": (1.0, 1.4, 1.75),
            "red": (1.0, 1.15),
            "blue": (1.0, 1.15),
        }
    )
    nms_iou: float = 0.6
    max_proposals: int = 600


def colour_maps(
    small_bgr: np.ndarray, colours: tuple[str, ...], kernel: int
) -> dict[str, np.ndarray]:
    """Chromatic maps in [−1, 1] with the local mean removed (why: a red-brick wall or a blue sky
    raises the whole neighbourhood, a sign stands out from its neighbourhood)."""
    import cv2

    f = small_bgr.astype(np.float32)
    b, g, r = f[..., 0], f[..., 1], f[..., 2]
    s = b + g + r + 30.0  # +30: dark pixels carry no reliable hue
    maps: dict[str, np.ndarray] = {}
    for name in colours:
        if name == "red":
            m = (r - np.maximum(g, b)) / s
        elif name == "blue":
            m = (b - np.maximum(r, g)) / s
        elif name == "yellow":
            m = (np.minimum(r, g) - b) / s
        else:
            raise ValueError(f"unknown colour map {name!r}")
        if kernel > 1:
            m = m - cv2.blur(m, (kernel, kernel))
        maps[name] = m
    return maps


def _smooth(m: np.ndarray, k: int) -> np.ndarray:
    import cv2

    return cv2.blur(m, (k, k)) if k > 1 else m


class ColourShapeGenerator:
    """The colour cascade's generator: local-contrast colour maps → multi-threshold components → filters → NMS."""

    def __init__(self, config: ColourGeneratorConfig | None = None) -> None:
        self.config = config or ColourGeneratorConfig()

    def generate(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import cv2

        c = self.config
        h, w = frame_bgr.shape[:2]
        small = (
            frame_bgr
            if c.scale == 1.0
            else cv2.resize(
                frame_bgr, (round(w * c.scale), round(h * c.scale)), interpolation=cv2.INTER_AREA
            )
        )
        maps = colour_maps(small, c.colours, c.contrast_kernel)
        kernel = (
            cv2.getStructuringElement(cv2.MORPH_RECT, (c.close_kernel, c.close_kernel))
            if c.close_kernel > 1
            else None
        )
        lo, hi = c.min_side * c.scale, c.max_side * c.scale
        boxes: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        for name, m in maps.items():
            m = _smooth(m, c.smooth)
            for t in c.thresholds:
                mask = (m > t).astype(np.uint8)
                if kernel is not None:
                    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
                # BBDT: measured ~3× less CPU here than the default (spaghetti) with 32-bit labels
                n, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
                    mask, 8, cv2.CV_32S, cv2.CCL_BBDT
                )
                if n <= 1:
                    continue
                st = stats[1:].astype(np.float32)
                bw, bh, area = st[:, 2], st[:, 3], st[:, 4]
                aspect = bw / np.maximum(bh, 1)
                fill = area / np.maximum(bw * bh, 1)
                ok = (
                    (bw >= lo)
                    & (bh >= lo)
                    & (bw <= hi)
                    & (bh <= hi)
                    & (aspect >= c.min_aspect)
                    & (aspect <= c.max_aspect)
                    & (fill >= c.min_fill)
                    & (fill <= c.max_fill)
                )
                if not ok.any():
                    continue
                st = st[ok]
                cx, cy = st[:, 0] + st[:, 2] / 2, st[:, 1] + st[:, 3] / 2
                for f in c.expand.get(name, (1.0,)):
                    hw, hh = st[:, 2] * f / 2, st[:, 3] * f / 2
                    boxes.append(np.stack([cx - hw, cy - hh, cx + hw, cy + hh], 1))
                    # score: threshold level + size prior; only orders NMS among near-duplicates
                    scores.append(np.full(len(st), t, np.float32) + 1e-3 * np.sqrt(st[:, 4]))
        if not boxes:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        all_boxes = np.concatenate(boxes) / c.scale
        all_boxes[:, [0, 2]] = np.clip(all_boxes[:, [0, 2]], 0, w)
        all_boxes[:, [1, 3]] = np.clip(all_boxes[:, [1, 3]], 0, h)
        all_scores = np.concatenate(scores)
        # the same component often survives several thresholds: drop exact duplicates first
        _, first = np.unique(np.round(all_boxes).astype(np.int32), axis=0, return_index=True)
        all_boxes, all_scores = all_boxes[first], all_scores[first]
        keep = nms(all_boxes, all_scores, c.nms_iou)[: c.max_proposals]
        return all_boxes[keep].astype(np.float32), all_scores[keep].astype(np.float32)
