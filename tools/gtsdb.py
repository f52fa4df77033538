"""GTSDB development frames as a source: unpack once into the cache, read gt.txt.

`python tools/gtsdb.py` unpacks ../shared/data/gtsdb-dev.tar (or --tar PATH) into the cache
(EDGEXAI_CACHE, default ~/.cache/edgexai; never into the repo) and prints the frame folder, which
`edgexai run --source FOLDER` plays as a folder-of-images source (frames in name order).
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TAR = REPO.parent / "shared" / "data" / "gtsdb-dev.tar"
_COMPLETE = ".edgexai-complete"


def cache_root() -> Path:
    base = os.environ.get("EDGEXAI_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "edgexai")
    return Path(base)


def frames_dir(tar: Path | str = DEFAULT_TAR) -> Path:
    """The folder of unpacked GTSDB frames (00000.jpg … and gt.txt), unpacking it if needed."""
    tar = Path(tar)
    dest = cache_root() / "gtsdb-dev"
    if (dest / _COMPLETE).exists():
        return dest / "gtsdb"
    if not tar.is_file():
        raise FileNotFoundError(f"{tar} not found (pass --tar PATH)")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar) as t:
        t.extractall(dest, filter="data") if sys.version_info >= (3, 12) else t.extractall(dest)  # noqa: S202
    (dest / _COMPLETE).write_text("ok\n")
    return dest / "gtsdb"


def read_gt(folder: Path) -> dict[int, list[tuple[float, float, float, float, int]]]:
    """gt.txt → {frame index: [(x1, y1, x2, y2, class_id), …]}; x2/y2 made exclusive (+1)."""
    gt: dict[int, list[tuple[float, float, float, float, int]]] = {}
    for line in (Path(folder) / "gt.txt").read_text().splitlines():
        if not line.strip():
            continue
        name, x1, y1, x2, y2, c = line.strip().split(";")
        gt.setdefault(int(name[:5]), []).append(
            (float(x1), float(y1), float(x2) + 1, float(y2) + 1, int(c)))
    return gt


def frame_paths(folder: Path, start: int, stop: int) -> list[Path]:
    return [Path(folder) / f"{i:05d}.jpg" for i in range(start, stop)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tar", default=str(DEFAULT_TAR))
    p.add_argument("--split", choices=["all", "tune", "tuneval", "heldout"], default="all",
                   help="tune = frames 0–399, tuneval = the frames of 0–399 ≡ 3 mod 4 (the "
                        "rejector's validation frames, used to calibrate --min-score), heldout = "
                        "400–599: a folder of links to that part")
    a = p.parse_args()
    folder = frames_dir(a.tar)
    if a.split != "all":
        lo, hi = (400, 600) if a.split == "heldout" else (0, 400)
        part = cache_root() / f"gtsdb-dev-{a.split}"
        part.mkdir(parents=True, exist_ok=True)
        for src in frame_paths(folder, lo, hi):
            if a.split == "tuneval" and int(src.stem) % 4 != 3:
                continue
            link = part / src.name
            if not link.exists():
                link.symlink_to(src)
        folder = part
    print(folder)


if __name__ == "__main__":
    main()
