"""results.json of `edgexai bench`, as types: what a reader of the file may rely on. The bench
checks its results against these before writing them, and docs/schemas/results.schema.json is
derived from them (tools/write_schemas.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
    preset: str | None  # the build's training preset (manifest), None where not recorded
    gtsrb: bool  # a GTSRB build: the paper comparison applies
    limits: list[str]  # why it is not a full build (quick preset, image limit, fewer epochs)
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
class FidelityRow:
    """One (model, backend, precision): the deployed in-graph CAM against the fp32 PyTorch
    Grad-CAM on the same images and target (edgexai.study.bench.fidelity); figures are None, with a
    `note`, where the build was skipped (no in-graph CAM, no explained image)."""

    cell: str
    model: str
    seed: int
    backend: str | None
    precision: str | None
    n_images: int
    class_agreement: float | None
    pearson_mean: float | None
    pearson_min: float | None
    spearman_mean: float | None
    iou_top20_mean: float | None
    morf_deployed: float | None
    morf_reference: float | None
    note: str | None


@dataclass(frozen=True)
class MetricInterval:
    """One explanation figure of a cell from its per-image outcomes (edgexai.study.bench.intervals):
    the mean over images with its 95 % bootstrap interval, and the difference and ratio to
    natural paired over the images both explained, with theirs. Null intervals say why in
    `note` (mean) or are null because there is no natural to pair with (natural itself)."""

    mean: float | None
    ci95: list[float] | None  # [lo, hi]
    n: int  # images (pooled over the cell's seeds)
    method: str | None  # BCa | percentile
    note: str | None  # why there is no interval
    diff: float | None  # mean − natural's, on the paired images
    diff_ci95: list[float] | None
    diff_note: str | None  # why the difference has no interval
    ratio: float | None  # mean / natural's, on the paired images
    ratio_ci95: list[float] | None
    ratio_note: str | None
    n_paired: int | None


@dataclass(frozen=True)
class CellResult:
    """A regime cell aggregated over its seeds (mean ± std, ratio to natural), and the 95 %
    intervals of its explanation figures ({} without per-image outcomes: an old cache)."""

    seeds: list[int]
    n: int
    models: list[str]
    mean: dict[str, Any]
    std: dict[str, Any]
    ratio: dict[str, Any]
    intervals: dict[str, MetricInterval]


@dataclass(frozen=True)
class Finding:
    """One of the paper's findings with our verdict: `outcome` the bare word, `verdict` the text
    shown (with '(interval includes the threshold)' and the mark, if any), `rule` how it was
    decided, `marked` whether it is indicative only and `marked_why` which builds made it so."""

    finding: str
    rule: str
    outcome: Literal["agree", "disagree", "partly", "inconclusive", "not measured"]
    verdict: str
    marked: bool
    mark: str | None
    marked_why: list[str]
    evidence: str


@dataclass(frozen=True)
class PaperResult:
    """The reference study beside ours (GTSRB builds only: else `compared` is false and
    `not_compared` says why, with no findings)."""

    source: str
    reference_morf: dict[str, dict[str, float]]
    compared: bool
    not_compared: str | None
    intervals: dict[
        str, Any
    ]  # how the intervals were made (edgexai.study.bench.intervals.settings)
    findings: list[Finding]


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
    paper: PaperResult
    notes: list[str]
    pipeline: list[dict[str, Any]]
    cam_fidelity: list[FidelityRow]
    seconds_total: float


def check_results(results: dict[str, Any]) -> None:
    from edgexai.core.typed_json import check

    check(results, BenchResults, "results.json")


def results_schema() -> dict[str, Any]:
    from edgexai.core.typed_json import document_schema

    return document_schema(
        {"results": BenchResults},
        "edgexai bench results (results.json)",
        "results.schema.json",
        {"results": {"format": FORMAT}},
    )
