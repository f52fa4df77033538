"""`edgexai bench`: the regime matrix side by side — accuracy, robustness, explanation quality, size,
latency — written as a report (Markdown, self-contained HTML, PNGs, JSON, CSV)."""

from __future__ import annotations

import argparse
import shlex
import sys

from edgexai.commands.arg_types import csv_ints, csv_words
from edgexai.errors import EdgexaiError


def register(sub) -> None:
    p = sub.add_parser(
        "bench", help="compare regimes side by side: accuracy, robustness, explanations, latency",
        description="Measure build folders on the same images and settings — clean and robust "
                    "accuracy, Gini and ROAD (MoRF/LeRF) per explanation method, params, MACs, "
                    "file size, and latency per backend, precision and batch (p50/p90/p99, "
                    "throughput; all models timed interleaved in one process) — and write "
                    "report.md, a self-contained report.html, PNG figures, results.json and "
                    "results.csv, with every figure also as a ratio to the natural model and "
                    "a section comparing our numbers with the reference paper's. Explanation "
                    "results are cached per model in the report folder, so an interrupted bench "
                    "resumes there.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--models", nargs="+", metavar="DIR", default=None,
                       help="build folders to compare")
    which.add_argument("--regimes", metavar="CELLS", default=None,
                       help="'all' (the paper's 11 cells) or comma-separated cells such as "
                            "natural,layered-tuned, found under --root")
    p.add_argument("--root", default="engines", help="where --regimes looks for build folders")
    p.add_argument("--seeds", type=csv_ints, default=None,
                   help="build seeds to include, e.g. 0,1,2 (several give mean ± std); "
                        "default: every seed found")
    p.add_argument("--backends", type=csv_words, default=("ort",),
                   help="comma-separated from ort, torch, trt (trt is skipped, with a note, "
                        "where TensorRT is not importable)")
    p.add_argument("--precisions", type=csv_words, default=("fp32",),
                   help="comma-separated from fp32, fp16, int8 (variants are made on demand; "
                        "int8 calibrates on the packaged GTSRB list "
                        "edgexai/export/data/gtsrb_calib.txt, so it needs the data)")
    p.add_argument("--batch", type=csv_ints, default=(1, 8), dest="batches",
                   help="batch sizes to time")
    p.add_argument("--report", default="bench-report", help="output folder")
    p.add_argument("--data-root", default=None,
                   help="GTSRB location; unset: $EDGEXAI_DATA, else the models' own data")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the image draws, ROAD imputation noise and SmoothGrad")
    p.add_argument("--images", type=int, default=200,
                   help="test images drawn for the explanation metrics (their cost grows "
                        "linearly with it; see docs/RESULTS.md for timings)")
    p.add_argument("--accuracy-images", type=int, default=2000,
                   help="test images drawn for each backend/precision's accuracy")
    p.add_argument("--methods", type=csv_words, default=("vg", "ig", "sg", "gradcam"),
                   help="explanation methods, from vg, ig, sg, gradcam, cam")
    p.add_argument("--targets", choices=("correct", "all"), default="correct",
                   help="explain only the images each model classifies correctly (the paper's "
                        "protocol) or all drawn images; the target is always the true class")
    p.add_argument("--no-road", action="store_true", help="skip ROAD (the slowest metric)")
    p.add_argument("--ig-steps", type=int, default=50, help="Integrated Gradients steps")
    p.add_argument("--sg-samples", type=int, default=25, help="SmoothGrad samples")
    p.add_argument("--rounds", type=int, default=15, help="interleaved latency rounds")
    p.add_argument("--per-round", type=int, default=20, help="calls per case per round")
    p.add_argument("--warmup", type=int, default=20, help="warm-up calls per case")
    p.add_argument("--threads", type=int, default=1,
                   help="threads per inference session while timing (1 gives the steadiest "
                        "figures on a small shared CPU; 0: the backend's default). All sessions "
                        "share one process, so above 1 ONNX Runtime's spin-waiting is switched "
                        "off (the report notes it)")
    p.add_argument("--grid-images", type=int, default=5, help="rows of the saliency grids")
    p.add_argument("--pipeline-summary", action="append", default=[], metavar="FILE",
                   help="an `edgexai run` summary JSON to show in the report (repeatable)")
    p.add_argument("--fresh", action="store_true",
                   help="recompute explanation results instead of reusing the report's cache")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.bench.run import BenchOptions, run_bench
    from edgexai.bench.select import parse_cells

    if args.grid_images < 0 or args.warmup < 0:
        raise EdgexaiError("--grid-images and --warmup must not be negative")
    opts = BenchOptions(
        models=list(args.models or []), cells=parse_cells(args.regimes) if args.regimes else (),
        root=args.root, seeds=args.seeds, backends=args.backends, precisions=args.precisions,
        batches=args.batches, report=args.report, data_root=args.data_root, seed=args.seed,
        images=args.images, accuracy_images=args.accuracy_images, methods=args.methods,
        road=not args.no_road, targets=args.targets, ig_steps=args.ig_steps, sg_samples=args.sg_samples,
        rounds=args.rounds, per_round=args.per_round, warmup=args.warmup, threads=args.threads,
        grid_images=args.grid_images, fresh=args.fresh,
        pipeline_summaries=args.pipeline_summary, progress=not args.no_progress,
        command="edgexai " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    out, results = run_bench(opts)
    for cell, s in results["cells"].items():
        mean = s["mean"]
        lat = next((v for k, v in sorted(mean.items()) if k.endswith(".p50_ms")), None)
        print(f"{cell:14s} acc {mean.get('accuracy.clean_test', float('nan')):.4f}  robust "
              f"{mean.get('accuracy.robust', float('nan')):.3f}"
              + (f"  p50 {lat:.2f} ms" if lat is not None else ""))
    for f in results["paper"]["findings"]:
        print(f"paper: {f['verdict']}: {f['finding']}")
    print(f"wrote {out}/report.html, report.md, results.json, results.csv "
          f"({results['seconds_total']:.0f} s)")
    return 0
