"""Latency of candidates that must not share a process, timed interleaved across worker processes.

Why: ONNX Runtime's intra-op pool and PyTorch's OpenMP team spin-wait between calls. With several
multi-threaded runtimes in one process, the idle ones' spinning threads steal the cores from the
one being timed (benchmarks/ort_spin_contention.py on a 2-core machine: a 2-thread ORT session ran
at 0.43 ms alone and 0.92–0.94 ms next to a second such session). Here each candidate lives in its own spawned worker,
built there by a factory, so it runs exactly as it would in a process of its own; the controller
still interleaves rounds (order rotated and reversed per round, as in `latency.time_interleaved`)
so a drift in machine load hits every candidate alike, and pauses `settle_s` before every round so
the previous worker's pool has gone to sleep.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edgexai.core.errors import EdgexaiError


@dataclass(frozen=True)
class Candidate:
    """`factory` is "module:function"; calling it with `kwargs` in the worker returns the
    zero-argument callable to time (it does its own imports and thread settings)."""

    factory: str
    kwargs: dict[str, Any] = field(default_factory=dict)


def resolve(factory: str) -> Callable[..., Callable[[], Any]]:
    module, _, name = factory.partition(":")
    if not module or not name:
        raise EdgexaiError(f"factory {factory!r} must be written module:function")
    return getattr(importlib.import_module(module), name)


def _worker(conn, factory: str, kwargs: dict[str, Any], warmup: int) -> None:
    try:
        fn = resolve(factory)(**kwargs)
        for _ in range(warmup):
            fn()
    except Exception as exc:  # reported to the controller, which raises it as a clear error
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        conn.close()
        return
    conn.send(("ready", None))
    clock = time.perf_counter
    while True:
        calls = conn.recv()
        if calls is None:
            break
        times = []
        try:
            for _ in range(calls):
                t = clock()
                fn()
                times.append(clock() - t)
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            break
        conn.send(("times", times))
    conn.close()


def _receive(name: str, conn) -> tuple[str, Any]:
    try:
        kind, payload = conn.recv()
    except EOFError:
        raise EdgexaiError(f"latency worker {name!r} died (crashed or was killed)") from None
    if kind == "error":
        raise EdgexaiError(f"latency worker {name!r} failed: {payload}")
    return kind, payload


def time_in_processes(
    candidates: dict[str, Candidate],
    rounds: int,
    per_round: int,
    warmup: int = 20,
    settle_s: float = 0.05,
    progress: bool = False,
) -> dict[str, list[float]]:
    """Per-call seconds of every candidate, each in its own worker process, rounds interleaved."""
    if not candidates:
        raise EdgexaiError("nothing to time")
    if rounds < 1 or per_round < 1 or warmup < 0 or settle_s < 0:
        raise EdgexaiError(
            "rounds and calls per round must be at least 1, warm-up and settle time at least 0"
        )
    from tqdm import tqdm

    ctx = mp.get_context("spawn")  # a fresh interpreter: no thread pool inherited from here
    workers: dict[str, tuple[Any, Any]] = {}
    try:
        for name, cand in candidates.items():
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_worker,
                args=(child, cand.factory, cand.kwargs, warmup),
                name=f"edgexai-latency-{name}",
                daemon=True,
            )
            proc.start()
            child.close()
            workers[name] = (proc, parent)
            _receive(name, parent)  # one at a time: warm-ups do not overlap
        order = list(candidates)
        times: dict[str, list[float]] = {n: [] for n in order}
        for r in tqdm(range(rounds), desc="latency rounds", disable=not progress, leave=False):
            shift = r % len(order)
            rotated = order[shift:] + order[:shift]
            for name in rotated if r % 2 == 0 else rotated[::-1]:
                time.sleep(settle_s)
                conn = workers[name][1]
                conn.send(per_round)
                times[name].extend(_receive(name, conn)[1])
        return times
    finally:
        for _proc, conn in workers.values():
            try:
                conn.send(None)
            except (BrokenPipeError, OSError):
                pass
        for proc, conn in workers.values():
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
            conn.close()
