"""Our box tracker against Roboflow's `trackers` library (SORT, ByteTrack, OC-SORT) on drive-bys:
the measurement behind issue 44's "which tracker we ship and why".

Every tracker sees the same input: the detections of one `edgexai run --tracker none` log per
drive-by, frame record by frame record (one update per logged frame, so a frame the drive-by
dropped is invisible to all of them alike). Ours runs through `edgexai.study.driveby_eval.replay`
(the vehicle's tracking stage); each library tracker gets `supervision.Detections` (xyxy, the
detection's `score` as confidence, `class_id`) and answers a `tracker_id` per detection (-1: not
yet confirmed, or not tracked). A library track's class is the same confidence-weighted vote as
ours (edgexai.deploy.tracking.class_vote, weights = `score`); each confirmed library track id
becomes one sign event. Everything is scored by `edgexai.study.driveby_eval.evaluate` (MOTA, IDF1 and ID
switches from motmetrics via edgexai.study.track_scores.score_tracks; exactly-one-event share;
flicker), the same scorer for every row.

Library settings, each tried three ways:

- `defaults`: the constructor's defaults (thresholds tuned for raw detector confidences);
- `matched`: lost-track buffer = our `drop_frames`, minimum consecutive frames = our `min_frames`
  (defaults: our shipped `TrackerSettings`; `--min-frames` / `--drop-frames` change both sides;
  OC-SORT gets one less, since its counter does not count the detection that spawned the track);
- `matched, all high`: as `matched`, and every detection the decision kept counts as high
  confidence (activation / high-confidence thresholds 0) with the IoU gate at our `overlap`:
  the tracker's lifecycle and gates are ours, only the association differs (Kalman filter and
  optimal assignment against our constant-velocity prediction and greedy IoU with a centre-distance
  fallback).

A library never names the track of the detection that spawned it (it answers -1 there, whatever
`minimum_consecutive_frames`), so a library track's class vote starts at its second detection at
the earliest, where ours counts the first too: a deployment using the library would know no more.

MOTA and IDF1 in the table are the mean over the drive-bys (as benchmarks/bench_tracking.py's
totals); switches per GT track, events, exactly-one and flicker are pooled counts.

Two environments: `trackers` pulls opencv-python, which must not go into the project's .venv, so
this script runs in a separate venv holding `trackers`, `supervision` and `motmetrics`, with the
repository on PYTHONPATH (the edgexai modules it imports need numpy, motmetrics and OpenCV only).
The drive-bys and the logs are made in the project's .venv:

    . .venv/bin/activate
    EDGEXAI_DATA=/path/to/data edgexai driveby --out /tmp/dv/held-0 --frames 400:600 \\
        --count 6 --seed 0
    edgexai run --source /tmp/dv/held-0 --model builds/resnet20-natural-s0 --headless \\
        --tracker none --quiet --log /tmp/dv/held-0-none.jsonl
    deactivate
    PYTHONPATH=$PWD /path/to/trkvenv/bin/python benchmarks/compare_tracker_libraries.py \\
        /tmp/dv/held-0 /tmp/dv/held-1 /tmp/dv/held-2

(the log of drive-by DIR is DIR-none.jsonl unless `--log-suffix` says otherwise).
"""

from __future__ import annotations

import argparse
import inspect
import json
import platform
import sys
import warnings
from collections.abc import Callable
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.classes import GTSRB_CLASSES
from edgexai.deploy.pipeline.log import read_jsonl
from edgexai.deploy.tracking.box_tracker import TrackerSettings
from edgexai.deploy.tracking.class_vote import ClassVote
from edgexai.study.driveby_eval import (
    _number,
    evaluate,
    frame_records,
    gt_classes,
    match_frame,
    replay,
    total,
)
from edgexai.study.track_scores import read_tracks

LIBRARIES = ("SORTTracker", "ByteTrackTracker", "OCSORTTracker")
# What a library's confirmation counter holds after the detection that spawned the track: OC-SORT's
# starts at 0 (it needs minimum_consecutive_frames matches *after* that one), SORT's and
# ByteTrack's at 1, like our `hits`; `matched` rows subtract the difference.
FIRST_COUNT = {"SORTTracker": 1, "ByteTrackTracker": 1, "OCSORTTracker": 0}
TRACK_FIELDS = ("track_id", "confirmed", "track_class_id", "track_class_name")
SHOWN_DEFAULTS = (
    "lost_track_buffer",
    "minimum_consecutive_frames",
    "minimum_iou_threshold",
    "track_activation_threshold",
    "high_conf_det_threshold",
)
SHORT = {
    "lost_track_buffer": "buffer",
    "minimum_consecutive_frames": "min frames",
    "minimum_iou_threshold": "IoU",
    "track_activation_threshold": "activation",
    "high_conf_det_threshold": "high conf",
}
COUNTS = ("num_switches", "gt_tracks", "events", "events_unmatched", "exactly_one_right")
COUNTS += ("flicker_frames", "frames", "never_shown", "split", "wrong_class", "hidden")


