"""The wheel, installed for real (issue 13): built from the sources, installed non-editable into a
fresh venv outside the checkout, then `edgexai build` (tiny), `edgexai engine --precision int8
--backend ort` (the packaged calibration list, read from the installed package) and `edgexai run`
on a few GTSDB frames, each from a working folder that is not the checkout.

The fresh venv gets its third-party dependencies (torch, onnx, ...) from this test's venv through
a .pth line, so nothing is downloaded or reinstalled; edgexai itself comes only from the wheel
(asserted: `edgexai.__file__` lies in the fresh venv, and the checkout is on no path).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from support import REPO

pytestmark = pytest.mark.slow


def _sh(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


def _setuptools_fits() -> bool:
    """The build backend pyproject.toml asks for, already here (then no isolated download)."""
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


def _frames(data_root: Path, dest: Path, n: int = 3) -> Path:
    """n real GTSDB road frames from the shared archive, else synthetic ones."""
    dest.mkdir()
    archive = data_root / "gtsdb-dev.tar"
    if archive.is_file():
        with tarfile.open(archive) as tar:
            for i in range(n):
                member = tar.getmember(f"gtsdb/{i:05d}.jpg")
                (dest / f"{i:05d}.jpg").write_bytes(tar.extractfile(member).read())
    else:
        import cv2

        rng = np.random.default_rng(0)
        for i in range(n):
            cv2.imwrite(str(dest / f"{i:05d}.jpg"), rng.integers(0, 255, (400, 680, 3), np.uint8))
    return dest


def test_wheel_installs_and_runs_outside_the_checkout(real_data_root, fake_gtsrb, tmp_path):
    real_data_root = real_data_root.resolve()  # the commands run in another folder
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EDGEXAI_DATA")}
    # 1. the wheel, from a copy of the sources (the build writes build/ and *.egg-info in place)
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, src / name)
    shutil.copytree(
        REPO / "edgexai", src / "edgexai", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    dist = tmp_path / "dist"
    no_isolation = ["--no-build-isolation"] if _setuptools_fits() else []
    _sh(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            *no_isolation,
            "-q",
            "-w",
            str(dist),
            str(src),
        ],
        tmp_path,
        env,
    )
    (wheel,) = dist.glob("edgexai-*.whl")

    # 2. a fresh venv outside the checkout; the wheel installed non-editable, deps borrowed
    venv = tmp_path / "venv"
    _sh([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    py = venv / "bin" / "python"
    fresh_site = Path(
        _sh(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            tmp_path,
            env,
        ).strip()
    )
    (fresh_site / "zz-test-deps.pth").write_text(
        "\n".join(p for p in site.getsitepackages() if Path(p).is_dir()) + "\n"
    )
    _sh(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        tmp_path,
        env,
    )
    work = tmp_path / "work"
    work.mkdir()
    where = _sh(
        [
            str(py),
            "-c",
            "import edgexai, sys; print(edgexai.__file__); "
            "from importlib import resources; "
            "print(resources.files('edgexai.train.export').joinpath('data/gtsrb_calib.txt').is_file());"
            "print(any(p.rstrip('/') == " + repr(str(REPO)) + " for p in sys.path))",
        ],
        work,
        env,
    ).split()
    assert Path(where[0]).resolve().is_relative_to(venv.resolve()), where
    assert where[1:] == ["True", "False"], where  # the calibration list shipped; no checkout
    edgexai = str(venv / "bin" / "edgexai")

    # 3. build (tiny), INT8 variant with the packaged calibration list, run on three frames
    _sh(
        [
            edgexai,
            "build",
            "--data-root",
            str(fake_gtsrb),
            "--out",
            "builds",
            "--epochs",
            "1",
            "--limit-per-class",
            "2",
            "--no-robust",
            "--device",
            "cpu",
            "--no-progress",
        ],
        work,
        env,
    )
    (build,) = (work / "builds").glob("*/manifest.json")
    build = build.parent
    out = _sh(
        [
            edgexai,
            "engine",
            "--model",
            str(build),
            "--precision",
            "int8",
            "--backend",
            "ort",
            "--data-root",
            str(real_data_root),
        ],
        work,
        env,
    )
    assert "int8 ready" in out, out  # the build made its INT8 variant; engine checks it runs
    frames = _frames(real_data_root, tmp_path / "frames")
    _sh(
        [
            edgexai,
            "run",
            "--model",
            str(build),
            "--source",
            str(frames),
            "--headless",
            "--max-frames",
            "3",
            "--log",
            "frames.jsonl",
        ],
        work,
        env,
    )
    events = [json.loads(line) for line in (work / "frames.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "start" and events[-1]["source_stats"]["read"] == 3, events[-1]
    # the default finder is the detector the wheel ships (package data), not a checkout's
    assert events[0]["finder"] == "detector"
    assert Path(events[0]["detector"]).resolve().is_relative_to(venv.resolve())
    assert [e["frame"] for e in events if "frame" in e] == [0, 1, 2]
