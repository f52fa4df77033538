"""The bench's checks before any model is loaded: what argparse cannot check (or an API caller
skipped), each refused in one line, and the `edgexai run` summaries it is asked to show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError
from edgexai.study.bench.bench_options import BACKENDS, PRECISIONS, TARGETS, BenchOptions


def validate(opts: BenchOptions) -> None:
    """The checks argparse cannot make (or an API caller skipped), one line each."""
    from edgexai.train.saliency.explainers import list_methods

    if not opts.models and not opts.cells:
        raise EdgexaiError("say what to bench: --models DIR ... or --regimes all")
    _one_of("backend", "--backends", opts.backends, BACKENDS)
    _one_of("precision", "--precisions", opts.precisions, PRECISIONS)
    if opts.targets not in TARGETS:
        raise EdgexaiError(f"--targets must be 'correct' or 'all' (got {opts.targets!r})")
    if not opts.backends or not opts.precisions or not opts.batches:
        raise EdgexaiError("--backends, --precisions and --batch each need at least one value")
    if any(b < 1 for b in opts.batches):
        raise EdgexaiError("--batch sizes must be at least 1")
    _one_of("method", "--methods", opts.methods, tuple(list_methods()))
    _check_counts(opts)
    for path in opts.pipeline_summaries:  # before any model is loaded, not after measuring
        read_summary(path)


def _one_of(kind: str, flag: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    for v in values:
        if v not in allowed:
            raise EdgexaiError(f"unknown {kind} {v!r} in {flag}; choose from " + ", ".join(allowed))


def _check_counts(opts: BenchOptions) -> None:
    for flag, v in (
        ("--images", opts.images),
        ("--accuracy-images", opts.accuracy_images),
        ("--rounds", opts.rounds),
        ("--per-round", opts.per_round),
        ("--ig-steps", opts.ig_steps),
        ("--sg-samples", opts.sg_samples),
    ):
        if v < 1:
            raise EdgexaiError(f"{flag} must be at least 1 (got {v})")
    if opts.threads < 0:
        raise EdgexaiError(
            f"--threads must be 0 (the backend's default) or more (got {opts.threads})"
        )
    for flag, v in (
        ("--warmup", opts.warmup),
        ("--grid-images", opts.grid_images),
        ("--fidelity-images", opts.fidelity_images),
    ):
        if v < 0:
            raise EdgexaiError(f"{flag} must not be negative (got {v})")


def read_summary(path: str) -> dict[str, Any]:
    """One `--pipeline-summary` file (an `edgexai run` summary), or a one-line refusal."""
    try:
        summary = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise EdgexaiError(f"--pipeline-summary {path}: cannot read it ({exc})") from None
    if not isinstance(summary, dict):
        raise EdgexaiError(
            f"--pipeline-summary {path}: not an `edgexai run` summary (a JSON object)"
        )
    return summary
