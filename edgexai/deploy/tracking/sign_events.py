"""What a run remembers of one tracked sign, and the event it becomes when the track ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgexai.deploy.tracking.box_tracker import Track
from edgexai.deploy.tracking.cam_stability import CamStability
from edgexai.deploy.tracking.class_vote import ClassVote


@dataclass
class TrackRecord:
    """What the tracker's `Track` does not hold: the vote, the times, the best frame and the CAM
    stability, filled frame by frame (frames, first/last frame and the score sum are the
    track's)."""

    track_id: int
    vote: ClassVote = field(default_factory=ClassVote)
    stability: CamStability = field(default_factory=CamStability)
    first_time: float | None = None
    last_time: float = 0.0
    score_max: float = 0.0
    best: dict[str, Any] = field(default_factory=dict)
    thumb: np.ndarray | None = None  # the best crop with its CAM, for the live view

    def add(self, det: dict[str, Any], frame: int, now: float, name: str | None) -> None:
        if self.first_time is None:
            self.first_time = now
        self.last_time = now
        score = float(det["score"])
        self.vote.add(int(det["class_id"]), score)
        if score > self.score_max or not self.best:
            self.score_max = score
            self.best = {"frame": frame, "box": det["box"], "score": round(score, 4)}
            if name is not None:
                self.best["file"] = name

    def event(self, classes: list[str], track: Track) -> dict[str, Any]:
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
            "first_frame": track.first_frame,
            "last_frame": track.last_frame,
            "first_time": round(self.first_time or 0.0, 4),
            "last_time": round(self.last_time, 4),
            "frames_seen": track.hits,
            "score_mean": round(track.score_sum / max(track.hits, 1), 4),
            "score_max": round(self.score_max, 4),
            "best": self.best,
            "stability": self.stability.figures(),
        }
