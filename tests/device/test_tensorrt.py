"""Real TensorRT on a GPU: engines from a tiny build's ONNX variants match ONNX Runtime, and a cached
engine is reused. Marked `tensorrt`; skipped where the tensorrt package is not importable (no
development or CI machine of this project has it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edgexai.deploy.runtime import open_session

pytestmark = pytest.mark.tensorrt


@pytest.fixture
def build(tiny_build, tmp_path) -> Path:
    pytest.importorskip("tensorrt")
    d = tmp_path / tiny_build.name
    shutil.copytree(tiny_build, d)
    return d


@pytest.mark.parametrize("precision, tol", [("fp32", 1e-3), ("fp16", 5e-2), ("int8", 1.0)])
def test_real_tensorrt_engine_matches_onnx_runtime(build, precision, tol):
    x = np.random.default_rng(6).normal(size=(4, 3, 32, 32)).astype(np.float32)
    with open_session(build, "trt", precision, max_batch=8) as s:
        logits, cam = s.infer(x)
        assert s.describe()["trt_version"]
    with open_session(build, "ort", precision) as ref:
        rl, rc = ref.infer(x)
    assert np.abs(logits - rl).max() < tol and np.abs(cam - rc).max() < max(tol, 0.05)
    with open_session(build, "trt", precision, max_batch=8, rebuild="never") as s:
        assert not s.built
