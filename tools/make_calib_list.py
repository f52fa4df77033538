"""Write edgexai/train/export/data/gtsrb_calib.txt: a class-balanced draw of GTSRB images for INT8.

Usage: EDGEXAI_DATA=../shared/data python tools/make_calib_list.py [--per-class 8] [--seed 0]
The list names images (relative to the folder holding gtsrb/); the images are never committed.
It is package data (pyproject.toml), read through importlib.resources by export/calibration.py,
so it ships in the wheel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgexai.train.data.locate import locate_gtsrb
from edgexai.train.export.calibration import DEFAULT_LIST, make_list, write_list


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-root", default=None)
    p.add_argument("--per-class", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--out", default=str(DEFAULT_LIST), help="default: the packaged list in this checkout"
    )
    args = p.parse_args()
    source = locate_gtsrb(args.data_root, download=False)
    entries = make_list(source, args.per_class, args.seed)
    header = [
        f"GTSRB official training set, data {source.digest}",
        f"{args.per_class} images per class from the training tracks (validation tracks of "
        "the build's 10 % by-track split, seed 0, excluded), distinct tracks first, "
        f"seed {args.seed}",
        "made by tools/make_calib_list.py; columns: path;x1;y1;x2;y2;class (ROI from the CSV)",
    ]
    write_list(Path(args.out), entries, header)
    print(f"wrote {args.out}: {len(entries)} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
