"""The pipeline section's figures from an `edgexai run` summary: a frame of the run's overlay
video (the one with the most detections), ms per frame per stage, detections per class."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.study.bench.plots import class_bars, frame_image, stage_bars


def pipeline_figures(fig_dir: Path, summaries: list[dict[str, Any]]) -> dict[str, Path]:
    """{'pipeline_frame_I' | 'pipeline_stages_I' | 'pipeline_classes_I': path} per summary I."""
    paths: dict[str, Path] = {}
    for i, s in enumerate(summaries):
        name = Path(str(s.get("model", ""))).name
        frame, title = overlay_frame(s)
        if frame is not None:
            paths[f"pipeline_frame_{i}"] = frame_image(
                fig_dir / f"pipeline_frame_{i}.png", frame, title
            )
        if s.get("stages_ms"):
            fps = float(s.get("fps") or 0.0)
            paths[f"pipeline_stages_{i}"] = stage_bars(
                fig_dir / f"pipeline_stages_{i}.png",
                s["stages_ms"],
                f"Where a frame's time goes: {name} on {s.get('backend')}, {fps:.1f} FPS",
            )
        if s.get("detections_per_class"):
            paths[f"pipeline_classes_{i}"] = class_bars(
                fig_dir / f"pipeline_classes_{i}.png",
                s["detections_per_class"],
                f"What the run found: detections per class over {s.get('frames')} frames",
            )
    return paths


def no_overlay(summary: dict[str, Any]) -> str | None:
    """Why the report can show no frame of this run (None: it can try its video)."""
    video = (summary.get("files") or {}).get("output")
    if not video:
        return "the run saved no overlay video (`edgexai run --output FILE` saves one)"
    if not Path(video).is_file():
        return f"the run's overlay video {video} is no longer there"
    return None


def overlay_frame(summary: dict[str, Any]) -> tuple[np.ndarray | None, str]:
    """(RGB frame, its title) of the frame with the most detections, or (None, why not)."""
    why = no_overlay(summary)
    if why:
        return None, why
    files = summary["files"]
    video = files["output"]
    position, record = busiest_frame(files.get("log"))
    frame = _read_frame(video, position)
    if frame is None:
        return None, f"the run's overlay video {video} could not be read"
    found = (record or {}).get("detections") or []
    names = sorted({str(d.get("class_name")) for d in found})
    title = f"frame {(record or {}).get('frame', position)}: {len(found)} detection(s)"
    if names:
        title += " — " + ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
    return frame, title


def busiest_frame(log: str | None) -> tuple[int, dict[str, Any] | None]:
    """(position among the logged frames, its record) of the frame with the most detections; the
    video has one frame per logged frame, in order. (0, None) without a readable log."""
    if not log or not Path(log).is_file():
        return 0, None
    best: tuple[int, dict[str, Any] | None] = (0, None)
    most = -1
    position = 0
    for path in [*_backups(Path(log)), Path(log)]:
        for line in path.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if not isinstance(rec, dict) or "frame" not in rec or "event" in rec:
                continue
            n = len(rec.get("detections") or [])
            if n > most:
                best, most = (position, rec), n
            position += 1
    return best


def _backups(log: Path) -> list[Path]:
    """Rotated logs LOG.N … LOG.1, oldest first."""
    found = [p for p in log.parent.glob(log.name + ".*") if p.suffix[1:].isdigit()]
    return sorted(found, key=lambda p: -int(p.suffix[1:]))


def _read_frame(video: str, position: int) -> np.ndarray | None:
    import cv2

    cap = cv2.VideoCapture(video)
    try:
        frame = None
        for _ in range(position + 1):  # read, not seek: mp4v seeking is not exact
            ok, frame = cap.read()
            if not ok:
                return None
    finally:
        cap.release()
    return None if frame is None else cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
