"""What CPU this is, read once from /proc/cpuinfo (stdlib only): its model name and the flags that
decide training arithmetic, for build manifests, the bench's environment block and timing tools."""

from __future__ import annotations

import platform
from pathlib import Path

ARITHMETIC_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")


def cpu_description(cpuinfo: str = "/proc/cpuinfo") -> tuple[str, list[str]]:
    """(model name, the ARITHMETIC_FLAGS it has); platform.processor() and [] off Linux."""
    try:
        lines = Path(cpuinfo).read_text().splitlines()
    except OSError:
        return platform.processor() or "", []
    model = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")
    flags = next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), [])
    return model or platform.processor() or "", [f for f in ARITHMETIC_FLAGS if f in flags]
