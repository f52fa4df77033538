"""The `edgexai bench` job: measure every model on the same images and settings, then report.

Order of work: select models → load the test split once → per model, explanation quality on a
seeded draw (cached per model under the report folder, so an interrupted bench resumes and a
second run re-times without re-explaining) → open every (model, backend, precision) session,
measure its accuracy on a second seeded draw, and time all of them interleaved in one process →
aggregate over seeds, ratios to natural, the paper's findings → results.json / results.csv /
report.md / report.html / PNGs.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.bench import aggregate, paper
from edgexai.bench.latency import Case, case_row, time_interleaved
from edgexai.bench.results_contract import FORMAT as RESULTS_FORMAT
from edgexai.bench.select import (
    BenchModel,
    check_comparable,
    find_cells,
    load_model_dir,
    order_models,
)
from edgexai.errors import EdgexaiError
from edgexai.explain.run import json_safe

BACKENDS = ("ort", "torch", "trt")
PRECISIONS = ("fp32", "fp16", "int8")
EXPLAIN_CACHE_FORMAT = 1


@dataclass
class BenchOptions:
    models: list[str] = field(default_factory=list)   # build folders; or, if empty, cells:
    cells: tuple[str, ...] = ()
    root: str = "engines"
    seeds: tuple[int, ...] | None = None               # build seeds to include (None: all found)
    backends: tuple[str, ...] = ("ort",)
    precisions: tuple[str, ...] = ("fp32",)
    batches: tuple[int, ...] = (1, 8)
    report: str = "bench-report"
    data_root: str | None = None
    seed: int = 0                                      # image draw, imputation noise, SmoothGrad
    images: int = 200                                  # drawn for explanation metrics
    accuracy_images: int = 2000                        # drawn for per-backend/precision accuracy
    methods: tuple[str, ...] = ("vg", "ig", "sg", "gradcam")
    targets: str = "correct"                           # explain: correct-only (paper) or all
    road: bool = True
    ig_steps: int = 50
    sg_samples: int = 25
    rounds: int = 15
    per_round: int = 20
    warmup: int = 20
    threads: int = 1
    grid_images: int = 5
    fresh: bool = False
    pipeline_summaries: list[str] = field(default_factory=list)  # `edgexai run` summaries to show
    progress: bool = True
    command: str = ""


def validate(opts: BenchOptions) -> None:
    from edgexai.explain.explainers import list_methods

    if not opts.models and not opts.cells:
        raise EdgexaiError("say what to bench: --models DIR ... or --regimes all")
    for b in opts.backends:
        if b not in BACKENDS:
            raise EdgexaiError(f"unknown backend {b!r} in --backends; choose from "
                               + ", ".join(BACKENDS))
    for p in opts.precisions:
        if p not in PRECISIONS:
            raise EdgexaiError(f"unknown precision {p!r} in --precisions; choose from "
                               + ", ".join(PRECISIONS))
    if opts.targets not in ("correct", "all"):
        raise EdgexaiError(f"--targets must be 'correct' or 'all' (got {opts.targets!r})")
    if not opts.backends or not opts.precisions or not opts.batches:
        raise EdgexaiError("--backends, --precisions and --batch each need at least one value")
    if any(b < 1 for b in opts.batches):
        raise EdgexaiError("--batch sizes must be at least 1")
    for m in opts.methods:
        if m not in list_methods():
            raise EdgexaiError(f"unknown method {m!r} in --methods; choose from "
                               + ", ".join(list_methods()))
    for flag, v in (("--images", opts.images), ("--accuracy-images", opts.accuracy_images),
                    ("--rounds", opts.rounds), ("--per-round", opts.per_round),
                    ("--ig-steps", opts.ig_steps), ("--sg-samples", opts.sg_samples)):
        if v < 1:
            raise EdgexaiError(f"{flag} must be at least 1 (got {v})")
    if opts.threads < 0:
        raise EdgexaiError(f"--threads must be 0 (the backend's default) or more (got "
                           f"{opts.threads})")


def select_models(opts: BenchOptions) -> list[BenchModel]:
    if opts.models:
        models = order_models([load_model_dir(d) for d in opts.models])
        if opts.seeds is not None:
            models = [m for m in models if m.seed in opts.seeds]
            if not models:
                raise EdgexaiError("no model left after the --seeds filter")
        return models
    return find_cells(opts.root, opts.cells, opts.seeds)


# ---------------------------------------------------------------------------------------------
# explanation quality (cached per model)


def _explain_key(model: BenchModel, opts: BenchOptions, indices_sha: str, data_digest: str) -> str:
    model_sha = ((model.manifest.get("files") or {}).get("model") or {}).get("sha256", "")
    cfg = {"v": EXPLAIN_CACHE_FORMAT, "model": model_sha, "indices": indices_sha,
           "data": data_digest, "methods": list(opts.methods), "road": opts.road, "targets": opts.targets,
           "ig": opts.ig_steps, "sg": opts.sg_samples, "seed": opts.seed}
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]


def explain_one(model: BenchModel, images: np.ndarray, labels: np.ndarray, ids: np.ndarray,
                opts: BenchOptions, cache: Path, key: str) -> tuple[dict[str, Any],
                                                                     dict[str, np.ndarray],
                                                                     np.ndarray]:
    """(explain result, maps per method, explained ids) — from the cache when it matches."""
    stem = cache / f"{model.name}-{key}"
    if not opts.fresh and stem.with_suffix(".json").is_file() and stem.with_suffix(".npz").is_file():
        try:
            result = json.loads(stem.with_suffix(".json").read_text())
            with np.load(stem.with_suffix(".npz")) as z:
                maps = {m: z[f"map_{m}"] for m in opts.methods}
                return result, maps, z["ids"]
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is recomputed
    from edgexai.explain.run import ExplainOptions, explain_model, load_build

    item = load_build(model.dir)  # verifies model.pt's digest before loading it
    eo = ExplainOptions(models=[str(model.dir)], methods=opts.methods, limit=len(ids),
                        seed=opts.seed, road=opts.road, deletion_steps=0, targets=opts.targets,
                        ig_steps=opts.ig_steps, sg_samples=opts.sg_samples,
                        progress=opts.progress, update_manifest=False)
    explain_model(item, images, labels, ids, eo)
    assert item.ids is not None
    cache.mkdir(parents=True, exist_ok=True)
    tmp = stem.with_name(stem.name + ".tmp.npz")
    np.savez_compressed(tmp, ids=item.ids, **{f"map_{m}": v for m, v in item.maps.items()})
    os.replace(tmp, stem.with_suffix(".npz"))
    stem.with_suffix(".json").write_text(json.dumps(json_safe(item.result), indent=1))
    return item.result, item.maps, item.ids


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
    return curves


# ---------------------------------------------------------------------------------------------
# sessions: accuracy per backend/precision, then latency


def _trt_available() -> bool:
    return importlib.util.find_spec("tensorrt") is not None


def open_sessions(models: list[BenchModel], opts: BenchOptions, notes: list[str]):
    """{(model name, backend, precision): Session}; unavailable combinations become notes."""
    from edgexai.export.precision import ensure_variant
    from edgexai.runtime import open_session
    from edgexai.runtime.base import variant_for

    sessions = {}
    backends = list(opts.backends)
    if "trt" in backends and not _trt_available():
        notes.append("trt: skipped — TensorRT is not importable on this machine (no TensorRT "
                     "figure in this report)")
        backends.remove("trt")
    if opts.threads != 1 and "ort" in backends:
        notes.append("ort: intra-op spinning switched off — with more than one thread per "
                     "session, the idle sessions' spinning threads would take the cores of the "
                     "one being timed; a session alone in its process spins and runs faster at "
                     "small batches (tools/bench_export.py times that case)")
    if "torch" in backends and any(p != "fp32" for p in opts.precisions):
        notes.append("torch: fp32 only (the reference backend has no fp16/int8 path)")
    for model in models:
        for backend in backends:
            for precision in opts.precisions:
                if backend == "torch" and precision != "fp32":
                    continue
                if backend in ("ort", "trt"):
                    variant = variant_for("classifier", precision, True)
                    if variant != "fp32":
                        ensure_variant(model.dir, variant, opts.data_root)
                kwargs: dict[str, Any] = {}
                if backend == "ort" and opts.threads:
                    kwargs["threads"] = opts.threads
                if backend == "ort" and opts.threads != 1:
                    kwargs["spinning"] = False
                sessions[(model.name, backend, precision)] = open_session(
                    model.dir, backend, precision, cam=True, **kwargs)
    return sessions


def session_accuracy(session, x: np.ndarray, labels: np.ndarray, batch: int = 256) -> float:
    preds = [session.infer(x[s:s + batch])[0].argmax(1) for s in range(0, len(x), batch)]
    return float((np.concatenate(preds) == labels).mean())


# ---------------------------------------------------------------------------------------------


def environment(threads: int) -> dict[str, Any]:
    from edgexai.manifest import git_revision, tool_versions

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "host": platform.node(),
            "os": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
            "latency_threads": threads or "backend default",
            "load_average_start": [round(v, 2) for v in os.getloadavg()],
            "versions": tool_versions(), "git": git_revision()}


def run_bench(opts: BenchOptions) -> tuple[Path, dict[str, Any]]:
    """The whole job; returns (report folder, results)."""
    validate(opts)
    t_start = time.time()
    models = select_models(opts)
    notes = check_comparable(models)
    out = Path(opts.report).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgexaiError(f"--report {out}: cannot write there ({exc.strerror or exc})") from None
    env = environment(opts.threads)

    import torch

    from edgexai.data.gtsrb import load_split
    from edgexai.data.locate import locate_gtsrb
    from edgexai.explain.run import data_root_for, draw_indices
    from edgexai.preprocess import normalise

    first = models[0].manifest
    source = locate_gtsrb(data_root_for(opts.data_root, first))
    size = int(first["input_size"])
    test = load_split(source, "test", size, bool((first.get("data") or {}).get("roi_crop")),
                      opts.progress)
    ids = draw_indices(len(test), opts.images, opts.seed)
    acc_ids = np.sort(np.random.default_rng([opts.seed, 7]).choice(
        len(test), size=min(opts.accuracy_images, len(test)), replace=False))
    indices_sha = hashlib.sha256(ids.astype(np.int64).tobytes()).hexdigest()

    from tqdm import tqdm

    records: list[dict[str, Any]] = []
    maps_by_model: dict[str, dict[str, np.ndarray]] = {}
    ids_by_model: dict[str, np.ndarray] = {}
    torch.manual_seed(opts.seed)
    for model in tqdm(models, desc="explaining", disable=not opts.progress):
        key = _explain_key(model, opts, indices_sha, source.digest)
        result, maps, done_ids = explain_one(model, test.images[ids], test.labels[ids], ids, opts,
                                             out / "cache", key)
        maps_by_model[model.name], ids_by_model[model.name] = maps, done_ids
        m = model.manifest
        metrics = m.get("metrics") or {}
        files = m.get("files") or {}
        onnx_path = model.dir / files.get("onnx", {}).get("path", "model.onnx")
        records.append({
            "name": model.name, "cell": model.cell, "seed": model.seed, "dir": str(model.dir),
            "regime": m.get("regime"), "timing": m.get("timing"), "arch": m.get("arch"),
            "model_sha256": (files.get("model") or {}).get("sha256"),
            "figures": {
                "accuracy": {"clean_test": metrics.get("test_accuracy"),
                             "robust": metrics.get("robust_accuracy")},
                "size": {"params": m.get("params"), "macs": m.get("macs"),
                         "weight_zeros_pct": 100.0 * float(
                             (metrics.get("weight_sparsity") or {}).get("weights") or 0.0),
                         "onnx_mb": onnx_path.stat().st_size / 2**20 if onnx_path.is_file()
                         else None},
                "explain": explain_figures(result),
                "explain_n": {"drawn": result["n_drawn"], "explained": result["n_explained"]},
            },
            "road_curves": road_curves(result),
            "robust_settings": metrics.get("robust"),
            "explain_seconds": result.get("seconds"),
        })

    # sessions: accuracy, then latency, all models interleaved in this one process
    sessions = open_sessions(models, opts, notes)
    inputs: dict[tuple, np.ndarray] = {}  # normalised once per (mean, std), not per model
    x_acc: dict[str, np.ndarray] = {}
    for m in models:
        key = (tuple(m.manifest["mean"]), tuple(m.manifest["std"]))
        if key not in inputs:
            inputs[key] = normalise(test.images[acc_ids], *key)
        x_acc[m.name] = inputs[key]
    for (name, backend, precision), sess in tqdm(sessions.items(), desc="accuracy per session",
                                                 disable=not opts.progress, leave=False):
        acc = session_accuracy(sess, x_acc[name], test.labels[acc_ids])
        rec = next(r for r in records if r["name"] == name)
        rec["figures"]["accuracy"][f"{backend}_{precision}"] = acc
    threads_before = torch.get_num_threads()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    try:
        cases = {}
        for (name, backend, precision), sess in sessions.items():
            x = x_acc[name]
            for b in opts.batches:
                batch = np.ascontiguousarray(x[:b]) if b <= len(x) else np.resize(x, (b,) +
                                                                                  x.shape[1:])
                cases[Case(name, backend, precision, b)] = (lambda s=sess, xb=batch: s.infer(xb))
        timed = time_interleaved(cases, opts.rounds, opts.per_round, opts.warmup, opts.progress)
    finally:
        torch.set_num_threads(threads_before)
        for sess in sessions.values():
            sess.close()
    env["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    latency_rows = []
    for case, stats in timed.items():
        rec = next(r for r in records if r["name"] == case.model)
        rec["figures"].setdefault("latency", {})[
            f"{case.backend}_{case.precision}_b{case.batch}"] = stats
        latency_rows.append({**case_row(case, stats), "cell": rec["cell"], "seed": rec["seed"]})

    stats = aggregate.cell_stats(records)
    aggregate.add_ratios(stats)
    results: dict[str, Any] = {
        "format": RESULTS_FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": opts.command, "environment": env,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(opts).items()
                   if k not in ("progress", "command", "fresh", "pipeline_summaries")},
        "images": {"split": "official test", "data_digest": source.digest,
                   "explain_indices_sha256": indices_sha, "explain_drawn": int(len(ids)),
                   "accuracy_drawn": int(len(acc_ids))},
        "models": records, "cells": stats, "latency": latency_rows,
        "paper": {"source": paper.SOURCE, "reference_morf": paper.REFERENCE_MORF,
                  "findings": paper.findings(stats)},
        "notes": notes,
        "pipeline": [_read_summary(p) for p in opts.pipeline_summaries],
    }
    from edgexai.bench.report import write_report

    write_report(out, results, models, test, ids, maps_by_model, ids_by_model, opts)
    results["seconds_total"] = round(time.time() - t_start, 1)
    write_results(out, results)
    return out, results


def _read_summary(path: str) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise EdgexaiError(f"pipeline summary {path}: cannot read it ({exc})") from None


def write_results(out: Path, results: dict[str, Any]) -> None:
    """results.json (everything) and results.csv (one row per model × figure, long format, with
    the ratio to the natural model of the same seed where there is one)."""
    from edgexai.bench.results_contract import check_results

    results = json_safe(results)
    check_results(results)  # the contract readers rely on (docs/schemas/results.schema.json)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    natural = {r["seed"]: aggregate.flatten(r["figures"]) for r in results["models"]
               if r["cell"] == "natural"}
    with open(out / "results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model", "cell", "seed", "figure", "value", "ratio_to_natural"])
        for r in results["models"]:
            base = natural.get(r["seed"], {})
            for k, v in aggregate.flatten(r["figures"]).items():
                b = base.get(k)
                ratio = "" if b in (None, 0.0) else f"{v / b:.6g}"
                w.writerow([r["name"], r["cell"], r["seed"], k, f"{v:.6g}", ratio])
