"""Batched augmentation for signs: each image its own small affine warp and lighting change.

torchvision's v2 transforms draw one parameter set per call; for a whole in-memory batch we need
one per image, so the warp is one `affine_grid`/`grid_sample` over the batch. No flips: mirrored
"turn left" is "turn right". Rotations stay small: signs are upright.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch


ERASE_P = 0.5
"""The share of images given an occluding box when `erase` > 0 (random erasing, Zhong et al.
2020): a pole, a branch or another sign in front of part of the sign."""
ERASE_MIN_AREA = 0.02
"""The smallest occluded share of the image; each box's share is U(ERASE_MIN_AREA, erase)."""
ERASE_ASPECT = (0.3, 3.3)
"""The box's height/width range, drawn log-uniform."""
BLUR_P = 0.5
"""The share of images blurred when `blur` > 0: a distant sign covers few camera pixels and its
crop is upsampled to the model's input, so it arrives soft."""
BLUR_MAX_SIGMA = 3.0
"""A sanity bound on `blur`: the kernel spans ±3 sigma (19 taps at 3 px, half a 40 px input)."""


@dataclass(frozen=True)
class AugmentConfig:
    """How strong the augmentation is; a preset setting (torch-free, so presets import it)."""

    max_rotate_deg: float = 10.0
    scale: tuple[float, float] = (0.9, 1.1)
    max_translate: float = 0.1  # fraction of the image side
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3
    shadow: float = 0.0  # the deepest cast shadow (fraction of light removed); 0: none
    erase: float = 0.0  # the largest occluded box (fraction of the image's area); 0: none
    blur: float = 0.0  # the largest Gaussian blur's sigma, in input pixels; 0: none

    def __post_init__(self) -> None:
        if not 0.0 <= self.shadow < 1.0:
            raise ValueError(
                f"shadow is the fraction of light removed, in [0, 1); got {self.shadow}"
            )
        if self.erase != 0.0 and not ERASE_MIN_AREA < self.erase < 1.0:
            raise ValueError(
                f"erase is the largest occluded share of the image, 0 or in "
                f"({ERASE_MIN_AREA}, 1); got {self.erase}"
            )
        if not 0.0 <= self.blur <= BLUR_MAX_SIGMA:
            raise ValueError(
                f"blur is the largest Gaussian sigma in input pixels, in [0, {BLUR_MAX_SIGMA}]; "
                f"got {self.blur}"
            )


SHADOW_P = 0.5
"""The share of images given a shadow when `shadow` > 0: the rest keep even lighting."""
SHADOW_EDGE = 0.05
"""The shadow's edge width, in the image's [-1, 1] coordinates: a branch or a mast casts a
sharp edge across a sign, which global brightness/contrast jitter cannot imitate."""


