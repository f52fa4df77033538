"""First-stage non-sign rejector: HOG + colour features, a small perceptron, a calibrated threshold.

Why: 98–99 % of proposals are background (foliage, brick, tail-lights, partial boxes on real
signs), far too many to run the CAM classifier on within the frame budget, and a 43-class
classifier has no "none of these" answer. This cascade stage scores every proposal's 32×32 crop
(the same padded crops the classifier sees) for "is a sign", cheaply (one HOG per crop and two small
matrix products), and only survivors go to the engine. It is trained on the proposer's own output on
GTSDB frames 0–399 (positives: proposals at IoU ≥ 0.5 with a sign and jittered ground-truth
boxes; negatives: proposals with IoU < 0.3) by `edgexai rejector train` (edgexai.train.rejector_train,
training side), which also calibrates the threshold; the weights ship as package data,
data/rejector.npz. numpy + OpenCV.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FEATURE_SIZE = 32


def hog(grey: np.ndarray, cell: int = 8, bins: int = 9) -> np.ndarray:
    """Batched HOG in numpy (OpenCV 5 moved HOGDescriptor out of the main package): N×S×S grey
    → N×(blocks·36), unsigned gradients, hard orientation bins, 2×2-cell blocks at stride one
    cell, L2-Hys normalised (Dalal & Triggs)."""
    g = grey.astype(np.float32)
    gx = np.zeros_like(g)
    gy = np.zeros_like(g)
    gx[:, :, 1:-1] = g[:, :, 2:] - g[:, :, :-2]
    gy[:, 1:-1, :] = g[:, 2:, :] - g[:, :-2, :]
    mag = np.sqrt(gx * gx + gy * gy)
    ang = np.arctan2(gy, gx) % np.pi
    idx = np.minimum((ang * (bins / np.pi)).astype(np.int32), bins - 1)
    n, s, _ = g.shape
    c = s // cell
    # one bincount over (crop, cell row, cell col, bin) instead of a pass per bin
    cy = (np.arange(s) // cell)[:, None] * c
    cx = (np.arange(s) // cell)[None, :]
    flat = ((np.arange(n)[:, None, None] * (c * c) + (cy + cx)[None]) * bins + idx).ravel()
    hist = np.bincount(flat, weights=mag.ravel(), minlength=n * c * c * bins)
    hist = hist.astype(np.float32).reshape(n, c, c, bins)
    blocks = np.concatenate(
        [hist[:, :-1, :-1], hist[:, :-1, 1:], hist[:, 1:, :-1], hist[:, 1:, 1:]], -1
    )  # N×(c-1)×(c-1)×36
    blocks = blocks / np.sqrt((blocks**2).sum(-1, keepdims=True) + 1e-3)
    blocks = np.minimum(blocks, 0.2)
    blocks = blocks / np.sqrt((blocks**2).sum(-1, keepdims=True) + 1e-3)
    return blocks.reshape(n, -1)


def features(crops_rgb: np.ndarray) -> np.ndarray:
    """N×32×32×3 RGB uint8 crops → N×F float32: grey HOG (324) + pooled chroma maps (3×4×4)."""
    import cv2

    n = len(crops_rgb)
    if n == 0:
        return np.zeros((0, 324 + 48), np.float32)
    if crops_rgb.shape[1] != FEATURE_SIZE:
        crops_rgb = np.stack(
            [
                cv2.resize(
                    np.ascontiguousarray(c),
                    (FEATURE_SIZE, FEATURE_SIZE),
                    interpolation=cv2.INTER_AREA,
                )
                for c in crops_rgb
            ]
        )
    f = crops_rgb.astype(np.float32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    h = hog(0.299 * r + 0.587 * g + 0.114 * b)
    s = r + g + b + 30.0
    chroma = np.stack(
        [(r - np.maximum(g, b)) / s, (b - np.maximum(r, g)) / s, (np.minimum(r, g) - b) / s], -1
    )  # N×32×32×3
    edges = np.arange(0, FEATURE_SIZE, 8)  # 4×4 mean pooling (reduceat: ~3× faster than mean)
    pooled = (
        np.add.reduceat(np.add.reduceat(chroma, edges, axis=2), edges, axis=1) / 64.0
    ).reshape(n, -1)  # N×48
    return np.concatenate([h, pooled], 1).astype(np.float32)


def _matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float32 a @ b through OpenCV's gemm: it follows cv2.setNumThreads, whereas numpy's BLAS
    spins up its own threads for this size, measured to cost more CPU than it saves here."""
    import cv2

    return cv2.gemm(
        np.ascontiguousarray(a, np.float32), np.ascontiguousarray(b, np.float32), 1.0, None, 0.0
    )


