"""What a bench writes: one record per model (its manifest's figures and its explanation ones),
results.json's content (per-cell stats, ratios to natural, the paper's verdicts), and
results.json / results.csv on disk, checked against the results contract first."""

from __future__ import annotations

import csv
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from edgexai.core.strict_json import json_safe
from edgexai.study.bench import aggregate, paper
from edgexai.study.bench.bench_draw import TestDraw
from edgexai.study.bench.bench_options import BenchOptions
from edgexai.study.bench.bench_validation import read_summary
from edgexai.study.bench.paper_builds import build_facts
from edgexai.study.bench.results_contract import FORMAT as RESULTS_FORMAT
from edgexai.study.bench.select import BenchModel


def explain_figures(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method, r in result["methods"].items():
        f: dict[str, Any] = {"gini": r["gini"]["mean"]}
        for order, s in ((r.get("road") or {}).get("summary") or {}).items():
            f[f"road_{order}_mean"] = s.get("mean")
            f[f"road_{order}_area"] = s.get("area")
        out[method] = f
    return out


def road_curves(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    curves: dict[str, dict[str, Any]] = {}
    for method, r in result["methods"].items():
        road = r.get("road")
        if road:
            curves[method] = {"percentages": road["percentages"], **road["accuracy"]}
            # each image's 0/1 outcome per percentage: the report's bootstrap bands
            per_image = (r.get("per_image") or {}).get("road") or {}
            if per_image:
                curves[method]["per_image_correct"] = {
                    order: v["correct"] for order, v in per_image.items() if "correct" in v
                }
    return curves


def model_record(model: BenchModel, result: dict[str, Any]) -> dict[str, Any]:
    """One model's entry of results.json: the manifest's figures and the explanation ones."""
    m = model.manifest
    metrics = m.get("metrics") or {}
    files = m.get("files") or {}
    onnx_path = model.dir / files.get("onnx", {}).get("path", "model.onnx")
    return {
        "name": model.name,
        "cell": model.cell,
        "seed": model.seed,
        "dir": str(model.dir),
        "regime": m.get("regime"),
        "timing": m.get("timing"),
        "arch": m.get("arch"),
        **build_facts(m),  # preset, gtsrb, limits: what the paper section reads
        "model_sha256": (files.get("model") or {}).get("sha256"),
        "figures": {
            "accuracy": {
                "clean_test": metrics.get("test_accuracy"),
                "robust": metrics.get("robust_accuracy"),
            },
            "size": {
                "params": m.get("params"),
                "macs": m.get("macs"),
                "weight_zeros_pct": 100.0
                * float((metrics.get("weight_sparsity") or {}).get("weights") or 0.0),
                "onnx_mb": onnx_path.stat().st_size / 2**20 if onnx_path.is_file() else None,
            },
            "explain": explain_figures(result),
            "explain_n": {"drawn": result["n_drawn"], "explained": result["n_explained"]},
        },
        "road_curves": road_curves(result),
        "robust_settings": metrics.get("robust"),  # None: the build measured no robustness
        "explain_seconds": result.get("seconds"),
        # per-image outcomes for the intervals; assemble() takes them out of the record
        "per_image": aggregate.image_outcomes(result),
    }


def assemble(
    opts: BenchOptions,
    env: dict[str, Any],
    draw: TestDraw,
    records: list[dict[str, Any]],
    latency_rows: list[dict[str, Any]],
    notes: list[str],
) -> dict[str, Any]:
    """results.json's content (less seconds_total): per-cell stats, ratios, the paper's verdicts."""
    outcomes = {r["name"]: r.pop("per_image", {}) for r in records}  # arrays: not in the file
    stats = aggregate.cell_stats(records)
    aggregate.add_ratios(stats)
    aggregate.add_intervals(stats, records, outcomes)
    return {
        "format": RESULTS_FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": opts.command,
        "environment": env,
        "config": {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(opts).items()
            if k not in ("progress", "command", "fresh", "overwrite", "pipeline_summaries")
        },
        "images": {
            "split": "official test",
            "data_digest": draw.source.digest,
            "explain_indices_sha256": draw.indices_sha,
            "explain_drawn": int(len(draw.ids)),
            "accuracy_drawn": int(len(draw.acc_ids)),
        },
        "models": records,
        "cells": stats,
        "latency": latency_rows,
        "paper": paper.paper_block(stats, records, outcomes),
        "notes": notes,
        "pipeline": [read_summary(p) for p in opts.pipeline_summaries],
    }


def write_results(out: Path, results: dict[str, Any]) -> None:
    """results.json (everything) and results.csv (one row per model × figure, long format, with
    the ratio to the natural model of the same seed where there is one)."""
    from edgexai.study.bench.results_contract import check_results

    results = json_safe(results)
    check_results(results)  # the contract readers rely on (docs/schemas/results.schema.json)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    natural = {
        r["seed"]: aggregate.flatten(r["figures"])
        for r in results["models"]
        if r["cell"] == "natural"
    }
    with open(out / "results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "cell", "seed", "figure", "value", "ratio_to_natural"])
        for r in results["models"]:
            base = natural.get(r["seed"], {})
            for k, v in aggregate.flatten(r["figures"]).items():
                b = base.get(k)
                ratio = "" if b in (None, 0.0) else f"{v / b:.6g}"
                w.writerow([r["name"], r["cell"], r["seed"], k, f"{v:.6g}", ratio])
