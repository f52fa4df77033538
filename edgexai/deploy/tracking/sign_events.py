"""What a run remembers of one tracked sign, and the event it becomes when the track ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgexai.deploy.tracking.cam_stability import CamStability
from edgexai.deploy.tracking.class_vote import ClassVote


@dataclass
class TrackRecord:
    """A track's vote, scores, best frame and CAM stability, filled frame by frame."""

    track_id: int
    vote: ClassVote = field(default_factory=ClassVote)
    stability: CamStability = field(default_factory=CamStability)
    first_frame: int = -1
    last_frame: int = -1
    first_time: float = 0.0
    last_time: float = 0.0
    frames: int = 0
    score_sum: float = 0.0
    score_max: float = 0.0
    best: dict[str, Any] = field(default_factory=dict)
    thumb: np.ndarray | None = None  # the best crop with its CAM, for the live view

    def add(self, det: dict[str, Any], frame: int, now: float, name: str | None) -> None:
        if self.frames == 0:
            self.first_frame, self.first_time = frame, now
        self.last_frame, self.last_time = frame, now
        self.frames += 1
        score = float(det["score"])
        self.vote.add(int(det["class_id"]), score)
        self.score_sum += score
        if score > self.score_max or not self.best:
            self.score_max = score
            self.best = {"frame": frame, "box": det["box"], "score": round(score, 4)}
            if name is not None:
                self.best["file"] = name

    def event(self, classes: list[str]) -> dict[str, Any]:
        """The `sign` event (one per confirmed physical sign), written when the track ends."""
        k = self.vote.shown
        return {
            "event": "sign",
            "time": round(self.last_time, 4),
            "track_id": self.track_id,
            "class_id": k,
            "class_name": None if k is None else classes[k],
            "vote_share": round(self.vote.share(k), 4),
            "relabels": self.vote.relabels,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "first_time": round(self.first_time, 4),
            "last_time": round(self.last_time, 4),
            "frames_seen": self.frames,
            "score_mean": round(self.score_sum / max(self.frames, 1), 4),
            "score_max": round(self.score_max, 4),
            "best": self.best,
            "stability": self.stability.figures(),
        }
