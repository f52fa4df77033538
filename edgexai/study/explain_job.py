"""`edgexai explain`: saliency maps and their quality metrics for build folders on the test split.

One model or several (same images, same seeds, same imputation noise, so regimes compare): load
each build folder (digest-checked), classify a seeded draw of the official test split, explain
the correctly classified images (by default; the paper's protocol) for their true label, score
the maps (Gini, ROAD MoRF/LeRF, deletion/insertion), and write metrics.json, metrics.csv,
road_curves.csv, grid.png and road.png; the summary is merged into each model's manifest.

The steps live beside this module: explain_validation (the checks), explain_item (one model
explained), explain_outputs (the files and the manifest merge), explain_plots (the figures).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.study.explain_item import ExplainItem, explain_model
from edgexai.study.explain_options import ExplainOptions
from edgexai.study.explain_outputs import merge_into_manifest, write_json, write_tables
from edgexai.study.explain_plots import plot_grid, plot_road
from edgexai.study.explain_validation import validate
from edgexai.train.build_folder import draw_indices, indices_digest

FORMAT = "edgexai-explain/1"


def run_explain(opts: ExplainOptions) -> tuple[Path, dict[str, Any]]:
    """The whole job; returns (output folder, report)."""
    validate(opts)
    t_start = time.time()
    items = [ExplainItem.load(d) for d in opts.models]
    opts = _cam_methods_checked(opts, items)
    out = _output_folder(opts, items)
    source, indices, shown = _explain_items(items, opts)
    report = _report(opts, items, source, indices)
    write_tables(out, report)
    _figures(out, items, indices, shown, report, opts)
    report["seconds_total"] = round(time.time() - t_start, 1)
    write_json(out / "metrics.json", report)
    if opts.update_manifest:
        for it in items:
            merge_into_manifest(it, report)
    return out, report


def _cam_methods_checked(opts: ExplainOptions, items: list[ExplainItem]) -> ExplainOptions:
    """Grad-CAM methods on a CAM-less build: dropped from the default list with a note,
    refused when asked for (edgexai.train.saliency.explainers.usable_methods)."""
    from dataclasses import replace

    from edgexai.study.explain_options import DEFAULT_METHODS
    from edgexai.train.saliency.explainers import usable_methods

    methods, notes = usable_methods(
        opts.methods, [it.manifest for it in items], tuple(opts.methods) != DEFAULT_METHODS
    )
    for note in notes:
        print(f"edgexai: note: {note}", file=sys.stderr)
    return replace(opts, methods=methods) if methods != opts.methods else opts


def _output_folder(opts: ExplainOptions, items: list[ExplainItem]) -> Path:
    """--out, else the build's explain/ folder (one model) or ./explain-report (several)."""
    out = (
        Path(opts.out).expanduser()
        if opts.out
        else (items[0].dir / "explain" if len(items) == 1 else Path("explain-report"))
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgexaiError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    return out


def _explain_items(
    items: list[ExplainItem], opts: ExplainOptions
) -> tuple[Any, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """Explain every model on the same seeded draw of the test split (loaded once per input size
    and crop); (the data source, the drawn indices, the grid's images and labels)."""
    import torch

    from edgexai.train.data.datasets import build_source, load_test_split

    torch.manual_seed(opts.seed)
    source = build_source(items[0].manifest, opts.data_root)  # GTSRB, or the build's own folder
    splits: dict[tuple[int, bool], Any] = {}
    indices: np.ndarray | None = None
    shown: tuple[np.ndarray, np.ndarray] | None = None  # the grid's images and labels
    for it in items:
        m = it.manifest
        key = (int(m["input_size"]), bool((m.get("data") or {}).get("roi_crop", False)))
        if key not in splits:
            splits[key] = load_test_split(m, opts.data_root, key[0], opts.progress, source)
        test = splits[key]
        if indices is None:
            indices = draw_indices(len(test), opts.limit, opts.seed)
        _note_other_data(it, source)
        images, labels = test.images[indices], test.labels[indices]
        explain_model(it, images, labels, indices, opts)
        shown = shown or (images, labels)
        it.model = it.model.cpu()
    assert indices is not None
    return source, indices, shown


def _note_other_data(item: ExplainItem, source) -> None:
    """A note when the build was trained on other data than it is explained on."""
    digest = (item.manifest.get("data") or {}).get("digest")
    if digest and digest != source.digest:
        print(
            f"edgexai: note: {item.name} was trained on data {digest[:20]}…, explained on "
            f"{source.digest[:20]}…",
            file=sys.stderr,
        )


def _report(
    opts: ExplainOptions, items: list[ExplainItem], source, indices: np.ndarray
) -> dict[str, Any]:
    """metrics.json's content (less seconds_total): settings, images, per-model results, host."""
    import torch

    from edgexai.core.manifest import git_revision, tool_versions

    return {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(opts).items()
            if k not in ("progress", "out", "update_manifest")
        },
        "images": {
            "split": "test",
            "data": source.digest,
            "origin": source.origin,
            "n_drawn": int(len(indices)),
            "indices_sha256": indices_digest(indices),
        },
        "models": [it.result for it in items],
        "host": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()},
        "versions": tool_versions(),
        "git": git_revision(),
    }


def _figures(
    out: Path,
    items: list[ExplainItem],
    indices: np.ndarray,
    shown: tuple[np.ndarray, np.ndarray] | None,
    report: dict[str, Any],
    opts: ExplainOptions,
) -> None:
    """grid.png (unless --grid-images 0) and road.png (unless --no-road)."""
    names = list(items[0].manifest["classes"])  # the build's own class names
    if shown is not None and opts.grid_images > 0:
        plot_grid(
            out / "grid.png",
            items,
            indices,
            shown[0],
            shown[1],
            opts.methods,
            opts.grid_images,
            names,
        )
    if opts.road:
        plot_road(out / "road.png", report)
