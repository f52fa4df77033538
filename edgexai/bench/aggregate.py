"""Per-model numbers → per-cell mean ± std over seeds, and every figure as a ratio to natural."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from edgexai.bench.select import BASELINE


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Nested numbers → {'a.b.c': value}; non-numbers dropped (they are labels, not figures)."""
    out: dict[str, float] = {}
    for k, v in record.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, bool):
            continue
        elif isinstance(v, int | float) and v is not None and math.isfinite(float(v)):
            out[key] = float(v)
    return out


def by_cell(models: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    cells: dict[str, list[dict[str, Any]]] = {}
    for m in models:
        cells.setdefault(m["cell"], []).append(m)
    return cells


def cell_stats(models: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{cell: {'seeds': [...], 'n': k, 'mean': {metric: v}, 'std': {metric: v}}}; std is 0 for
    one seed and said so by n."""
    out: dict[str, dict[str, Any]] = {}
    for cell, members in by_cell(models).items():
        flats = [flatten(m["figures"]) for m in members]
        keys = sorted(set().union(*flats))
        mean, std = {}, {}
        for k in keys:
            vals = np.asarray([f[k] for f in flats if k in f])
            mean[k] = float(vals.mean())
            std[k] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
        out[cell] = {
            "seeds": [m["seed"] for m in members],
            "n": len(members),
            "models": [m["name"] for m in members],
            "mean": mean,
            "std": std,
        }
    return out


def add_ratios(stats: dict[str, dict[str, Any]]) -> None:
    """stats[cell]['ratio'][metric] = mean / natural's mean (absent when natural is not benched
    or its value is 0)."""
    base = stats.get(BASELINE)
    for s in stats.values():
        s["ratio"] = {}
        if base is None:
            continue
        for k, v in s["mean"].items():
            b = base["mean"].get(k)
            if b not in (None, 0.0):
                s["ratio"][k] = v / b
