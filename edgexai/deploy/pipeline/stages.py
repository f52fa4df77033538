"""The per-frame stages of the run loop: find signs → classify + CAM → decide → probe → render → log.

Each stage is a small object, called with what the stages before it returned, that returns its
own part: `Candidates` (the sign finder), `Classification` (the `SignClassifier`: one engine call
classifies every candidate and returns each one's Grad-CAM), `Decided` (the detections). A frame's
`FrameClock` times the stages under the keys the log and the summary report.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgexai.core.detection.boxes import nms
from edgexai.core.softmax import softmax
from edgexai.deploy.pipeline.capture_thread import Frame
from edgexai.deploy.pipeline.decision import Decision
from edgexai.deploy.pipeline.finders import SignFinder
from edgexai.deploy.pipeline.log import JsonlLog
from edgexai.deploy.pipeline.overlay import Display, draw
from edgexai.deploy.pipeline.summary import Summary
from edgexai.deploy.sign_classifier import Classification, SignClassifier
from edgexai.deploy.sign_detector import Candidates


@dataclass
class FrameClock:
    """One frame's stage times in ms (the log's and the summary's keys, in stage order), and the
    wall and CPU clocks at its start."""

    ms: dict[str, float]
    t_start: float = field(default_factory=time.perf_counter)
    cpu_start: float = field(default_factory=time.thread_time)

    @classmethod
    def start(cls, frame: Frame) -> FrameClock:
        return cls({"capture": round(frame.capture_ms, 3)})

    @contextmanager
    def timed(self, key: str) -> Iterator[None]:
        """Record the block's milliseconds under `key`, also when it returns early."""
        t = time.perf_counter()
        try:
            yield
        finally:
            self.ms[key] = (time.perf_counter() - t) * 1000


@dataclass(frozen=True)
class Decided:
    """The frame's detections (the log's records) and, for each, its row in the classification."""

    detections: list[dict[str, Any]] = field(default_factory=list)
    kept: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


class FindStage:
    """The sign finder on the frame (its prepare step may have run in the capture thread), then
    the best `limit` candidates (an engine's batch limit)."""

    def __init__(self, finder: SignFinder, limit: int) -> None:
        self.finder, self.limit = finder, limit

    def __call__(self, frame: Frame, clock: FrameClock) -> Candidates:
        cand = self.finder.find(frame.image, frame.work, frame.work_ms)
        clock.ms.update(cand.ms)
        top = np.argsort(-cand.scores, kind="stable")[: self.limit]
        return Candidates(cand.boxes[top], cand.scores[top], cand.proposals, cand.ms)


class ClassifyStage:
    """Every candidate framed like a GTSRB image, cropped, one engine call → logits + CAMs."""

    def __init__(self, classifier: SignClassifier) -> None:
        self.classifier = classifier

    def __call__(self, frame: Frame, found: Candidates, clock: FrameClock) -> Classification:
        result = self.classifier.classify_boxes(frame.image, found.boxes)
        clock.ms.update(result.ms)
        return result


