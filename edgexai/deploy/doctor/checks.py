"""`edgexai doctor`: is this device ready to run the pipeline, and if not, what exactly to fix.

Why a separate module: a Jetson that was set up by hand fails in many small ways (pip's OpenCV
without GStreamer shadowing JetPack's, TensorRT bindings invisible to a venv, an engine built on
another GPU or TensorRT version, a build folder copied half-way). Each check here names one such
thing, says what it found, and gives a one-line fix. Deployment side: stdlib and numpy (the base
install, through the runtime package's engine-cache contract) at import time; OpenCV, TensorRT,
cuda-python and ONNX Runtime are probed, never required, and torch is never imported. Python 3.10 compatible (JetPack 6's Python).

Engine sidecar contract (written by `edgexai engine`, read here): `<build>/engines/<key>.engine`
next to `<key>.json` with the fields of runtime/engine_cache.py (SIDECAR_FIELDS).
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

from edgexai.core.digest import sha256_file
from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import BUILDS_ROOT, builds_root, read_manifest, verify_file
from edgexai.deploy.runtime.engine_cache import SIDECAR_FIELDS

OK, WARN, FAIL, SKIP, INFO = "ok", "warn", "fail", "skip", "info"
BACKENDS = ("auto", "trt", "ort")  # doctor checks these two runtime paths (not torch)
SIDECAR_KEYS = SIDECAR_FIELDS  # what `edgexai engine` writes (runtime/engine_cache.py)
# L4T release → JetPack release (Jetson Linux release notes); only JetPack 6 is this kit's target.
JETPACK_OF_L4T = {
    "36.2.0": "6.0 DP",
    "36.3.0": "6.0",
    "36.4.0": "6.1",
    "36.4.3": "6.2",
    "36.4.4": "6.2.1",
}
VENV_HINT = (
    "JetPack installs it for the system Python 3.10: create the venv with "
    "`python3 -m venv --system-site-packages .venv` (jetson/setup.sh does)"
)


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
    sm_count: int | None = None
    memory_gib: int | None = None
    driver_version: str | None = None
    fix: str | None = None
    gpu: Any = None  # the runtime's cuda_mem.GpuInfo when the memory backend works


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
        return {
            "ready": self.ready,
            "backend": self.backend,
            "source": self.source,
            "build": self.build,
            "problems": [c.name for c in self.problems],
            "checks": [asdict(c) for c in self.checks],
        }


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
        return Check(
            "python",
            FAIL,
            f"Python {text} ({sys.executable})",
            "edgexai needs Python >= 3.10 (JetPack 6 ships 3.10)",
        )
    if jetson_release()[0] and (v.major, v.minor) != (3, 10):
        return Check(
            "python",
            WARN,
            f"Python {text} ({sys.executable})",
            "JetPack 6's TensorRT and OpenCV bindings are built for the system Python "
            "3.10: use /usr/bin/python3 for the venv",
        )
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
        return Check(
            "jetpack",
            WARN,
            f"L4T R{l4t}: this kit targets JetPack 6 (L4T R36.x)",
            "flash JetPack 6.x (TensorRT 10.3, CUDA 12.6) with SDK Manager",
        )
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
        return Check(
            "tensorrt",
            FAIL if required else SKIP,
            f"not importable ({why})",
            "sudo apt-get install python3-libnvinfer (JetPack 6 → TensorRT 10.3); " + VENV_HINT,
        )
    major = version.split(".")[0]
    if major.isdigit() and int(major) < 10:
        return Check(
            "tensorrt",
            FAIL,
            f"TensorRT {version}",
            "edgexai's engine builder supports TensorRT 10 and 11: use JetPack 6",
        )
    return Check("tensorrt", OK, f"TensorRT {version}")


def cuda_device(run: Callable[..., Any] = subprocess.run) -> Device:
    """The first CUDA device exactly as the trt runtime reaches it: the same memory backend, chosen
    and queried by the same function (runtime.cuda_mem.load_device_memory). A backend that imports
    but fails is reported as such, never replaced by another one the runtime would not use. Only
    where no backend is installed at all does nvidia-smi name the device (check_cuda_python fails
    then, so the verdict stays "not ready")."""
    from edgexai.deploy.runtime.cuda_mem import (
        DeviceMemoryError,
        MemoryBackendMissing,
        load_device_memory,
    )

    try:
        info = load_device_memory().info()
    except MemoryBackendMissing:
        pass
    except DeviceMemoryError as exc:
        return Device(error=exc.problem, fix=exc.fix)
    else:
        return Device(
            name=info.name,
            compute_capability=info.compute_capability,
            source=info.backend,
            runtime_version=info.runtime_version,
            sm_count=info.sm_count,
            memory_gib=info.memory_gib,
            driver_version=info.driver_version,
            gpu=info,
        )
    errors = ["neither cuda-python nor pycuda is importable (the runtime needs one)"]
    # Only for the report; its name may differ from the CUDA runtime's (Jetson: "Orin (nvgpu)").
    smi = shutil.which("nvidia-smi")
    if smi:
        try:
            out = run(
                [smi, "--query-gpu=name,compute_cap", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            line = (
                out.stdout.strip().splitlines()[0]
                if out.returncode == 0 and out.stdout.strip()
                else ""
            )
            if line:
                name, _, cc = (p.strip() for p in line.partition(","))
                return Device(
                    name=name,
                    compute_capability=cc if re.fullmatch(r"\d+\.\d+", cc) else None,
                    source="nvidia-smi",
                )
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
        from edgexai.deploy.runtime.cuda_mem import DRIVER_HINT

        return Check(
            "cuda",
            FAIL if required else SKIP,
            f"no CUDA device visible ({device.error}){extra}",
            device.fix or DRIVER_HINT,
        )
    cc = f", compute capability {device.compute_capability}" if device.compute_capability else ""
    sms = f", {device.sm_count} SMs" if device.sm_count else ""
    mem = f", {device.memory_gib} GiB" if device.memory_gib else ""
    rv = f", CUDA runtime {device.runtime_version}" if device.runtime_version else ""
    dv = f", driver CUDA {device.driver_version}" if device.driver_version else ""
    return Check("cuda", OK, f"{device.name}{cc}{sms}{mem}{rv}{dv} (via {device.source}){extra}")


def check_cuda_python(required: bool) -> Check:
    """The device-memory path the trt runtime takes, tried for real where trt is the backend
    (runtime.cuda_mem.load_device_memory: cuda-python, else pycuda; an importable binding whose
    calls fail is a failure here as it is there)."""
    from edgexai.deploy.runtime.cuda_mem import (
        DeviceMemoryError,
        cuda_python_runtime,
        load_device_memory,
    )

    if not required:  # backend ort: say what is installed, touch no device
        try:
            _, module = cuda_python_runtime()
        except DeviceMemoryError as exc:
            return Check("cuda-python", WARN, exc.problem, exc.fix)
        if module is None and _try_import("pycuda.driver")[0] is not None:
            module = "pycuda.driver"
        return Check(
            "cuda-python",
            SKIP,
            f"{module or 'neither cuda-python nor pycuda'} (not used by backend ort)",
        )
    try:
        info = load_device_memory().info()
    except DeviceMemoryError as exc:
        return Check("cuda-python", FAIL, exc.problem, exc.fix)
    versions = ", ".join(
        v
        for v in (
            info.runtime_version and f"runtime {info.runtime_version}",
            info.driver_version and f"driver {info.driver_version}",
        )
        if v
    )
    return Check(
        "cuda-python",
        OK,
        f"{info.backend} reaches {info.name}" + (f" ({versions})" if versions else ""),
    )


def check_onnxruntime(required: bool) -> Check:
    ort, why = _try_import("onnxruntime")
    if ort is None:
        return Check(
            "onnxruntime",
            FAIL if required else WARN,
            f"not importable ({why}): no CPU fallback backend",
            "pip install -e '.[ort]' (CPU); for the Jetson GPU use NVIDIA's "
            "onnxruntime-gpu wheel for JetPack 6, or the trt backend",
        )
    try:
        providers = list(ort.get_available_providers())
    except Exception as exc:
        providers = [f"? ({exc})"]
    return Check(
        "onnxruntime",
        OK,
        f"ONNX Runtime {getattr(ort, '__version__', '?')}, providers {', '.join(providers)}",
    )


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
    for dist in (
        "opencv-python",
        "opencv-python-headless",
        "opencv-contrib-python",
        "opencv-contrib-python-headless",
    ):
        try:
            found.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return found


def check_opencv() -> tuple[Check, Any | None]:
    cv2, why = _try_import("cv2")
    if cv2 is None:
        return Check(
            "opencv",
            FAIL,
            f"cv2 not importable ({why})",
            "on a Jetson: sudo apt-get install nvidia-opencv (JetPack's OpenCV, with "
            "GStreamer); " + VENV_HINT + "; elsewhere pip install -e '.[deploy]'",
        ), None
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
    hint = "CSI cameras (csi://N) and raw pipelines need OpenCV built with GStreamer: "
    if wheels:
        hint += (
            f"pip's {', '.join(wheels)} has none and shadows the system cv2 — "
            f"pip uninstall {' '.join(w.split()[0] for w in wheels)}, then use JetPack's "
            "OpenCV (sudo apt-get install nvidia-opencv) through --system-site-packages"
        )
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
    if source.startswith(STREAM_SCHEMES):
        return "stream", None
    if "!" in source:
        return "gstreamer", None
    return "file", None


STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://")  # as pipeline.sources
SOURCE_READS = 100  # frames doctor reads past (undecodable) before it stops looking


def check_source(source: str | None, reads: int = SOURCE_READS) -> Check:
    """What `run --source` will read: a file, image or folder is opened with run's own reader
    (edgexai.deploy.pipeline.sources: parse_uri, open_reader) and one frame is decoded; a stream URL
    must name a host. Cameras are not opened here (check_camera looks for the device; a running
    pipeline may hold it)."""
    kind, _ = classify_source(source)
    if kind == "stream":
        return check_stream_uri(str(source))
    if kind != "file":
        return Check("source", SKIP, f"a live {kind} source: not opened by doctor")
    path = Path(source[len("file://") :] if source.startswith("file://") else source)
    if not path.exists():
        return Check("source", SKIP, f"{path} does not exist (see camera)")
    return _decode_one(source, reads)


def check_stream_uri(uri: str) -> Check:
    """A stream URL names a host (and a valid port): a bare rtsp:// can never open (the rule is
    the run's own, edgexai.deploy.pipeline.sources.stream_host)."""
    from edgexai.deploy.pipeline.sources import STREAM_FIX, stream_host

    try:
        where = stream_host(uri)
    except EdgexaiError as exc:
        return Check("source", FAIL, f"{exc}: `run` cannot open it", STREAM_FIX)
    scheme = uri.partition(":")[0]
    return Check(
        "source",
        SKIP,
        f"{scheme} stream on {where}: not opened by doctor (run reconnects with backoff)",
    )


