"""What each report figure plots, read from results.json's shape: the points of the Pareto plot
(and what it leaves out, and why), the latency dots, the ROAD curves with their bootstrap bands.
Pure functions of the results, so the figures and the report's captions say the same."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from edgexai.study.bench import intervals

ACCURACY_FLOOR = 0.5  # × the best cell's accuracy: a model far below it would squash the y-axis
_LAT = re.compile(
    r"^latency\.(?P<backend>[a-z0-9]+)_(?P<precision>[a-z0-9]+)_b(?P<batch>\d+)\.p50_ms$"
)


def latency_cases(mean: dict[str, Any]) -> dict[tuple[str, str, int], float]:
    """{(backend, precision, batch): p50 ms} of one cell's means."""
    out = {}
    for k, v in mean.items():
        m = _LAT.match(k)
        if m and v is not None:
            out[(m["backend"], m["precision"], int(m["batch"]))] = float(v)
    return out


def tradeoff_points(
    results: dict[str, Any], cells: list[str]
) -> tuple[list[dict[str, Any]], str, list[str]]:
    """(points, x-axis label, notes): per cell the smallest batch's p50 of its fastest measured
    (backend, precision), against clean test accuracy; every cell left out is named with why."""
    lat = {c: latency_cases(results["cells"][c]["mean"]) for c in cells}
    batches = sorted({b for cases in lat.values() for (_, _, b) in cases})
    if not batches:
        return [], "", []
    batch = batches[0]
    points, left = [], []
    for c in cells:
        acc = results["cells"][c]["mean"].get("accuracy.clean_test")
        cases = {(b, p): v for (b, p, n), v in lat[c].items() if n == batch}
        if not cases:
            left.append(f"{c} (no batch-{batch} latency measured)")
        elif acc is None:
            left.append(f"{c} (no clean test accuracy)")
        else:
            (backend, precision), ms = min(cases.items(), key=lambda kv: kv[1])
            points.append(
                {"cell": c, "latency": ms, "accuracy": float(acc), "case": f"{backend} {precision}"}
            )
    if points:
        floor = ACCURACY_FLOOR * max(p["accuracy"] for p in points)
        left += [
            f"{p['cell']} (accuracy {p['accuracy']:.3f})" for p in points if p["accuracy"] < floor
        ]
        points = [p for p in points if p["accuracy"] >= floor]
    label, notes = _tradeoff_label(points, batch)
    if left:
        notes.append("left out: " + "; ".join(left) + ".")
    return points, label, notes


def _tradeoff_label(points: list[dict[str, Any]], batch: int) -> tuple[str, list[str]]:
    """One case for every point: it goes on the axis; several: on each label."""
    cases = {p["case"] for p in points}
    if len(cases) == 1:
        case = cases.pop()
        for p in points:
            p["case"] = ""
        return (
            f"batch-{batch} p50 latency, ms ({case}: the fastest measured case of every regime)",
            [],
        )
    return (
        f"batch-{batch} p50 latency of each regime's fastest measured case, ms",
        ["the case in brackets is each regime's fastest (backend precision)."],
    )


def latency_rows(results: dict[str, Any], cells: list[str]) -> list[dict[str, Any]]:
    """One row per cell × (backend, precision, batch): the cell's mean p50 and p90."""
    rows = []
    for c in cells:
        mean = results["cells"][c]["mean"]
        for (backend, precision, batch), p50 in latency_cases(mean).items():
            p90 = mean.get(f"latency.{backend}_{precision}_b{batch}.p90_ms", p50)
            rows.append(
                {
                    "cell": c,
                    "backend": backend,
                    "precision": precision,
                    "batch": batch,
                    "p50_ms": p50,
                    "p90_ms": float(p90 if p90 is not None else p50),
                }
            )
    return rows


def road_curves(
    results: dict[str, Any], cells: list[str], methods: tuple[str, ...]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """({cell: {method: curve}}, notes). A curve is the mean over the cell's seeds with a 95 %
    bootstrap band over the pooled images where the results keep each image's outcome."""
    curves: dict[str, dict[str, Any]] = {}
    bandless: list[str] = []
    for cell in cells:
        members = [r for r in results["models"] if r["cell"] == cell]
        curves[cell] = cell_curves(members, methods)
        if any("band" not in c for c in curves[cell].values()):
            bandless.append(cell)
    how = intervals.settings()
    notes = [
        f"bands: 95 % bootstrap interval of each percentage's accuracy over the images "
        f"({how['method']}, {how['n_resamples']} resamples, seed {how['seed']})."
    ]
    if bandless:
        notes.append(
            "no band for " + ", ".join(bandless) + ": their results keep no per-image outcome "
            "(an older cache; --fresh recomputes)."
        )
    empty = [c for c in cells if not curves[c]]
    if empty:
        notes.append("no curve for " + ", ".join(empty) + ": the model explained no image.")
    return {c: v for c, v in curves.items() if v}, notes


def cell_curves(members: list[dict[str, Any]], methods: tuple[str, ...]) -> dict[str, Any]:
    """{method: {'percentages', 'morf', 'lerf', 'band'?}} of one cell's models."""
    per_method: dict[str, Any] = {}
    for method in methods:
        got = [r["road_curves"][method] for r in members if method in r["road_curves"]]
        if not got:
            continue
        c: dict[str, Any] = {"percentages": list(got[0]["percentages"])}
        bands = {}
        for order in ("morf", "lerf"):
            if order not in got[0]:
                continue
            c[order] = list(np.mean([g[order] for g in got], 0))
            outcomes = [(g.get("per_image_correct") or {}).get(order) for g in got]
            if all(o is not None and len(o) for o in outcomes):
                bands[order] = bootstrap_band(
                    np.concatenate([np.asarray(o, float) for o in outcomes])
                )
        if bands:
            c["band"] = bands
        per_method[method] = c
    return per_method


def bootstrap_band(outcomes: np.ndarray) -> tuple[list[float], list[float]]:
    """95 % interval of each column mean of an (images × percentages) 0/1 array (the bench's
    interval settings); a column without an interval (constant, n < 2) is its mean."""
    x = np.asarray(outcomes, float).reshape(len(outcomes), -1)
    lo, hi = [], []
    for column in x.T:
        iv = intervals.mean_interval(column)
        mean = float(column.mean()) if len(column) else float("nan")
        lo.append(iv.ci95[0] if iv.ci95 else mean)
        hi.append(iv.ci95[1] if iv.ci95 else mean)
    return lo, hi
