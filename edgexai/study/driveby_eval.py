"""How a run's tracks, events and displayed classes compare with a drive-by's ground truth
(issue 44's acceptance figures), and `replay`: the vehicle's tracking stage re-run on a logged run's
detections, for calibrating the tracker's settings without classifying again.

Figures, per drive-by folder (edgexai.study.driveby_sequences) and run log:

- MOTA, IDF1, ID switches per ground-truth track (motmetrics, edgexai.study.track_scores), from
  the confirmed detections and their track ids (with `--tracker none`, every detection is its
  own track);
- exactly-one-event share: the ground-truth signs that became exactly one sign event of the right
  class. An event belongs to the ground-truth track its detections overlapped (IoU ≥ 0.5) in most
  frames; with `--tracker none` every detection is an event;
- flicker: over ground-truth tracks of ≥ 10 frames, the frames in which the class displayed on
  the sign differs from the class displayed the previous time it showed one (frames showing
  nothing are skipped: a blink is not a flicker); the tracker displays a confirmed track's class,
  `--tracker none` each detection's own class;
- sign events per minute of drive (frames / 30 FPS, the drive-by's nominal camera rate).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from edgexai.core.detection.boxes import iou_matrix
from edgexai.deploy.tracking.box_tracker import TrackerSettings
from edgexai.study.track_scores import read_tracks, score_tracks

NOMINAL_FPS = 30.0
MIN_FLICKER_TRACK = 10
MATCH_IOU = 0.5


def _xyxy(xywh) -> list[float]:
    x, y, w, h = xywh
    return [x - 0.5, y - 0.5, x - 0.5 + w, y - 0.5 + h]  # tracks.txt → continuous edges


def gt_classes(folder: Path) -> dict[int, int]:
    """Each ground-truth track id's class: gt.txt and tracks.txt list the same boxes in order."""
    gt = [ln for ln in (folder / "gt.txt").read_text().splitlines() if ln.strip()]
    tr = [ln for ln in (folder / "tracks.txt").read_text().splitlines() if ln.strip()]
    return {int(t.split(",")[1]): int(g.split(";")[5]) for g, t in zip(gt, tr, strict=True)}


def frame_records(records: list[dict]) -> list[dict]:
    """The per-frame records of a log, with their drive-by frame number (from the file name)."""
    return [r for r in records if "frame" in r and "event" not in r and "file" in r]


def _number(rec: dict) -> int:
    return int(Path(rec["file"]).stem)


def shown(det: dict, tracked: bool) -> str | None:
    """The class a display shows for a detection (None: nothing shown)."""
    if not tracked:
        return det["class_name"]
    return det.get("track_class_name")


def match_frame(dets: list[dict], gt: list[tuple[int, tuple]]) -> list[tuple[int, int]]:
    """(detection, ground truth) index pairs of one frame: greedy one-to-one by IoU, highest
    first, each pair at IoU ≥ MATCH_IOU (gt boxes as tracks.txt's x, y, w, h)."""
    if not dets or not gt:
        return []
    iou = iou_matrix(np.array([d["box"] for d in dets]), np.array([_xyxy(b) for _, b in gt]))
    pairs, used_d, used_g = [], set(), set()
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        di, gi = divmod(int(flat), len(gt))
        if iou[di, gi] < MATCH_IOU:
            break
        if di not in used_d and gi not in used_g:
            pairs.append((di, gi))
            used_d.add(di)
            used_g.add(gi)
    return pairs


def total(rows: list[dict], counts: tuple[str, ...]) -> dict[str, Any]:
    """Figures of several drive-bys together: `counts` summed, MOTA and IDF1 averaged, the
    shares and the rate from the sums."""
    out: dict[str, Any] = {k: sum(r[k] for r in rows) for k in counts}
    for k in ("mota", "idf1"):
        out[k] = round(sum(r[k] for r in rows) / len(rows), 4)
    out["switches_per_track"] = round(out["num_switches"] / max(out["gt_tracks"], 1), 3)
    out["exactly_one_right_share"] = round(out["exactly_one_right"] / max(out["gt_tracks"], 1), 4)
    minutes = out["frames"] / NOMINAL_FPS / 60
    out["events_per_minute"] = round(out["events"] / minutes, 2) if minutes else 0.0
    return out