def library_variants(matched: TrackerSettings) -> list[tuple[str, str, dict[str, Any]]]:
    """(library class, settings label, constructor arguments) for every library row."""
    import trackers

    rows = []
    for name in LIBRARIES:
        params = inspect.signature(getattr(trackers, name)).parameters
        defaults = {k: params[k].default for k in SHOWN_DEFAULTS if k in params}
        same = {
            "lost_track_buffer": matched.drop_frames,
            "minimum_consecutive_frames": matched.min_frames - 1 + FIRST_COUNT[name],
        }
        high = {k: 0.0 for k in ("track_activation_threshold", "high_conf_det_threshold")}
        high = {k: v for k, v in high.items() if k in params}
        high["minimum_iou_threshold"] = matched.overlap
        for label, kwargs in (
            ("defaults", {}),
            ("matched", same),
            ("matched, all high", {**same, **high}),
        ):
            shown = {**defaults, **kwargs}
            text = ", ".join(f"{SHORT[k]} {shown[k]:g}" for k in SHOWN_DEFAULTS if k in shown)
            rows.append((name, f"{label} ({text})", kwargs))
    return rows


def library_records(records: list[dict], make: Callable[[], Any]) -> list[dict]:
    """A logged run's frames tracked by a library tracker, in the shape `replay` returns: the
    per-frame records with the track fields, then one `sign` event per track id. A detection the
    library names a track id for is confirmed; its track's class vote counts every such one."""
    import supervision as sv

    tracker = make()
    votes: dict[int, ClassVote] = {}
    out: list[dict] = []
    for rec in frame_records(records):
        dets = [{k: v for k, v in d.items() if k not in TRACK_FIELDS} for d in rec["detections"]]
        n = len(dets)
        if n:
            found = sv.Detections(
                xyxy=np.array([d["box"] for d in dets], np.float32).reshape(-1, 4),
                confidence=np.array([d["score"] for d in dets], np.float32),
                class_id=np.array([d["class_id"] for d in dets], int),
                data={"row": np.arange(n)},
            )
        else:
            found = sv.Detections.empty()
        result = tracker.update(found)
        ids = np.full(n, -1, int)
        if len(result):  # ByteTrack and OC-SORT reorder their answer: map it back by row
            ids[np.asarray(result.data["row"], int)] = result.tracker_id
        for d, tid in zip(dets, ids.tolist(), strict=True):
            if tid < 0:
                d.update(track_id=None, confirmed=False, track_class_id=None, track_class_name=None)
                continue
            vote = votes.setdefault(tid, ClassVote())
            vote.add(int(d["class_id"]), float(d["score"]))
            k = vote.confirm()
            d.update(
                track_id=tid, confirmed=True, track_class_id=k, track_class_name=GTSRB_CLASSES[k]
            )
        out.append({**rec, "detections": dets})
    events = [
        {
            "event": "sign",
            "track_id": tid,
            "class_id": v.shown,
            "class_name": GTSRB_CLASSES[v.shown],
        }
        for tid, v in votes.items()
        if v.shown is not None
    ]
    return out + events


def losses(folder: Path, records: list[dict], tracked: bool) -> dict[str, Any]:
    """Where the ground-truth signs that did not become exactly one right event went: never shown
    (no confirmed detection), split over several track ids, or one id voted the wrong class; and
    `hidden`: detections matching a sign (IoU ≥ MATCH_IOU, greedy, as in `evaluate`) that the
    tracker did not confirm in their frame (not yet confirmed, or not tracked)."""
    gt = read_tracks(folder / "tracks.txt")
    classes = gt_classes(folder)
    shown_ids: dict[int, list] = {g: [] for boxes in gt.values() for g, _ in boxes}
    hidden = 0
    for rec in frame_records(records):
        n, dets = _number(rec), rec["detections"]
        g = gt.get(n, [])
        for di, gi in match_frame(dets, g):
            d = dets[di]
            if not tracked:
                shown_ids[g[gi][0]].append(("det", n, di))
            elif d.get("confirmed"):
                shown_ids[g[gi][0]].append(d["track_id"])
            else:
                hidden += 1
    event_class = {e["track_id"]: e["class_id"] for e in records if e.get("event") == "sign"}
    out: dict[str, Any] = {"never_shown": 0, "split": 0, "wrong_class": 0, "hidden": hidden}
    details = []
    for g, ids in sorted(shown_ids.items()):
        ids = list(dict.fromkeys(ids))
        if not ids:
            out["never_shown"] += 1
            details.append(f"sign {g}: never shown")
        elif len(ids) > 1:
            out["split"] += 1
            details.append(f"sign {g}: {len(ids)} ids")
        elif tracked and event_class.get(ids[0]) != classes[g]:
            out["wrong_class"] += 1
            details.append(f"sign {g}: class {event_class.get(ids[0])}, not {classes[g]}")
    out["details"] = details
    return out


