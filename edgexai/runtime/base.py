"""The one inference interface: open a build folder, `infer(batch) -> (logits, cam)`.

Deployment side: numpy and the stdlib only at module level (a Jetson image has no torch). A session
reads the manifest, verifies the digest of every file it is about to deserialise (on the very bytes
it then hands to the backend), and checks each batch against the input metadata before any backend
sees it, so mistakes surface as one-line EdgexaiErrors rather than backend tracebacks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.errors import EdgexaiError
from edgexai.manifest import read_manifest

BACKENDS = ("ort", "trt", "torch")
PRECISIONS = ("fp32", "fp16", "int8")
# ONNX variants of a build: manifest `files` role and file name (export/precision.py makes them).
ONNX_ROLES = {"fp32": "onnx", "nocam": "onnx_nocam", "fp16": "onnx_fp16", "int8": "onnx_int8"}
ONNX_FILES = {"fp32": "model.onnx", "nocam": "model_nocam.onnx", "fp16": "model_fp16.onnx",
              "int8": "model_int8.onnx"}


@dataclass(frozen=True)
class TensorInfo:
    """An input or output as the manifest records it ('N' marks the dynamic batch axis)."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str


def variant_for(precision: str, cam: bool) -> str:
    """Which ONNX variant a (precision, cam) pair reads."""
    if precision not in PRECISIONS:
        raise EdgexaiError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if not cam:
        if precision != "fp32":
            raise EdgexaiError("the no-CAM variant exists for comparison in fp32 only")
        return "nocam"
    return precision


def make_hint(build_dir: Path, variant: str) -> str:
    precision = "fp32" if variant == "nocam" else variant
    extra = " --no-cam" if variant == "nocam" else ""
    return (f"make it with `edgexai engine --model {build_dir} --precision {precision}{extra} "
            "--backend ort` (INT8 also needs --data-root with GTSRB for calibration)")


class Session:
    """Base of every backend: manifest, input checks, digest-verified reads; `_infer` is theirs."""

    backend = "base"

    def __init__(self, build_dir: str | Path, precision: str = "fp32", cam: bool = True) -> None:
        self.build_dir = Path(build_dir)
        self.manifest = read_manifest(self.build_dir)
        self.precision = precision
        self.cam = cam
        self.variant = variant_for(precision, cam)
        meta = self.manifest.get("onnx")
        if not isinstance(meta, dict) or "inputs" not in meta:
            raise EdgexaiError(f"{self.build_dir} has no ONNX export in its manifest (built before "
                               "export existed?); rebuild it with `edgexai build`")
        self.inputs = [TensorInfo(t["name"], tuple(t["shape"]), t["dtype"]) for t in meta["inputs"]]
        outputs = [TensorInfo(t["name"], tuple(t["shape"]), t["dtype"]) for t in meta["outputs"]]
        self.outputs = outputs if cam else [t for t in outputs if t.name == "logits"]
        if len(self.inputs) != 1:
            raise EdgexaiError(f"expected one input in {self.build_dir}'s ONNX, found {len(self.inputs)}")
        self.input = self.inputs[0]
        self.max_batch: int | None = None
        self.classes: list[str] = list(self.manifest.get("classes", []))
        self.mean = tuple(self.manifest.get("mean", (0.0, 0.0, 0.0)))
        self.std = tuple(self.manifest.get("std", (1.0, 1.0, 1.0)))

    # -- files ------------------------------------------------------------------------------
    def role(self, variant: str | None = None) -> str:
        return ONNX_ROLES[variant or self.variant]

    def file_entry(self, role: str) -> dict[str, str]:
        entry = self.manifest.get("files", {}).get(role)
        if entry is None:
            variant = next((v for v, r in ONNX_ROLES.items() if r == role), None)
            hint = f"; {make_hint(self.build_dir, variant)}" if variant else ""
            raise EdgexaiError(f"the manifest in {self.build_dir} lists no '{role}' file{hint}")
        return entry

    def read_verified(self, role: str) -> bytes:
        """The file's bytes, after checking their sha256 against the manifest (before any parse)."""
        entry = self.file_entry(role)
        path = self.build_dir / entry["path"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise EdgexaiError(f"{path} (the '{role}' file of this build) cannot be read "
                               f"({exc.strerror or exc})") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != entry["sha256"]:
            raise EdgexaiError(
                f"{path} does not match its manifest digest (sha256 {actual[:12]}… != "
                f"{entry['sha256'][:12]}…): the file was changed, truncated or corrupted; "
                "rebuild it or copy the build folder again")
        return data

    # -- inference --------------------------------------------------------------------------
    def check_input(self, batch: Any) -> np.ndarray:
        """The batch as a C-contiguous float32 N×3×H×W array, or a clear error."""
        if not isinstance(batch, np.ndarray):
            raise EdgexaiError(f"infer() takes a numpy array, got {type(batch).__name__}")
        want = tuple(self.input.shape[1:])
        if batch.ndim == len(want) and tuple(batch.shape) == want:
            raise EdgexaiError(f"infer() takes a batch N×{'×'.join(map(str, want))}; got one image "
                               f"{tuple(batch.shape)} (use batch[None])")
        if batch.ndim != len(want) + 1 or tuple(batch.shape[1:]) != want:
            raise EdgexaiError(f"input '{self.input.name}' must be N×{'×'.join(map(str, want))} "
                               f"(normalised, channels first); got shape {tuple(batch.shape)}")
        if batch.dtype != np.float32:
            hint = (" — uint8 pixels must be scaled and normalised first "
                    "(edgexai.preprocess.normalise)") if batch.dtype == np.uint8 else ""
            raise EdgexaiError(f"input '{self.input.name}' must be float32; got {batch.dtype}{hint}")
        n = batch.shape[0]
        if n < 1:
            raise EdgexaiError("infer() needs at least one image")
        if self.max_batch is not None and n > self.max_batch:
            raise EdgexaiError(f"batch of {n} exceeds this session's maximum batch {self.max_batch} "
                               "(the engine's optimisation profile); split it or rebuild with a "
                               "larger --max-batch")
        return np.ascontiguousarray(batch)

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(logits N×C, cam N×H×W in [0, 1]) — cam is None for a no-CAM session."""
        x = self.check_input(batch)
        logits, cam = self._infer(x)
        return logits, (cam if self.cam else None)

    def _infer(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What this session runs: backend, precision, file, I/O (for logs and `engine`)."""
        return {"backend": self.backend, "precision": self.precision, "cam": self.cam,
                "variant": self.variant, "input": self.input.__dict__,
                "outputs": [o.__dict__ for o in self.outputs], "max_batch": self.max_batch}

    def close(self) -> None:
        """Release backend resources (device memory); safe to call twice."""

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(build_dir: str | Path, backend: str = "ort", precision: str = "fp32",
                 cam: bool = True, **options: Any) -> Session:
    """Open a build folder with a backend; backends are imported only when chosen."""
    if backend == "ort":
        from edgexai.runtime.ort import OrtSession

        return OrtSession(build_dir, precision, cam, **options)
    if backend == "trt":
        from edgexai.runtime.trt import TrtSession

        return TrtSession(build_dir, precision, cam, **options)
    if backend == "torch":
        from edgexai.runtime.torch_ref import TorchSession

        return TorchSession(build_dir, precision, cam, **options)
    raise EdgexaiError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
