"""TensorRT backend. `TensorRT` owns every call into the `tensorrt` module; `TrtSession` runs it.

API generation by feature, not version string: TensorRT 10 has `BuilderFlag.FP16`/`INT8` and
weakly typed networks; TensorRT 11 removed them and every network is strongly typed.

| precision | TensorRT 10 (flags present)                    | TensorRT 11 (no flags)             |
| fp32      | model.onnx, weakly typed, no flag              | model.onnx                         |
| fp16      | model.onnx + BuilderFlag.FP16                  | model_fp16.onnx (FP16 graph)       |
| int8      | model_int8.onnx (Q/DQ), STRONGLY_TYPED network | model_int8.onnx (Q/DQ)             |

(Explicit Q/DQ quantisation wants a strongly typed network and no precision flags; where a 10.x
lacks STRONGLY_TYPED the INT8 flag is set instead.) Engines are cached by engine_cache.py; the
timing cache persists in `<build>/engines/timing-<TensorRT version>-<GPU>….cache`
(engine_cache.timing_cache_name), one per TensorRT version and GPU. A cache TensorRT will not
take (corrupt, foreign, unreadable) means starting from an empty one, and a cache that cannot be
written is a warning: neither ever costs an engine.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import VARIANT_ROLES
from edgexai.deploy.runtime.engine_cache import (
    EngineCache,
    EngineMismatch,
    atomic_write,
    engine_key,
    engine_profile,
    engine_target,
    timing_cache_name,
)
from edgexai.deploy.runtime.session import DEFAULT_MAX_BATCH, Session, make_hint

REBUILD = ("auto", "never", "always")


def import_tensorrt():
    try:
        import tensorrt
    except ImportError:
        raise EdgexaiError(
            "the trt backend needs TensorRT's Python package (JetPack, or "
            "pip install tensorrt from NVIDIA's index); use --backend ort "
            "where TensorRT is absent"
        ) from None
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

    def build(
        self,
        onnx: bytes,
        precision: str,
        input_name: str,
        chw: tuple[int, ...],
        profile: dict[str, int],
        timing_cache: Path | None = None,
        workspace_mb: int = 1024,
    ) -> bytes:
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
        opt.set_shape(
            input_name, (profile["min"], *chw), (profile["opt"], *chw), (profile["max"], *chw)
        )
        config.add_optimization_profile(opt)
        self._attach_timing_cache(config, timing_cache)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise EdgexaiError(f"TensorRT failed to build a {precision} engine (see its log above)")
        if timing_cache is not None:
            self._save_timing_cache(config, timing_cache)
        return bytes(memoryview(serialized))

    def _attach_timing_cache(self, config: Any, path: Path | None) -> None:
        """The saved timing cache if TensorRT takes it, else an empty one.

        `create_timing_cache` returns None for bytes it cannot read (the binding hands back the
        C++ nullptr), so it is checked as Polygraphy's CreateConfig does (TensorRT repo,
        tools/Polygraphy/polygraphy/backend/trt/config.py: an empty cache when there is none);
        an exception or `set_timing_cache` returning False (a cache of another device) also
        means starting empty.
        """
        previous = b""
        if path is not None:
            try:
                previous = path.read_bytes() if path.is_file() else b""
            except OSError:
                previous = b""
        cache = None
        if previous:
            try:
                cache = config.create_timing_cache(previous)
            except Exception:  # the bindings raise on some malformed buffers
                cache = None
        if cache is None or not config.set_timing_cache(cache, False):
            config.set_timing_cache(config.create_timing_cache(b""), False)

    @staticmethod
    def _save_timing_cache(config: Any, path: Path) -> None:
        """Persist the timing cache; failing to is a warning (the engine is built already)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, bytes(memoryview(config.get_timing_cache().serialize())))
        except OSError as exc:
            print(
                f"edgexai: warning: TensorRT timing cache not saved to {path} "
                f"({exc.strerror or exc}); the next build times its kernels again",
                file=sys.stderr,
            )

    def deserialize(self, data: bytes) -> Any | None:
        """The engine, or None when TensorRT cannot deserialise these bytes (the binding
        returns None for the C++ nullptr: corrupt, or built by another TensorRT)."""
        runtime = self.trt.Runtime(self.logger)
        engine = runtime.deserialize_cuda_engine(data)
        if engine is not None:
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

    def __init__(
        self,
        build_dir: str | Path,
        precision: str = "fp32",
        cam: bool | None = None,
        max_batch: int | None = None,
        opt_batch: int | None = None,
        rebuild: str = "auto",
        workspace_mb: int = 1024,
        trt_module: Any = None,
        memory: Any = None,
    ) -> None:
        """`max_batch` None: the kind's default (DEFAULT_MAX_BATCH), what `run` asks for."""
        super().__init__(build_dir, precision, cam)
        if rebuild not in REBUILD:
            raise EdgexaiError(f"rebuild must be one of {REBUILD}")
        max_batch = max_batch or DEFAULT_MAX_BATCH[self.kind]
        self.profile = engine_profile(max_batch, opt_batch)
        self.rt = TensorRT(trt_module)
        if memory is None:
            from edgexai.deploy.runtime.cuda_mem import load_device_memory

            memory = load_device_memory()
        self.mem = memory
        self.max_batch = max_batch
        # (a CAM-less build reads its precision's logits-only graph: self.variant says which)
        self.onnx_variant = "nocam" if self.variant == "nocam" else self.rt.onnx_variant(precision)
        role = VARIANT_ROLES[self.onnx_variant]
        if role not in self.manifest.get("files", {}):
            raise EdgexaiError(
                f"TensorRT {self.rt.generation} builds {precision} from the "
                f"'{role}' ONNX, which this build lacks; "
                f"{make_hint(self.build_dir, self.onnx_variant)}"
            )
        self.target = engine_target(
            self.file_entry(role)["sha256"],
            self.mem.info(),
            self.rt.version,
            precision,
            self.profile,
        )
        self.cache = EngineCache(self.build_dir)
        self.built = False
        self._stream: Any = None
        self.engine = self._engine(role, rebuild, workspace_mb)
        self.context = self.engine.create_execution_context()
        self._check_engine_classes()
        self._setup_buffers()

    # -- engine ------------------------------------------------------------------------------
    def _engine(self, role: str, rebuild: str, workspace_mb: int) -> Any:
        """The deserialised engine: cached if it fits and TensorRT takes it, else built (auto)."""
        data = self._engine_bytes(role, rebuild, workspace_mb)
        engine = self.rt.deserialize(data)
        if engine is None and not self.built and rebuild == "auto":
            data = self._build(role, workspace_mb)  # intact bytes TensorRT refuses: rebuild
            engine = self.rt.deserialize(data)
        if engine is None:
            raise EdgexaiError(
                f"TensorRT could not deserialise {self.engine_path} (corrupt, or "
                "built by another TensorRT version); rebuild it with `edgexai "
                f"engine --model {self.build_dir} --precision {self.precision} "
                "--backend trt --rebuild`"
            )
        self.engine_sha256 = hashlib.sha256(data).hexdigest()
        return engine

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
            raise EdgexaiError(
                f"no engine for this GPU/TensorRT/precision in "
                f"{self.cache.dir}{why}; run `edgexai engine --model "
                f"{self.build_dir} --precision {self.precision}` on this device"
            )
        if data is None:
            return self._build(role, workspace_mb)
        self.engine_path = self.cache.paths(engine_key(self.target))[0]
        return data

    def _build(self, role: str, workspace_mb: int) -> bytes:
        """Build from the verified ONNX and store engine + sidecar (writability checked first)."""
        self.cache.check_writable(self.target)
        onnx = self.read_verified(role)  # digest checked before TensorRT parses it
        self.check_graph_classes(onnx, self.file_path(role))  # before minutes of building
        chw = tuple(int(d) for d in self.input.shape[1:])
        data = self.rt.build(
            onnx,
            self.precision,
            self.input.name,
            chw,
            self.profile,
            timing_cache=self.cache.dir / timing_cache_name(self.target),
            workspace_mb=workspace_mb,
        )
        self.engine_path = self.cache.store(self.target, data)
        self.built = True
        return data

    def _check_engine_classes(self) -> None:
        """A classifier engine's logits width is the manifest's class count — checked at open,
        before any buffer is sized from the manifest's shapes."""
        if self.kind != "classifier" or "logits" not in {
            n for n, _, _ in self.rt.io_tensors(self.engine)
        }:
            return  # (a missing output is named by _setup_buffers)
        chw = tuple(int(d) for d in self.input.shape[1:])
        if not self.context.set_input_shape(self.input.name, (self.profile["min"], *chw)):
            raise EdgexaiError(
                f"{self.engine_path} refuses input shape "
                f"{(self.profile['min'], *chw)}; rebuild it with `edgexai engine`"
            )
        shape = tuple(self.context.get_tensor_shape("logits"))
        self.check_classes(
            int(shape[-1]) if shape and int(shape[-1]) >= 0 else None, self.engine_path
        )

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

    def _run(self, x: np.ndarray) -> dict[str, np.ndarray]:
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
        out = {}
        for t in self.outputs:  # what the manifest promises, in its dtypes (float16 → float32)
            arr = results[t.name]
            out[t.name] = arr.astype(np.dtype(t.dtype), copy=False)
        if "cam" in out:
            # With TensorRT 10's FP16 flag the builder may run the CAM normaliser in float16,
            # where its +1e-8 is 0: an all-zero map would come back as 0/0. Zero is its value.
            out["cam"] = np.nan_to_num(out["cam"], nan=0.0)
        return out

    def describe(self) -> dict:
        return {
            **super().describe(),
            "trt_version": self.rt.version,
            "api": self.rt.generation,
            "onnx_variant": self.onnx_variant,
            "engine": str(self.engine_path),
            "built_now": self.built,
            **self.target,
        }

    def close(self) -> None:
        """Free the device buffers and destroy the stream; safe to call twice."""
        for ptr in getattr(self, "_ptrs", {}).values():
            self.mem.free(ptr)
        self._ptrs = {}
        stream, self._stream = getattr(self, "_stream", None), None
        if stream is not None:
            self.mem.destroy_stream(stream)
