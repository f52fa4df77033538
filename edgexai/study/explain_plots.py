"""`edgexai explain`'s two figures: grid.png (the same images' maps, every method and model) and
road.png (ROAD accuracy against pixels removed). Their style is explain's own (matplotlib's
defaults at 110 dpi), not the bench report's (bench/plot_style.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from edgexai.study.explain_item import ExplainItem


def plot_grid(
    path: Path,
    items: list[ExplainItem],
    indices: np.ndarray,
    images: np.ndarray,
    labels: np.ndarray,
    methods: tuple[str, ...],
    n_examples: int,
    class_names: list[str],
) -> None:
    """Rows: example image × model; columns: input | one map per method (overlaid)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from edgexai.train.saliency.explainers import METHOD_NAMES

    common = None
    for it in items:
        s = set(int(i) for i in (it.ids if it.ids is not None else []))
        common = s if common is None else common & s
    chosen = sorted(common or [])[:n_examples]
    if not chosen:
        return
    rows = [(i, it) for i in chosen for it in items]
    cols = 1 + len(methods)
    fig = Figure(figsize=(1.6 * cols + 0.4, 1.6 * len(rows) + 0.4), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), cols, squeeze=False)
    for r, (image_id, it) in enumerate(rows):
        pos = int(np.flatnonzero(it.ids == image_id)[0])
        k = int(np.searchsorted(indices, image_id))
        img = images[k]
        axes[r, 0].imshow(img)
        label = f"{it.name}\n" if len(items) > 1 else ""
        axes[r, 0].set_ylabel(f"{label}#{image_id}: {class_names[int(labels[k])][:18]}", fontsize=6)
        for c, method in enumerate(methods, start=1):
            sal = it.maps[method][pos]
            sal = sal / (sal.max() + 1e-12)
            axes[r, c].imshow(img)
            axes[r, c].imshow(sal, cmap="jet", alpha=0.5, vmin=0, vmax=1)
            if r == 0:
                axes[r, c].set_title(METHOD_NAMES.get(method, method), fontsize=7)
        if r == 0:
            axes[r, 0].set_title("input", fontsize=7)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path)


def plot_road(path: Path, report: dict[str, Any]) -> None:
    """Accuracy vs % removed, one panel per order; colour = method, line style = model."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from edgexai.train.saliency.explainers import METHOD_NAMES

    orders = report["config"]["orders"]
    fig = Figure(figsize=(5 * len(orders), 4), dpi=110)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(orders), squeeze=False)[0]
    styles = ["-", "--", ":", "-."]
    colours = {m: f"C{i}" for i, m in enumerate(report["config"]["methods"])}
    for ax, order in zip(axes, orders, strict=True):
        for k, mo in enumerate(report["models"]):
            for me, res in mo["methods"].items():
                road = res.get("road")
                if not road:
                    continue
                label = METHOD_NAMES.get(me, me) + (
                    f" · {mo['name']}" if len(report["models"]) > 1 else ""
                )
                ax.plot(
                    road["percentages"],
                    road["accuracy"][order],
                    styles[k % len(styles)],
                    color=colours[me],
                    marker="o",
                    markersize=3,
                    label=label,
                )
        ax.set_title(
            f"ROAD {order.upper()} ({'lower' if order == 'morf' else 'higher'} = more faithful)",
            fontsize=9,
        )
        ax.set_xlabel("pixels removed (%)")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path)
