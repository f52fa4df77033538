"""A small fake of exactly the `tensorrt` surface edgexai.deploy.runtime.trt uses, in two generations.

generation 10: BuilderFlag has FP16/INT8 (weakly typed networks + flags, STRONGLY_TYPED optional);
generation 11: no precision flags (always strongly typed). Every call is recorded in `calls`, so
tests assert which calls happen. The "engine" is the parsed ONNX behind a magic header; executing
it runs ONNX Runtime on bytes read from and written to the fake device memory at the addresses the
session set, so the whole buffer path is exercised.

Where edgexai's code depends on TensorRT's behaviour, the fake behaves as the real bindings do
(sources: NVIDIA/TensorRT python/src/infer/pyCore.cpp, the 10.x and 11.0 Python API pages):
- `IBuilderConfig.create_timing_cache(bytes)` returns None for bytes it cannot read (the binding
  returns the C++ `createTimingCache` pointer, nullptr → None); `b""` makes an empty cache;
  `set_timing_cache` returns False for a cache made on another device.
- `OnnxParser.parse` returns False, with `num_errors`/`get_error(i)` filled, for bytes that are
  not an ONNX model and for nodes the parser has no importer for (the operator matrix of
  edgexai/train/export/data, the same one the export check uses).
- `Runtime.deserialize_cuda_engine` returns None for bytes that are not an engine.
- Enum values: TensorRT 10.x `NetworkDefinitionCreationFlag` EXPLICIT_BATCH = 0 (deprecated),
  STRONGLY_TYPED = 1; 11.0 STRONGLY_TYPED = 0 (deprecated and ignored: 11 is always strongly
  typed; EXPLICIT_BATCH is gone). 10.x `BuilderFlag` FP16 = 0, INT8 = 1, REFIT = 4, TF32 = 6;
  11.0 has no FP16/INT8 (members the code never reads are left out).
"""

from __future__ import annotations

import json
import types
from typing import Any

import numpy as np

from edgexai.deploy.runtime.cuda_mem import DeviceMemory, GpuInfo

MAGIC = b"FAKE-TRT-ENGINE\n"


class FakeMemory(DeviceMemory):
    name = "fake"

    def __init__(
        self, gpu: str = "Orin (fake)", cc: str = "8.7", sm_count: int = 16, memory_gib: int = 61
    ) -> None:
        self.gpu, self.cc, self.sm_count, self.memory_gib = gpu, cc, sm_count, memory_gib
        self.buffers: dict[int, bytearray] = {}
        self.freed: list[int] = []
        self.streams: list[int] = []
        self.destroyed_streams: list[int] = []
        self._next = 0x1000

    def info(self) -> GpuInfo:
        return GpuInfo(self.gpu, self.cc, self.sm_count, self.memory_gib, "fake")

    # the interface before GpuInfo (git 27c6b1b), so regression tests can run against that tree
    def device_name(self) -> str:
        return self.gpu

    def compute_capability(self) -> str:
        return self.cc

    def malloc(self, nbytes: int) -> int:
        ptr = self._next
        self._next += nbytes + 256
        self.buffers[ptr] = bytearray(nbytes)
        return ptr

    def free(self, ptr: int) -> None:
        self.buffers.pop(ptr)
        self.freed.append(ptr)

    def stream(self) -> int:
        self.streams.append(7 + len(self.streams))
        return self.streams[-1]

    def destroy_stream(self, stream: Any) -> None:
        self.destroyed_streams.append(stream)

    def h2d(self, ptr: int, host: np.ndarray, stream: Any) -> None:
        self.buffers[ptr][: host.nbytes] = host.tobytes()

    def d2h(self, host: np.ndarray, ptr: int, stream: Any) -> None:
        host[...] = np.frombuffer(bytes(self.buffers[ptr][: host.nbytes]), host.dtype).reshape(
            host.shape
        )

    def sync(self, stream: Any) -> None:
        pass

    def read(self, ptr: int, dtype, shape) -> np.ndarray:
        n = int(np.prod(shape)) * np.dtype(dtype).itemsize
        return np.frombuffer(bytes(self.buffers[ptr][:n]), dtype).reshape(shape)

    def write(self, ptr: int, arr: np.ndarray) -> None:
        self.buffers[ptr][: arr.nbytes] = np.ascontiguousarray(arr).tobytes()


