"""The run summary: frames, FPS, p50/p90/p99 per stage, detections per class.

Stage times are kept in compact float arrays (8 bytes a value) so a long run's memory stays flat
(the soak test holds RSS within 10 %); the summary is written on every exit path, including
SIGINT/SIGTERM, by the run loop's `finally`.
"""

from __future__ import annotations

import json
import os
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

STAGES = (
    "capture",
    "propose",
    "reject",
    "preprocess",
    "infer",
    "post",
    "probe",
    "track",
    "render",
    "live",
    "log",
)
STABILITY = ("cam_pearson", "cam_top20_iou", "cam_peak_outside")


class Summary:
    """Accumulates per-frame stage times and detections."""

    def __init__(self, source: str, model: str, backend: str) -> None:
        self.source, self.model, self.backend = source, model, backend
        self.t_start = time.time()
        self.t_first: float | None = None
        self.frames = 0
        self.stage_ms: dict[str, array] = {}
        self.frame_ms = array("d")  # latency: decode + propose (capture thread) + main stages
        self.cpu_main = array("d")  # main-thread CPU ms per frame (time.thread_time)
        self.cpu_capture = array("d")  # capture-thread CPU ms per frame
        self.detections: Counter[str] = Counter()
        self.proposals = 0
        self.survivors = 0
        self.signs: Counter[str] = Counter()  # sign events (one per confirmed track) by class
        self.stability: dict[str, list[float]] = {k: [] for k in STABILITY}
        self.tracking: dict[str, Any] | None = None  # the tracker's settings; None: no tracker

    def add(
        self,
        stages: dict[str, float],
        frame_ms: float,
        classes: list[str],
        proposals: int,
        survivors: int,
        cpu_main: float = 0.0,
        cpu_capture: float = 0.0,
    ) -> None:
        if self.t_first is None:
            self.t_first = time.time()
        self.frames += 1
        for k, v in stages.items():
            self.stage_ms.setdefault(k, array("d")).append(v)
        self.frame_ms.append(frame_ms)
        self.cpu_main.append(cpu_main)
        self.cpu_capture.append(cpu_capture)
        self.detections.update(classes)
        self.proposals += proposals
        self.survivors += survivors

    def add_sign(self, event: dict[str, Any]) -> None:
        """One sign event: counted by class; its CAM-stability figures kept for the means."""
        self.signs[event["class_name"]] += 1
        for k in STABILITY:
            v = event["stability"].get(k)
            if v is not None:
                self.stability[k].append(float(v))

    def _signs(self) -> dict[str, Any]:
        """Signs over time: events by class and the explanation stability over the events."""
        return {
            "tracker": self.tracking,
            "signs": sum(self.signs.values()),
            "signs_per_class": dict(self.signs.most_common()),
            "cam_stability": {
                k: round(float(np.mean(v)), 4) if v else None for k, v in self.stability.items()
            },
        }

    @staticmethod
    def _pct(values: array) -> dict[str, float]:
        a = np.frombuffer(values, np.float64) if len(values) else np.zeros(1)
        p50, p90, p99 = np.percentile(a, [50, 90, 99])
        return {
            "p50": round(float(p50), 2),
            "p90": round(float(p90), 2),
            "p99": round(float(p99), 2),
            "mean": round(float(a.mean()), 2),
        }

    def result(self, reason: str, source_stats: Any = None) -> dict[str, Any]:
        end = time.time()
        wall = end - self.t_start
        out: dict[str, Any] = {
            "event": "summary",
            "time": end,
            "reason": reason,
            "source": self.source,
            "model": self.model,
            "backend": self.backend,
            "frames": self.frames,
            "wall_s": round(wall, 3),
            "fps": round(self.frames / wall, 3) if wall > 0 else 0.0,
            "stages_ms": {k: self._pct(v) for k, v in self.stage_ms.items()},
            "frame_ms": self._pct(self.frame_ms),
            # CPU time per frame by thread: what the frame rate would be on two idle cores
            # (1000 / the larger mean) when other processes share the machine
            "cpu_ms_per_frame": {
                "main": self._pct(self.cpu_main),
                "capture": self._pct(self.cpu_capture),
            },
            "proposals_per_frame": round(self.proposals / max(self.frames, 1), 1),
            "classified_per_frame": round(self.survivors / max(self.frames, 1), 2),
            "detections": sum(self.detections.values()),
            "detections_per_class": dict(self.detections.most_common()),
        }
        if self.tracking is not None:
            out.update(self._signs())
        if source_stats is not None:
            out["source_stats"] = {
                k: getattr(source_stats, k) for k in ("read", "corrupt", "dropped", "reconnects")
            }
            out["source_stats"]["gap_s"] = round(source_stats.gap_s, 3)
        return out


def write_summary(path: str | Path, result: dict[str, Any]) -> Path:
    """Write the summary JSON atomically (a second signal mid-write never leaves half a file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def format_summary(r: dict[str, Any]) -> str:
    """A few human lines for the terminal."""
    lines = [
        f"{r['frames']} frames in {r['wall_s']:.1f} s = {r['fps']:.1f} FPS "
        f"({r['reason']}; {r['model']} on {r['backend']})"
    ]
    st = "  ".join(f"{k} {v['p50']:.1f}/{v['p99']:.1f}" for k, v in r["stages_ms"].items())
    lines.append(f"stage ms p50/p99: {st}")
    top = ", ".join(f"{k} ×{v}" for k, v in list(r["detections_per_class"].items())[:8])
    lines.append(f"{r['detections']} detections{': ' + top if top else ''}")
    if r.get("tracker") is not None:
        top = ", ".join(f"{k} ×{v}" for k, v in list(r["signs_per_class"].items())[:8])
        stab = r["cam_stability"]
        lines.append(
            f"{r['signs']} signs (one per confirmed track){': ' + top if top else ''}; "
            f"CAM stability: Pearson {stab['cam_pearson']}, top-20 % IoU "
            f"{stab['cam_top20_iou']}, peak outside the sign {stab['cam_peak_outside']}"
        )
    if "source_stats" in r:
        s = r["source_stats"]
        lines.append(
            f"source: {s['read']} read, {s['corrupt']} undecodable skipped, "
            f"{s['dropped']} stale dropped, {s['reconnects']} reconnects "
            f"({s['gap_s']:.1f} s gap)"
        )
    return "\n".join(lines)