def _decode_one(source: str, reads: int) -> Check:
    """Open `source` as `run` does and read until one frame decodes."""
    try:
        from edgexai.deploy.pipeline.sources import EndOfStream, open_reader, parse_uri

        spec = parse_uri(source)
        reader = open_reader(spec)
    except ImportError as exc:
        return Check("source", SKIP, f"not opened: {exc.name or exc} is missing (see opencv)")
    except (EdgexaiError, OSError) as exc:
        return Check("source", FAIL, f"`run` cannot open {source!r}: {exc}", _SOURCE_FIX)
    n, ended = 0, False
    try:
        while n < reads:
            n += 1
            try:
                img, _ = reader.read()
            except EndOfStream:
                ended = True
                break
            except OSError as exc:
                return Check(
                    "source", FAIL, f"{source!r} opens but reading fails: {exc}", _SOURCE_FIX
                )
            if img is not None:
                return Check(
                    "source",
                    OK,
                    f"{spec.kind} {source}: a frame decodes ({img.shape[1]}×{img.shape[0]})",
                )
    finally:
        reader.close()
    if ended:
        return Check(
            "source",
            FAIL,
            f"no frame of {spec.kind} {source!r} decodes (`run` would process nothing)",
            _SOURCE_FIX,
        )
    return Check(
        "source", WARN, f"none of the first {reads} frames of {source!r} decodes", _SOURCE_FIX
    )


