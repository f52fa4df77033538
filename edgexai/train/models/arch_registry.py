"""A registry of model specs: builder, input size, normalisation and the CAM layer's name.

Stdlib only at import (the CLI lists the archs for `--help`); each family's module (torch) is
imported when a model is built. An arch without an exact in-graph Grad-CAM has `cam_layer` None
and says why in `cam_refusal`: its build exports logits only (edgexai.core.manifest.has_cam).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edgexai.core.classes import NUM_CLASSES
from edgexai.core.errors import EdgexaiError

# GTSRB statistics used by the reference study (Suwal et al. 2025, arXiv 2509.20148, their code).
GTSRB_MEAN = (0.4563, 0.4076, 0.3895)
GTSRB_STD = (0.2298, 0.2144, 0.2259)


def _build_resnet(spec: ModelSpec, widths: dict[str, Any], num_classes: int):
    from edgexai.train.models.resnet import ResNet

    return ResNet(widths, list(spec.strides), num_classes)


def _build_vgg(spec: ModelSpec, widths: dict[str, Any], num_classes: int):
    from edgexai.train.models.vgg import VGG

    return VGG(widths, num_classes)


# family → builder(spec, widths, num_classes); a new family is one entry here
_BUILDERS: dict[str, Callable[..., Any]] = {"resnet": _build_resnet, "vgg": _build_vgg}


@dataclass(frozen=True)
class ModelSpec:
    """What the rest of the project needs to know about an architecture."""

    name: str
    default_widths: dict[str, Any]
    strides: tuple[int, ...]
    input_size: int
    cam_layer: str | None
    description: str
    mean: tuple[float, float, float] = GTSRB_MEAN
    std: tuple[float, float, float] = GTSRB_STD
    family: str = "resnet"
    cam_refusal: str | None = None  # why there is no in-graph CAM (cam_layer None), one line

    @property
    def has_cam(self) -> bool:
        """Whether the head is GAP → linear, so the exact Grad-CAM goes into the graph."""
        return self.cam_layer is not None

    def build(self, widths: dict[str, Any] | None = None, num_classes: int = NUM_CLASSES):
        return _BUILDERS[self.family](self, widths or self.default_widths, num_classes)


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


def cam_models() -> list[str]:
    """The archs with an exact in-graph Grad-CAM."""
    return [n for n in list_models() if _REGISTRY[n].has_cam]


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
        description="CIFAR-style ResNet-20 (0.27 M params) at 32 px, last map 8×8; the CPU "
        "default, which the cpu preset trains at 40 px (last map 10×10)",
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

VGG16_NO_CAM = (
    "vgg16 has no exact in-graph Grad-CAM: its last conv map is 1×1 at 32 px and its head is "
    "not GAP→linear; model.onnx has logits only (VG/IG/SG still explain it)"
)


def _vgg16_widths() -> dict[str, Any]:
    return {
        "stages": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
        "hidden": [512, 512],
    }


register(
    ModelSpec(
        name="vgg16",
        default_widths=_vgg16_widths(),
        strides=(),
        input_size=32,
        cam_layer=None,
        description="the paper's CIFAR-style VGG-16 (15 M params at 43 classes): 13 3×3 convs "
        "64…512 each with BatchNorm + ReLU, 5 max-pools, last map 1×1 at 32 px, classifier "
        "512-512-C with dropout 0.5; no in-graph CAM",
        family="vgg",
        cam_refusal=VGG16_NO_CAM,
    )
)
