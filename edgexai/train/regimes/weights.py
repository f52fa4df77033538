"""Weight sparsity: the fraction of exact zeros in the prunable weights (conv and linear).

Torch code, so it lives on the training side (edgexai.core.metrics is numpy only): pruning picks its
layers here and the build records the sparsity it reached. Reads `weight` as the forward pass sees
it, so it is right both while pruning masks are attached (weight = weight_orig · mask) and after
they were made permanent.
"""

from __future__ import annotations

import torch
from torch import nn


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def weight_sparsity(model: nn.Module) -> dict[str, float | int]:
    """Zeros / total over conv+linear weights, and per layer type (fractions in [0, 1])."""
    zeros = {"conv": 0, "linear": 0}
    total = {"conv": 0, "linear": 0}
    with torch.no_grad():
        for _, m in prunable_layers(model):
            kind = "conv" if isinstance(m, nn.Conv2d) else "linear"
            w = m.weight
            zeros[kind] += int((w == 0).sum())
            total[kind] += w.numel()
    all_total = max(1, sum(total.values()))
    return {
        "weights": round(sum(zeros.values()) / all_total, 6),
        "conv": round(zeros["conv"] / max(1, total["conv"]), 6),
        "linear": round(zeros["linear"] / max(1, total["linear"]), 6),
        "zeros": sum(zeros.values()),
        "total": sum(total.values()),
    }
