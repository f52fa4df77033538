"""`edgexai doctor`: is this device ready to run the pipeline, and if not, what exactly to fix.

Why a separate module: a Jetson that was set up by hand fails in many small ways (pip's OpenCV
without GStreamer shadowing JetPack's, TensorRT bindings invisible to a venv, an engine built on
another GPU or TensorRT version, a build folder copied half-way). Each check here names one such
thing, says what it found, and gives a one-line fix. Deployment side: stdlib only at import time;
numpy, OpenCV, TensorRT, cuda-python and ONNX Runtime are probed, never required, and torch is
never imported. Python 3.10 compatible (JetPack 6's Python).

Engine sidecar contract (written by `edgexai engine`, read here): `<build>/engines/<key>.engine`
next to `<key>.json` = {onnx_sha256, gpu_name, compute_capability, trt_version, precision,
engine_sha256, created}.
"""

from __future__ import annotations

import glob
import importlib
import json
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgexai.digest import sha256_file
from edgexai.errors import EdgexaiError
from edgexai.manifest import MANIFEST_NAME, read_manifest, verify_file

OK, WARN, FAIL, SKIP, INFO = "ok", "warn", "fail", "skip", "info"
BACKENDS = ("trt", "ort", "auto")
SIDECAR_KEYS = ("onnx_sha256", "gpu_name", "compute_capability", "trt_version", "precision",
                "engine_sha256")
# L4T release → JetPack release (Jetson Linux release notes); only JetPack 6 is this kit's target.
JETPACK_OF_L4T = {"36.2.0": "6.0 DP", "36.3.0": "6.0", "36.4.0": "6.1", "36.4.3": "6.2",
                  "36.4.4": "6.2.1"}
VENV_HINT = ("JetPack installs it for the system Python 3.10: create the venv with "
             "`python3 -m venv --system-site-packages .venv` (jetson/setup.sh does)")


@dataclass
class Check:
    """One line of the report: what was looked at, what was found, and how to fix a problem."""

    name: str
    status: str
    detail: str
    hint: str = ""


@dataclass
class Device:
    """The CUDA device this process would use (first device), as far as it can be seen."""

    name: str | None = None
    compute_capability: str | None = None
    source: str = ""
    runtime_version: str | None = None
    error: str | None = None


@dataclass
class Report:
    """All checks and the verdict: ready means no check failed."""

    backend: str
    source: str | None
    build: str | None
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    def to_dict(self) -> dict[str, Any]:
        return {"ready": self.ready, "backend": self.backend, "source": self.source,
                "build": self.build, "problems": [c.name for c in self.problems],
                "checks": [asdict(c) for c in self.checks]}


def _try_import(name: str) -> tuple[Any | None, str | None]:
    """Import a module; (module, None) or (None, why) — any failure, not only ImportError."""
    try:
        return importlib.import_module(name), None
    except Exception as exc:  # a broken binary wheel raises OSError, RuntimeError, ...
        return None, f"{type(exc).__name__}: {exc}"


# --- platform ------------------------------------------------------------------------------


def check_python() -> Check:
    v = sys.version_info
    text = platform.python_version()
    if v < (3, 10):
        return Check("python", FAIL, f"Python {text} ({sys.executable})",
                     "edgexai needs Python >= 3.10 (JetPack 6 ships 3.10)")
    if jetson_release()[0] and (v.major, v.minor) != (3, 10):
        return Check("python", WARN, f"Python {text} ({sys.executable})",
                     "JetPack 6's TensorRT and OpenCV bindings are built for the system Python "
                     "3.10: use /usr/bin/python3 for the venv")
    return Check("python", OK, f"Python {text} ({sys.executable})")


