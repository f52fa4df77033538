"""GTSDB road frames (the pipeline's sample video): a folder `gtsdb/` with 00000.jpg … and gt.txt,
found beside GTSRB (--data-root / EDGEXAI_DATA: the folder itself, a folder holding it, or a
folder holding `gtsdb-dev.tar`) and unpacked once into the cache. Not downloadable: GTSDB has no
torchvision downloader, so a missing copy is reported, not fetched."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from edgexai.data.locate import ENV_DATA, cache_dir
from edgexai.digest import sha256_file
from edgexai.errors import EdgexaiError

ARCHIVE_NAME = "gtsdb-dev.tar"
_COMPLETE = ".edgexai-complete"


def _frames(folder: Path) -> bool:
    return (folder / "gt.txt").is_file() and any(folder.glob("*.jpg"))


def unpack_gtsdb(archive: Path) -> Path:
    """Unpack the archive into the cache once (keyed by its digest); returns the frame folder."""
    digest = sha256_file(archive)
    target = cache_dir() / f"gtsdb-{digest[:16]}"
    if (target / _COMPLETE).is_file():
        return target / "gtsdb"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EdgexaiError(f"{archive} could not be unpacked ({exc}); copy it again") from None
    if not _frames(tmp / "gtsdb"):
        shutil.rmtree(tmp, ignore_errors=True)
        raise EdgexaiError(f"{archive} does not hold gtsdb/gt.txt and frames")
    (tmp / _COMPLETE).write_text(digest + "\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return target / "gtsdb"


GtBox = tuple[float, float, float, float, int]
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp")


def read_gt(folder: str | os.PathLike) -> dict[str, list[GtBox]]:
    """`gt.txt` (`file;x1;y1;x2;y2;class`, GTSDB's layout, inclusive pixel edges) → {file stem:
    [(x1, y1, x2 + 1, y2 + 1, class_id), …]} with exclusive right/bottom edges."""
    path = Path(folder) / "gt.txt"
    gt: dict[str, list[GtBox]] = {}
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise EdgexaiError(f"{path} cannot be read ({exc.strerror or exc})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.strip().split(";")
        try:
            name, x1, y1, x2, y2, c = parts
            box = (float(x1), float(y1), float(x2) + 1, float(y2) + 1, int(c))
        except ValueError:
            raise EdgexaiError(f"{path}:{n}: expected file;x1;y1;x2;y2;class, got {line.strip()!r}"
                               ) from None
        if not (box[2] > box[0] and box[3] > box[1]) or box[4] < 0:
            raise EdgexaiError(f"{path}:{n}: an empty box or a negative class: {line.strip()!r}")
        gt.setdefault(Path(name).stem, []).append(box)
    return gt


def frame_files(folder: str | os.PathLike) -> list[Path]:
    """The image files of a frame folder, in name order (GTSDB: 00000.jpg …)."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def locate_gtsdb(data_root: str | os.PathLike | None = None) -> Path | None:
    """The GTSDB frame folder, or None when no copy is given."""
    given = data_root if data_root is not None else os.environ.get(ENV_DATA)
    if not given:
        return None
    path = Path(given).expanduser()
    if path.is_file():
        path = path.parent
    for folder in (path, path / "gtsdb"):
        if _frames(folder):
            return folder
    if (path / ARCHIVE_NAME).is_file():
        return unpack_gtsdb(path / ARCHIVE_NAME)
    return None
