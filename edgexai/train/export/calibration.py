"""INT8 calibration input: a build's own training images (every build now), or for older GTSRB
builds a calibration image list: versioned text files of GTSRB training images, not the images.

Format (`edgexai-calib/1`): '#' comment lines (format, provenance, how it was drawn), then one line
per image, `relative/path.ppm;x1;y1;x2;y2;class`, the path relative to the folder that holds
`gtsrb/` and the ROI box from the GTSRB CSV (used when the build crops to the ROI). numpy/OpenCV
only: quantising needs no torch. The default list ships inside the package
(`edgexai/train/export/data/gtsrb_calib.txt`, package data) and is read through importlib.resources, so
a wheel install finds it as an editable checkout does.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError

FORMAT = "edgexai-calib/1"
CALIBRATION_PER_CLASS = 8  # INT8 calibration images per class, drawn from the training split
# A Traversable: a pathlib.Path for an installed or editable package (tools/make_calib_list.py
# writes it there), a zip path inside a zipped install.
DEFAULT_LIST = resources.files("edgexai.train.export") / "data" / "gtsrb_calib.txt"


@dataclass(frozen=True)
class CalibEntry:
    path: str
    roi: tuple[int, int, int, int]
    label: int


def make_list(
    source, per_class: int = 8, seed: int = 0, val_fraction: float = 0.1
) -> list[CalibEntry]:
    """A class-balanced draw from the training tracks (validation tracks excluded, as the build
    splits them), one image per track where a class has enough tracks, so the list spans signs."""
    from edgexai.train.data.gtsrb import ArraySplit, list_samples
    from edgexai.train.data.split import split_by_track

    samples = list_samples(source, "train")
    labels = np.array([s.label for s in samples], np.int64)
    tracks = np.array([s.track for s in samples], np.int64)
    train, _ = split_by_track(ArraySplit(np.arange(len(samples)), labels, tracks), val_fraction, 0)
    rng = np.random.default_rng(seed)
    root = source.root
    chosen: list[CalibEntry] = []
    for label in np.unique(train.labels):
        idx = train.images[train.labels == label]
        by_track: dict[int, list[int]] = {}
        for i in idx:
            by_track.setdefault(int(tracks[i]), []).append(int(i))
        order = rng.permutation(sorted(by_track))
        picks: list[int] = []
        while len(picks) < per_class and any(by_track.values()):
            for t in order:  # round-robin over tracks: distinct signs first
                if by_track[int(t)] and len(picks) < per_class:
                    pool = by_track[int(t)]
                    picks.append(pool.pop(int(rng.integers(len(pool)))))
        for i in sorted(picks):
            s = samples[i]
            chosen.append(CalibEntry(str(Path(s.path).relative_to(root)), s.roi, s.label))
    return chosen


def write_list(path: Path, entries: list[CalibEntry], header: list[str]) -> None:
    lines = [f"# {FORMAT}"] + [f"# {h}" for h in header]
    lines += [f"{e.path};{';'.join(map(str, e.roi))};{e.label}" for e in entries]
    Path(path).write_text("\n".join(lines) + "\n")


def read_list(path: str | Path | Any = DEFAULT_LIST) -> list[CalibEntry]:
    """Entries of a calibration list: a file path, or the packaged default (a Traversable)."""
    path = path if hasattr(path, "read_text") else Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise EdgexaiError(f"calibration list {path} cannot be read ({exc.strerror})") from None
    if not lines or lines[0].strip() != f"# {FORMAT}":
        raise EdgexaiError(f"{path} is not a calibration list (first line must be '# {FORMAT}')")
    entries = []
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.strip().split(";")
        if len(parts) != 6:
            raise EdgexaiError(f"{path}:{n}: expected path;x1;y1;x2;y2;class")
        entries.append(CalibEntry(parts[0], tuple(int(v) for v in parts[1:5]), int(parts[5])))  # type: ignore[arg-type]
    if not entries:
        raise EdgexaiError(f"calibration list {path} names no images")
    return entries


def load_images(
    entries: list[CalibEntry], data_root: Path, size: int, roi: bool = False
) -> np.ndarray:
    """Decode the listed images exactly as the build decodes them: N×size×size×3 uint8 RGB."""
    from edgexai.core.preprocess import crop_sign, read_rgb, resize_square

    out = []
    for e in entries:
        img = read_rgb(str(Path(data_root) / e.path))
        if img is None:
            raise EdgexaiError(
                f"calibration image {Path(data_root) / e.path} is missing or "
                "unreadable (is --data-root the GTSRB the list was drawn from?)"
            )
        if roi:
            img = crop_sign(img, e.roi)
        out.append(resize_square(img, size))
    return np.stack(out)


def training_calibration(train, mean, std, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
    """INT8 calibration input from a build's own training split (any dataset, no extra I/O): a
    seeded class-balanced draw, normalised as the model's input."""
    from edgexai.core.preprocess import normalise

    rng = np.random.default_rng(seed)
    pick = np.sort(
        np.concatenate(
            [
                rng.permutation(np.flatnonzero(train.labels == c))[:CALIBRATION_PER_CLASS]
                for c in np.unique(train.labels)
            ]
        )
    )
    info = {
        "source": "training split",
        "images": int(len(pick)),
        "per_class": CALIBRATION_PER_CLASS,
        "seed": seed,
    }
    return normalise(train.images[pick], mean, std), info
