"""`edgexai run`: the camera-frame pipeline (deployment side: numpy, OpenCV, an inference backend).

Its options are declared once, on edgexai.deploy.pipeline.config.RunConfig."""

from __future__ import annotations

import argparse
import sys

from edgexai.core.arg_types import non_negative_int
from edgexai.core.manifest import BUILDS_ROOT
from edgexai.core.options import HelpFormatter, add_options, from_args
from edgexai.deploy.pipeline.config import RunConfig


def register(sub) -> None:
    p = sub.add_parser(
        "run",
        help="camera-frame pipeline: detect → classify + Grad-CAM → overlay → log",
        description="Read frames from a camera or file, find signs with the learned detector "
        "(one engine call on the down-scaled frame), classify every found sign and "
        "compute its Grad-CAM in one more engine call, draw them, and log every frame "
        "as JSON Lines (per-stage ms, boxes, classes, detector score, confidence, "
        "CAM Gini, sampled faithfulness probe). A summary (FPS, p50/p90/p99 per "
        "stage, detections per class) is written on exit, including SIGINT/SIGTERM. "
        "With TensorRT, run uses the engines `edgexai engine` built on this device "
        "and never builds one itself.",
        formatter_class=HelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--camera", type=non_negative_int, metavar="N", help="V4L2 camera N (/dev/videoN)"
    )
    src.add_argument(
        "--source",
        metavar="URI",
        help="/dev/videoN, csi://N, a video file (or file://PATH), an image, a folder "
        "of images, rtsp://…, or a GStreamer pipeline ending in appsink",
    )
    p.add_argument(
        "--builds",
        "--engines",
        dest="builds",
        default=BUILDS_ROOT,
        metavar="DIR",
        help="where to look for the newest build when --model is not given "
        "(--engines: its former name; an engines/ folder is still read, with a "
        "notice)",
    )
    add_options(p, RunConfig, defaults={"headless": False})
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.deploy.pipeline.loop import run_pipeline
    from edgexai.deploy.sign_classifier import newest_classifier_build

    if not args.headless:
        import os

        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            if args.output is None:
                print(
                    "edgexai: no display; running headless (pass --output FILE to save the "
                    "overlay)",
                    file=sys.stderr,
                )
            args.headless = True
    if args.model is None:
        args.model = str(newest_classifier_build(args.builds))
        print(
            f"edgexai: using the newest build, {args.model} (choose with --model DIR)",
            file=sys.stderr,
        )
    source = str(args.camera) if args.camera is not None else args.source
    run_pipeline(from_args(RunConfig, args, source=source))  # errors print as one line
    return 0
