"""The "find signs" stage of the run loop: a frame in, candidate boxes with a sign score out.

Two finders plug into the same boundary:
- `SignDetector` (edgexai/deploy/sign_detector.py, the default): the learned detector, one
  engine call on the down-scaled frame (resized in the capture thread), decoding in the graph, a
  threshold and an NMS over at most top-k boxes;
- `ColourFinder`: the classical cascade (colour/shape proposals in the capture thread, the HOG
  rejector, its box refiner), kept for comparison.
Either way the classifier + CAM engine call that follows sees the same thing: boxes in frame
pixels and each box's sign score, which the decision combines with the classifier's confidence.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgexai.core.batching import extract_crops
from edgexai.core.detection.colour_candidates import CandidateGenerator, ColourShapeGenerator
from edgexai.core.detection.hog_rejector import FEATURE_SIZE, Rejector
from edgexai.core.errors import EdgexaiError
from edgexai.core.preprocess import pad_boxes
from edgexai.deploy.pipeline import decision as decisions
from edgexai.deploy.sign_detector import Candidates


class SignFinder(Protocol):
    """`prepare` runs in the capture thread (overlapping the engine); `find` in the main one;
    `decision` is how its sign scores are calibrated against the classifier's confidence."""

    name: str
    decision: decisions.Decision

    def prepare(self, frame_bgr: np.ndarray) -> Any: ...

    def find(self, frame_bgr: np.ndarray, prepared: Any, prepare_ms: float) -> Candidates: ...

    def describe(self) -> dict[str, Any]: ...


class ColourFinder:
    """Colour/shape proposals → HOG rejector gate → box refiner → rescoring (the cascade)."""

    name = "colour"

    def __init__(
        self,
        generator: CandidateGenerator | None = None,
        rejector: Rejector | None = None,
        sign_threshold: float | None = None,
        refine: bool = True,
        rescore: bool = True,
        max_candidates: int = 64,
    ) -> None:
        self.generator = generator or ColourShapeGenerator()
        self.rejector = rejector
        self.sign_threshold = (
            sign_threshold
            if sign_threshold is not None
            else rejector.threshold
            if rejector
            else 0.0
        )
        self.refine = bool(rejector is not None and rejector.refines and refine)
        self.rescore = rescore
        self.max_candidates = max_candidates
        self.decision = decisions.COLOUR

    def prepare(self, frame_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.generator.generate(frame_bgr)

    def find(
        self,
        frame_bgr: np.ndarray,
        prepared: tuple[np.ndarray, np.ndarray] | None,
        prepare_ms: float,
    ) -> Candidates:
        t = time.perf_counter()
        if prepared is None:
            prepared = self.prepare(frame_bgr)
            prepare_ms = (time.perf_counter() - t) * 1000
        boxes, _ = prepared
        rej = self.rejector
        t1 = time.perf_counter()
        if rej is None or not len(boxes):
            scores = np.ones(len(boxes), np.float32)
            keep = np.argsort(-scores, kind="stable")[: self.max_candidates]
            return Candidates(
                boxes[keep], scores[keep], len(boxes), {"propose": prepare_ms, "reject": 0.0}
            )
        crops = extract_crops(frame_bgr, pad_boxes(boxes, frame_bgr.shape), FEATURE_SIZE)
        feats = rej.standardised(crops)
        score = rej.score_x(feats)
        sel = np.where(score >= self.sign_threshold)[0]
        if len(sel) > self.max_candidates:
            sel = sel[np.argsort(-score[sel])[: self.max_candidates]]
        sel_boxes, sel_score = boxes[sel], score[sel]
        if self.refine and len(sel):
            sel_boxes = rej.refine_x(feats[sel], sel_boxes)
            h, w = frame_bgr.shape[:2]
            sel_boxes[:, [0, 2]] = np.clip(sel_boxes[:, [0, 2]], 0, w)
            sel_boxes[:, [1, 3]] = np.clip(sel_boxes[:, [1, 3]], 0, h)
            if self.rescore:  # the refined crop is what gets classified: score that one
                refined = extract_crops(
                    frame_bgr, pad_boxes(sel_boxes, frame_bgr.shape), FEATURE_SIZE
                )
                sel_score = np.maximum(sel_score, rej.score(refined))
        return Candidates(
            sel_boxes.astype(np.float32),
            sel_score.astype(np.float32),
            len(boxes),
            {"propose": prepare_ms, "reject": (time.perf_counter() - t1) * 1000},
        )

    def describe(self) -> dict[str, Any]:
        return {
            "finder": self.name,
            "refine": self.refine,
            "sign_threshold": self.sign_threshold if self.rejector else None,
        }


def default_detector_dir() -> Path:
    """The detector shipped inside the package (edgexai/deploy/pipeline/data/detector/)."""
    from importlib import resources

    path = Path(str(resources.files("edgexai.deploy.pipeline") / "data" / "detector"))
    if not (path / "manifest.json").is_file():
        raise EdgexaiError(
            f"the packaged detector is missing ({path}); reinstall edgexai or "
            "pass --detector DIR (`edgexai detector train` makes one)"
        )
    return path
