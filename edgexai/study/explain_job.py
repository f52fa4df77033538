"""`edgexai explain`: saliency maps and their quality metrics for build folders on the test split.

One model or several (same images, same seeds, same imputation noise, so regimes compare): load
each build folder (digest-checked), classify a seeded draw of the official test split, explain
the correctly classified images (by default; the paper's protocol) for their true label, score
the maps (Gini, ROAD MoRF/LeRF, deletion/insertion), and write metrics.json, metrics.csv,
road_curves.csv, grid.png and road.png; the summary is merged into each model's manifest.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.core.strict_json import json_safe
from edgexai.study.explain_options import ExplainOptions
from edgexai.train.build_folder import (
    LoadedBuild,
    draw_indices,
    indices_digest,
    load_build,
)

FORMAT = "edgexai-explain/1"


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


def validate(opts: ExplainOptions) -> None:
    """The checks argparse cannot make (or an API caller skipped), one line each."""
    if not opts.models:
        raise EdgexaiError("name at least one build folder with --model")
    _check_methods(opts.methods)
    if opts.limit is not None and opts.limit < 1:
        raise EdgexaiError(f"--limit must be at least 1 or 'all' (got {opts.limit})")
    if opts.targets not in ("correct", "all"):
        raise EdgexaiError(f"--targets must be 'correct' or 'all' (got {opts.targets!r})")
    _check_road(opts)
    _check_counts(opts)


def _check_methods(methods: tuple[str, ...]) -> None:
    from edgexai.train.saliency.explainers import list_methods

    if not methods:
        raise EdgexaiError("--methods is empty; choose from: " + ", ".join(list_methods()))
    for m in methods:
        if m not in list_methods():
            raise EdgexaiError(
                f"unknown method {m!r} in --methods; choose from: {', '.join(list_methods())}"
            )
    if len(set(methods)) != len(methods):
        raise EdgexaiError("--methods names a method twice")


def _check_road(opts: ExplainOptions) -> None:
    from edgexai.core.metrics.perturbation import ORDERS

    if not opts.percentages or any(not 0 < p < 100 for p in opts.percentages):
        raise EdgexaiError("--percentages must be numbers strictly between 0 and 100")
    if list(opts.percentages) != sorted(set(opts.percentages)):
        raise EdgexaiError("--percentages must be increasing and distinct")
    for o in opts.orders:
        if o not in ORDERS:
            raise EdgexaiError(f"unknown ROAD order {o!r}; choose from {', '.join(ORDERS)}")


def _check_counts(opts: ExplainOptions) -> None:
    from edgexai.core.metrics.deletion import FILLS

    if opts.deletion_steps < 0:
        raise EdgexaiError(f"--deletion-steps must be 0 (off) or more (got {opts.deletion_steps})")
    if opts.deletion_fill not in FILLS:
        raise EdgexaiError(f"--deletion-fill must be one of {', '.join(FILLS)}")
    for flag, v in (
        ("--ig-steps", opts.ig_steps),
        ("--sg-samples", opts.sg_samples),
        ("--batch-size", opts.batch_size),
    ):
        if v < 1:
            raise EdgexaiError(f"{flag} must be at least 1 (got {v})")
    if opts.noise_std < 0 or opts.sg_noise < 0:
        raise EdgexaiError("noise levels must not be negative")
    if opts.workers is not None and opts.workers < 0:
        raise EdgexaiError(f"--workers must be 0 or more (got {opts.workers})")


def _summary(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {"mean": float("nan"), "std": float("nan"), "median": float("nan")}
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "median": float(np.median(values)),
    }


def _r(x: float, nd: int = 6) -> float:
    return float(round(x, nd)) if np.isfinite(x) else float("nan")


def explain_model(
    item: ExplainItem, images: np.ndarray, labels: np.ndarray, ids: np.ndarray, opts: ExplainOptions
) -> None:
    """Maps and metrics for one model on the drawn images; fills item.result and item.maps."""
    import torch

    from edgexai.core.metrics.deletion import deletion_insertion
    from edgexai.core.metrics.imputation import noise_for
    from edgexai.core.metrics.perturbation import tiebreak_keys
    from edgexai.core.metrics.road import ROAD
    from edgexai.core.metrics.sparsity import gini
    from edgexai.train.distributed import dist_env, resolve_device
    from edgexai.train.evaluate import predict_logits, to_input
    from edgexai.train.saliency.explainers import PIXEL_METHODS, ExplainConfig, explain, fused_copy

    m = item.manifest
    mean, std = tuple(m["mean"]), tuple(m["std"])
    device = resolve_device(opts.device, dist_env())
    model = item.model.to(device).eval()
    t0 = time.time()
    logits = predict_logits(model, images, mean, std, device=device)
    preds = logits.argmax(1)
    item.predicted = preds
    correct = preds == labels
    sel = np.flatnonzero(correct) if opts.targets == "correct" else np.arange(len(labels))
    item.ids, item.index = ids[sel], sel
    targets = labels[sel]
    x = to_input(images[sel], mean, std, device)
    n, _, h, w = x.shape
    timing: dict[str, float] = {"classify": time.time() - t0}
    cfg = ExplainConfig(
        ig_steps=opts.ig_steps,
        sg_samples=opts.sg_samples,
        sg_noise=opts.sg_noise,
        cam_layer=m.get("cam_layer"),
        std=std,
    )

    fast = fused_copy(model)
    from edgexai.train.models.memory_format import channels_last_for

    memory_format = (
        torch.channels_last if channels_last_for(fast, device) else torch.contiguous_format
    )

    @torch.inference_mode()
    def predict(batch: np.ndarray) -> np.ndarray:
        out = []
        for s in range(0, len(batch), 512):
            xb = torch.from_numpy(np.ascontiguousarray(batch[s : s + 512])).to(device)
            out.append(fast(xb.contiguous(memory_format=memory_format)).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(m["classes"])), np.float32)

    from tqdm import tqdm

    methods: dict[str, dict[str, Any]] = {}
    for method in tqdm(
        opts.methods, desc=f"{item.name}: explaining", disable=not opts.progress, leave=False
    ):
        t = time.time()
        torch.manual_seed(opts.seed)  # SmoothGrad's noise: the same whichever methods ran before
        # pixel-gradient methods run on the BN-folded channels-last copy (same gradients, ~2×
        # faster on CPU); Grad-CAM needs the original's layer hooks
        net, xin = (
            (fast, x.contiguous(memory_format=memory_format))
            if method in PIXEL_METHODS
            else (model, x)
        )
        maps = (
            explain(
                net, xin, torch.as_tensor(targets), method, cfg, batch_size=opts.batch_size
            ).numpy()
            if n
            else np.zeros((0, h, w), np.float32)
        )
        timing[f"explain_{method}"] = time.time() - t
        item.maps[method] = maps
        item.gini[method] = np.atleast_1d(gini(maps)) if n else np.zeros(0)
        methods[method] = {"gini": {k: _r(v) for k, v in _summary(item.gini[method]).items()}}
    x_np = x.cpu().numpy()
    tiebreak = tiebreak_keys(opts.seed, item.ids, h * w)
    if opts.road and n:
        t = time.time()
        cores = os.cpu_count() or 1
        workers = max(1, cores - 1) if opts.workers is None else opts.workers
        road = ROAD(
            opts.percentages, opts.orders, opts.noise_std, workers=workers, progress=opts.progress
        )
        noise = noise_for(opts.seed, item.ids, (x.shape[1], h, w)) if opts.noise_std > 0 else None
        threads = torch.get_num_threads()
        if device.type == "cpu" and workers > 0:  # imputation workers and the classifier share
            torch.set_num_threads(max(1, min(threads, cores - workers)))
        try:
            for method, res in road.run(predict, x_np, item.maps, targets, noise, tiebreak).items():
                methods[method]["road"] = res.as_dict()
                item.road[method] = res
        finally:
            torch.set_num_threads(threads)
        timing["road"] = time.time() - t
    if opts.deletion_steps and n:
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
                targets,
                opts.deletion_steps,
                opts.deletion_fill,
                tiebreak=tiebreak,
            )
            methods[method]["deletion_auc"] = {k: _r(v) for k, v in _summary(d["deletion"]).items()}
            methods[method]["insertion_auc"] = {
                k: _r(v) for k, v in _summary(d["insertion"]).items()
            }
        timing["deletion_insertion"] = time.time() - t
    timing["total"] = time.time() - t0
    for method, entry in methods.items():
        entry["per_image"] = _per_image(item, method, targets)
    item.result = {
        "name": item.name,
        "dir": str(item.dir),
        "regime": m.get("regime"),
        "timing": m.get("timing"),
        "arch": m.get("arch"),
        "seed": m.get("seed"),
        "accuracy_on_drawn": _r(float(correct.mean())) if len(correct) else float("nan"),
        "n_drawn": int(len(labels)),
        "n_explained": int(n),
        "methods": methods,
        "seconds": {k: round(v, 2) for k, v in timing.items()},
    }


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


def _flat_row(model: dict[str, Any], method: str, res: dict[str, Any]) -> dict[str, Any]:
    road = (res.get("road") or {}).get("summary", {})
    row: dict[str, Any] = {
        "model": model["name"],
        "regime": model["regime"],
        "method": method,
        "n_images": model["n_explained"],
        "gini_mean": res["gini"]["mean"],
        "gini_std": res["gini"]["std"],
    }
    for order in ("morf", "lerf", "gap"):
        for k in ("mean", "area"):
            v = road.get(order, {}).get(k)
            row[f"road_{order}_{k}"] = "" if v is None else _r(v)
    row["deletion_auc"] = res.get("deletion_auc", {}).get("mean", "")
    row["insertion_auc"] = res.get("insertion_auc", {}).get("mean", "")
    row["explain_s"] = model["seconds"].get(f"explain_{method}", "")
    return row


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(json_safe(obj), indent=2) + "\n")


def write_tables(out: Path, report: dict[str, Any]) -> None:
    """metrics.json (everything), metrics.csv (one row per model × method), road_curves.csv."""
    write_json(out / "metrics.json", report)
    rows = [_flat_row(mo, me, res) for mo in report["models"] for me, res in mo["methods"].items()]
    if rows:
        with open(out / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    with open(out / "road_curves.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "method", "order", "percentage", "accuracy", "probability"])
        for mo in report["models"]:
            for me, res in mo["methods"].items():
                road = res.get("road")
                if not road:
                    continue
                for order, accs in road["accuracy"].items():
                    for p, a, pr in zip(
                        road["percentages"], accs, road["probability"][order], strict=True
                    ):
                        writer.writerow([mo["name"], me, order, p, _r(a), _r(pr)])


def _denormalise(x: np.ndarray, mean, std) -> np.ndarray:
    img = x.transpose(1, 2, 0) * np.asarray(std) + np.asarray(mean)
    return np.clip(img, 0, 1)


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


def merge_into_manifest(item: ExplainItem, report: dict[str, Any]) -> None:
    """Add metrics.explanations (summary numbers + the settings that make them comparable)."""
    from edgexai.core.manifest import update_manifest

    res = item.result
    summary: dict[str, Any] = {}
    for method, r in res["methods"].items():
        s: dict[str, Any] = {"gini": r["gini"]["mean"]}
        for order, v in (r.get("road") or {}).get("summary", {}).items():
            s[f"road_{order}_mean"] = _r(v["mean"])
            s[f"road_{order}_area"] = _r(v["area"])
        if "deletion_auc" in r:
            s["deletion_auc"] = r["deletion_auc"]["mean"]
            s["insertion_auc"] = r["insertion_auc"]["mean"]
        summary[method] = s
    cfg = report["config"]
    # No report path: an absolute path of this machine means nothing where the folder is copied.
    explanations = json_safe(
        {
            "methods": summary,
            "split": "test",
            "n_drawn": res["n_drawn"],
            "n_explained": res["n_explained"],
            "targets": cfg["targets"],
            "seed": cfg["seed"],
            "indices_sha256": report["images"]["indices_sha256"],
            "percentages": cfg["percentages"],
            "noise_std": cfg["noise_std"],
            "created": report["created"],
        }
    )
    update_manifest(item.dir, lambda m: m["metrics"].__setitem__("explanations", explanations))


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


def run_explain(opts: ExplainOptions) -> tuple[Path, dict[str, Any]]:
    """The whole job; returns (output folder, report)."""
    validate(opts)
    t_start = time.time()
    items = [ExplainItem.load(d) for d in opts.models]
    opts = _cam_methods_checked(opts, items)
    out = (
        Path(opts.out).expanduser()
        if opts.out
        else (items[0].dir / "explain" if len(items) == 1 else Path("explain-report"))
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EdgexaiError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None

    import torch

    from edgexai.core.manifest import git_revision, tool_versions
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
        digest = (m.get("data") or {}).get("digest")
        if digest and digest != source.digest:
            print(
                f"edgexai: note: {it.name} was trained on data {digest[:20]}…, explained on "
                f"{source.digest[:20]}…",
                file=sys.stderr,
            )
        images, labels = test.images[indices], test.labels[indices]
        explain_model(it, images, labels, indices, opts)
        shown = shown or (images, labels)
        it.model = it.model.cpu()
    assert indices is not None
    report: dict[str, Any] = {
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
    write_tables(out, report)
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
    report["seconds_total"] = round(time.time() - t_start, 1)
    write_json(out / "metrics.json", report)
    if opts.update_manifest:
        for it in items:
            merge_into_manifest(it, report)
    return out, report