def augment_batch(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """x: N×3×H×W in [0, 1]; returns a warped, relit copy in [0, 1]."""
    import torch
    import torch.nn.functional as F

    n = x.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    angle = uniform(-cfg.max_rotate_deg, cfg.max_rotate_deg) * (math.pi / 180)
    scale = uniform(*cfg.scale)
    tx = uniform(-cfg.max_translate, cfg.max_translate) * 2
    ty = uniform(-cfg.max_translate, cfg.max_translate) * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    x = F.grid_sample(
        x, grid.to(x.device), mode="bilinear", padding_mode="border", align_corners=False
    )
    if cfg.shadow > 0:
        x = _cast_shadow(x, cfg.shadow, uniform)
    if cfg.blur > 0:
        x = _blur(x, cfg.blur, uniform)
    shape = (n, 1, 1, 1)
    b = uniform(1 - cfg.brightness, 1 + cfg.brightness).view(shape).to(x.device)
    c = uniform(1 - cfg.contrast, 1 + cfg.contrast).view(shape).to(x.device)
    s = uniform(1 - cfg.saturation, 1 + cfg.saturation).view(shape).to(x.device)
    x = x * b
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * c + mean
    grey = 0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    x = (x - grey) * s + grey
    x = x.clamp_(0, 1)
    if cfg.erase > 0:
        x = _erase_box(x, cfg.erase, uniform, gen)
    return x


def _erase_box(
    x: torch.Tensor,
    max_area: float,
    uniform: Callable[[float, float], torch.Tensor],
    gen: torch.Generator,
) -> torch.Tensor:
    """Replace a random box (U(ERASE_MIN_AREA, max_area) of the area, log-uniform aspect) with
    uniform noise, in an ERASE_P share of the images. After the lighting jitter, so the noise is
    not relit: an occluder is not lit like the sign. torchvision's RandomErasing would put one
    box, from the global generator, on the whole batch; this draws one per image from `gen`."""
    import torch

    n, _, h, w = x.shape
    area = uniform(ERASE_MIN_AREA, max_area) * h * w
    aspect = torch.exp(uniform(math.log(ERASE_ASPECT[0]), math.log(ERASE_ASPECT[1])))
    bh = torch.sqrt(area * aspect).clamp(1, h)
    bw = torch.sqrt(area / aspect).clamp(1, w)
    top = uniform(0.0, 1.0) * (h - bh)
    left = uniform(0.0, 1.0) * (w - bw)
    on = uniform(0.0, 1.0) < ERASE_P
    ys = torch.arange(h, dtype=x.dtype).view(1, h, 1)
    xs = torch.arange(w, dtype=x.dtype).view(1, 1, w)
    inside = (
        (ys >= top.view(n, 1, 1))
        & (ys < (top + bh).view(n, 1, 1))
        & (xs >= left.view(n, 1, 1))
        & (xs < (left + bw).view(n, 1, 1))
        & on.view(n, 1, 1)
    )
    noise = torch.rand(x.shape, generator=gen, dtype=x.dtype)
    return torch.where(inside.unsqueeze(1).to(x.device), noise.to(x.device), x)


def _blur(
    x: torch.Tensor, largest: float, uniform: Callable[[float, float], torch.Tensor]
) -> torch.Tensor:
    """A Gaussian blur of sigma U(0, largest) px in a BLUR_P share of the images: the far
    sign's soft crop. After the shadow (the camera blurs the shadow's edge too), before the
    pointwise lighting jitter. torchvision's `gaussian_blur` takes one sigma per call; this
    draws one per image: separable, as weighted sums of shifted copies (a grouped convolution
    measured slower), edges replicated."""
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    sigma = uniform(0.0, largest)
    on = (uniform(0.0, 1.0) < BLUR_P).nonzero().flatten()
    if not len(on):
        return x
    radius = math.ceil(3 * largest)
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (taps / sigma[on].clamp_min(1e-3).view(-1, 1)) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).to(x.device)
    on = on.to(x.device)
    pad = F.pad(x[on], (radius, radius, radius, radius), mode="replicate")
    weight = [kernel[:, i].view(-1, 1, 1, 1) for i in range(2 * radius + 1)]
    rows = sum(k * pad[..., i : i + w] for i, k in enumerate(weight))
    out = x.clone()
    out[on] = sum(k * rows[..., i : i + h, :] for i, k in enumerate(weight))
    return out


def _cast_shadow(
    x: torch.Tensor, depth: float, uniform: Callable[[float, float], torch.Tensor]
) -> torch.Tensor:
    """Darken one side of a random straight edge, by U(0, depth), in a SHADOW_P share of the
    images."""
    import torch

    n, _, h, w = x.shape
    phi = uniform(0.0, 2 * math.pi)
    offset = uniform(-0.6, 0.6)
    strength = uniform(0.0, depth) * (uniform(0.0, 1.0) < SHADOW_P).to(x.dtype)
    ys = torch.linspace(-1, 1, h, dtype=x.dtype).view(1, h, 1)
    xs = torch.linspace(-1, 1, w, dtype=x.dtype).view(1, 1, w)
    side = xs * torch.cos(phi).view(n, 1, 1) + ys * torch.sin(phi).view(n, 1, 1)
    mask = torch.sigmoid((side - offset.view(n, 1, 1)) / SHADOW_EDGE)
    light = 1 - strength.view(n, 1, 1) * mask
    return x * light.unsqueeze(1).to(x.device)
