"""`edgexai doctor`: names exactly what is missing on this machine, and checks build folders."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, SUPPORT

from edgexai.core.manifest import VARIANT_FILES, VARIANT_ROLES, file_entry, update_manifest
from edgexai.deploy.doctor import (
    build_checks,
    camera_checks,
    findings,
    platform_checks,
    readiness,
)
from edgexai.deploy.runtime.cuda_mem import GpuInfo


def make_build(root: Path, with_onnx: bool = True) -> Path:
    """A classifier build folder with a valid manifest whose digests match (doctor's build check
    never parses the files; ORT-path tests use the real tiny_build)."""
    from support.pipeline import write_onnx_build

    build = write_onnx_build(root / "resnet20-natural-s0")
    (build / "model.pt").write_bytes(b"weights" * 100)
    files = {"model": file_entry(build, build / "model.pt")}
    if with_onnx:
        for variant in ("fp32", "fp16", "int8"):
            path = build / VARIANT_FILES[variant]
            path.write_bytes(f"onnx-graph-{variant}".encode() * 100)
            files[VARIANT_ROLES[variant]] = file_entry(build, path)

    def add_files(m):
        m["files"] = files
        m["onnx"]["variants"] = {
            v: {"file_role": VARIANT_ROLES[v]}
            for v in (("fp32", "fp16", "int8") if with_onnx else ())
        }

    update_manifest(build, add_files)
    return build


ORIN_GPU = GpuInfo(
    name="Orin", compute_capability="8.7", sm_count=16, memory_gib=61, backend="test"
)
ORIN = findings.Device(
    name="Orin", compute_capability="8.7", source="test", sm_count=16, memory_gib=61, gpu=ORIN_GPU
)
TRT10 = "10.3.0"


def fake_trt10():
    from support.fake_trt import FakeMemory, make_fake_trt

    return make_fake_trt(10, FakeMemory(), [])


def add_engine(
    build: Path,
    precision: str = "fp16",
    max_batch: int = 32,
    gpu=ORIN_GPU,
    trt_version: str = TRT10,
    onnx_role: str = "onnx",
    onnx_sha256: str | None = None,
) -> Path:
    """An engine and its sidecar exactly as `edgexai engine` stores them (key from the target)."""
    from edgexai.deploy.runtime.engine_cache import EngineCache, engine_profile, engine_target

    manifest = json.loads((build / "manifest.json").read_text())
    target = engine_target(
        onnx_sha256 or manifest["files"][onnx_role]["sha256"],
        gpu,
        trt_version,
        precision,
        engine_profile(max_batch),
    )
    return EngineCache(build).store(target, b"serialized-engine")


def run_doctor(*args: str) -> subprocess.CompletedProcess:
    """`edgexai doctor ARGS` in a subprocess where torch cannot be imported (as on a Jetson)."""
    env = {**os.environ, "PYTHONPATH": f"{SUPPORT}{os.pathsep}{REPO}"}
    code = (
        "import blocktorch, sys\nfrom edgexai.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "assert 'torch' not in sys.modules, 'doctor imported torch'\nsys.exit(rc)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, "doctor", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
    )


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # the parent package is absent
        return False


def _machine_lacks() -> list[str]:
    """What this machine lacks for the trt backend and a camera, in doctor's report order,
    found independently of doctor's own code."""
    lacks = []
    if not _importable("tensorrt"):
        lacks.append("tensorrt")
    no_gpu = (
        not Path("/dev/nvidiactl").exists()
        and not Path("/dev/nvhost-ctrl-gpu").exists()
        and shutil.which("nvidia-smi") is None
    )
    if no_gpu:
        lacks.append("cuda")
    # Doctor tries the memory backend for real: without a GPU an installed one fails too.
    if no_gpu or not any(
        _importable(m) for m in ("cuda.bindings.runtime", "cuda.cudart", "pycuda.driver")
    ):
        lacks.append("cuda-python")
    cv2 = pytest.importorskip("cv2")
    gst = [line for line in cv2.getBuildInformation().splitlines() if "GStreamer:" in line]
    if not gst or "YES" not in gst[0]:
        lacks.append("gstreamer")
    if not glob.glob("/dev/video*"):
        lacks.append("camera")
    return lacks


def test_doctor_on_this_machine_names_exactly_what_is_missing(tmp_path):
    lacks = _machine_lacks()
    if not lacks:
        pytest.skip("this machine has TensorRT, a GPU, GStreamer and a camera")
    build = make_build(tmp_path)
    proc = run_doctor("--model", str(build), "--backend", "trt", "--proposer", "colour", "--json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ready"] is False
    assert report["problems"] == lacks  # exactly these, in report order, nothing else
    checks = {c["name"]: c for c in report["checks"]}
    for name in lacks:
        assert checks[name]["status"] == "fail" and checks[name]["hint"], checks[name]
    assert checks["build"]["status"] == "ok"
    if "tensorrt" in lacks:
        assert "python3-libnvinfer" in checks["tensorrt"]["hint"]
    if "gstreamer" in lacks:
        assert "nvidia-opencv" in checks["gstreamer"]["hint"]


