"""The "find signs" stage of the run loop: a frame in, candidate boxes with a sign score out.

Two finders plug into the same boundary:
- `DetectorFinder` (the default): the learned detector, one engine call on the down-scaled frame
  (resized in the capture thread), decoding in the graph, a threshold and an NMS over at most
  top-k boxes here;
- `ColourFinder`: the classical cascade (colour/shape proposals in the capture thread, the HOG
  rejector, its box refiner), kept for comparison.
Either way the classifier + CAM engine call that follows sees the same thing: boxes in frame
pixels and each box's sign score, which the decision combines with the classifier's confidence.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from edgexai.core.batching import extract_crops
from edgexai.core.detection.boxes import nms
from edgexai.core.detection.colour_candidates import ColourShapeProposer, Proposer
from edgexai.core.detection.decode import NMS_IOU, to_frame
from edgexai.core.detection.hog_rejector import FEATURE_SIZE, Rejector
from edgexai.core.errors import EdgexaiError
from edgexai.core.preprocess import pad_boxes
from edgexai.deploy.pipeline import decision as decisions


@dataclass
class Candidates:
    """What a finder hands on: boxes (N×4 frame px), sign scores (N), how many raw proposals it
    looked at, and its stage times (ms)."""

    boxes: np.ndarray
    scores: np.ndarray
    proposals: int
    ms: dict[str, float]


class SignFinder(Protocol):
    """`prepare` runs in the capture thread (overlapping the engine); `find` in the main one;
    `decision` is how its sign scores are calibrated against the classifier's confidence."""

    name: str
    decision: decisions.Decision

    def prepare(self, frame_bgr: np.ndarray) -> Any: ...

    def find(self, frame_bgr: np.ndarray, prepared: Any, prepare_ms: float) -> Candidates: ...

    def describe(self) -> dict[str, Any]: ...


class DetectorFinder:
    """The learned detector through an inference session (ONNX Runtime, TensorRT, PyTorch)."""

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

    def prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        from edgexai.core.preprocess import resize_frame

        return resize_frame(frame_bgr, self.input_w, self.input_h)

    def find(
        self, frame_bgr: np.ndarray, prepared: np.ndarray | None, prepare_ms: float
    ) -> Candidates:
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

    def describe(self) -> dict[str, Any]:
        return {
            "finder": self.name,
            "detector": self.build_dir,
            "detector_input": [self.input_w, self.input_h],
            "candidate_threshold": self.decision.min_sign_score,
            "detector_backend": getattr(self.session, "backend", "?"),
        }


class ColourFinder:
    """Colour/shape proposals → HOG rejector gate → box refiner → rescoring (the cascade)."""

    name = "colour"

    def __init__(
        self,
        proposer: Proposer | None = None,
        rejector: Rejector | None = None,
        sign_threshold: float | None = None,
        refine: bool = True,
        rescore: bool = True,
        max_candidates: int = 64,
    ) -> None:
        self.proposer = proposer or ColourShapeProposer()
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
        return self.proposer.propose(frame_bgr)

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
