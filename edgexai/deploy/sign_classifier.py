"""The sign classifier on the vehicle: crops in; probabilities, Grad-CAMs and timings out.

As jetson-inference's `imageNet` sits on its one TensorRT base class, `SignClassifier` sits on a
runtime `Session` and adds the classifier's pre- and post-processing: the GTSRB framing of a box
(`pad_boxes`), the crop, the normalisation, the engine's batch limit, softmax. The pipeline's
classify stage and `edgexai.load(...).predict` both call it, so a probability that `run` logs and
one that `predict` returns come out of one code path.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from edgexai.core.batching import extract_crops, make_batch
from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import BUILDS_ROOT, MANIFEST_NAME
from edgexai.core.preprocess import pad_boxes
from edgexai.core.softmax import softmax


@runtime_checkable
class InferenceSession(Protocol):
    """One engine call: N×3×S×S float32 (normalised) → (logits N×C, cam N×S×S in [0, 1]);
    cam is None for a CAM-less build (edgexai.core.manifest.has_cam)."""

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


@dataclass
class ModelInfo:
    """What the vehicle needs to know about a classifier build (from manifest.json)."""

    name: str
    path: str
    input_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: list[str]
    backend: str
    cam: bool = True  # False: a CAM-less build (logits only: no heatmap, Gini or probe)


@dataclass(frozen=True)
class Classification:
    """One `classify` call's answer, row i for crop i: the engine input (the faithfulness probe
    perturbs it), logits, probabilities, CAMs (None for a CAM-less build) and stage times."""

    batch: np.ndarray
    logits: np.ndarray
    cams: np.ndarray | None
    ms: dict[str, float] = field(default_factory=dict)
    padded: np.ndarray | None = None  # crop boxes in frame px (int), from classify_boxes

    @property
    def probabilities(self) -> np.ndarray:
        return softmax(self.logits)

    def __len__(self) -> int:
        return len(self.logits)


def model_info(build_dir: str | Path, backend: str) -> ModelInfo:
    """What the vehicle needs from a classifier build's manifest (validated: no defaults)."""
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


def newest_classifier_build(root: str | Path = BUILDS_ROOT) -> Path:
    """The newest classifier build folder under `root` (edgexai.core.manifest.newest_build)."""
    from edgexai.core.manifest import builds_root, newest_build

    root = builds_root(root, lambda text: print(f"edgexai: {text}", file=sys.stderr))
    found = newest_build(root, "classifier")
    if found is None:
        raise EdgexaiError(
            f"no classifier build folder under {root}/ (a folder with "
            f"{MANIFEST_NAME}); build one with `edgexai build` or name one with "
            "--model DIR"
        )
    return found


class SignClassifier:
    """A classifier build opened with a backend (or any `InferenceSession` with its `ModelInfo`,
    as tests pass): `classify(crops)` / `classify_boxes(frame, boxes)` → `Classification`."""

    def __init__(self, session: InferenceSession, info: ModelInfo) -> None:
        self.session, self.info = session, info
        self.max_batch: int | None = getattr(session, "max_batch", None)

    @classmethod
    def open(
        cls,
        build_dir: str | Path,
        backend: str = "auto",
        precision: str = "fp32",
        threads: int | None = None,
    ) -> SignClassifier:
        """Open a classifier build. TensorRT sessions never build an engine here: a vehicle
        runs what `edgexai engine` built on it."""
        from edgexai.deploy.runtime.factory import open_for_run

        build_dir = Path(build_dir)
        if not (build_dir / MANIFEST_NAME).is_file():
            raise EdgexaiError(f"--model {build_dir}: not a build folder (no {MANIFEST_NAME})")
        info = model_info(build_dir, backend)  # validates the manifest before a backend loads
        session = open_for_run(build_dir, backend, precision, threads)
        info.backend = str(getattr(session, "backend", backend))
        if precision != "fp32":
            info.backend += f"-{precision}"
        return cls(session, info)

    # -- the engine ------------------------------------------------------------------------
    def infer(self, batch: np.ndarray, cams: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Logits N×C (float64) and CAMs N×S×S (float32, or None): one engine call, or one per
        `max_batch` rows where the engine's profile is smaller than the batch. `cams=False`
        leaves the CAMs the engine returns uncollected (the probe needs logits only)."""
        if len(batch) == 0:
            size = self.info.input_size
            cams = np.zeros((0, size, size), np.float32) if self.info.cam else None
            return np.zeros((0, len(self.info.classes))), cams
        step = self.max_batch or len(batch)
        logits, maps = [], []
        for s in range(0, len(batch), step):
            lg, cam = self.session.infer(batch[s : s + step])
            logits.append(np.asarray(lg, np.float64))
            if cams and cam is not None:
                maps.append(np.asarray(cam, np.float32))
        return np.concatenate(logits), (np.concatenate(maps) if maps else None)

    # -- crops in, classification out -------------------------------------------------------
    def preprocess(self, crops_rgb: np.ndarray) -> np.ndarray:
        """N×S×S×3 RGB uint8 crops at the input size → the engine's N×3×S×S float32 input."""
        return make_batch(crops_rgb, self.info.mean, self.info.std)

    def classify(self, crops_rgb: np.ndarray) -> Classification:
        """Classify N×S×S×3 RGB uint8 crops already at the model's input size."""
        t = time.perf_counter()
        batch = self.preprocess(crops_rgb)
        return self._classified(batch, (time.perf_counter() - t) * 1000)

    def classify_boxes(self, frame_bgr: np.ndarray, boxes: np.ndarray) -> Classification:
        """Classify the signs in `boxes` (N×4 frame px, tight): each box is framed like a GTSRB
        image (`pad_boxes`), cropped and resized; all crops go to the engine at once."""
        t = time.perf_counter()
        padded = pad_boxes(boxes, frame_bgr.shape)
        batch = self.preprocess(extract_crops(frame_bgr, padded, self.info.input_size))
        return self._classified(batch, (time.perf_counter() - t) * 1000, padded)

    def _classified(
        self, batch: np.ndarray, preprocess_ms: float, padded: np.ndarray | None = None
    ) -> Classification:
        t = time.perf_counter()
        logits, cams = self.infer(batch)
        ms = {"preprocess": preprocess_ms, "infer": (time.perf_counter() - t) * 1000}
        return Classification(batch, logits, cams, ms, padded)

    def close(self) -> None:
        """Release the backend's resources; safe to call twice."""
        close = getattr(self.session, "close", None)
        if close is not None:
            close()
