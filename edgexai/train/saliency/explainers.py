"""Saliency methods behind one interface: (model, images, targets) → maps N×H×W.

Vanilla Gradient, Integrated Gradients and SmoothGrad come from captum and are reduced to one
map per image as |attribution| summed over colour channels (the Gini definition's reduction).
Grad-CAM is captum's `LayerGradCam` at the model's CAM layer, ReLU'd and bilinearly upsampled;
"cam" is the analytic Grad-CAM of `explain.cam` (no autograd: what the exported graph computes),
which must agree with "gradcam" to float tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from edgexai.core.errors import EdgexaiError
from edgexai.train.saliency.cam import analytic_gradcam


@dataclass(frozen=True)
class ExplainConfig:
    """Method settings. IG: `ig_steps` Riemann steps from a zero baseline (the dataset mean in
    normalised input, captum's default). SmoothGrad: `sg_samples` noisy copies, noise σ =
    `sg_noise` × the [0, 1] pixel range, i.e. σ = sg_noise / std in normalised units."""

    ig_steps: int = 50
    sg_samples: int = 25
    sg_noise: float = 0.15
    cam_layer: str | None = None  # default: the model's last stage
    internal_batch_size: int = 256
    std: tuple[float, float, float] = (0.2298, 0.2144, 0.2259)


Explainer = Callable[[nn.Module, torch.Tensor, torch.Tensor, ExplainConfig], torch.Tensor]


def _channel_sum_abs(attr: torch.Tensor) -> torch.Tensor:
    return attr.abs().sum(dim=1)


def vanilla_gradient(model, x, targets, cfg: ExplainConfig) -> torch.Tensor:
    """|∂y_t/∂x| (Simonyan et al. 2014)."""
    from captum.attr import Saliency

    return _channel_sum_abs(Saliency(model).attribute(x, target=targets, abs=True))


def integrated_gradients(model, x, targets, cfg: ExplainConfig) -> torch.Tensor:
    """(x − x₀)·∫∇y_t along the straight path (Sundararajan et al. 2017), zero baseline."""
    from captum.attr import IntegratedGradients

    attr = IntegratedGradients(model).attribute(
        x,
        baselines=torch.zeros_like(x),
        target=targets,
        n_steps=cfg.ig_steps,
        internal_batch_size=cfg.internal_batch_size,
    )
    return _channel_sum_abs(attr)


def smoothgrad(model, x, targets, cfg: ExplainConfig) -> torch.Tensor:
    """Mean |gradient| over Gaussian-noised copies (Smilkov et al. 2017)."""
    from captum.attr import NoiseTunnel, Saliency

    sigma = cfg.sg_noise / (sum(cfg.std) / len(cfg.std))
    attr = NoiseTunnel(Saliency(model)).attribute(
        x,
        nt_type="smoothgrad",
        nt_samples=cfg.sg_samples,
        nt_samples_batch_size=max(1, cfg.internal_batch_size // max(1, len(x))),
        stdevs=sigma,
        target=targets,
        abs=True,
    )
    return _channel_sum_abs(attr)


def cam_layer_of(model: nn.Module, cfg: ExplainConfig) -> nn.Module:
    name = cfg.cam_layer or (getattr(model, "stage_names", None) or [None])[-1]
    layer = getattr(model, name, None) if name else None
    if name is None:
        raise EdgexaiError(
            f"Grad-CAM is refused for {type(model).__name__}: it names no CAM layer (its head "
            "is not GAP→linear, so there is no exact Grad-CAM to compare with the in-graph "
            "one); explain it with vg, ig or sg"
        )
    if not isinstance(layer, nn.Module):
        raise EdgexaiError(
            f"{type(model).__name__} has no CAM layer {name!r}; Grad-CAM needs "
            "the name of its last convolutional stage"
        )
    return layer


def gradcam(model, x, targets, cfg: ExplainConfig) -> torch.Tensor:
    """Autograd Grad-CAM (Selvaraju et al. 2017): ReLU(Σ_k mean(∂y_t/∂A_k)·A_k), upsampled."""
    from captum.attr import LayerAttribution, LayerGradCam

    cam = LayerGradCam(model, cam_layer_of(model, cfg)).attribute(
        x, target=targets, relu_attributions=True
    )
    return LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear").squeeze(1)


def analytic_cam(model, x, targets, cfg: ExplainConfig) -> torch.Tensor:
    """Grad-CAM from features and the linear head's weights (refuses non-GAP→linear heads)."""
    if x.shape[-1] != x.shape[-2]:
        raise EdgexaiError(f"the analytic CAM expects square inputs, got {tuple(x.shape[-2:])}")
    with torch.no_grad():
        return analytic_gradcam(model, x, targets, size=x.shape[-1])[1]


EXPLAINERS: dict[str, Explainer] = {
    "vg": vanilla_gradient,
    "ig": integrated_gradients,
    "sg": smoothgrad,
    "gradcam": gradcam,
    "cam": analytic_cam,
}
METHOD_NAMES = {
    "vg": "Vanilla Gradient",
    "ig": "Integrated Gradients",
    "sg": "SmoothGrad",
    "gradcam": "Grad-CAM",
    "cam": "analytic CAM",
}


PIXEL_METHODS = ("vg", "ig", "sg")  # gradients w.r.t. the input only: any equivalent net will do
CAM_METHODS = ("gradcam", "cam")  # need the GAP→linear head (refused for CAM-less builds)


def usable_methods(
    methods: tuple[str, ...], manifests: list[dict], explicit: bool
) -> tuple[tuple[str, ...], list[str]]:
    """(methods to run, notes) for these builds: where one of them has no in-graph CAM
    (edgexai.core.manifest.has_cam), Grad-CAM methods are dropped with a note when they came with
    the default list, and refused on one line when the caller named them (`explicit`)."""
    from edgexai.core.manifest import has_cam, no_cam_reason

    camless = [m for m in manifests if not has_cam(m)]
    asked = [x for x in methods if x in CAM_METHODS]
    if not camless or not asked:
        return methods, []
    first = camless[0]
    if explicit:
        raise EdgexaiError(
            f"{', '.join(asked)} refused for {first.get('name', first.get('arch'))}: "
            f"{no_cam_reason(first)}"
        )
    kept = tuple(x for x in methods if x not in CAM_METHODS)
    names = ", ".join(str(m.get("name", m.get("arch"))) for m in camless)
    return kept, [f"{', '.join(asked)} left out for {names}: {no_cam_reason(first)}"]


def fused_copy(model: nn.Module) -> nn.Module:
    """An equivalent copy for forward passes and input gradients: BatchNorm folded into the
    convolutions (torch.fx) and channels-last on CPU where that is safe (models.memory_format) —
    about 2× faster forward+backward on 2 cores. Layer hooks (Grad-CAM) need the original. The original is returned if tracing fails.
    """
    import copy

    try:
        from torch.fx.experimental.optimization import fuse

        fast = fuse(copy.deepcopy(model).eval())
    except Exception:  # an untraceable model is used as it is
        return model.eval()
    from edgexai.train.models.memory_format import cpu_channels_last_ok

    if next(fast.parameters()).device.type == "cpu" and cpu_channels_last_ok(fast):
        fast = fast.to(memory_format=torch.channels_last)
    return fast.eval()


def list_methods() -> list[str]:
    return list(EXPLAINERS)


def get_explainer(name: str) -> Explainer:
    try:
        return EXPLAINERS[name]
    except KeyError:
        raise EdgexaiError(
            f"unknown explanation method {name!r}; choose from: {', '.join(EXPLAINERS)}"
        ) from None


def explain(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    method: str,
    cfg: ExplainConfig | None = None,
    batch_size: int = 64,
) -> torch.Tensor:
    """Maps N×H×W (float32, CPU) for `targets` (N,), batched; the model is put in eval mode."""
    fn = get_explainer(method)
    cfg = cfg or ExplainConfig()
    model.eval()
    targets = torch.as_tensor(targets, dtype=torch.long, device=images.device)
    out = []
    for s in range(0, len(images), batch_size):
        x = images[s : s + batch_size].detach().clone()
        if method != "cam":
            x.requires_grad_(True)
        out.append(fn(model, x, targets[s : s + batch_size], cfg).detach().float().cpu())
    if not out:
        return torch.zeros((0, *images.shape[-2:]))
    return torch.cat(out)
