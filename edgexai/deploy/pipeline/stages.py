"""The per-frame stages of the run loop: find signs → classify + CAM → decide → probe → render → log.

Each stage is a small object that adds its part to a `FrameWork` and records its own time in
`work.ms` (the keys the log and the summary report). Finding signs is a `SignFinder` (the learned
detector or the colour cascade); whichever it is, one classifier engine call per frame classifies
every candidate and returns each one's Grad-CAM, and on sampled frames one more call runs the
faithfulness probe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgexai.core.batching import extract_crops, make_batch
from edgexai.core.detection.boxes import nms
from edgexai.core.preprocess import pad_boxes
from edgexai.deploy.pipeline.decision import Decision
from edgexai.deploy.pipeline.finders import Candidates, SignFinder
from edgexai.deploy.pipeline.log import JsonlLog
from edgexai.deploy.pipeline.model_open import InferenceSession, ModelInfo
from edgexai.deploy.pipeline.overlay import Display, draw
from edgexai.deploy.pipeline.sources import Frame
from edgexai.deploy.pipeline.summary import Summary


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def _ms_since(t: float) -> float:
    return (time.perf_counter() - t) * 1000


@dataclass
class FrameWork:
    """One frame on its way through the stages: what each stage added, and each stage's ms."""

    frame: Frame
    ms: dict[str, float]
    t_start: float = field(default_factory=time.perf_counter)
    cpu_start: float = field(default_factory=time.thread_time)
    candidates: Candidates | None = None
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    sign_scores: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    padded: np.ndarray | None = None  # crop boxes (frame px, int)
    batch: np.ndarray | None = None  # the classifier's input
    logits: np.ndarray | None = None
    cams: np.ndarray | None = None
    detections: list[dict[str, Any]] = field(default_factory=list)
    kept: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # rows → detections

    @classmethod
    def start(cls, frame: Frame) -> FrameWork:
        return cls(frame, {"capture": round(frame.capture_ms, 3)})


class FindStage:
    """The sign finder on the frame (its prepare step may have run in the capture thread), then
    the best `limit` candidates (an engine's batch limit)."""

    def __init__(self, finder: SignFinder, limit: int) -> None:
        self.finder, self.limit = finder, limit

    def __call__(self, w: FrameWork) -> None:
        cand = self.finder.find(w.frame.image, w.frame.work, w.frame.work_ms)
        w.ms.update(cand.ms)
        top = np.argsort(-cand.scores, kind="stable")[: self.limit]
        w.candidates, w.boxes, w.sign_scores = cand, cand.boxes[top], cand.scores[top]


class ClassifyStage:
    """Pad every candidate like a GTSRB image, crop, normalise, one engine call → logits + CAMs."""

    def __init__(self, session: InferenceSession, info: ModelInfo) -> None:
        self.session, self.info = session, info

    def __call__(self, w: FrameWork) -> None:
        t = time.perf_counter()
        size = self.info.input_size
        w.padded = pad_boxes(w.boxes, w.frame.image.shape)
        w.batch = make_batch(
            extract_crops(w.frame.image, w.padded, size), self.info.mean, self.info.std
        )
        t1 = time.perf_counter()
        w.ms["preprocess"] = w.ms.get("preprocess", 0.0) + (t1 - t) * 1000
        if len(w.batch):
            logits, cams = self.session.infer(w.batch)
            w.logits = np.asarray(logits, np.float64)
            w.cams = None if cams is None else np.asarray(cams, np.float32)
        else:
            w.logits = np.zeros((0, len(self.info.classes)))
            w.cams = np.zeros((0, size, size), np.float32) if self.info.cam else None
        w.ms["infer"] = _ms_since(t1)


class DecideStage:
    """Confidence × sign score against the decision's thresholds, then NMS → detections."""

    def __init__(self, decision: Decision, classes: list[str], nms_iou: float) -> None:
        self.decision, self.classes, self.nms_iou = decision, classes, nms_iou

    def __call__(self, w: FrameWork) -> None:
        t = time.perf_counter()
        if w.logits is not None and len(w.logits):
            p = softmax(w.logits)
            cls = p.argmax(1)
            conf = p[np.arange(len(p)), cls]
            score = self.decision.score(w.sign_scores, conf)
            ok = np.where(self.decision.accepts(w.sign_scores, conf, score))[0]
            if len(ok):
                w.kept = ok[nms(w.boxes[ok], score[ok].astype(np.float32), self.nms_iou)]
                w.detections = [
                    self._detection(w, int(j), int(cls[j]), conf[j], score[j], g)
                    for j, g in zip(w.kept, _gini(w.cams, w.kept), strict=True)
                ]
        w.ms["post"] = _ms_since(t)

    def _detection(
        self, w: FrameWork, j: int, k: int, conf: float, score: float, gini: float | None
    ) -> dict[str, Any]:
        return {
            "box": [round(float(v), 1) for v in w.boxes[j]],
            "class_id": k,
            "class_name": self.classes[k],
            "confidence": round(float(conf), 4),
            "sign_score": round(float(w.sign_scores[j]), 4),
            "score": round(float(score), 4),
            "gini": None if gini is None else round(float(gini), 4),
        }