_SOURCE_FIX = (
    "pass a video OpenCV's FFMPEG decodes (.mp4, .avi, …), an image, or a folder of "
    "images; check the file was copied completely"
)


def check_camera(source: str | None, devices: list[str] | None = None) -> Check:
    kind, device = classify_source(source)
    devices = video_devices() if devices is None else devices
    listed = ", ".join(devices) if devices else "none"
    if kind in ("stream", "gstreamer"):
        return Check("camera", SKIP, f"source is a {kind}; video devices: {listed}")
    if kind == "file":
        path = Path(source[len("file://") :] if source.startswith("file://") else source)
        if path.exists():
            return Check(
                "camera", SKIP, f"source is a file/folder ({path}); video devices: {listed}"
            )
        return Check(
            "camera",
            FAIL,
            f"source {path} does not exist",
            "pass an existing video file, image, folder, /dev/videoN or csi://N",
        )
    if device is not None:
        if device in devices:
            return Check("camera", OK, f"{device} present (all: {listed})")
        return Check(
            "camera",
            FAIL,
            f"{device} not found (video devices: {listed})",
            "plug the USB camera in (ls /dev/video*; v4l2-ctl --list-devices) and add "
            "the service user to the 'video' group",
        )
    if devices:
        return Check("camera", OK, f"video devices: {listed}")
    return Check(
        "camera",
        FAIL,
        "no /dev/video* device",
        "connect a CSI camera (ribbon cable, then sudo /opt/nvidia/jetson-io/jetson-io.py "
        "if the module needs an overlay) or a USB camera; or run with --source FILE",
    )


