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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.core.strict_json import json_safe
from edgexai.study.bench import aggregate, paper
from edgexai.study.bench.bench_options import BACKENDS, PRECISIONS, TARGETS, BenchOptions
from edgexai.study.bench.fidelity import measure_fidelity
from edgexai.study.bench.latency import Case, case_row, time_interleaved
from edgexai.study.bench.report import write_report
from edgexai.study.bench.results_contract import FORMAT as RESULTS_FORMAT
from edgexai.study.bench.select import (
    BenchModel,
    check_comparable,
    find_cells,
    load_model_dir,
    order_models,
)
from edgexai.study.explain_options import ExplainOptions
from edgexai.train.build_folder import ACCURACY_STREAM, draw_indices, indices_digest

# BenchOptions lives in bench/options.py (light); it is named here too for callers of the job.
__all__ = ["BACKENDS", "PRECISIONS", "BenchOptions", "run_bench", "validate", "write_results"]

EXPLAIN_CACHE_FORMAT = 1


def validate(opts: BenchOptions) -> None:
    """The checks argparse cannot make (or an API caller skipped), one line each."""
    from edgexai.train.saliency.explainers import list_methods

    if not opts.models and not opts.cells:
        raise EdgexaiError("say what to bench: --models DIR ... or --regimes all")
    _one_of("backend", "--backends", opts.backends, BACKENDS)
    _one_of("precision", "--precisions", opts.precisions, PRECISIONS)
    if opts.targets not in TARGETS:
        raise EdgexaiError(f"--targets must be 'correct' or 'all' (got {opts.targets!r})")
    if not opts.backends or not opts.precisions or not opts.batches:
        raise EdgexaiError("--backends, --precisions and --batch each need at least one value")
    if any(b < 1 for b in opts.batches):
        raise EdgexaiError("--batch sizes must be at least 1")
    _one_of("method", "--methods", opts.methods, tuple(list_methods()))
    _check_counts(opts)
    for path in opts.pipeline_summaries:  # before any model is loaded, not after measuring
        _read_summary(path)


def _one_of(kind: str, flag: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    for v in values:
        if v not in allowed:
            raise EdgexaiError(f"unknown {kind} {v!r} in {flag}; choose from " + ", ".join(allowed))


def _check_counts(opts: BenchOptions) -> None:
    for flag, v in (
        ("--images", opts.images),
        ("--accuracy-images", opts.accuracy_images),
        ("--rounds", opts.rounds),
        ("--per-round", opts.per_round),
        ("--ig-steps", opts.ig_steps),
        ("--sg-samples", opts.sg_samples),
    ):
        if v < 1:
            raise EdgexaiError(f"{flag} must be at least 1 (got {v})")
    if opts.threads < 0:
        raise EdgexaiError(
            f"--threads must be 0 (the backend's default) or more (got {opts.threads})"
        )
    for flag, v in (
        ("--warmup", opts.warmup),
        ("--grid-images", opts.grid_images),
        ("--fidelity-images", opts.fidelity_images),
    ):
        if v < 0:
            raise EdgexaiError(f"{flag} must not be negative (got {v})")


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
    cfg = {
        "v": EXPLAIN_CACHE_FORMAT,
        "model": model_sha,
        "indices": indices_sha,
        "data": data_digest,
        "methods": list(opts.methods),
        "road": opts.road,
        "targets": opts.targets,
        "ig": opts.ig_steps,
        "sg": opts.sg_samples,
        "seed": opts.seed,
    }
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]


def without_cam_methods(opts: BenchOptions, models: list[BenchModel]) -> BenchOptions:
    """A bench of CAM-less builds only has no Grad-CAM rows, grids or curves at all; with
    CAM models among them, only the CAM-less ones lack them (explain_one)."""
    from dataclasses import replace

    from edgexai.core.manifest import has_cam
    from edgexai.train.saliency.explainers import CAM_METHODS

    if any(has_cam(m.manifest) for m in models):
        return opts
    methods = tuple(m for m in opts.methods if m not in CAM_METHODS)
    return replace(opts, methods=methods) if methods else opts


