"""Adversarial training with PGD under an L∞ budget stated in [0, 1] pixel units.

The model sees normalised inputs, so the attack works on pixels (where ε means "this many
intensity levels out of 255 / 255") and normalises inside; every step is projected onto the
ε-ball and clipped to the valid image range [0, 1]. The paper's ε = 0.1 was in normalised units,
i.e. about 0.1 × std ≈ 0.022 in pixel units (≈ 5.7/255); our default is 8/255 ≈ 0.031.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from edgexai.errors import EdgexaiError
from edgexai.regimes import DEFAULT_EPSILON, DEFAULT_PGD_STEPS, RegimeSettings
from edgexai.regimes.train import LossFn


@dataclass(frozen=True)
class PGDConfig:
    """One PGD L∞ attack; `step_size` None means 2.5·ε/steps (Madry et al.'s rule of thumb)."""

    epsilon: float = DEFAULT_EPSILON
    steps: int = DEFAULT_PGD_STEPS
    step_size: float | None = None
    random_start: bool = True

    @property
    def alpha(self) -> float:
        return self.step_size if self.step_size is not None else 2.5 * self.epsilon / max(1, self.steps)

    def check(self) -> None:
        if not 0 < self.epsilon <= 1:
            raise EdgexaiError(f"--epsilon must be in (0, 1] pixel units (got {self.epsilon}); "
                               "8/255 ≈ 0.031 is the usual budget")
        if self.steps < 1:
            raise EdgexaiError(f"--pgd-steps must be at least 1 (got {self.steps})")
        if self.step_size is not None and not self.step_size > 0:
            raise EdgexaiError(f"--pgd-step-size must be positive (got {self.step_size})")

    def as_dict(self) -> dict[str, float | int | bool | str]:
        return {"norm": "linf", "units": "pixel [0,1]", "epsilon": self.epsilon,
                "steps": self.steps, "step_size": self.alpha, "random_start": self.random_start}


def adversarial_config(s: RegimeSettings) -> PGDConfig:
    """The training attack from build settings."""
    return PGDConfig(s.epsilon, s.pgd_steps, s.pgd_step_size, s.random_start)


class PixelModel(nn.Module):
    """Wraps a model that expects normalised input so it takes [0, 1] pixels instead."""

    def __init__(self, model: nn.Module, mean, std) -> None:
        super().__init__()
        self.model = model
        p = next(model.parameters())
        self.register_buffer("mean", torch.tensor(mean, dtype=p.dtype, device=p.device).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=p.dtype, device=p.device).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - self.mean) / self.std)


def pgd_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: PGDConfig,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Adversarial pixels for `model` (which takes pixels): maximise cross-entropy in the ε-ball.

    The model's train/eval mode is left as the caller set it; parameters get no gradients.
    """
    x = x.detach()
    lo, hi = (x - cfg.epsilon).clamp_(0, 1), (x + cfg.epsilon).clamp_(0, 1)
    if cfg.random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=torch.float32)
        adv = x + (noise.to(x.device, x.dtype) * 2 - 1) * cfg.epsilon
        adv = torch.max(torch.min(adv, hi), lo)
    else:
        adv = x.clone()
    alpha = cfg.alpha
    for _ in range(cfg.steps):
        adv.requires_grad_(True)
        with torch.enable_grad():
            loss = F.cross_entropy(model(adv).float(), y)
            (grad,) = torch.autograd.grad(loss, adv)
        adv = adv.detach() + alpha * grad.sign()
        adv = torch.max(torch.min(adv, hi), lo)
    return adv.detach()


def adversarial_loss(mean, std, cfg: PGDConfig, adv_fraction: float = 1.0,
                     seed: int = 0) -> LossFn:
    """A Trainer loss_fn: cross-entropy on a batch whose first `adv_fraction` is attacked.

    The attack runs with the network in eval mode (batch-norm statistics are then updated by the
    training forward only) on the underlying module (not the DDP wrapper, so attack passes never
    trigger gradient all-reduce).
    """
    if not 0 < adv_fraction <= 1:
        raise EdgexaiError(f"--adv-fraction must be in (0, 1] (got {adv_fraction})")
    gen = torch.Generator().manual_seed(seed + 7919)

    def loss_fn(net: nn.Module, x: torch.Tensor, y: torch.Tensor):
        core = getattr(net, "module", net)
        m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        pixels = (x * s + m).clamp_(0, 1)  # augmentation may step slightly outside [0, 1]
        k = max(1, round(adv_fraction * len(x)))
        was_training = core.training
        core.eval()
        for p in core.parameters():
            p.requires_grad_(False)
        try:
            adv = pgd_attack(PixelModel(core, mean, std), pixels[:k], y[:k], cfg, gen)
        finally:
            for p in core.parameters():
                p.requires_grad_(True)
            core.train(was_training)
        mixed = torch.cat([adv, pixels[k:]]) if k < len(x) else adv
        x_in = (mixed - m) / s
        if x.is_contiguous(memory_format=torch.channels_last):
            x_in = x_in.contiguous(memory_format=torch.channels_last)
        logits = net(x_in)
        return F.cross_entropy(logits, y), logits

    return loss_fn
