"""report.md + report.html (+ the PNGs) from a bench's results: tables, figures, the paper section.

It takes what the job measured (results, the models, the maps) and never imports the job
(bench/run.py), so the two depend one way: run → report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgexai.core.strict_json import json_safe
from edgexai.study.bench import figure_data, paper
from edgexai.study.bench.document import Section, to_html, to_markdown
from edgexai.study.bench.pipeline_figures import no_overlay, pipeline_figures
from edgexai.study.bench.plots import latency_dots, road_bands, saliency_grid, tradeoff_pareto
from edgexai.study.bench.select import BASELINE, CELLS

if TYPE_CHECKING:
    from edgexai.study.bench.bench_options import BenchOptions
    from edgexai.study.bench.select import BenchModel

TITLE = "edgexai bench — the regime matrix side by side"
EVERY_CASE = "Latency, every case"


def fmt(
    stats: dict[str, Any], key: str, digits: int = 3, scale: float = 1.0, ratio: bool = False
) -> str:
    """'mean' or 'mean ± std' (several seeds), optionally with '(×ratio)'."""
    mean = stats["mean"].get(key)
    if mean is None:
        return "–"
    text = f"{mean * scale:.{digits}f}"
    if stats["n"] > 1:
        text += f" ± {stats['std'][key] * scale:.{digits}f}"
    if ratio and key in stats.get("ratio", {}):
        text += f" (×{stats['ratio'][key]:.2f})"
    return text


def fmt_interval(stats: dict[str, Any], key: str, digits: int = 3, ratio: bool = False) -> str:
    """fmt()'s text with the 95 % interval ('[lo, hi]', or why there is none) and, with ratio,
    the paired ratio to natural with its interval."""
    entry = (stats.get("intervals") or {}).get(key)
    text = fmt(stats, key, digits)
    if entry is None or text == "–":
        old = stats.get("ratio", {}).get(key)
        return text + (f" (×{old:.2f})" if ratio and old is not None and text != "–" else "")
    text += paper.fmt_ci(entry["ci95"], digits) or f" ({entry['note']})"
    if ratio and entry.get("ratio") is not None:
        text += f" (×{entry['ratio']:.2f}" + (paper.fmt_ci(entry["ratio_ci95"], 2) + ")")
    return text


def missing_intervals(results: dict[str, Any], cells: list[str]) -> list[str]:
    """The cells with explanation means but no per-image intervals (an old cache)."""
    out = []
    for c in cells:
        st = results["cells"][c]
        has = any(k.startswith("explain.") and k.endswith("_mean") for k in st["mean"])
        if has and not st.get("intervals"):
            out.append(c)
    return out


def intervals_text(results: dict[str, Any]) -> str:
    """How the report's intervals were made, from results.json's record of it."""
    how = results["paper"].get("intervals") or {}
    if not how:
        return "No intervals in this report."
    return (
        f"Intervals: {100 * how['confidence']:.0f} % bootstrap over images "
        f"(scipy.stats.bootstrap, {how['method']}; {how['fallback']}; "
        f"{how['n_resamples']:,} resamples, seed {how['seed']}); differences and ratios to "
        "natural are paired on the images both models explained. Several seeds: their images "
        "are pooled, so an interval covers the image draw; ± std is the spread over seeds."
    )


def finding_text(f: dict[str, Any]) -> str:
    """One finding's bullet: claim, verdict (with its mark), numbers, rule, why marked."""
    text = f"{f['finding']} — **{f['verdict']}**: {f['evidence']}."
    if f.get("rule"):
        text += f" Rule: {f['rule']}."
    if f.get("marked_why"):
        text += " Builds: " + "; ".join(f["marked_why"]) + "."
    return text


def _big(stats: dict[str, Any], key: str) -> str:
    mean = stats["mean"].get(key)
    if mean is None:
        return "–"
    r = stats.get("ratio", {}).get(key)
    return f"{mean:,.0f}" + (f" ({100 * r:.1f} %)" if r is not None else "")


