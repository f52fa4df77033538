"""The TensorRT backend against a fake of the `tensorrt` surface it uses (10 and 11), the engine
cache contract, and real-TensorRT tests that skip cleanly where TensorRT is absent."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fake_trt import FakeMemory, make_fake_trt

from edgexai.errors import EdgexaiError
from edgexai.export.precision import make_fp16, make_int8, make_nocam
from edgexai.manifest import file_entry, read_manifest, write_manifest
from edgexai.runtime import open_session
from edgexai.runtime.engine_cache import SIDECAR_FIELDS, EngineCache, engine_key
from edgexai.runtime.trt import TrtSession


@pytest.fixture(scope="module")
def variants_build(tiny_build, tmp_path_factory) -> Path:
    """The tiny build with FP16, INT8 and no-CAM ONNX variants recorded in its manifest."""
    d = tmp_path_factory.mktemp("variants") / tiny_build.name
    shutil.copytree(tiny_build, d)
    x = np.random.default_rng(0).normal(size=(8, 3, 32, 32)).astype(np.float32)
    make_fp16(d / "model.onnx", d / "model_fp16.onnx")
    make_int8(d / "model.onnx", d / "model_int8.onnx", x)
    make_nocam(d / "model.onnx", d / "model_nocam.onnx")
    m = read_manifest(d)
    for role, name in (("onnx_fp16", "model_fp16.onnx"), ("onnx_int8", "model_int8.onnx"),
                       ("onnx_nocam", "model_nocam.onnx")):
        m["files"][role] = file_entry(d, d / name)
    write_manifest(d, {k: v for k, v in m.items() if k != "format"})
    return d


@pytest.fixture
def build(variants_build, tmp_path) -> Path:
    d = tmp_path / variants_build.name
    shutil.copytree(variants_build, d)
    return d


def _session(build, generation, precision="fp32", calls=None, memory=None, **kw):
    calls = [] if calls is None else calls
    memory = memory or FakeMemory()
    trt = make_fake_trt(generation, memory, calls, kw.pop("strongly_typed_flag", True))
    return TrtSession(build, precision, trt_module=trt, memory=memory, max_batch=8, **kw), calls


def _names(calls):
    return [c[0] for c in calls]


def _parsed_sha(build: Path, session: TrtSession) -> str:
    return session.target["onnx_sha256"]


@pytest.mark.parametrize("generation, precision, onnx_role, network_flags, flags", [
    (10, "fp32", "onnx", 0, []),
    (10, "fp16", "onnx", 0, [0]),            # FP16 by builder flag on the fp32 graph
    (10, "int8", "onnx_int8", 1 << 1, []),   # Q/DQ graph, STRONGLY_TYPED, no precision flag
    (11, "fp32", "onnx", 0, []),
    (11, "fp16", "onnx_fp16", 0, []),        # no flags exist: the FP16 graph
    (11, "int8", "onnx_int8", 0, []),
])
def test_which_tensorrt_calls_happen_on_10_and_11(build, generation, precision, onnx_role,
                                                  network_flags, flags):
    s, calls = _session(build, generation, precision)
    m = read_manifest(build)
    assert s.target["onnx_sha256"] == m["files"][onnx_role]["sha256"]
    assert ("create_network", network_flags) in calls
    assert [c[1] for c in calls if c[0] == "set_flag"] == flags
    assert ("set_memory_pool_limit", 0, 1024 << 20) in calls
    assert ("set_shape", "images", (1, 3, 32, 32), (4, 3, 32, 32), (8, 3, 32, 32)) in calls
    names = _names(calls)
    for call in ("add_optimization_profile", "create_timing_cache", "set_timing_cache",
                 "build_serialized_network", "deserialize_cuda_engine", "create_execution_context"):
        assert call in names
    assert [c[1] for c in calls if c[0] == "set_tensor_address"] == ["images", "logits", "cam"]
    logits, cam = s.infer(np.zeros((3, 3, 32, 32), np.float32))
    assert logits.shape == (3, 43) and cam.shape == (3, 32, 32) and logits.dtype == np.float32
    assert ("set_input_shape", "images", (3, 3, 32, 32)) in calls
    assert ("execute_async_v3", "int") in calls
    s.close()
    assert not s._ptrs


def test_tensorrt10_without_strongly_typed_sets_the_int8_flag(build):
    _, calls = _session(build, 10, "int8", strongly_typed_flag=False)
    assert ("create_network", 0) in calls and [c[1] for c in calls if c[0] == "set_flag"] == [1]


def test_fake_engine_output_equals_onnx_runtime(build):
    x = np.random.default_rng(5).normal(size=(5, 3, 32, 32)).astype(np.float32)
    s, _ = _session(build, 11)
    logits, cam = s.infer(x)
    with open_session(build, "ort") as ref:
        rl, rc = ref.infer(x)
    assert np.array_equal(logits, rl) and np.array_equal(cam, rc)
    with pytest.raises(EdgexaiError, match="exceeds this session's maximum batch 8"):
        s.infer(np.zeros((9, 3, 32, 32), np.float32))


def test_engine_is_cached_with_the_sidecar_contract_and_timing_cache_persists(build):
    s, _ = _session(build, 10, "fp16")
    assert s.built
    sidecars = list((build / "engines").glob("*.json"))
    assert len(sidecars) == 1
    side = json.loads(sidecars[0].read_text())
    assert set(SIDECAR_FIELDS) <= set(side)
    assert side["gpu_name"] == "Orin (fake)" and side["compute_capability"] == "8.7"
    assert side["trt_version"] == "10.3.0" and side["precision"] == "fp16"
    assert side["onnx_sha256"] == read_manifest(build)["files"]["onnx"]["sha256"]
    engine = sidecars[0].with_suffix(".engine")
    assert side["engine_sha256"] == hashlib.sha256(engine.read_bytes()).hexdigest()
    assert sidecars[0].stem == engine_key(side)
    assert (build / "engines" / "timing.cache").read_bytes() == b"TIMING:+"
    s2, calls = _session(build, 10, "fp16")
    assert not s2.built and "build_serialized_network" not in _names(calls)
    s3, calls = _session(build, 10, "fp16", rebuild="always")
    assert s3.built and ("create_timing_cache", b"TIMING:+") in calls


def test_damaged_or_foreign_engines_are_rebuilt_or_refused(build):
    s, _ = _session(build, 10)
    engine = s.engine_path
    engine.write_bytes(engine.read_bytes()[:100])  # truncated
    with pytest.raises(EdgexaiError, match="does not match its sidecar digest"):
        _session(build, 10, rebuild="never")
    s2, calls = _session(build, 10)  # auto: rebuilt over it
    assert s2.built and "build_serialized_network" in _names(calls)
    # an engine from another GPU / TensorRT is never used here
    with pytest.raises(EdgexaiError, match="gpu_name 'Orin \\(fake\\)'"):
        _session(build, 10, memory=FakeMemory(gpu="Thor (fake)", cc="11.0"), rebuild="never")
    with pytest.raises(EdgexaiError, match="trt_version '10.3.0'"):
        _session(build, 11, rebuild="never")
    s3, _ = _session(build, 10, memory=FakeMemory(gpu="Thor (fake)", cc="11.0"))
    assert s3.built and len(list((build / "engines").glob("*.engine"))) == 2


def test_engine_that_cannot_deserialise_and_stale_sidecar_give_clear_errors(build):
    s, _ = _session(build, 10)
    engine, sidecar = s.engine_path, s.engine_path.with_suffix(".json")
    engine.write_bytes(b"not an engine")
    side = json.loads(sidecar.read_text())
    side["engine_sha256"] = hashlib.sha256(b"not an engine").hexdigest()
    sidecar.write_text(json.dumps(side))
    with pytest.raises(EdgexaiError, match="could not deserialise"):
        _session(build, 10, rebuild="never")
    side["onnx_sha256"] = "0" * 64  # a sidecar edited to claim another ONNX
    sidecar.write_text(json.dumps(side))
    with pytest.raises(EdgexaiError, match="does not describe this target"):
        _session(build, 10, rebuild="never")
    sidecar.write_text("{not json")
    with pytest.raises(EdgexaiError, match="unreadable"):
        EngineCache(build).load(s.target)


def test_onnx_digest_is_checked_before_tensorrt_parses_it(build):
    (build / "model.onnx").write_bytes((build / "model.onnx").read_bytes()[:-10])
    calls: list = []
    with pytest.raises(EdgexaiError, match="does not match its manifest digest"):
        _session(build, 10, calls=calls)
    assert "parse" not in _names(calls)


def test_variant_missing_for_tensorrt11_fp16_names_the_fix(tiny_build, tmp_path):
    d = tmp_path / "b"
    shutil.copytree(tiny_build, d)
    with pytest.raises(EdgexaiError, match="'onnx_fp16' ONNX, which this build lacks.*--precision fp16"):
        _session(d, 11, "fp16")


def test_nocam_engine_returns_no_cam(build):
    memory = FakeMemory()
    s = TrtSession(build, "fp32", cam=False, trt_module=make_fake_trt(10, memory, []),
                   memory=memory, max_batch=2)
    logits, cam = s.infer(np.zeros((2, 3, 32, 32), np.float32))
    assert cam is None and logits.shape == (2, 43)


# -- real TensorRT (skips cleanly where it is absent) -------------------------------------------

@pytest.mark.tensorrt
@pytest.mark.parametrize("precision, tol", [("fp32", 1e-3), ("fp16", 5e-2), ("int8", 1.0)])
def test_real_tensorrt_engine_matches_onnx_runtime(build, precision, tol):
    pytest.importorskip("tensorrt")
    x = np.random.default_rng(6).normal(size=(4, 3, 32, 32)).astype(np.float32)
    with open_session(build, "trt", precision, max_batch=8) as s:
        logits, cam = s.infer(x)
        assert s.describe()["trt_version"]
    with open_session(build, "ort", precision) as ref:
        rl, rc = ref.infer(x)
    assert np.abs(logits - rl).max() < tol and np.abs(cam - rc).max() < max(tol, 0.05)
    with open_session(build, "trt", precision, max_batch=8, rebuild="never") as s:
        assert not s.built


def test_engine_command_makes_the_fp16_graph_then_builds_and_reuses(tiny_build, tmp_path,
                                                                   monkeypatch, capsys):
    """`edgexai engine --backend trt` on TensorRT 11: FP16 graph made on demand, engine built,
    then reused; --no-rebuild refuses on another GPU."""
    import sys

    from edgexai.cli import main

    d = tmp_path / "b"
    shutil.copytree(tiny_build, d)
    memory, calls = FakeMemory(), []
    monkeypatch.setitem(sys.modules, "tensorrt", make_fake_trt(11, memory, calls))
    monkeypatch.setattr("edgexai.runtime.cuda_mem.load_device_memory", lambda: memory)
    args = ["engine", "--model", str(d), "--precision", "fp16", "--backend", "trt", "--max-batch", "4"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "made" in out and "model_fp16.onnx" in out and "(built, TensorRT 11.1.0" in out
    assert main(args + ["--no-rebuild"]) == 0
    assert "(cached" in capsys.readouterr().out
    monkeypatch.setattr("edgexai.runtime.cuda_mem.load_device_memory", lambda: FakeMemory(gpu="Other"))
    assert main(args + ["--no-rebuild"]) == 1
    assert "gpu_name 'Orin (fake)'" in capsys.readouterr().err
