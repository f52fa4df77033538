"""The pipeline's view of an inference engine, and how it opens one.

Why a Protocol here: the pipeline needs only `infer(batch) -> (logits, cam)` plus the model's
input size, normalisation and class names (from manifest.json), so it is coded against that
shape, tested with a fake, and opened through edgexai.runtime for real (ort / trt / torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from edgexai.errors import EdgexaiError
from edgexai.manifest import MANIFEST_NAME, read_manifest

BACKENDS = ("auto", "trt", "ort", "torch", "fake")


@runtime_checkable
class InferenceSession(Protocol):
    """One engine call: N×3×S×S float32 (normalised) → (logits N×C, cam N×S×S in [0, 1])."""

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class ModelInfo:
    """What the pipeline needs to know about the model (from manifest.json)."""

    name: str
    path: str
    input_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: list[str]
    backend: str


def newest_build(root: str | Path = "engines") -> Path:
    """The most recently written build folder (by its manifest's mtime) under `root`."""
    root = Path(root)
    builds = [p.parent for p in root.glob(f"*/{MANIFEST_NAME}")] if root.is_dir() else []
    if not builds:
        raise EdgexaiError(f"no build folder under {root}/ (a folder with {MANIFEST_NAME}); "
                           "build one with `edgexai build` or name one with --model DIR")
    return max(builds, key=lambda p: (p / MANIFEST_NAME).stat().st_mtime)


def model_info(build_dir: str | Path, backend: str) -> ModelInfo:
    m = read_manifest(build_dir)
    size = m.get("input_size")
    if isinstance(size, (list, tuple)):
        size = size[-1]
    classes = m.get("classes") or [str(i) for i in range(43)]
    return ModelInfo(name=m.get("name", Path(build_dir).name), path=str(build_dir),
                     input_size=int(size or 32), mean=tuple(m.get("mean", (0.5, 0.5, 0.5))),
                     std=tuple(m.get("std", (0.25, 0.25, 0.25))), classes=list(classes),
                     backend=backend)


class FakeSession:
    """A deterministic stand-in engine for tests: no model file, no backend.

    Logits come from a fixed random projection of coarse colour statistics (so different crops
    get different, repeatable classes); the CAM is the crop's local chroma magnitude, min-max
    normalised — shaped like the real outputs, cheap, and sensitive to the probe's deletions.
    """

    def __init__(self, n_classes: int = 43, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = rng.normal(0, 3.0, (n_classes, 12)).astype(np.float32)
        self.calls = 0

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        x = np.asarray(batch, np.float32)
        n, _, h, w = x.shape
        q = x.reshape(n, 3, 2, h // 2, 2, w // 2).mean((3, 5)).reshape(n, 12)
        logits = q @ self.w.T
        cam = np.abs(x - x.mean((2, 3), keepdims=True)).sum(1)
        lo = cam.reshape(n, -1).min(1)[:, None, None]
        hi = cam.reshape(n, -1).max(1)[:, None, None]
        return logits.astype(np.float32), ((cam - lo) / np.maximum(hi - lo, 1e-6)).astype(np.float32)


def write_fake_build(folder: str | Path, input_size: int = 32) -> Path:
    """A build folder the fake backend opens (tests and demos without a trained model)."""
    import json

    from edgexai.data.classes import GTSRB_CLASSES

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"format": "edgexai-manifest/1", "name": folder.name, "arch": "fake",
                "regime": "fake", "input_size": input_size, "mean": [0.4563, 0.4076, 0.3895],
                "std": [0.2298, 0.2144, 0.2259], "classes": list(GTSRB_CLASSES), "files": {}}
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
    return folder


def resolve_backend(backend: str) -> str:
    """auto → TensorRT where its Python package exists, else ONNX Runtime."""
    if backend != "auto":
        return backend
    import importlib.util

    return "trt" if importlib.util.find_spec("tensorrt") is not None else "ort"


def _open_runtime(build_dir: Path, backend: str, threads: int | None = None) -> InferenceSession:
    try:
        from edgexai.runtime import open_session
    except ImportError as exc:
        raise EdgexaiError(f"edgexai.runtime cannot be imported ({exc}); it is needed to run a "
                           "model (--backend fake runs the pipeline without one)") from None
    options = {"threads": threads} if threads and backend == "ort" else {}
    return open_session(build_dir, backend=backend, **options)


def open_model(build_dir: str | Path, backend: str = "auto",
               threads: int | None = None) -> tuple[InferenceSession, ModelInfo]:
    """Open a build folder with a backend; 'fake' is the test engine."""
    build_dir = Path(build_dir)
    if not (build_dir / MANIFEST_NAME).is_file():
        raise EdgexaiError(f"--model {build_dir}: not a build folder (no {MANIFEST_NAME})")
    if backend == "fake":
        info = model_info(build_dir, "fake")
        return FakeSession(len(info.classes)), info
    backend = resolve_backend(backend)
    session = _open_runtime(build_dir, backend, threads)
    info = model_info(build_dir, str(getattr(session, "backend", backend)))
    precision = getattr(session, "precision", None)
    if precision and precision != "fp32":
        info.backend += f"-{precision}"
    return session, info
