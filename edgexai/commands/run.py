"""`edgexai run`: the camera-frame pipeline (deployment side: numpy, OpenCV, an inference backend)."""

from __future__ import annotations

import argparse
import sys

from edgexai.commands.arg_types import (
    non_negative_int,
    percent,
    positive_float,
    positive_int,
    unit_interval,
    video_output,
)
from edgexai.manifest import PRECISIONS
from edgexai.runtime.factory import BACKEND_CHOICES

RUN_BACKENDS = (*BACKEND_CHOICES, "fake")  # fake: the pipeline's test engine, no model


def register(sub) -> None:
    p = sub.add_parser(
        "run", help="camera-frame pipeline: detect → classify + Grad-CAM → overlay → log",
        description="Read frames from a camera or file, find signs with the learned detector "
                    "(one engine call on the down-scaled frame), classify every found sign and "
                    "compute its Grad-CAM in one more engine call, draw them, and log every frame "
                    "as JSON Lines (per-stage ms, boxes, classes, detector score, confidence, "
                    "CAM Gini, sampled faithfulness probe). A summary (FPS, p50/p90/p99 per "
                    "stage, detections per class) is written on exit, including SIGINT/SIGTERM. "
                    "With TensorRT, run uses the engines `edgexai engine` built on this device "
                    "and never builds one itself.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--camera", type=non_negative_int, metavar="N", help="V4L2 camera N (/dev/videoN)")
    src.add_argument("--source", metavar="URI",
                     help="/dev/videoN, csi://N, a video file (or file://PATH), an image, a folder "
                          "of images, rtsp://…, or a GStreamer pipeline ending in appsink")
    p.add_argument("--model", metavar="DIR", default=None,
                   help="classifier build folder (default: the newest under --engines)")
    p.add_argument("--engines", default="engines", help="where to look for the newest build (default: engines)")
    p.add_argument("--backend", default="auto", choices=RUN_BACKENDS,
                   help="auto: TensorRT where installed, else ONNX Runtime (fake: a test "
                        "classifier engine; the detector then runs on ONNX Runtime)")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS,
                   help="the engines' precision: TensorRT opens the engine `edgexai engine "
                        "--precision P` built; ONNX Runtime the build's P variant (default: fp32)")
    p.add_argument("--proposer", default="detector", choices=("detector", "colour"),
                   help="how signs are found: the learned detector (default) or the classical "
                        "colour/shape cascade with its HOG rejector (for comparison)")
    p.add_argument("--detector", metavar="DIR", default=None,
                   help="detector build folder (default: the one shipped with edgexai)")
    p.add_argument("--headless", action="store_true", help="no window")
    p.add_argument("--output", metavar="FILE", type=video_output,
                   help="also write the overlay video (.mp4 or .avi)")
    p.add_argument("--log", default="edgexai-run.jsonl", help="per-frame JSON Lines log (default: edgexai-run.jsonl)")
    p.add_argument("--log-max-mb", type=positive_float, default=50.0, help="rotate the log at this size in MiB (default: 50)")
    p.add_argument("--log-backups", type=positive_int, default=5, help="rotated logs kept, LOG.1 … LOG.N (default: 5)")
    p.add_argument("--summary", default=None, help="summary JSON (default: LOG.summary.json)")
    p.add_argument("--probe-every", type=non_negative_int, default=0, metavar="N",
                   help="faithfulness probe on every Nth frame (0: off)")
    p.add_argument("--probe-top", type=percent, default=20.0, metavar="PCT",
                   help="the probe removes the top PCT %% of CAM pixels (default: 20)")
    p.add_argument("--input-width", type=positive_int, default=None, help="capture width")
    p.add_argument("--input-height", type=positive_int, default=None, help="capture height")
    p.add_argument("--input-rate", type=positive_float, default=None, help="capture frame rate")
    p.add_argument("--loop", action="store_true", help="restart files/folders at their end")
    p.add_argument("--max-frames", type=positive_int, default=None, help="stop after N frames")
    p.add_argument("--min-score", type=unit_interval, default=None,
                   help="sign score × classifier confidence needed to report a sign (default: "
                        "the value calibrated for the finder on GTSDB frames 0–399)")
    p.add_argument("--min-confidence", type=unit_interval, default=None,
                   help="also require this classifier confidence (default: calibrated)")
    p.add_argument("--candidate-threshold", type=unit_interval, default=None,
                   help="detector: the detector score a box needs to be classified (default: "
                        "calibrated)")
    p.add_argument("--sign-threshold", type=unit_interval, default=None,
                   help="colour proposer: rejector score a proposal needs to be classified "
                        "(default: calibrated)")
    p.add_argument("--no-rejector", action="store_true",
                   help="colour proposer: classify every proposal (slow; for measuring the rejector)")
    p.add_argument("--no-refine", action="store_true",
                   help="colour proposer: do not refine proposal boxes")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="ONNX Runtime intra-op threads (default: ONNX Runtime's choice)")
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.pipeline.loop import RunConfig
    from edgexai.pipeline.loop import run as run_pipeline
    from edgexai.pipeline.session import newest_build

    if not args.headless:
        import os

        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            if args.output is None:
                print("edgexai: no display; running headless (pass --output FILE to save the "
                      "overlay)", file=sys.stderr)
            args.headless = True
    model = args.model
    if model is None:
        model = str(newest_build(args.engines))
        print(f"edgexai: using the newest build, {model} (choose with --model DIR)", file=sys.stderr)
    source = str(args.camera) if args.camera is not None else args.source
    cfg = RunConfig(source=source, model=model, backend=args.backend, precision=args.precision,
                    finder=args.proposer, detector=args.detector, headless=args.headless,
                    output=args.output, log=args.log, log_max_bytes=int(args.log_max_mb * 2**20),
                    log_backups=args.log_backups, summary=args.summary,
                    probe_every=args.probe_every, probe_top_pct=args.probe_top,
                    input_width=args.input_width, input_height=args.input_height,
                    input_rate=args.input_rate, loop=args.loop, max_frames=args.max_frames,
                    min_confidence=args.min_confidence, min_score=args.min_score,
                    candidate_threshold=args.candidate_threshold,
                    sign_threshold=args.sign_threshold, no_rejector=args.no_rejector,
                    refine=not args.no_refine, engine_threads=args.threads, quiet=args.quiet)
    run_pipeline(cfg)  # errors are exceptions: the CLI prints an EdgexaiError as one line
    return 0
