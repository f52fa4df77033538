"""What the run tells the live page (`--serve`), a few times a second: the rolling FPS and stage
latency, the signs in force, the confirmed tracks, the last events and each sign's crop with its
CAM. The page itself and its server are edgexai.deploy.live; the video frames go through the
render stage, which draws a frame only when the page wants one."""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import Any

import numpy as np

from edgexai.deploy.pipeline.config import RunConfig
from edgexai.deploy.pipeline.summary import Summary
from edgexai.deploy.pipeline.track_stage import TrackStage

ROLLING = 30  # frames in the page's rolling FPS and p50 latency


class LiveStage:
    def __init__(
        self, live, track: TrackStage | None, summary: Summary, period_s: float = 0.2
    ) -> None:
        self.live, self.track, self.summary, self.period_s = live, track, summary, period_s
        self.times: deque[float] = deque(maxlen=ROLLING)
        self.last = 0.0
        self.thumbs_sent: dict[int, Any] = {}  # track id → the best frame its thumb shows

    def __call__(self, frame_index: int, clock) -> None:
        with clock.timed("live"):
            now = time.perf_counter()
            self.times.append(now)
            if now - self.last < self.period_s:
                return
            self.last = now
            self.live.publish_state(self.state(frame_index))

    def state(self, frame_index: int) -> dict[str, Any]:
        span = self.times[-1] - self.times[0] if len(self.times) > 1 else 0.0
        out: dict[str, Any] = {
            "frame": frame_index,
            "fps": round((len(self.times) - 1) / span, 1) if span > 0 else 0.0,
            "stages_ms": {
                k: round(float(np.median(np.frombuffer(v, np.float64)[-ROLLING:])), 2)
                for k, v in self.summary.stage_ms.items()
                if len(v)
            },
            "in_force": None,
            "tracks": [],
            "events": [],
        }
        track = self.track
        if track is None:
            return out
        if track.state is not None:
            out["in_force"] = track.state.snapshot()
        shown = track.shown_tracks()
        # forget ended tracks: a long drive must not grow this dict without end
        self.thumbs_sent = {k: v for k, v in self.thumbs_sent.items() if k in shown}
        for tid, rec in shown.items():
            k = rec.vote.shown
            out["tracks"].append(
                {"track_id": tid, "class_name": track.classes[k], "score": rec.score_max}
            )
            if rec.thumb is not None and self.thumbs_sent.get(tid) != rec.best.get("frame"):
                self.live.publish_thumb(tid, rec.thumb)
                self.thumbs_sent[tid] = rec.best.get("frame")
        out["events"] = [
            {k: e[k] for k in ("track_id", "class_name", "frames_seen", "vote_share", "stability")}
            for e in reversed(track.recent)
        ][:10]
        return out


def open_live(cfg: RunConfig):
    """The live page's server, started (a port in use is one line, before any frame), or None."""
    if cfg.serve is None:
        return None
    from edgexai.deploy.live.live_view import LiveView

    live = LiveView(*cfg.serve, fps_cap=cfg.serve_fps)
    url = live.start()
    everywhere = cfg.serve[0] in ("0.0.0.0", "::", "")
    note = " (every address of this machine: open it with the machine's own)" if everywhere else ""
    print(f"edgexai: live view at {url}{note}", file=sys.stderr, flush=True)
    return live
