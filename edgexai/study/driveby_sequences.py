"""Seeded synthetic drive-bys made from still GTSDB frames (issue 44, item 7).

GTSDB's frames are not consecutive and no dash-camera video ships with the project, yet tracking,
sign events and explanation stability need sequences with ground truth over time. A drive-by
approximates a camera moving toward a vanishing point: each output frame is the source frame
zoomed by a growing scale s_t about that point (an affine map, no perspective), so signs grow and
slide outward, as they do when passed. Every ground-truth box goes through the *same* affine map,
so its transformed box is exact (then clipped to the frame, and dropped when less than
`min_visible` of it remains or it is thinner than `min_size` px); each source sign keeps one track
id for the whole sequence, unique across the drive. Seeded nuisances make it less easy: zoom blur
that grows with speed (the frame averaged over the scales the shutter saw), gain / gamma drift,
and dropped frames (their numbers are skipped, so file names and ground truth have gaps).

Writes the project's frame-folder layout (`edgexai run --source DIR`, `edgexai score --gt DIR`):
000000.jpg …, gt.txt (`file;x1;y1;x2;y2;class`, inclusive pixels), plus tracks.txt in
MOTChallenge's layout (`frame,id,x,y,w,h,1,-1,-1,-1`; 0-based pixels as in gt.txt, x/y the
box's left/top pixel, w/h its size in pixels, exact floats) and driveby.json (seed, sources,
settings, dropped frames). numpy + OpenCV only: it runs where the vehicle side runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgexai.core.arg_types import frame_range, non_negative_int, positive_int, unit_interval
from edgexai.core.errors import EdgexaiError
from edgexai.core.options import opt

Box = tuple[float, float, float, float]  # continuous pixel edges (left, top, right, bottom)
JPEG_QUALITY = 95
MAX_BLUR_TAPS = 8  # zoom-blur samples per frame: enough for a smooth streak, cheap on 2 cores
OUR_FILES = ("gt.txt", "tracks.txt", "driveby.json")


def zoom_factor(text: str) -> float:
    """`--max-zoom`: the last frame's scale, > 1 (the camera moves forward) and ≤ 8."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(v) and 1.0 < v <= 8.0):
        raise argparse.ArgumentTypeError(f"expected a zoom in (1, 8], got {text!r}")
    return v


@dataclass(frozen=True)
class DrivebyOptions:
    """`edgexai driveby`'s options, declared once (the flags are generated from these fields)."""

    out: str | None = opt(
        None, "the folder written (frames, gt.txt, tracks.txt, driveby.json)", metavar="DIR"
    )
    frames: tuple[int, int] = opt(
        (400, 600),
        "source frame numbers START:STOP (default 400:600: held out; 0:400: development)",
        type=frame_range,
        metavar="START:STOP",
    )
    count: int = opt(
        4,
        "source frames, one sequence each, concatenated into one drive",
        type=positive_int,
        metavar="K",
    )
    length: int = opt(
        30, "time steps per sequence (dropped ones included)", type=positive_int, metavar="N"
    )
    seed: int = opt(
        0, "the seed: the same seed and sources give byte-identical output", type=non_negative_int
    )
    data_root: str | None = opt(
        None, "folder holding gtsdb/ or gtsdb-dev.tar (default: $EDGEXAI_DATA)"
    )
    sign_free: bool = opt(False, "use source frames without any sign (no gt at all)")
    max_zoom: float = opt(
        2.5,
        "the largest scale of a sequence's last frame, Z (each sequence draws its own "
        "between 1 + 0.7·(Z − 1) and Z)",
        type=zoom_factor,
    )
    blur: float = opt(
        0.5, "shutter share of the frame interval (0: no motion blur)", type=unit_interval
    )
    exposure: float = opt(0.25, "largest gain drift (±share) and gamma drift", type=unit_interval)
    drop: float = opt(0.08, "chance that a time step's frame is dropped", type=unit_interval)
    min_visible: float = opt(
        0.5, "a box leaving the frame is dropped below this visible share", type=unit_interval
    )
    min_size: int = opt(
        4, "a box narrower or lower than this (px) is dropped", type=positive_int, metavar="PX"
    )
    overwrite: bool = opt(False, "replace an existing drive-by folder at --out")


@dataclass
class Source:
    """One source frame: its name, BGR pixels and gt boxes (inclusive pixels, class)."""

    name: str
    image: np.ndarray
    boxes: list[tuple[int, int, int, int, int]]


def scales(length: int, max_zoom: float) -> np.ndarray:
    """s_t = 1 / (1 − a·t/(N−1)), a = 1 − 1/max_zoom: the image scale of a pinhole camera moving
    at constant speed toward a plane, so a sign grows slowly, then fast (and blurs more)."""
    if length == 1:
        return np.ones(1)
    a = 1.0 - 1.0 / max_zoom
    return 1.0 / (1.0 - a * np.arange(length) / (length - 1))


def zoom_matrix(s: float, vp: tuple[float, float]) -> np.ndarray:
    """The affine map x' = s·(x − vx) + vx (same for y), in OpenCV's pixel-centre coordinates."""
    return np.array([[s, 0.0, (1 - s) * vp[0]], [0.0, s, (1 - s) * vp[1]]])


