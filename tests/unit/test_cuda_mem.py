"""Device memory for the TensorRT runtime (runtime/cuda_mem.py) and doctor's view of it: one
function decides which backend is used and whether it works, for both (issue 13, item 3).

cuda-python and pycuda are stood in for by small module objects in sys.modules, shaped like the
real bindings: cuda-python's calls return (cudaError_t, value...) tuples, cudaError_t is an enum
whose cudaSuccess is 0 and cudaErrorInsufficientDriver 35 (CUDA runtime API error codes).
"""

from __future__ import annotations

import enum
import sys
import types

import numpy as np
import pytest

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.doctor import inference_stack
from edgexai.deploy.runtime import cuda_mem


class CudaError(enum.IntEnum):
    cudaSuccess = 0
    cudaErrorInsufficientDriver = 35
    cudaErrorNoDevice = 100


def fake_cudart(
    fail: CudaError | None = None,
    sms: int = 8,
    mem_bytes: int = 15 * 2**30,
    calls: list | None = None,
    runtime: int = 12060,
    driver: int = 12060,
) -> types.ModuleType:
    """A cuda-python runtime module; with `fail`, every call but the two version queries answers
    that error (as cuda-python 12.9's statically linked CUDA 12.9 runtime does on JetPack 6's
    CUDA 12.6 driver; cudaDriverGetVersion reports 0 where no driver is loaded)."""
    calls = [] if calls is None else calls
    rt = types.ModuleType("cuda.bindings.runtime")
    rt.cudaError_t = CudaError
    rt.cudaMemcpyKind = types.SimpleNamespace(cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2)
    ok = CudaError.cudaSuccess

    def call(name, *values):
        def f(*args):
            calls.append((name, *args))
            if fail is not None and not name.endswith("GetVersion"):
                return (fail, *([None] * len(values))) if values else (fail,)
            return (ok, *values) if values else (ok,)

        return f

    props = types.SimpleNamespace(
        name=b"Orin\0\0\0", major=8, minor=7, multiProcessorCount=sms, totalGlobalMem=mem_bytes
    )
    rt.cudaGetDevice = call("cudaGetDevice", 0)
    rt.cudaGetDeviceProperties = call("cudaGetDeviceProperties", props)
    rt.cudaRuntimeGetVersion = call("cudaRuntimeGetVersion", runtime)
    rt.cudaDriverGetVersion = call("cudaDriverGetVersion", driver)
    rt.cudaMalloc = call("cudaMalloc", 0xA000)
    rt.cudaFree = call("cudaFree")
    rt.cudaStreamCreate = call("cudaStreamCreate", 0x5)
    rt.cudaStreamDestroy = call("cudaStreamDestroy")
    rt.cudaStreamSynchronize = call("cudaStreamSynchronize")
    rt.cudaMemcpyAsync = call("cudaMemcpyAsync")
    return rt


def fake_pycuda(monkeypatch) -> None:
    """A working pycuda: if anything picks it while cuda-python is installed, tests notice."""
    pkg = types.ModuleType("pycuda")
    driver = types.ModuleType("pycuda.driver")
    dev = types.SimpleNamespace(
        name=lambda: "Orin",
        compute_capability=lambda: (8, 7),
        get_attribute=lambda a: 16,
        total_memory=lambda: 61 * 2**30,
    )
    driver.Context = types.SimpleNamespace(get_device=lambda: dev)
    driver.device_attribute = types.SimpleNamespace(MULTIPROCESSOR_COUNT="sms")
    driver.init = lambda: None
    driver.Device = lambda i: dev
    pkg.driver = driver
    monkeypatch.setitem(sys.modules, "pycuda", pkg)
    monkeypatch.setitem(sys.modules, "pycuda.driver", driver)
    monkeypatch.setitem(sys.modules, "pycuda.autoinit", types.ModuleType("pycuda.autoinit"))


def install_cuda_python(monkeypatch, rt: types.ModuleType | None, layout: str = "new") -> None:
    """Put `rt` where cuda-python >= 12.6.1 (cuda.bindings.runtime) or older (cuda.cudart) has
    it; None = cuda-python not installed."""
    cuda = types.ModuleType("cuda")
    bindings = types.ModuleType("cuda.bindings")
    monkeypatch.setitem(sys.modules, "cuda", cuda if rt is not None else None)
    monkeypatch.setitem(sys.modules, "cuda.bindings", bindings if layout == "new" and rt else None)
    monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", rt if layout == "new" else None)
    monkeypatch.setitem(sys.modules, "cuda.cudart", rt if layout == "old" else None)
    if rt is not None:
        if layout == "new":
            bindings.runtime = rt
            cuda.bindings = bindings
        else:
            cuda.cudart = rt


