"""Named training presets: `cpu` (the default, fits 2 cores), `quick` (a first look) and `paper`
(the reference study's)."""

from __future__ import annotations

from dataclasses import dataclass

from edgexai.errors import EdgexaiError


@dataclass(frozen=True)
class Preset:
    arch: str
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    schedule: str
    augment: bool
    label_smoothing: float
    summary: str
    finetune_epochs: int = 4  # post-pruning / adversarial fine-tuning (timing `tuned`)
    finetune_lr: float = 0.02


PRESETS: dict[str, Preset] = {
    "cpu": Preset(
        arch="resnet20",
        epochs=12,
        batch_size=128,
        lr=0.1,
        weight_decay=5e-4,
        schedule="onecycle",
        augment=True,
        label_smoothing=0.05,
        summary="ResNet-20 at 32 px, 12 epochs, SGD-Nesterov 0.1 one-cycle, sign "
        "augmentation; about 15 minutes on 2 CPU cores; fine-tuning 4 epochs "
        "at 0.02",
    ),
    "quick": Preset(
        arch="resnet20",
        epochs=3,
        batch_size=128,
        lr=0.1,
        weight_decay=5e-4,
        schedule="onecycle",
        augment=True,
        label_smoothing=0.05,
        summary="the cpu preset cut to 3 epochs and 1 fine-tuning epoch, for a first "
        "look (`edgexai demo`): a quarter of the training time, 2–3 points "
        "of test accuracy less (measured: natural 0.972, layered 0.950)",
        finetune_epochs=1,
    ),
    "paper": Preset(
        arch="resnet18",
        epochs=100,
        batch_size=128,
        lr=0.01,
        weight_decay=5e-4,
        schedule="cosine",
        augment=False,
        label_smoothing=0.0,
        summary="the reference study: ResNet-18, 100 epochs, SGD 0.01 momentum 0.9 "
        "wd 5e-4, batch 128, no augmentation (cosine schedule added); "
        "fine-tuning 50 epochs at 1e-4; for a GPU",
        finetune_epochs=50,
        finetune_lr=1e-4,
    ),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise EdgexaiError(
            f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}"
        ) from None
