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
                rows.append(f"{name};{size};{size};3;3;{size - 4};{size - 4};{label}\n")
        (d / f"GT-{label:05d}.csv").write_text("".join(rows))
        for _ in range(test_per_class):
            size = int(rng.integers(30, 40))
            name = f"{k:05d}.ppm"
            _write_ppm(test / name, _sign(rng, label, size))
            test_rows.append(f"{name};{size};{size};3;3;{size - 4};{size - 4};{label}\n")
            k += 1
    (base / "GT-final_test.csv").write_text("".join(test_rows))
    return root