# --- build folder and engines --------------------------------------------------------------


def find_build(model: str | None, builds: str | Path = BUILDS_ROOT) -> Path | None:
    """`--model DIR`, else the newest classifier build under builds/ (as `edgexai run` picks)."""
    from edgexai.core.manifest import newest_build

    return Path(model) if model else newest_build(builds_root(builds), "classifier")


def check_build(
    build: Path | None,
    builds: str | Path = BUILDS_ROOT,
    name: str = "build",
    kind: str = "classifier",
) -> tuple[Check, dict[str, Any] | None]:
    """The manifest follows the contract, is of `kind`, and every file it lists is present with
    its recorded sha256."""
    flag = "--model" if kind == "classifier" else "--detector"
    if build is None:
        return Check(
            name,
            FAIL,
            f"no {kind} build folder given and none under {builds}/",
            f"copy one over (rsync -a builds/NAME jetson:/opt/edgexai/builds/) or pass {flag} DIR",
        ), None
    try:
        manifest = read_manifest(build)
    except EdgexaiError as exc:
        return Check(
            name,
            FAIL,
            str(exc),
            "copy the whole build folder again (rsync -a), or rebuild it with this edgexai",
        ), None
    if manifest["kind"] != kind:
        return Check(
            name,
            FAIL,
            f"{build} is a {manifest['kind']} build, not a {kind}",
            f"pass a {kind} build folder with {flag}",
        ), None
    files = manifest["files"]
    problems = []
    for role in files:
        try:
            verify_file(build, manifest, role)
        except EdgexaiError as exc:
            problems.append(f"{role}: {exc}")
    if problems:
        return Check(
            name,
            FAIL,
            f"{build}: {len(problems)} of {len(files)} files fail their "
            "manifest digest — " + " | ".join(problems),
            "copy the build folder again from the training machine (rsync -a "
            "--checksum); never edit files inside a build folder",
        ), manifest
    if "onnx" not in files:
        return Check(
            name,
            FAIL,
            f"{build}: the manifest lists no ONNX graph (files: {', '.join(files) or 'none'})",
            "export the model on the training machine (model.onnx) and copy the folder again",
        ), manifest
    mismatched = class_count_problems(build, manifest)
    if mismatched:
        return Check(
            name,
            FAIL,
            " | ".join(mismatched),
            "the manifest's class list does not belong to this model: copy the build "
            "folder again from the training machine, or rebuild it",
        ), manifest
    variants = ", ".join(manifest["onnx"]["variants"])
    return Check(
        name,
        OK,
        f"{build}: {kind}, {len(files)} files match the manifest (ONNX variants: {variants})",
    ), manifest


