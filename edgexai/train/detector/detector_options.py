"""What `edgexai detector train` is told: its options, declared once, and their checks.

Each field of DetectorBuildOptions is also its command-line option (edgexai.core.options), so the
defaults and help live here once; `validate_options` refuses what argparse cannot see (a range
that overlaps the held-out frames, options built from code).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgexai.core.arg_types import (
    folder_name,
    frame_mod,
    frame_range,
    non_negative_int,
    positive_float,
    positive_int,
)
from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import BUILDS_ROOT
from edgexai.core.options import opt
from edgexai.train.build_staging import check_name, check_out_folder
from edgexai.train.data.gtsdb_frames import CALIBRATION_MOD, DEVELOPMENT, HELDOUT


def multiple_of_32(text: str) -> int:
    """A size the detector's four stride-2 stages divide (strides 4 to 32): 64, 96, 128, …"""
    v = positive_int(text)
    if v < 64 or v % 32:
        raise argparse.ArgumentTypeError(f"expected a multiple of 32, at least 64, got {text!r}")
    return v


@dataclass
class DetectorBuildOptions:
    """What `edgexai detector train` decides; each field is also its command-line option
    (edgexai.core.options), so the defaults and help live here once."""

    out: str = opt(BUILDS_ROOT, "parent folder of build folders")
    name: str | None = opt(
        None,
        "build folder name: one folder inside --out, not a path (default: detector-sSEED)",
        type=folder_name,
    )
    frames: str | None = opt(
        None, "frames + gt.txt (default: GTSDB from --data-root)", metavar="DIR"
    )
    data_root: str | None = opt(
        None, "folder holding gtsdb/ or gtsdb-dev.tar and GTSRB (default: $EDGEXAI_DATA)"
    )
    # The GTSDB splits of edgexai.train.data.gtsdb_frames: frame positions used for training …
    train: tuple[int, int] = opt(
        (DEVELOPMENT.start, DEVELOPMENT.stop),
        "frame positions to train on (minus the calibration frames)",
        type=frame_range,
        metavar="START:STOP",
    )
    # … except those ≡ R mod M (calibration)
    calibrate: tuple[int, int] | None = opt(
        CALIBRATION_MOD,
        "of the --train range, the frames at positions ≡ R mod M are kept out of training to "
        "select the checkpoint and calibrate thresholds (none: no selection, the last step is "
        "kept)",
        type=frame_mod,
        metavar="M:R",
    )
    heldout: tuple[int, int] | None = opt(
        (HELDOUT.start, HELDOUT.stop),
        "frame positions scored once at the end (never trained on)",
        type=frame_range,
        metavar="START:STOP",
    )
    synthetic: bool = opt(True, "no pasted GTSRB signs (then GTSRB is not needed)")
    steps: int = opt(14000, "training steps", type=positive_int)  # the shipped recipe
    batch: int = opt(16, "crops per step", type=positive_int)
    crop: int = opt(
        256, "training crop size (px; a multiple of 32, at least 64)", type=multiple_of_32
    )
    lr: float = opt(2e-3, "peak AdamW learning rate", type=positive_float)
    seed: int = opt(0, "seed for init and sample draws", type=non_negative_int)
    input_w: int = 1344  # --input-size WxH (the command parses the pair)
    input_h: int = 800
    eval_every: int = opt(1000, "steps between evaluations and checkpoints", type=positive_int)
    bf16: str = opt(
        "off",
        "bfloat16 autocast on CPU (auto: where the CPU has native bf16; off by default so a "
        "build trains the same on every machine)",
        choices=("auto", "on", "off"),
    )
    threads: int | None = opt(None, "torch threads", type=positive_int)
    resume: bool = opt(False, "continue an interrupted run of the same options")
    force: bool = opt(
        False, "replace an existing build of that name (once the new one is complete)"
    )
    progress: bool = opt(True, "no progress bar")


def validate_options(o: DetectorBuildOptions) -> None:
    """Refuse options that cannot make a build, before any frame is read."""
    if o.name is not None:
        check_name(o.name)  # one folder inside --out: never `..`, `.` or a path
    check_out_folder(Path(o.out).expanduser())
    for flag, v in (("--steps", o.steps), ("--batch", o.batch), ("--eval-every", o.eval_every)):
        if v < 1:
            raise EdgexaiError(f"{flag} must be at least 1 (got {v})")
    if o.crop < 64 or o.crop % 32:
        raise EdgexaiError(f"--crop must be a multiple of 32, at least 64 (got {o.crop})")
    if not o.lr > 0 or not np.isfinite(o.lr):
        raise EdgexaiError(f"--lr must be a positive number (got {o.lr})")
    if o.bf16 not in ("auto", "on", "off"):
        raise EdgexaiError("--bf16 is auto, on or off")
    for flag, r in (("--train", o.train), ("--heldout", o.heldout)):
        if r is not None and not 0 <= r[0] < r[1]:
            raise EdgexaiError(f"{flag} must be START:STOP with 0 ≤ START < STOP (got {r})")
    if o.calibrate is not None and not 0 <= o.calibrate[1] < o.calibrate[0]:
        raise EdgexaiError("--calibrate must be M:R with 0 ≤ R < M")
    if o.train and o.heldout and o.train[0] < o.heldout[1] and o.heldout[0] < o.train[1]:
        raise EdgexaiError(
            f"--train {o.train[0]}:{o.train[1]} and --heldout "
            f"{o.heldout[0]}:{o.heldout[1]} overlap: held-out frames must never "
            "be trained on"
        )
