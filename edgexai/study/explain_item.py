"""One build explained: `explain_model` classifies the drawn images, makes a saliency map per
method for the ones it explains (by default the correctly classified ones, for their true label),
and scores the maps (Gini, ROAD MoRF/LeRF, deletion/insertion). `edgexai explain`, the bench and
the `edgexai.explain` API call it alike; its steps are the functions below it, in order."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.study.explain_options import ExplainOptions
from edgexai.train.build_folder import LoadedBuild, load_build


@dataclass
class ExplainItem(LoadedBuild):
    """A loaded build and what explaining it gave (filled in by `explain_model`)."""

    result: dict[str, Any] = field(default_factory=dict)
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    ids: np.ndarray | None = None
    index: np.ndarray | None = None  # positions of the explained images among those given
    predicted: np.ndarray | None = None  # the model's class for every image given
    gini: dict[str, np.ndarray] = field(default_factory=dict)  # method → Gini per image
    road: dict[str, Any] = field(default_factory=dict)  # method → metrics.road.ROADResult

    @classmethod
    def load(cls, build_dir: str | Path) -> ExplainItem:
        """`build_folder.load_build` (digest-checked), ready to be explained."""
        b = load_build(build_dir)
        return cls(b.dir, b.manifest, b.model, b.name)


@dataclass
class _Explained:
    """The images `explain_model` explains, as the model's input, and what it needs beside them."""

    x: Any  # torch.Tensor N×C×H×W on the device
    targets: np.ndarray  # the class each map explains (the true label)
    correct: np.ndarray  # for every image given: classified right
    device: Any  # torch.device
    timing: dict[str, float]  # seconds per step, filled in as the steps run


def _summary(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {"mean": float("nan"), "std": float("nan"), "median": float("nan")}
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "median": float(np.median(values)),
    }


def rounded(x: float, nd: int = 6) -> float:
    """`x` to `nd` decimals as the explain files write it; NaN stays NaN (JSON null)."""
    return float(round(x, nd)) if np.isfinite(x) else float("nan")


def explain_model(
    item: ExplainItem, images: np.ndarray, labels: np.ndarray, ids: np.ndarray, opts: ExplainOptions
) -> None:
    """Maps and metrics for one model on the drawn images; fills item.result and item.maps."""
    from edgexai.core.metrics.perturbation import tiebreak_keys
    from edgexai.train.distributed import dist_env, resolve_device
    from edgexai.train.saliency.explainers import fused_copy

    device = resolve_device(opts.device, dist_env())
    model = item.model.to(device).eval()
    t0 = time.time()
    run = _classify(item, model, images, labels, ids, opts, device)
    run.timing["classify"] = time.time() - t0
    fast = fused_copy(model)
    memory_format = _memory_format(fast, device)
    methods = _saliency_maps(item, model, fast, memory_format, run, opts)
    n, _, h, w = run.x.shape
    predict = _batched_predictor(fast, device, memory_format, len(item.manifest["classes"]))
    x_np = run.x.cpu().numpy()
    tiebreak = tiebreak_keys(opts.seed, item.ids, h * w)
    if opts.road and n:
        _road(item, predict, x_np, run, tiebreak, opts, methods)
    if opts.deletion_steps and n:
        _deletion_insertion(item, predict, x_np, run, tiebreak, opts, methods)
    run.timing["total"] = time.time() - t0
    for method, entry in methods.items():
        entry["per_image"] = _per_image(item, method, run.targets)
    item.result = _result(item, labels, run, methods)


def _classify(
    item: ExplainItem,
    model,
    images: np.ndarray,
    labels: np.ndarray,
    ids: np.ndarray,
    opts: ExplainOptions,
    device,
) -> _Explained:
    """Classify every image given; pick the ones to explain (all, or the correct ones)."""
    from edgexai.train.evaluate import predict_logits, to_input

    mean, std = tuple(item.manifest["mean"]), tuple(item.manifest["std"])
    logits = predict_logits(model, images, mean, std, device=device)
    preds = logits.argmax(1)
    item.predicted = preds
    correct = preds == labels
    sel = np.flatnonzero(correct) if opts.targets == "correct" else np.arange(len(labels))
    item.ids, item.index = ids[sel], sel
    x = to_input(images[sel], mean, std, device)
    return _Explained(x, labels[sel], correct, device, {})


def _memory_format(fast, device):
    """Channels-last where models.memory_format says it is faster for this model and device."""
    import torch

    from edgexai.train.models.memory_format import channels_last_for

    return torch.channels_last if channels_last_for(fast, device) else torch.contiguous_format


def _batched_predictor(
    fast, device, memory_format, n_classes: int
) -> Callable[[np.ndarray], np.ndarray]:
    """Logits of normalised N×C×H×W images in batches of 512: what ROAD and deletion call."""
    import torch

    @torch.inference_mode()
    def predict(batch: np.ndarray) -> np.ndarray:
        out = []
        for s in range(0, len(batch), 512):
            xb = torch.from_numpy(np.ascontiguousarray(batch[s : s + 512])).to(device)
            out.append(fast(xb.contiguous(memory_format=memory_format)).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, n_classes), np.float32)

    return predict


