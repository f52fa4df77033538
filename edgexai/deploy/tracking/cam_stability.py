"""Does a tracked sign's explanation stay put from frame to frame? (issue 44, item 4)

Definitions (docs/signs-over-time.md repeats them): the in-graph Grad-CAM of each frame's crop
covers the *padded* crop box; it is resampled bilinearly onto a G×G grid over the detection box
itself (cell centres, box coordinates), so consecutive maps are compared sign-to-sign even as the
sign grows and moves. For consecutive detections of a track:

- Pearson: the correlation of the two grids (skipped when either is constant);
- top-20 % IoU: the IoU of the two grids' top-20 % cells (⌈0.2·G²⌉ cells each, ties by index);

and for every detection, whether the CAM's peak over the whole crop falls outside the sign's box.
A track's figures are the means over its pairs / frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

GRID = 16
TOP_SHARE = 0.2


def box_grid(cam: np.ndarray, crop: tuple[int, int, int, int], box, grid: int = GRID) -> np.ndarray:
    """The CAM (S×S over the crop box, frame px) sampled at a grid×grid lattice over `box`."""
    import cv2

    s_h, s_w = cam.shape
    cx1, cy1, cx2, cy2 = crop
    x1, y1, x2, y2 = (float(v) for v in box)
    steps = (np.arange(grid, dtype=np.float32) + 0.5) / grid
    fx = x1 + steps * (x2 - x1)  # frame px of the cell centres
    fy = y1 + steps * (y2 - y1)
    u = (fx - cx1) / max(cx2 - cx1, 1) * s_w - 0.5  # → CAM pixel coordinates
    v = (fy - cy1) / max(cy2 - cy1, 1) * s_h - 0.5
    map_x, map_y = np.meshgrid(u.astype(np.float32), v.astype(np.float32))
    return cv2.remap(
        np.ascontiguousarray(cam, np.float32),
        map_x,
        map_y,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def peak_outside(cam: np.ndarray, crop: tuple[int, int, int, int], box) -> bool:
    """True when the CAM's maximum (over the crop) lies outside the sign's box."""
    s_h, s_w = cam.shape
    r, c = divmod(int(np.argmax(cam)), s_w)
    cx1, cy1, cx2, cy2 = crop
    x = cx1 + (c + 0.5) / s_w * (cx2 - cx1)
    y = cy1 + (r + 0.5) / s_h * (cy2 - cy1)
    return not (box[0] <= x <= box[2] and box[1] <= y <= box[3])


def pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    den = math.sqrt(float(a @ a) * float(b @ b))
    return None if den <= 1e-12 else float(a @ b) / den


def top_iou(a: np.ndarray, b: np.ndarray, share: float = TOP_SHARE) -> float:
    k = max(1, math.ceil(share * a.size))
    ta = set(np.argsort(-a.ravel(), kind="stable")[:k].tolist())
    tb = set(np.argsort(-b.ravel(), kind="stable")[:k].tolist())
    return len(ta & tb) / len(ta | tb)


@dataclass
class CamStability:
    """A track's running figures; `add` one detection's CAM at a time, in frame order."""

    previous: np.ndarray | None = None
    pearson_sum: float = 0.0
    pearson_n: int = 0
    iou_sum: float = 0.0
    pairs: int = 0
    frames: int = 0
    outside: int = 0

    def add(self, cam: np.ndarray, crop: tuple[int, int, int, int], box) -> None:
        grid = box_grid(cam, crop, box)
        self.frames += 1
        self.outside += peak_outside(cam, crop, box)
        if self.previous is not None:
            r = pearson(self.previous, grid)
            if r is not None:
                self.pearson_sum += r
                self.pearson_n += 1
            self.iou_sum += top_iou(self.previous, grid)
            self.pairs += 1
        self.previous = grid

    def figures(self) -> dict[str, float | int | None]:
        """The event's `stability`: means over consecutive pairs and over frames."""
        return {
            "cam_pearson": round(self.pearson_sum / self.pearson_n, 4) if self.pearson_n else None,
            "cam_top20_iou": round(self.iou_sum / self.pairs, 4) if self.pairs else None,
            "cam_peak_outside": round(self.outside / self.frames, 4) if self.frames else None,
            "pairs": self.pairs,
            "frames": self.frames,
        }
