"""The machine a bench ran on, as results.json records it: latency figures mean little without
the CPU, its load, the thread count and the versions that produced them."""

from __future__ import annotations

import os
import platform
import time
from typing import Any


def environment(threads: int) -> dict[str, Any]:
    from edgexai.core.host import cpu_description
    from edgexai.core.manifest import git_revision, tool_versions

    cpu, flags = cpu_description()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": platform.node(),
        "os": platform.platform(),
        "cpu": cpu,
        "cpu_flags": flags,
        "cpu_count": os.cpu_count(),
        "latency_threads": threads or "backend default",
        "load_average_start": load_average(),
        "versions": tool_versions(),
        "git": git_revision(),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, as `environment` records them at the start."""
    return [round(v, 2) for v in os.getloadavg()]
