"""What a doctor check returns (Check), the CUDA device it reasons about (Device), and the
report they add up to (Report).

Why a module of its own: every group of checks (platform, inference stack, camera, build folder)
builds these, and the report is assembled from all of them; keeping the types apart lets each
group stand alone without importing the others. Stdlib only (runs on the vehicle, never torch).
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field
from typing import Any

OK, WARN, FAIL, SKIP, INFO = "ok", "warn", "fail", "skip", "info"
VENV_HINT = (
    "JetPack installs it for the system Python 3.10: create the venv with "
    "`python3 -m venv --system-site-packages .venv` (jetson/setup.sh does)"
)


@dataclass
class Check:
    """One line of the report: what was looked at, what was found, and how to fix a problem."""

    name: str
    status: str
    detail: str
    hint: str = ""


@dataclass
class Device:
    """The CUDA device this process would use (first device), as far as it can be seen."""

    name: str | None = None
    compute_capability: str | None = None
    source: str = ""
    runtime_version: str | None = None
    error: str | None = None
    sm_count: int | None = None
    memory_gib: int | None = None
    driver_version: str | None = None
    fix: str | None = None
    gpu: Any = None  # the runtime's cuda_mem.GpuInfo when the memory backend works


@dataclass
class Report:
    """All checks and the verdict: ready means no check failed."""

    backend: str
    source: str | None
    build: str | None
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "backend": self.backend,
            "source": self.source,
            "build": self.build,
            "problems": [c.name for c in self.problems],
            "checks": [asdict(c) for c in self.checks],
        }


def try_import(name: str) -> tuple[Any | None, str | None]:
    """Import a module; (module, None) or (None, why) — any failure, not only ImportError."""
    try:
        return importlib.import_module(name), None
    except Exception as exc:  # a broken binary wheel raises OSError, RuntimeError, ...
        return None, f"{type(exc).__name__}: {exc}"
