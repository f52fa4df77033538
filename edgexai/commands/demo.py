"""`edgexai demo`: the main job end to end on the CPU default, in one command — build the layered
regime (and its natural parent) with the quick preset, run the camera-frame pipeline on GTSDB road
frames, and write the bench report comparing the two models."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgexai.core.errors import EdgexaiError
from edgexai.core.options import HelpFormatter
from edgexai.train.presets import PRESETS


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="build layered (+ natural parent), run the pipeline on sample frames, report",
        description="A first look at the whole tool on this machine's CPU: (1) `build --regime "
        "layered` with the quick preset, which first builds its natural parent; "
        "(2) `run` on GTSDB road frames found next to GTSRB (skipped, with a note, "
        "when there are none), writing the overlay video and the per-frame log; "
        "(3) `bench` of the two models into a report. The quick preset trains 3 "
        "epochs (+1 fine-tuning) instead of the cpu preset's 10 (+4): 5–6 minutes on 2 "
        "cores with AVX512-BF16, about 11 on 2 AVX2-only cores (cold cache; "
        "docs/benchmarks.md), for 1–3 points of test accuracy; the bench explains 100 test "
        "images instead of 200. Rerunning reuses finished builds and replaces the "
        "pipeline's video, log and summary and the report in --out (the demo's own files).",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--out", default="demo", help="output folder (builds, pipeline log, report)")
    p.add_argument(
        "--data-root",
        default=None,
        help="data location; unset: $EDGEXAI_DATA, else GTSRB is downloaded",
    )
    p.add_argument(
        "--preset",
        default="quick",
        choices=list(PRESETS),
        help="training preset (cpu: the full default)",
    )
    p.add_argument("--frames", type=int, default=100, help="GTSDB frames through the pipeline")
    p.add_argument("--images", type=int, default=100, help="test images the bench explains")
    p.add_argument(
        "--limit-per-class",
        type=int,
        default=None,
        help="train on at most N images per class (a faster, rougher look)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.core.manifest import BUILDS_ROOT
    from edgexai.study.bench.bench_job import run_bench
    from edgexai.study.bench.bench_options import BenchOptions
    from edgexai.train.builder import BuildOptions, run_build
    from edgexai.train.presets import get_preset
    from edgexai.train.regimes.parent import parent_name

    preset = get_preset(args.preset)
    if args.frames < 1 or args.images < 1:
        raise EdgexaiError("--frames and --images must be at least 1")
    out = Path(args.out).expanduser()
    builds = out / BUILDS_ROOT
    progress = not args.no_progress

    def step(n: int, text: str) -> None:
        print(f"[{n}/3] {text}", file=sys.stderr, flush=True)

    layered = builds / f"{preset.arch}-layered-tuned-s0"
    to_build = not (layered / "manifest.json").is_file()
    if to_build:
        from edgexai.train.data.locate import locate_gtsrb

        locate_gtsrb(args.data_root)  # the data first: nothing is written when it is missing
    step(
        1, f"building layered (and its natural parent) with the {args.preset} preset into {builds}"
    )
    if to_build:
        run_build(
            BuildOptions(
                regime="layered",
                timing="tuned",
                preset=args.preset,
                data_root=args.data_root,
                out=str(builds),
                progress=progress,
                limit_per_class=args.limit_per_class,
            )
        )
    natural = builds / parent_name(preset.arch, 0)

    step(2, "camera-frame pipeline on GTSDB road frames")
    summaries = []
    from edgexai.train.data.gtsdb_frames import locate_gtsdb

    frames = locate_gtsdb(args.data_root)
    if frames is None:
        print(
            "edgexai: no GTSDB frames next to the data (gtsdb/ or gtsdb-dev.tar); pipeline "
            "skipped — try `edgexai run --source VIDEO_OR_FOLDER --model "
            f"{layered}`",
            file=sys.stderr,
        )
    else:
        from edgexai.deploy.pipeline.config import RunConfig
        from edgexai.deploy.pipeline.loop import run_pipeline
        from edgexai.deploy.pipeline.summary import format_summary

        result = run_pipeline(
            RunConfig(
                source=str(frames),
                model=str(layered),
                backend="ort",
                headless=True,
                output=str(out / "pipeline.mp4"),
                log=str(out / "pipeline.jsonl"),
                max_frames=args.frames,
                quiet=True,
                overwrite=True,  # the demo's own files, replaced by a re-run
            )
        )
        print(format_summary(result), file=sys.stderr)
        summaries.append(str(out / "pipeline.jsonl.summary.json"))

    step(3, "bench: natural vs layered, report")
    report, results = run_bench(
        BenchOptions(
            models=[str(natural), str(layered)],
            report=str(out / "report"),
            overwrite=True,  # the demo's own report: a second demo replaces it (bench files only)
            data_root=args.data_root,
            images=args.images,
            progress=progress,
            pipeline_summaries=summaries,
            command="edgexai " + " ".join(sys.argv[1:]),
        )
    )
    for cell, s in results["cells"].items():
        m = s["mean"]
        print(
            f"{cell:14s} test accuracy {m.get('accuracy.clean_test', float('nan')):.4f}, "
            f"ort batch-1 p50 {m.get('latency.ort_fp32_b1.p50_ms', float('nan')):.2f} ms, "
            f"Grad-CAM ROAD MoRF {m.get('explain.gradcam.road_morf_mean', float('nan')):.3f}"
        )
    print(f"open {report / 'report.html'} (also report.md); pipeline log and video in {out}")
    return 0