def table(results: list[dict]) -> str:
    head = (
        "| tracker | settings | MOTA | IDF1 | ID switches / GT track | exactly one right event "
        "| events (unmatched) | flicker frames | never shown / split / wrong class "
        "| hidden matches | frames |"
    )
    lines = [head, "|" + " --- |" * 11]
    for r in results:
        t = r["total"]
        lines.append(
            f"| {r['tracker']} | {r['settings']} | {t['mota']:.3f} | {t['idf1']:.3f} "
            f"| {t['switches_per_track']:.3f} ({t['num_switches']}/{t['gt_tracks']}) "
            f"| {t['exactly_one_right_share']:.3f} ({t['exactly_one_right']}/{t['gt_tracks']}) "
            f"| {t['events']} ({t['events_unmatched']}) | {t['flicker_frames']} "
            f"| {t['never_shown']} / {t['split']} / {t['wrong_class']} | {t['hidden']} "
            f"| {t['frames']} |"
        )
    return "\n".join(lines)


def versions() -> str:
    names = ("trackers", "supervision", "motmetrics", "numpy", "scipy")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return f"Python {platform.python_version()}; " + ", ".join(found)


Run = tuple[str, str, Callable[[list[dict]], tuple[list[dict], bool]]]


def tracker_runs(shipped: TrackerSettings, matched: TrackerSettings) -> list[Run]:
    """(tracker, settings label, records → (tracked records, tracked?)) for every row."""
    import trackers

    classes = list(GTSRB_CLASSES)
    runs: list[Run] = [
        ("none (every detection its own track)", "--tracker none", lambda rec: (rec, False))
    ]
    for label, s in [("shipped", shipped)] + ([("matched", matched)] if matched != shipped else []):
        text = (
            f"{label} (min frames {s.min_frames}, drop {s.drop_frames}, overlap {s.overlap:g}, "
            f"smoothing {s.smoothing:g})"
        )
        runs.append(("ours (iou)", text, lambda rec, s=s: (replay(rec, s, classes), True)))
    for name, text, kwargs in library_variants(matched):
        make = lambda name=name, kwargs=kwargs: getattr(trackers, name)(**kwargs)  # noqa: E731
        runs.append((name, text, lambda rec, make=make: (library_records(rec, make), True)))
    return runs


def read_logs(ap: argparse.ArgumentParser, folders: list[Path], suffix: str) -> list:
    """(drive-by folder, its `--tracker none` log's records) for every folder."""
    logs = []
    for folder in folders:
        log = Path(str(folder) + suffix)
        if not (folder / "tracks.txt").exists() or not log.exists():
            ap.error(f"{folder}: needs the drive-by's tracks.txt and its run log {log}")
        records, _ = read_jsonl(log)
        if any("track_id" in d for r in frame_records(records) for d in r["detections"]):
            ap.error(f"{log}: not a `--tracker none` run (its detections carry track ids)")
        logs.append((folder, records))
    return logs


def details(results: list[dict]) -> str:
    lines = []
    for r in results[1:]:  # not `--tracker none`: every detection is its own id there
        for row in r["per_driveby"]:
            if row["details"]:
                where = Path(row["driveby"]).name
                lines.append(
                    f"- {r['tracker']}, {r['settings']}, {where}: " + "; ".join(row["details"])
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    shipped = TrackerSettings()
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("drivebys", nargs="+", type=Path, help="drive-by folders (edgexai driveby)")
    ap.add_argument(
        "--log-suffix",
        default="-none.jsonl",
        help="the `--tracker none` run log of drive-by DIR is DIR + this (default: %(default)s)",
    )
    ap.add_argument(
        "--min-frames",
        type=int,
        default=shipped.min_frames,
        help="frames with a detection before a track counts, ours and the libraries' `matched` "
        "rows (default: our shipped %(default)s)",
    )
    ap.add_argument(
        "--drop-frames",
        type=int,
        default=shipped.drop_frames,
        help="frames a lost track is kept, ours and the libraries' `matched` rows "
        "(default: our shipped %(default)s)",
    )
    ap.add_argument("--json", type=Path, help="also write every row, per drive-by, here")
    ap.add_argument(
        "--details",
        action="store_true",
        help="after the table, each tracker's lost signs per drive-by (tracks.txt ids)",
    )
    args = ap.parse_args(argv)
    logs = read_logs(ap, args.drivebys, args.log_suffix)
    matched = replace(shipped, min_frames=args.min_frames, drop_frames=args.drop_frames)

    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for tracker, settings, track in tracker_runs(shipped, matched):
            per = []
            for folder, records in logs:
                tracked_records, tracked = track(records)
                row = evaluate(folder, tracked_records, tracked)
                row.update(losses(folder, tracked_records, tracked))
                per.append({"driveby": str(folder), **row})
            results.append(
                {
                    "tracker": tracker,
                    "settings": settings,
                    "per_driveby": per,
                    "total": total(per, COUNTS),
                }
            )

    print(f"{len(logs)} drive-bys: " + ", ".join(str(f) for f, _ in logs))
    print(table(results))
    print()
    if args.details:
        print(details(results) + "\n")
    print(versions())
    if args.json:
        args.json.write_text(json.dumps({"versions": versions(), "rows": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
