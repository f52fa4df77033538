"""The pipeline's view of an inference engine, and how it opens one.

Why a Protocol here: the pipeline needs only `infer(batch) -> (logits, cam)` plus the model's
input size, normalisation and class names (from manifest.json), so it is coded against that
shape (tests pass their own stand-in), and opened through edgexai.deploy.runtime for real (ort / trt / torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import BUILDS_ROOT, MANIFEST_NAME


@runtime_checkable
class InferenceSession(Protocol):
    """One engine call: N×3×S×S float32 (normalised) → (logits N×C, cam N×S×S in [0, 1]);
    cam is None for a CAM-less build (edgexai.core.manifest.has_cam)."""

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


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
    cam: bool = True  # False: a CAM-less build (logits only: no heatmap, Gini or probe)


def newest_build(root: str | Path = BUILDS_ROOT) -> Path:
    """The newest classifier build folder under `root` (edgexai.core.manifest.newest_build)."""
    import sys

    from edgexai.core.manifest import builds_root
    from edgexai.core.manifest import newest_build as newest

    root = builds_root(root, lambda text: print(f"edgexai: {text}", file=sys.stderr))
    found = newest(root, "classifier")
    if found is None:
        raise EdgexaiError(
            f"no classifier build folder under {root}/ (a folder with "
            f"{MANIFEST_NAME}); build one with `edgexai build` or name one with "
            "--model DIR"
        )
    return found


def model_info(build_dir: str | Path, backend: str) -> ModelInfo:
    """What the pipeline needs from a classifier build's manifest (validated: no defaults)."""
    from edgexai.core.manifest import has_cam, parse, read_manifest

    raw = read_manifest(build_dir)
    m = parse(raw)
    if m.kind != "classifier":
        raise EdgexaiError(
            f"--model {build_dir} is a {m.kind} build; --model takes a classifier "
            "(a detector goes to --detector)"
        )
    return ModelInfo(
        name=m.name,
        path=str(build_dir),
        input_size=m.input_size,
        mean=tuple(m.mean),
        std=tuple(m.std),
        classes=list(m.classes),
        backend=backend,
        cam=has_cam(raw),
    )


def open_model(
    build_dir: str | Path,
    backend: str = "auto",
    threads: int | None = None,
    precision: str = "fp32",
) -> tuple[InferenceSession, ModelInfo]:
    """Open a classifier build with a backend. TensorRT sessions never build an engine here: a
    vehicle runs what `edgexai engine` built on it."""
    build_dir = Path(build_dir)
    if not (build_dir / MANIFEST_NAME).is_file():
        raise EdgexaiError(f"--model {build_dir}: not a build folder (no {MANIFEST_NAME})")
    info = model_info(build_dir, backend)  # validates the manifest before a backend loads
    session = _open_runtime(build_dir, backend, precision, threads)
    info.backend = str(getattr(session, "backend", backend))
    if precision != "fp32":
        info.backend += f"-{precision}"
    return session, info


def open_detector(
    build_dir: str | Path,
    backend: str = "auto",
    precision: str = "fp32",
    threads: int | None = None,
) -> Any:
    """Open a detector build (a runtime Session: `run(frames) -> {boxes, scores, labels}`)."""
    from edgexai.core.manifest import load

    build_dir = Path(build_dir)
    if not (build_dir / MANIFEST_NAME).is_file():
        raise EdgexaiError(f"--detector {build_dir}: not a build folder (no {MANIFEST_NAME})")
    kind = load(build_dir).kind
    if kind != "detector":
        raise EdgexaiError(f"--detector {build_dir} is a {kind} build, not a detector")
    return _open_runtime(build_dir, backend, precision, threads)


def _open_runtime(build_dir: Path, backend: str, precision: str, threads: int | None) -> Any:
    """A runtime session as `run` needs it; TensorRT engines at the kind's default batch profile
    (what `edgexai engine` and `doctor` assume), never built here."""
    try:
        from edgexai.deploy.runtime import open_session, resolve_backend
    except ImportError as exc:
        raise EdgexaiError(
            f"edgexai.deploy.runtime cannot be imported ({exc}); it is needed to run a model"
        ) from None
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