def class_count_problems(build: Path, manifest: dict[str, Any]) -> list[str]:
    """A classifier's ONNX graphs (every variant listed) against its manifest's class names:
    the logits width each graph declares must be their number, or `run` shifts every label."""
    from edgexai.core.manifest import VARIANT_ROLES
    from edgexai.deploy.runtime.onnx_io import OnnxFormatError, output_width

    if manifest.get("kind") != "classifier":
        return []
    n = len(manifest["classes"])
    out = []
    for role, entry in manifest["files"].items():
        if role not in VARIANT_ROLES.values():
            continue
        path = Path(build) / entry["path"]  # verified (inside the folder, digest) by check_build
        try:
            width = output_width(path.read_bytes(), "logits")
        except (OSError, OnnxFormatError):
            continue  # not ONNX: the backend check that loads it says so
        if width is not None and width != n:
            out.append(
                f"{path} outputs {width} classes but {build}/manifest.json names {n}: "
                "every label would be wrong"
            )
    return out


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


def engine_problems(
    build: Path, sidecar: Path, onnx_digests: set[str], trt_version: str | None, device: Device
) -> list[str]:
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
    if device.compute_capability is not None and _norm_cc(meta["compute_capability"]) != _norm_cc(
        device.compute_capability
    ):
        out.append(
            f"built for compute capability {meta['compute_capability']}, this device "
            f"has {device.compute_capability}"
        )
    # AGX Orin, Orin NX and Orin Nano share name and compute capability; these tell them apart.
    if device.sm_count is not None and meta["sm_count"] != device.sm_count:
        out.append(f"built on a GPU with {meta['sm_count']} SMs, this one has {device.sm_count}")
    if device.memory_gib is not None and meta["memory_gib"] != device.memory_gib:
        out.append(
            f"built on a {meta['memory_gib']} GiB device, this one has {device.memory_gib} GiB"
        )
    return out


def _rebuild_hint(build: Path, precision: str, max_batch: int, default_batch: int) -> str:
    batch = f" --max-batch {max_batch}" if max_batch != default_batch else ""
    return (
        f"edgexai engine --model {build} --precision {precision} --backend trt{batch} "
        "(on this device, as the owner of the engines folder)"
    )


