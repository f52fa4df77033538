"""Write a small copy of GTSRB in its own folder layout, every image shrunk to SIZE px and stored as
JPEG, so the whole dataset fits a small transfer (a lent GPU machine takes at most 64 MiB; the
archive is 121 MB). Used to time the `paper` preset on a GPU (docs/RESULTS.md, issue 19).

    python tools/shrink_gtsrb.py OUT [--size 32] [--quality 85] [--data-root PATH]

OUT/gtsrb/GTSRB/Training/000NN/*.ppm with their GT-000NN.csv, OUT/gtsrb/GTSRB/Final_Test/Images/
and OUT/gtsrb/GT-final_test.csv, as `edgexai build --data-root OUT` reads them. The files keep
their .ppm names so the CSVs hold unchanged, but hold JPEG bytes (OpenCV decodes by content); each
image is the SIZE×SIZE square a build decodes at that size (edgexai.core.preprocess.resize_square), and
the CSVs' Width/Height/ROI are scaled to it. JPEG changes pixel values slightly: fine for timing,
not for accuracy figures.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

import cv2
from tqdm import tqdm

from edgexai.core.errors import EdgexaiError
from edgexai.core.preprocess import read_rgb, resize_square
from edgexai.train.data.gtsrb import CSV_DELIMITER, list_samples, read_csv_rows
from edgexai.train.data.locate import locate_gtsrb

_ROI = ("Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2")


def _shrunk_rows(csv_path: Path, size: int) -> list[dict[str, str]]:
    """The CSV's rows with Width/Height = size and the ROI scaled by size/Width, size/Height."""
    rows = read_csv_rows(csv_path)
    for row in rows:
        sx, sy = size / int(row["Width"]), size / int(row["Height"])
        for key in _ROI:
            scale = sx if key.endswith(("X1", "X2")) else sy
            row[key] = str(min(size - 1, round(int(row[key]) * scale)))
        row["Width"] = row["Height"] = str(size)
    return rows


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=CSV_DELIMITER)
        writer.writeheader()
        writer.writerows(rows)


def _shrink(source, dst: Path, size: int, quality: int) -> int:
    """Write the shrunk copy under dst; the number of images, or -1 when one cannot be decoded."""
    src = source.root / "gtsrb"
    for csv_path in [*sorted(src.glob("GTSRB/Training/*/GT-*.csv")), src / "GT-final_test.csv"]:
        _write_csv(dst / csv_path.relative_to(src), _shrunk_rows(csv_path, size))
    samples = [*list_samples(source, "train"), *list_samples(source, "test")]
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    for sample in tqdm(samples, desc="shrinking GTSRB", unit="img"):
        img = read_rgb(sample.path)
        if img is None:
            print(f"error: cannot decode {sample.path}", file=sys.stderr)
            return -1
        small = cv2.cvtColor(resize_square(img, size), cv2.COLOR_RGB2BGR)
        target = dst / Path(sample.path).relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(cv2.imencode(".jpg", small, params)[1].tobytes())
    return len(samples)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--size", type=int, default=32, help="side in px (default: 32, ResNet-18's)")
    p.add_argument("--quality", type=int, default=85, help="JPEG quality (default: 85)")
    p.add_argument("--data-root", default=None, help="GTSRB (default: $EDGEXAI_DATA)")
    a = p.parse_args(argv)
    if a.size < 8:
        p.error(f"--size must be at least 8 px, got {a.size}")
    if not 1 <= a.quality <= 100:
        p.error(f"--quality must be 1-100, got {a.quality}")
    dst = a.out / "gtsrb"
    if dst.exists():
        print(f"error: {dst} exists; remove it or pick another OUT", file=sys.stderr)
        return 2
    try:
        source = locate_gtsrb(a.data_root, download=False)
    except EdgexaiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    partial = a.out / "gtsrb.partial"  # renamed into place when whole: never a half-written copy
    shutil.rmtree(partial, ignore_errors=True)
    count = _shrink(source, partial, a.size, a.quality)
    if count < 0:
        shutil.rmtree(partial, ignore_errors=True)
        return 1
    partial.rename(dst)
    print(f"{count} images at {a.size} px (JPEG q{a.quality}) under {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
