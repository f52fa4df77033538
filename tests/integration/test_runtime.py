"""The deployment-side Session: backends agree, inputs are checked, damaged files are refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import REPO, SUPPORT, drop_variant, run_cli

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.runtime import open_session


@pytest.fixture
def build(tiny_build, tmp_path) -> Path:
    d = tmp_path / tiny_build.name
    shutil.copytree(tiny_build, d)
    return d


def _x(n: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 3, 32, 32)).astype(np.float32)


def _set_digest(build: Path, role: str) -> None:
    m = json.loads((build / "manifest.json").read_text())
    path = build / m["files"][role]["path"]
    m["files"][role]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (build / "manifest.json").write_text(json.dumps(m))


def test_ort_session_matches_torch_reference_and_reports_metadata(tiny_build):
    x = _x()
    with open_session(tiny_build, "ort") as s:
        logits, cam = s.infer(x)
        assert s.input.name == "images" and s.input.shape == ("N", 3, 32, 32)
        assert [o.name for o in s.outputs] == ["logits", "cam"]
        assert s.describe()["providers"] == ["CPUExecutionProvider"]
        assert len(s.classes) == 43
    with open_session(tiny_build, "torch") as s:
        ref_logits, ref_cam = s.infer(x)
    assert np.abs(logits - ref_logits).max() <= 1e-4 and np.abs(cam - ref_cam).max() <= 1e-4
    assert (logits.argmax(1) == ref_logits.argmax(1)).all()


def test_ort_threads_and_spinning_are_applied_and_change_no_result(tiny_build):
    x = _x()
    with open_session(tiny_build, "ort") as s:
        ref_logits, ref_cam = s.infer(x)
    with open_session(tiny_build, "ort", threads=2, spinning=False) as s:
        options = s._session.get_session_options()
        assert options.intra_op_num_threads == 2
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
        logits, cam = s.infer(x)
    assert np.array_equal(logits.argmax(1), ref_logits.argmax(1))
    assert np.abs(logits - ref_logits).max() <= 1e-5 and np.abs(cam - ref_cam).max() <= 1e-5


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((3, 32, 32), np.float32), "got one item"),
        (np.zeros((2, 3, 28, 28), np.float32), "must be N×3×32×32"),
        (np.zeros((2, 32, 32, 3), np.float32), "channels first"),
        (np.zeros((2, 3, 32, 32), np.uint8), "normalised first"),
        (np.zeros((2, 3, 32, 32), np.float64), "must be float32"),
        ([[0.0]], "numpy array"),
        (np.zeros((0, 3, 32, 32), np.float32), "at least one item"),
    ],
)
def test_wrong_inputs_get_clear_errors(tiny_build, bad, match):
    with open_session(tiny_build, "ort") as s, pytest.raises(EdgexaiError, match=match):
        s.infer(bad)


def test_changed_onnx_is_refused_before_parsing(build):
    data = bytearray((build / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (build / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(EdgexaiError, match="does not match its manifest digest"):
        open_session(build, "ort")


def test_truncated_onnx_is_refused_even_with_a_matching_digest(build):
    path = build / "model.onnx"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(EdgexaiError, match="does not match its manifest digest"):
        open_session(build, "ort")
    _set_digest(build, "onnx")  # a broken export that recorded its own digest
    with pytest.raises(EdgexaiError, match="not a loadable ONNX graph"):
        open_session(build, "ort")


def test_missing_variant_file_and_bad_options_are_explained(build):
    drop_variant(build, "int8")
    with pytest.raises(EdgexaiError, match="edgexai engine --model .* --precision int8"):
        open_session(build, "ort", precision="int8")
    with pytest.raises(EdgexaiError, match="fp32 only"):
        open_session(build, "ort", precision="fp16", cam=False)
    with pytest.raises(EdgexaiError, match="unknown backend"):
        open_session(build, "onnx")
    (build / "model.onnx").unlink()
    with pytest.raises(EdgexaiError, match="cannot be read"):
        open_session(build, "ort")
    with pytest.raises(EdgexaiError, match="not a build folder"):
        open_session(build / "nowhere", "ort")


def test_every_variant_ships_with_the_build_and_engine_remakes_a_missing_one(build):
    """Issue 13 #7: variants are made at build time (the Jetson needs no onnx); an older folder
    without one gets it from `edgexai engine` on a machine with onnx."""
    m = json.loads((build / "manifest.json").read_text())
    assert {"onnx", "onnx_fp16", "onnx_int8", "onnx_nocam"} <= set(m["files"])
    assert m["onnx"]["variants"]["int8"]["calibration"]["source"] == "training split"
    proc = run_cli("engine", "--model", str(build), "--precision", "fp16", "--backend", "ort")
    assert proc.returncode == 0, proc.stderr
    assert "ready" in proc.stdout and "made" not in proc.stdout
    drop_variant(build, "nocam")
    proc = run_cli("engine", "--model", str(build), "--no-cam", "--backend", "ort")
    assert proc.returncode == 0, proc.stderr
    assert "made" in proc.stdout
    m = json.loads((build / "manifest.json").read_text())
    assert {"onnx_fp16", "onnx_nocam"} <= set(m["files"])
    assert m["onnx"]["variants"]["fp16"]["head"] == "float32"
    with open_session(build, "ort", precision="fp16") as s16, open_session(build, "ort") as s32:
        a, ca = s16.infer(_x(8))
        b, cb = s32.infer(_x(8))
    assert (a.argmax(1) == b.argmax(1)).mean() >= 0.75 and np.abs(ca - cb).max() < 0.2
    with open_session(build, "ort", cam=False) as s:
        logits, cam = s.infer(_x(2))
        assert cam is None and logits.shape == (2, 43)


def test_engine_command_without_tensorrt_says_so(build):
    pytest.importorskip("onnx")
    try:
        import tensorrt  # noqa: F401

        pytest.skip("tensorrt is installed here")
    except ImportError:
        pass
    proc = run_cli("engine", "--model", str(build), "--backend", "trt")
    assert proc.returncode == 1 and "TensorRT" in proc.stderr and "Traceback" not in proc.stderr


def test_ort_runtime_imports_and_runs_where_torch_cannot_be_imported(tiny_build):
    """Acceptance 6: the deployment side needs numpy + onnxruntime only."""
    code = (
        "import blocktorch, sys, numpy as np\n"
        "from edgexai.deploy.runtime import open_session\n"
        f"s = open_session({str(tiny_build)!r}, 'ort')\n"
        "logits, cam = s.infer(np.zeros((2, 3, 32, 32), np.float32))\n"
        "assert logits.shape == (2, 43) and cam.shape == (2, 32, 32)\n"
        "assert not any(m == 'torch' or m.startswith('torch.') for m in sys.modules)\n"
        "try:\n    open_session(sys.argv[1], 'torch')\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{SUPPORT}{os.pathsep}{REPO}"}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tiny_build)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")
    assert "EdgexaiError" in proc.stdout and "edgexai[train]" in proc.stdout