def _cells(results: dict[str, Any]) -> list[str]:
    present = list(results["cells"])
    rank = {c: i for i, c in enumerate(CELLS)}
    return sorted(present, key=lambda c: (rank.get(c, len(CELLS)), c))


def _grid_rows(
    ids: np.ndarray, models: list[BenchModel], ids_by_model: dict[str, np.ndarray], k: int
) -> np.ndarray:
    """Up to k drawn images that every model explained (classified correctly), else any drawn."""
    common = set(int(i) for i in ids)
    for m in models:
        common &= set(int(i) for i in ids_by_model[m.name])
    chosen = sorted(common)[:k]
    if len(chosen) < k:
        chosen += [int(i) for i in ids if int(i) not in chosen][: k - len(chosen)]
    return np.asarray(sorted(chosen), dtype=np.int64)


def figures(
    out: Path,
    results: dict[str, Any],
    models: list[BenchModel],
    test,
    ids: np.ndarray,
    maps_by_model: dict[str, dict[str, np.ndarray]],
    ids_by_model: dict[str, np.ndarray],
    opts: BenchOptions,
) -> dict[str, Path]:
    """Write figures/*.png; {figure key: path} for the sections to show."""
    fig_dir = out / "figures"
    fig_dir.mkdir(exist_ok=True)
    cells = _cells(results)
    # one model per cell for the images (the lowest seed): a grid of seeds would not fit a page
    shown = [next(m for m in models if m.cell == c) for c in cells]
    paths = saliency_grids(fig_dir, shown, test, ids, maps_by_model, ids_by_model, opts)
    if opts.road:
        paths["road"] = road_figure(fig_dir, results, cells, opts)
    if results["latency"]:
        paths.update(latency_figures(fig_dir, results, cells))
    if results.get("pipeline"):
        paths.update(pipeline_figures(fig_dir, results["pipeline"]))
    return paths


def saliency_grids(
    fig_dir: Path,
    shown: list[BenchModel],
    test,
    ids: np.ndarray,
    maps_by_model: dict[str, dict[str, np.ndarray]],
    ids_by_model: dict[str, np.ndarray],
    opts: BenchOptions,
) -> dict[str, Path]:
    """One grid per method: the same test images (rows) across the shown models (columns)."""
    from edgexai.train.saliency.explainers import METHOD_NAMES

    paths: dict[str, Path] = {}
    rows = _grid_rows(ids, shown, ids_by_model, opts.grid_images)
    if not len(rows):
        return paths
    images = test.images[rows]
    names = shown[0].manifest["classes"]  # the builds' own class names
    captions = [f"#{i} {names[int(test.labels[i])][:16]}" for i in rows]
    for method in opts.methods:
        maps = {
            m.cell: _grid_maps(
                rows, images.shape[1:3], ids_by_model[m.name], maps_by_model[m.name].get(method)
            )
            for m in shown
        }
        paths[f"grid_{method}"] = saliency_grid(
            fig_dir / f"grid_{method}.png",
            images,
            captions,
            [m.cell for m in shown],
            maps,
            METHOD_NAMES.get(method, method),
        )
    return paths


def _grid_maps(
    rows: np.ndarray, shape: tuple[int, ...], got: np.ndarray, maps: np.ndarray | None
) -> np.ndarray:
    """One model's maps of the grid's images; NaN where it did not explain the image (all of
    them for a method it lacks: Grad-CAM on a CAM-less build)."""
    arr = np.full((len(rows),) + tuple(shape), np.nan, np.float32)
    for r, image_id in enumerate(rows if maps is not None else []):
        hit = np.flatnonzero(got == image_id)
        if len(hit):
            arr[r] = maps[hit[0]]
    return arr


def road_figure(
    fig_dir: Path, results: dict[str, Any], cells: list[str], opts: BenchOptions
) -> Path:
    """ROAD curves per method, every cell (mean over its seeds), with bootstrap bands."""
    from edgexai.train.saliency.explainers import METHOD_NAMES

    curves, notes = figure_data.road_curves(results, cells, tuple(opts.methods))
    return road_bands(fig_dir / "road_curves.png", curves, list(opts.methods), METHOD_NAMES, notes)


