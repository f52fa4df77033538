"""results.json of `edgexai bench`, as types: what a reader of the file may rely on. The bench
checks its results against these before writing them, and docs/schemas/results.schema.json is
derived from them (tools/write_schemas.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FORMAT = "edgexai-bench/1"


@dataclass(frozen=True)
class ModelResult:
    """One build folder's figures (nested figures keep their own names)."""

    name: str
    cell: str
    seed: int
    dir: str
    regime: str
    timing: str | None
    arch: str
    model_sha256: str
    figures: dict[str, Any]
    road_curves: dict[str, Any]
    robust_settings: dict[str, Any] | None  # None: the build measured no robust accuracy
    explain_seconds: dict[str, Any]


@dataclass(frozen=True)
class LatencyRow:
    """One (model, backend, precision, batch) timing."""

    model: str
    backend: str
    precision: str
    batch: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    throughput_ips: float
    calls: int
    cell: str
    seed: int


@dataclass(frozen=True)
class CellResult:
    """A regime cell aggregated over its seeds (mean ± std, ratio to natural)."""

    seeds: list[int]
    n: int
    models: list[str]
    mean: dict[str, Any]
    std: dict[str, Any]
    ratio: dict[str, Any]


@dataclass(frozen=True)
class BenchResults:
    """The whole file."""

    format: str
    created: str
    command: str
    environment: dict[str, Any]
    config: dict[str, Any]
    images: dict[str, Any]
    models: list[ModelResult]
    cells: dict[str, CellResult]
    latency: list[LatencyRow]
    paper: dict[str, Any]
    notes: list[str]
    pipeline: list[dict[str, Any]]
    seconds_total: float


def check_results(results: dict[str, Any]) -> None:
    from edgexai.typed_json import check

    check(results, BenchResults, "results.json")


def results_schema() -> dict[str, Any]:
    from edgexai.typed_json import document_schema

    return document_schema(
        {"results": BenchResults},
        "edgexai bench results (results.json)",
        "results.schema.json",
        {"results": {"format": FORMAT}},
    )
