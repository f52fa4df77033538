"""The report's figures (matplotlib, Agg; no display needed). Each function writes one PNG that
answers one question, in one style: one colour per regime cell in every figure, fonts legible at
the width report.html shows them (no figure is wider than the page, so none is scaled down); the
style itself is plot_style.py's."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.study.bench.label_placement import repel
from edgexai.study.bench.plot_style import (
    DPI,
    MIN_FONT_PT,
    WIDTH_IN,
    caption,
    cell_colour,
    new_figure,
    put_legend,
    styled,
    with_legend_row,
)

# backend/precision series of the latency plot, and the marker of each batch size
_SERIES = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")
_MARKERS = ("o", "s", "^", "D", "v", "P")


def _save(fig, path: Path) -> Path:
    """Write the figure at the report's DPI (tests replace this to keep the figures)."""
    fig.savefig(path, dpi=DPI)
    return path


# ---------------------------------------------------------------------------------------------
# accuracy against latency: the Pareto front


def pareto_front(points: list[dict[str, Any]]) -> list[str]:
    """Cells no other point beats on both latency (lower) and accuracy (higher), fastest first."""
    front, best = [], -np.inf
    for p in sorted(points, key=lambda p: (p["latency"], -p["accuracy"])):
        if p["accuracy"] > best:
            front.append(p["cell"])
            best = p["accuracy"]
    return front