def make_fake_trt(
    generation: int, memory: FakeMemory, calls: list, strongly_typed_flag: bool = True
) -> types.ModuleType:
    """A module object standing in for `tensorrt` (10.x or 11.x)."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.3.0" if generation == 10 else "11.1.0"

    def rec(*item):
        calls.append(item)

    class Logger:
        WARNING = 2

        def __init__(self, level):
            rec("Logger", level)

    if generation == 10:
        flags = {"FP16": 0, "INT8": 1, "REFIT": 4, "TF32": 6}
        net_flags = {"EXPLICIT_BATCH": 0}
        if strongly_typed_flag:
            net_flags["STRONGLY_TYPED"] = 1
    else:
        flags, net_flags = {}, {"STRONGLY_TYPED": 0}
    trt.BuilderFlag = type("BuilderFlag", (), flags)
    trt.NetworkDefinitionCreationFlag = type("NetworkDefinitionCreationFlag", (), net_flags)
    device = f"{memory.gpu}|{memory.cc}|{memory.sm_count}|{memory.memory_gib}"
    trt.MemoryPoolType = type("MemoryPoolType", (), {"WORKSPACE": 0})
    trt.TensorIOMode = type("TensorIOMode", (), {"INPUT": "in", "OUTPUT": "out"})
    trt.Logger = Logger

    class Network:
        def __init__(self, flags):
            self.flags = flags
            self.onnx: bytes | None = None

    class OnnxParser:
        def __init__(self, network, logger):
            self.network = network
            self.errors: list[str] = []

        def parse(self, data):
            import onnx

            from edgexai.train.export.ops_check import support_table

            rec("parse", len(data))
            try:
                model = onnx.load_from_string(bytes(data))
            except Exception as exc:
                self.errors.append(f"ModelImporter: failed to parse the ONNX model ({exc})")
                return False
            if model.ir_version <= 0 or not model.graph.node:
                self.errors.append("ModelImporter: not an ONNX model with a graph")
                return False
            table = support_table()
            for i, node in enumerate(model.graph.node):
                spec = table.get(node.op_type)
                if node.domain not in ("", "ai.onnx") or spec is None or not spec.supported:
                    self.errors.append(
                        f"In node {i} (importNode): UNSUPPORTED_NODE: No importer "
                        f"registered for op: {node.op_type}"
                    )
            if self.errors:
                return False
            self.network.onnx = bytes(data)
            return True

        @property
        def num_errors(self):
            return len(self.errors)

        def get_error(self, i):
            return self.errors[i]

    class TimingCache:
        HEADER = b"TIMING:"

        def __init__(self, data, device):
            self.device = device
            self.data = bytes(data) or self.HEADER + device.encode() + b":"

        def serialize(self):
            return self.data + b"+"

    class Profile:
        def set_shape(self, name, lo, opt, hi):
            rec("set_shape", name, tuple(lo), tuple(opt), tuple(hi))
            self.shapes = {name: (tuple(lo), tuple(opt), tuple(hi))}

    class Config:
        def __init__(self):
            self.flags: list[int] = []
            self.profiles: list[Profile] = []
            self.cache = None

        def set_memory_pool_limit(self, pool, size):
            rec("set_memory_pool_limit", pool, size)

        def set_flag(self, flag):
            rec("set_flag", flag)
            self.flags.append(flag)

        def add_optimization_profile(self, profile):
            rec("add_optimization_profile")
            self.profiles.append(profile)
            return 0

        def create_timing_cache(self, data):
            data = bytes(data)
            rec("create_timing_cache", data)
            if not data:
                return TimingCache(b"", device)
            if not data.startswith(TimingCache.HEADER) or data.count(b":") < 2:
                return None  # the binding's nullptr: bytes TensorRT cannot read
            return TimingCache(data, data.split(b":")[1].decode(errors="replace"))

        def set_timing_cache(self, cache, ignore_mismatch):
            rec("set_timing_cache", ignore_mismatch)
            if cache.device != device and not ignore_mismatch:
                return False  # made on another device: TensorRT refuses it
            self.cache = cache
            return True

        def get_timing_cache(self):
            return self.cache

    class Builder:
        def __init__(self, logger):
            rec("Builder")

        def create_network(self, flags):
            rec("create_network", flags)
            return Network(flags)

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return Profile()

        def build_serialized_network(self, network, config):
            rec("build_serialized_network")
            if network.onnx is None or not config.profiles:
                return None
            header = {
                "flags": config.flags,
                "network_flags": network.flags,
                "profile": {k: v for p in config.profiles for k, v in p.shapes.items()},
            }
            return MAGIC + json.dumps(header).encode() + b"\n" + network.onnx

    class Context:
        def __init__(self, engine):
            self.engine = engine
            self.addresses: dict[str, int] = {}
            self.shape: tuple[int, ...] | None = None

        def set_tensor_address(self, name, ptr):
            rec("set_tensor_address", name)
            self.addresses[name] = ptr
            return True

        def set_input_shape(self, name, shape):
            rec("set_input_shape", name, tuple(shape))
            lo, _, hi = self.engine.profile[name]
            if not all(a <= s <= b for a, s, b in zip(lo, shape, hi, strict=True)):
                return False
            self.shape = tuple(shape)
            return True

        def get_tensor_shape(self, name):
            spec = self.engine.io[name]
            return tuple(self.shape[0] if d == "N" else d for d in spec["shape"])

        def execute_async_v3(self, stream_handle):
            rec("execute_async_v3", type(stream_handle).__name__)
            eng = self.engine
            name = eng.input_name
            x = memory.read(self.addresses[name], eng.io[name]["dtype"], self.shape)
            outs = eng.session.run(None, {name: x})
            for o, arr in zip(eng.output_names, outs, strict=True):
                memory.write(self.addresses[o], arr)
            return True

    class Engine:
        def __init__(self, onnx_bytes, profile):
            import onnxruntime as ort

            self.session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
            self.profile = {k: tuple(map(tuple, v)) for k, v in profile.items()}
            self.io: dict[str, dict] = {}
            types_ = {
                "tensor(float)": np.float32,
                "tensor(float16)": np.float16,
                "tensor(uint8)": np.uint8,
                "tensor(int32)": np.int32,
            }
            for v in self.session.get_inputs() + self.session.get_outputs():
                self.io[v.name] = {"shape": v.shape, "dtype": types_[v.type]}
            self.input_name = self.session.get_inputs()[0].name
            self.output_names = [o.name for o in self.session.get_outputs()]
            self.names = [self.input_name] + self.output_names

        @property
        def num_io_tensors(self):
            return len(self.names)

        def get_tensor_name(self, i):
            return self.names[i]

        def get_tensor_mode(self, name):
            return trt.TensorIOMode.INPUT if name == self.input_name else trt.TensorIOMode.OUTPUT

        def get_tensor_dtype(self, name):
            return self.io[name]["dtype"]

        def create_execution_context(self):
            rec("create_execution_context")
            return Context(self)

    class Runtime:
        def __init__(self, logger):
            rec("Runtime")

        def deserialize_cuda_engine(self, data):
            rec("deserialize_cuda_engine")
            data = bytes(data)
            if not data.startswith(MAGIC):
                return None
            header, onnx_bytes = data[len(MAGIC) :].split(b"\n", 1)
            try:
                return Engine(onnx_bytes, json.loads(header)["profile"])
            except Exception:
                return None

    trt.Builder = Builder
    trt.OnnxParser = OnnxParser
    trt.Runtime = Runtime
    trt.nptype = lambda dt: dt
    return trt
