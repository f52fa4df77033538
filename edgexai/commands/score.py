"""`edgexai score`: score an `edgexai run` log against ground truth (GTSDB's gt.txt), with
edgexai.core.detection.scoring's rules; `--calibrate` chooses the decision's thresholds instead."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgexai.core.arg_types import frame_mod, frame_range, positive_float, unit_interval
from edgexai.core.errors import EdgexaiError
from edgexai.core.options import HelpFormatter

DESCRIPTION = (
    "Score an `edgexai run` log against ground truth (gt.txt, GTSDB's layout). A detection is "
    "correct when it overlaps a ground-truth sign at IoU ≥ 0.5 (greedy matching, best `score` "
    "first, each sign matched once) and names its class. Recall counts signs whose longer side "
    "is ≥ --min-size px; a detection on a smaller real sign is not a false alarm. Printed (JSON): "
    "AP overall and per GTSDB category (prohibitory, danger, mandatory; detections by predicted "
    "class), recall / precision / false alarms per frame at --threshold (default: whatever the "
    "log kept), false alarms per sign-free frame, and the class-agnostic figures beside. Frames "
    "are identified by the log's `file` field (00412.jpg → frame 412), so run the pipeline on a "
    "folder of GTSDB frames (`edgexai gtsdb --split heldout` prints one). For AP, run the "
    "pipeline with --min-score 0 so the log keeps every classified candidate. With --calibrate, "
    "sweep the decision's thresholds on the log's candidates instead (tuning frames only: "
    "`edgexai gtsdb --split tuneval`, run with --min-score 0) and print the best point of each "
    "rule (sign score × confidence, sign score alone, confidence alone) at --target-precision."
)
EXAMPLES = """examples:
  edgexai score --log heldout.jsonl --frames 400:600
  edgexai score --log all.jsonl --frames 400:600 --threshold 0.42 --json
  edgexai score --log tuneval.jsonl --frames 0:400 --mod 4:3 --calibrate --target-precision 0.85
"""


def register(sub) -> None:
    p = sub.add_parser(
        "score",
        help="score a run log against ground truth (AP, recall, precision)",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--log",
        required=True,
        metavar="FILE",
        help="an `edgexai run --log` file (its rotated parts FILE.1 … are read too)",
    )
    p.add_argument(
        "--gt",
        default=None,
        metavar="DIR",
        help="the folder holding gt.txt (default: GTSDB from --data-root)",
    )
    p.add_argument(
        "--data-root",
        default=None,
        help="folder holding gtsdb/ or gtsdb-dev.tar (default: $EDGEXAI_DATA)",
    )
    p.add_argument(
        "--frames",
        type=frame_range,
        default="400:600",
        metavar="START:STOP",
        help="frame numbers scored (400:600: the held-out frames)",
    )
    p.add_argument(
        "--mod",
        type=frame_mod,
        default=None,
        metavar="M:R",
        help="only frames ≡ R mod M (e.g. 4:3, the calibration frames of 0:400)",
    )
    p.add_argument(
        "--min-size",
        type=positive_float,
        default=20.0,
        help="a sign counts in recall when its longer side is at least this (px)",
    )
    p.add_argument(
        "--threshold",
        type=unit_interval,
        default=0.0,
        help="the operating point's score threshold (0: as logged)",
    )
    p.add_argument("--json", action="store_true", help="one line of JSON instead of indented")
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="sweep the decision's thresholds instead of scoring one operating point",
    )
    p.add_argument(
        "--target-precision",
        type=unit_interval,
        default=0.95,
        help="with --calibrate: the precision the chosen thresholds must reach",
    )
    p.set_defaults(func=run)


def load_frames(log: str | Path) -> dict[str, list[dict]]:
    """{frame stem: detections} from a log and its rotated parts (first visit of a frame wins)."""
    from edgexai.deploy.pipeline.log import read_jsonl
    from edgexai.deploy.pipeline.writable import log_parts

    log = Path(log)
    if not log.is_file():
        raise EdgexaiError(f"--log {log}: no such file")
    parts = log_parts(log)[::-1]  # LOG.N (the oldest) first; not LOG.1.bak or LOG.old
    out: dict[str, list[dict]] = {}
    runs: set[str] = set()  # each run's start record (a rotated file's repeat is the same run)
    again = 0
    for part in [*parts, log]:
        if part.name.endswith(".summary.json"):
            continue
        try:
            records, _ = read_jsonl(part)
        except OSError as exc:
            raise EdgexaiError(f"{part} cannot be read ({exc.strerror or exc})") from None
        for r in records:
            if r.get("event") == "start":
                start = {k: v for k, v in r.items() if k != "continued"}
                runs.add(json.dumps(start, sort_keys=True))
            if "event" in r or "file" not in r:
                continue
            if not isinstance(r["file"], str):
                raise EdgexaiError(f"{part}: a frame record's `file` is not a file name")
            stem = Path(r["file"]).stem
            again += stem in out
            out.setdefault(stem, r.get("detections", []))
    if len(runs) > 1:
        print(
            f"edgexai: warning: {log} holds the start records of {len(runs)} runs (appended, "
            f"e.g. by `run --append`); {again} frame records repeat a frame logged before and "
            "are ignored: each frame is scored from its oldest record",
            file=sys.stderr,
        )
    return out


def _in(stem: str, frames: tuple[int, int], mod: tuple[int, int] | None) -> bool:
    return (
        stem.isdigit()
        and frames[0] <= int(stem) < frames[1]
        and (mod is None or int(stem) % mod[0] == mod[1])
    )


def select(
    frames: dict[str, list[dict]], span: tuple[int, int], mod: tuple[int, int] | None = None
) -> dict[str, list[dict]]:
    """The frames numbered START ≤ n < STOP (and ≡ R mod M), in name order."""
    return {k: v for k, v in sorted(frames.items()) if _in(k, span, mod)}


def frame_dets(dets: list[dict]):
    """One frame's logged detections → edgexai.core.detection.scoring.FrameDets."""
    import numpy as np

    from edgexai.core.detection.scoring import FrameDets

    return FrameDets(
        np.array([d["box"] for d in dets], np.float32).reshape(-1, 4),
        np.array([d["score"] for d in dets], np.float32),
        np.array([d["class_id"] for d in dets], np.int64),
    )


