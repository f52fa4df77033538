"""A user's own dataset in torchvision's ImageFolder layout: one folder per class.

PATH/<class>/**/*.{ppm,png,jpg,jpeg}. Class ids follow ImageFolder (sorted folder names, which are
the names) unless PATH/labels.txt names the classes in id order; then each class folder is one of
those names or an integer id (zero padding allowed), one to one. An optional PATH/groups.csv
(`path,group`, paths relative to PATH) names images that must stay on one side of every split
(the same physical sign, one recording); an unlisted image is its own group. Hidden folders are
skipped. numpy/OpenCV only: listing and decoding need no torch.
"""

from __future__ import annotations

import csv
import hashlib
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgexai.core.digest import sha256_file
from edgexai.core.errors import EdgexaiError
from edgexai.core.image_files import ImageTooLarge, truncated_jpeg
from edgexai.core.preprocess import read_rgb, resize_square
from edgexai.train.data.gtsrb import ArraySplit, cached_split, decode_all
from edgexai.train.data.locate import cache_dir

EXTENSIONS = (".ppm", ".png", ".jpg", ".jpeg")
LABELS_NAME = "labels.txt"
GROUPS_NAME = "groups.csv"
_CACHE_VERSION = 1


class DatasetError(EdgexaiError):
    """--dataset / --test-dataset does not hold a usable ImageFolder: `edgexai build` reports it
    as a bad argument (exit code 2), in one line that says how."""


@dataclass(frozen=True)
class FolderDataset:
    """A scanned ImageFolder: class names in id order and, per image (sorted by path), its path
    relative to `root`, class id and group id. `origin` and `digest` as a GTSRB DataSource has."""

    root: Path
    classes: tuple[str, ...]
    files: tuple[str, ...]
    labels: tuple[int, ...]
    groups: tuple[int, ...]
    grouped: bool  # a groups.csv gave the groups (else one image per group)
    digest: str

    @property
    def origin(self) -> str:
        return str(self.root)

    def class_counts(self) -> list[int]:
        return np.bincount(np.array(self.labels, np.int64), minlength=len(self.classes)).tolist()


def _nfc(name: str) -> str:
    """One spelling of a name: macOS writes folder names decomposed (NFD), editors composed."""
    return unicodedata.normalize("NFC", name)


def _side_file(root: Path, name: str) -> Path | None:
    """root/name if it is a file, None if absent; anything else there is refused."""
    path = root / name
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise DatasetError(f"{path} must be a file (it is a folder or a broken link)")
    return path


def read_labels(root: Path) -> list[str] | None:
    """labels.txt's names (None without one): one per line, trailing blank lines ignored; UTF-8
    with or without the byte-order mark spreadsheets write."""
    path = _side_file(root, LABELS_NAME)
    if path is None:
        return None
    try:
        lines = [_nfc(line.strip()) for line in path.read_text("utf-8-sig").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} cannot be read ({exc})") from None
    while lines and not lines[-1]:
        lines.pop()
    for n, name in enumerate(lines, 1):
        if not name:
            raise DatasetError(f"{path}:{n}: blank line among the class names")
        if name in lines[: n - 1]:
            raise DatasetError(f"{path}:{n}: class name {name!r} is given twice")
    return lines


def _class_id(folder: str, names: list[str]) -> int | None:
    """The id a folder stands for under `names`: its line, or the integer it spells."""
    folder, names = _nfc(folder), [_nfc(n) for n in names]
    if folder in names:
        return names.index(folder)
    if folder.isdigit() and int(folder) < len(names):
        return int(folder)
    return None


def match_folders(folders: list[str], names: list[str], where: str, what: str) -> dict[str, int]:
    """Folder → class id, each folder a name from `names` or an integer id, one to one; on a
    mismatch one line saying how (`what`: where the names come from, e.g. 'labels.txt')."""
    count = (
        f"{what} names {len(names)} classes but {where} has {len(folders)} class folders; "
        if len(names) != len(folders)
        else f"{what} does not match the class folders of {where}: "
    )
    ids: dict[str, int] = {}
    for folder in folders:
        cid = _class_id(folder, names)
        if cid is None:
            raise DatasetError(
                f"{count}folder {folder!r} is neither a name in {what} nor a class id "
                f"0..{len(names) - 1}"
            )
        twin = next((f for f, i in ids.items() if i == cid), None)
        if twin is not None:
            raise DatasetError(
                f"{count}folders {twin!r} and {folder!r} both stand for class {cid} {names[cid]!r}"
            )
        ids[folder] = cid
    missing = [i for i in range(len(names)) if i not in ids.values()]
    if missing:
        raise DatasetError(f"{count}no folder for class {missing[0]} {names[missing[0]]!r}")
    return ids


def _images(folder: Path, root: Path) -> list[Path]:
    """The class folder's images (hidden ones skipped). A link to a folder, or to a file outside
    the dataset, is refused: the first would be skipped unseen, the second trained on although
    the dataset's digest could not vouch for what it points to next time."""
    found = []
    for p in folder.rglob("*"):
        if any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        if p.is_symlink() and p.is_dir():
            raise DatasetError(
                f"{p} is a link to a folder; copy the images in, or link them one by one"
            )
        if p.suffix.lower() not in EXTENSIONS or not p.is_file():
            continue
        if p.is_symlink() and not p.resolve().is_relative_to(root):
            raise DatasetError(f"{p} links to {p.resolve()}, outside the dataset {root}")
        found.append(p)
    return sorted(found)


