"""Whether a model may run channels-last on the CPU.

Channels-last makes ResNet-20 training about 30 % faster on 2 CPU cores (203 vs 285 ms per
128-image step, measured here), but torch 2.14.1's oneDNN convolution backward crashes the process
(segfault or "double free or corruption") on CPU with 2 threads for the 50 %-channel-pruned
ResNet-20 (8-channel stem) at odd batch sizes — 3, 5, 19, 33 and 127 crashed; even sizes, one
thread, contiguous (NCHW) tensors and the unpruned network (16-channel stem) did not. So on the
CPU a model with any convolution narrower than 16 channels runs contiguous.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

MIN_CPU_CHANNELS_LAST_WIDTH = 16


def cpu_channels_last_ok(model: nn.Module) -> bool:
    widths = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    return bool(widths) and min(widths) >= MIN_CPU_CHANNELS_LAST_WIDTH


def channels_last_for(model: nn.Module, device: torch.device | str) -> bool:
    """Use channels-last: always on CUDA, on the CPU only where it is known not to crash."""
    return torch.device(device).type != "cpu" or cpu_channels_last_ok(model)


@contextmanager
def channels_last_while(model: nn.Module, device: torch.device | str) -> Iterator[bool]:
    """Run `model` channels-last inside the block where `channels_last_for` allows it, and give
    it back in the layout it came in (export and pruning expect contiguous weights).

    Yields whether inputs should be channels-last too: on 2 CPU cores ResNet-20's eval forward at
    40 px runs about 1.4x faster that way (with batches of 64: benchmarks/bench_eval.py).
    """
    if not channels_last_for(model, device):
        yield False
        return
    was_contiguous = all(p.is_contiguous() for p in model.parameters() if p.dim() == 4)
    model.to(memory_format=torch.channels_last)
    try:
        yield True
    finally:
        if was_contiguous:
            model.to(memory_format=torch.contiguous_format)
