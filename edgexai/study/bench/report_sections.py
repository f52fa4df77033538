"""The bench report's sections on what was measured and how fast: the setup, the machine,
accuracy and size, latency (cell means and every case), the camera-frame pipeline runs and the
file list. The explanation sections are in explanation_sections.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgexai.study.bench import figure_data
from edgexai.study.bench.document import Section
from edgexai.study.bench.pipeline_figures import no_overlay
from edgexai.study.bench.report_format import big, fmt

EVERY_CASE = "Latency, every case"


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
                big(st, "size.params"),
                big(st, "size.macs"),
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
    tracked = [r for r in summaries if r.get("tracker")]
    if tracked:
        _signs_over_time(s, tracked)
    for i, r in enumerate(summaries):
        _pipeline_figures(s, r, i, paths)
    return s


def _signs_over_time(s: Section, summaries: list[dict[str, Any]]) -> None:
    """Sign events and the explanation stability along tracks (docs/signs-over-time.md)."""
    s.p(
        "Signs over time: one event per confirmed track. CAM stability is the agreement of a "
        "track's consecutive in-graph Grad-CAM maps, resampled onto one 16×16 grid over the "
        "sign's box: mean Pearson correlation and top-20 % IoU between consecutive frames, and "
        "the share of frames whose CAM peak lies outside the sign's box; means over the events."
    )
    rows = []
    for r in summaries:
        st = r.get("cam_stability", {})
        top = ", ".join(f"{k} ×{v}" for k, v in list(r.get("signs_per_class", {}).items())[:6])
        rows.append(
            [
                Path(str(r.get("model", ""))).name,
                str(r.get("signs")),
                top or "—",
                *(
                    "—" if st.get(k) is None else f"{st[k]:.3f}"
                    for k in ("cam_pearson", "cam_top20_iou", "cam_peak_outside")
                ),
            ]
        )
    s.table(["model", "signs", "by class", "CAM Pearson", "top-20 % IoU", "peak outside"], rows)


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
