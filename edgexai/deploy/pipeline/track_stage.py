"""The tracking stage: after the decision, every detection gets its track, its track's voted class,
and each confirmed sign acts on the signs in force; a track that ends becomes one `sign` event.

Records it writes (to the run log and, with --events, to the events file; one write(2) each, so a
kill -9 loses only the tracks still open): `sign` (edgexai.deploy.tracking.sign_events) and
`in_force` (what changed, and the state after it).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from edgexai.deploy.pipeline.capture_thread import Frame
from edgexai.deploy.pipeline.log import JsonlLog
from edgexai.deploy.pipeline.summary import Summary
from edgexai.deploy.sign_classifier import Classification
from edgexai.deploy.tracking.box_tracker import BoxTracker, Track, TrackerSettings
from edgexai.deploy.tracking.sign_events import TrackRecord
from edgexai.deploy.tracking.signs_in_force import SignsInForce

THUMB = 64  # px, the live view's crop and CAM thumbnails


class TrackStage:
    """Tracks, votes, CAM stability, events and the signs in force (see the module docstring)."""

    def __init__(
        self,
        settings: TrackerSettings,
        classes: list[str],
        sinks: list[JsonlLog],
        summary: Summary,
        warning_hold_s: float = 5.0,
        thumbs: bool = False,
    ) -> None:
        self.tracker = BoxTracker(settings)
        self.classes, self.sinks, self.summary, self.thumbs = classes, sinks, summary, thumbs
        self.records: dict[int, TrackRecord] = {}
        self.state = SignsInForce.for_classes(classes, warning_hold_s)
        self.recent: deque[dict[str, Any]] = deque(maxlen=20)  # the last events, for the view
        self.frame, self.now = -1, 0.0

    def _write(self, record: dict[str, Any]) -> None:
        for sink in self.sinks:
            sink.write(record)

    def __call__(self, frame: Frame, classified: Classification, decided, clock):
        """The frame's detections with `track_id`, `confirmed` and the track's class."""
        with clock.timed("track"):
            self.frame, self.now = frame.index, frame.t_capture
            dets = decided.detections
            boxes = np.array([d["box"] for d in dets], np.float64).reshape(-1, 4)
            found = self.tracker.update(boxes, frame.index, np.array([d["score"] for d in dets]))
            for det, row, track in zip(dets, decided.kept, found.track_of, strict=True):
                rec = self.records.setdefault(track.id, TrackRecord(track.id))
                rec.add(det, frame.index, frame.t_capture, frame.name)
                if classified.cams is not None:
                    crop = tuple(int(v) for v in classified.padded[row])
                    rec.stability.add(classified.cams[row], crop, det["box"])
                    if self.thumbs and rec.best.get("frame") == frame.index:
                        rec.thumb = _thumb(frame.image, crop, classified.cams[row])
                if track.confirmed:
                    before = rec.vote.shown
                    shown = rec.vote.confirm()
                    if shown != before and self.state is not None:
                        self._in_force(self.state.sign(shown, track.id, self.now), track.id)
                    elif self.state is not None and shown is not None:
                        self.state.seen(shown, track.id, self.now)
                det.update(_track_fields(track, rec, self.classes))
            if self.state is not None:
                self._in_force(self.state.expire(self.now), None)
            self._end(found.ended)
        return decided

    def _in_force(self, changes: list[str], track_id: int | None) -> None:
        """One `in_force` record for what a sign (or a warning running out) changed."""
        if changes:
            self._write(
                {
                    "event": "in_force",
                    "time": round(self.now, 4),
                    "at_frame": self.frame,
                    "track_id": track_id,
                    "changes": changes,
                    "state": self.state.snapshot(),
                }
            )

    def _end(self, tracks: list[Track]) -> None:
        for track in tracks:
            rec = self.records.pop(track.id, None)
            if rec is None or not track.confirmed or rec.vote.shown is None:
                continue  # probation: an unconfirmed track leaves no event
            event = rec.event(self.classes, track)
            self.recent.append(event)
            self.summary.add_sign(event)
            self._write(event)

    def finish(self) -> None:
        """The source ended: every open confirmed track becomes its event."""
        self._end(self.tracker.finish())

    def shown_tracks(self) -> dict[int, TrackRecord]:
        """Records of the confirmed tracks still open (the live view's current signs)."""
        return {
            t.id: self.records[t.id]
            for t in self.tracker.active
            if t.confirmed and t.id in self.records
        }


def _track_fields(track: Track, rec: TrackRecord, classes: list[str]) -> dict[str, Any]:
    k = rec.vote.shown if track.confirmed else None
    return {
        "track_id": track.id,
        "confirmed": track.confirmed,
        "track_class_id": k,
        "track_class_name": None if k is None else classes[k],
    }


def _thumb(image: np.ndarray, crop: tuple[int, int, int, int], cam: np.ndarray) -> np.ndarray:
    """The crop and its CAM side by side, THUMB px high (BGR)."""
    import cv2

    x1, y1, x2, y2 = crop
    h, w = image.shape[:2]
    patch = np.zeros((max(y2 - y1, 1), max(x2 - x1, 1), 3), np.uint8)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2, w), min(y2, h)
    if sx2 > sx1 and sy2 > sy1:
        patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = image[sy1:sy2, sx1:sx2]
    patch = cv2.resize(patch, (THUMB, THUMB), interpolation=cv2.INTER_AREA)
    heat = cv2.applyColorMap(
        cv2.resize((np.clip(cam, 0, 1) * 255).astype(np.uint8), (THUMB, THUMB)),
        cv2.COLORMAP_JET,
    )
    return np.hstack([patch, cv2.addWeighted(heat, 0.5, patch, 0.5, 0)])