def latency_figures(fig_dir: Path, results: dict[str, Any], cells: list[str]) -> dict[str, Path]:
    """The latency dot plot (every cell × case, cell means) and the accuracy–latency Pareto
    plot at each cell's fastest measured case."""
    paths = {
        "latency": latency_dots(
            fig_dir / "latency.png", figure_data.latency_rows(results, cells), cells
        )
    }
    points, label, notes = figure_data.tradeoff_points(results, cells)
    if points:
        paths["scatter"] = tradeoff_pareto(fig_dir / "tradeoff.png", points, label, notes)
    return paths


def sections(results: dict[str, Any], paths: dict[str, Path], opts: BenchOptions) -> list[Section]:
    """The report's sections, in reading order (the long every-case table near the end)."""
    cells = _cells(results)
    out = [
        measured_section(results, cells),
        environment_section(results["environment"]),
        accuracy_section(results, cells),
        explanation_section(results, cells, paths, opts),
        *([fidelity_section(results, cells)] if results.get("cam_fidelity") else []),
        latency_section(results, cells, paths),
    ]
    if results.get("pipeline"):
        out.append(pipeline_section(results["pipeline"], paths))
    out.append(paper_section(results))
    if results["latency"]:
        out.append(every_case_section(results["latency"], cells))
    out.append(files_section())
    return out


def measured_section(results: dict[str, Any], cells: list[str]) -> Section:
    cs = results["cells"]
    img = results["images"]
    s = Section("What was measured")
    s.p(f"Command: {results['command'] or '(API call)'}")
    s.p(
        f"{len(results['models'])} models in {len(cells)} regime cells "
        f"({', '.join(cells)}); build seeds per cell: "
        + "; ".join(f"{c} {cs[c]['seeds']}" for c in cells)
        + ". Several seeds show mean ± std (sample std); one seed shows the value."
    )
    gtsrb = all(r.get("gtsrb", True) for r in results["models"])
    test_set = "the official GTSRB test set" if gtsrb else "the builds' test split"
    s.p(
        f"Every model saw the same images: explanation metrics on {img['explain_drawn']} images "
        f"drawn with seed {results['config']['seed']} from {test_set} (indices "
        f"sha256 {img['explain_indices_sha256'][:16]}…; "
        + (
            "each model explains the ones it classifies correctly, the paper's protocol"
            if results["config"]["targets"] == "correct"
            else "every model explains all of them"
        )
        + ", for the true class), the same imputation "
        f"noise seed for ROAD; per-session accuracy on {img['accuracy_drawn']} other seeded test "
        "images; latency on the same input tensors, every case timed interleaved in one process "
        "after warm-up. Clean test accuracy (the whole test set"
        + (", 12,630 images" if gtsrb else "")
        + ") and robust accuracy come "
        "from each build's manifest (PGD-20 L∞ at the ε below on a fixed seeded 1,000 test "
        "images)."
    )
    eps = {
        round(float((r.get("robust_settings") or {}).get("epsilon", float("nan"))) * 255, 2)
        for r in results["models"]
    }
    s.p("Robust accuracy ε (pixel units × 255): " + ", ".join(str(e) for e in sorted(eps)))
    s.p("Ratios (×) divide by the natural model's figure (the natural cell's mean).")
    s.p(intervals_text(results))
    limited = sorted(
        {f"{r['name']} ({', '.join(r['limits'])})" for r in results["models"] if r.get("limits")}
    )
    if limited:
        s.p(
            "Not full builds (their verdicts below are marked indicative only): "
            + "; ".join(limited)
            + "."
        )
    if results["notes"]:
        s.bullets(results["notes"])
    return s


def environment_section(env: dict[str, Any]) -> Section:
    s = Section("Environment")
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    s.pre(
        "\n".join(
            [
                f"date        {env['date']}",
                f"host        {env['host']}",
                f"os          {env['os']}",
                f"cpu         {env['cpu']} × {env['cpu_count']}",
                f"threads     {env['latency_threads']} (latency)",
                f"load avg    start {env['load_average_start']}  end {env.get('load_average_end')}",
                f"git         {env['git']}",
                f"versions    {versions}",
            ]
        )
    )
    return s


