"""The report's figures (matplotlib, Agg; no display needed). Each function writes one PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def saliency_grid(
    path: Path,
    images: np.ndarray,
    captions: list[str],
    models: list[str],
    maps: dict[str, np.ndarray | None],
    method_name: str,
) -> Path:
    """Rows: the same test images; columns: input, then one overlay per model. A model that did not
    explain an image (it misclassified it) shows a grey cell marked so."""
    rows, cols = len(images), 1 + len(models)
    fig = _figure(1.25 * cols + 0.3, 1.3 * rows + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    for r in range(rows):
        axes[r, 0].imshow(images[r])
        axes[r, 0].set_ylabel(captions[r], fontsize=6)
        for c, name in enumerate(models, start=1):
            ax = axes[r, c]
            m = maps.get(name)
            if m is None or not np.isfinite(m[r]).all():
                ax.imshow(np.full(images[r].shape, 217, np.uint8))  # light grey
                ax.text(
                    0.5,
                    0.5,
                    "misclassified",
                    ha="center",
                    va="center",
                    fontsize=5,
                    transform=ax.transAxes,
                )
            else:
                sal = m[r] / (m[r].max() + 1e-12)
                ax.imshow(images[r])
                ax.imshow(sal, cmap="jet", alpha=0.5, vmin=0, vmax=1)
            if r == 0:
                ax.set_title(name, fontsize=6, rotation=30, ha="left", va="bottom")
    axes[0, 0].set_title("input", fontsize=6)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{method_name} on the same test images, every regime", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return path


def road_curves(
    path: Path,
    curves: dict[str, dict[str, dict[str, Any]]],
    methods: list[str],
    method_names: dict[str, str],
    orders: list[str],
) -> Path:
    """One panel per method × order; one line per cell. curves[cell][method] = {'percentages',
    'morf': [...], 'lerf': [...]} (means over seeds)."""
    fig = _figure(4.2 * len(orders), 3.0 * len(methods) + 0.4)
    axes = fig.subplots(len(methods), len(orders), squeeze=False)
    styles = ["-", "--", ":", "-."]
    for i, method in enumerate(methods):
        for j, order in enumerate(orders):
            ax = axes[i, j]
            for k, (cell, per_method) in enumerate(curves.items()):
                c = per_method.get(method)
                if not c or order not in c:
                    continue
                ax.plot(
                    c["percentages"],
                    c[order],
                    styles[(k // 10) % 4],
                    color=f"C{k % 10}",
                    marker="o",
                    markersize=2,
                    linewidth=1,
                    label=cell,
                )
            better = "lower" if order == "morf" else "higher"
            ax.set_title(
                f"{method_names.get(method, method)} — ROAD {order.upper()} ({better} = "
                "more faithful)",
                fontsize=8,
            )
            ax.set_xlabel("pixels removed (%)", fontsize=7)
            ax.set_ylabel("accuracy", fontsize=7)
            ax.set_ylim(0, 1.02)
            ax.tick_params(labelsize=6)
            ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=6)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path)
    return path


def latency_bars(path: Path, rows: list[dict[str, Any]], cells: list[str]) -> Path:
    """p50 bars (whisker to p90) per cell, one panel per backend/precision/batch."""
    groups = sorted({(r["backend"], r["precision"], r["batch"]) for r in rows})
    fig = _figure(max(5.0, 0.45 * len(cells) + 2), 2.4 * len(groups) + 0.4)
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    for ax, (backend, precision, batch) in zip(axes, groups, strict=True):
        sel = {
            r["cell"]: r
            for r in rows
            if (r["backend"], r["precision"], r["batch"]) == (backend, precision, batch)
        }
        names = [c for c in cells if c in sel]
        p50 = np.array([sel[c]["p50_ms"] for c in names])
        p90 = np.array([sel[c]["p90_ms"] for c in names])
        x = np.arange(len(names))
        ax.bar(x, p50, color=["C1" if c.startswith("layered") else "C0" for c in names])
        ax.errorbar(
            x,
            p50,
            yerr=[np.zeros_like(p50), p90 - p50],
            fmt="none",
            ecolor="k",
            capsize=2,
            linewidth=0.8,
        )
        ax.set_xticks(x, names, rotation=35, ha="right", fontsize=6)
        ax.set_ylabel("ms per call (p50, bar to p90)", fontsize=6)
        ax.set_title(f"{backend} {precision}, batch {batch}", fontsize=8)
        ax.tick_params(axis="y", labelsize=6)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    return path


def tradeoff_scatter(
    path: Path, points: list[dict[str, Any]], latency_label: str, faith_label: str
) -> Path:
    """x latency, y clean accuracy, colour ROAD MoRF (lower = more faithful); one point per cell."""
    fig = _figure(6.0, 4.2)
    ax = fig.subplots()
    xs = [p["latency"] for p in points]
    ys = [p["accuracy"] for p in points]
    cs = [p["morf"] for p in points]
    sc = ax.scatter(xs, ys, c=cs, cmap="viridis_r", s=40, edgecolors="k", linewidths=0.5)
    for p in points:
        ax.annotate(
            p["cell"],
            (p["latency"], p["accuracy"]),
            fontsize=6,
            xytext=(3, 3),
            textcoords="offset points",
        )
    cb = fig.colorbar(sc, ax=ax)
    cb.set_label(faith_label, fontsize=7)
    cb.ax.tick_params(labelsize=6)
    ax.set_xlabel(latency_label, fontsize=7)
    ax.set_ylabel("clean test accuracy", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.grid(alpha=0.3)
    ax.set_title("accuracy – latency – faithfulness", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return path
