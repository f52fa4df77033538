"""The learned sign detector on the vehicle: a frame in, candidate sign boxes with scores out.

As jetson-inference's `detectNet` sits on its one TensorRT base class, `SignDetector` sits on a
runtime `Session` and adds the detector's pre- and post-processing: the frame resized to the
engine's input (in the capture thread when the pipeline can), the boxes decoded in the graph
mapped back to frame pixels, the calibrated threshold, NMS and the top-k limit. It is also the
pipeline's default sign finder (`edgexai.deploy.pipeline.finders.SignFinder`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.detection.boxes import nms
from edgexai.core.detection.decode import NMS_IOU, to_frame
from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import MANIFEST_NAME
from edgexai.core.preprocess import resize_frame
from edgexai.deploy.pipeline import decision as decisions


@dataclass
class Candidates:
    """What a sign finder hands on: boxes (N×4 frame px), sign scores (N), how many raw
    proposals it looked at, and its stage times (ms)."""

    boxes: np.ndarray
    scores: np.ndarray
    proposals: int
    ms: dict[str, float]


class SignDetector:
    """The learned detector through an inference session (ONNX Runtime, TensorRT, PyTorch):
    `detect(frame)` → `Candidates`."""

    name = "detector"

    def __init__(
        self,
        session: Any,
        build_dir: str | Path,
        min_score: float | None = None,
        max_candidates: int = 64,
    ) -> None:
        """`min_score`: the detector score a box needs to be classified (None: calibrated)."""
        self.session = session
        self.build_dir = str(build_dir)
        shape = session.input.shape  # N×H×W×3
        self.input_h, self.input_w = int(shape[1]), int(shape[2])
        entry = session.manifest.get("decision")
        self.decision = decisions.from_manifest(entry) if entry else decisions.DETECTOR
        if min_score is not None:
            self.decision = dataclasses.replace(self.decision, min_sign_score=min_score)
        self.max_candidates = max_candidates

    @classmethod
    def open(
        cls,
        build_dir: str | Path,
        backend: str = "auto",
        precision: str = "fp32",
        threads: int | None = None,
        min_score: float | None = None,
        max_candidates: int = 64,
    ) -> SignDetector:
        """Open a detector build (TensorRT engines are never built here, as for the classifier)."""
        from edgexai.core.manifest import load
        from edgexai.deploy.runtime.factory import open_for_run

        build_dir = Path(build_dir)
        if not (build_dir / MANIFEST_NAME).is_file():
            raise EdgexaiError(f"--detector {build_dir}: not a build folder (no {MANIFEST_NAME})")
        kind = load(build_dir).kind
        if kind != "detector":
            raise EdgexaiError(f"--detector {build_dir} is a {kind} build, not a detector")
        session = open_for_run(build_dir, backend, precision, threads)
        return cls(session, build_dir, min_score, max_candidates)

    def prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        """The frame at the engine's input size (the pipeline runs this in the capture thread)."""
        return resize_frame(frame_bgr, self.input_w, self.input_h)

    def detect(
        self, frame_bgr: np.ndarray, prepared: np.ndarray | None = None, prepare_ms: float = 0.0
    ) -> Candidates:
        """Sign candidates in a BGR frame: one engine call on the resized frame (`prepared`, if
        `prepare` already ran), then threshold, NMS and the best `max_candidates`."""
        t = time.perf_counter()
        if prepared is None:
            prepared = self.prepare(frame_bgr)
            prepare_ms = (time.perf_counter() - t) * 1000
        t1 = time.perf_counter()
        out = self.session.run(prepared[None])
        t2 = time.perf_counter()
        det = to_frame(
            out["boxes"][0],
            out["scores"][0],
            out["labels"][0],
            frame_bgr.shape[:2],
            self.decision.min_sign_score,
        )
        det = det.select(nms(det.boxes, det.scores, NMS_IOU)[: self.max_candidates])
        ms = {
            "resize": prepare_ms,
            "detect": (t2 - t1) * 1000,
            "decode": (time.perf_counter() - t2) * 1000,
        }
        return Candidates(det.boxes, det.scores, len(out["scores"][0]), ms)

    find = detect  # the name the pipeline's SignFinder protocol calls it by

    def describe(self) -> dict[str, Any]:
        """What the run log's start record says about the finder."""
        return {
            "finder": self.name,
            "detector": self.build_dir,
            "detector_input": [self.input_w, self.input_h],
            "candidate_threshold": self.decision.min_sign_score,
            "detector_backend": getattr(self.session, "backend", "?"),
        }

    def close(self) -> None:
        """Release the backend's resources; safe to call twice."""
        close = getattr(self.session, "close", None)
        if close is not None:
            close()
