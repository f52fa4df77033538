"""Time one training step (forward, backward, SGD update) of an arch in fp32 and bf16 autocast,
channels-last and NCHW: the measurement behind `--train-precision auto` (docs/RESULTS.md, #19).

Random inputs (timing only), torch's threads as set (default: all cores), median of --steps after
--warmup. Prints one JSON line per configuration.

Usage: python benchmarks/bench_train_step.py [--arch resnet20] [--size 32] [--batch 128] [--steps 12]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from edgexai.train.data.augment import AugmentConfig, augment_batch
from edgexai.train.models import create_model
from edgexai.train.train_precision import autocast_dtype, cpu_has_bf16


def step_ms(
    arch: str, size: int, batch: int, precision: str, channels_last: bool, steps: int, warmup: int
):
    torch.manual_seed(0)
    model = create_model(arch).train()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    x = torch.rand(batch, 3, size, size)
    y = torch.randint(0, 43, (batch,))
    gen = torch.Generator().manual_seed(0)
    dtype = autocast_dtype(precision)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        xb = augment_batch(x, AugmentConfig(), gen).contiguous(memory_format=fmt)
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            loss = F.cross_entropy(model(xb), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="resnet20")
    p.add_argument("--size", type=int, default=32, help="input side in px (the cpu preset: 40)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()
    base = {"arch": a.arch, "size": a.size, "batch": a.batch, "threads": torch.get_num_threads()}
    base["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    base["native_bf16"] = cpu_has_bf16()
    for channels_last in (True, False):
        for precision in ("fp32", "bf16"):
            ms = step_ms(a.arch, a.size, a.batch, precision, channels_last, a.steps, a.warmup)
            row = {**base, "precision": precision, "channels_last": channels_last}
            print(json.dumps({**row, "ms_per_step": round(ms, 1)}), flush=True)


if __name__ == "__main__":
    main()
