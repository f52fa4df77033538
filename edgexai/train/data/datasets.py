"""Which images a classifier build trains, validates and is tested on: GTSRB (the default) or the
user's own ImageFolder (`--dataset PATH [--test-dataset PATH]`).

Every later reader (explain, bench, INT8 calibration of an older build) goes through here, so a
folder build's test images are re-derived exactly as the build drew them: the same seeded split
(seed 0 for every regime and seed, so comparisons share the images) of the same files, checked
against the digest the manifest recorded. No torch at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.train.data.folder import DatasetError, FolderDataset, load_arrays, scan
from edgexai.train.data.gtsrb import ArraySplit
from edgexai.train.data.split import limit_per_class, split_by_track

if TYPE_CHECKING:
    from edgexai.train.build_options import BuildOptions
    from edgexai.train.data.locate import DataSource

GTSRB, FOLDER = "gtsrb", "folder"
SPLIT_SEED = 0  # the test and validation draws: the same for every regime and build seed


def dataset_kind(manifest: dict[str, Any]) -> str:
    """'gtsrb' or 'folder'; a manifest without the key is a GTSRB build (older builds)."""
    return (manifest.get("data") or {}).get("dataset", GTSRB)


def is_gtsrb(manifest: dict[str, Any]) -> bool:
    """Is this a GTSRB build (the paper's numbers compare only then)?"""
    return dataset_kind(manifest) == GTSRB


@dataclass(frozen=True)
class FolderSource:
    """A folder build's data: the training folder, the test folder or the fraction split off."""

    train: FolderDataset
    test: FolderDataset | None
    test_fraction: float

    @property
    def origin(self) -> str:
        return self.train.origin

    @property
    def digest(self) -> str:
        return self.train.digest

    @property
    def test_digest(self) -> str | None:
        return None if self.test is None else self.test.digest


def locate(opts: BuildOptions) -> DataSource | FolderSource:
    """The build's data, listed and identified before anything is written."""
    if opts.dataset is None:
        from edgexai.train.data.locate import locate_gtsrb

        return locate_gtsrb(opts.data_root)
    train = scan(opts.dataset)
    test = scan(opts.test_dataset, list(train.classes)) if opts.test_dataset else None
    if test is not None:
        _refuse_shared_images(train, test)
    return FolderSource(train, test, opts.test_fraction)


def _refuse_shared_images(train: FolderDataset, test: FolderDataset) -> None:
    """A test set that is (or holds, or lies in) the training set would measure accuracy on
    training images; the same folder under two names, or a copy, is caught by its digest."""
    a, b = train.root, test.root
    if a == b or a.is_relative_to(b) or b.is_relative_to(a) or train.digest == test.digest:
        raise DatasetError(
            f"--test-dataset {b} holds the training images of --dataset {a}; test on images "
            "the model is not trained on (or leave --test-dataset out to hold some back)"
        )


def class_names(source: DataSource | FolderSource) -> list[str]:
    if isinstance(source, FolderSource):
        return list(source.train.classes)
    from edgexai.core.classes import GTSRB_CLASSES

    return list(GTSRB_CLASSES)


def _folder_parts(source: FolderSource, size: int, progress: bool) -> tuple[ArraySplit, ArraySplit]:
    """(training part, test set) before validation and limits: the test folder, else a seeded
    per-class split of `test_fraction` of the groups (whole groups on one side)."""
    full = load_arrays(source.train, size, progress)
    if source.test is not None:
        return full, load_arrays(source.test, size, progress)
    rest, test = split_by_track(full, source.test_fraction, seed=SPLIT_SEED)
    if not len(test):
        raise EdgexaiError(
            f"the test split of {source.origin} is empty (too few images or groups per class for "
            f"--test-fraction {source.test_fraction}); add images or give --test-dataset"
        )
    return rest, test


def load_splits(
    opts: BuildOptions, size: int, source: DataSource | FolderSource
) -> tuple[ArraySplit, ArraySplit, ArraySplit]:
    """(train, val, test) at `size` px: validation carved from the training part by track/group,
    then at most --limit-per-class images per class in every split."""
    if isinstance(source, FolderSource):
        rest, test = _folder_parts(source, size, opts.progress)
    else:
        from edgexai.train.data.gtsrb import load_split

        rest = load_split(source, "train", size, opts.roi, opts.progress)
        test = load_split(source, "test", size, opts.roi, opts.progress)
    train, val = split_by_track(rest, opts.val_fraction, seed=SPLIT_SEED)
    limit = opts.limit_per_class
    return (
        limit_per_class(train, limit, seed=0),
        limit_per_class(val, limit, seed=0),
        limit_per_class(test, limit, seed=0),
    )


def roi_margin(roi: bool) -> float | None:
    """The crop margin an ROI-framed build was decoded with (edgexai.core.preprocess), else None."""
    from edgexai.core.preprocess import CROP_MARGIN

    return CROP_MARGIN if roi else None


def data_record(
    source: DataSource | FolderSource, opts: BuildOptions, splits: tuple[ArraySplit, ...]
) -> dict[str, Any]:
    """The manifest's `data` block (GTSRB builds keep their fields; see docs for folder ones)."""
    train, val, test = splits
    common = {
        "origin": source.origin,
        "digest": source.digest,
        "roi_crop": opts.roi,
        "roi_margin": roi_margin(opts.roi),
        "limit_per_class": opts.limit_per_class,
        "train_images": len(train),
        "val_images": len(val),
        "test_images": len(test),
    }
    if not isinstance(source, FolderSource):
        by = "track"
        return {"dataset": GTSRB, **common, "val_split": _split(by, opts.val_fraction)}
    by = "group" if source.train.grouped else "image"
    n = len(source.train.classes)
    return {
        "dataset": FOLDER,
        **common,
        "path": source.origin,
        "test_path": None if source.test is None else source.test.origin,
        "test_digest": source.test_digest,
        "test_split": None if source.test is not None else _split(by, source.test_fraction),
        "val_split": _split(by, opts.val_fraction),
        "class_counts": {
            name: np.bincount(split.labels, minlength=n).tolist()
            for name, split in zip(("train", "val", "test"), splits, strict=True)
        },
    }


def _split(by: str, fraction: float) -> dict[str, Any]:
    return {"by": by, "fraction": fraction, "seed": SPLIT_SEED}


def _rescan(path: str, digest: str | None, classes: list[str] | None) -> FolderDataset:
    try:
        ds = scan(path, classes)
    except EdgexaiError as exc:
        raise EdgexaiError(f"the build's dataset cannot be read again: {exc}") from None
    if digest and ds.digest != digest:
        raise EdgexaiError(
            f"dataset at {path} changed since the build (digest {digest[:23]}…, now "
            f"{ds.digest[:23]}…); rebuild or restore it"
        )
    return ds


def build_source(manifest: dict[str, Any], data_root: str | None = None):
    """The data a build was made from, located again: GTSRB by --data-root / $EDGEXAI_DATA / its
    origin; a folder from its recorded path, verified against its digest."""
    data = manifest.get("data") or {}
    if is_gtsrb(manifest):
        from edgexai.train.build_folder import data_root_for
        from edgexai.train.data.locate import locate_gtsrb

        return locate_gtsrb(data_root_for(data_root, manifest))
    train = _rescan(data["path"], data.get("digest"), None)
    test = (
        _rescan(data["test_path"], data.get("test_digest"), list(train.classes))
        if data.get("test_path")
        else None
    )
    fraction = (data.get("test_split") or {}).get("fraction", 0.0)
    return FolderSource(train, test, float(fraction))


def load_test_split(
    manifest: dict[str, Any],
    data_root: str | None = None,
    input_size: int | None = None,
    progress: bool = True,
    source: Any = None,
) -> ArraySplit:
    """The build's own test set at `input_size` (default: the model's): GTSRB's official test set
    (ROI-cropped as the build was), or the folder build's test split re-derived. Whole, without
    --limit-per-class, as explain and bench have always drawn from it. `source`: one already
    located by build_source (several models sharing it)."""
    size = int(input_size or manifest["input_size"])
    source = source if source is not None else build_source(manifest, data_root)
    if isinstance(source, FolderSource):
        return _folder_parts(source, size, progress)[1]
    from edgexai.train.data.gtsrb import load_split

    roi = bool((manifest.get("data") or {}).get("roi_crop", False))
    return load_split(source, "test", size, roi, progress)


def load_train_split(
    manifest: dict[str, Any], data_root: str | None = None, progress: bool = False
) -> ArraySplit:
    """The training split exactly as the build used it (after validation and limits)."""
    from types import SimpleNamespace

    data = manifest.get("data") or {}
    opts = SimpleNamespace(
        progress=progress,
        roi=bool(data.get("roi_crop", False)),
        val_fraction=float((data.get("val_split") or {}).get("fraction", 0.1)),
        limit_per_class=data.get("limit_per_class"),
    )
    source = build_source(manifest, data_root)
    return load_splits(opts, int(manifest["input_size"]), source)[0]  # type: ignore[arg-type]
