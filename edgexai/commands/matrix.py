"""`edgexai matrix`: build regime cells of one arch and seed into one folder, then tabulate them."""

from __future__ import annotations

import argparse

from edgexai.core.options import HelpFormatter, add_options
from edgexai.study.regime_matrix import MatrixOptions


def register(sub) -> None:
    p = sub.add_parser(
        "matrix",
        help="build the regime cells into one folder (skip built, resume, cheapest first)",
        description="Build regime cells into --out, each with `edgexai build` in its own process "
        "(logs in OUT/logs/): a cell already built is skipped, an interrupted one "
        "resumed. Ends with a Markdown table of the manifests (--table prints it alone, "
        "building nothing). Flags after -- go to "
        "every build, e.g. `edgexai matrix --cells natural l1-tuned -- --arch "
        "resnet20 --seed 1`. On a shared machine set OMP_NUM_THREADS=1.",
        formatter_class=HelpFormatter,
    )
    add_options(p, MatrixOptions)
    p.add_argument(
        "build_args",
        nargs="*",
        metavar="-- BUILD_FLAG",
        default=argparse.SUPPRESS,
        help="edgexai build flags for every cell (see edgexai build --help)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.core.options import from_args
    from edgexai.study.regime_matrix import run_matrix

    build_args = tuple(getattr(args, "build_args", ()))  # absent when none follow --
    return run_matrix(from_args(MatrixOptions, args, build_args=build_args))
