"""Device memory and streams for the TensorRT backend, and the one answer to "which memory backend
does the runtime use here, and does it work" (`load_device_memory`, also called by `edgexai doctor`).

cuda-python is what TensorRT's own 10/11 samples use (`cuda.bindings.runtime`, or `cuda.cudart`
before cuda-python 12.6.1 moved the modules); pycuda is accepted where cuda-python is absent
(older JetPack images). The backend is chosen by what is installed, in that order, and then
checked by asking it for the device: a cuda-python that imports but whose calls fail (a CUDA 12.9
or 13 runtime on JetPack 6's CUDA 12.6 driver answers cudaErrorInsufficientDriver, error 35) is
an error, never a silent switch to pycuda — doctor then reports exactly what the runtime would
hit. Both backends sit behind one small interface so `trt.py` never cares which one is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError

# JetPack 6.x runs a CUDA 12.6 driver: a cuda-python whose runtime is newer fails there.
CUDA_PYTHON_HINT = (
    "pip install -c jetson/constraints-jetpack6.txt 'edgexai[jetson]' (on "
    "JetPack 6: cuda-python 12.6.2.post1, whose runtime matches the CUDA 12.6 "
    "driver); elsewhere a cuda-python < 13 for a CUDA 12 driver"
)
DRIVER_HINT = (
    "on a Jetson: JetPack 6 provides the driver — run as a user in the 'video' and "
    "'render' groups, in containers pass --runtime nvidia; elsewhere install the "
    "NVIDIA driver"
)


class DeviceMemoryError(EdgexaiError):
    """The memory backend cannot reach the device: what failed (`problem`) and what to do (`fix`),
    kept apart so doctor shows them on their own lines; str() is the one-line runtime error."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem, self.fix = problem, fix


class MemoryBackendMissing(DeviceMemoryError):
    """Neither cuda-python nor pycuda is importable: the trt backend cannot move tensors."""


@dataclass(frozen=True)
class GpuInfo:
    """The device as the memory backend sees it; the engine key's device fields come from here.

    `name` and `compute_capability` alone cannot tell AGX Orin, Orin NX and Orin Nano apart (all
    "Orin", 8.7): `sm_count` (16/14 AGX, 8 NX and Nano 8 GB, 4 Nano 4 GB) and `memory_gib` (the
    module's memory, shared with the CPU on a Jetson; rounded to whole GiB so a firmware carve-out
    change of a few MiB does not invalidate engines) do.
    """

    name: str
    compute_capability: str
    sm_count: int
    memory_gib: int
    backend: str
    runtime_version: str | None = None
    driver_version: str | None = None


def _cuda_version(value: Any) -> str | None:
    try:
        v = int(value)
    except (TypeError, ValueError):
        return None
    return f"{v // 1000}.{v % 1000 // 10}" if v > 0 else None


def _gib(nbytes: Any) -> int:
    return int(round(int(nbytes) / 2**30))


class DeviceMemory:
    """The interface TrtSession uses: device info, malloc/free, async copies, one stream."""

    name = "none"

    def info(self) -> GpuInfo:
        raise NotImplementedError

    def malloc(self, nbytes: int) -> int:
        raise NotImplementedError

    def free(self, ptr: int) -> None:
        raise NotImplementedError

    def stream(self) -> Any:
        raise NotImplementedError

    def destroy_stream(self, stream: Any) -> None:
        """Release a stream (default: nothing)."""

    def stream_handle(self, stream: Any) -> int:
        return int(stream)

    def h2d(self, ptr: int, host: np.ndarray, stream: Any) -> None:
        raise NotImplementedError

    def d2h(self, host: np.ndarray, ptr: int, stream: Any) -> None:
        raise NotImplementedError

    def sync(self, stream: Any) -> None:
        raise NotImplementedError


