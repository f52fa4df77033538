"""The bench report's sections on explanations: their quality per cell and method (with
intervals), the deployed CAM against the study's Grad-CAM, and the comparison with the paper."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgexai.study.bench import paper
from edgexai.study.bench.document import Section
from edgexai.study.bench.report_format import fmt, fmt_interval, num
from edgexai.study.bench.select import BASELINE

if TYPE_CHECKING:
    from edgexai.study.bench.bench_options import BenchOptions


def missing_intervals(results: dict[str, Any], cells: list[str]) -> list[str]:
    """The cells with explanation means but no per-image intervals (an old cache)."""
    out = []
    for c in cells:
        st = results["cells"][c]
        has = any(k.startswith("explain.") and k.endswith("_mean") for k in st["mean"])
        if has and not st.get("intervals"):
            out.append(c)
    return out


def finding_text(f: dict[str, Any]) -> str:
    """One finding's bullet: claim, verdict (with its mark), numbers, rule, why marked."""
    text = f"{f['finding']} — **{f['verdict']}**: {f['evidence']}."
    if f.get("rule"):
        text += f" Rule: {f['rule']}."
    if f.get("marked_why"):
        text += " Builds: " + "; ".join(f["marked_why"]) + "."
    return text


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
                num(r["class_agreement"]),
                f"{num(r['pearson_mean'], 4)} ({num(r['pearson_min'], 4)})",
                num(r["spearman_mean"], 4),
                num(r["iou_top20_mean"]),
                num(r["morf_deployed"]),
                num(r["morf_reference"]),
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


def _percentages(results: dict[str, Any]) -> list[float]:
    for r in results["models"]:
        for c in r["road_curves"].values():
            return list(c["percentages"])
    return []