def test_doctor_text_output_gives_a_fix_per_problem(tmp_path):
    if not _machine_lacks():
        pytest.skip("nothing is missing here")
    proc = run_doctor("--model", str(make_build(tmp_path)), "--backend", "trt")
    assert proc.returncode == 1
    problems = [line for line in proc.stdout.splitlines() if line.lstrip().startswith("FAIL")]
    fixes = [line for line in proc.stdout.splitlines() if line.lstrip().startswith("fix:")]
    assert problems and len(fixes) >= len(problems), proc.stdout
    assert proc.stdout.rstrip().splitlines()[-1].startswith("NOT READY")


def test_doctor_is_ready_for_onnx_runtime_on_a_file_source(tiny_build, tmp_path):
    """Acceptance (issue 13): on this CPU machine, the default backend (auto, as `run`) reports
    the ONNX Runtime path ready — classifier and detector each loaded and run once."""
    pytest.importorskip("onnxruntime")
    if _importable("tensorrt"):
        pytest.skip("auto resolves to TensorRT here")
    import cv2
    import numpy as np

    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "00000.png"), np.full((48, 64, 3), 128, np.uint8))
    proc = run_doctor("--model", str(tiny_build), "--source", str(frames), "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ready"], report
    checks = {c["name"]: c for c in report["checks"]}
    assert report["backend"] == "ort"
    assert checks["build-ort"]["status"] == checks["detector-ort"]["status"] == "ok"
    assert checks["source"]["status"] == "ok" and "64×48" in checks["source"]["detail"]
    for precision in ("fp16", "int8"):
        proc = run_doctor(
            "--model", str(tiny_build), "--source", str(frames), "--precision", precision, "--json"
        )
        assert proc.returncode == 0, proc.stdout
    proc = run_doctor(
        "--model", str(tiny_build), "--source", str(frames), "--backend", "trt", "--json"
    )
    report = json.loads(proc.stdout)
    assert proc.returncode == 1 and "tensorrt" in report["problems"]


def test_auto_backend_follows_tensorrt(tmp_path):
    build = make_build(tmp_path)
    proc = run_doctor(
        "--model", str(build), "--backend", "auto", "--source", str(tmp_path), "--json"
    )
    report = json.loads(proc.stdout)
    assert report["backend"] == ("trt" if _importable("tensorrt") else "ort")


def test_tampered_and_missing_build_files_are_reported(tmp_path):
    build = make_build(tmp_path)
    (build / "model.onnx").write_bytes(b"something else")
    (build / "model.pt").unlink()
    proc = run_doctor("--model", str(build), "--backend", "trt", "--json")
    assert proc.returncode == 1
    check = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}["build"]
    assert check["status"] == "fail"
    assert "model.onnx does not match its manifest digest" in check["detail"]
    assert "model.pt" in check["detail"] and "missing" in check["detail"]
    assert "copy the build folder again" in check["hint"]


def test_build_without_onnx_and_no_build_at_all(tmp_path):
    check, _ = build_checks.check_build(make_build(tmp_path, with_onnx=False))
    assert check.status == "fail" and "no ONNX" in check.detail
    check, manifest = build_checks.check_build(build_checks.find_build(None, tmp_path / "empty"))
    assert check.status == "fail" and manifest is None and "--model" in check.hint


def test_newest_build_folder_is_chosen(tmp_path):
    old = make_build(tmp_path / "a")
    new = make_build(tmp_path / "b")
    os.utime(old / "manifest.json", (1, 1))
    root = tmp_path / "engines"
    root.mkdir()
    (root / "old").symlink_to(old, target_is_directory=True)
    (root / "new").symlink_to(new, target_is_directory=True)
    assert build_checks.find_build(None, root) == root / "new"


def test_engine_matching_exactly_what_run_opens(tmp_path):
    build = make_build(tmp_path)
    add_engine(build, "fp16")
    _, manifest = build_checks.check_build(build)
    trt = fake_trt10()
    ok = build_checks.check_engine(build, manifest, "fp16", None, TRT10, ORIN, trt_module=trt)
    assert ok.status == "ok" and "fp16, batch 1–32" in ok.detail, ok.detail
    # the same engine does not serve another precision or batch profile: run would not open it
    for precision, batch in (("fp32", None), ("fp16", 8)):
        check = build_checks.check_engine(
            build, manifest, precision, batch, TRT10, ORIN, trt_module=trt
        )
        assert check.status == "fail", check.detail
        assert f"--precision {precision} --backend trt" in check.hint
    assert (
        "--max-batch 8"
        in build_checks.check_engine(build, manifest, "fp16", 8, TRT10, ORIN, trt_module=trt).hint
    )
    assert (
        build_checks.check_engine(
            build, manifest, "fp16", None, None, findings.Device(), trt_module=trt
        ).status
        == "skip"
    )


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"trt_version": "10.1.0"}, "TensorRT 10.1.0"),
        ({"gpu": GpuInfo("NVIDIA GeForce RTX 4090", "8.9", 128, 24, "test")}, "built on GPU"),
        ({"gpu": GpuInfo("Orin", "8.7", 8, 15, "test")}, "8 SMs"),
        ({"onnx_sha256": "0" * 64}, "stale"),
        ({"precision": "int8", "onnx_role": "onnx_int8"}, "fits another precision"),
    ],
)
def test_engines_that_do_not_fit_are_named_with_a_rebuild_hint(tmp_path, kwargs, words):
    build = make_build(tmp_path)
    add_engine(build, **kwargs)
    _, manifest = build_checks.check_build(build)
    check = build_checks.check_engine(
        build, manifest, "fp16", None, TRT10, ORIN, trt_module=fake_trt10()
    )
    assert check.status == "fail" and words in check.detail, check.detail
    assert f"edgexai engine --model {build} --precision fp16 --backend trt" in check.hint


