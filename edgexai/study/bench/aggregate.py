"""Per-model numbers → per-cell mean ± std over seeds, every figure as a ratio to natural, and the
explanation figures' 95 % intervals from the per-image outcomes (how: the comment above
image_outcomes)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from edgexai.study.bench import intervals
from edgexai.study.bench.select import BASELINE


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


# ---------------------------------------------------------------------------------------------
# per-image outcomes → intervals (edgexai.study.bench.intervals)
#
# What is resampled: images. Each explained image gives one value per figure: its Gini; its ROAD
# MoRF (LeRF) outcome, the mean over the percentages of its 0/1 "still classified correctly" —
# the mean over images of these is exactly the cell's MoRF (LeRF) figure, the mean over
# percentages of the accuracy; its gap, LeRF − MoRF.
#
# Several seeds in a cell: their images are pooled (each (seed, image) outcome one unit), so the
# interval is that of the pooled mean — with equal image counts per seed the mean of the seeds'
# means shown in the tables. It covers the image draw, not training randomness: that spread is
# the ± std over seeds shown beside it. Differences and ratios to natural pair each image of a
# model of seed s with the same image of natural of seed s (natural's lowest seed where it has no
# seed s), on the images both explained; pairs are pooled over seeds the same way.

OUTCOME_OF = {
    "gini": "gini",
    "road_morf_mean": "morf",
    "road_lerf_mean": "lerf",
    "road_gap_mean": "gap",
}
Outcomes = dict[str, dict[str, dict[str, np.ndarray]]]  # model → method → outcome → per image


def image_outcomes(result: dict[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    """{method: {'index', 'gini', 'morf', 'lerf', 'gap': one value per image}} from an explain
    result's `per_image` entries; a method without them (an old cache) is left out."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for method, r in (result.get("methods") or {}).items():
        pi = r.get("per_image")
        if not pi or "index" not in pi:
            continue
        index = np.asarray(pi["index"], np.int64).ravel()
        if not len(index):
            continue
        got = {"index": index}
        if pi.get("gini") is not None:
            got["gini"] = np.asarray(pi["gini"], np.float64).ravel()
        for order, per in (pi.get("road") or {}).items():
            correct = np.asarray(per["correct"], np.float64).reshape(len(index), -1)
            if correct.shape[1]:
                got[order] = correct.mean(axis=1)
        if "morf" in got and "lerf" in got:
            got["gap"] = got["lerf"] - got["morf"]
        out[method] = got
    return out


def _values(outcomes: Outcomes, model: str, method: str, what: str):
    got = outcomes.get(model, {}).get(method, {})
    return (got["index"], got[what]) if what in got else None


def pooled(members: list[dict[str, Any]], outcomes: Outcomes, method: str, what: str):
    """One cell's per-image values of `what`, pooled over its seeds (None: none has them)."""
    parts = [_values(outcomes, m["name"], method, what) for m in members]
    parts = [p[1] for p in parts if p is not None]
    return np.concatenate(parts) if parts else None


def partner_of(member: dict[str, Any], base: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The baseline model a model is paired with: same seed, else the baseline's lowest seed."""
    same = [b for b in base if b["seed"] == member["seed"]]
    return (same or sorted(base, key=lambda b: b["seed"]) or [None])[0]


def paired(
    members: list[dict[str, Any]],
    base: list[dict[str, Any]],
    outcomes: Outcomes,
    sides: tuple[tuple[str, str], tuple[str, str]],
):
    """(a, b): per-image values of (method, outcome) sides[0] on the members and sides[1] on their
    partners in `base` (the members themselves to compare two methods), on the images both have,
    pooled over seeds; None where no pair has values."""
    a_parts, b_parts = [], []
    for m in members:
        partner = m if base is members else partner_of(m, base)
        if partner is None:
            continue
        va = _values(outcomes, m["name"], *sides[0])
        vb = _values(outcomes, partner["name"], *sides[1])
        if va is None or vb is None:
            continue
        a, b = intervals.align(va[0], va[1], vb[0], vb[1])
        a_parts.append(a)
        b_parts.append(b)
    if not a_parts:
        return None
    return np.concatenate(a_parts), np.concatenate(b_parts)


def metric_interval(
    members: list[dict[str, Any]],
    base: list[dict[str, Any]] | None,
    outcomes: Outcomes,
    method: str,
    what: str,
) -> dict[str, Any] | None:
    """One figure's entry: its per-image mean and interval, and (base given, and not the cell
    itself) the paired difference and ratio to the baseline with theirs; None without values."""
    values = pooled(members, outcomes, method, what)
    if values is None:
        return None
    mean = intervals.mean_interval(values)
    entry: dict[str, Any] = {
        "mean": mean.value,
        "ci95": mean.as_dict()["ci95"],
        "n": mean.n,
        "method": mean.method,
        "note": mean.note,
        "diff": None,
        "diff_ci95": None,
        "diff_note": None,
        "ratio": None,
        "ratio_ci95": None,
        "ratio_note": None,
        "n_paired": None,
    }
    pairs = None if base is None else paired(members, base, outcomes, ((method, what),) * 2)
    if pairs is not None:
        diff, ratio = intervals.paired_difference(*pairs), intervals.paired_ratio(*pairs)
        entry.update(
            diff=diff.value,
            diff_ci95=diff.as_dict()["ci95"],
            diff_note=diff.note,
            ratio=ratio.value,
            ratio_ci95=ratio.as_dict()["ci95"],
            ratio_note=ratio.note,
            n_paired=diff.n,
        )
    return entry


def add_intervals(
    stats: dict[str, dict[str, Any]], models: list[dict[str, Any]], outcomes: Outcomes
) -> None:
    """stats[cell]['intervals']['explain.<method>.<figure>'] for every explanation figure with
    per-image outcomes (see metric_interval); {} for a cell without any (an old cache)."""
    cells = by_cell(models)
    base = cells.get(BASELINE)
    for cell, s in stats.items():
        members = cells.get(cell, [])
        entries: dict[str, Any] = {}
        methods = sorted({meth for m in members for meth in outcomes.get(m["name"], {})})
        for method in methods:
            for figure, what in OUTCOME_OF.items():
                entry = metric_interval(
                    members, None if cell == BASELINE else base, outcomes, method, what
                )
                if entry is not None:
                    entries[f"explain.{method}.{figure}"] = entry
        s["intervals"] = entries
