"""A tiny synthetic GTSRB tree in torchvision's layout: learnable class-coloured discs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_CLASSES = 43


def _write_ppm(path: Path, img: np.ndarray) -> None:
    h, w, _ = img.shape
    path.write_bytes(f"P6\n{w} {h}\n255\n".encode() + img.astype(np.uint8).tobytes())


def _sign(rng: np.random.Generator, label: int, size: int) -> np.ndarray:
    """A learnable stand-in for a sign: a class-coloured disc with a class-dependent bar."""
    yy, xx = np.mgrid[:size, :size]
    c = size / 2
    img = rng.integers(60, 120, (size, size, 3)).astype(np.float32)
    colour = np.array([(label * 37) % 256, (label * 91) % 256, (label * 53) % 256], np.float32)
    disc = (yy - c) ** 2 + (xx - c) ** 2 < (0.35 * size) ** 2
    img[disc] = colour
    bar = (xx // max(1, size // 8)) == (label % 8)
    img[disc & bar] = 255 - colour
    return np.clip(img + rng.normal(0, 8, img.shape), 0, 255)


def make_fake_gtsrb(
    root: Path, tracks: int = 2, per_track: int = 3, test_per_class: int = 3, seed: int = 0
) -> Path:
    """Write root/gtsrb/... with `tracks`×`per_track` train images and some test images per class."""
    rng = np.random.default_rng(seed)
    base = root / "gtsrb"
    train = base / "GTSRB" / "Training"
    test = base / "GTSRB" / "Final_Test" / "Images"
    test.mkdir(parents=True)
    header = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"
    test_rows = [header]
    k = 0
    for label in range(N_CLASSES):
        d = train / f"{label:05d}"
        d.mkdir(parents=True)
        rows = [header]
        for t in range(tracks):
            for i in range(per_track):
                size = int(rng.integers(30, 40))
                name = f"{t:05d}_{i:05d}.ppm"
                _write_ppm(d / name, _sign(rng, label, size))
                rows.append(f"{name};{size};{size};6;6;{size - 7};{size - 7};{label}\n")
        (d / f"GT-{label:05d}.csv").write_text("".join(rows))
        for _ in range(test_per_class):
            size = int(rng.integers(30, 40))
            name = f"{k:05d}.ppm"
            _write_ppm(test / name, _sign(rng, label, size))
            test_rows.append(f"{name};{size};{size};6;6;{size - 7};{size - 7};{label}\n")
            k += 1
    (base / "GT-final_test.csv").write_text("".join(test_rows))
    return root


SHAPE_NAMES = ("red disc", "green square", "blue triangle", "yellow bar", "white ring")


def _shape(rng: np.random.Generator, label: int, size: int) -> np.ndarray:
    """A learnable coloured shape on noise, one shape and colour per class."""
    yy, xx = np.mgrid[:size, :size]
    c, r = size / 2, 0.35 * size
    colours = ((220, 30, 30), (30, 200, 40), (40, 60, 230), (230, 220, 30), (240, 240, 240))
    masks = (
        (yy - c) ** 2 + (xx - c) ** 2 < r**2,
        (abs(yy - c) < r) & (abs(xx - c) < r),
        (yy > c - r) & (yy < c + r) & (abs(xx - c) < (yy - (c - r)) / 2),
        (abs(yy - c) < r / 3) & (abs(xx - c) < r),
        abs(np.hypot(yy - c, xx - c) - r) < r / 4,
    )
    img = rng.integers(40, 110, (size, size, 3)).astype(np.float32)
    img[masks[label % 5]] = colours[label % 5]
    return np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)


def make_image_folder(
    root: Path,
    names: tuple[str, ...] = SHAPE_NAMES,
    per_class: int = 20,
    labels_txt: bool = True,
    folder_names: tuple[str, ...] | None = None,
    seed: int = 0,
) -> Path:
    """Write an ImageFolder at root: one folder per class (named as `folder_names`, default the
    zero-padded class ids when `labels_txt`, else the names), coloured shapes of 32–60 px, every
    third image a .jpg and the rest .png; with `labels_txt`, root/labels.txt lists `names`."""
    import cv2

    rng = np.random.default_rng(seed)
    folders = folder_names or (
        tuple(f"{i:05d}" for i in range(len(names))) if labels_txt else names
    )
    root.mkdir(parents=True, exist_ok=True)
    for label, folder in enumerate(folders):
        d = root / folder
        d.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = _shape(rng, label, int(rng.integers(32, 61)))
            ext = ".jpg" if i % 3 == 0 else ".png"
            cv2.imwrite(str(d / f"{i:04d}{ext}"), img[:, :, ::-1])
    if labels_txt:
        (root / "labels.txt").write_text("\n".join(names) + "\n\n")
    return root
