"""`edgexai explain`'s checks before any model is loaded: what argparse cannot check (or an API
caller skipped), each refused in one line."""

from __future__ import annotations

from edgexai.core.errors import EdgexaiError
from edgexai.study.explain_options import ExplainOptions


def validate(opts: ExplainOptions) -> None:
    """The checks argparse cannot make (or an API caller skipped), one line each."""
    if not opts.models:
        raise EdgexaiError("name at least one build folder with --model")
    _check_methods(opts.methods)
    if opts.limit is not None and opts.limit < 1:
        raise EdgexaiError(f"--limit must be at least 1 or 'all' (got {opts.limit})")
    if opts.targets not in ("correct", "all"):
        raise EdgexaiError(f"--targets must be 'correct' or 'all' (got {opts.targets!r})")
    _check_road(opts)
    _check_counts(opts)


def _check_methods(methods: tuple[str, ...]) -> None:
    from edgexai.train.saliency.explainers import list_methods

    if not methods:
        raise EdgexaiError("--methods is empty; choose from: " + ", ".join(list_methods()))
    for m in methods:
        if m not in list_methods():
            raise EdgexaiError(
                f"unknown method {m!r} in --methods; choose from: {', '.join(list_methods())}"
            )
    if len(set(methods)) != len(methods):
        raise EdgexaiError("--methods names a method twice")


def _check_road(opts: ExplainOptions) -> None:
    from edgexai.core.metrics.perturbation import ORDERS

    if not opts.percentages or any(not 0 < p < 100 for p in opts.percentages):
        raise EdgexaiError("--percentages must be numbers strictly between 0 and 100")
    if list(opts.percentages) != sorted(set(opts.percentages)):
        raise EdgexaiError("--percentages must be increasing and distinct")
    for o in opts.orders:
        if o not in ORDERS:
            raise EdgexaiError(f"unknown ROAD order {o!r}; choose from {', '.join(ORDERS)}")


def _check_counts(opts: ExplainOptions) -> None:
    from edgexai.core.metrics.deletion import FILLS

    if opts.deletion_steps < 0:
        raise EdgexaiError(f"--deletion-steps must be 0 (off) or more (got {opts.deletion_steps})")
    if opts.deletion_fill not in FILLS:
        raise EdgexaiError(f"--deletion-fill must be one of {', '.join(FILLS)}")
    for flag, v in (
        ("--ig-steps", opts.ig_steps),
        ("--sg-samples", opts.sg_samples),
        ("--batch-size", opts.batch_size),
    ):
        if v < 1:
            raise EdgexaiError(f"{flag} must be at least 1 (got {v})")
    if opts.noise_std < 0 or opts.sg_noise < 0:
        raise EdgexaiError("noise levels must not be negative")
    if opts.workers is not None and opts.workers < 0:
        raise EdgexaiError(f"--workers must be 0 or more (got {opts.workers})")