def evaluate(folder: str | os.PathLike, records: list[dict], tracked: bool) -> dict[str, Any]:
    """The figures of one run (its log `records`) on the drive-by `folder`."""
    folder = Path(folder)
    gt = read_tracks(folder / "tracks.txt")
    classes = gt_classes(folder)
    frames = frame_records(records)
    pred: dict[int, list] = defaultdict(list)
    det_gt: dict[tuple[int, int], int] = {}  # (frame number, detection index) → gt track id
    next_id = 10**6
    displays: dict[int, list[str]] = defaultdict(list)  # gt track → displayed classes in order
    for rec in frames:
        n = _number(rec)
        dets = rec["detections"]
        g = gt.get(n, [])
        for di, gi in match_frame(dets, g):
            det_gt[(n, di)] = g[gi][0]
        for di, d in enumerate(dets):
            label = shown(d, tracked)
            if (n, di) in det_gt and label is not None:
                displays[det_gt[(n, di)]].append(label)
            if tracked and not d.get("confirmed"):
                continue
            tid = d.get("track_id") if tracked else None
            if tid is None:
                tid, next_id = next_id, next_id + 1
            x1, y1, x2, y2 = d["box"]
            pred[n].append((int(tid), (x1 + 0.5, y1 + 0.5, x2 - x1, y2 - y1)))
    mot = score_tracks(gt, pred)
    events = _events(records, frames, det_gt, tracked)
    gt_len = Counter(i for boxes in gt.values() for i, _ in boxes)
    per_gt = defaultdict(list)
    for ev in events:
        if ev["gt"] is not None:
            per_gt[ev["gt"]].append(ev["class_id"])
    exact = sum(1 for g, evs in per_gt.items() if len(evs) == 1 and evs[0] == classes[g])
    flicker = sum(
        sum(a != b for a, b in zip(seq, seq[1:], strict=False))
        for g, seq in displays.items()
        if gt_len[g] >= MIN_FLICKER_TRACK
    )
    n_frames = len(frames)
    return {
        **{k: mot[k] for k in ("mota", "idf1", "num_switches", "switches_per_track")},
        "gt_tracks": len(gt_len),
        "events": len(events),
        "events_unmatched": sum(ev["gt"] is None for ev in events),
        "exactly_one_right": exact,
        "exactly_one_right_share": round(exact / max(len(gt_len), 1), 4),
        "flicker_frames": int(flicker),
        "flicker_tracks": sum(gt_len[g] >= MIN_FLICKER_TRACK for g in gt_len),
        "frames": n_frames,
        "events_per_minute": round(len(events) / max(n_frames / NOMINAL_FPS / 60, 1e-9), 2),
    }


def _events(records, frames, det_gt, tracked) -> list[dict]:
    """Sign events with the ground-truth track each belongs to (None: a false sign)."""
    if not tracked:  # every detection is its own "event"
        return [
            {"class_id": d["class_id"], "gt": det_gt.get((_number(r), i))}
            for r in frames
            for i, d in enumerate(r["detections"])
        ]
    votes: dict[int, Counter] = defaultdict(Counter)
    for r in frames:
        for i, d in enumerate(r["detections"]):
            if (_number(r), i) in det_gt:
                votes[d["track_id"]][det_gt[(_number(r), i)]] += 1
    return [
        {
            "class_id": e["class_id"],
            "gt": votes[e["track_id"]].most_common(1)[0][0] if votes[e["track_id"]] else None,
        }
        for e in records
        if e.get("event") == "sign"
    ]


class _Collect:
    def __init__(self) -> None:
        self.records: list[dict] = []

    def write(self, record: dict) -> None:
        self.records.append(record)


def replay(records: list[dict], settings: TrackerSettings, classes: list[str]) -> list[dict]:
    """A logged run's frames re-tracked with `settings` (no CAMs: no stability figures): the
    per-frame records with the new track fields, then the events, as a run would have logged."""
    from edgexai.deploy.pipeline.stages import Decided, FrameClock
    from edgexai.deploy.pipeline.summary import Summary
    from edgexai.deploy.pipeline.track_stage import TrackStage

    sink = _Collect()
    stage = TrackStage(settings, classes, [sink], Summary("replay", "replay", "replay"))
    out: list[dict] = []
    for rec in frame_records(records):
        dets = [
            {k: v for k, v in d.items() if k not in ("track_id", "confirmed", "track_class_id")}
            for d in rec["detections"]
        ]
        frame = SimpleNamespace(index=rec["frame"], t_capture=rec["time"], name=rec["file"])
        classified = SimpleNamespace(cams=None, padded=None)
        decided = Decided(dets, np.arange(len(dets)))
        stage(frame, classified, decided, FrameClock({}))
        out.append({**rec, "detections": dets})
    stage.finish()
    return out + sink.records
