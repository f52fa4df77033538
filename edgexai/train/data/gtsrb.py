"""GTSRB in torchvision's folder layout: sample lists (with ROI and track) and decoded arrays.

Training on 2 CPU cores cannot afford decoding 39k PPM files per epoch, so each split is decoded
once to a uint8 array at the model's input size and cached on disk, keyed by the data digest.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.core.preprocess import crop_sign, read_rgb, resize_square
from edgexai.train.data.locate import DataSource, cache_dir

SPLITS = ("train", "test")
T = TypeVar("T")


@dataclass(frozen=True)
class Sample:
    """One GTSRB image: file, class, track (one physical sign; -1 in the test set), ROI box."""

    path: str
    label: int
    track: int
    roi: tuple[int, int, int, int]


@dataclass
class ArraySplit:
    """A decoded split: images N×S×S×3 uint8 RGB, labels N, tracks N (class*1000 + track)."""

    images: np.ndarray
    labels: np.ndarray
    tracks: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> ArraySplit:
        return ArraySplit(self.images[index], self.labels[index], self.tracks[index])


CSV_DELIMITER = ";"
"""GTSRB's annotation CSVs (GT-000NN.csv, GT-final_test.csv) separate fields with semicolons."""


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """One GTSRB annotation CSV as dicts keyed by its header (Filename, Width, Roi.X1, ClassId…)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter=CSV_DELIMITER))


def _roi(row: dict[str, str]) -> tuple[int, int, int, int]:
    return (int(row["Roi.X1"]), int(row["Roi.Y1"]), int(row["Roi.X2"]), int(row["Roi.Y2"]))


def list_samples(source: DataSource, split: str) -> list[Sample]:
    """Read the split's CSVs: train from Training/000NN/GT-000NN.csv, test from GT-final_test.csv."""
    base = source.root / "gtsrb"
    samples: list[Sample] = []
    try:
        if split == "train":
            for class_dir in sorted((base / "GTSRB" / "Training").iterdir()):
                if not class_dir.is_dir():
                    continue
                label = int(class_dir.name)
                for row in read_csv_rows(class_dir / f"GT-{class_dir.name}.csv"):
                    name = row["Filename"]
                    track = label * 1000 + int(name.split("_")[0])
                    samples.append(Sample(str(class_dir / name), label, track, _roi(row)))
        elif split == "test":
            images = base / "GTSRB" / "Final_Test" / "Images"
            for row in read_csv_rows(base / "GT-final_test.csv"):
                samples.append(
                    Sample(str(images / row["Filename"]), int(row["ClassId"]), -1, _roi(row))
                )
        else:
            raise EdgexaiError(f"unknown split {split!r}; expected one of {SPLITS}")
    except (OSError, KeyError, ValueError) as exc:
        raise EdgexaiError(
            f"GTSRB {split} split under {base} is incomplete or malformed "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if not samples:
        raise EdgexaiError(f"GTSRB {split} split under {base} has no images")
    return samples


def _decode(sample: Sample, size: int, roi: bool) -> np.ndarray:
    img = read_rgb(sample.path)
    if img is None:
        raise EdgexaiError(f"cannot decode {sample.path}")
    if roi:
        img = crop_sign(img, sample.roi)
    return resize_square(img, size)


def _cache_key(source: DataSource, split: str, size: int, roi: bool) -> str:
    text = json.dumps([source.digest, split, size, roi, 2])  # 2: ROI grown by the crop margin
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cached_split(path: Path, make: Callable[[], ArraySplit]) -> ArraySplit:
    """The split cached at `path`, else `make()` written there atomically (a damaged cache is
    rebuilt, never trusted). Shared by every dataset kind, so each decodes once per digest."""
    if path.is_file():
        try:
            with np.load(path) as z:
                return ArraySplit(z["images"], z["labels"], z["tracks"])
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)
    split_arrays = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp, images=split_arrays.images, labels=split_arrays.labels, tracks=split_arrays.tracks
    )
    os.replace(tmp, path)
    return split_arrays


def decode_all(decode: Callable[[T], np.ndarray], items: list[T], desc: str, progress: bool):
    """`decode` over `items` on a thread pool (OpenCV releases the GIL), stacked, with a bar."""
    from tqdm import tqdm

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        images = list(
            tqdm(
                pool.map(decode, items),
                total=len(items),
                desc=desc,
                disable=not progress,
                leave=False,
            )
        )
    return np.stack(images)


def load_split(
    source: DataSource, split: str, size: int, roi: bool = False, progress: bool = True
) -> ArraySplit:
    """Decode a whole split to arrays at `size` px, through the on-disk cache."""
    path = (
        cache_dir()
        / "arrays"
        / f"gtsrb-{split}-{size}{'-roi' if roi else ''}-{_cache_key(source, split, size, roi)}.npz"
    )

    def make() -> ArraySplit:
        samples = list_samples(source, split)
        return ArraySplit(
            decode_all(
                lambda s: _decode(s, size, roi), samples, f"decoding GTSRB {split}", progress
            ),
            np.array([s.label for s in samples], np.int64),
            np.array([s.track for s in samples], np.int64),
        )

    return cached_split(path, make)
