"""Grad-CAM without autograd, for networks whose head is global-average-pool → linear.

With last-stage activations A (K×h×w) and linear weights W (C×K), ∂y_c/∂A_k(i,j) = W[c,k]/(h·w),
so Grad-CAM_c = ReLU(Σ_k W[c,k]/(h·w) · A_k): one small matrix product. This module is the single
implementation: `edgexai explain` calls it, and the ONNX export traces it into the graph.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgexai.core.errors import EdgexaiError


def check_gap_linear(model: nn.Module) -> None:
    """Refuse models whose head is not GAP → linear: their CAM would only be an approximation."""
    pool, fc = getattr(model, "avgpool", None), getattr(model, "fc", None)
    ok_pool = isinstance(pool, nn.AdaptiveAvgPool2d) and pool.output_size in (1, (1, 1))
    if not (ok_pool and isinstance(fc, nn.Linear) and callable(getattr(model, "features", None))):
        raise EdgexaiError(
            f"{type(model).__name__} has no global-average-pool → linear head (features(), "
            "avgpool=AdaptiveAvgPool2d(1), fc=Linear), so its Grad-CAM cannot be computed "
            "analytically; the in-graph CAM is refused rather than approximated"
        )


def cam_from_features(
    features: torch.Tensor, fc_weight: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Grad-CAM maps N×h×w at the feature resolution for class `target` (N,)."""
    n, k, h, w = features.shape
    alpha = fc_weight[target] / float(h * w)  # N×K
    cam = torch.matmul(alpha.unsqueeze(1), features.reshape(n, k, h * w))  # N×1×hw
    return F.relu(cam.reshape(n, h, w))


def upsample(cam: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear upsampling to the input size (as captum's LayerAttribution.interpolate)."""
    return F.interpolate(
        cam.unsqueeze(1), size=(size, size), mode="bilinear", align_corners=False
    ).squeeze(1)


def minmax_normalise(cam: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each map to [0, 1]; an all-zero map stays zero."""
    flat = cam.flatten(1)
    lo = flat.min(dim=1, keepdim=True).values
    hi = flat.max(dim=1, keepdim=True).values
    return ((flat - lo) / (hi - lo + eps)).reshape(cam.shape)


def analytic_gradcam(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None, size: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, CAM) for `target` (default: the predicted class), upsampled to `size` if given."""
    check_gap_linear(model)
    feats = model.features(x)
    logits = model.fc(torch.flatten(model.avgpool(feats), 1))
    cls = logits.argmax(1) if target is None else target
    cam = cam_from_features(feats, model.fc.weight, cls)
    return logits, (upsample(cam, size) if size else cam)


class CamModel(nn.Module):
    """The exported network: images → (logits, CAM of the predicted class, input-sized, in [0, 1])."""

    def __init__(self, model: nn.Module, input_size: int, normalise: bool = True) -> None:
        super().__init__()
        check_gap_linear(model)
        self.model = model
        self.input_size = input_size
        self.normalise = normalise

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, cam = analytic_gradcam(self.model, images, None, self.input_size)
        return logits, (minmax_normalise(cam) if self.normalise else cam)
