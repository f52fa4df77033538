"""`edgexai run`: the camera-frame pipeline (deployment side: numpy, OpenCV, an inference backend)."""

from __future__ import annotations

import argparse
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "run", help="camera-frame pipeline: propose → classify → Grad-CAM → overlay → log",
        description="Read frames from a camera or file, find sign candidates, classify them and "
                    "compute each one's Grad-CAM in one engine call per frame, draw them, and log "
                    "every frame as JSON Lines (per-stage ms, boxes, classes, confidence, CAM "
                    "Gini, sampled faithfulness probe). A summary (FPS, p50/p90/p99 per stage, "
                    "detections per class) is written on exit, including SIGINT/SIGTERM.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--camera", type=int, metavar="N", help="V4L2 camera N (/dev/videoN)")
    src.add_argument("--source", metavar="URI",
                     help="/dev/videoN, csi://N, a video file (or file://PATH), an image, a folder "
                          "of images, rtsp://…, or a GStreamer pipeline ending in appsink")
    p.add_argument("--model", metavar="DIR", default=None,
                   help="build folder (default: the newest under --engines)")
    p.add_argument("--engines", default="engines", help="where to look for the newest build (default: engines)")
    p.add_argument("--backend", default="auto", choices=["auto", "trt", "ort", "torch", "fake"],
                   help="auto: TensorRT where installed, else ONNX Runtime (fake: a test engine)")
    p.add_argument("--headless", action="store_true", help="no window")
    p.add_argument("--output", metavar="FILE", help="also write the overlay video (.mp4 or .avi)")
    p.add_argument("--log", default="edgexai-run.jsonl", help="per-frame JSON Lines log (default: edgexai-run.jsonl)")
    p.add_argument("--log-max-mb", type=float, default=50.0, help="rotate the log at this size in MiB (default: 50)")
    p.add_argument("--log-backups", type=int, default=5, help="rotated logs kept, LOG.1 … LOG.N (default: 5)")
    p.add_argument("--summary", default=None, help="summary JSON (default: LOG.summary.json)")
    p.add_argument("--probe-every", type=int, default=0, metavar="N",
                   help="faithfulness probe on every Nth frame (0: off)")
    p.add_argument("--probe-top", type=float, default=20.0, metavar="PCT",
                   help="the probe removes the top PCT %% of CAM pixels (default: 20)")
    p.add_argument("--input-width", type=int, default=None, help="capture width")
    p.add_argument("--input-height", type=int, default=None, help="capture height")
    p.add_argument("--input-rate", type=float, default=None, help="capture frame rate")
    p.add_argument("--loop", action="store_true", help="restart files/folders at their end")
    p.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
    p.add_argument("--min-score", type=float, default=None,
                   help="confidence × rejector sign score needed to report a sign (default: the "
                        "value calibrated on GTSDB frames 0–399)")
    p.add_argument("--min-confidence", type=float, default=None,
                   help="also require this classifier confidence (default: 0)")
    p.add_argument("--sign-threshold", type=float, default=None,
                   help="rejector score a proposal needs to be classified (default: calibrated)")
    p.add_argument("--no-rejector", action="store_true",
                   help="classify every proposal (slow; for measuring the rejector)")
    p.add_argument("--no-refine", action="store_true", help="do not refine proposal boxes")
    p.add_argument("--threads", type=int, default=None,
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
    cfg = RunConfig(source=source, model=model, backend=args.backend, headless=args.headless,
                    output=args.output, log=args.log, log_max_bytes=int(args.log_max_mb * 2**20),
                    log_backups=args.log_backups, summary=args.summary,
                    probe_every=args.probe_every, probe_top_pct=args.probe_top,
                    input_width=args.input_width, input_height=args.input_height,
                    input_rate=args.input_rate, loop=args.loop, max_frames=args.max_frames,
                    min_confidence=args.min_confidence, min_score=args.min_score,
                    sign_threshold=args.sign_threshold, no_rejector=args.no_rejector,
                    refine=not args.no_refine, engine_threads=args.threads, quiet=args.quiet)
    result = run_pipeline(cfg)
    return 0 if not str(result.get("reason", "")).startswith("error") else 1