def jetson_release(path: str = "/etc/nv_tegra_release") -> tuple[str | None, str | None]:
    """(L4T release like '36.4.3', JetPack release like '6.2'), or (None, None) off a Jetson."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None, None
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", text)
    if not m:
        return None, None
    l4t = f"{m.group(1)}.{m.group(2)}"
    jp = JETPACK_OF_L4T.get(l4t) or ("6.x" if l4t.startswith("36.") else None)
    return l4t, jp


def check_jetpack(path: str = "/etc/nv_tegra_release") -> Check:
    l4t, jp = jetson_release(path)
    if l4t is None:
        return Check("jetpack", INFO, f"not a Jetson ({path} absent): desktop/CPU checks only")
    if not l4t.startswith("36."):
        return Check("jetpack", WARN, f"L4T R{l4t}: this kit targets JetPack 6 (L4T R36.x)",
                     "flash JetPack 6.x (TensorRT 10.3, CUDA 12.6) with SDK Manager")
    return Check("jetpack", OK, f"L4T R{l4t}" + (f" (JetPack {jp})" if jp else ""))


# --- inference stack -----------------------------------------------------------------------


def tensorrt_version() -> tuple[str | None, str | None]:
    """(tensorrt.__version__, None) or (None, why it cannot be imported)."""
    trt, why = _try_import("tensorrt")
    if trt is None:
        return None, why
    return str(getattr(trt, "__version__", "unknown")), None


def check_tensorrt(required: bool) -> Check:
    version, why = tensorrt_version()
    if version is None:
        return Check("tensorrt", FAIL if required else SKIP, f"not importable ({why})",
                     "sudo apt-get install python3-libnvinfer (JetPack 6 → TensorRT 10.3); "
                     + VENV_HINT)
    major = version.split(".")[0]
    if major.isdigit() and int(major) < 10:
        return Check("tensorrt", FAIL, f"TensorRT {version}",
                     "edgexai's engine builder supports TensorRT 10 and 11: use JetPack 6")
    return Check("tensorrt", OK, f"TensorRT {version}")


def _cuda_runtime_module() -> Any | None:
    for name in ("cuda.bindings.runtime", "cuda.cudart"):  # cuda-python >= 12.6, then older
        mod, _ = _try_import(name)
        if mod is not None:
            return mod
    return None


def _ok(err: Any) -> bool:
    return int(getattr(err, "value", err)) == 0


def cuda_device(run: Callable[..., Any] = subprocess.run) -> Device:
    """The first CUDA device as the TensorRT runtime sees it: cuda-python, pycuda, else nvidia-smi."""
    errors = []
    rt = _cuda_runtime_module()
    if rt is not None:
        try:
            err, count = rt.cudaGetDeviceCount()
            if _ok(err) and count > 0:
                err, prop = rt.cudaGetDeviceProperties(0)
                if _ok(err):
                    name = prop.name
                    if isinstance(name, bytes):
                        name = name.split(b"\0", 1)[0].decode(errors="replace")
                    _, rv = rt.cudaRuntimeGetVersion()
                    return Device(name=str(name).strip(),
                                  compute_capability=f"{prop.major}.{prop.minor}",
                                  source="cuda-python",
                                  runtime_version=f"{int(rv) // 1000}.{int(rv) % 1000 // 10}")
            errors.append(f"cuda-python: {getattr(err, 'name', err)}, {count} device(s)")
        except Exception as exc:  # no libcudart, no driver: the bindings raise various errors
            errors.append(f"cuda-python: {type(exc).__name__}: {exc}")
    else:
        errors.append("cuda-python not importable")
    drv, _ = _try_import("pycuda.driver")  # the runtime's other memory backend: same names
    if drv is not None:
        try:
            drv.init()
            dev = drv.Device(0)
            major, minor = dev.compute_capability()
            return Device(name=str(dev.name()).strip(), compute_capability=f"{major}.{minor}",
                          source="pycuda")
        except Exception as exc:
            errors.append(f"pycuda: {type(exc).__name__}: {exc}")
    # Last resort; its name may differ from the CUDA runtime's (Jetson: "Orin (nvgpu)").
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = run([smi, "--query-gpu=name,compute_cap", "--format=csv,noheader"],
                      capture_output=True, text=True, timeout=20)
            line = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""
            if line:
                name, _, cc = (p.strip() for p in line.partition(","))
                return Device(name=name, compute_capability=cc if re.fullmatch(r"\d+\.\d+", cc)
                              else None, source="nvidia-smi")
            errors.append(f"nvidia-smi: exit {out.returncode} {out.stderr.strip()[:120]}")
        except (OSError, subprocess.SubprocessError, IndexError) as exc:
            errors.append(f"nvidia-smi: {exc}")
    else:
        errors.append("no nvidia-smi")
    return Device(error="; ".join(errors))


def _cuda_toolkit_version(path: str = "/usr/local/cuda/version.json") -> str | None:
    try:
        return str(json.loads(Path(path).read_text())["cuda"]["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_cuda(device: Device, required: bool) -> Check:
    toolkit = _cuda_toolkit_version()
    extra = f", CUDA toolkit {toolkit}" if toolkit else ""
    if device.name is None:
        return Check("cuda", FAIL if required else SKIP,
                     f"no CUDA device visible ({device.error}){extra}",
                     "on a Jetson: JetPack 6 provides the driver — run as a user in the 'video' "
                     "and 'render' groups, in containers pass --runtime nvidia; elsewhere install "
                     "the NVIDIA driver")
    cc = f", compute capability {device.compute_capability}" if device.compute_capability else ""
    rv = f", CUDA runtime {device.runtime_version}" if device.runtime_version else ""
    return Check("cuda", OK, f"{device.name}{cc}{rv} (via {device.source}){extra}")


def check_cuda_python(required: bool) -> Check:
    """The TensorRT runtime moves tensors with cuda-python (pycuda accepted)."""
    for name, label in (("cuda.bindings.runtime", "cuda-python"), ("cuda.cudart", "cuda-python"),
                        ("pycuda.driver", "pycuda")):
        mod, _ = _try_import(name)
        if mod is not None:
            return Check("cuda-python", OK, f"{label} ({name})")
    return Check("cuda-python", FAIL if required else SKIP, "neither cuda-python nor pycuda",
                 "pip install -c jetson/constraints-jetpack6.txt -e '.[trt]' (cuda-python 12.x "
                 "for CUDA 12.6 on JetPack 6)")


def check_onnxruntime(required: bool) -> Check:
    ort, why = _try_import("onnxruntime")
    if ort is None:
        return Check("onnxruntime", FAIL if required else WARN,
                     f"not importable ({why}): no CPU fallback backend",
                     "pip install -e '.[ort]' (CPU); for the Jetson GPU use NVIDIA's "
                     "onnxruntime-gpu wheel for JetPack 6, or the trt backend")
    try:
        providers = list(ort.get_available_providers())
    except Exception as exc:
        providers = [f"? ({exc})"]
    return Check("onnxruntime", OK, f"ONNX Runtime {getattr(ort, '__version__', '?')}, "
                                    f"providers {', '.join(providers)}")


# --- OpenCV, GStreamer, camera -------------------------------------------------------------


def opencv_gstreamer(build_info: str) -> tuple[bool, str]:
    """(has GStreamer, the 'GStreamer:' line) from cv2.getBuildInformation()."""
    m = re.search(r"^\s*GStreamer:\s*(.+)$", build_info, re.MULTILINE)
    if not m:
        return False, "GStreamer not listed in the build information"
    value = m.group(1).strip()
    return value.upper().startswith("YES"), f"GStreamer: {value}"


def _pip_opencv() -> list[str]:
    """pip-installed OpenCV wheels (they have no GStreamer and shadow JetPack's cv2)."""
    from importlib import metadata

    found = []
    for dist in ("opencv-python", "opencv-python-headless", "opencv-contrib-python",
                 "opencv-contrib-python-headless"):
        try:
            found.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return found


def check_opencv() -> tuple[Check, Any | None]:
    cv2, why = _try_import("cv2")
    if cv2 is None:
        return Check("opencv", FAIL, f"cv2 not importable ({why})",
                     "on a Jetson: sudo apt-get install nvidia-opencv (JetPack's OpenCV, with "
                     "GStreamer); " + VENV_HINT + "; elsewhere pip install -e '.[deploy]'"), None
    where = Path(getattr(cv2, "__file__", "?") or "?").parent
    return Check("opencv", OK, f"OpenCV {cv2.__version__} ({where})"), cv2


def check_gstreamer(cv2: Any | None, need: str) -> Check:
    """need: 'required', 'optional' or 'unused' for the chosen source."""
    if cv2 is None:
        return Check("gstreamer", FAIL if need == "required" else SKIP, "OpenCV is not importable")
    has, line = opencv_gstreamer(cv2.getBuildInformation())
    if has:
        return Check("gstreamer", OK, f"OpenCV built with {line}")
    wheels = _pip_opencv()
    hint = ("CSI cameras (csi://N) and raw pipelines need OpenCV built with GStreamer: ")
    if wheels:
        hint += (f"pip's {', '.join(wheels)} has none and shadows the system cv2 — "
                 f"pip uninstall {' '.join(w.split()[0] for w in wheels)}, then use JetPack's "
                 "OpenCV (sudo apt-get install nvidia-opencv) through --system-site-packages")
    else:
        hint += "sudo apt-get install nvidia-opencv (JetPack) or python3-opencv (Ubuntu)"
    status = {"required": FAIL, "optional": WARN}.get(need, SKIP)
    return Check("gstreamer", status, f"OpenCV has no GStreamer ({line})", hint)


def video_devices(pattern: str = "/dev/video*") -> list[str]:
    return sorted(glob.glob(pattern), key=lambda p: (len(p), p))


def classify_source(source: str | None) -> tuple[str, str | None]:
    """(kind, camera device it needs) for a `run --source`; kind decides what doctor requires."""
    if source is None:
        return "camera", None
    if re.fullmatch(r"\d+", source):
        return "v4l2", f"/dev/video{source}"
    if re.fullmatch(r"/dev/video\d+", source):
        return "v4l2", source
    m = re.fullmatch(r"csi://(\d+)", source)
    if m:
        return "csi", None
    if source.startswith(("rtsp://", "rtsps://", "http://", "https://")):
        return "stream", None
    if "!" in source:
        return "gstreamer", None
    return "file", None


def check_camera(source: str | None, devices: list[str] | None = None) -> Check:
    kind, device = classify_source(source)
    devices = video_devices() if devices is None else devices
    listed = ", ".join(devices) if devices else "none"
    if kind in ("stream", "gstreamer"):
        return Check("camera", SKIP, f"source is a {kind}; video devices: {listed}")
    if kind == "file":
        path = Path(source[len("file://"):] if source.startswith("file://") else source)
        if path.exists():
            return Check("camera", SKIP, f"source is a file/folder ({path}); video devices: {listed}")
        return Check("camera", FAIL, f"source {path} does not exist",
                     "pass an existing video file, image, folder, /dev/videoN or csi://N")
    if device is not None:
        if device in devices:
            return Check("camera", OK, f"{device} present (all: {listed})")
        return Check("camera", FAIL, f"{device} not found (video devices: {listed})",
                     "plug the USB camera in (ls /dev/video*; v4l2-ctl --list-devices) and add "
                     "the service user to the 'video' group")
    if devices:
        return Check("camera", OK, f"video devices: {listed}")
    return Check("camera", FAIL, "no /dev/video* device",
                 "connect a CSI camera (ribbon cable, then sudo /opt/nvidia/jetson-io/jetson-io.py "
                 "if the module needs an overlay) or a USB camera; or run with --source FILE")


# --- build folder and engines --------------------------------------------------------------


def find_build(model: str | None, engines_root: str | Path = "engines") -> Path | None:
    """`--model DIR`, else the build folder under engines/ whose manifest is newest."""
    if model:
        return Path(model)
    root = Path(engines_root)
    candidates = [m.parent for m in root.glob(f"*/{MANIFEST_NAME}")] if root.is_dir() else []
    if not candidates:
        return None
    return max(candidates, key=lambda d: (d / MANIFEST_NAME).stat().st_mtime)


def check_build(build: Path | None, engines_root: str | Path = "engines"
                ) -> tuple[Check, dict[str, Any] | None]:
    """Every file the manifest lists is present with its recorded sha256, and an ONNX is among them."""
    if build is None:
        return Check("build", FAIL, f"no build folder given and none under {engines_root}/",
                     "copy one over (rsync -a engines/NAME jetson:~/edgexai/engines/) or pass "
                     "--model DIR"), None
    try:
        manifest = read_manifest(build)
    except EdgexaiError as exc:
        return Check("build", FAIL, str(exc), "copy the whole build folder again (rsync -a)"), None
    files = manifest.get("files") or {}
    problems = []
    for role in files:
        try:
            verify_file(build, manifest, role)
        except (EdgexaiError, KeyError, TypeError) as exc:
            problems.append(f"{role}: {exc}")
    onnx = [e["path"] for e in files.values() if isinstance(e, dict)
            and str(e.get("path", "")).endswith(".onnx")]
    if problems:
        return Check("build", FAIL, f"{build}: {len(problems)} of {len(files)} files fail their "
                                    "manifest digest — " + " | ".join(problems),
                     "copy the build folder again from the training machine (rsync -a "
                     "--checksum); never edit files inside a build folder"), manifest
    if not onnx:
        return Check("build", FAIL, f"{build}: the manifest lists no ONNX graph "
                                    f"(files: {', '.join(files) or 'none'})",
                     "export the model on the training machine (model.onnx) and copy the "
                     "folder again"), manifest
    return Check("build", OK, f"{build}: {len(files)} files match the manifest "
                              f"(ONNX: {', '.join(onnx)})"), manifest


def _norm_cc(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return f"{int(value[0])}.{int(value[1])}"
    text = str(value).strip().lower().removeprefix("sm_")
    if re.fullmatch(r"\d\d+", text) and "." not in text:
        return f"{text[:-1]}.{text[-1]}"
    return text


def _norm_gpu(name: Any) -> str:
    """GPU names compared without case and a trailing '(...)' (nvidia-smi on Jetson: 'Orin (nvgpu)')."""
    return re.sub(r"\s*\(.*\)$", "", str(name).strip()).lower()


def engine_problems(build: Path, sidecar: Path, onnx_digests: set[str],
                    trt_version: str | None, device: Device) -> list[str]:
    """Why this engine cannot serve this build on this device ([] = it can).

    Comparisons that need TensorRT or a visible device are made only when those are known.
    """
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        return [f"sidecar unreadable ({exc})"]
    if not isinstance(meta, dict):
        return ["sidecar is not a JSON object"]
    missing = [k for k in SIDECAR_KEYS if k not in meta]
    if missing:
        return [f"sidecar lacks {', '.join(missing)}"]
    out = []
    engine = sidecar.with_suffix(".engine")
    if not engine.is_file():
        out.append(f"{engine.name} is missing")
    elif sha256_file(engine) != meta["engine_sha256"]:
        out.append(f"{engine.name} does not match its recorded sha256 (changed or truncated)")
    if meta["onnx_sha256"] not in onnx_digests:
        out.append("built from an ONNX that is not in this build's manifest (stale)")
    if trt_version is not None and str(meta["trt_version"]) != trt_version:
        out.append(f"built with TensorRT {meta['trt_version']}, this device has {trt_version}")
    if device.name is not None and _norm_gpu(meta["gpu_name"]) != _norm_gpu(device.name):
        out.append(f"built on GPU '{meta['gpu_name']}', this device is '{device.name}'")
    if (device.compute_capability is not None
            and _norm_cc(meta["compute_capability"]) != _norm_cc(device.compute_capability)):
        out.append(f"built for compute capability {meta['compute_capability']}, this device "
                   f"has {device.compute_capability}")
    return out


def check_engines(build: Path | None, manifest: dict[str, Any] | None, trt_version: str | None,
                  device: Device, required: bool) -> Check:
    """At least one engine under <build>/engines/ matches this build, TensorRT and GPU."""
    if not required:
        return Check("engine", SKIP, "backend is not trt")
    if build is None or manifest is None:
        return Check("engine", SKIP, "no readable build folder")
    rebuild = (f"edgexai engine --model {build} --precision fp16 --backend trt "
               "(on this device; int8 for a Q/DQ build)")
    digests = {str(e.get("sha256")) for e in (manifest.get("files") or {}).values()
               if isinstance(e, dict) and str(e.get("path", "")).endswith(".onnx")}
    sidecars = sorted((build / "engines").glob("*.json"))
    if not sidecars:
        status = FAIL if trt_version is not None else SKIP
        return Check("engine", status, f"no engine in {build / 'engines'}", rebuild)
    report, good = [], []
    for sc in sidecars:
        problems = engine_problems(build, sc, digests, trt_version, device)
        if problems:
            report.append(f"{sc.stem}: " + "; ".join(problems))
        else:
            good.append(f"{sc.stem} ({json.loads(sc.read_text()).get('precision', '?')})")
    unknown = [w for w, v in (("TensorRT", trt_version), ("GPU", device.name)) if v is None]
    if good and not unknown:
        return Check("engine", OK, f"{', '.join(good)} matches this build, TensorRT "
                                   f"{trt_version} and {device.name}"
                                   + (f" (unusable: {' | '.join(report)})" if report else ""))
    if good:
        return Check("engine", SKIP, f"{', '.join(good)} intact; matching it to this device needs "
                                     f"{' and '.join(unknown)}")
    return Check("engine", FAIL, "no usable engine: " + " | ".join(report), rebuild)


# --- the whole report ----------------------------------------------------------------------


def diagnose(model: str | None = None, backend: str = "trt", source: str | None = None,
             engines_root: str | Path = "engines") -> Report:
    """Run every check for `backend` ('trt', 'ort' or 'auto') and `source` (None = a camera)."""
    if backend not in BACKENDS:
        raise EdgexaiError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if backend == "auto":  # as `edgexai run --backend auto`: TensorRT where it exists, else ORT
        backend = "trt" if tensorrt_version()[0] is not None else "ort"
    trt = backend == "trt"
    kind, _ = classify_source(source)
    gst_need = {"camera": "required", "csi": "required", "gstreamer": "required",
                "stream": "optional", "v4l2": "optional"}.get(kind, "unused")
    build = find_build(model, engines_root)
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
    build_check, manifest = check_build(build, engines_root)
    add(build_check)
    trt_version = tensorrt_version()[0] if trt_check.status == OK else None
    add(check_engines(build, manifest, trt_version, device, required=trt))
    return report


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
