"""Parameter and multiply-accumulate counts, from torch's own FLOP counter (MACs = FLOPs / 2)."""

from __future__ import annotations

import torch


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: torch.nn.Module, input_size: int) -> int:
    """MACs of one forward pass on a 1×3×S×S input (convolutions and linear layers)."""
    from torch.utils.flop_counter import FlopCounterMode

    param = next(model.parameters())
    x = torch.zeros(1, 3, input_size, input_size, dtype=param.dtype, device=param.device)
    was_training = model.training
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    model.train(was_training)
    return counter.get_total_flops() // 2
