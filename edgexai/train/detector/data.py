"""Detector training samples: crops of real road frames at the detector's scale (half of them
centred near a real sign), mirrored where every sign in them allows it, with synthetic signs
pasted in, and their CenterNet-style targets.

Every sample is a pure function of (seed, step, index), so a resumed training run draws exactly
the batches the uninterrupted one would have.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgexai.core.detection.categories import FLIP_SAFE
from edgexai.core.errors import EdgexaiError
from edgexai.core.image_files import read_image, truncated_jpeg
from edgexai.train.data.gtsdb_frames import check_boxes_in_frame
from edgexai.train.detector.synth import SignPatch, make_patch, paste

UPSCALE_LIMIT = 1.5  # a pasted sign is at most this many times its source image's size


@dataclass(frozen=True)
class DataConfig:
    """How training samples are drawn; the manifest records it."""

    crop: int = 256
    batch: int = 16
    scale_jitter: tuple[float, float] = (0.7, 1.4)  # × the detector's own frame scale
    centred: float = 0.5  # share of crops placed around a real sign
    flip: float = 0.5  # mirror probability where every sign in the crop allows it
    pastes: tuple[float, ...] = (0.25, 0.35, 0.25, 0.15)  # P(0, 1, 2, 3 synthetic signs)
    paste_size: tuple[float, float] = (12.0, 128.0)  # px at the detector's scale, log-uniform
    gtsrb_share: float = 0.7  # of pastes: GTSRB crops (the rest: real signs of other frames)
    gtsrb_per_class: int = 40

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass
class FrameSet:
    """Decoded frames (BGR uint8) with their signs: boxes K×4 (exclusive edges) and class ids."""

    names: list[str]
    images: list[np.ndarray]
    boxes: list[np.ndarray]
    classes: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.names)


def load_frames(files: list[Path], gt: dict[str, list], progress: bool = False) -> FrameSet:
    """Decode frames and attach their ground truth (a frame missing from gt has no sign)."""
    from tqdm import tqdm

    names, images, boxes, classes = [], [], [], []
    for f in tqdm(files, desc="decoding frames", disable=not progress, leave=False):
        img = read_image(f)
        if img is None:
            raise EdgexaiError(f"{f} cannot be decoded as an image")
        if truncated_jpeg(f):
            raise EdgexaiError(f"{f} is a truncated JPEG (it ends before its image does)")
        signs = gt.get(f.stem, [])
        check_boxes_in_frame(f, signs, img.shape[1], img.shape[0])
        names.append(f.stem)
        images.append(img)
        boxes.append(np.array([s[:4] for s in signs], np.float32).reshape(-1, 4))
        classes.append(np.array([s[4] for s in signs], np.int64))
    return FrameSet(names, images, boxes, classes)


def real_sign_patches(frames: FrameSet, min_side: int = 12) -> list[SignPatch]:
    """Every real sign of the training frames, cut out tight, as paste material."""
    out = []
    for img, bxs, cls in zip(frames.images, frames.boxes, frames.classes, strict=True):
        for (x1, y1, x2, y2), c in zip(bxs.astype(int), cls, strict=True):
            if min(x2 - x1, y2 - y1) >= min_side:
                out.append(make_patch(img[y1:y2, x1:x2], int(c)))
    return out


def gtsrb_patches(source, per_class: int, seed: int = 0) -> list[SignPatch]:
    """A class-balanced draw of GTSRB training images cut to their ROI (one per track first,
    larger images first within a track), as paste material."""
    from edgexai.train.data.gtsrb import list_samples

    rng = np.random.default_rng(seed)
    by_class: dict[int, dict[int, list]] = {}
    for s in list_samples(source, "train"):
        by_class.setdefault(s.label, {}).setdefault(s.track, []).append(s)
    out = []
    for label in sorted(by_class):
        tracks = list(by_class[label].values())
        rng.shuffle(tracks)
        picked = []
        while len(picked) < per_class and any(tracks):
            for t in tracks:
                if t and len(picked) < per_class:
                    t.sort(key=lambda s: s.roi[2] - s.roi[0])
                    picked.append(t.pop())  # the largest left in this track
        for s in picked:
            img = read_image(s.path)
            if img is None:
                continue
            x1, y1, x2, y2 = s.roi
            out.append(make_patch(img[y1 : y2 + 1, x1 : x2 + 1], s.label))
    return out


def heat_targets(
    boxes: np.ndarray, labels: np.ndarray, ignore: np.ndarray, size: int, stride: int, n_cat: int
) -> dict[str, np.ndarray]:
    """CenterNet-style targets of one crop: Gaussian heat per category (1 at the centre cell),
    each object's box at the cells near its centre with Gaussian weights summing to 1, and an
    ignore mask over signs cut by the crop's edge."""
    h = w = size // stride
    heat = np.zeros((n_cat, h, w), np.float32)
    box_t = np.zeros((4, h, w), np.float32)
    weight = np.zeros((h, w), np.float32)
    ign = np.zeros((h, w), bool)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    for b in ignore:
        x1, y1, x2, y2 = np.floor(b / stride).astype(int)
        ign[max(y1, 0) : y2 + 1, max(x1, 0) : x2 + 1] = True
    order = np.argsort(-(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    for i in order:  # large first, so a small sign's cells win where two overlap
        x1, y1, x2, y2 = boxes[i]
        cx, cy = (x1 + x2) / 2 / stride - 0.5, (y1 + y2) / 2 / stride - 0.5
        sx = max(0.54 * (x2 - x1) / stride / 6, 0.25)  # TTFNet's α = 0.54
        sy = max(0.54 * (y2 - y1) / stride / 6, 0.25)
        g = np.exp(-((xs - cx) ** 2 / (2 * sx * sx) + (ys - cy) ** 2 / (2 * sy * sy)))
        pi, pj = int(np.clip(round(cy), 0, h - 1)), int(np.clip(round(cx), 0, w - 1))
        g[pi, pj] = 1.0
        heat[labels[i]] = np.maximum(heat[labels[i]], g)
        near = g > 0.1
        box_t[:, near] = np.array([x1, y1, x2, y2], np.float32)[:, None]
        weight[near] = g[near] / g[near].sum()
    ign &= heat.max(0) < 1.0
    return {"heat": heat, "box": box_t, "weight": weight, "ignore": ign}


class SampleMaker:
    """Draws training batches from frames and paste material at the detector's scale."""

    def __init__(
        self,
        frames: FrameSet,
        bank_gtsrb: list[SignPatch],
        bank_real: list[SignPatch],
        cfg: DataConfig,
        input_wh: tuple[int, int],
        stride: int,
        seed: int,
    ) -> None:
        if not len(frames):
            raise EdgexaiError("no training frames")
        self.frames, self.cfg, self.stride, self.seed = frames, cfg, stride, seed
        self.bank_gtsrb, self.bank_real = bank_gtsrb, bank_real
        self.input_wh = input_wh
        self.with_signs = [i for i, b in enumerate(frames.boxes) if len(b)]

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One crop (S×S×3 BGR uint8), its sign boxes (K×4) and the boxes of signs the crop
        cuts (neither sign nor background: left out of the loss)."""
        import cv2

        c, S = self.cfg, self.cfg.crop
        centred = bool(self.with_signs) and rng.random() < c.centred
        fi = int(rng.choice(self.with_signs)) if centred else int(rng.integers(len(self.frames)))
        img, boxes = self.frames.images[fi], self.frames.boxes[fi]
        classes = self.frames.classes[fi]
        fh, fw = img.shape[:2]
        j = np.exp(rng.uniform(*np.log(c.scale_jitter)))
        sx, sy = self.input_wh[0] / fw * j, self.input_wh[1] / fh * j
        cw, ch = S / sx, S / sy
        if centred:
            b = boxes[rng.integers(len(boxes))]
            x0 = rng.uniform(b[2] - cw, b[0]) if b[2] - b[0] < cw else b[0]
            y0 = rng.uniform(b[3] - ch, b[1]) if b[3] - b[1] < ch else b[1]
        else:
            x0, y0 = rng.uniform(0, max(fw - cw, 1)), rng.uniform(0, max(fh - ch, 1))
        m = np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy]], np.float32)
        crop = cv2.warpAffine(img, m, (S, S), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        bx = (boxes - [x0, y0, x0, y0]) * [sx, sy, sx, sy]
        vis = np.clip(bx, 0, S)
        area = np.maximum((bx[:, 2] - bx[:, 0]) * (bx[:, 3] - bx[:, 1]), 1e-6)
        frac = (
            np.clip(vis[:, 2] - vis[:, 0], 0, None) * np.clip(vis[:, 3] - vis[:, 1], 0, None) / area
        )
        inside, cut = frac >= 0.6, (frac > 0) & (frac < 0.6)
        keep, ign = vis[inside].astype(np.float32), vis[cut].astype(np.float32)
        touching = classes[frac > 0]
        if rng.random() < c.flip and all(int(k) in FLIP_SAFE for k in touching):
            crop = np.ascontiguousarray(crop[:, ::-1])
            keep = np.stack([S - keep[:, 2], keep[:, 1], S - keep[:, 0], keep[:, 3]], 1)
            ign = np.stack([S - ign[:, 2], ign[:, 1], S - ign[:, 0], ign[:, 3]], 1)
        taken = [*keep, *ign]
        pasted = []
        n_paste = int(rng.choice(len(c.pastes), p=np.asarray(c.pastes) / sum(c.pastes)))
        for _ in range(n_paste):
            bank = (
                self.bank_gtsrb
                if self.bank_gtsrb and (rng.random() < c.gtsrb_share or not self.bank_real)
                else self.bank_real
            )
            if not bank:
                break
            patch = bank[int(rng.integers(len(bank)))]
            # never blow a small image up far beyond its own resolution: a blurred giant sign
            # looks like nothing a camera sees
            hi = min(c.paste_size[1], UPSCALE_LIMIT * max(patch.image.shape[:2]))
            lo = min(c.paste_size[0], hi)
            size = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
            box = paste(crop, patch, size, taken, rng)
            if box is not None:
                taken.append(box)
                pasted.append(box)
        crop = self._photometric(crop, rng)
        all_boxes = np.concatenate(
            [keep.reshape(-1, 4), np.array(pasted, np.float32).reshape(-1, 4)]
        )
        return crop, all_boxes, ign.reshape(-1, 4)

    @staticmethod
    def _photometric(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Exposure, contrast and white-balance jitter of the whole crop (a camera's variation)."""
        x = crop.astype(np.float32)
        mean = x.mean()
        x = (x - mean) * rng.uniform(0.75, 1.25) + mean * rng.uniform(0.7, 1.3)
        x *= rng.uniform(0.92, 1.08, 3)
        if rng.random() < 0.3:
            x += rng.normal(0, rng.uniform(1, 5), x.shape)
        return np.clip(x, 0, 255).astype(np.uint8)

    def batch(self, step: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Batch `step`: images B×S×S×3 uint8 and stacked targets (one category: 'sign')."""
        rng = np.random.default_rng([self.seed, step])
        imgs, targets = [], []
        for _ in range(self.cfg.batch):
            crop, boxes, ign = self.sample(rng)
            imgs.append(crop)
            targets.append(
                heat_targets(
                    boxes, np.zeros(len(boxes), np.int64), ign, self.cfg.crop, self.stride, 1
                )
            )
        stacked = {k: np.stack([t[k] for t in targets]) for k in targets[0]}
        return np.stack(imgs), stacked
