"""`edgexai doctor`: is this device ready to run the pipeline, and if not, what exactly to fix.

Why a doctor: a Jetson that was set up by hand fails in many small ways (pip's OpenCV without
GStreamer shadowing JetPack's, TensorRT bindings invisible to a venv, an engine built on another
GPU or TensorRT version, a build folder copied half-way). Each check names one such thing, says
what it found, and gives a one-line fix. The checks live in modules by subject (platform_checks,
inference_stack, camera_checks, build_checks; what they return in findings); this one runs them
for the options `edgexai run` would get and formats the report. Deployment side: stdlib and numpy
(the base install, through the runtime package's engine-cache contract) at import time; OpenCV,
TensorRT, cuda-python and ONNX Runtime are probed, never required, and torch is never imported.
Python 3.10 compatible (JetPack 6's Python).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import BUILDS_ROOT
from edgexai.deploy.doctor.build_checks import check_build, check_engine, check_ort_path, find_build
from edgexai.deploy.doctor.camera_checks import (
    check_camera,
    check_gstreamer,
    check_opencv,
    check_source,
    classify_source,
)
from edgexai.deploy.doctor.findings import FAIL, OK, WARN, Device, Report
from edgexai.deploy.doctor.inference_stack import (
    check_cuda,
    check_cuda_python,
    check_onnxruntime,
    check_tensorrt,
    cuda_device,
    tensorrt_version,
)
from edgexai.deploy.doctor.platform_checks import check_jetpack, check_python

BACKENDS = ("auto", "trt", "ort")  # doctor checks these two runtime paths (not torch)


def diagnose(
    model: str | None = None,
    backend: str = "auto",
    source: str | None = None,
    builds: str | Path = BUILDS_ROOT,
    precision: str = "fp32",
    max_batch: int | None = None,
    detector: str | None = None,
    finder: str = "detector",
    trt_module: Any = None,
) -> Report:
    """Run every check for what `edgexai run` would do with the same options: backend ('auto'
    resolves as in run), precision, batch profile, source (None = a camera), classifier build
    and — with the detector finder — detector build."""
    from edgexai.deploy.runtime.factory import resolve_backend

    if backend not in BACKENDS:
        raise EdgexaiError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    backend = resolve_backend(backend)
    trt = backend == "trt"
    kind, _ = classify_source(source)
    gst_need = {
        "camera": "required",
        "csi": "required",
        "gstreamer": "required",
        "stream": "optional",
        "v4l2": "optional",
    }.get(kind, "unused")
    build = find_build(model, builds)
    report = Report(backend=backend, source=source, build=str(build) if build else None)
    add = report.checks.append
    add(check_python())
    add(check_jetpack())
    device = cuda_device() if trt else Device(error="not checked (backend ort)")
    trt_check = check_tensorrt(required=trt)
    add(trt_check)
    add(check_cuda(device, required=trt))
    add(check_cuda_python(required=trt))
    add(check_onnxruntime(required=not trt))
    cv_check, cv2 = check_opencv()
    add(cv_check)
    add(check_gstreamer(cv2, gst_need))
    add(check_camera(source))
    add(check_source(source))
    trt_version = tensorrt_version()[0] if trt_check.status == OK else None
    builds = [("build", build, "classifier")]
    if finder == "detector":
        builds.append(("detector", _detector_dir(detector), "detector"))
    for name, folder, what in builds:
        check, manifest = check_build(folder, builds, name, what)
        add(check)
        if trt:
            add(
                check_engine(
                    folder,
                    manifest,
                    precision,
                    max_batch if what == "classifier" else None,
                    trt_version,
                    device,
                    f"{name}-engine",
                    trt_module,
                )
            )
        else:
            add(check_ort_path(folder, manifest, precision, f"{name}-ort"))
    return report


def _detector_dir(detector: str | None) -> Path | None:
    if detector:
        return Path(detector)
    from edgexai.deploy.pipeline.finders import default_detector_dir

    try:
        return default_detector_dir()
    except EdgexaiError:
        return None


def format_report(report: Report) -> str:
    """Plain text for a person: one line per check, a fix line under each problem."""
    src = report.source or "a live camera"
    lines = [f"edgexai doctor — backend {report.backend}, source {src}"]
    width = max(len(c.name) for c in report.checks)
    for c in report.checks:
        lines.append(f"  {c.status.upper():<5} {c.name:<{width}}  {c.detail}")
        if c.hint and c.status in (FAIL, WARN):
            lines.append(f"  {'':<5} {'':<{width}}  fix: {c.hint}")
    if report.ready:
        lines.append("ready")
    else:
        names = ", ".join(c.name for c in report.problems)
        lines.append(f"NOT READY: {len(report.problems)} problem(s): {names}")
    return "\n".join(lines)