def _chosen(
    log: str | Path, span: tuple[int, int], mod: tuple[int, int] | None
) -> dict[str, list[dict]]:
    chosen = select(load_frames(log), span, mod)
    if not chosen:
        where = f"{span[0]}:{span[1]}" + (f" ≡ {mod[1]} mod {mod[0]}" if mod else "")
        raise EdgexaiError(
            f"{log} has no frame numbered in {where} (frames are named by the "
            "log's `file` field: 00412.jpg is frame 412)"
        )
    return chosen


def _bad_log(log: str | Path, exc: Exception) -> EdgexaiError:
    """One line for a detection the scorer cannot read, saying which way it is wrong."""
    what = (
        f"a detection lacks the field {exc}"
        if isinstance(exc, KeyError)
        else f"a detection is not a record of box, score and class_id ({exc})"
    )
    return EdgexaiError(f"{log}: {what}; an `edgexai run --log` file is expected")


def checked_gt(gt: str | Path) -> dict:
    """gt.txt's boxes, each checked to lie inside its frame where the folder holds the frame."""
    from edgexai.train.data.gtsdb_frames import check_gt_in_frames, read_gt

    boxes = read_gt(gt)
    check_gt_in_frames(gt, boxes)
    return boxes


def score_log(
    log: str | Path,
    gt: str | Path,
    span: tuple[int, int] = (400, 600),
    mod: tuple[int, int] | None = None,
    threshold: float = 0.0,
    min_size: float = 20.0,
) -> dict[str, object]:
    """The figures `edgexai score` prints for one log (edgexai.core.detection.scoring.report)."""
    from edgexai.core.detection.scoring import report

    chosen = _chosen(log, span, mod)
    try:
        dets = {k: frame_dets(v) for k, v in chosen.items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad_log(log, exc) from None
    return report(dets, checked_gt(gt), threshold, min_size)


def calibrate_log(
    log: str | Path,
    gt: str | Path,
    span: tuple[int, int] = (0, 400),
    mod: tuple[int, int] | None = (4, 3),
    target_precision: float = 0.95,
    min_size: float = 20.0,
) -> dict[str, object]:
    """The best (min_sign_score, min_score) of each decision rule at the target precision
    (edgexai.core.detection.calibrate.sweep) over the log's candidates; None where no point reaches it."""
    from edgexai.core.detection.calibrate import Candidate, sweep

    chosen = _chosen(log, span, mod)
    try:
        cands = {
            k: [
                Candidate(
                    tuple(d["box"]),
                    float(d.get("sign_score", 1.0)),
                    float(d["confidence"]),
                    int(d["class_id"]),
                )
                for d in v
            ]
            for k, v in chosen.items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad_log(log, exc) from None
    gt_boxes = checked_gt(gt)
    res: dict[str, object] = {"frames": len(cands), "target_precision": target_precision}
    for rule in ("product", "sign", "confidence"):
        res[rule] = sweep(cands, gt_boxes, target_precision, rule, min_size)
    return res


def gt_folder(gt: str | None, data_root: str | None) -> Path:
    """--gt, else the GTSDB frames found from --data-root / EDGEXAI_DATA."""
    from edgexai.train.data.gtsdb_frames import require_gtsdb

    if gt is None:
        return require_gtsdb(data_root)
    folder = Path(gt).expanduser()
    if not (folder / "gt.txt").is_file():
        raise EdgexaiError(
            f"--gt {folder}: no gt.txt there (one line per sign: file;x1;y1;x2;y2;class)"
        )
    return folder


def run(args: argparse.Namespace) -> int:
    gt = gt_folder(args.gt, args.data_root)
    if args.calibrate:
        r = calibrate_log(args.log, gt, args.frames, args.mod, args.target_precision, args.min_size)
    else:
        r = score_log(args.log, gt, args.frames, args.mod, args.threshold, args.min_size)
    print(json.dumps(r, indent=None if args.json else 1))
    return 0
