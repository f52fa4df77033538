"""`edgexai bench`: the regime matrix side by side — accuracy, robustness, explanation quality, size,
latency — written as a report (Markdown, self-contained HTML, PNGs, JSON, CSV)."""

from __future__ import annotations

import argparse
import shlex
import sys

from edgexai.core.options import HelpFormatter, add_options, from_args
from edgexai.study.bench.bench_options import BenchOptions


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="compare regimes side by side: accuracy, robustness, explanations, latency",
        description="Measure build folders on the same images and settings — clean and robust "
        "accuracy, Gini and ROAD (MoRF/LeRF) per explanation method, params, MACs, "
        "file size, and latency per backend, precision and batch (p50/p90/p99, "
        "throughput; all models timed interleaved in one process) — and write "
        "report.md, a self-contained report.html, PNG figures, results.json and "
        "results.csv, with every figure also as a ratio to the natural model and "
        "a section comparing our numbers with the reference paper's. The report is "
        "written into DIR.partial/ and takes the --report folder's place only when "
        "complete; an earlier report there is replaced only with --overwrite, and never "
        "a file a bench did not write. Explanation results are cached per model in the "
        "report folder (reused by the next bench), so an interrupted bench resumes from "
        "DIR.partial/.",
        formatter_class=HelpFormatter,
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--models", nargs="+", metavar="DIR", default=None, help="build folders to compare"
    )
    which.add_argument(
        "--regimes",
        metavar="CELLS",
        default=None,
        help="'all' (the paper's 11 cells) or comma-separated cells such as "
        "natural,layered-tuned, found under --root",
    )
    add_options(p, BenchOptions)  # every other flag, with its default and help, from there
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.study.bench.bench_job import run_bench
    from edgexai.study.bench.select import parse_cells

    opts = from_args(
        BenchOptions,
        args,
        models=list(args.models or []),
        cells=parse_cells(args.regimes) if args.regimes else (),
        command="edgexai " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
    )
    out, results = run_bench(opts)
    for cell, s in results["cells"].items():
        mean = s["mean"]
        lat = next((v for k, v in sorted(mean.items()) if k.endswith(".p50_ms")), None)
        print(
            f"{cell:14s} acc {mean.get('accuracy.clean_test', float('nan')):.4f}  robust "
            f"{mean.get('accuracy.robust', float('nan')):.3f}"
            + (f"  p50 {lat:.2f} ms" if lat is not None else "")
        )
    for f in results["paper"]["findings"]:
        print(f"paper: {f['verdict']}: {f['finding']}")
    print(
        f"wrote {out}/report.html, report.md, results.json, results.csv "
        f"({results['seconds_total']:.0f} s)"
    )
    return 0
