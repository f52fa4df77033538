"""Shared fixtures: a tiny synthetic GTSRB tree in torchvision's layout, and an isolated cache."""

from __future__ import annotations

import os
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
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


def make_fake_gtsrb(root: Path, tracks: int = 2, per_track: int = 3, test_per_class: int = 3,
                    seed: int = 0) -> Path:
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


@pytest.fixture(scope="session")
def fake_gtsrb(tmp_path_factory) -> Path:
    return make_fake_gtsrb(tmp_path_factory.mktemp("fake-data"))


@pytest.fixture(scope="session")
def fake_archive(fake_gtsrb, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "gtsrb.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(fake_gtsrb / "gtsrb", arcname="gtsrb")
    return path


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Tests never read or write the user's cache."""
    os.environ["EDGEXAI_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    os.environ.pop("EDGEXAI_DATA", None)  # each test names its data explicitly
    yield


@pytest.fixture(scope="session")
def real_data_root() -> Path:
    """The real GTSRB archive's folder, from EDGEXAI_TEST_DATA or ../shared/data; skip if absent."""
    candidates = [os.environ.get("EDGEXAI_TEST_DATA"), str(REPO.parent / "shared" / "data")]
    for c in candidates:
        if c and (Path(c) / "gtsrb.tar.gz").is_file():
            return Path(c)
    pytest.skip("real GTSRB archive not found (set EDGEXAI_TEST_DATA)")


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 300):
    """Run `python -m edgexai ARGS` in a subprocess; returns CompletedProcess."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "edgexai", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=REPO)


@pytest.fixture(scope="session")
def tiny_build(fake_gtsrb, tmp_path_factory) -> Path:
    """A natural resnet20 build folder trained 2 epochs on the fake data (shared, read-only)."""
    from edgexai.build import BuildOptions, run_build

    out = tmp_path_factory.mktemp("tiny-build")
    return run_build(BuildOptions(data_root=str(fake_gtsrb), out=str(out), epochs=2,
                                  limit_per_class=4, device="cpu", progress=False))


def drop_variant(build: Path, variant: str) -> None:
    """Make a build folder look as if made before every build shipped `variant` (file and manifest
    entry gone)."""
    from edgexai.manifest import VARIANT_ROLES, update_manifest

    role = VARIANT_ROLES[variant]

    def drop(m):
        entry = m["files"].pop(role)
        m["onnx"]["variants"].pop(variant, None)
        (build / entry["path"]).unlink(missing_ok=True)

    update_manifest(build, drop)