def accuracy_section(results: dict[str, Any], cells: list[str]) -> Section:
    cs = results["cells"]
    s = Section("Accuracy, robustness and size")
    rows = []
    for c in cells:
        st = cs[c]
        rows.append(
            [
                c,
                fmt(st, "accuracy.clean_test", 4, ratio=True),
                fmt(st, "accuracy.robust", 3, ratio=True),
                fmt(st, "size.weight_zeros_pct", 2),
                _big(st, "size.params"),
                _big(st, "size.macs"),
                fmt(st, "size.onnx_mb", 2, ratio=True),
            ]
        )
    s.table(
        [
            "cell",
            "clean test acc",
            "robust acc",
            "zero weights %",
            "params (% of natural)",
            "MACs (% of natural)",
            "model.onnx MB",
        ],
        rows,
    )
    acc_keys = sorted(
        {
            k
            for c in cells
            for k in cs[c]["mean"]
            if k.startswith("accuracy.") and k not in ("accuracy.clean_test", "accuracy.robust")
        }
    )
    if acc_keys:
        s.p(
            f"Accuracy of each backend and precision on the {results['images']['accuracy_drawn']} "
            "seeded test images (same images for every model):"
        )
        s.table(
            ["cell"] + [k.split(".", 1)[1] for k in acc_keys],
            [[c] + [fmt(cs[c], k, 4) for k in acc_keys] for c in cells],
        )
    return s


def explanation_section(
    results: dict[str, Any], cells: list[str], paths: dict[str, Path], opts: BenchOptions
) -> Section:
    from edgexai.train.saliency.explainers import METHOD_NAMES

    cs = results["cells"]
    s = Section("Explanation quality")
    s.p(
        "Gini: sparsity of the map (higher = sparser). ROAD: accuracy after removing the top "
        "(MoRF, lower = more faithful) or bottom (LeRF, higher = more faithful) p % of pixels by "
        "noisy linear imputation, mean over p = "
        + ", ".join(f"{p:g}" for p in _percentages(results))
        + " %; gap = LeRF − MoRF (higher = better). [lo, hi]: 95 % bootstrap interval over "
        "images; × natural: the ratio to natural on the images both explained (paired), with "
        "its interval."
    )
    rows = []
    for c in cells:
        for method in opts.methods:
            k = f"explain.{method}."
            rows.append(
                [
                    c,
                    METHOD_NAMES.get(method, method),
                    fmt_interval(cs[c], k + "gini"),
                    fmt_interval(cs[c], k + "road_morf_mean", ratio=c != BASELINE),
                    fmt_interval(cs[c], k + "road_lerf_mean"),
                    fmt_interval(cs[c], k + "road_gap_mean"),
                    fmt(cs[c], "explain_n.explained", 0),
                ]
            )
    s.table(
        ["cell", "method", "Gini", "ROAD MoRF (× natural)", "ROAD LeRF", "gap", "images explained"],
        rows,
    )
    missing = missing_intervals(results, cells)
    if missing:
        s.p(
            "No intervals for "
            + ", ".join(missing)
            + ": their cached explanation results have no per-image outcomes (made before "
            "they were saved); `--fresh` recomputes them."
        )
    for method in opts.methods:
        if f"grid_{method}" in paths:
            s.img(
                paths[f"grid_{method}"],
                f"{METHOD_NAMES.get(method, method)} across regimes, same test images",
            )
    if "road" in paths:
        s.img(paths["road"], "ROAD curves per method, every regime")
    return s


