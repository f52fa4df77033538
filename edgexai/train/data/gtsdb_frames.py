"""GTSDB road frames (the pipeline's sample video): a folder `gtsdb/` with 00000.jpg … and gt.txt,
found beside GTSRB (--data-root / EDGEXAI_DATA: the folder itself, a folder holding it, or a
folder holding `gtsdb-dev.tar`) and unpacked once into the cache. Not downloadable: GTSDB has no
torchvision downloader, so a missing copy is reported, not fetched.

The project's frame splits (`SPLITS`, by frame number = file stem): frames 0–399 are for
development (tuning, training the pipeline's learned parts), and of those the frames ≡ 3 mod 4
are held back from training to choose thresholds (calibration); frames 400–599 are held out,
scored once with every setting frozen. `link_split` makes a folder of links to one split, which
`edgexai run --source FOLDER` plays."""

from __future__ import annotations

import math
import os
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgexai.core.classes import NUM_CLASSES
from edgexai.core.digest import sha256_file
from edgexai.core.errors import EdgexaiError
from edgexai.train.data.locate import ENV_DATA, cache_dir

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


def _gt_lines(path: Path) -> list[str]:
    """gt.txt's lines: UTF-8, with or without the byte-order mark spreadsheets write."""
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise EdgexaiError(f"{path} cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise EdgexaiError(
            f"{path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None


def _gt_box(path: Path, n: int, line: str) -> tuple[str, GtBox]:
    """One checked gt.txt line → (file stem, box with exclusive right/bottom edges)."""
    try:
        name, x1, y1, x2, y2, c = line.split(";")
        box = (float(x1), float(y1), float(x2) + 1, float(y2) + 1, int(c))
    except ValueError:
        raise EdgexaiError(f"{path}:{n}: expected file;x1;y1;x2;y2;class, got {line!r}") from None
    if not all(math.isfinite(v) for v in box[:4]) or min(box[:4]) < 0:
        raise EdgexaiError(f"{path}:{n}: coordinates must be finite pixels ≥ 0, got {line!r}")
    if not (box[2] > box[0] and box[3] > box[1]):
        raise EdgexaiError(f"{path}:{n}: an empty box (x2 < x1 or y2 < y1): {line!r}")
    if not 0 <= box[4] < NUM_CLASSES:
        raise EdgexaiError(
            f"{path}:{n}: class {box[4]} is not a GTSRB class id (0–{NUM_CLASSES - 1}): {line!r}"
        )
    return Path(name.strip()).stem, box


def read_gt(folder: str | os.PathLike) -> dict[str, list[GtBox]]:
    """`gt.txt` (`file;x1;y1;x2;y2;class`, GTSDB's layout, inclusive pixel edges) → {file stem:
    [(x1, y1, x2 + 1, y2 + 1, class_id), …]} with exclusive right/bottom edges. A line that
    repeats an earlier one counts once, with a warning: twice, it would be a sign no detection
    can match (the official GTSDB gt.txt repeats one, line 535). Boxes are checked against their
    frames where the frames are read (`check_boxes_in_frame`)."""
    path = Path(folder) / "gt.txt"
    gt: dict[str, list[GtBox]] = {}
    seen: dict[tuple[str, GtBox], int] = {}
    repeats = []
    for n, raw in enumerate(_gt_lines(path), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        stem, box = _gt_box(path, n, line)
        if (stem, box) in seen:
            repeats.append(f"{n} (= {seen[stem, box]})")
            continue
        seen[stem, box] = n
        gt.setdefault(stem, []).append(box)
    if repeats:
        print(
            f"edgexai: warning: {path}: line {', '.join(repeats)} repeats an earlier line; "
            "counted once",
            file=sys.stderr,
        )
    return gt


def check_boxes_in_frame(path: Path, boxes: list[GtBox], width: int, height: int) -> None:
    """Refuse a ground-truth box that does not lie inside its frame (`path`, width × height)."""
    for box in boxes:
        if box[2] > width or box[3] > height:
            raise EdgexaiError(
                f"gt.txt: the box {[round(v) for v in box[:4]]} (class {box[4]}) of {path.name} "
                f"leaves its {width}×{height} frame"
            )


def check_gt_in_frames(folder: str | os.PathLike, gt: dict[str, list[GtBox]]) -> None:
    """Every box of a frame that `folder` holds lies inside that frame (sizes read from the
    image headers, nothing decoded); boxes of frames the folder lacks are not checked here."""
    from edgexai.core.image_files import image_size

    files = {f.stem: f for f in frame_files(folder)}
    for stem, boxes in gt.items():
        size = image_size(files[stem]) if stem in files else None
        if size is not None:
            check_boxes_in_frame(files[stem], boxes, *size)


def gt_without_frames(folder: str | os.PathLike, gt: dict[str, list[GtBox]]) -> list[str]:
    """The file stems gt.txt names that have no image file in `folder`."""
    return sorted(set(gt) - {f.stem for f in frame_files(folder)})


def frame_files(folder: str | os.PathLike) -> list[Path]:
    """The image files of a frame folder, in name order (GTSDB: 00000.jpg …). Two files of one
    stem (00002.jpg and 00002.png) are refused: gt.txt names a frame by its stem, so both would
    get its boxes and every later frame's position would shift."""
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    stems: dict[str, Path] = {}
    for f in files:
        if f.stem in stems:
            raise EdgexaiError(
                f"{folder}: {stems[f.stem].name} and {f.name} are one frame to gt.txt (it names "
                "frames by their stem); keep one of them"
            )
        stems[f.stem] = f
    return files


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


MISSING_HINT = (
    f"GTSDB frames not found: pass --data-root PATH or set {ENV_DATA}=PATH, where PATH "
    f"is the gtsdb/ folder (frames + gt.txt), a folder holding it, or a folder holding "
    f"{ARCHIVE_NAME}"
)


def require_gtsdb(data_root: str | os.PathLike | None = None) -> Path:
    """The GTSDB frame folder (`locate_gtsdb`), or a one-line error saying where to put it."""
    folder = locate_gtsdb(data_root)
    if folder is None:
        raise EdgexaiError(MISSING_HINT)
    return folder


def gt_by_number(folder: str | os.PathLike) -> dict[int, list[GtBox]]:
    """`read_gt` keyed by frame number (00412 → 412); stems that are not numbers are left out."""
    return {int(k): v for k, v in read_gt(folder).items() if k.isdigit()}


def frame_path(folder: str | os.PathLike, number: int) -> Path:
    """GTSDB's file name for a frame number (412 → 00412.jpg)."""
    return Path(folder) / f"{number:05d}.jpg"


@dataclass(frozen=True)
class FrameSplit:
    """Frames `start` ≤ n < `stop` (frame numbers), optionally only those ≡ R mod M."""

    name: str
    start: int
    stop: int
    mod: tuple[int, int] | None = None

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        return self.start <= number < self.stop and (
            self.mod is None or number % self.mod[0] == self.mod[1]
        )

    def numbers(self) -> list[int]:
        return [n for n in range(self.start, self.stop) if n in self]


DEVELOPMENT = FrameSplit("tune", 0, 400)  # tuning and training frames …
CALIBRATION_MOD = (4, 3)  # … of which those ≡ 3 mod 4 are kept out of training
CALIBRATION = FrameSplit("tuneval", 0, 400, CALIBRATION_MOD)  # they choose the thresholds
HELDOUT = FrameSplit("heldout", 400, 600)  # scored once, every setting frozen
SPLITS = {s.name: s for s in (DEVELOPMENT, CALIBRATION, HELDOUT)}
SPLIT_HELP = (
    "tune = frames 0–399 (development), tuneval = the frames of 0–399 ≡ 3 mod 4 "
    "(calibration: kept out of training, they choose thresholds), heldout = 400–599 "
    "(scored once)"
)


def link_split(
    folder: str | os.PathLike, split: FrameSplit, dest: str | os.PathLike | None = None
) -> Path:
    """A folder of symbolic links to the split's frames of `folder` (default: the cache's
    `gtsdb-dev-<name>`); existing links are kept, so calling it again is cheap."""
    part = Path(dest) if dest is not None else cache_dir() / f"gtsdb-dev-{split.name}"
    try:
        part.mkdir(parents=True, exist_ok=True)
        for n in split.numbers():
            src = frame_path(folder, n)
            link = part / src.name
            if src.is_file() and not (link.exists() or link.is_symlink()):
                link.symlink_to(src.absolute())
    except OSError as exc:
        raise EdgexaiError(
            f"cannot link the {split.name} frames into {part} ({exc.strerror or exc})"
        ) from None
    return part