class CudaPythonMemory(DeviceMemory):
    name = "cuda-python"

    def __init__(self, cudart: Any, module: str = "cuda.bindings.runtime") -> None:
        self.rt = cudart
        self.module = module
        self._info: GpuInfo | None = None

    def _call(self, result: Any, what: str = "CUDA runtime call") -> Any:
        err, *rest = result if isinstance(result, tuple) else (result,)
        if int(err) != int(self.rt.cudaError_t.cudaSuccess):
            name = getattr(err, "name", None) or str(err)
            problem = f"cuda-python ({self.module}): {what} failed with {name} ({int(err)})"
            fix = DRIVER_HINT
            if int(err) == 35:  # cudaErrorInsufficientDriver: no driver, or an older one
                runtime, driver = self._versions()
                if driver is None:
                    problem += ": no NVIDIA driver is loaded"
                else:
                    problem += (
                        f": its CUDA runtime {runtime or '?'} is newer than the driver's "
                        f"CUDA {driver}"
                    )
                    fix = CUDA_PYTHON_HINT
            raise DeviceMemoryError(problem, fix)
        return rest[0] if len(rest) == 1 else rest

    def _versions(self) -> tuple[str | None, str | None]:
        """(runtime, driver) CUDA versions, None where unknown or (driver) absent."""
        out = []
        for call in ("cudaRuntimeGetVersion", "cudaDriverGetVersion"):
            try:
                err, value = getattr(self.rt, call)()
                out.append(_cuda_version(value) if int(err) == 0 else None)
            except Exception:  # versions only explain an error: never raise from here
                out.append(None)
        return out[0], out[1]

    def info(self) -> GpuInfo:
        if self._info is None:
            dev = self._call(self.rt.cudaGetDevice(), "cudaGetDevice")
            p = self._call(self.rt.cudaGetDeviceProperties(dev), "cudaGetDeviceProperties")
            name = p.name
            if isinstance(name, bytes):
                name = name.split(b"\0", 1)[0].decode(errors="replace")
            runtime, driver = self._versions()
            self._info = GpuInfo(
                str(name).rstrip("\0").strip(),
                f"{p.major}.{p.minor}",
                int(p.multiProcessorCount),
                _gib(p.totalGlobalMem),
                f"cuda-python ({self.module})",
                runtime,
                driver,
            )
        return self._info

    def malloc(self, nbytes: int) -> int:
        return int(self._call(self.rt.cudaMalloc(max(1, nbytes)), "cudaMalloc"))

    def free(self, ptr: int) -> None:
        self._call(self.rt.cudaFree(ptr), "cudaFree")

    def stream(self) -> Any:
        return self._call(self.rt.cudaStreamCreate(), "cudaStreamCreate")

    def destroy_stream(self, stream: Any) -> None:
        self._call(self.rt.cudaStreamDestroy(stream), "cudaStreamDestroy")

    def h2d(self, ptr: int, host: np.ndarray, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._call(
            self.rt.cudaMemcpyAsync(ptr, host.ctypes.data, host.nbytes, kind, stream),
            "cudaMemcpyAsync",
        )

    def d2h(self, host: np.ndarray, ptr: int, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._call(
            self.rt.cudaMemcpyAsync(host.ctypes.data, ptr, host.nbytes, kind, stream),
            "cudaMemcpyAsync",
        )

    def sync(self, stream: Any) -> None:
        self._call(self.rt.cudaStreamSynchronize(stream), "cudaStreamSynchronize")


class PyCudaMemory(DeviceMemory):
    name = "pycuda"

    def __init__(self, driver: Any) -> None:
        self.cuda = driver
        self._allocs: dict[int, Any] = {}  # keep DeviceAllocation objects alive

    def info(self) -> GpuInfo:
        dev = self.cuda.Context.get_device()
        major, minor = dev.compute_capability()
        sms = dev.get_attribute(self.cuda.device_attribute.MULTIPROCESSOR_COUNT)
        version = getattr(self.cuda, "get_driver_version", lambda: None)()
        return GpuInfo(
            str(dev.name()).strip(),
            f"{major}.{minor}",
            int(sms),
            _gib(dev.total_memory()),
            "pycuda",
            None,
            _cuda_version(version),
        )

    def malloc(self, nbytes: int) -> int:
        alloc = self.cuda.mem_alloc(max(1, nbytes))
        self._allocs[int(alloc)] = alloc
        return int(alloc)

    def free(self, ptr: int) -> None:
        alloc = self._allocs.pop(ptr, None)
        if alloc is not None:
            alloc.free()

    def stream(self) -> Any:
        return self.cuda.Stream()  # pycuda frees the stream with its object

    def stream_handle(self, stream: Any) -> int:
        return int(stream.handle)

    def h2d(self, ptr: int, host: np.ndarray, stream: Any) -> None:
        self.cuda.memcpy_htod_async(ptr, host, stream)

    def d2h(self, host: np.ndarray, ptr: int, stream: Any) -> None:
        self.cuda.memcpy_dtoh_async(host, ptr, stream)

    def sync(self, stream: Any) -> None:
        stream.synchronize()


def cuda_python_runtime() -> tuple[Any, str] | tuple[None, None]:
    """cuda-python's runtime module and its name: the new layout first, then the old one.

    (None, None) when cuda-python is not installed; a cuda-python that is installed but fails to
    import (a broken wheel raises OSError, RuntimeError, ...) is an error, not "absent".
    """
    import importlib

    for module in ("cuda.bindings.runtime", "cuda.cudart"):  # cudart: cuda-python < 12.6.1
        try:
            return importlib.import_module(module), module
        except ImportError:
            continue
        except Exception as exc:
            raise DeviceMemoryError(
                f"cuda-python ({module}) fails to import ({type(exc).__name__}: {exc})",
                CUDA_PYTHON_HINT,
            ) from None
    return None, None


def load_device_memory() -> DeviceMemory:
    """The memory backend the trt runtime uses here, proven to work by asking it for the device.

    cuda-python if importable, else pycuda; MemoryBackendMissing when neither is,
    DeviceMemoryError (naming the backend, the failing call and the fix) when the chosen one
    cannot reach the device.
    """
    cudart, module = cuda_python_runtime()
    if cudart is not None:
        mem: DeviceMemory = CudaPythonMemory(cudart, module)
    else:
        try:
            import pycuda.driver as driver
        except ImportError:
            raise MemoryBackendMissing(
                "neither cuda-python nor pycuda is importable, and the "
                "trt backend needs one for device memory",
                CUDA_PYTHON_HINT,
            ) from None
        except Exception as exc:  # a pycuda built against another CUDA: OSError, ...
            raise DeviceMemoryError(
                f"pycuda does not load ({type(exc).__name__}: {exc})", CUDA_PYTHON_HINT
            ) from None
        try:
            import pycuda.autoinit  # noqa: F401  (creates the context; raises without a device)
        except Exception as exc:  # pycuda raises its own driver errors here, not ImportError
            raise DeviceMemoryError(
                f"pycuda cannot open the CUDA device ({type(exc).__name__}: {exc})", DRIVER_HINT
            ) from None
        mem = PyCudaMemory(driver)
    try:
        mem.info()
    except EdgexaiError:
        raise
    except Exception as exc:  # a broken binding (no libcuda, ABI mismatch) raises anything
        raise DeviceMemoryError(
            f"{mem.name} cannot query the CUDA device ({type(exc).__name__}: {exc})",
            CUDA_PYTHON_HINT,
        ) from None
    return mem
