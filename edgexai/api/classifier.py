"""`edgexai.load`: a classifier build as a Python object that classifies images like `run` does.

Deployment side (numpy, OpenCV and a backend; never torch): images are resized as `run` resizes
its crops (`preprocess.resize_square`), then classified by the same `SignClassifier` object that
`edgexai run`'s classify stage calls (edgexai/deploy/sign_classifier.py: normalisation, the
engine's batch limit, softmax), so a `Prediction` holds the numbers its log shows for the same
crop.
"""

from __future__ import annotations

import numbers
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError

CHANNELS = ("rgb", "bgr")


@dataclass(frozen=True)
class Prediction:
    """One image's class, confidence (softmax probability), top-k and in-graph Grad-CAM.

    `top_k`: (class id, class name, probability), most probable first. `cam`: the Grad-CAM of
    the predicted class at the model's input size (input_size × input_size, in [0, 1]; resize
    it to overlay the image), or None for a CAM-less build.
    """

    class_id: int
    class_name: str
    confidence: float
    top_k: list[tuple[int, str, float]]
    cam: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def gini(self) -> float | None:
        """The CAM's Gini sparsity, as `run` logs it per detection (None without a CAM)."""
        from edgexai.core.metrics.sparsity import gini

        return None if self.cam is None else float(gini(self.cam))

    def __repr__(self) -> str:
        cam = "None" if self.cam is None else "×".join(map(str, self.cam.shape))
        return (
            f"Prediction(class_id={self.class_id}, class_name={self.class_name!r}, "
            f"confidence={self.confidence:.4f}, top_k={len(self.top_k)}, cam={cam})"
        )


def as_image_list(images: Any, channels: str = "rgb") -> list[np.ndarray]:
    """A list of H×W×3 uint8 arrays or one N×H×W×3 array → RGB H×W×3 uint8 arrays (checked)."""
    if channels not in CHANNELS:
        raise EdgexaiError(f"channels must be 'rgb' or 'bgr', not {channels!r}")
    if isinstance(images, np.ndarray):
        if images.ndim == 3:
            raise EdgexaiError(
                f"got one image of shape {images.shape}; pass a list [image] or an N×H×W×3 array"
            )
        if images.ndim != 4:
            raise EdgexaiError(
                f"images must be a list of H×W×3 arrays or one N×H×W×3 array; got shape "
                f"{images.shape}"
            )
        images = list(images)
    if not isinstance(images, Sequence) or isinstance(images, (str, bytes)):
        raise EdgexaiError(
            f"images must be a list of H×W×3 uint8 arrays, not {type(images).__name__}"
        )
    if len(images) == 0:
        raise EdgexaiError("images is empty; pass at least one H×W×3 uint8 image")
    out = []
    for i, img in enumerate(images):
        if not isinstance(img, np.ndarray):
            raise EdgexaiError(f"image {i} is a {type(img).__name__}, not a numpy array")
        if img.dtype != np.uint8:
            raise EdgexaiError(
                f"image {i} is {img.dtype}; pass uint8 pixels (0–255), as OpenCV reads them"
            )
        if img.ndim != 3 or img.shape[2] != 3 or min(img.shape[:2]) < 1:
            raise EdgexaiError(
                f"image {i} has shape {img.shape}; expected H×W×3 (three colour channels)"
            )
        out.append(img[..., ::-1] if channels == "bgr" else img)
    return out


def positive_count(name: str, value: Any) -> int:
    """A positive integer argument (numpy integers too; bool, float and str refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise EdgexaiError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


class _InFlight:
    """Counts the engine calls running, so `close()` waits for them instead of pulling the
    engine from under another thread's `predict`; calls after `close()` are refused."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running = 0
        self.closed = False

    @contextmanager
    def call(self) -> Iterator[None]:
        with self._cond:
            if self.closed:
                raise EdgexaiError(
                    "this classifier is closed; open the build again with edgexai.load"
                )
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    def close(self) -> bool:
        """Mark closed and wait for running calls; False when it was closed already."""
        with self._cond:
            if self.closed:
                return False
            self.closed = True
            while self._running:
                self._cond.wait()
            return True


def resized(images: list[np.ndarray], size: int) -> np.ndarray:
    """N×size×size×3 RGB uint8: each image resized as `run` resizes its crops."""
    from edgexai.core.preprocess import resize_square

    return np.stack([resize_square(np.ascontiguousarray(img), size) for img in images])


