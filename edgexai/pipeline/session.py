"""The pipeline's view of an inference engine, and how it opens one.

Why a Protocol here: the pipeline needs only `infer(batch) -> (logits, cam)` plus the model's
input size, normalisation and class names (from manifest.json), so it is coded against that
shape, tested with a fake, and opened through edgexai.runtime for real (ort / trt / torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from edgexai.errors import EdgexaiError
from edgexai.manifest import MANIFEST_NAME


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
    """The newest classifier build folder under `root` (edgexai.manifest.newest_build)."""
    from edgexai.manifest import newest_build as newest

    found = newest(root, "classifier")
    if found is None:
        raise EdgexaiError(f"no classifier build folder under {root}/ (a folder with "
                           f"{MANIFEST_NAME}); build one with `edgexai build` or name one with "
                           "--model DIR")
    return found


def model_info(build_dir: str | Path, backend: str) -> ModelInfo:
    """What the pipeline needs from a classifier build's manifest (validated: no defaults)."""
    from edgexai.manifest import load

    m = load(build_dir)
    if m.kind != "classifier":
        raise EdgexaiError(f"--model {build_dir} is a {m.kind} build; --model takes a classifier "
                           "(a detector goes to --detector)")
    return ModelInfo(name=m.name, path=str(build_dir), input_size=m.input_size,
                     mean=tuple(m.mean), std=tuple(m.std), classes=list(m.classes),
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
    """A build folder the fake backend opens (tests and demos without a trained model): a valid
    classifier manifest that lists no files, so no real backend can open it."""
    from edgexai.data.classes import GTSRB_CLASSES
    from edgexai.manifest import write_manifest
    from edgexai.models.registry import GTSRB_MEAN, GTSRB_STD

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(GTSRB_CLASSES)
    write_manifest(folder, {
        "kind": "classifier", "name": folder.name, "seed": 0, "files": {},
        "onnx": {"opset": 18, "exporter": "none (fake build)", "backbone_outputs": ["logits"],
                 "inputs": [{"name": "images", "shape": ["N", 3, input_size, input_size],
                             "dtype": "float32"}],
                 "outputs": [{"name": "logits", "shape": ["N", n], "dtype": "float32"},
                             {"name": "cam", "shape": ["N", input_size, input_size],
                              "dtype": "float32"}],
                 "variants": {}},
        "params": 0, "metrics": {}, "data": {}, "train_config": None, "timing_s": {},
        "versions": {}, "git": "unknown", "created": "", "host": {},
        "arch": "fake", "arch_description": "the pipeline's test engine (no model)",
        "widths": {}, "input_size": input_size, "mean": list(GTSRB_MEAN),
        "std": list(GTSRB_STD), "cam_layer": None, "classes": list(GTSRB_CLASSES),
        "regime": "fake", "timing": None, "preset": None, "regime_params": {}, "macs": 0,
        "parent": None})
    return folder


def open_model(build_dir: str | Path, backend: str = "auto", threads: int | None = None,
               precision: str = "fp32") -> tuple[InferenceSession, ModelInfo]:
    """Open a classifier build with a backend ('fake' is the test engine). TensorRT sessions
    never build an engine here: a vehicle runs what `edgexai engine` built on it."""
    build_dir = Path(build_dir)
    if not (build_dir / MANIFEST_NAME).is_file():
        raise EdgexaiError(f"--model {build_dir}: not a build folder (no {MANIFEST_NAME})")
    if backend == "fake":
        info = model_info(build_dir, "fake")
        return FakeSession(len(info.classes)), info
    info = model_info(build_dir, backend)  # validates the manifest before a backend loads
    session = _open_runtime(build_dir, backend, precision, threads)
    info.backend = str(getattr(session, "backend", backend))
    if precision != "fp32":
        info.backend += f"-{precision}"
    return session, info


def open_detector(build_dir: str | Path, backend: str = "auto", precision: str = "fp32",
                  threads: int | None = None) -> Any:
    """Open a detector build (a runtime Session: `run(frames) -> {boxes, scores, labels}`)."""
    from edgexai.manifest import load

    build_dir = Path(build_dir)
    if not (build_dir / MANIFEST_NAME).is_file():
        raise EdgexaiError(f"--detector {build_dir}: not a build folder (no {MANIFEST_NAME})")
    kind = load(build_dir).kind
    if kind != "detector":
        raise EdgexaiError(f"--detector {build_dir} is a {kind} build, not a detector")
    if backend == "fake":  # the fake engine replaces the classifier; the detector stays real
        backend = "ort"
    return _open_runtime(build_dir, backend, precision, threads)


def _open_runtime(build_dir: Path, backend: str, precision: str, threads: int | None) -> Any:
    """A runtime session as `run` needs it; TensorRT engines at the kind's default batch profile
    (what `edgexai engine` and `doctor` assume), never built here."""
    try:
        from edgexai.runtime import open_session, resolve_backend
    except ImportError as exc:
        raise EdgexaiError(f"edgexai.runtime cannot be imported ({exc}); it is needed to run a "
                           "model (--backend fake runs the pipeline without one)") from None
    backend = resolve_backend(backend)
    options: dict = {}
    if backend == "ort":
        # The run process holds two sessions (detector, classifier) and a capture thread: idle
        # ONNX Runtime pools that spin-wait take the cores from the session running (measured:
        # docs/RESULTS.md, "Learned sign detector"), so their threads sleep when idle.
        options["spinning"] = False
        if threads:
            options["threads"] = threads
    if backend == "trt":
        options["rebuild"] = "never"
    return open_session(build_dir, backend=backend, precision=precision, **options)
