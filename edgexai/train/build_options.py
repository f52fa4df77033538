"""What `edgexai build` is told, declared once: each field is also its command-line option.

No torch at import (`edgexai build --help`, the regime matrix and tools read these without it).
The argparse options are generated from BuildOptions and RegimeSettings (edgexai.core.options), so a
default or a help text lives here or in edgexai.train.regimes and nowhere else.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from edgexai.core.arg_types import device_name, folder_name
from edgexai.core.manifest import BUILDS_ROOT
from edgexai.core.metrics.robustness import EVAL_IMAGES, EVAL_STEPS
from edgexai.core.options import add_options, cli_fields, from_args, opt
from edgexai.train.models import list_models
from edgexai.train.presets import PRESETS
from edgexai.train.regimes import ADVERSARIAL_GROUP, TIMINGS, RegimeSettings
from edgexai.train.train_precision import TRAIN_PRECISIONS

TIMING_HELP = (
    "pruning regimes: prune at init then train (pre), prune the trained natural model "
    "and stop (post), or prune it then fine-tune (tuned; the default). adversarial: "
    "none = train from scratch, tuned = fine-tune the natural parent adversarially. "
    "post/tuned reuse <out>/ARCH-natural-sSEED when it fits, else build it first"
)
PRESET_HELP = "; ".join(f"{k}: {v.summary}" for k, v in PRESETS.items())
# Listed after the attack's options in the adversarial group, as --help has always shown them.
EVALUATION_FIELDS = ("robust_images", "robust_steps", "robust")


@dataclass
class BuildOptions:
    """One build. `regime` takes any registered regime (its CLI choices come from the registry)."""

    regime: str = opt("natural", "training regime")
    timing: str | None = opt(None, TIMING_HELP, choices=TIMINGS)
    arch: str | None = opt(None, "architecture (default: the preset's)", choices=list_models())
    preset: str = opt("cpu", PRESET_HELP, choices=tuple(PRESETS))
    epochs: int | None = opt(
        None, "epochs (default: the preset's; for --timing tuned its fine-tuning epochs)", type=int
    )
    batch_size: int | None = opt(None, "batch size (default: the preset's)", type=int)
    lr: float | None = opt(
        None, "peak learning rate (default: the preset's; for tuned its fine-tuning lr)", type=float
    )
    seed: int = opt(0, "seed for init, data order and augmentation")
    train_precision: str = opt(
        "auto",
        "training arithmetic: auto = bfloat16 autocast where the CPU does bf16 natively "
        "(AVX512-BF16/AMX; float16 on CUDA), else float32; the manifest records the one used",
        choices=TRAIN_PRECISIONS,
    )
    data_root: str | None = opt(
        None,
        "GTSRB: a folder holding gtsrb/, a folder holding "
        "gtsrb.tar.gz, or the archive (default: $EDGEXAI_DATA, else the "
        "cache, else download)",
    )
    dataset: str | None = opt(
        None,
        "your own data instead of GTSRB: a folder with one subfolder of images per class "
        "(.ppm/.png/.jpg; optional labels.txt and groups.csv beside them, see below)",
        metavar="PATH",
    )
    test_dataset: str | None = opt(
        None,
        "with --dataset: a test set in the same layout and classes (default: split off "
        "--test-fraction of --dataset)",
        metavar="PATH",
    )
    test_fraction: float = opt(
        0.2,
        "with --dataset and no --test-dataset: fraction of each class's groups (or images) held "
        "out for testing, seeded, the same for every regime and seed",
    )
    out: str = opt(BUILDS_ROOT, "parent folder of build folders")
    name: str | None = opt(
        None,
        "build folder name: one folder inside --out, not a path (default: arch-regime-sSEED)",
        type=folder_name,
    )
    device: str = opt("auto", "cpu, cuda, cuda:N or auto", type=device_name)
    limit_per_class: int | None = opt(
        None,
        "keep at most N images per class in every split "
        "(quick runs; the manifest records the counts)",
        type=int,
    )
    roi: bool | None = opt(
        None,
        "GTSRB: crop each image to its CSV sign box grown by the crop margin of `edgexai run` "
        "(edgexai.core.preprocess.pad_boxes), so training sees signs framed as the vehicle frames "
        "them; --no-roi keeps GTSRB's own framing (default: the preset's; never with --dataset)",
        action=argparse.BooleanOptionalAction,
    )
    val_fraction: float = opt(
        0.1, "fraction of each class's tracks (or groups, or images) held out for validation"
    )
    resume: str | None = opt(
        None,
        "continue an interrupted build (default: its checkpoint, "
        "<out>/<name>.partial/checkpoint.pt)",
        nargs="?",
        const="auto",
        metavar="CHECKPOINT",
    )
    force: bool = opt(
        False,
        "replace a finished build in <out>/<name>/ (the old one stays "
        "until the new one is complete); without it such a build is refused",
    )
    progress: bool = opt(True, "no progress bars")
    parent_epochs: int | None = opt(
        None, "epochs for a natural parent built on the way (default: the preset's)", type=int
    )
    settings: RegimeSettings = field(default_factory=RegimeSettings)
    robust_images: int = opt(
        EVAL_IMAGES,
        "robust accuracy: this many test images (a fixed seeded sample)",
        group=ADVERSARIAL_GROUP,
    )
    robust_steps: int = opt(EVAL_STEPS, "robust accuracy: PGD steps", group=ADVERSARIAL_GROUP)
    robust: bool = opt(
        True,
        "skip the robust accuracy (quick runs; about a minute on 2 CPU cores for ResNet-20)",
        group=ADVERSARIAL_GROUP,
    )


def build_name(opts: BuildOptions, arch: str) -> str:
    parts = [arch, opts.regime] + ([opts.timing] if opts.timing else []) + [f"s{opts.seed}"]
    return opts.name or "-".join(parts)


class _Target:
    """A parser for add_options that shares titled groups between calls and sets choices that
    are read when the parser is made (the regime registry may grow after import)."""

    def __init__(self, target: Any, groups: dict[str, _Target], choices: dict[str, tuple]) -> None:
        self._target, self._groups, self._choices = target, groups, choices

    def add_argument(self, *flags: str, **kwargs: Any) -> argparse.Action:
        if kwargs.get("dest") in self._choices:
            kwargs["choices"] = self._choices[kwargs["dest"]]
        return self._target.add_argument(*flags, **kwargs)

    def add_argument_group(self, title: str) -> _Target:
        if title not in self._groups:
            group = self._target.add_argument_group(title)
            self._groups[title] = _Target(group, self._groups, self._choices)
        return self._groups[title]


def add_build_arguments(
    parser: argparse.ArgumentParser,
    *,
    exclude: Iterable[str] = (),
    defaults: dict[str, Any] | None = None,
) -> None:
    """Every `edgexai build` option on `parser` (BuildOptions' and RegimeSettings' fields)."""
    from edgexai.train.regimes.regime_registry import regime_names

    skip = tuple(exclude)
    target = _Target(parser, {}, {"regime": regime_names()})
    add_options(target, BuildOptions, exclude=skip + EVALUATION_FIELDS, defaults=defaults)
    add_options(target, RegimeSettings, exclude=skip, defaults=defaults)
    others = tuple(f.name for f in cli_fields(BuildOptions) if f.name not in EVALUATION_FIELDS)
    add_options(target, BuildOptions, exclude=skip + others, defaults=defaults)


def options_from_args(args: argparse.Namespace, **extra: Any) -> BuildOptions:
    """BuildOptions (with its RegimeSettings) from a namespace made by add_build_arguments."""
    return from_args(BuildOptions, args, settings=from_args(RegimeSettings, args), **extra)
