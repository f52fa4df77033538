"""Find GTSRB: a folder, a folder holding the archive, the archive itself, or a download.

An archive is unpacked once into a cache folder named by its digest, so a second build starts at
once and the manifest can name the exact data it was trained on.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from edgexai.core.digest import sha256_file
from edgexai.core.errors import EdgexaiError

ARCHIVE_NAME = "gtsrb.tar.gz"
ENV_DATA = "EDGEXAI_DATA"
ENV_CACHE = "EDGEXAI_CACHE"
_COMPLETE = ".edgexai-complete"

OFFLINE_HINT = (
    f"provide GTSRB offline with --data-root PATH or {ENV_DATA}=PATH, where PATH is a folder "
    f"holding gtsrb/ (torchvision's GTSRB layout), a folder holding {ARCHIVE_NAME}, or the archive"
)


@dataclass(frozen=True)
class DataSource:
    """Where GTSRB was found: `root` holds `gtsrb/`; `digest` identifies the data exactly."""

    root: Path
    origin: str
    digest: str


def cache_dir() -> Path:
    """The cache folder (EDGEXAI_CACHE, else ~/.cache/edgexai)."""
    base = os.environ.get(ENV_CACHE) or os.path.join(os.path.expanduser("~"), ".cache", "edgexai")
    return Path(base)


def _has_layout(root: Path) -> bool:
    return (root / "gtsrb" / "GTSRB" / "Training").is_dir()


def _listing_digest(root: Path) -> str:
    """A cheap identity for an unpacked folder: sha256 of its file names and sizes."""
    import hashlib

    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root / "gtsrb"):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            h.update(f"{p.relative_to(root)}:{p.stat().st_size}\n".encode())
    return "listing:" + h.hexdigest()


def unpack_archive(archive: Path) -> DataSource:
    """Unpack a GTSRB archive into the cache (once per digest) and return where it lies."""
    if not tarfile.is_tarfile(archive):
        raise EdgexaiError(
            f"{archive} is not a tar archive (corrupt or wrong file?); {OFFLINE_HINT}"
        )
    digest = sha256_file(archive)
    target = cache_dir() / f"gtsrb-{digest[:16]}"
    marker = target / _COMPLETE
    if marker.is_file() and marker.read_text().strip() == digest:
        return DataSource(target, str(archive), "sha256:" + digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
    except tarfile.FilterError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EdgexaiError(
            f"{archive} was refused, not unpacked: {exc} (an archive member "
            "outside the unpack folder, an absolute path, a link out of it or a "
            "device file); it is not GTSRB as published, get it from the "
            "source"
        ) from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EdgexaiError(
            f"{archive} could not be unpacked ({exc}): the archive is corrupt or "
            f"truncated; copy it again"
        ) from None
    if not _has_layout(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
        raise EdgexaiError(
            f"{archive} does not hold gtsrb/GTSRB/Training (torchvision's GTSRB layout)"
        )
    (tmp / _COMPLETE).write_text(digest + "\n")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    return DataSource(target, str(archive), "sha256:" + digest)


def _download(root: Path) -> DataSource:
    """Fetch GTSRB with torchvision's downloader (needs a network)."""
    from torchvision.datasets import GTSRB  # absent: the CLI says which extra to install

    try:
        GTSRB(str(root), split="train", download=True)
        GTSRB(str(root), split="test", download=True)
    except Exception as exc:  # network errors come in many types; all mean the same here
        raise EdgexaiError(
            f"GTSRB is not on this machine and could not be downloaded "
            f"({type(exc).__name__}: {exc}); {OFFLINE_HINT}"
        ) from None
    return DataSource(root, "torchvision download", _listing_digest(root))


def locate_gtsrb(data_root: str | os.PathLike | None = None, download: bool = True) -> DataSource:
    """Resolve --data-root / EDGEXAI_DATA / the cache / a download to a folder holding gtsrb/."""
    given = data_root if data_root is not None else os.environ.get(ENV_DATA)
    if given:
        path = Path(given).expanduser()
        if path.is_file():
            return unpack_archive(path)
        if path.is_dir():
            if _has_layout(path):
                return DataSource(path, str(path), _listing_digest(path))
            if (path / "GTSRB" / "Training").is_dir():
                return DataSource(path.parent, str(path), _listing_digest(path.parent))
            if (path / ARCHIVE_NAME).is_file():
                return unpack_archive(path / ARCHIVE_NAME)
            raise EdgexaiError(
                f"{path} holds neither gtsrb/GTSRB/Training nor {ARCHIVE_NAME}; {OFFLINE_HINT}"
            )
        raise EdgexaiError(f"data location {path} does not exist; {OFFLINE_HINT}")
    downloaded = cache_dir() / "download"
    if _has_layout(downloaded) and (downloaded / "gtsrb" / "GT-final_test.csv").is_file():
        return DataSource(downloaded, "torchvision download", _listing_digest(downloaded))
    if not download:
        raise EdgexaiError(f"GTSRB not found; {OFFLINE_HINT}")
    return _download(downloaded)
