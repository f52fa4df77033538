"""`edgexai run` on a trained (tiny) build's ONNX through ONNX Runtime, with torch blocked."""

from __future__ import annotations

import pytest
from support.pipeline import start_run, write_frames

from edgexai.deploy.pipeline.log import read_jsonl

pytest.importorskip("cv2")


def test_run_with_onnx_runtime_on_a_real_build_without_torch(tiny_build, tmp_path):
    """The real engine path: a trained (tiny) build's ONNX through edgexai.deploy.runtime's ort backend,
    in a process where importing torch fails."""
    pytest.importorskip("onnxruntime")
    frames = write_frames(tmp_path / "f", 8, corrupt=(3,))
    if not (tiny_build / "model.onnx").exists():
        pytest.skip("this build has no model.onnx (export not available)")
    log = tmp_path / "ort.jsonl"
    proc = start_run(
        [
            "--source",
            str(frames),
            "--model",
            str(tiny_build),
            "--backend",
            "ort",
            "--headless",
            "--log",
            str(log),
            "--probe-every",
            "1",
            "--min-score",
            "0",
            "--sign-threshold",
            "0",
        ]
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    records, bad = read_jsonl(log)
    assert bad == 0 and records[0]["backend"] == "ort" and records[-1]["frames"] == 7
    dets = [d for r in records if "frame" in r for d in r["detections"]]
    assert dets and all(0 <= d["gini"] <= 1 for d in dets)
    assert any("probe" in d for d in dets)
