"""GTSDB development frames as a source: unpack once into the cache, read gt.txt.

`python tools/gtsdb.py` unpacks ../shared/data/gtsdb-dev.tar (or --tar PATH) into the cache
(EDGEXAI_CACHE, default ~/.cache/edgexai; never into the repo) and prints the frame folder, which
`edgexai run --source FOLDER` plays as a folder-of-images source (frames in name order).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DEFAULT_TAR = REPO.parent / "shared" / "data" / "gtsdb-dev.tar"


def cache_root() -> Path:
    from edgexai.data.locate import cache_dir

    return cache_dir()


def frames_dir(tar: Path | str = DEFAULT_TAR) -> Path:
    """The folder of unpacked GTSDB frames (00000.jpg … and gt.txt), unpacking it if needed."""
    from edgexai.data.gtsdb import unpack_gtsdb

    tar = Path(tar)
    if not tar.is_file():
        raise FileNotFoundError(f"{tar} not found (pass --tar PATH)")
    return unpack_gtsdb(tar)


def read_gt(folder: Path) -> dict[int, list[tuple[float, float, float, float, int]]]:
    """gt.txt → {frame index: [(x1, y1, x2, y2, class_id), …]} (edgexai.data.gtsdb.read_gt,
    keyed by frame number)."""
    from edgexai.data.gtsdb import read_gt as read

    return {int(k): v for k, v in read(folder).items()}


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
