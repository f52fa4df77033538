"""A registry of model specs: builder, input size, normalisation and the CAM layer's name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgexai.data.classes import NUM_CLASSES
from edgexai.errors import EdgexaiError

# GTSRB statistics used by the reference study (Suwal et al. 2025, arXiv 2509.20148, their code).
GTSRB_MEAN = (0.4563, 0.4076, 0.3895)
GTSRB_STD = (0.2298, 0.2144, 0.2259)


@dataclass(frozen=True)
class ModelSpec:
    """What the rest of the project needs to know about an architecture."""

    name: str
    default_widths: dict[str, Any]
    strides: tuple[int, ...]
    input_size: int
    cam_layer: str
    description: str
    mean: tuple[float, float, float] = GTSRB_MEAN
    std: tuple[float, float, float] = GTSRB_STD

    def build(self, widths: dict[str, Any] | None = None, num_classes: int = NUM_CLASSES):
        from edgexai.models.resnet import ResNet

        return ResNet(widths or self.default_widths, list(self.strides), num_classes)


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    _REGISTRY[spec.name] = spec
    return spec


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise EdgexaiError(
            f"unknown arch {name!r}; choose one of: {', '.join(list_models())}"
        ) from None


def create_model(name: str, widths: dict[str, Any] | None = None, num_classes: int = NUM_CLASSES):
    """Build an architecture by name (optionally with pruned widths)."""
    return get_spec(name).build(widths, num_classes)


def _uniform(stem: int, widths: list[int], blocks: list[int]) -> dict[str, Any]:
    return {
        "stem": stem,
        "stages": [[[w, w] for _ in range(n)] for w, n in zip(widths, blocks, strict=True)],
    }


register(
    ModelSpec(
        name="resnet20",
        default_widths=_uniform(16, [16, 32, 64], [3, 3, 3]),
        strides=(1, 2, 2),
        input_size=32,
        cam_layer="layer3",
        description="CIFAR-style ResNet-20 (0.27 M params) at 32 px, last map 8×8; the CPU default",
    )
)
register(
    ModelSpec(
        name="resnet20w2",
        default_widths=_uniform(32, [32, 64, 128], [3, 3, 3]),
        strides=(1, 2, 2),
        input_size=32,
        cam_layer="layer3",
        description="ResNet-20 at twice the width (1.1 M params), 32 px, last map 8×8",
    )
)
register(
    ModelSpec(
        name="resnet18",
        default_widths=_uniform(64, [64, 128, 256, 512], [2, 2, 2, 2]),
        strides=(1, 2, 2, 2),
        input_size=32,
        cam_layer="layer4",
        description="ResNet-18 with a 3×3 stride-1 stem, no max-pool (11 M params), 32 px, last map "
        "4×4; the paper-scale model",
    )
)
