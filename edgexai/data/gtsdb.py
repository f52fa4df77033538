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
