"""report.md + report.html (+ the PNGs) from a bench's results: tables, figures, the paper section.

It takes what the job measured (results, the models, the maps) and never imports the job
(bench/bench_job.py), so the two depend one way: job → report. The sections are in
report_sections.py and explanation_sections.py; this module draws the figures and puts the
sections in reading order.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgexai.core.strict_json import json_safe
from edgexai.study.bench import figure_data
from edgexai.study.bench.document import Section, to_html, to_markdown
from edgexai.study.bench.explanation_sections import (
    explanation_section,
    fidelity_section,
    paper_section,
)
from edgexai.study.bench.pipeline_figures import pipeline_figures
from edgexai.study.bench.plots import latency_dots, road_bands, saliency_grid, tradeoff_pareto
from edgexai.study.bench.report_sections import (
    accuracy_section,
    environment_section,
    every_case_section,
    files_section,
    latency_section,
    measured_section,
    pipeline_section,
)
from edgexai.study.bench.select import CELLS

if TYPE_CHECKING:
    from edgexai.study.bench.bench_options import BenchOptions
    from edgexai.study.bench.select import BenchModel

TITLE = "edgexai bench — the regime matrix side by side"


def _cells(results: dict[str, Any]) -> list[str]:
    present = list(results["cells"])
    rank = {c: i for i, c in enumerate(CELLS)}
    return sorted(present, key=lambda c: (rank.get(c, len(CELLS)), c))


def _grid_rows(
    ids: np.ndarray, models: list[BenchModel], ids_by_model: dict[str, np.ndarray], k: int
) -> np.ndarray:
    """Up to k drawn images that every model explained (classified correctly), else any drawn."""
    common = set(int(i) for i in ids)
    for m in models:
        common &= set(int(i) for i in ids_by_model[m.name])
    chosen = sorted(common)[:k]
    if len(chosen) < k:
        chosen += [int(i) for i in ids if int(i) not in chosen][: k - len(chosen)]
    return np.asarray(sorted(chosen), dtype=np.int64)


def figures(
    out: Path,
    results: dict[str, Any],
    models: list[BenchModel],
    test,
    ids: np.ndarray,
    maps_by_model: dict[str, dict[str, np.ndarray]],
    ids_by_model: dict[str, np.ndarray],
    opts: BenchOptions,
) -> dict[str, Path]:
    """Write figures/*.png; {figure key: path} for the sections to show."""
    fig_dir = out / "figures"
    fig_dir.mkdir(exist_ok=True)
    cells = _cells(results)
    # one model per cell for the images (the lowest seed): a grid of seeds would not fit a page
    shown = [next(m for m in models if m.cell == c) for c in cells]
    paths = saliency_grids(fig_dir, shown, test, ids, maps_by_model, ids_by_model, opts)
    if opts.road:
        paths["road"] = road_figure(fig_dir, results, cells, opts)
    if results["latency"]:
        paths.update(latency_figures(fig_dir, results, cells))
    if results.get("pipeline"):
        paths.update(pipeline_figures(fig_dir, results["pipeline"]))
    return paths


def saliency_grids(
    fig_dir: Path,
    shown: list[BenchModel],
    test,
    ids: np.ndarray,
    maps_by_model: dict[str, dict[str, np.ndarray]],
    ids_by_model: dict[str, np.ndarray],
    opts: BenchOptions,
) -> dict[str, Path]:
    """One grid per method: the same test images (rows) across the shown models (columns)."""
    from edgexai.train.saliency.explainers import METHOD_NAMES

    paths: dict[str, Path] = {}
    rows = _grid_rows(ids, shown, ids_by_model, opts.grid_images)
    if not len(rows):
        return paths
    images = test.images[rows]
    names = shown[0].manifest["classes"]  # the builds' own class names
    captions = [f"#{i} {names[int(test.labels[i])][:16]}" for i in rows]
    for method in opts.methods:
        maps = {
            m.cell: _grid_maps(
                rows, images.shape[1:3], ids_by_model[m.name], maps_by_model[m.name].get(method)
            )
            for m in shown
        }
        paths[f"grid_{method}"] = saliency_grid(
            fig_dir / f"grid_{method}.png",
            images,
            captions,
            [m.cell for m in shown],
            maps,
            METHOD_NAMES.get(method, method),
        )
    return paths


def _grid_maps(
    rows: np.ndarray, shape: tuple[int, ...], got: np.ndarray, maps: np.ndarray | None
) -> np.ndarray:
    """One model's maps of the grid's images; NaN where it did not explain the image (all of
    them for a method it lacks: Grad-CAM on a CAM-less build)."""
    arr = np.full((len(rows),) + tuple(shape), np.nan, np.float32)
    for r, image_id in enumerate(rows if maps is not None else []):
        hit = np.flatnonzero(got == image_id)
        if len(hit):
            arr[r] = maps[hit[0]]
    return arr


def road_figure(
    fig_dir: Path, results: dict[str, Any], cells: list[str], opts: BenchOptions
) -> Path:
    """ROAD curves per method, every cell (mean over its seeds), with bootstrap bands."""
    from edgexai.train.saliency.explainers import METHOD_NAMES

    curves, notes = figure_data.road_curves(results, cells, tuple(opts.methods))
    return road_bands(fig_dir / "road_curves.png", curves, list(opts.methods), METHOD_NAMES, notes)


def latency_figures(fig_dir: Path, results: dict[str, Any], cells: list[str]) -> dict[str, Path]:
    """The latency dot plot (every cell × case, cell means) and the accuracy–latency Pareto
    plot at each cell's fastest measured case."""
    paths = {
        "latency": latency_dots(
            fig_dir / "latency.png", figure_data.latency_rows(results, cells), cells
        )
    }
    points, label, notes = figure_data.tradeoff_points(results, cells)
    if points:
        paths["scatter"] = tradeoff_pareto(fig_dir / "tradeoff.png", points, label, notes)
    return paths


def sections(results: dict[str, Any], paths: dict[str, Path], opts: BenchOptions) -> list[Section]:
    """The report's sections, in reading order (the long every-case table near the end)."""
    cells = _cells(results)
    out = [
        measured_section(results, cells),
        environment_section(results["environment"]),
        accuracy_section(results, cells),
        explanation_section(results, cells, paths, opts),
        *([fidelity_section(results, cells)] if results.get("cam_fidelity") else []),
        latency_section(results, cells, paths),
    ]
    if results.get("pipeline"):
        out.append(pipeline_section(results["pipeline"], paths))
    out.append(paper_section(results))
    if results["latency"]:
        out.append(every_case_section(results["latency"], cells))
    out.append(files_section())
    return out


def write_report(
    out: Path,
    results: dict[str, Any],
    models: list[BenchModel],
    test,
    ids: np.ndarray,
    maps_by_model: dict[str, dict[str, np.ndarray]],
    ids_by_model: dict[str, np.ndarray],
    opts: BenchOptions,
) -> None:
    paths = figures(out, results, models, test, ids, maps_by_model, ids_by_model, opts)
    secs = sections(json_safe(results), paths, opts)
    (out / "report.md").write_text(to_markdown(TITLE, secs, out) + "\n")
    (out / "report.html").write_text(to_html(TITLE, secs) + "\n")