def explain_one(
    model: BenchModel,
    images: np.ndarray,
    labels: np.ndarray,
    ids: np.ndarray,
    opts: BenchOptions,
    cache: Path,
    key: str,
) -> tuple[dict[str, Any], dict[str, np.ndarray], np.ndarray]:
    """(explain result, maps per method, explained ids) — from the cache when it matches. A
    CAM-less build (edgexai.core.manifest.has_cam) is explained without the Grad-CAM methods
    (open_sessions notes why)."""
    from edgexai.train.saliency.explainers import usable_methods

    methods, _ = usable_methods(opts.methods, [model.manifest], explicit=False)
    stem = cache / f"{model.name}-{key}"
    if (
        not opts.fresh
        and stem.with_suffix(".json").is_file()
        and stem.with_suffix(".npz").is_file()
    ):
        try:
            result = json.loads(stem.with_suffix(".json").read_text())
            with np.load(stem.with_suffix(".npz")) as z:
                maps = {m: z[f"map_{m}"] for m in methods}
                return result, maps, z["ids"]
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache entry is recomputed
    # from the module, not bound at import: tests replace explain_model to prove a cache hit
    from edgexai.study.explain_job import ExplainItem, explain_model

    item = ExplainItem.load(model.dir)  # verifies model.pt's digest before loading it
    eo = ExplainOptions(
        models=[str(model.dir)],
        methods=methods,
        limit=len(ids),
        seed=opts.seed,
        road=opts.road,
        deletion_steps=0,
        targets=opts.targets,
        ig_steps=opts.ig_steps,
        sg_samples=opts.sg_samples,
        progress=opts.progress,
        update_manifest=False,
    )
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
            # each image's 0/1 outcome per percentage: the report's bootstrap bands
            per_image = (r.get("per_image") or {}).get("road") or {}
            if per_image:
                curves[method]["per_image_correct"] = {
                    order: v["correct"] for order, v in per_image.items() if "correct" in v
                }
    return curves


# ---------------------------------------------------------------------------------------------
# sessions: accuracy per backend/precision, then latency


def _trt_available() -> bool:
    return importlib.util.find_spec("tensorrt") is not None


def open_sessions(models: list[BenchModel], opts: BenchOptions, notes: list[str]):
    """{(model name, backend, precision): Session}; unavailable combinations become notes."""
    from edgexai.core.manifest import has_cam, no_cam_reason
    from edgexai.deploy.runtime import open_session
    from edgexai.deploy.runtime.session import variant_for
    from edgexai.train.export.precision import ensure_variant

    sessions = {}
    backends = usable_backends(opts, notes)
    for model in models:
        cam = has_cam(model.manifest)  # a CAM-less build: logits-only sessions
        if not cam:
            notes.append(
                f"{model.name}: {no_cam_reason(model.manifest)}; its latency is of the logits "
                "alone and it has no Grad-CAM rows"
            )
        for backend in backends:
            for precision in opts.precisions:
                if backend == "torch" and precision != "fp32":
                    continue
                if backend in ("ort", "trt"):
                    variant = variant_for("classifier", precision, cam, cam)
                    if variant != "fp32":
                        ensure_variant(model.dir, variant, opts.data_root)
                sessions[(model.name, backend, precision)] = open_session(
                    model.dir,
                    backend,
                    precision,
                    cam=cam,
                    **_session_kwargs(backend, opts.threads),
                )
    return sessions


def usable_backends(opts: BenchOptions, notes: list[str]) -> list[str]:
    """The asked-for backends this machine can time; what is skipped or changed becomes a note."""
    backends = list(opts.backends)
    if "trt" in backends and not _trt_available():
        notes.append(
            "trt: skipped — TensorRT is not importable on this machine (no TensorRT "
            "figure in this report)"
        )
        backends.remove("trt")
    if opts.threads != 1 and "ort" in backends:
        notes.append(
            "ort: intra-op spinning switched off — with more than one thread per "
            "session, the idle sessions' spinning threads would take the cores of the "
            "one being timed; a session alone in its process spins and runs faster at "
            "small batches (tools/bench_export.py times that case)"
        )
    if "torch" in backends and any(p != "fp32" for p in opts.precisions):
        notes.append("torch: fp32 only (the reference backend has no fp16/int8 path)")
    return backends


