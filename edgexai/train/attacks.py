"""PGD in torch: the L∞ attack, robust accuracy, and the adversarial training loss built on them.

Training side (imports torch); shared by the adversarial regime (its loss) and the build (every
regime's robust accuracy). The settings live in edgexai.core.metrics.robustness, numpy only. The model
sees normalised inputs, so the attack works on pixels (where ε means "this many intensity levels
out of 255 / 255") and normalises inside; every step is projected onto the ε-ball and clipped to
the valid image range [0, 1]. The paper's ε = 0.1 was in normalised units, i.e. about 0.1 × std ≈
0.022 in pixel units (≈ 5.7/255); the build's default is 8/255 ≈ 0.031.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from edgexai.core.errors import EdgexaiError
from edgexai.core.metrics.robustness import PGDConfig, RobustEvalConfig, fixed_subset

# A Trainer loss_fn: (network, normalised batch, labels) → (loss, logits).
LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class PixelModel(nn.Module):
    """Wraps a model that expects normalised input so it takes [0, 1] pixels instead."""

    def __init__(self, model: nn.Module, mean, std) -> None:
        super().__init__()
        self.model = model
        p = next(model.parameters())
        self.register_buffer(
            "mean", torch.tensor(mean, dtype=p.dtype, device=p.device).view(1, -1, 1, 1)
        )
        self.register_buffer(
            "std", torch.tensor(std, dtype=p.dtype, device=p.device).view(1, -1, 1, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model((x - self.mean) / self.std)


def pgd_attack(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: PGDConfig,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
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


def robust_accuracy(
    model: torch.nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    mean,
    std,
    cfg: RobustEvalConfig,
    device: str | torch.device = "cpu",
) -> dict:
    """Clean and PGD accuracy on the fixed subset; the model is evaluated in eval mode."""
    idx = fixed_subset(len(labels), cfg.images, cfg.seed)
    model = model.to(device)
    was_training = model.training
    model.eval()
    requires = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    net = PixelModel(model, mean, std)
    gen = torch.Generator().manual_seed(cfg.seed + 104729)
    clean = robust = 0
    try:
        for i in range(0, len(idx), cfg.batch_size):
            j = idx[i : i + cfg.batch_size]
            x = torch.from_numpy(images[j]).to(device).permute(0, 3, 1, 2).float().div_(255)
            y = torch.from_numpy(labels[j]).long().to(device)
            with torch.no_grad():
                clean += int((net(x).argmax(1) == y).sum())
            adv = pgd_attack(net, x, y, cfg.attack(), gen)
            with torch.no_grad():
                robust += int((net(adv).argmax(1) == y).sum())
    finally:
        for p, r in zip(model.parameters(), requires, strict=True):
            p.requires_grad_(r)
        model.train(was_training)
    n = max(1, len(idx))
    return {
        "robust_accuracy": round(robust / n, 6),
        "clean_accuracy_subset": round(clean / n, 6),
        "images": int(len(idx)),
        **cfg.attack().as_dict(),
        "seed": cfg.seed,
        "subset": "official test, seeded sample",
        "key": cfg.key(),
    }


def adversarial_loss(mean, std, cfg: PGDConfig, adv_fraction: float = 1.0, seed: int = 0) -> LossFn:
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
