"""What `edgexai run` decides, declared once: each field is also its command-line option
(edgexai.core.options), so a default or a help text lives here and nowhere else."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgexai.core.arg_types import (
    non_negative_int,
    percent,
    positive_float,
    positive_int,
    unit_interval,
    video_output,
)
from edgexai.core.manifest import PRECISIONS
from edgexai.core.options import opt
from edgexai.deploy.live.serve_address import serve_address
from edgexai.deploy.runtime.factory import BACKEND_CHOICES
from edgexai.deploy.tracking.box_tracker import TRACKERS, TrackerSettings

FINDERS = ("detector", "colour")
CAPTURE, FINDING, OUTPUT = "capture", "finding signs", "output and log"
TRACKING, LIVE = "signs over time", "live view"
_DEFAULT_TRACKING = TrackerSettings()


@dataclass
class RunConfig:
    """Everything `edgexai run` decides (the CLI fills it; tests and tools build it directly)."""

    source: str  # a URI (edgexai.deploy.pipeline.source_uri.parse_uri); the CLI's --camera/--source
    model: str | None = opt(
        None, "classifier build folder (default: the newest under --builds)", metavar="DIR"
    )
    backend: str = opt(
        "auto", "auto: TensorRT where installed, else ONNX Runtime", choices=BACKEND_CHOICES
    )
    precision: str = opt(
        "fp32",
        "the engines' precision: TensorRT opens the engine `edgexai "
        "engine --precision P` built; ONNX Runtime the build's P variant",
        choices=PRECISIONS,
    )
    finder: str = opt(
        "detector",
        "how signs are found: the learned detector or the classical "
        "colour/shape cascade with its HOG rejector (for comparison)",
        choices=FINDERS,
        aliases=("--proposer",),
        group=FINDING,
    )
    detector: str | None = opt(
        None,
        "detector build folder (default: the one shipped with edgexai)",
        metavar="DIR",
        group=FINDING,
    )
    # Called from code, a run opens no window; the command opens one unless --headless.
    headless: bool = opt(True, "no window", flag="--headless", group=OUTPUT)
    output: str | None = opt(
        None,
        "also write the overlay video (.mp4 or .avi), sized as the first frame: a frame of "
        "another size is letterboxed into it (scaled to fit, black borders); an existing FILE "
        "needs --overwrite",
        metavar="FILE",
        type=video_output,
        group=OUTPUT,
    )
    overwrite: bool = opt(
        False,
        "replace an existing --output video, and (without --append) an existing log, its "
        "rotated parts and the summary; without it a run refuses to write over any of them",
        group=OUTPUT,
    )
    log: str = opt(
        "edgexai-run.jsonl",
        "per-frame JSON Lines log; a run starts a new one and refuses an existing one "
        "(see --append, --overwrite)",
        group=OUTPUT,
    )
    append: bool = opt(
        False,
        "add this run to an existing log (its start record marks where it begins; `edgexai "
        "score` warns about a log of several runs); the summary is this run's",
        group=OUTPUT,
    )
    log_max_mb: float = opt(
        50.0, "rotate the log at this size in MiB", type=positive_float, group=OUTPUT
    )
    log_backups: int = opt(
        5,
        "rotated logs kept, LOG.1 … LOG.N; each file begins with the run's start record",
        type=positive_int,
        group=OUTPUT,
    )
    summary: str | None = opt(None, "summary JSON (default: LOG.summary.json)", group=OUTPUT)
    events: str | None = opt(
        None,
        "also write the sign events (one per confirmed sign, when its track ends) and the "
        "changes of the signs in force to FILE as JSON Lines (they are in --log too); an "
        "existing FILE needs --append or --overwrite",
        metavar="FILE",
        group=OUTPUT,
    )
    quiet: bool = opt(False, "no summary on stderr", group=OUTPUT)
    probe_every: int = opt(
        0, "faithfulness probe on every Nth frame (0: off)", metavar="N", type=non_negative_int
    )
    probe_top_pct: float = opt(
        20.0,
        "the probe removes the top PCT %% of CAM pixels",
        metavar="PCT",
        type=percent,
        flag="--probe-top",
    )
    input_width: int | None = opt(None, "capture width", type=positive_int, group=CAPTURE)
    input_height: int | None = opt(None, "capture height", type=positive_int, group=CAPTURE)
    input_rate: float | None = opt(None, "capture frame rate", type=positive_float, group=CAPTURE)
    loop: bool = opt(False, "restart files/folders at their end", group=CAPTURE)
    max_frames: int | None = opt(None, "stop after N frames", type=positive_int, group=CAPTURE)
    min_score: float | None = opt(
        None,
        "sign score × classifier confidence needed to report a "
        "sign (default: the value calibrated for the finder on GTSDB "
        "frames 0–399)",
        type=unit_interval,
        group=FINDING,
    )
    min_confidence: float | None = opt(
        None,
        "also require this classifier confidence (default: calibrated)",
        type=unit_interval,
        group=FINDING,
    )
    candidate_threshold: float | None = opt(
        None,
        "detector: the detector score a box needs to be classified (default: calibrated)",
        type=unit_interval,
        group=FINDING,
    )
    sign_threshold: float | None = opt(
        None,
        "colour finder: rejector score a proposal needs to be classified (default: calibrated)",
        type=unit_interval,
        group=FINDING,
    )
    rejector: bool = opt(
        True,
        "colour finder: classify every proposal, without the rejector "
        "(slow; for measuring the rejector)",
        group=FINDING,
    )
    refine: bool = opt(
        True, "colour finder: keep the proposal boxes as found (no refiner)", group=FINDING
    )
    engine_threads: int | None = opt(
        None,
        "ONNX Runtime intra-op threads (default: ONNX Runtime's choice)",
        type=positive_int,
        flag="--threads",
        metavar="N",
    )
    tracker: str = opt(
        "iou",
        "iou: follow each sign from frame to frame (IoU against its motion-predicted box), "
        "one voted class per track, a sign event when it ends, the signs in force; none: "
        "frame-by-frame detections only (no track ids, events or state)",
        choices=TRACKERS,
        group=TRACKING,
    )
    tracker_min_frames: int = opt(
        _DEFAULT_TRACKING.min_frames,
        "frames with a detection before a track is confirmed (shown, voted, counted); this "
        "and the next three are calibrated on drive-bys of GTSDB frames 0–399",
        type=positive_int,
        metavar="N",
        group=TRACKING,
    )
    tracker_drop_frames: int = opt(
        _DEFAULT_TRACKING.drop_frames,
        "frames a track is kept without a detection before it ends",
        type=non_negative_int,
        metavar="N",
        group=TRACKING,
    )
    tracker_overlap: float = opt(
        _DEFAULT_TRACKING.overlap,
        "IoU a detection needs with a track's predicted box to continue it",
        type=unit_interval,
        metavar="F",
        group=TRACKING,
    )
    tracker_min_score: float = opt(
        _DEFAULT_TRACKING.min_score,
        "mean detection score (sign score × confidence) a track needs to be confirmed",
        type=unit_interval,
        metavar="F",
        group=TRACKING,
    )
    warning_hold: float = opt(
        5.0,
        "seconds a warning sign (GTSRB 18–31) stays in force after it was last seen",
        type=positive_float,
        metavar="S",
        group=TRACKING,
    )
    serve: tuple[str, int] | None = opt(
        None,
        "serve a live page of the run at http://HOST:PORT/ (annotated video, signs in force "
        "with crops and CAMs, last events, FPS, stage latency); HOST defaults to 127.0.0.1 "
        "(loopback only): name one (e.g. 0.0.0.0:8080) to listen elsewhere; 0 picks a free "
        "port",
        type=serve_address,
        metavar="[HOST:]PORT",
        group=LIVE,
    )
    serve_fps: float = opt(
        15.0,
        "at most this many video frames a second to the live page",
        type=positive_float,
        metavar="FPS",
        group=LIVE,
    )
    max_classify: int = 64  # at most this many crops per engine call
    nms_iou: float = 0.3
    live: bool | None = None  # None: by source kind
    stall_s: float = 5.0
    cv_threads: int = 1  # OpenCV worker threads (0: OpenCV's default)
    prepare_in_capture: bool = True  # the finder's prepare step in the capture thread
    extra: dict[str, Any] = field(default_factory=dict)

    def summary_path(self) -> Path:
        return Path(self.summary) if self.summary else Path(str(self.log) + ".summary.json")

    @property
    def tracking(self) -> TrackerSettings | None:
        """The tracker's settings, or None for --tracker none."""
        if self.tracker == "none":
            return None
        return TrackerSettings(
            self.tracker_min_frames,
            self.tracker_drop_frames,
            self.tracker_overlap,
            self.tracker_min_score,
        )

    @property
    def log_max_bytes(self) -> int:
        return int(self.log_max_mb * 2**20)