def _class_folders(root: Path) -> list[str]:
    if not root.exists():
        raise DatasetError(f"dataset {root} does not exist")
    if not root.is_dir():
        raise DatasetError(f"dataset {root} is not a folder (one folder per class expected)")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DatasetError(f"dataset {root} has no class folders (one folder per class expected)")
    return folders


def _read_groups(root: Path, files: list[str]) -> dict[str, str] | None:
    """groups.csv's path → group name (None without one); every path must be an image here."""
    path = _side_file(root, GROUPS_NAME)
    if path is None:
        return None
    known = set(files)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None or not {"path", "group"} <= set(reader.fieldnames):
                raise DatasetError(f"{path}: the header must be 'path,group'")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path} cannot be read ({exc})") from None
    groups: dict[str, str] = {}
    lines: dict[str, int] = {}
    for n, row in enumerate(rows, 2):
        rel = Path((row["path"] or "").strip()).as_posix()
        if rel not in known:
            raise DatasetError(f"{path}:{n}: {rel!r} is not an image of the dataset")
        group = (row["group"] or "").strip()
        if not group:
            raise DatasetError(
                f"{path}:{n}: {rel!r} has no group (leave an image out of {GROUPS_NAME} to make "
                "it a group of its own)"
            )
        if rel in groups and groups[rel] != group:
            raise DatasetError(
                f"{path}:{n}: {rel!r} is in group {group!r} here and {groups[rel]!r} on line "
                f"{lines[rel]}"
            )
        groups[rel], lines[rel] = group, n
    return groups


def _group_ids(files: list[str], groups: dict[str, str] | None) -> list[int]:
    """A unique int per group; an image without a group is a group of its own."""
    named = sorted(set((groups or {}).values()))
    index = {g: i for i, g in enumerate(named)}
    out, alone = [], len(named)
    for rel in files:
        if groups is not None and rel in groups:
            out.append(index[groups[rel]])
        else:
            out.append(alone)
            alone += 1
    return out


def dataset_digest(root: Path, files: list[str]) -> str:
    """sha256 over the sorted (relative path, file sha256) pairs, labels.txt and groups.csv."""
    h = hashlib.sha256()
    for rel in files:
        h.update(f"{rel}\0{sha256_file(root / rel)}\n".encode())
    for extra in (LABELS_NAME, GROUPS_NAME):
        p = root / extra
        h.update(f"{extra}\0".encode() + (p.read_bytes() if p.is_file() else b"-") + b"\n")
    return "sha256:" + h.hexdigest()


def scan(path: str | Path, classes: list[str] | None = None) -> FolderDataset:
    """List (and digest) an ImageFolder. `classes`: those of the training set this one must
    match (a test dataset): its folders are then names or ids of those classes, one to one."""
    root = Path(path).expanduser().resolve()
    folders = _class_folders(root)
    names = read_labels(root)
    if classes is not None:
        if names is not None and names != list(classes):
            raise DatasetError(
                f"{root / LABELS_NAME} does not name the training set's classes "
                f"({len(names)} names, the training set has {len(classes)})"
                if len(names) != len(classes)
                else f"{root / LABELS_NAME} does not name the training set's classes in its "
                f"order (line {_first_difference(names, list(classes)) + 1})"
            )
        ids = match_folders(folders, list(classes), str(root), "the training set")
        names = list(classes)
    elif names is not None:
        ids = match_folders(folders, names, str(root), LABELS_NAME)
    else:
        names, ids = folders, {f: i for i, f in enumerate(folders)}
    if len(names) < 2:
        raise DatasetError(f"dataset {root} has {len(names)} class; a classifier needs at least 2")
    files: list[str] = []
    labels: list[int] = []
    for folder in sorted(folders, key=lambda f: ids[f]):
        images = _images(root / folder, root)
        if not images:
            raise DatasetError(
                f"class folder {root / folder} holds no images ({', '.join(EXTENSIONS)})"
            )
        files += [p.relative_to(root).as_posix() for p in images]
        labels += [ids[folder]] * len(images)
    order = sorted(range(len(files)), key=lambda i: files[i])
    files, labels = [files[i] for i in order], [labels[i] for i in order]
    groups = _read_groups(root, files)
    return FolderDataset(
        root,
        tuple(names),
        tuple(files),
        tuple(labels),
        tuple(_group_ids(files, groups)),
        groups is not None,
        dataset_digest(root, files),
    )


def _first_difference(a: list[str], b: list[str]) -> int:
    return next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)


def _decode(path: Path, size: int) -> np.ndarray:
    try:
        img = read_rgb(str(path))
    except ImageTooLarge as exc:  # refused before decoding: the dataset is unusable as it is
        raise DatasetError(str(exc)) from None
    if img is None:
        raise DatasetError(f"cannot decode {path} (not an image, or damaged)")
    if truncated_jpeg(path):
        raise DatasetError(f"{path} is a truncated JPEG (it ends before its image does)")
    return resize_square(img, size)


def load_arrays(ds: FolderDataset, size: int, progress: bool = True) -> ArraySplit:
    """Every image decoded at `size` px (tracks = group ids), through the on-disk cache."""
    key = hashlib.sha256(json.dumps([ds.digest, size, _CACHE_VERSION]).encode()).hexdigest()[:20]
    path = cache_dir() / "arrays" / f"folder-{size}-{key}.npz"

    def make() -> ArraySplit:
        paths = [ds.root / rel for rel in ds.files]
        return ArraySplit(
            decode_all(lambda p: _decode(p, size), paths, f"decoding {ds.root.name}", progress),
            np.array(ds.labels, np.int64),
            np.array(ds.groups, np.int64),
        )

    return cached_split(path, make)
