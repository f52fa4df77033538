"""Factories for tests/integration/test_isolated_latency.py: built inside spawned worker processes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def sleeper(seconds: float) -> Callable[[], int]:
    """Each call sleeps `seconds` and returns the worker's pid (so a test can tell workers apart)."""

    def call() -> int:
        time.sleep(seconds)
        return os.getpid()

    return call


def broken_factory() -> Callable[[], None]:
    raise RuntimeError("no such model here")


def fails_on_call() -> Callable[[], None]:
    def call() -> None:
        raise ValueError("bad input shape")

    return call