@styled
def tradeoff_pareto(
    path: Path, points: list[dict[str, Any]], latency_label: str, notes: list[str]
) -> Path:
    """x latency (lower is better), y clean accuracy; the front is the set of regimes worth
    deploying. points: {'cell', 'latency', 'accuracy', 'case'} (case: the timed variant)."""
    fig = new_figure(WIDTH_IN, 5.6)
    ax = fig.subplots()
    front = pareto_front(points)
    fp = sorted((p for p in points if p["cell"] in front), key=lambda p: p["latency"])
    xs = np.repeat([p["latency"] for p in fp], 2)[1:]
    ys = np.repeat([p["accuracy"] for p in fp], 2)[:-1]
    ax.plot(
        xs,
        ys,
        color="0.55",
        linestyle="--",
        linewidth=1.2,
        zorder=1,
        label="Pareto front",
    )
    for p in points:
        on = p["cell"] in front
        ax.scatter(
            p["latency"],
            p["accuracy"],
            s=110 if on else 60,
            color=cell_colour(p["cell"]),
            edgecolors="k" if on else "none",
            linewidths=1.5,
            zorder=3,
        )
    _pad_limits(ax, points)
    labels = [
        ax.annotate(
            p["cell"] + (f" ({p['case']})" if p.get("case") else ""),
            (p["latency"], p["accuracy"]),
            xytext=(0, 0),
            textcoords="offset points",
            fontsize=MIN_FONT_PT,
            fontweight="bold" if p["cell"] in front else "normal",
            color=cell_colour(p["cell"]),
            arrowprops={"arrowstyle": "-", "color": "0.6", "linewidth": 0.7},
            zorder=4,
        )
        for p in points
    ]
    ax.set_xlabel(latency_label)
    ax.set_ylabel("clean test accuracy")
    ax.set_title("Which regime is fastest at equal accuracy? (bold, ringed: on the Pareto front)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    caption(fig, notes)
    repel(fig, ax, labels)
    return _save(fig, path)


def _pad_limits(ax, points: list[dict[str, Any]]) -> None:
    """Room around the points for their labels."""
    xs = np.array([p["latency"] for p in points], float)
    ys = np.array([p["accuracy"] for p in points], float)
    dx = max(float(np.ptp(xs)), 0.05 * float(xs.max()), 1e-6)
    dy = max(float(np.ptp(ys)), 0.01)
    ax.set_xlim(xs.min() - 0.08 * dx, xs.max() + 0.45 * dx)
    ax.set_ylim(ys.min() - 0.12 * dy, ys.max() + 0.2 * dy)


# ---------------------------------------------------------------------------------------------
# latency against batch and precision: one grouped dot plot


@styled
def latency_dots(
    path: Path, rows: list[dict[str, Any]], cells: list[str], notes: list[str] | None = None
) -> Path:
    """y: cell; x: ms per call (p50, whisker to p90, log scale); colour: backend/precision;
    marker: batch. rows: {'cell', 'backend', 'precision', 'batch', 'p50_ms', 'p90_ms'}."""
    from matplotlib.lines import Line2D

    series = sorted({(r["backend"], r["precision"]) for r in rows})
    batches = sorted({int(r["batch"]) for r in rows})
    n_handles = len(series) + len(batches)
    ncol = min(n_handles, 6)
    fig = new_figure(WIDTH_IN, 0.42 * len(cells) + 2.6)
    (ax,), legend_ax = with_legend_row(fig, 1, 1, -(-n_handles // ncol), 0.42 * len(cells) + 1)
    spread = 0.6 / max(len(series), 1)
    for k, s in enumerate(series):
        dy = (k - (len(series) - 1) / 2) * spread
        colour = _SERIES[k % len(_SERIES)]
        for c_i, cell in enumerate(cells):
            got = sorted(
                (r for r in rows if r["cell"] == cell and (r["backend"], r["precision"]) == s),
                key=lambda r: r["batch"],
            )
            if not got:
                continue
            y = c_i + dy
            ax.plot([r["p50_ms"] for r in got], [y] * len(got), color=colour, lw=0.8, alpha=0.6)
            for r in got:
                ax.plot([r["p50_ms"], r["p90_ms"]], [y, y], color=colour, lw=2.2, alpha=0.35)
                ax.plot(
                    r["p50_ms"],
                    y,
                    _MARKERS[batches.index(int(r["batch"])) % len(_MARKERS)],
                    color=colour,
                    markersize=6,
                    markeredgecolor="k",
                    markeredgewidth=0.4,
                )
    _log_ms_axis(ax, [r["p50_ms"] for r in rows] + [r["p90_ms"] for r in rows])
    ax.set_yticks(range(len(cells)), cells)
    for tick, cell in zip(ax.get_yticklabels(), cells, strict=True):
        tick.set_color(cell_colour(cell))
    ax.set_ylim(len(cells) - 0.5, -0.5)
    ax.set_xlabel("ms per call (dot: p50; bar: p50 to p90; log scale)")
    ax.set_title("How does latency scale with batch and precision?")
    ax.grid(axis="x", which="both", alpha=0.3)
    handles = [
        Line2D([], [], color=_SERIES[k % len(_SERIES)], marker="o", lw=0, label=f"{b} {p}")
        for k, (b, p) in enumerate(series)
    ] + [
        Line2D([], [], color="0.3", marker=_MARKERS[i % len(_MARKERS)], lw=0, label=f"batch {n}")
        for i, n in enumerate(batches)
    ]
    put_legend(legend_ax, handles, ncol)
    caption(fig, notes or [])
    return _save(fig, path)


def _log_ms_axis(ax, values: list[float]) -> None:
    """A log x-axis labelled 0.2, 0.5, 1, 2, 5 … ms (not 10^0, 10^1)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    lo, hi = min(values), max(values)
    ticks = [
        m * 10.0**e for e in range(-3, 5) for m in (1, 2, 5) if lo / 2 <= m * 10.0**e <= hi * 2
    ]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlim(lo / 1.3, hi * 1.3)


# ---------------------------------------------------------------------------------------------
# faithfulness: ROAD curves with 95 % bands


@styled
def road_bands(
    path: Path,
    curves: dict[str, dict[str, dict[str, Any]]],
    methods: list[str],
    method_names: dict[str, str],
    notes: list[str],
) -> Path:
    """One panel per method: MoRF (solid) and LeRF (dashed) accuracy per cell, a band where the
    curve has one. curves[cell][method] = {'percentages', 'morf', 'lerf', 'band': {order:
    (lo, hi)}}."""
    from matplotlib.lines import Line2D

    ncols = 2 if len(methods) > 1 else 1
    nrows = -(-len(methods) // ncols)
    legend_rows = -(-(len(curves) + 2) // 4)
    fig = new_figure(WIDTH_IN, 3.3 * nrows + 0.3 * legend_rows + 1.6)
    axes, legend_ax = with_legend_row(fig, nrows, ncols, legend_rows, 3.0)
    for ax, method in zip(axes, methods, strict=False):
        for cell, per_method in curves.items():
            c = per_method.get(method)
            if c:
                _road_lines(ax, c, cell_colour(cell))
        ax.set_title(method_names.get(method, method))
        ax.set_xlabel("pixels removed (%)")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1.03)
        ax.grid(alpha=0.3)
    for ax in axes[len(methods) :]:
        ax.set_visible(False)
    handles = [Line2D([], [], color=cell_colour(c), lw=2, label=c) for c in curves] + [
        Line2D([], [], color="0.3", lw=1.5, ls="-", label="MoRF (lower = more faithful)"),
        Line2D([], [], color="0.3", lw=1.5, ls="--", label="LeRF (higher = more faithful)"),
    ]
    put_legend(legend_ax, handles, 4)
    fig.suptitle("How faithful is each regime's explanation? ROAD accuracy after removing pixels")
    caption(fig, notes)
    return _save(fig, path)


def _road_lines(ax, c: dict[str, Any], colour: str) -> None:
    x = c["percentages"]
    for order, ls in (("morf", "-"), ("lerf", "--")):
        if order not in c:
            continue
        ax.plot(x, c[order], ls, color=colour, lw=1.3, marker="o", markersize=2.5)
        band = (c.get("band") or {}).get(order)
        if band is not None:
            ax.fill_between(x, band[0], band[1], color=colour, alpha=0.12, linewidth=0)


# ---------------------------------------------------------------------------------------------
# the same images explained by every regime


@styled
def saliency_grid(
    path: Path,
    images: np.ndarray,
    captions: list[str],
    models: list[str],
    maps: dict[str, np.ndarray | None],
    method_name: str,
) -> Path:
    """Rows: the same test images; columns: input, then one overlay per model (headed in the
    cell's colour). A model that did not explain an image (it misclassified it) shows grey."""
    rows, cols = len(images), 1 + len(models)
    cell_in = min(0.95, (WIDTH_IN - 1.9) / cols)
    fig = new_figure(min(WIDTH_IN, 1.9 + cell_in * cols), cell_in * rows + 2.3)
    axes = fig.subplots(rows, cols, squeeze=False)
    for r in range(rows):
        axes[r, 0].imshow(images[r])
        axes[r, 0].set_ylabel(
            textwrap.fill(captions[r], 14),
            fontsize=MIN_FONT_PT,
            rotation=0,
            ha="right",
            va="center",
        )
        for c, name in enumerate(models, start=1):
            m = maps.get(name)
            ax = axes[r, c]
            if m is None or not np.isfinite(m[r]).all():
                ax.imshow(np.full(images[r].shape, 217, np.uint8))  # light grey: not explained
            else:
                ax.imshow(images[r])
                ax.imshow(m[r] / (m[r].max() + 1e-12), cmap="jet", alpha=0.5, vmin=0, vmax=1)
            if r == 0:
                ax.set_title(name, fontsize=MIN_FONT_PT, rotation=90, color=cell_colour(name))
    axes[0, 0].set_title("input", fontsize=MIN_FONT_PT, rotation=90)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{method_name} on the same test images, every regime")
    caption(fig, ["grey: the model misclassified the image, so it was not explained"])
    return _save(fig, path)


# ---------------------------------------------------------------------------------------------
# the camera-frame pipeline


@styled
def stage_bars(path: Path, stages: dict[str, dict[str, float]], title: str) -> Path:
    """Horizontal bars: ms per frame per stage (p50, whisker to p99), pipeline order."""
    names = list(stages)
    p50 = np.array([stages[k]["p50"] for k in names], float)
    p99 = np.array([stages[k].get("p99", stages[k]["p50"]) for k in names], float)
    fig = new_figure(WIDTH_IN, 0.35 * len(names) + 1.8)
    ax = fig.subplots()
    y = np.arange(len(names))
    ax.barh(y, p50, color="#4363d8")
    ax.errorbar(p50, y, xerr=[np.zeros_like(p50), np.maximum(p99 - p50, 0)], fmt="none", ecolor="k")
    ax.set_yticks(y, names)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlabel("ms per frame (bar: p50; whisker: p99)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


@styled
def class_bars(path: Path, counts: dict[str, int], title: str, top: int = 15) -> Path:
    """Horizontal bars: detections per class, most frequent first (the rest summed)."""
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    if len(items) > top:
        items = items[: top - 1] + [
            (f"{len(items) - top + 1} other classes", sum(v for _, v in items[top - 1 :]))
        ]
    fig = new_figure(WIDTH_IN, 0.35 * len(items) + 1.8)
    ax = fig.subplots()
    y = np.arange(len(items))
    ax.barh(y, [v for _, v in items], color="#3cb44b")
    ax.set_yticks(y, [textwrap.shorten(k, 40) for k, _ in items])
    ax.set_ylim(len(items) - 0.5, -0.5)
    ax.set_xlabel("detections")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


@styled
def frame_image(path: Path, frame_rgb: np.ndarray, title: str) -> Path:
    """One overlay frame of the run, at most the page's width."""
    h, w = frame_rgb.shape[:2]
    fig = new_figure(WIDTH_IN, WIDTH_IN * h / w + 0.5)
    ax = fig.subplots()
    ax.imshow(frame_rgb)
    ax.set_axis_off()
    ax.set_title(title)
    return _save(fig, path)
