"""Device memory and streams for the TensorRT backend.

cuda-python is what TensorRT's own 10/11 samples use (`cuda.bindings.runtime`, or `cuda.cudart`
in older releases); pycuda is accepted where cuda-python is absent (older JetPack images). Both
sit behind one small interface so `trt.py` never cares which one is installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgexai.errors import EdgexaiError


class DeviceMemory:
    """The interface TrtSession uses: device info, malloc/free, async copies, one stream."""

    name = "none"

    def device_name(self) -> str: raise NotImplementedError
    def compute_capability(self) -> str: raise NotImplementedError
    def malloc(self, nbytes: int) -> int: raise NotImplementedError
    def free(self, ptr: int) -> None: raise NotImplementedError
    def stream(self) -> Any: raise NotImplementedError
    def stream_handle(self, stream: Any) -> int: return int(stream)
    def h2d(self, ptr: int, host: np.ndarray, stream: Any) -> None: raise NotImplementedError
    def d2h(self, host: np.ndarray, ptr: int, stream: Any) -> None: raise NotImplementedError
    def sync(self, stream: Any) -> None: raise NotImplementedError


class CudaPythonMemory(DeviceMemory):
    name = "cuda-python"

    def __init__(self, cudart: Any) -> None:
        self.rt = cudart

    def _call(self, result: Any) -> Any:
        err, *rest = result if isinstance(result, tuple) else (result,)
        if int(err) != int(self.rt.cudaError_t.cudaSuccess):
            raise EdgexaiError(f"CUDA runtime error {err}")
        return rest[0] if len(rest) == 1 else rest

    def _props(self) -> Any:
        dev = self._call(self.rt.cudaGetDevice())
        return self._call(self.rt.cudaGetDeviceProperties(dev))

    def device_name(self) -> str:
        name = self._props().name
        return (name.decode(errors="replace") if isinstance(name, bytes) else str(name)).rstrip("\0")

    def compute_capability(self) -> str:
        p = self._props()
        return f"{p.major}.{p.minor}"

    def malloc(self, nbytes: int) -> int:
        return int(self._call(self.rt.cudaMalloc(max(1, nbytes))))

    def free(self, ptr: int) -> None:
        self._call(self.rt.cudaFree(ptr))

    def stream(self) -> Any:
        return self._call(self.rt.cudaStreamCreate())

    def h2d(self, ptr: int, host: np.ndarray, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._call(self.rt.cudaMemcpyAsync(ptr, host.ctypes.data, host.nbytes, kind, stream))

    def d2h(self, host: np.ndarray, ptr: int, stream: Any) -> None:
        kind = self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._call(self.rt.cudaMemcpyAsync(host.ctypes.data, ptr, host.nbytes, kind, stream))

    def sync(self, stream: Any) -> None:
        self._call(self.rt.cudaStreamSynchronize(stream))


class PyCudaMemory(DeviceMemory):
    name = "pycuda"

    def __init__(self, driver: Any) -> None:
        self.cuda = driver
        self._allocs: dict[int, Any] = {}  # keep DeviceAllocation objects alive

    def device_name(self) -> str:
        return str(self.cuda.Context.get_device().name())

    def compute_capability(self) -> str:
        major, minor = self.cuda.Context.get_device().compute_capability()
        return f"{major}.{minor}"

    def malloc(self, nbytes: int) -> int:
        alloc = self.cuda.mem_alloc(max(1, nbytes))
        self._allocs[int(alloc)] = alloc
        return int(alloc)

    def free(self, ptr: int) -> None:
        alloc = self._allocs.pop(ptr, None)
        if alloc is not None:
            alloc.free()

    def stream(self) -> Any:
        return self.cuda.Stream()

    def stream_handle(self, stream: Any) -> int:
        return int(stream.handle)

    def h2d(self, ptr: int, host: np.ndarray, stream: Any) -> None:
        self.cuda.memcpy_htod_async(ptr, host, stream)

    def d2h(self, host: np.ndarray, ptr: int, stream: Any) -> None:
        self.cuda.memcpy_dtoh_async(host, ptr, stream)

    def sync(self, stream: Any) -> None:
        stream.synchronize()


def load_device_memory() -> DeviceMemory:
    """cuda-python if importable (new then old layout), else pycuda, else a clear error."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        try:
            from cuda import cudart  # cuda-python < 12.6
        except ImportError:
            cudart = None
    if cudart is not None:
        return CudaPythonMemory(cudart)
    try:
        import pycuda.autoinit  # noqa: F401  (creates the context)
        import pycuda.driver as driver
    except ImportError:
        raise EdgexaiError("the trt backend needs cuda-python (pip install 'edgexai[trt]') or "
                           "pycuda for device memory") from None
    return PyCudaMemory(driver)
