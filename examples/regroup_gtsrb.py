"""Write a non-GTSRB-layout sign dataset made of GTSRB's own images: a subset of classes under new
names, as the ImageFolder layout `edgexai build --dataset` reads (docs/RESULTS.md, issue 15).

    python examples/regroup_gtsrb.py OUT [--data-root PATH]

OUT/train/<name>/*.png with OUT/train/labels.txt (the new names in a new class order) and
OUT/train/groups.csv (GTSRB's track of each image, so near-duplicates stay on one side of every
split), and OUT/test/<name>/*.png from the official test set. Images are re-encoded as PNG so the
folder shares no file format with GTSRB's PPMs.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2

from edgexai.train.data.gtsrb import list_samples
from edgexai.train.data.locate import locate_gtsrb

# New names (a fleet's own vocabulary) for a subset of GTSRB class ids, in the new class order.
REGROUPED: dict[str, int] = {
    "give-way": 13,
    "halt": 14,
    "no-entry": 17,
    "roadworks": 25,
    "limit-30": 1,
    "limit-80": 5,
    "roundabout": 40,
    "keep-right": 38,
}


def write_split(out: Path, samples, with_groups: bool) -> int:
    names = {old: new for new, old in REGROUPED.items()}
    rows: list[tuple[str, str]] = []
    for s in samples:
        if s.label not in names:
            continue
        rel = Path(names[s.label]) / (Path(s.path).stem + ".png")
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(out / rel), cv2.imread(s.path, cv2.IMREAD_COLOR)):
            raise SystemExit(f"cannot write {out / rel}")
        rows.append((rel.as_posix(), str(s.track)))
    (out / "labels.txt").write_text("".join(f"{n}\n" for n in REGROUPED))
    if with_groups:
        with open(out / "groups.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(("path", "group"))
            w.writerows(rows)
    return len(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="folder to write (train/ and test/ inside)")
    p.add_argument("--data-root", default=None, help="GTSRB (default: $EDGEXAI_DATA, the cache)")
    args = p.parse_args()
    source = locate_gtsrb(args.data_root, download=False)
    out = Path(args.out)
    n_train = write_split(out / "train", list_samples(source, "train"), with_groups=True)
    n_test = write_split(out / "test", list_samples(source, "test"), with_groups=False)
    print(f"{out}: {len(REGROUPED)} classes, {n_train} training and {n_test} test images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
