"""Which detection in this frame is which sign seen before: IoU against a motion-predicted box.

Why our own and not a library (issue 44): the PyPI trackers that fit a vehicle image were measured
on the drive-by sequences (docs/experiments/tracking.md) and do not fit its deployment side
(`trackers` pulls supervision, requests and opencv-python next to the system OpenCV; `norfair`
pins numpy < 2). A sign passed by a car moves radially out of the vanishing point and grows
smoothly, so a constant-velocity model of its centre and log-size predicts the next box well; the
match is IoU against that prediction (greedy, highest IoU first: a frame holds a handful of signs),
as jetson-inference's IOU tracker does, but on the predicted box rather than the last one, which
is what bridges the gaps of a sign the detector misses for a few frames.

Lifecycle, in jetson-inference's terms: a track is *confirmed* after `min_frames` frames with a
detection; it is kept `drop_frames` frames after its last detection, then *ends*. Unconfirmed
tracks that end are dropped silently (probation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from edgexai.core.detection.boxes import iou_matrix

TRACKERS = ("iou", "none")
NEAR = 0.6  # centre distance, in box sizes, that the fallback match accepts
SIZE_RATIO = 1.5  # and the linear size ratio


@dataclass(frozen=True)
class TrackerSettings:
    """The tracker's numbers (the run options `--tracker-*`). Defaults: the best of a
    270-setting sweep on drive-bys of GTSDB frames 0–399 only, with signs and sign-free
    (`python benchmarks/bench_tracking.py --calibrate`; docs/experiments/tracking.md), ranked by
    signs that became exactly one event of the right class minus false events, then IDF1; ties
    toward the longer drop (real clips have gaps of many frames)."""

    min_frames: int = 2
    drop_frames: int = 15
    overlap: float = 0.1
    min_score: float = 0.6  # mean detection score a track needs to be confirmed
    smoothing: float = 0.5  # weight of the newest velocity measurement (EMA)


@dataclass
class Track:
    """One physical sign as the tracker follows it (geometry only; the class vote and the rest
    live beside it, keyed by `id`)."""

    id: int
    box: np.ndarray  # last matched box, x1 y1 x2 y2 (frame px)
    first_frame: int
    last_frame: int
    hits: int = 1
    score_sum: float = 0.0  # the detections' scores (sign score × confidence), summed
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))  # d cx, d cy, d log size
    confirmed: bool = False

    def predict(self, frame: int) -> np.ndarray:
        """The box expected at `frame` (constant velocity of centre and log-size)."""
        gap = frame - self.last_frame
        cx, cy, lw, lh = _centre_size(self.box)
        vx, vy, vs = self.velocity * gap
        return _box(cx + vx, cy + vy, lw + vs, lh + vs)

    def update(self, box: np.ndarray, frame: int, smoothing: float) -> None:
        gap = max(frame - self.last_frame, 1)
        old, new = _centre_size(self.box), _centre_size(box)
        measured = np.array(
            [
                (new[0] - old[0]) / gap,
                (new[1] - old[1]) / gap,
                ((new[2] - old[2]) + (new[3] - old[3])) / (2 * gap),
            ]
        )
        a = 1.0 if self.hits == 1 else smoothing
        self.velocity = a * measured + (1 - a) * self.velocity
        self.box, self.last_frame = np.asarray(box, np.float64), frame
        self.hits += 1


def _centre_size(b: np.ndarray) -> tuple[float, float, float, float]:
    w, h = max(b[2] - b[0], 1e-3), max(b[3] - b[1], 1e-3)
    return (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, math.log(w), math.log(h)


def _box(cx: float, cy: float, lw: float, lh: float) -> np.ndarray:
    w, h = math.exp(lw), math.exp(lh)
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def affinity(predicted: np.ndarray, boxes: np.ndarray, overlap: float) -> np.ndarray:
    """How well each detection continues each track: its IoU with the predicted box when that
    reaches `overlap`; else, when the centres are within NEAR of the boxes' mean size and the
    sizes within SIZE_RATIO, a small positive score (IoU matches always win). The fallback is
    for a small, far sign whose first step out of the vanishing point is a large part of its
    size (no velocity is known yet); signs stacked on one post are a size or more apart."""
    iou = iou_matrix(predicted, boxes)
    p, b = predicted[:, None, :], boxes[None, :, :]
    pw, ph = p[..., 2] - p[..., 0], p[..., 3] - p[..., 1]
    bw, bh = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    size = np.maximum((pw + ph + bw + bh) / 4, 1e-3)
    dist = (
        np.hypot(
            (p[..., 0] + p[..., 2] - b[..., 0] - b[..., 2]) / 2,
            (p[..., 1] + p[..., 3] - b[..., 1] - b[..., 3]) / 2,
        )
        / size
    )
    ratio = np.maximum(pw * ph, 1e-6) / np.maximum(bw * bh, 1e-6)
    near = (dist <= NEAR) & (ratio <= SIZE_RATIO**2) & (ratio >= SIZE_RATIO**-2)
    fallback = np.where(near, 1e-3 * (1 + NEAR - dist), 0.0)
    return np.where(iou >= overlap, iou, fallback)


@dataclass
class FrameTracks:
    """One frame's answer: each detection's track (row i ↔ detection i), the tracks confirmed in
    this frame, and the tracks that ended (kept `drop_frames` frames without a detection)."""

    track_of: list[Track]
    confirmed_now: list[Track]
    ended: list[Track]


class BoxTracker:
    """Frame-to-frame association of detection boxes (see the module's docstring)."""

    def __init__(self, settings: TrackerSettings = TrackerSettings()) -> None:
        self.settings = settings
        self.active: list[Track] = []
        self._next_id = 1

    def update(
        self, boxes: np.ndarray, frame: int, scores: np.ndarray | None = None
    ) -> FrameTracks:
        """Match this frame's boxes (N×4, with their scores) to the tracks; start a track for
        each unmatched box. A track is confirmed once it has `min_frames` detections and their
        mean score reaches `min_score`."""
        s = self.settings
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.ones(len(boxes)) if scores is None else np.asarray(scores, np.float64)
        owner: list[Track | None] = [None] * len(boxes)
        if self.active and len(boxes):
            predicted = np.stack([t.predict(frame) for t in self.active])
            score = affinity(predicted, boxes, s.overlap)
            free_t, free_d = set(range(len(self.active))), set(range(len(boxes)))
            for flat in np.argsort(-score, axis=None, kind="stable"):
                ti, di = divmod(int(flat), len(boxes))
                if score[ti, di] <= 0:
                    break
                if ti in free_t and di in free_d:
                    owner[di] = self.active[ti]
                    free_t.discard(ti)
                    free_d.discard(di)
        confirmed_now = []
        for i, box in enumerate(boxes):
            track = owner[i]
            if track is None:
                track = Track(self._next_id, box.copy(), frame, frame)
                self._next_id += 1
                self.active.append(track)
                owner[i] = track
            else:
                track.update(box, frame, s.smoothing)
            track.score_sum += float(scores[i])
            if (
                not track.confirmed
                and track.hits >= s.min_frames
                and track.score_sum >= s.min_score * track.hits
            ):
                track.confirmed = True
                confirmed_now.append(track)
        ended = [t for t in self.active if frame - t.last_frame > s.drop_frames]
        if ended:
            self.active = [t for t in self.active if frame - t.last_frame <= s.drop_frames]
        return FrameTracks(owner, confirmed_now, ended)  # type: ignore[arg-type]

    def finish(self) -> list[Track]:
        """End every open track (the source ended): each becomes an event if confirmed."""
        ended, self.active = self.active, []
        return ended