@dataclass
class Rejector:
    """sign probability = sigmoid(w2 · relu(W1ᵀ((x − mu) / sd) + b1) + b2): a one-hidden-layer
    perceptron in numpy (measured on validation frames: half the background survivors of a
    linear model at the same sign recall); keep a proposal where it is ≥ threshold."""

    mu: np.ndarray
    sd: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: float
    threshold: float = 0.5
    info: str = ""

    # optional box refiner (same features, its own hidden layer): predicts the ground-truth box's
    # edges as offsets of the proposal's width/height, because about half the signs the proposer
    # misses at IoU 0.5 have a proposal at IoU 0.3–0.5 (the ring's inner edge, a merged blob)
    r_w1: np.ndarray | None = None
    r_b1: np.ndarray | None = None
    r_w2: np.ndarray | None = None
    r_b2: np.ndarray | None = None

    def standardised(self, crops_rgb: np.ndarray, chunk: int = 128) -> np.ndarray:
        """Standardised features, computed `chunk` crops at a time: a frame with hundreds of
        proposals otherwise allocates tens of MB of temporaries at once (RSS swings)."""
        if len(crops_rgb) <= chunk:
            return (features(crops_rgb) - self.mu) / self.sd
        return np.concatenate(
            [
                (features(crops_rgb[i : i + chunk]) - self.mu) / self.sd
                for i in range(0, len(crops_rgb), chunk)
            ]
        )

    def score_x(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0, np.float32)
        h = np.maximum(_matmul(x, self.w1) + self.b1, 0)
        z = np.clip(h @ self.w2 + self.b2, -30, 30)
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def score(self, crops_rgb: np.ndarray) -> np.ndarray:
        return (
            self.score_x(self.standardised(crops_rgb))
            if len(crops_rgb)
            else np.zeros(0, np.float32)
        )

    @property
    def refines(self) -> bool:
        return self.r_w1 is not None

    def refine_x(self, x: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Refined [x1, y1, x2, y2] for proposals `boxes` whose standardised features are x."""
        if not self.refines or len(x) == 0:
            return boxes
        h = np.maximum(_matmul(x, self.r_w1) + self.r_b1, 0)
        t = np.clip(h @ self.r_w2 + self.r_b2, -0.5, 0.5)
        w = (boxes[:, 2] - boxes[:, 0])[:, None]
        hh = (boxes[:, 3] - boxes[:, 1])[:, None]
        out = boxes + t * np.concatenate([w, hh, w, hh], 1)
        bad = (out[:, 2] - out[:, 0] < 2) | (out[:, 3] - out[:, 1] < 2)
        out[bad] = boxes[bad]
        return out.astype(np.float32)

    def save(self, path: Path) -> None:
        """Write the weights as a compressed .npz (the package ships data/rejector.npz)."""
        arrays = {
            k: getattr(self, k)
            for k in ("r_w1", "r_b1", "r_w2", "r_b2")
            if getattr(self, k) is not None
        }
        np.savez_compressed(
            path,
            mu=self.mu,
            sd=self.sd,
            w1=self.w1,
            b1=self.b1,
            w2=self.w2,
            b2=np.float64(self.b2),
            threshold=np.float64(self.threshold),
            info=np.array(self.info),
            **arrays,
        )

    @classmethod
    def load(cls, path: Path) -> Rejector:
        with np.load(path) as z:  # plain arrays only: allow_pickle stays off
            opt = {k: z[k] for k in ("r_w1", "r_b1", "r_w2", "r_b2") if k in z.files}
            return cls(
                z["mu"],
                z["sd"],
                z["w1"],
                z["b1"],
                z["w2"],
                float(z["b2"]),
                float(z["threshold"]),
                str(z["info"]),
                **opt,
            )


DEFAULT_WEIGHTS = Path(__file__).resolve().parent / "data" / "rejector.npz"


def default_rejector() -> Rejector | None:
    """The rejector shipped with the package (None if it has not been trained yet)."""
    if not DEFAULT_WEIGHTS.is_file():
        return None
    return Rejector.load(DEFAULT_WEIGHTS)