def fidelity_section(results: dict[str, Any], cells: list[str]) -> Section:
    """The deployed engines' in-graph CAM against the study's fp32 PyTorch Grad-CAM."""
    s = Section("Explanation on the device vs the study")
    s.p(
        "Each ort/trt session's in-graph CAM (what the device shows) against the fp32 PyTorch "
        "Grad-CAM of the same model.pt (captum LayerGradCam, the explanation table's), on the "
        f"first {results['config'].get('fidelity_images')} images each model explained, both "
        "for the class the session predicts (the class the device explains): Pearson and "
        "Spearman correlation and the IoU of the top-20 % pixels, per image then averaged "
        "(Pearson also its minimum); ROAD MoRF (lower = more faithful; the explanation "
        "table's percentages, noise and seeds) of the deployed and of the PyTorch maps, both "
        "scored by the fp32 PyTorch model — where the session predicts the true class, "
        '"MoRF PyTorch" is the explanation table\'s Grad-CAM MoRF on these images. '
        '"same class": how often the session predicts fp32 PyTorch\'s class.'
    )
    rank = {c: i for i, c in enumerate(cells)}
    rows = []
    for r in sorted(
        results["cam_fidelity"],
        key=lambda r: (
            rank.get(r["cell"], len(rank)),
            r["seed"],
            r["model"],
            r["backend"] or "",
            PRECISION_ORDER.get(r["precision"], 9),
        ),
    ):
        if r["note"]:
            rows.append([r["cell"], r["model"], r["note"]] + ["–"] * 8)
            continue
        rows.append(
            [
                r["cell"],
                r["model"],
                r["backend"],
                r["precision"],
                str(r["n_images"]),
                _num(r["class_agreement"]),
                f"{_num(r['pearson_mean'], 4)} ({_num(r['pearson_min'], 4)})",
                _num(r["spearman_mean"], 4),
                _num(r["iou_top20_mean"]),
                _num(r["morf_deployed"]),
                _num(r["morf_reference"]),
            ]
        )
    s.table(
        [
            "cell",
            "model",
            "backend",
            "precision",
            "images",
            "same class",
            "Pearson mean (min)",
            "Spearman mean",
            "top-20 % IoU",
            "MoRF deployed",
            "MoRF PyTorch",
        ],
        rows,
    )
    return s


PRECISION_ORDER = {"fp32": 0, "fp16": 1, "int8": 2}


