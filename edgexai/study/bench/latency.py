"""Latency of every (model, backend, precision, batch) case, timed interleaved in one process.

Interleaving matters on a shared or throttling CPU: a drift in machine load then hits every case
alike instead of whichever model happened to run during it. Each round visits every case once (in
an order rotated per round), calls it `per_round` times, and keeps every call's time; p50/p90/p99
come from all calls of a case, throughput from their sum.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError


@dataclass(frozen=True)
class Case:
    model: str
    backend: str
    precision: str
    batch: int

    @property
    def key(self) -> str:
        return f"{self.model}|{self.backend}|{self.precision}|b{self.batch}"


def summarise(times_s: list[float], batch: int) -> dict[str, float]:
    """Percentiles in ms and images per second from per-call seconds."""
    ms = np.asarray(times_s, dtype=np.float64) * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "throughput_ips": float(batch * len(ms) / (ms.sum() / 1000.0)),
        "calls": int(len(ms)),
    }


def time_interleaved(
    cases: dict[Case, Callable[[], Any]],
    rounds: int,
    per_round: int,
    warmup: int,
    progress: bool = False,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[Case, dict[str, float]]:
    """Warm every case up, then time them interleaved; returns summarise() per case."""
    if rounds < 1 or per_round < 1 or warmup < 0:
        raise EdgexaiError("latency rounds and calls per round must be at least 1")
    from tqdm import tqdm

    order = list(cases)
    for case in order:
        for _ in range(warmup):
            cases[case]()
    times: dict[Case, list[float]] = {c: [] for c in order}
    for r in tqdm(range(rounds), desc="latency rounds", disable=not progress, leave=False):
        shift = r % len(order)
        rotated = order[shift:] + order[:shift]
        for case in rotated if r % 2 == 0 else rotated[::-1]:
            fn = cases[case]
            for _ in range(per_round):
                t = clock()
                fn()
                times[case].append(clock() - t)
    return {c: summarise(times[c], c.batch) for c in order}


def case_row(case: Case, stats: dict[str, float]) -> dict[str, Any]:
    return {
        **asdict(case),
        **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in stats.items()},
    }