class Classifier:
    """A classifier build opened with a backend: `predict(images)` → one `Prediction` each.

    Use as a context manager, or call `close()`, to release the backend (device memory).
    `predict` may be called from several threads; `close()` waits for the calls running.
    """

    def __init__(
        self,
        build_dir: str | Path,
        backend: str = "auto",
        precision: str = "fp32",
        threads: int | None = None,
    ) -> None:
        from edgexai.core.manifest import MANIFEST_NAME, read_manifest
        from edgexai.deploy.sign_classifier import SignClassifier

        if not isinstance(build_dir, (str, os.PathLike)):
            raise EdgexaiError(
                f"build_dir must be a path to a build folder (str or Path), not {build_dir!r}"
            )
        if threads is not None:
            threads = positive_count("threads", threads)
        build_dir = Path(build_dir).expanduser()
        if not (build_dir / MANIFEST_NAME).is_file():
            raise EdgexaiError(f"{build_dir} is not a build folder (no {MANIFEST_NAME} in it)")
        kind = read_manifest(build_dir).get("kind")
        if kind != "classifier":
            raise EdgexaiError(f"{build_dir} is a {kind} build; edgexai.load takes a classifier")
        self.build_dir = build_dir
        self.engine = SignClassifier.open(build_dir, backend, precision, threads)
        self.session, self._info = self.engine.session, self.engine.info
        self.max_batch: int | None = self.engine.max_batch
        self._in_flight = _InFlight()

    # -- what the build is ------------------------------------------------------------------
    @property
    def classes(self) -> list[str]:
        """Class names in class-id order (the manifest's)."""
        return list(self._info.classes)

    @property
    def input_size(self) -> int:
        """The model's square input size in pixels; images are resized to it."""
        return self._info.input_size

    @property
    def info(self) -> Any:
        """The vehicle's ModelInfo: name, path, input size, mean/std, classes, backend."""
        return self._info

    @property
    def has_cam(self) -> bool:
        """Whether the build computes the in-graph Grad-CAM (edgexai.core.manifest.has_cam)."""
        from edgexai.core.manifest import has_cam

        return has_cam(self.session.manifest)

    # -- inference --------------------------------------------------------------------------
    def preprocess(self, images: Any, channels: str = "rgb") -> np.ndarray:
        """The engine's N×3×S×S float32 input for `images` (the build's own preprocessing)."""
        return self.engine.preprocess(resized(as_image_list(images, channels), self.input_size))

    def logits_and_cams(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """One or more engine calls (at most the engine's batch each): logits N×C, cams or None."""
        with self._in_flight.call():
            return self.engine.infer(batch)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Logits N×C for a preprocessed batch: the `predict` callable the metrics take."""
        return self.logits_and_cams(np.asarray(batch, np.float32))[0]

    def predict(self, images: Any, channels: str = "rgb", top_k: int = 5) -> list[Prediction]:
        """Classify `images` (a list of H×W×3 uint8 arrays of any size, or N×H×W×3; RGB, or
        `channels="bgr"` for OpenCV frames): one Prediction per image, in order."""
        top_k = positive_count("top_k", top_k)
        crops = resized(as_image_list(images, channels), self.input_size)
        with self._in_flight.call():
            result = self.engine.classify(crops)
        probs, cams = result.probabilities, result.cams
        names = self.classes
        k = min(top_k, probs.shape[1])
        out = []
        for i, p in enumerate(probs):
            order = np.argsort(-p, kind="stable")[:k]
            cls = int(p.argmax())
            out.append(
                Prediction(
                    class_id=cls,
                    class_name=names[cls],
                    confidence=float(p[cls]),
                    top_k=[(int(j), names[j], float(p[j])) for j in order],
                    cam=None if cams is None else cams[i],
                )
            )
        return out

    def __call__(self, images: Any, channels: str = "rgb", top_k: int = 5) -> list[Prediction]:
        return self.predict(images, channels, top_k)

    def close(self) -> None:
        """Release the backend's resources once the running calls are done; safe to call twice."""
        if self._in_flight.close():
            self.engine.close()

    def __enter__(self) -> Classifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Classifier({str(self.build_dir)!r}, backend={self._info.backend!r}, "
            f"classes={len(self._info.classes)}, input_size={self.input_size})"
        )


def load(
    build_dir: str | Path,
    backend: str = "auto",
    precision: str = "fp32",
    threads: int | None = None,
) -> Classifier:
    """Open a classifier build folder for `predict` (backend auto: TensorRT where installed,
    else ONNX Runtime; precision fp32/fp16/int8 as `edgexai run --precision`)."""
    return Classifier(build_dir, backend, precision, threads)