def _session_kwargs(backend: str, threads: int) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if backend == "ort" and threads:
        kwargs["threads"] = threads
    if backend == "ort" and threads != 1:
        kwargs["spinning"] = False
    return kwargs


def session_accuracy(session, x: np.ndarray, labels: np.ndarray, batch: int = 256) -> float:
    preds = [session.infer(x[s : s + batch])[0].argmax(1) for s in range(0, len(x), batch)]
    return float((np.concatenate(preds) == labels).mean())


# ---------------------------------------------------------------------------------------------


def environment(threads: int) -> dict[str, Any]:
    from edgexai.core.host import cpu_description
    from edgexai.core.manifest import git_revision, tool_versions

    cpu, flags = cpu_description()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": platform.node(),
        "os": platform.platform(),
        "cpu": cpu,
        "cpu_flags": flags,
        "cpu_count": os.cpu_count(),
        "latency_threads": threads or "backend default",
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "versions": tool_versions(),
        "git": git_revision(),
    }


@dataclass
class TestDraw:
    """The test split and the two seeded draws every model of one bench is measured on."""

    source: Any  # edgexai.train.data.locate's located archive (digest, origin)
    test: Any  # edgexai.train.data.gtsrb.ArraySplit of the official test split
    ids: np.ndarray  # images for the explanation metrics
    acc_ids: np.ndarray  # other images for each session's accuracy

    @property
    def indices_sha(self) -> str:
        return indices_digest(self.ids)


