"""TensorRT backend. `TensorRT` owns every call into the `tensorrt` module; `TrtSession` runs it.

API generation by feature, not version string: TensorRT 10 has `BuilderFlag.FP16`/`INT8` and
weakly typed networks; TensorRT 11 removed them and every network is strongly typed.

| precision | TensorRT 10 (flags present)                    | TensorRT 11 (no flags)             |
| fp32      | model.onnx, weakly typed, no flag              | model.onnx                         |
| fp16      | model.onnx + BuilderFlag.FP16                  | model_fp16.onnx (FP16 graph)       |
| int8      | model_int8.onnx (Q/DQ), STRONGLY_TYPED network | model_int8.onnx (Q/DQ)             |

(Explicit Q/DQ quantisation wants a strongly typed network and no precision flags; where a 10.x
lacks STRONGLY_TYPED the INT8 flag is set instead.) Engines are cached by engine_cache.py; the
timing cache persists in `<build>/engines/timing.cache`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.errors import EdgexaiError
from edgexai.runtime.base import ONNX_ROLES, Session, make_hint
from edgexai.runtime.engine_cache import EngineCache, EngineMismatch

REBUILD = ("auto", "never", "always")


def import_tensorrt():
    try:
        import tensorrt
    except ImportError:
        raise EdgexaiError("the trt backend needs TensorRT's Python package (JetPack, or "
                           "pip install tensorrt from NVIDIA's index); use --backend ort "
                           "where TensorRT is absent") from None
    return tensorrt


class TensorRT:
    """Builder, parser, runtime and timing cache, for TensorRT 10 and 11 alike."""

    def __init__(self, trt: Any = None) -> None:
        self.trt = trt if trt is not None else import_tensorrt()
        self.logger = self.trt.Logger(self.trt.Logger.WARNING)
        flags = self.trt.BuilderFlag
        self.has_precision_flags = hasattr(flags, "FP16") and hasattr(flags, "INT8")
        self.has_strongly_typed = hasattr(self.trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED")

    @property
    def version(self) -> str:
        return str(getattr(self.trt, "__version__", "unknown"))

    @property
    def generation(self) -> str:
        return "10 (builder precision flags)" if self.has_precision_flags else "11 (strongly typed)"

    def onnx_variant(self, precision: str) -> str:
        """Which ONNX the engine for `precision` is built from (see the table above)."""
        if precision == "fp16":
            return "fp32" if self.has_precision_flags else "fp16"
        return precision

    def _network_flags(self, strongly_typed: bool) -> int:
        if strongly_typed and self.has_precision_flags and self.has_strongly_typed:
            return 1 << int(self.trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        return 0  # TensorRT 11: always strongly typed (the flag is deprecated and ignored)

    def build(self, onnx: bytes, precision: str, input_name: str, chw: tuple[int, ...],
              profile: dict[str, int], timing_cache: Path | None = None,
              workspace_mb: int = 1024) -> bytes:
        """Parse the ONNX and build a serialised engine for the batch profile."""
        trt = self.trt
        builder = trt.Builder(self.logger)
        qdq = precision == "int8"
        network = builder.create_network(self._network_flags(strongly_typed=qdq))
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(onnx):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise EdgexaiError("TensorRT could not parse the ONNX: " + "; ".join(errors[:5]))
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mb << 20)
        if self.has_precision_flags:
            if precision == "fp16":
                config.set_flag(trt.BuilderFlag.FP16)
            elif qdq and not self.has_strongly_typed:
                config.set_flag(trt.BuilderFlag.INT8)
        opt = builder.create_optimization_profile()
        opt.set_shape(input_name, (profile["min"], *chw), (profile["opt"], *chw),
                      (profile["max"], *chw))
        config.add_optimization_profile(opt)
        previous = b""
        if timing_cache is not None and timing_cache.is_file():
            previous = timing_cache.read_bytes()
        cache = config.create_timing_cache(previous)
        if not config.set_timing_cache(cache, False):  # a cache from another GPU/TRT: start over
            config.set_timing_cache(config.create_timing_cache(b""), False)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise EdgexaiError(f"TensorRT failed to build a {precision} engine (see its log above)")
        if timing_cache is not None:
            timing_cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = timing_cache.with_name(timing_cache.name + ".tmp")
            tmp.write_bytes(bytes(memoryview(config.get_timing_cache().serialize())))
            tmp.replace(timing_cache)
        return bytes(memoryview(serialized))

    def deserialize(self, data: bytes) -> Any:
        runtime = self.trt.Runtime(self.logger)
        engine = runtime.deserialize_cuda_engine(data)
        if engine is None:
            raise EdgexaiError("TensorRT could not deserialise the engine (corrupt, or built by "
                               "another TensorRT version); rebuild it with `edgexai engine`")
        self._runtime = runtime  # the runtime must outlive its engines
        return engine

    def io_tensors(self, engine: Any) -> list[tuple[str, bool, Any]]:
        """(name, is_input, numpy dtype) for every I/O tensor of an engine."""
        trt = self.trt
        out = []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            out.append((name, is_input, np.dtype(trt.nptype(engine.get_tensor_dtype(name)))))
        return out


class TrtSession(Session):
    """TensorRT engine for (precision, cam), from the cache or built from the ONNX."""

    backend = "trt"

    def __init__(self, build_dir: str | Path, precision: str = "fp32", cam: bool = True,
                 max_batch: int = 32, opt_batch: int | None = None, rebuild: str = "auto",
                 workspace_mb: int = 1024, trt_module: Any = None, memory: Any = None) -> None:
        super().__init__(build_dir, precision, cam)
        if rebuild not in REBUILD:
            raise EdgexaiError(f"rebuild must be one of {REBUILD}")
        if max_batch < 1:
            raise EdgexaiError("--max-batch must be at least 1")
        self.rt = TensorRT(trt_module)
        if memory is None:
            from edgexai.runtime.cuda_mem import load_device_memory

            memory = load_device_memory()
        self.mem = memory
        self.max_batch = max_batch
        self.profile = {"min": 1, "opt": min(opt_batch or max(1, max_batch // 2), max_batch),
                        "max": max_batch}
        self.onnx_variant = "nocam" if not cam else self.rt.onnx_variant(precision)
        role = ONNX_ROLES[self.onnx_variant]
        if role not in self.manifest.get("files", {}):
            raise EdgexaiError(f"TensorRT {self.rt.generation} builds {precision} from the "
                               f"'{role}' ONNX, which this build lacks; "
                               f"{make_hint(self.build_dir, self.onnx_variant)}")
        self.target = {"onnx_sha256": self.file_entry(role)["sha256"],
                       "gpu_name": self.mem.device_name(),
                       "compute_capability": self.mem.compute_capability(),
                       "trt_version": self.rt.version, "precision": precision,
                       "profile": self.profile}
        self.cache = EngineCache(self.build_dir)
        self.built = False
        data = self._engine_bytes(role, rebuild, workspace_mb)
        self.engine = self.rt.deserialize(data)
        self.context = self.engine.create_execution_context()
        self._setup_buffers()

    # -- engine ------------------------------------------------------------------------------
    def _engine_bytes(self, role: str, rebuild: str, workspace_mb: int) -> bytes:
        data: bytes | None = None
        if rebuild != "always":
            try:
                data = self.cache.load(self.target)
            except EngineMismatch as exc:
                if rebuild == "never":
                    raise EdgexaiError(f"cached engine refused: {exc}") from None
                data = None  # auto: rebuild over it
        if data is None and rebuild == "never":
            others = self.cache.others(self.target)
            why = f" (cached engines do not fit: {'; '.join(others)})" if others else ""
            raise EdgexaiError(f"no engine for this GPU/TensorRT/precision in "
                               f"{self.cache.dir}{why}; run `edgexai engine --model "
                               f"{self.build_dir} --precision {self.precision}` on this device")
        if data is None:
            onnx = self.read_verified(role)  # digest checked before TensorRT parses it
            chw = tuple(int(d) for d in self.input.shape[1:])
            data = self.rt.build(onnx, self.precision, self.input.name, chw, self.profile,
                                 timing_cache=self.cache.dir / "timing.cache",
                                 workspace_mb=workspace_mb)
            self.engine_path = self.cache.store(self.target, data)
            self.built = True
        else:
            self.engine_path = self.cache.paths(self._key())[0]
        self.engine_sha256 = hashlib.sha256(data).hexdigest()
        return data

    def _key(self) -> str:
        from edgexai.runtime.engine_cache import engine_key

        return engine_key(self.target)

    # -- buffers and inference ---------------------------------------------------------------
    def _setup_buffers(self) -> None:
        self._stream = self.mem.stream()
        self._io = self.rt.io_tensors(self.engine)
        names = {n for n, _, _ in self._io}
        want = {self.input.name} | {o.name for o in self.outputs}
        if not want <= names:
            raise EdgexaiError(f"engine I/O {sorted(names)} lacks {sorted(want - names)}")
        self._ptrs: dict[str, int] = {}
        self._dtypes: dict[str, Any] = {}
        meta = {t.name: t for t in self.inputs + self.outputs}
        for name, _, dtype in self._io:
            shape = meta[name].shape if name in meta else ()
            per_image = int(np.prod([int(d) for d in shape[1:]])) if shape else 1
            self._ptrs[name] = self.mem.malloc(self.max_batch * per_image * dtype.itemsize)
            self._dtypes[name] = dtype
            self.context.set_tensor_address(name, self._ptrs[name])

    def _infer(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        name = self.input.name
        x = x.astype(self._dtypes[name], copy=False)
        if not self.context.set_input_shape(name, tuple(x.shape)):
            raise EdgexaiError(f"TensorRT refused input shape {tuple(x.shape)}")
        self.mem.h2d(self._ptrs[name], x, self._stream)
        results = {}
        for out, is_input, dtype in self._io:
            if is_input:
                continue
            shape = tuple(self.context.get_tensor_shape(out))
            results[out] = np.empty(shape, dtype)
        if not self.context.execute_async_v3(self.mem.stream_handle(self._stream)):
            raise EdgexaiError("TensorRT execution failed (see its log)")
        for out, arr in results.items():
            self.mem.d2h(arr, self._ptrs[out], self._stream)
        self.mem.sync(self._stream)
        logits = results["logits"].astype(np.float32, copy=False)
        cam = results.get("cam")
        if cam is not None:
            # With TensorRT 10's FP16 flag the builder may run the CAM normaliser in float16,
            # where its +1e-8 is 0: an all-zero map would come back as 0/0. Zero is its value.
            cam = np.nan_to_num(cam.astype(np.float32, copy=False), nan=0.0)
        return logits, cam

    def describe(self) -> dict:
        return {**super().describe(), "trt_version": self.rt.version,
                "api": self.rt.generation, "onnx_variant": self.onnx_variant,
                "engine": str(self.engine_path), "built_now": self.built, **self.target}

    def close(self) -> None:
        for ptr in getattr(self, "_ptrs", {}).values():
            self.mem.free(ptr)
        self._ptrs = {}