class DecideStage:
    """Confidence × sign score against the decision's thresholds, then NMS → detections."""

    def __init__(self, decision: Decision, classes: list[str], nms_iou: float) -> None:
        self.decision, self.classes, self.nms_iou = decision, classes, nms_iou

    def __call__(self, found: Candidates, classified: Classification, clock: FrameClock) -> Decided:
        with clock.timed("post"):
            if not len(classified):
                return Decided()
            p = classified.probabilities
            cls = p.argmax(1)
            conf = p[np.arange(len(p)), cls]
            score = self.decision.score(found.scores, conf)
            ok = np.where(self.decision.accepts(found.scores, conf, score))[0]
            if not len(ok):
                return Decided()
            kept = ok[nms(found.boxes[ok], score[ok].astype(np.float32), self.nms_iou)]
            detections = [
                self._detection(found, int(j), int(cls[j]), conf[j], score[j], g)
                for j, g in zip(kept, _gini(classified.cams, kept), strict=True)
            ]
            return Decided(detections, kept)

    def _detection(
        self, found: Candidates, j: int, k: int, conf: float, score: float, gini: float | None
    ) -> dict[str, Any]:
        return {
            "box": [round(float(v), 1) for v in found.boxes[j]],
            "class_id": k,
            "class_name": self.classes[k],
            "confidence": round(float(conf), 4),
            "sign_score": round(float(found.scores[j]), 4),
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
    classifier: SignClassifier,
    batch: np.ndarray,
    cams: np.ndarray,
    classes: np.ndarray,
    conf: np.ndarray,
    top_pct: float,
    seed: int,
) -> list[dict[str, float]]:
    """On-device faithfulness probe: remove each crop's top-k % CAM pixels (fill = the dataset
    mean, i.e. 0 after normalisation) and, as a control, the same number of random pixels; one
    engine call for all copies (unless the engine's profile is smaller); report the confidence
    drop of the predicted class for both. A faithful CAM makes `drop` clearly larger than
    `drop_random`."""
    from edgexai.core.metrics.perturbation import count_removed, keep_mask, rank_pixels

    n, _, h, w = batch.shape
    k = count_removed(top_pct, h * w)
    rng = np.random.default_rng(seed)
    morf = keep_mask(rank_pixels(cams.reshape(n, -1)), k, "morf", (h, w))
    rand = keep_mask(np.argsort(rng.random((n, h * w)), 1), k, "morf", (h, w))
    copies = np.concatenate([batch * morf[:, None], batch * rand[:, None]]).astype(np.float32)
    p = softmax(classifier.infer(copies, cams=False)[0])
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

    def __init__(self, classifier: SignClassifier, every: int, top_pct: float) -> None:
        self.classifier, self.every, self.top_pct = classifier, every, top_pct

    def __call__(
        self, frame: Frame, classified: Classification, decided: Decided, clock: FrameClock
    ) -> Decided:
        with clock.timed("probe"):
            # the probe removes CAM pixels: nothing to probe without a CAM (a CAM-less build)
            sampled = self.every > 0 and frame.index % self.every == 0
            if not (sampled and len(decided.kept) and classified.cams is not None):
                return decided
            res = probe(
                self.classifier,
                classified.batch[decided.kept],
                classified.cams[decided.kept],
                np.array([d["class_id"] for d in decided.detections]),
                np.array([d["confidence"] for d in decided.detections]),
                self.top_pct,
                seed=frame.index,
            )
            probed = [{**d, "probe": r} for d, r in zip(decided.detections, res, strict=True)]
            return Decided(probed, decided.kept)


class RenderStage:
    """Draw boxes, labels, CAMs and the signs in force on the frame for the window, the overlay
    video and the live page (only when one of them takes the frame)."""

    def __init__(self, display: Display, live=None, track=None) -> None:
        self.display, self.live, self.track = display, live, track

    def __call__(
        self, frame: Frame, classified: Classification, decided: Decided, clock: FrameClock
    ) -> bool:
        """False when the window was closed."""
        with clock.timed("render"):
            to_live = self.live is not None and self.live.wants_frame()
            if not (self.display.active or to_live):
                return True
            cams = classified.cams
            state = self.track.state if self.track is not None else None
            image = draw(
                frame.image,
                decided.detections,
                [None if cams is None else cams[j] for j in decided.kept],
                [tuple(int(v) for v in classified.padded[j]) for j in decided.kept],
                state=None if state is None else state.snapshot(),
            )
            if to_live:
                self.live.publish_frame(image)
            return self.display.show(image)


class LogStage:
    """The frame's JSON Lines record, then its stage times into the summary."""

    def __init__(self, log: JsonlLog, summary: Summary, source_uri: str) -> None:
        self.log, self.summary, self.uri = log, summary, source_uri

    def __call__(
        self, frame: Frame, found: Candidates, decided: Decided, clock: FrameClock
    ) -> None:
        with clock.timed("log"):
            rec: dict[str, Any] = {
                "time": round(time.time(), 4),
                "frame": frame.index,
                "source": self.uri,
            }
            if frame.name is not None:
                rec["file"] = frame.name
            rec["ms"] = {k: round(v, 3) for k, v in clock.ms.items()}
            rec["proposals"] = found.proposals
            rec["classified"] = int(len(found.boxes))
            rec["detections"] = decided.detections
            self.log.write(rec)
        frame_ms = (time.perf_counter() - clock.t_start) * 1000 + frame.capture_ms + frame.work_ms
        self.summary.add(
            clock.ms,
            frame_ms,
            [d["class_name"] for d in decided.detections],
            found.proposals,
            len(found.boxes),
            cpu_main=(time.thread_time() - clock.cpu_start) * 1000,
            cpu_capture=frame.cpu_ms,
        )