@pytest.mark.parametrize("layout", ["new", "old"])
def test_working_cuda_python_on_either_import_path(monkeypatch, layout):
    calls: list = []
    install_cuda_python(monkeypatch, fake_cudart(calls=calls), layout)
    mem = cuda_mem.load_device_memory()
    assert isinstance(mem, cuda_mem.CudaPythonMemory)
    info = mem.info()
    assert (info.name, info.compute_capability, info.sm_count, info.memory_gib) == (
        "Orin",
        "8.7",
        8,
        15,
    )
    assert info.runtime_version == "12.6" and info.driver_version == "12.6"
    assert ("cuda.bindings.runtime" if layout == "new" else "cuda.cudart") in info.backend
    stream = mem.stream()
    mem.h2d(mem.malloc(16), np.zeros(4, np.float32), stream)
    mem.destroy_stream(stream)
    assert ("cudaStreamDestroy", 0x5) in calls


NEWER_RUNTIME = {"fail": CudaError.cudaErrorInsufficientDriver, "runtime": 12090}


def test_cuda_python_that_imports_but_fails_is_an_error_not_a_fallback(monkeypatch):
    install_cuda_python(monkeypatch, fake_cudart(**NEWER_RUNTIME))
    fake_pycuda(monkeypatch)  # a working pycuda must not hide the broken cuda-python
    with pytest.raises(EdgexaiError) as err:
        cuda_mem.load_device_memory()
    msg = str(err.value)
    assert "cudaErrorInsufficientDriver (35)" in msg and "12.6.2.post1" in msg
    assert "runtime 12.9 is newer than the driver's CUDA 12.6" in msg and "\n" not in msg


def test_no_driver_is_told_apart_from_an_old_one(monkeypatch):
    install_cuda_python(
        monkeypatch, fake_cudart(fail=CudaError.cudaErrorInsufficientDriver, driver=0)
    )
    with pytest.raises(cuda_mem.DeviceMemoryError) as err:
        cuda_mem.load_device_memory()
    assert "no NVIDIA driver is loaded" in err.value.problem and "video" in err.value.fix


def test_doctor_fails_exactly_where_the_runtime_would(monkeypatch):
    """cuda-python broken, pycuda and nvidia-smi fine: the runtime cannot run, so doctor is not
    ready (at 27c6b1b it fell back to pycuda and said ready)."""
    install_cuda_python(monkeypatch, fake_cudart(**NEWER_RUNTIME))
    fake_pycuda(monkeypatch)
    monkeypatch.setattr(inference_stack.shutil, "which", lambda name: "/usr/bin/nvidia-smi")
    smi = types.SimpleNamespace(returncode=0, stdout="Orin (nvgpu), 8.7\n", stderr="")
    device = inference_stack.cuda_device(run=lambda *a, **k: smi)
    assert device.name is None and "cudaErrorInsufficientDriver" in device.error
    cuda_check = inference_stack.check_cuda(device, required=True)
    assert cuda_check.status == "fail" and "12.6.2.post1" in cuda_check.hint
    check = inference_stack.check_cuda_python(required=True)
    assert check.status == "fail" and "cudaErrorInsufficientDriver" in check.detail


def test_doctor_reports_the_device_the_runtime_sees(monkeypatch):
    install_cuda_python(monkeypatch, fake_cudart(sms=16, mem_bytes=62841 * 2**20))
    device = inference_stack.cuda_device()
    assert (device.name, device.sm_count, device.memory_gib) == ("Orin", 16, 61)
    assert "cuda.bindings.runtime" in device.source
    assert inference_stack.check_cuda(device, required=True).status == "ok"
    assert inference_stack.check_cuda_python(required=True).status == "ok"


def test_no_backend_at_all(monkeypatch):
    install_cuda_python(monkeypatch, None)
    monkeypatch.setitem(sys.modules, "pycuda", None)
    monkeypatch.setitem(sys.modules, "pycuda.driver", None)
    with pytest.raises(cuda_mem.MemoryBackendMissing, match="cuda-python"):
        cuda_mem.load_device_memory()
    assert inference_stack.check_cuda_python(required=True).status == "fail"
    assert inference_stack.check_cuda_python(required=False).status == "skip"


def test_pycuda_is_used_only_without_cuda_python(monkeypatch):
    install_cuda_python(monkeypatch, None)
    fake_pycuda(monkeypatch)
    mem = cuda_mem.load_device_memory()
    assert isinstance(mem, cuda_mem.PyCudaMemory)
    assert (mem.info().sm_count, mem.info().memory_gib) == (16, 61)
