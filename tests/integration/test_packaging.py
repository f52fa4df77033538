"""The deployment side's floor, DDP, and the CLI's shape."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, SUPPORT, run_cli


def _python_without_torch(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{SUPPORT}{os.pathsep}{REPO}"}
    return subprocess.run(
        [sys.executable, "-c", "import blocktorch\n" + code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
    )


def test_import_and_help_work_without_torch():
    proc = _python_without_torch(
        "import sys, edgexai, edgexai.cli\n"
        "try:\n    import torch\nexcept ModuleNotFoundError:\n    pass\n"
        "else:\n    sys.exit('torch was importable')\n"
        "edgexai.cli.main(['--help'])\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "build" in proc.stdout


def test_training_command_without_torch_says_what_to_install():
    proc = _python_without_torch(
        "import sys, edgexai.cli\nsys.exit(edgexai.cli.main(['build', '--epochs', '1']))\n"
    )
    assert proc.returncode == 1
    assert "pip install 'edgexai[train]'" in proc.stderr and "Traceback" not in proc.stderr


def test_help_lists_every_build_option():
    proc = run_cli("build", "--help")
    assert proc.returncode == 0
    for flag in (
        "--regime",
        "--arch",
        "--preset",
        "--epochs",
        "--seed",
        "--data-root",
        "--out",
        "--device",
        "--limit-per-class",
        "--resume",
    ):
        assert flag in proc.stdout


@pytest.mark.slow
def test_two_process_ddp_step_with_gloo(fake_gtsrb, tmp_path):
    """torchrun with two CPU processes (gloo) trains one step and writes one build folder."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "edgexai",
            "build",
            "--epochs",
            "1",
            "--limit-per-class",
            "2",
            "--device",
            "cpu",
            "--no-progress",
            "--data-root",
            str(fake_gtsrb),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    log = (tmp_path / "resnet20-natural-s0" / "train_log.jsonl").read_text().splitlines()
    assert len(log) == 1 and json.loads(log[0])["epoch"] == 1
    assert (tmp_path / "resnet20-natural-s0" / "manifest.json").exists()


# -- issue 13, item 12: what the wheel declares and ships -------------------------------------


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11; the tests' venv has it
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _dist_name(requirement: str) -> str:
    import re

    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _declared(project: dict) -> dict[str, set[str]]:
    """distribution → the extras (or 'base') that declare it."""
    out: dict[str, set[str]] = {}
    for req in project["dependencies"]:
        out.setdefault(_dist_name(req), set()).add("base")
    for extra, reqs in project["optional-dependencies"].items():
        for req in reqs:
            out.setdefault(_dist_name(req), set()).add(extra)
    return out


# Imported by edgexai but, by design, not a pip requirement of any extra.
NOT_FROM_PYPI = {
    "tensorrt": "TensorRT comes from JetPack or NVIDIA's index (README, Install variants)",
    "pycuda": "the older device-memory backend, used only where someone installed it",
}
# import name → distribution, where they differ and this venv's metadata cannot tell.
DIST_OF = {
    "cv2": "opencv-python-headless",
    "cuda": "cuda-python",
    "torch_pruning": "torch-pruning",
    "sklearn": "scikit-learn",
    "PIL": "pillow",
    "yaml": "pyyaml",
}


def _third_party_imports() -> dict[str, list[str]]:
    """Top-level module → files of edgexai that import it (stdlib and edgexai left out)."""
    import ast

    found: dict[str, list[str]] = {}
    for path in sorted((REPO / "edgexai").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "edgexai" and top not in sys.stdlib_module_names:
                    found.setdefault(top, []).append(str(path.relative_to(REPO)))
    return found


def test_every_third_party_import_is_declared():
    """What the code imports is a requirement of some extra (onnx_ir was not, at 27c6b1b)."""
    from importlib import metadata

    declared = _declared(_pyproject()["project"])
    installed = metadata.packages_distributions()
    missing = {}
    for module, files in _third_party_imports().items():
        if module in NOT_FROM_PYPI:
            continue
        dists = (
            {DIST_OF[module]}
            if module in DIST_OF
            else {d.lower().replace("_", "-") for d in installed.get(module, [module])}
        )
        if not dists & set(declared):
            missing[module] = files[:3]
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_extras_by_target():
    project = _pyproject()["project"]
    extras = {k: {_dist_name(r): r for r in v} for k, v in project["optional-dependencies"].items()}
    # INT8 variants are made with ONNX Runtime's quantiser: the training extra brings it.
    assert "onnxruntime" in extras["train"] and "onnx-ir" in extras["train"]
    # A desktop with a display gets OpenCV's GUI build; servers and CI the headless one.
    assert (
        "opencv-python" in extras["desktop"] and "opencv-python-headless" not in extras["desktop"]
    )
    assert "opencv-python-headless" in extras["deploy"]
    # The Jetson extra: what jetson/setup.sh needs, and no OpenCV wheel to shadow JetPack's cv2.
    assert {"cuda-python", "onnxruntime", "tqdm"} <= set(extras["jetson"])
    assert not any(d.startswith("opencv") for d in extras["jetson"])
    # cuda-python 13 needs a CUDA 13 driver: capped below 13 wherever it is asked for.
    for extra in ("trt", "jetson"):
        assert "<13" in extras[extra]["cuda-python"].replace(" ", ""), extras[extra]


def test_calibration_list_ships_as_package_data():
    """The INT8 list is read from the installed package, not from a checkout's calibration/."""
    import fnmatch

    from edgexai.train.export.calibration import DEFAULT_LIST, read_list

    package = REPO / "edgexai" / "train" / "export"
    path = Path(str(DEFAULT_LIST)).resolve()
    assert path.is_relative_to(package) and path.is_file(), path
    globs = _pyproject()["tool"]["setuptools"]["package-data"]["edgexai.train.export"]
    assert any(fnmatch.fnmatch(str(path.relative_to(package)), g) for g in globs), globs
    assert len(read_list()) == len(read_list(path)) > 300


def test_run_refuses_an_output_it_would_not_write(tmp_path):
    """OpenCV would write an MPEG-4 stream into frame.jpg: refused when the options are parsed."""
    proc = run_cli("run", "--source", str(tmp_path), "--headless", "--output", "frame.jpg")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "frame.jpg" in lines[0] and ".mp4" in lines[0], proc.stderr
    from edgexai.core.arg_types import video_output

    assert video_output("out/clip.MP4") == "out/clip.MP4" and video_output("a.avi") == "a.avi"