def transform_box(box: Sequence[float], s: float, vp: tuple[float, float]) -> Box:
    """An inclusive-pixel gt box → its continuous edges after the zoom. Pixel i covers
    [i − ½, i + ½], so the edges are x1 − ½ and x2 + ½ before the map."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    return (
        s * (x1 - 0.5 - vp[0]) + vp[0],
        s * (y1 - 0.5 - vp[1]) + vp[1],
        s * (x2 + 0.5 - vp[0]) + vp[0],
        s * (y2 + 0.5 - vp[1]) + vp[1],
    )


def clip_box(edges: Box, w: int, h: int, min_visible: float, min_size: float) -> Box | None:
    """The box clipped to the w × h frame, or None once too little of it remains."""
    left, t, r, b = edges
    cl, ct, cr, cb = max(left, -0.5), max(t, -0.5), min(r, w - 0.5), min(b, h - 0.5)
    if cr - cl < min_size or cb - ct < min_size:
        return None
    if (cr - cl) * (cb - ct) < min_visible * (r - left) * (b - t):
        return None
    return (cl, ct, cr, cb)


def inclusive(edges: Box) -> tuple[int, int, int, int]:
    """Continuous edges → the inclusive pixels gt.txt writes (the pixels whose centres lie
    inside, rounded: the inverse of `transform_box` at s = 1)."""
    left, t, r, b = edges
    return (int(round(left + 0.5)), int(round(t + 0.5)), int(round(r - 0.5)), int(round(b - 0.5)))


def zoom_frame(
    image: np.ndarray, s_prev: float, s: float, vp: tuple[float, float], shutter: float
) -> np.ndarray:
    """The frame at scale s, averaged over the scales between s_prev and s that the shutter saw
    (a zoom blur: a point at distance r from the vanishing point streaks r·(1 − s0/s) px, more
    as the camera speeds up). The last sample is s itself, so the boxes belong to s."""
    import cv2

    h, w = image.shape[:2]
    s0 = s - shutter * (s - s_prev)
    far = max(math.hypot(x - vp[0], y - vp[1]) for x in (0, w) for y in (0, h))
    taps = int(min(MAX_BLUR_TAPS, max(1, math.ceil(far * (1 - s0 / s)))))
    acc = np.zeros(image.shape, np.float32)
    for k in range(taps):
        sk = s if taps == 1 else s0 + (s - s0) * k / (taps - 1)
        acc += cv2.warpAffine(
            image,
            zoom_matrix(sk, vp),
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
    return np.clip(acc / taps + 0.5, 0, 255).astype(np.uint8)


def expose(image: np.ndarray, gain: float, gamma: float) -> np.ndarray:
    """Exposure change: out = 255 · gain · (in / 255) ** gamma, through one lookup table."""
    lut = np.clip(255.0 * gain * (np.arange(256) / 255.0) ** gamma + 0.5, 0, 255)
    return lut.astype(np.uint8)[image]


def drift(rng: np.random.Generator, n: int, limit: float) -> np.ndarray:
    """A smooth random walk in [−limit, limit] (exposure changes slowly, as auto-exposure does)."""
    steps = rng.normal(0.0, limit / 4 if limit else 0.0, n)
    return np.clip(np.cumsum(steps), -limit, limit)


def sequence(src: Source, opts: DrivebyOptions, rng: np.random.Generator):
    """Yield (step, frame or None if dropped, [(sign index, edges, class)]) for one source:
    the vanishing point, the zoom, the drift and the drops all drawn from `rng`."""
    h, w = src.image.shape[:2]
    # between the image centre and GTSDB's horizon (about 0.7 of the height): the road ahead
    vp = (w * (0.5 + rng.uniform(-0.1, 0.1)), h * (0.6 + rng.uniform(-0.06, 0.06)))
    zoom = 1.0 + (opts.max_zoom - 1.0) * rng.uniform(0.7, 1.0)
    s = scales(opts.length, zoom)
    gain = 1.0 + drift(rng, opts.length, opts.exposure)
    gamma = np.exp(drift(rng, opts.length, opts.exposure))
    dropped = rng.random(opts.length) < opts.drop
    dropped[0] = False  # a sequence starts with its source frame's view
    for t in range(opts.length):
        boxes = []
        for i, box in enumerate(src.boxes):
            edges = clip_box(transform_box(box, s[t], vp), w, h, opts.min_visible, opts.min_size)
            if edges is not None:
                boxes.append((i, edges, box[4]))
        if dropped[t]:
            yield t, None, boxes
            continue
        frame = zoom_frame(src.image, s[max(t - 1, 0)], s[t], vp, opts.blur)
        yield t, expose(frame, float(gain[t]), float(gamma[t])), boxes


def _prepare_out(out: Path, overwrite: bool) -> list[Path]:
    """Refuse an existing non-empty --out unless --overwrite; even then, only a folder holding
    nothing but a drive-by's own files is replaced (never someone's other files). Returns the
    old files, removed once the new drive-by is complete (a crash keeps the old one)."""
    if out.exists() and not out.is_dir():
        raise EdgexaiError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise EdgexaiError(
                f"--out {out} exists and is not empty; pass --overwrite to "
                "replace the drive-by there, or choose another folder"
            )
        others = [
            p.name
            for p in out.iterdir()
            if not (p.name in OUR_FILES or (p.suffix == ".jpg" and p.stem.isdigit()))
        ]
        if others:
            raise EdgexaiError(
                f"--out {out} holds files a drive-by does not write "
                f"({', '.join(sorted(others)[:3])}); not replacing it"
            )
        return sorted(out.iterdir())
    out.mkdir(parents=True, exist_ok=True)
    return []


def write_driveby(sources: Sequence[Source], opts: DrivebyOptions, out: str | os.PathLike) -> dict:
    """Write the drive-by of `sources` (one sequence each, in order) into `out`; returns the
    summary also written to driveby.json. Written into a staging folder first, so a crash leaves
    no half drive-by under the final name."""
    import cv2

    out = Path(out)
    old = _prepare_out(out, opts.overwrite)
    stage = out.parent / f".{out.name}.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    gt_lines, track_lines, dropped, seqs = [], [], [], []
    number, next_id = 0, 1
    try:
        for k, src in enumerate(sources):
            rng = np.random.default_rng([opts.seed, k])
            ids = {i: next_id + i for i in range(len(src.boxes))}
            next_id += len(src.boxes)
            first = number
            for _t, frame, boxes in sequence(src, opts, rng):
                if frame is None:
                    dropped.append(number)
                else:
                    name = f"{number:06d}.jpg"
                    ok = cv2.imwrite(
                        str(stage / name), frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
                    )
                    if not ok:
                        raise EdgexaiError(f"cannot write {out / name}")
                    for i, edges, cls in boxes:
                        x1, y1, x2, y2 = inclusive(edges)
                        gt_lines.append(f"{name};{x1};{y1};{x2};{y2};{cls}")
                        left, t, r, b = edges
                        track_lines.append(
                            f"{number},{ids[i]},{left + 0.5:.3f},{t + 0.5:.3f},"
                            f"{r - left:.3f},{b - t:.3f},1,-1,-1,-1"
                        )
                number += 1
            seqs.append(
                {"source": src.name, "frames": [first, number - 1], "track_ids": list(ids.values())}
            )
        summary = {
            "seed": opts.seed,
            "settings": {k: v for k, v in asdict(opts).items() if k not in ("out", "overwrite")},
            "sequences": seqs,
            "dropped_frames": dropped,
            "frames_total": number,
            "frames_written": number - len(dropped),
            "tracks": next_id - 1,
            "gt_boxes": len(gt_lines),
        }
        (stage / "gt.txt").write_text("".join(line + "\n" for line in gt_lines))
        (stage / "tracks.txt").write_text("".join(line + "\n" for line in track_lines))
        (stage / "driveby.json").write_text(json.dumps(summary, indent=1) + "\n")
        for p in old:
            p.unlink()
        for p in sorted(stage.iterdir()):
            os.replace(p, out / p.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return summary


def load_sources(folder: str | os.PathLike, opts: DrivebyOptions) -> list[Source]:
    """Draw `count` source frames (seeded) from --frames: frames with at least one gt box, or
    with none (--sign-free); read them and their boxes."""
    import cv2

    from edgexai.train.data.gtsdb_frames import frame_files, read_gt

    gt = read_gt(folder)
    lo, hi = opts.frames
    files = [f for f in frame_files(folder) if f.stem.isdigit() and lo <= int(f.stem) < hi]
    pool = [f for f in files if bool(gt.get(f.stem)) != opts.sign_free]
    kind = "sign-free frames" if opts.sign_free else "frames with a sign"
    if len(pool) < opts.count:
        raise EdgexaiError(
            f"{folder}: only {len(pool)} {kind} in frames {lo}:{hi}, --count {opts.count} asked"
        )
    rng = np.random.default_rng(opts.seed)
    chosen = [pool[i] for i in rng.choice(len(pool), opts.count, replace=False)]
    sources = []
    for f in chosen:
        image = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if image is None:
            raise EdgexaiError(f"{f} cannot be decoded as an image")
        boxes = [
            (int(b[0]), int(b[1]), int(b[2]) - 1, int(b[3]) - 1, int(b[4]))
            for b in gt.get(f.stem, [])
        ]
        sources.append(Source(f.name, image, boxes))
    return sources


def make_driveby(opts: DrivebyOptions, folder: str | os.PathLike | None = None) -> dict:
    """The command's work: find the frames (GTSDB from --data-root unless `folder` is given),
    draw the sources, write the drive-by."""
    from edgexai.train.data.gtsdb_frames import require_gtsdb

    if opts.out is None:
        raise EdgexaiError("--out DIR is needed: the folder the drive-by is written to")
    src_folder = Path(folder) if folder is not None else require_gtsdb(opts.data_root)
    return write_driveby(load_sources(src_folder, opts), opts, opts.out)