def _gini(cams: np.ndarray | None, rows: np.ndarray) -> list[float | None]:
    """Each kept crop's CAM Gini; None for all without a CAM (a CAM-less build)."""
    from edgexai.core.metrics.sparsity import gini

    if cams is None:
        return [None] * len(rows)
    return list(np.atleast_1d(np.asarray(gini(cams[rows]), np.float64)))


def probe(
    session: InferenceSession,
    batch: np.ndarray,
    cams: np.ndarray,
    classes: np.ndarray,
    conf: np.ndarray,
    top_pct: float,
    seed: int,
    max_batch: int | None = None,
) -> list[dict[str, float]]:
    """On-device faithfulness probe: remove each crop's top-k % CAM pixels (fill = the dataset
    mean, i.e. 0 after normalisation) and, as a control, the same number of random pixels; one
    engine call for all copies; report the confidence drop of the predicted class for both.
    A faithful CAM makes `drop` clearly larger than `drop_random`."""
    from edgexai.core.metrics.perturbation import count_removed, keep_mask, rank_pixels

    n, _, h, w = batch.shape
    k = count_removed(top_pct, h * w)
    rng = np.random.default_rng(seed)
    morf = keep_mask(rank_pixels(cams.reshape(n, -1)), k, "morf", (h, w))
    rand = keep_mask(np.argsort(rng.random((n, h * w)), 1), k, "morf", (h, w))
    copies = np.concatenate([batch * morf[:, None], batch * rand[:, None]]).astype(np.float32)
    step = max_batch or len(copies)  # one call, unless the engine's profile is smaller
    logits = np.concatenate(
        [np.asarray(session.infer(copies[i : i + step])[0]) for i in range(0, len(copies), step)]
    )
    p = softmax(np.asarray(logits, np.float64))
    idx = np.concatenate([classes, classes])
    pc = p[np.arange(2 * n), idx]
    return [
        {
            "top_pct": top_pct,
            "conf_removed": round(float(pc[i]), 4),
            "drop": round(float(conf[i] - pc[i]), 4),
            "drop_random": round(float(conf[i] - pc[n + i]), 4),
        }
        for i in range(n)
    ]


class ProbeStage:
    """Every `every`-th frame: the faithfulness probe on the frame's detections (off at 0)."""

    def __init__(
        self, session: InferenceSession, every: int, top_pct: float, max_batch: int | None
    ) -> None:
        self.session, self.every, self.top_pct, self.max_batch = session, every, top_pct, max_batch

    def __call__(self, w: FrameWork) -> None:
        t = time.perf_counter()
        # the probe removes CAM pixels: nothing to probe without a CAM (a CAM-less build)
        sampled = self.every > 0 and w.frame.index % self.every == 0
        if sampled and len(w.kept) and w.cams is not None:
            res = probe(
                self.session,
                w.batch[w.kept],
                w.cams[w.kept],
                np.array([d["class_id"] for d in w.detections]),
                np.array([d["confidence"] for d in w.detections]),
                self.top_pct,
                seed=w.frame.index,
                max_batch=self.max_batch,
            )
            for d, r in zip(w.detections, res, strict=True):
                d["probe"] = r
        w.ms["probe"] = _ms_since(t)


class RenderStage:
    """Draw boxes, labels and CAMs on the frame for the window and/or the overlay video."""

    def __init__(self, display: Display) -> None:
        self.display = display

    def __call__(self, w: FrameWork) -> bool:
        """False when the window was closed."""
        t = time.perf_counter()
        shown = True
        if self.display.active:
            image = draw(
                w.frame.image,
                w.detections,
                [None if w.cams is None else w.cams[j] for j in w.kept],
                [tuple(int(v) for v in w.padded[j]) for j in w.kept],
            )
            shown = self.display.show(image)
        w.ms["render"] = _ms_since(t)
        return shown


class LogStage:
    """The frame's JSON Lines record, then its stage times into the summary."""

    def __init__(self, log: JsonlLog, summary: Summary, source_uri: str) -> None:
        self.log, self.summary, self.uri = log, summary, source_uri

    def __call__(self, w: FrameWork) -> None:
        t = time.perf_counter()
        rec: dict[str, Any] = {
            "time": round(time.time(), 4),
            "frame": w.frame.index,
            "source": self.uri,
        }
        if w.frame.name is not None:
            rec["file"] = w.frame.name
        rec["ms"] = {k: round(v, 3) for k, v in w.ms.items()}
        rec["proposals"] = w.candidates.proposals
        rec["classified"] = int(len(w.boxes))
        rec["detections"] = w.detections
        self.log.write(rec)
        w.ms["log"] = _ms_since(t)
        frame_ms = _ms_since(w.t_start) + w.frame.capture_ms + w.frame.work_ms
        self.summary.add(
            w.ms,
            frame_ms,
            [d["class_name"] for d in w.detections],
            w.candidates.proposals,
            len(w.boxes),
            cpu_main=(time.thread_time() - w.cpu_start) * 1000,
            cpu_capture=w.frame.cpu_ms,
        )
