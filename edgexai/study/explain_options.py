"""`edgexai explain`'s options, declared once: the dataclass the job reads and the command's flags.

Light on purpose (stdlib, the shared argparse types and numpy-only metrics constants): the CLI
imports it at start-up to build `--help`, before anything heavy is needed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from edgexai.core.arg_types import (
    csv_floats,
    csv_words,
    device_name,
    non_negative_int,
    positive_int,
)
from edgexai.core.metrics.deletion import FILLS
from edgexai.core.metrics.perturbation import ORDERS
from edgexai.core.options import opt

DEFAULT_METHODS = ("vg", "ig", "sg", "gradcam")
# The explainer registry's names (edgexai.train.saliency.explainers.list_methods, which needs torch);
# tests/integration/test_explain.py checks the two agree.
METHODS = ("vg", "ig", "sg", "gradcam", "cam")
# metrics.road.DEFAULT_PERCENTAGES (the paper's 1, 11, …, 91), written here because metrics.road
# imports scipy; tests/integration/test_explain.py checks the two agree.
ROAD_PERCENTAGES = tuple(float(p) for p in range(1, 92, 10))
TARGETS = ("correct", "all")


def limit_or_all(text: str) -> int | None:
    """`--limit`: a positive count, or 'all' (None: the whole test split)."""
    if text.lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'all', got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number or 'all', got {text!r}")
    return value


@dataclass
class ExplainOptions:
    """What `run_explain` does; each `opt` field is also an `edgexai explain` flag."""

    models: list[str]  # `--model DIR`, repeatable and required: declared by the command
    methods: tuple[str, ...] = opt(
        DEFAULT_METHODS, f"comma-separated, from: {','.join(METHODS)}", type=csv_words
    )
    limit: int | None = opt(
        1000,
        "test images drawn (seeded) before the correct-only filter, or 'all'",
        type=limit_or_all,
    )
    seed: int = opt(0, "seed for the image draw, imputation noise, tie-breaks and SmoothGrad")
    out: str | None = opt(
        None, "output folder (default: <model>/explain, or ./explain-report for several models)"
    )
    data_root: str | None = opt(
        None, "GTSRB location (default: $EDGEXAI_DATA, else the model's own data)"
    )
    targets: str = opt(
        "correct",
        "explain only correctly classified images (the paper's "
        "protocol) or all; the target is always the true label",
        choices=TARGETS,
    )
    percentages: tuple[float, ...] = opt(
        ROAD_PERCENTAGES, "ROAD removal percentages", type=csv_floats
    )
    orders: tuple[str, ...] = opt(ORDERS, "ROAD orders", type=csv_words)
    road: bool = opt(True, "skip ROAD")
    noise_std: float = opt(0.01, "imputation noise σ (normalised input units)")
    deletion_steps: int = opt(10, "deletion/insertion curve steps (0: skip)", type=non_negative_int)
    deletion_fill: str = opt("blur", "what deleted pixels become", choices=FILLS)
    ig_steps: int = opt(50, "Integrated Gradients steps", type=positive_int)
    sg_samples: int = opt(25, "SmoothGrad noisy samples", type=positive_int)
    sg_noise: float = opt(0.15, "SmoothGrad noise σ as a fraction of the [0, 1] pixel range")
    batch_size: int = opt(64, "images per explanation batch", type=positive_int)
    workers: int | None = opt(
        None,
        "ROAD imputation processes (default: CPU cores − 1, at least 1; 0: in-process)",
        type=non_negative_int,
    )
    device: str = opt("cpu", "cpu, cuda, cuda:N or auto", type=device_name)
    grid_images: int = opt(6, "example images in grid.png", type=non_negative_int)
    update_manifest: bool = opt(
        True, "do not merge the numbers into the models' manifests", flag="--no-manifest"
    )
    progress: bool = opt(True, "no progress bars")