def _num(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def latency_section(results: dict[str, Any], cells: list[str], paths: dict[str, Path]) -> Section:
    cs = results["cells"]
    cfg = results["config"]
    s = Section("Latency")
    groups = sorted({(r["backend"], r["precision"], r["batch"]) for r in results["latency"]})
    s.p(
        f"ms per call (one `infer` of a batch: logits and in-graph Grad-CAM), p50 and its ratio "
        f"to natural; {cfg['rounds']} interleaved rounds × {cfg['per_round']} calls per case "
        f"after {cfg['warmup']} warm-up calls, every model and case in one process. p90, p99 and "
        "throughput for every model are in the last section and in results.csv."
    )
    if groups:
        rows = [
            [c] + [fmt(cs[c], f"latency.{b}_{p}_b{n}.p50_ms", 3, ratio=True) for b, p, n in groups]
            for c in cells
        ]
        s.table(["cell"] + [f"{b} {p} b{n}" for b, p, n in groups], rows)
    if "latency" in paths:
        s.img(
            paths["latency"],
            "How latency scales with batch and precision: ms per call per regime (cell means; "
            "dot p50, bar to p90)",
        )
    if "scatter" in paths:
        _, label, notes = figure_data.tradeoff_points(results, cells)
        s.img(
            paths["scatter"],
            f"Which regime is fastest at equal accuracy: clean test accuracy against {label}; "
            "the dashed line is the Pareto front. " + " ".join(notes),
        )
    return s


def every_case_section(latency: list[dict[str, Any]], cells: list[str]) -> Section:
    every = Section(EVERY_CASE)
    rows = []
    for r in sorted(
        latency,
        key=lambda r: (r["backend"], r["precision"], r["batch"], cells.index(r["cell"]), r["seed"]),
    ):
        rows.append(
            [
                r["model"],
                r["backend"],
                r["precision"],
                str(r["batch"]),
                f"{r['p50_ms']:.3f}",
                f"{r['p90_ms']:.3f}",
                f"{r['p99_ms']:.3f}",
                f"{r['throughput_ips']:.0f}",
            ]
        )
    every.table(
        ["model", "backend", "precision", "batch", "p50 ms", "p90 ms", "p99 ms", "images/s"], rows
    )
    return every


def pipeline_section(summaries: list[dict[str, Any]], paths: dict[str, Path]) -> Section:
    s = Section("Camera-frame pipeline")
    s.p(
        "`edgexai run` summaries (frame → find signs (the finder in each run's log: the "
        "learned detector by default) → classifier with in-graph Grad-CAM → decide → overlay → "
        "log); stage times in ms per frame, p50 / p99."
    )
    rows = []
    for r in summaries:
        st = r.get("stages_ms", {})
        rows.append(
            [
                Path(str(r.get("model", ""))).name,
                str(r.get("backend")),
                str(r.get("frames")),
                f"{r.get('fps', 0):.1f}",
                f"{r['frame_ms']['p50']:.1f} / {r['frame_ms']['p99']:.1f}",
                ", ".join(f"{k} {v['p50']:.1f}/{v['p99']:.1f}" for k, v in st.items()),
                str(r.get("detections")),
            ]
        )
    s.table(["model", "backend", "frames", "FPS", "frame ms", "stages", "detections"], rows)
    for i, r in enumerate(summaries):
        _pipeline_figures(s, r, i, paths)
    return s


def _pipeline_figures(s: Section, r: dict[str, Any], i: int, paths: dict[str, Path]) -> None:
    """One run's overlay frame, stage times and detections per class, or why one is missing."""
    name = Path(str(r.get("model", ""))).name
    if f"pipeline_frame_{i}" in paths:
        s.img(paths[f"pipeline_frame_{i}"], f"{name}: the run's frame with the most detections")
    else:
        s.p(f"{name}: no overlay frame — {no_overlay(r) or 'its video could not be read'}.")
    if f"pipeline_stages_{i}" in paths:
        s.img(paths[f"pipeline_stages_{i}"], f"{name}: ms per frame in each stage (p50, to p99)")
    if f"pipeline_classes_{i}" in paths:
        s.img(paths[f"pipeline_classes_{i}"], f"{name}: detections per class")
    else:
        s.p(f"{name}: the run detected no sign.")


def paper_section(results: dict[str, Any]) -> Section:
    s = Section("Beside the paper")
    s.p("Reference: " + paper.SOURCE + ".")
    why_not = results["paper"].get("not_compared")
    if why_not:
        s.p(f"Not compared: {why_not}.")
        return s
    s.p(
        "Same metric definition; ours are the cells' means above with their 95 % intervals. "
        "Δ = cell − natural, ours paired over the images both explained (with its interval) "
        "and theirs. A verdict is stated only where the interval of the difference it rests on "
        "lies wholly on one side of the finding's threshold; else it is inconclusive."
    )
    s.table(
        ["cell", "method", "ours MoRF", "paper MoRF", "ours Δ", "paper Δ"],
        paper.side_by_side(results["cells"]),
    )
    s.bullets([finding_text(f) for f in results["paper"]["findings"]])
    s.p("Where the setups differ:")
    s.bullets(paper.differences(results["models"]))
    return s


def files_section() -> Section:
    s = Section("Files")
    s.bullets(
        [
            "results.json — every number, the configuration and the environment",
            "results.csv — one row per model × figure, with its ratio to natural (same seed)",
            "figures/*.png — the plots in this report",
            "cache/ — per-model explanation results (reused by the next run with the same "
            "models, images and settings; --fresh recomputes)",
        ]
    )
    return s


def _percentages(results: dict[str, Any]) -> list[float]:
    for r in results["models"]:
        for c in r["road_curves"].values():
            return list(c["percentages"])
    return []


def write_report(
    out: Path,
    results: dict[str, Any],
    models: list[BenchModel],
    test,
    ids: np.ndarray,
    maps_by_model: dict[str, dict[str, np.ndarray]],
    ids_by_model: dict[str, np.ndarray],
    opts: BenchOptions,
) -> None:
    paths = figures(out, results, models, test, ids, maps_by_model, ids_by_model, opts)
    secs = sections(json_safe(results), paths, opts)
    (out / "report.md").write_text(to_markdown(TITLE, secs, out) + "\n")
    (out / "report.html").write_text(to_html(TITLE, secs) + "\n")