def test_a_damaged_engine_is_refused_before_deserialising(tmp_path):
    build = make_build(tmp_path)
    add_engine(build).write_bytes(b"truncated")
    _, manifest = build_checks.check_build(build)
    check = build_checks.check_engine(
        build, manifest, "fp16", None, TRT10, ORIN, trt_module=fake_trt10()
    )
    assert check.status == "fail" and "sidecar digest" in check.detail


def test_a_jetson_with_everything_is_ready(tmp_path, monkeypatch):
    """By construction: what a JetPack 6 Orin reports makes doctor say ready."""
    build = make_build(tmp_path)
    add_engine(build)
    trt = fake_trt10()
    monkeypatch.setattr(readiness, "tensorrt_version", lambda: (TRT10, None))
    monkeypatch.setattr(readiness, "cuda_device", lambda: ORIN)
    monkeypatch.setattr(camera_checks, "video_devices", lambda pattern="": ["/dev/video0"])
    monkeypatch.setattr(
        camera_checks, "opencv_gstreamer", lambda info: (True, "GStreamer: YES (1.20.3)")
    )
    monkeypatch.setattr(
        readiness, "check_cuda_python", lambda required: findings.Check("cuda-python", "ok", "fake")
    )
    monkeypatch.setattr(
        readiness,
        "check_tensorrt",
        lambda required: findings.Check("tensorrt", "ok", f"TensorRT {TRT10}"),
    )
    pytest.importorskip("cv2")
    report = readiness.diagnose(
        model=str(build),
        backend="trt",
        source="csi://0",
        precision="fp16",
        finder="colour",
        trt_module=trt,
    )
    assert report.ready, readiness.format_report(report)
    assert readiness.format_report(report).splitlines()[-1] == "ready"


def test_parsers():
    assert camera_checks.opencv_gstreamer("  Video I/O:\n    GStreamer:    YES (1.20.3)\n")[0]
    assert not camera_checks.opencv_gstreamer("    GStreamer:                   NO\n")[0]
    assert not camera_checks.opencv_gstreamer("no video section")[0]
    assert camera_checks.classify_source("csi://1") == ("csi", None)
    assert camera_checks.classify_source("0") == ("v4l2", "/dev/video0")
    assert camera_checks.classify_source("/dev/video2") == ("v4l2", "/dev/video2")
    assert camera_checks.classify_source("rtsp://cam/stream")[0] == "stream"
    assert camera_checks.classify_source("v4l2src ! videoconvert ! appsink")[0] == "gstreamer"
    assert camera_checks.classify_source("clip.mp4")[0] == "file"
    assert (
        build_checks._norm_cc([8, 7])
        == build_checks._norm_cc("8.7")
        == build_checks._norm_cc("sm_87")
        == "8.7"
    )


def test_jetson_release_is_read(tmp_path):
    rel = tmp_path / "nv_tegra_release"
    rel.write_text(
        "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, "
        "EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n"
    )
    assert platform_checks.jetson_release(str(rel)) == ("36.4.3", "6.2")
    assert platform_checks.check_jetpack(str(rel)).status == "ok"
    rel.write_text("# R35 (release), REVISION: 5.0, GCID: 1\n")
    assert platform_checks.check_jetpack(str(rel)).status == "warn"
    assert platform_checks.check_jetpack(str(tmp_path / "absent")).status == "info"


def test_camera_check_follows_the_source(tmp_path):
    assert camera_checks.check_camera(None, []).status == "fail"
    assert camera_checks.check_camera(None, ["/dev/video0"]).status == "ok"
    assert camera_checks.check_camera("/dev/video1", ["/dev/video0"]).status == "fail"
    assert camera_checks.check_camera(str(tmp_path), []).status == "skip"
    assert camera_checks.check_camera(str(tmp_path / "nope.mp4"), []).status == "fail"
    assert camera_checks.check_camera("rtsp://x/y", []).status == "skip"
