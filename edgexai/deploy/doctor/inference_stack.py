"""Doctor's inference-stack checks: TensorRT, the CUDA device, cuda-python and ONNX Runtime.

Why: these are what the trt and ort runtimes need; each is probed (imported, never required)
exactly as the runtime reaches it, so a device the runtime cannot use is never reported as ready.
Stdlib at import time; never torch.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgexai.deploy.doctor.findings import (
    FAIL,
    OK,
    SKIP,
    VENV_HINT,
    WARN,
    Check,
    Device,
    try_import,
)


def tensorrt_version() -> tuple[str | None, str | None]:
    """(tensorrt.__version__, None) or (None, why it cannot be imported)."""
    trt, why = try_import("tensorrt")
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
        if module is None and try_import("pycuda.driver")[0] is not None:
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
    ort, why = try_import("onnxruntime")
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
