"""The TensorRT backend against a fake of the `tensorrt` surface it uses (10 and 11), the engine
cache contract (the real-TensorRT tests are in tests/device)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from support import drop_variant
from support.fake_trt import FakeMemory, make_fake_trt

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import file_entry, read_manifest, write_manifest
from edgexai.deploy.runtime import open_session
from edgexai.deploy.runtime.engine_cache import SIDECAR_FIELDS, EngineCache, engine_key
from edgexai.deploy.runtime.trt import TrtSession
from edgexai.train.export.precision import make_fp16, make_int8, make_nocam


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
    for role, name in (
        ("onnx_fp16", "model_fp16.onnx"),
        ("onnx_int8", "model_int8.onnx"),
        ("onnx_nocam", "model_nocam.onnx"),
    ):
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


@pytest.mark.parametrize(
    "generation, precision, onnx_role, network_flags, flags",
    [
        (10, "fp32", "onnx", 0, []),
        (10, "fp16", "onnx", 0, [0]),  # FP16 by builder flag on the fp32 graph
        (10, "int8", "onnx_int8", 1 << 1, []),  # Q/DQ graph, STRONGLY_TYPED, no precision flag
        (11, "fp32", "onnx", 0, []),
        (11, "fp16", "onnx_fp16", 0, []),  # no flags exist: the FP16 graph
        (11, "int8", "onnx_int8", 0, []),
    ],
)
def test_which_tensorrt_calls_happen_on_10_and_11(
    build, generation, precision, onnx_role, network_flags, flags
):
    s, calls = _session(build, generation, precision)
    m = read_manifest(build)
    assert s.target["onnx_sha256"] == m["files"][onnx_role]["sha256"]
    assert ("create_network", network_flags) in calls
    assert [c[1] for c in calls if c[0] == "set_flag"] == flags
    assert ("set_memory_pool_limit", 0, 1024 << 20) in calls
    assert ("set_shape", "images", (1, 3, 32, 32), (4, 3, 32, 32), (8, 3, 32, 32)) in calls
    names = _names(calls)
    for call in (
        "add_optimization_profile",
        "create_timing_cache",
        "set_timing_cache",
        "build_serialized_network",
        "deserialize_cuda_engine",
        "create_execution_context",
    ):
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
    assert side["sm_count"] == 16 and side["memory_gib"] == 61
    assert side["trt_version"] == "10.3.0" and side["precision"] == "fp16"
    assert side["onnx_sha256"] == read_manifest(build)["files"]["onnx"]["sha256"]
    engine = sidecars[0].with_suffix(".engine")
    assert side["engine_sha256"] == hashlib.sha256(engine.read_bytes()).hexdigest()
    assert sidecars[0].stem == engine_key(side)
    (timing,) = (build / "engines").glob("timing*.cache")
    saved = timing.read_bytes()
    assert saved.startswith(b"TIMING:Orin (fake)|8.7|16|61:")
    s2, calls = _session(build, 10, "fp16")
    assert not s2.built and "build_serialized_network" not in _names(calls)
    s3, calls = _session(build, 10, "fp16", rebuild="always")
    assert s3.built and ("create_timing_cache", saved) in calls


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
    drop_variant(d, "fp16")
    with pytest.raises(
        EdgexaiError, match="'onnx_fp16' ONNX, which this build lacks.*--precision fp16"
    ):
        _session(d, 11, "fp16")


def test_nocam_engine_returns_no_cam(build):
    memory = FakeMemory()
    s = TrtSession(
        build,
        "fp32",
        cam=False,
        trt_module=make_fake_trt(10, memory, []),
        memory=memory,
        max_batch=2,
    )
    logits, cam = s.infer(np.zeros((2, 3, 32, 32), np.float32))
    assert cam is None and logits.shape == (2, 43)


# -- issue 13: the fake behaves as TensorRT does where the code depends on it (item 9) ----------


def _tiny_onnx(op_type: str = "Relu", domain: str = "", logits: tuple = ("N", 3, 32, 32)) -> bytes:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, 32, 32])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, list(logits))
    node = helper.make_node(op_type, ["images"], ["logits"], domain=domain)
    graph = helper.make_graph([node], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]).SerializeToString()


def test_fake_matches_the_tensorrt_facts_the_code_depends_on():
    """Each fact against the real bindings (sources in fake_trt's docstring)."""
    memory = FakeMemory()
    t10, t11 = make_fake_trt(10, memory, []), make_fake_trt(11, memory, [])
    assert t10.NetworkDefinitionCreationFlag.STRONGLY_TYPED == 1
    assert t10.NetworkDefinitionCreationFlag.EXPLICIT_BATCH == 0
    assert t11.NetworkDefinitionCreationFlag.STRONGLY_TYPED == 0  # deprecated, ignored in 11
    assert not hasattr(t11.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH")
    assert (t10.BuilderFlag.FP16, t10.BuilderFlag.INT8, t10.BuilderFlag.TF32) == (0, 1, 6)
    assert not hasattr(t11.BuilderFlag, "FP16") and not hasattr(t11.BuilderFlag, "INT8")
    logger = t10.Logger(t10.Logger.WARNING)
    config = t10.Builder(logger).create_builder_config()
    assert config.create_timing_cache(b"not a timing cache") is None  # the binding's nullptr
    assert config.create_timing_cache(b"") is not None
    for trt in (t10, t11):
        network = trt.Builder(logger).create_network(0)
        for data in (b"garbage \x00\x01", b"", _tiny_onnx("Col2Im"), _tiny_onnx("Relu", "com.x")):
            parser = trt.OnnxParser(network, logger)
            assert parser.parse(data) is False and parser.num_errors >= 1, data[:20]
            assert str(parser.get_error(0))
        assert trt.OnnxParser(network, logger).parse(_tiny_onnx("Relu")) is True
        assert trt.Runtime(logger).deserialize_cuda_engine(b"not an engine") is None


def test_onnx_that_tensorrt_cannot_parse_is_one_clear_error(build):
    """A graph with an operator TensorRT's parser has no importer for never reaches the builder."""
    bad = build / "model.onnx"
    bad.write_bytes(_tiny_onnx("Col2Im", logits=("N", 43)))  # (43: the manifest's classes)
    m = read_manifest(build)
    m["files"]["onnx"] = file_entry(build, bad)
    write_manifest(build, {k: v for k, v in m.items() if k != "format"})
    calls: list = []
    with pytest.raises(EdgexaiError, match="TensorRT could not parse the ONNX.*Col2Im"):
        _session(build, 10, calls=calls)
    assert "build_serialized_network" not in _names(calls)


# -- issue 13 item 4: the timing cache ---------------------------------------------------------


def _corrupt_timing_caches(build: Path) -> list[Path]:
    caches = list((build / "engines").glob("timing*.cache"))
    for c in caches:
        c.write_bytes(b"\x00garbage from another TensorRT")
    return caches


def test_corrupt_timing_cache_starts_empty_and_is_replaced(build):
    _session(build, 10, "fp16")
    assert _corrupt_timing_caches(build)
    s, calls = _session(build, 10, "fp16", rebuild="always")
    assert s.built
    set_calls = [c for c in calls if c[0] == "create_timing_cache"]
    assert set_calls[-1] == ("create_timing_cache", b"")  # started from an empty cache
    for c in (build / "engines").glob("timing*.cache"):
        assert c.read_bytes().startswith(b"TIMING:")  # and saved a good one over the bad one


def test_timing_cache_that_raises_starts_empty(build, monkeypatch):
    _session(build, 10, "fp16")
    memory, calls = FakeMemory(), []
    trt = make_fake_trt(10, memory, calls)
    builder_cls = trt.Builder

    class Builder(builder_cls):
        def create_builder_config(self):
            config = super().create_builder_config()
            real = config.create_timing_cache

            def create(data):
                if bytes(data):
                    raise RuntimeError("TensorRT: invalid timing cache")  # as some bindings do
                return real(data)

            config.create_timing_cache = create
            return config

    trt.Builder = Builder
    s = TrtSession(build, "fp16", trt_module=trt, memory=memory, max_batch=8, rebuild="always")
    assert s.built and ("set_timing_cache", False) in calls


def test_timing_cache_is_kept_per_tensorrt_version_and_gpu(build):
    """One cache per TensorRT version and device: a desktop's never reaches the Jetson's build."""
    _session(build, 10, "fp16")
    _session(build, 11, "fp32")
    _session(
        build,
        10,
        "fp16",
        memory=FakeMemory(gpu="NVIDIA GeForce RTX 4090", cc="8.9", sm_count=128, memory_gib=24),
    )
    names = sorted(p.name for p in (build / "engines").glob("timing*.cache"))
    assert len(names) == 3, names
    assert any("10.3.0" in n and "cc8.7" in n for n in names)
    assert any("11.1.0" in n and "cc8.7" in n for n in names)
    assert any("10.3.0" in n and "cc8.9" in n for n in names)


# -- issue 13 item 5: unwritable engines folder -----------------------------------------------


def _deny_writes(monkeypatch, build: Path, names=lambda n: True):
    """Writes into <build>/engines fail as on a folder owned by someone else (tests run as root,
    for whom chmod would not bite)."""
    engines = (build / "engines").resolve()
    real = Path.write_bytes

    def write_bytes(self, data):
        if self.resolve().parent == engines and names(self.name):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def test_unwritable_engines_folder_is_one_line_with_the_fix(build, monkeypatch):
    (build / "engines").mkdir(exist_ok=True)
    _deny_writes(monkeypatch, build)
    with pytest.raises(EdgexaiError) as err:
        _session(build, 10, "fp16")
    msg = str(err.value)
    assert str(build / "engines") in msg and "Permission denied" in msg
    assert f"edgexai engine --model {build} --precision fp16" in msg and "\n" not in msg


def test_engines_path_that_is_not_a_folder_fails_before_building(build):
    (build / "engines").write_text("not a folder")
    calls: list = []
    with pytest.raises(EdgexaiError, match="cannot write TensorRT engines to"):
        _session(build, 10, calls=calls)
    assert "build_serialized_network" not in _names(calls)  # refused before minutes of building


def test_timing_cache_that_cannot_be_written_does_not_cost_the_engine(build, monkeypatch, capsys):
    (build / "engines").mkdir(exist_ok=True)
    _deny_writes(monkeypatch, build, names=lambda n: n.startswith("timing"))
    s, _ = _session(build, 10, "fp16")
    assert s.built and s.engine_path.is_file()
    assert "timing cache not saved" in capsys.readouterr().err
    assert not list((build / "engines").glob("timing*.cache"))


def test_engine_command_on_an_unwritable_folder_exits_1_with_one_line(build, monkeypatch, capsys):
    import sys

    from edgexai.cli import main

    memory = FakeMemory()
    monkeypatch.setitem(sys.modules, "tensorrt", make_fake_trt(10, memory, []))
    monkeypatch.setattr("edgexai.deploy.runtime.cuda_mem.load_device_memory", lambda: memory)
    (build / "engines").mkdir(exist_ok=True)
    _deny_writes(monkeypatch, build)
    assert main(["engine", "--model", str(build), "--precision", "fp16", "--backend", "trt"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert str(build / "engines") in err and "edgexai engine --model" in err


# -- issue 13 item 10: which Orin, the stream, undeserialisable engines -------------------------


def test_engine_key_tells_agx_nx_and_nano_orin_apart(build):
    agx = FakeMemory(gpu="Orin", sm_count=16, memory_gib=61)
    nx = FakeMemory(gpu="Orin", sm_count=8, memory_gib=15)
    nano4 = FakeMemory(gpu="Orin", sm_count=4, memory_gib=3)
    s, _ = _session(build, 10, "fp16", memory=agx)
    assert s.target["sm_count"] == 16 and s.target["memory_gib"] == 61
    for other, words in ((nx, "sm_count 16"), (nano4, "memory_gib 61")):
        with pytest.raises(EdgexaiError, match=words):
            _session(build, 10, "fp16", memory=other, rebuild="never")
    s2, _ = _session(build, 10, "fp16", memory=nx)
    assert s2.built and engine_key(s2.target) != engine_key(s.target)


def test_doctor_judges_the_sidecar_by_the_same_device_fields(build):
    from edgexai.deploy.doctor import build_checks, findings

    s, _ = _session(build, 10, "fp16", memory=FakeMemory(gpu="Orin", sm_count=16, memory_gib=61))
    sidecar = s.engine_path.with_suffix(".json")
    digests = {e["sha256"] for e in read_manifest(build)["files"].values()}
    agx = findings.Device(name="Orin", compute_capability="8.7", sm_count=16, memory_gib=61)
    nx = findings.Device(name="Orin", compute_capability="8.7", sm_count=8, memory_gib=15)
    assert build_checks.engine_problems(build, sidecar, digests, "10.3.0", agx) == []
    problems = " | ".join(build_checks.engine_problems(build, sidecar, digests, "10.3.0", nx))
    assert "16 SMs" in problems and "61 GiB" in problems
    assert set(SIDECAR_FIELDS) <= set(build_checks.SIDECAR_KEYS)


def test_close_destroys_the_stream_once(build):
    memory = FakeMemory()
    s, _ = _session(build, 11, memory=memory)
    assert len(memory.streams) == 1
    s.close()
    s.close()
    assert memory.destroyed_streams == memory.streams and not s._ptrs


def test_intact_engine_that_tensorrt_refuses_is_rebuilt_with_auto(build):
    s, _ = _session(build, 10)
    engine, sidecar = s.engine_path, s.engine_path.with_suffix(".json")
    engine.write_bytes(b"an engine of another TensorRT build")  # digest made to match below
    side = json.loads(sidecar.read_text())
    side["engine_sha256"] = hashlib.sha256(engine.read_bytes()).hexdigest()
    sidecar.write_text(json.dumps(side))
    s2, calls = _session(build, 10)  # rebuild="auto"
    assert s2.built and _names(calls).count("deserialize_cuda_engine") == 2
    assert engine.read_bytes().startswith(b"FAKE-TRT-ENGINE")
    logits, _ = s2.infer(np.zeros((1, 3, 32, 32), np.float32))
    assert logits.shape == (1, 43)


def test_engine_command_makes_the_fp16_graph_then_builds_and_reuses(
    tiny_build, tmp_path, monkeypatch, capsys
):
    """`edgexai engine --backend trt` on TensorRT 11: FP16 graph made on demand, engine built,
    then reused; --no-rebuild refuses on another GPU."""
    import sys

    from edgexai.cli import main

    d = tmp_path / "b"
    shutil.copytree(tiny_build, d)
    drop_variant(d, "fp16")  # a folder from before every build shipped its variants
    memory, calls = FakeMemory(), []
    monkeypatch.setitem(sys.modules, "tensorrt", make_fake_trt(11, memory, calls))
    monkeypatch.setattr("edgexai.deploy.runtime.cuda_mem.load_device_memory", lambda: memory)
    args = [
        "engine",
        "--model",
        str(d),
        "--precision",
        "fp16",
        "--backend",
        "trt",
        "--max-batch",
        "4",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "made" in out and "model_fp16.onnx" in out and "(built, TensorRT 11.1.0" in out
    assert main(args + ["--no-rebuild"]) == 0
    assert "(cached" in capsys.readouterr().out
    monkeypatch.setattr(
        "edgexai.deploy.runtime.cuda_mem.load_device_memory", lambda: FakeMemory(gpu="Other")
    )
    assert main(args + ["--no-rebuild"]) == 1
    assert "gpu_name 'Orin (fake)'" in capsys.readouterr().err


# -- issue 13 #1: `run` opens the engine `engine` built, and builds nothing ----------------------


def _fake_device(monkeypatch, generation=10):
    import sys

    memory, calls = FakeMemory(), []
    monkeypatch.setitem(sys.modules, "tensorrt", make_fake_trt(generation, memory, calls))
    monkeypatch.setattr("edgexai.deploy.runtime.cuda_mem.load_device_memory", lambda: memory)
    return calls


def test_run_opens_the_engines_engine_built_and_builds_nothing(
    tiny_build, tmp_path, monkeypatch, capsys
):
    from support.pipeline import write_frames

    from edgexai.cli import main

    model, detector = tmp_path / "model", tmp_path / "detector"
    shutil.copytree(tiny_build, model)
    assert main(["detector", "copy-default", str(detector)]) == 0
    frames = write_frames(tmp_path / "frames", 3)
    calls = _fake_device(monkeypatch)
    for build in (model, detector):
        assert (
            main(["engine", "--model", str(build), "--precision", "fp16", "--backend", "trt"]) == 0
        )
    built = _names(calls).count("build_serialized_network")
    assert built == 2
    log = tmp_path / "run.jsonl"
    rc = main(
        [
            "run",
            "--source",
            str(frames),
            "--model",
            str(model),
            "--detector",
            str(detector),
            "--backend",
            "trt",
            "--precision",
            "fp16",
            "--headless",
            "--quiet",
            "--log",
            str(log),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    assert _names(calls).count("build_serialized_network") == built  # nothing built by run
    summary = json.loads((tmp_path / "run.jsonl.summary.json").read_text())
    assert summary["frames"] == 3 and summary["backend"] == "trt-fp16"
    start = json.loads(log.read_text().splitlines()[0])
    assert start["detector_backend"] == "trt" and start["finder"] == "detector"


def test_run_without_the_engine_says_which_engine_command_to_run(
    tiny_build, tmp_path, monkeypatch, capsys
):
    from support.pipeline import write_frames

    from edgexai.cli import main

    model = tmp_path / "model"
    shutil.copytree(tiny_build, model)
    frames = write_frames(tmp_path / "frames", 2)
    calls = _fake_device(monkeypatch)
    assert main(["engine", "--model", str(model), "--precision", "fp16", "--backend", "trt"]) == 0
    (model / "engines").chmod(0o555)  # read-only: run must not try to write an engine
    try:
        capsys.readouterr()
        rc = main(
            [
                "run",
                "--source",
                str(frames),
                "--model",
                str(model),
                "--backend",
                "trt",
                "--precision",
                "fp32",
                "--proposer",
                "colour",
                "--headless",
                "--log",
                str(tmp_path / "l.jsonl"),
            ]
        )
    finally:
        (model / "engines").chmod(0o755)
    err = capsys.readouterr().err
    assert rc == 1 and len(err.strip().splitlines()) == 1, err
    assert f"edgexai engine --model {model} --precision fp32" in err
    assert "fp16" in err  # the engine that is there, and why it does not fit
    assert _names(calls).count("build_serialized_network") == 1  # only `engine` built