def _saliency_maps(
    item: ExplainItem, model, fast, memory_format, run: _Explained, opts: ExplainOptions
) -> dict[str, dict[str, Any]]:
    """One map per method and image, and its Gini; {method: its metrics block so far}."""
    import torch
    from tqdm import tqdm

    from edgexai.core.metrics.sparsity import gini
    from edgexai.train.saliency.explainers import PIXEL_METHODS, ExplainConfig, explain

    m = item.manifest
    n, _, h, w = run.x.shape
    cfg = ExplainConfig(
        ig_steps=opts.ig_steps,
        sg_samples=opts.sg_samples,
        sg_noise=opts.sg_noise,
        cam_layer=m.get("cam_layer"),
        std=tuple(m["std"]),
    )
    methods: dict[str, dict[str, Any]] = {}
    for method in tqdm(
        opts.methods, desc=f"{item.name}: explaining", disable=not opts.progress, leave=False
    ):
        t = time.time()
        torch.manual_seed(opts.seed)  # SmoothGrad's noise: the same whichever methods ran before
        # pixel-gradient methods run on the BN-folded channels-last copy (same gradients, ~2×
        # faster on CPU); Grad-CAM needs the original's layer hooks
        net, xin = (
            (fast, run.x.contiguous(memory_format=memory_format))
            if method in PIXEL_METHODS
            else (model, run.x)
        )
        maps = (
            explain(
                net, xin, torch.as_tensor(run.targets), method, cfg, batch_size=opts.batch_size
            ).numpy()
            if n
            else np.zeros((0, h, w), np.float32)
        )
        run.timing[f"explain_{method}"] = time.time() - t
        item.maps[method] = maps
        item.gini[method] = np.atleast_1d(gini(maps)) if n else np.zeros(0)
        methods[method] = {"gini": {k: rounded(v) for k, v in _summary(item.gini[method]).items()}}
    return methods


def _road(
    item: ExplainItem,
    predict: Callable[[np.ndarray], np.ndarray],
    x_np: np.ndarray,
    run: _Explained,
    tiebreak: np.ndarray,
    opts: ExplainOptions,
    methods: dict[str, dict[str, Any]],
) -> None:
    """ROAD MoRF/LeRF of every method's maps (imputation in worker processes), into `methods`."""
    import torch

    from edgexai.core.metrics.imputation import noise_for
    from edgexai.core.metrics.road import ROAD

    t = time.time()
    _, c, h, w = run.x.shape
    cores = os.cpu_count() or 1
    workers = max(1, cores - 1) if opts.workers is None else opts.workers
    road = ROAD(
        opts.percentages, opts.orders, opts.noise_std, workers=workers, progress=opts.progress
    )
    noise = noise_for(opts.seed, item.ids, (c, h, w)) if opts.noise_std > 0 else None
    threads = torch.get_num_threads()
    if run.device.type == "cpu" and workers > 0:  # imputation workers and the classifier share
        torch.set_num_threads(max(1, min(threads, cores - workers)))
    try:
        for method, res in road.run(predict, x_np, item.maps, run.targets, noise, tiebreak).items():
            methods[method]["road"] = res.as_dict()
            item.road[method] = res
    finally:
        torch.set_num_threads(threads)
    run.timing["road"] = time.time() - t


def _deletion_insertion(
    item: ExplainItem,
    predict: Callable[[np.ndarray], np.ndarray],
    x_np: np.ndarray,
    run: _Explained,
    tiebreak: np.ndarray,
    opts: ExplainOptions,
    methods: dict[str, dict[str, Any]],
) -> None:
    """Deletion and insertion AUC of every method's maps, into `methods`."""
    from tqdm import tqdm

    from edgexai.core.metrics.deletion import deletion_insertion

    t = time.time()
    for method in tqdm(
        opts.methods,
        desc=f"{item.name}: deletion/insertion",
        disable=not opts.progress,
        leave=False,
    ):
        d = deletion_insertion(
            predict,
            x_np,
            item.maps[method],
            run.targets,
            opts.deletion_steps,
            opts.deletion_fill,
            tiebreak=tiebreak,
        )
        methods[method]["deletion_auc"] = {
            k: rounded(v) for k, v in _summary(d["deletion"]).items()
        }
        methods[method]["insertion_auc"] = {
            k: rounded(v) for k, v in _summary(d["insertion"]).items()
        }
    run.timing["deletion_insertion"] = time.time() - t


def _per_image(item: ExplainItem, method: str, targets: np.ndarray) -> dict[str, Any]:
    """Contract 4's per-image block of one method: which images, their Gini and ROAD outcomes."""
    assert item.index is not None
    block: dict[str, Any] = {
        "index": item.index.astype(int).tolist(),
        "label": np.asarray(targets).astype(int).tolist(),
        "gini": np.round(item.gini[method].astype(np.float64), 6).tolist(),
    }
    if method in item.road:
        block["road"] = item.road[method].per_image_dict(6)
    return block


def _result(
    item: ExplainItem, labels: np.ndarray, run: _Explained, methods: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """item.result: the model, how many images were drawn and explained, the metrics, the time."""
    m = item.manifest
    correct = run.correct
    return {
        "name": item.name,
        "dir": str(item.dir),
        "regime": m.get("regime"),
        "timing": m.get("timing"),
        "arch": m.get("arch"),
        "seed": m.get("seed"),
        "accuracy_on_drawn": rounded(float(correct.mean())) if len(correct) else float("nan"),
        "n_drawn": int(len(labels)),
        "n_explained": int(len(run.targets)),
        "methods": methods,
        "seconds": {k: round(v, 2) for k, v in run.timing.items()},
    }
