"""The bench's explanation quality, per model, cached under the report folder: an interrupted
bench resumes, and a second run re-times without re-explaining. The cache key is everything the
numbers depend on (model digest, images, data, methods, settings, seed)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.strict_json import json_safe
from edgexai.study.bench.bench_draw import TestDraw
from edgexai.study.bench.bench_options import BenchOptions
from edgexai.study.bench.bench_results import model_record
from edgexai.study.bench.select import BenchModel
from edgexai.study.explain_options import ExplainOptions

EXPLAIN_CACHE_FORMAT = 1


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
    (bench_sessions.open_sessions notes why)."""
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
    from edgexai.study.explain_item import ExplainItem, explain_model

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
    # replaced, never written into: the entry may be a hard link to an earlier report's
    tmp = stem.with_name(stem.name + ".tmp.json")
    tmp.write_text(json.dumps(json_safe(item.result), indent=1))
    os.replace(tmp, stem.with_suffix(".json"))
    return item.result, item.maps, item.ids


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