def run_bench(opts: BenchOptions) -> tuple[Path, dict[str, Any]]:
    """The whole job; returns (report folder, results)."""
    validate(opts)
    t_start = time.time()
    models = select_models(opts)
    opts = without_cam_methods(opts, models)
    notes = check_comparable(models)
    out = _report_folder(opts)
    env = environment(opts.threads)
    draw = draw_test(models, opts)
    records, maps_by_model, ids_by_model = explain_all(models, draw, opts, out / "cache")
    # sessions: accuracy, then latency, all models interleaved in this one process
    latency_rows = measure_sessions(models, draw, records, opts, notes)
    env["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    results = assemble(opts, env, draw, records, latency_rows, notes)
    # the deployed sessions' in-graph CAM against the fp32 PyTorch Grad-CAM (bench/fidelity.py)
    results["cam_fidelity"] = measure_fidelity(models, draw, ids_by_model, opts, open_sessions)
    write_report(out, results, models, draw.test, draw.ids, maps_by_model, ids_by_model, opts)
    results["seconds_total"] = round(time.time() - t_start, 1)
    write_results(out, results)
    return out, results


def _report_folder(opts: BenchOptions) -> Path:
    out = Path(opts.report).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgexaiError(f"--report {out}: cannot write there ({exc.strerror or exc})") from None
    return out


def draw_test(models: list[BenchModel], opts: BenchOptions) -> TestDraw:
    """Load the test split once (as the first model reads it: GTSRB's official test set, or a
    folder build's own test split) and draw both image sets."""
    from edgexai.train.data.datasets import build_source, load_test_split

    first = models[0].manifest
    source = build_source(first, opts.data_root)
    test = load_test_split(first, opts.data_root, int(first["input_size"]), opts.progress, source)
    ids = draw_indices(len(test), opts.images, opts.seed)
    acc_ids = draw_indices(len(test), opts.accuracy_images, opts.seed, stream=ACCURACY_STREAM)
    return TestDraw(source, test, ids, acc_ids)


def explain_all(
    models: list[BenchModel], draw: TestDraw, opts: BenchOptions, cache: Path
) -> tuple[list[dict[str, Any]], dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """(one record per model, maps per model and method, explained ids per model)."""
    import torch
    from tqdm import tqdm

    records: list[dict[str, Any]] = []
    maps_by_model: dict[str, dict[str, np.ndarray]] = {}
    ids_by_model: dict[str, np.ndarray] = {}
    ids, test = draw.ids, draw.test
    torch.manual_seed(opts.seed)
    for model in tqdm(models, desc="explaining", disable=not opts.progress):
        key = _explain_key(model, opts, draw.indices_sha, draw.source.digest)
        result, maps, done_ids = explain_one(
            model, test.images[ids], test.labels[ids], ids, opts, cache, key
        )
        maps_by_model[model.name], ids_by_model[model.name] = maps, done_ids
        records.append(model_record(model, result))
    return records, maps_by_model, ids_by_model


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
        **paper.build_facts(m),  # preset, gtsrb, limits: what the paper section reads
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


def accuracy_inputs(models: list[BenchModel], draw: TestDraw) -> dict[str, np.ndarray]:
    """Each model's normalised accuracy images (normalised once per (mean, std), not per model)."""
    from edgexai.core.preprocess import normalise

    inputs: dict[tuple, np.ndarray] = {}
    x_acc: dict[str, np.ndarray] = {}
    for m in models:
        key = (tuple(m.manifest["mean"]), tuple(m.manifest["std"]))
        if key not in inputs:
            inputs[key] = normalise(draw.test.images[draw.acc_ids], *key)
        x_acc[m.name] = inputs[key]
    return x_acc


def measure_sessions(
    models: list[BenchModel],
    draw: TestDraw,
    records: list[dict[str, Any]],
    opts: BenchOptions,
    notes: list[str],
) -> list[dict[str, Any]]:
    """Accuracy of every session, then every (session, batch) timed interleaved; adds both to
    the records and returns the latency rows."""
    import torch
    from tqdm import tqdm

    sessions = open_sessions(models, opts, notes)
    x_acc = accuracy_inputs(models, draw)
    by_name = {r["name"]: r for r in records}
    for (name, backend, precision), sess in tqdm(
        sessions.items(), desc="accuracy per session", disable=not opts.progress, leave=False
    ):
        acc = session_accuracy(sess, x_acc[name], draw.test.labels[draw.acc_ids])
        by_name[name]["figures"]["accuracy"][f"{backend}_{precision}"] = acc
    threads_before = torch.get_num_threads()
    if opts.threads:
        torch.set_num_threads(opts.threads)
    try:
        cases = timed_cases(sessions, x_acc, opts.batches)
        timed = time_interleaved(cases, opts.rounds, opts.per_round, opts.warmup, opts.progress)
    finally:
        torch.set_num_threads(threads_before)
        for sess in sessions.values():
            sess.close()
    latency_rows = []
    for case, stats in timed.items():
        rec = by_name[case.model]
        rec["figures"].setdefault("latency", {})[
            f"{case.backend}_{case.precision}_b{case.batch}"
        ] = stats
        latency_rows.append({**case_row(case, stats), "cell": rec["cell"], "seed": rec["seed"]})
    return latency_rows


def timed_cases(sessions: dict, x_acc: dict[str, np.ndarray], batches: tuple[int, ...]) -> dict:
    """{Case: a call of one session on one batch}: the first images, repeated if too few."""
    cases = {}
    for (name, backend, precision), sess in sessions.items():
        x = x_acc[name]
        for b in batches:
            batch = np.ascontiguousarray(x[:b]) if b <= len(x) else np.resize(x, (b,) + x.shape[1:])
            cases[Case(name, backend, precision, b)] = lambda s=sess, xb=batch: s.infer(xb)
    return cases


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
            if k not in ("progress", "command", "fresh", "pipeline_summaries")
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
        "pipeline": [_read_summary(p) for p in opts.pipeline_summaries],
    }


def _read_summary(path: str) -> dict[str, Any]:
    try:
        summary = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise EdgexaiError(f"--pipeline-summary {path}: cannot read it ({exc})") from None
    if not isinstance(summary, dict):
        raise EdgexaiError(
            f"--pipeline-summary {path}: not an `edgexai run` summary (a JSON object)"
        )
    return summary


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