def check_engine(
    build: Path | None,
    manifest: dict[str, Any] | None,
    precision: str,
    max_batch: int | None,
    trt_version: str | None,
    device: Device,
    name: str = "engine",
    trt_module: Any = None,
) -> Check:
    """Exactly the engine `edgexai run --precision P` will open (same ONNX variant, GPU, TensorRT
    version, precision and batch profile, so the same cache key) is there and intact."""
    if build is None or manifest is None:
        return Check(name, SKIP, "no readable build folder")
    from edgexai.deploy.runtime.engine_cache import (
        EngineCache,
        EngineMismatch,
        engine_key,
        engine_profile,
        engine_target,
    )
    from edgexai.deploy.runtime.session import DEFAULT_MAX_BATCH

    default_batch = DEFAULT_MAX_BATCH[manifest["kind"]]
    batch = max_batch or default_batch
    hint = _rebuild_hint(build, precision, batch, default_batch)
    if trt_version is None or device.gpu is None:
        missing = " and ".join(
            w
            for w, v in (("TensorRT", trt_version), ("a working CUDA device", device.gpu))
            if v is None
        )
        return Check(name, SKIP, f"which engine `run` needs is known only with {missing}")
    from edgexai.core.manifest import VARIANT_ROLES
    from edgexai.deploy.runtime.trt import TensorRT

    variant = TensorRT(trt_module).onnx_variant(precision)
    entry = manifest["files"].get(VARIANT_ROLES[variant])
    if entry is None:
        return Check(
            name,
            FAIL,
            f"TensorRT {trt_version} builds {precision} from the {variant} "
            "ONNX, which this build lacks",
            "rebuild the folder on the training machine (every build ships its variants)",
        )
    target = engine_target(
        entry["sha256"], device.gpu, trt_version, precision, engine_profile(batch)
    )
    cache = EngineCache(build)
    key = engine_key(target)
    try:
        found = cache.load(target) is not None
    except EngineMismatch as exc:
        return Check(name, FAIL, f"engine {key} is there but unusable: {exc}", hint)
    if found:
        return Check(
            name,
            OK,
            f"{cache.paths(key)[0]}: {precision}, batch "
            f"{target['profile']['min']}–{target['profile']['max']}, TensorRT "
            f"{trt_version}, {device.name} — what `run --precision "
            f"{precision}` opens",
        )
    # engines of this build's other variants are not stale: they serve another precision
    digests = {e["sha256"] for r, e in manifest["files"].items() if r in VARIANT_ROLES.values()}
    others = [
        f"{sc.stem}: {'; '.join(p) or 'fits another precision or batch profile'}"
        for sc in sorted(cache.dir.glob("*.json"))
        if sc.stem != key
        for p in [engine_problems(build, sc, digests, trt_version, device)]
    ]
    detail = f"no engine {key} ({precision}, batch ≤ {batch}) in {cache.dir}"
    return Check(name, FAIL, detail + (f" (there: {' | '.join(others)})" if others else ""), hint)


def check_ort_path(
    build: Path | None, manifest: dict[str, Any] | None, precision: str, name: str = "ort-session"
) -> Check:
    """ONNX Runtime opens the precision's variant (digest verified) and runs one input."""
    if build is None or manifest is None:
        return Check(name, SKIP, "no readable build folder")
    try:
        import numpy as np

        from edgexai.deploy.runtime.ort import OrtSession

        with OrtSession(build, precision, threads=1) as session:
            shape = (1, *(int(d) for d in session.input.shape[1:]))
            out = session.run(np.zeros(shape, np.dtype(session.input.dtype)))
    except EdgexaiError as exc:
        return Check(
            name,
            FAIL,
            str(exc),
            f"edgexai engine --model {build} --precision "
            f"{precision} --backend ort (it says what is wrong)",
        )
    shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in out.items())
    return Check(
        name,
        OK,
        f"{build}: {precision} ({session.variant} variant) runs on ONNX Runtime → {shapes}",
    )


# --- the whole report ----------------------------------------------------------------------


def diagnose(
    model: str | None = None,
    backend: str = "auto",
    source: str | None = None,
    builds: str | Path = BUILDS_ROOT,
    precision: str = "fp32",
    max_batch: int | None = None,
    detector: str | None = None,
    proposer: str = "detector",
    trt_module: Any = None,
) -> Report:
    """Run every check for what `edgexai run` would do with the same options: backend ('auto'
    resolves as in run), precision, batch profile, source (None = a camera), classifier build
    and — with the detector proposer — detector build."""
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
    if proposer == "detector":
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
