"""The paper section's verdicts: decided only where the interval excludes the threshold, marked
for quick / limited builds, shown only for GTSRB builds; and the report's labels (the preset)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgexai.core.typed_json import check
from edgexai.study.bench import aggregate, paper, paper_builds
from edgexai.study.bench.document import to_markdown
from edgexai.study.bench.results_contract import Finding, MetricInterval, PaperResult

METHODS = ("vg", "ig", "sg")


def _record(cell: str, limits=(), preset="cpu", gtsrb=True) -> dict:
    return {
        "name": f"resnet20-{cell}-s0",
        "cell": cell,
        "seed": 0,
        "arch": "resnet20",
        "preset": preset,
        "gtsrb": gtsrb,
        "limits": list(limits),
        "timing": "tuned",
        "figures": {},
    }


def _stats(morf: dict[str, dict[str, float]], diff_ci: dict[str, tuple[float, float]]) -> dict:
    """Cells with MoRF means and, where given, Δ-to-natural intervals (same for every method)."""
    out = {}
    for cell, per in morf.items():
        iv = {}
        for m, v in per.items():
            d = None if cell == "natural" else v - morf["natural"][m]
            ci = diff_ci.get(cell)
            iv[f"explain.{m}.road_morf_mean"] = {
                "mean": v,
                "ci95": [v - 0.02, v + 0.02],
                "diff": d,
                "diff_ci95": None if ci is None or d is None else [d + ci[0], d + ci[1]],
            }
        out[cell] = {"mean": {f"explain.{m}.road_morf_mean": v for m, v in per.items()}}
        out[cell]["intervals"] = iv
    return out


NAT = {"vg": 0.3, "ig": 0.4, "sg": 0.2}


def test_a_verdict_is_stated_only_where_the_interval_excludes_the_threshold():
    models = [_record(c) for c in ("natural", "adversarial")]
    clear = _stats(
        {"natural": NAT, "adversarial": {"vg": 0.5, "ig": 0.5, "sg": 0.4}},
        {"adversarial": (-0.03, 0.03)},
    )
    f = paper.findings(clear, models)[0]
    assert (f["outcome"], f["verdict"], f["marked"]) == ("agree", "agree", False)
    assert "[+0.170, +0.230]" in f["evidence"] and "above +0.05" in f["rule"]
    # Δ +0.06 for every method, but the interval [+0.01, +0.11] straddles the 0.05 threshold
    close = _stats(
        {"natural": NAT, "adversarial": {m: v + 0.06 for m, v in NAT.items()}},
        {"adversarial": (-0.05, 0.05)},
    )
    f = paper.findings(close, models)[0]
    assert f["outcome"] == "inconclusive"
    assert f["verdict"] == "inconclusive (interval includes the threshold)"
    below = _stats(
        {"natural": NAT, "adversarial": {m: v - 0.1 for m, v in NAT.items()}},
        {"adversarial": (-0.02, 0.02)},
    )
    assert paper.findings(below, models)[0]["verdict"] == "disagree"


def test_pruning_is_little_only_where_the_whole_interval_is_within_the_limit():
    models = [_record(c) for c in ("natural", "global-tuned", "layered-tuned")]
    morf = {
        "natural": NAT,
        "global-tuned": {m: v + 0.01 for m, v in NAT.items()},
        "layered-tuned": {m: v - 0.01 for m, v in NAT.items()},
    }
    assert (
        paper.findings(
            _stats(morf, {"global-tuned": (-0.02, 0.02), "layered-tuned": (-0.02, 0.02)}), models
        )[1]["outcome"]
        == "agree"
    )
    wide = _stats(morf, {"global-tuned": (-0.02, 0.02), "layered-tuned": (-0.06, 0.06)})
    assert paper.findings(wide, models)[1]["outcome"] == "inconclusive"


def test_quick_builds_verdicts_are_marked_indicative_only():
    models = [
        _record(c, limits=["quick preset", "3 of the preset's 12 epochs"])
        for c in ("natural", "adversarial")
    ]
    stats = _stats(
        {"natural": NAT, "adversarial": {"vg": 0.5, "ig": 0.5, "sg": 0.4}},
        {"adversarial": (-0.03, 0.03)},
    )
    f = paper.findings(stats, models)[0]
    assert f["outcome"] == "agree" and f["marked"] is True
    assert f["verdict"] == "agree (quick builds: indicative only)"
    assert any("resnet20-adversarial-s0: quick preset" in w for w in f["marked_why"])
    check(f, Finding, "finding")  # the results.json contract


def test_without_per_image_outcomes_the_verdict_is_a_marked_point_estimate():
    stats = {
        c: {"mean": {f"explain.{m}.road_morf_mean": v for m, v in per.items()}}
        for c, per in {"natural": NAT, "adversarial": {"vg": 0.5, "ig": 0.5, "sg": 0.4}}.items()
    }
    f = paper.findings(stats)[0]
    assert f["outcome"] == "agree" and f["marked"]
    assert f["verdict"] == f"agree ({paper.POINT_MARK})"
    assert [x["outcome"] for x in paper.findings({})] == ["not measured"] * 3


def test_smoothgrad_contrast_is_paired_over_the_same_images():
    rng = np.random.default_rng(0)
    index = np.arange(150)
    models, outcomes, stats = [], {}, {}
    for cell in paper.REFERENCE_MORF:
        base = rng.uniform(0.2, 0.6, 150)
        per = {"vg": base + 0.1, "ig": base + 0.05, "sg": base}
        if cell == "adversarial":
            per["sg"] = base + 0.05 + rng.normal(0, 0.2, 150)  # tied with IG within noise
        models.append(_record(cell))
        outcomes[models[-1]["name"]] = {m: {"index": index, "morf": v} for m, v in per.items()}
        stats[cell] = {
            "mean": {f"explain.{m}.road_morf_mean": float(v.mean()) for m, v in per.items()}
        }
    f = paper.findings(stats, models, outcomes)[2]
    assert "natural: lowest SG" in f["evidence"] and "→ agree" in f["evidence"]
    assert "adversarial" in f["evidence"] and f["outcome"] == "inconclusive"


def test_build_limits_read_the_manifest():
    from edgexai.train.presets import PRESETS

    planned = PRESETS["cpu"].epochs
    full = {"preset": "cpu", "timing": None, "train_config": {"epochs": planned}, "data": {}}
    assert paper_builds.build_limits(full) == []
    assert paper_builds.build_limits(
        {**full, "preset": "quick", "train_config": {"epochs": 3}}
    ) == ["quick preset"]  # the quick preset's own 3 epochs are said once, as the preset
    assert paper_builds.build_limits({**full, "train_config": {"epochs": 2}}) == [
        f"2 of the preset's {planned} epochs"
    ]
    tuned = {**full, "timing": "tuned", "train_config": {"epochs": 4}}
    assert paper_builds.build_limits(tuned) == []  # fine-tuning: the preset's 4 epochs
    limited = {**full, "data": {"limit_per_class": 20}}
    assert paper_builds.build_limits(limited) == ["20 training images per class"]
    facts = paper_builds.build_facts({**full, "data": {"dataset": "folder"}})
    assert facts == {"preset": "cpu", "gtsrb": False, "limits": []}
    assert paper_builds.build_facts(full)["gtsrb"] is True  # no data.dataset: a GTSRB build


def test_the_model_record_carries_the_manifests_preset(tmp_path: Path):
    from edgexai.study.bench.bench_results import model_record
    from edgexai.study.bench.select import BenchModel

    manifest = {
        "regime": "natural",
        "arch": "resnet20",
        "preset": "quick",
        "data": {},
        "train_config": {"epochs": 3},
        "metrics": {},
        "files": {},
    }
    result = {"methods": {}, "n_drawn": 4, "n_explained": 3}
    rec = model_record(BenchModel(tmp_path, manifest, "m", "natural", 0), result)
    assert rec["preset"] == "quick" and rec["limits"] == ["quick preset"] and rec["gtsrb"]
    text = " ".join(paper.differences([rec]))
    assert "preset quick" in text and "preset None" not in text


def _results(models, stats, outcomes=None) -> dict:
    return {
        "models": models,
        "cells": stats,
        "paper": paper.paper_block(stats, models, outcomes or {}),
    }


def test_the_paper_section_shows_intervals_verdicts_and_no_outside_reference(tmp_path: Path):
    from edgexai.study.bench.explanation_sections import paper_section

    models = [_record(c, limits=["quick preset"]) for c in ("natural", "adversarial")]
    stats = _stats(
        {"natural": NAT, "adversarial": {"vg": 0.5, "ig": 0.5, "sg": 0.4}},
        {"adversarial": (-0.03, 0.03)},
    )
    results = _results(models, stats)
    check(results["paper"], PaperResult, "paper")
    text = to_markdown("t", [paper_section(results)], tmp_path)
    assert "**agree (quick builds: indicative only)**" in text
    assert "+0.200 [+0.170, +0.230]" in text and "preset cpu" in text
    assert "design" not in text.lower() and "preset None" not in text


def test_the_paper_comparison_is_for_gtsrb_builds_only(tmp_path: Path):
    from edgexai.study.bench.explanation_sections import paper_section

    models = [_record("natural"), _record("adversarial", gtsrb=False)]
    stats = _stats({"natural": NAT, "adversarial": NAT}, {})
    results = _results(models, stats)
    assert results["paper"]["compared"] is False and results["paper"]["findings"] == []
    text = to_markdown("t", [paper_section(results)], tmp_path)
    assert "Not compared" in text and "ours MoRF" not in text


def test_cell_interval_entries_follow_the_results_contract():
    models = [_record("natural"), _record("adversarial")]
    idx = np.arange(30)
    out = {
        m["name"]: {"vg": {"index": idx, "morf": np.linspace(0, 1, 30) ** (k + 1)}}
        for k, m in enumerate(models)
    }
    stats = aggregate.cell_stats(models)
    aggregate.add_intervals(stats, models, out)
    for s in stats.values():
        for key, entry in s["intervals"].items():
            check(entry, MetricInterval, key)
    e = stats["adversarial"]["intervals"]["explain.vg.road_morf_mean"]
    assert e["ratio"] == pytest.approx(out[models[1]["name"]]["vg"]["morf"].mean() / 0.5)


def test_a_tie_on_every_image_is_exact_and_decides_no_lower_method():
    from edgexai.study.bench.paper_checks import Check, below

    tie = Check("SG − VG", 0.0, None, note="constant sample")
    assert tie.ci95 == [0.0, 0.0] and below(tie, 0.0) == "inconclusive"
    assert below(Check("SG − VG", -0.1, None, note="n < 2"), 0.0) == "inconclusive"
    assert below(Check("SG − VG", 0.0, None, point=True), 0.0) == "disagree"


def test_the_explanation_table_shows_intervals_and_says_where_an_old_cache_has_none(tmp_path):
    from edgexai.study.bench.bench_options import BenchOptions
    from edgexai.study.bench.explanation_sections import explanation_section

    models = [_record("natural"), _record("adversarial")]
    idx = np.arange(40)
    rng = np.random.default_rng(2)
    out = {models[0]["name"]: {"vg": {"index": idx, "morf": rng.uniform(0, 1, 40)}}}
    stats = aggregate.cell_stats(models)
    for s, v in zip(stats.values(), (0.5, 0.7), strict=True):
        s["mean"] = {"explain.vg.road_morf_mean": v, "explain_n.explained": 40}
    aggregate.add_ratios(stats)
    aggregate.add_intervals(stats, models, out)  # adversarial: an old cache, no per-image data
    results = {"cells": stats, "models": [{"road_curves": {}}]}
    sec = explanation_section(
        results, ["natural", "adversarial"], {}, BenchOptions(methods=("vg",))
    )
    text = to_markdown("t", [sec], tmp_path)
    ci = stats["natural"]["intervals"]["explain.vg.road_morf_mean"]["ci95"]
    assert f"0.500 [{ci[0]:.3f}, {ci[1]:.3f}]" in text
    assert "0.700 (×1.40)" in text and "No intervals for adversarial" in text


def test_report_md_shows_a_build_name_as_text_never_as_markup(tmp_path):
    """Issue 43: report.html escaped a build's name, report.md carried it raw (a Markdown viewer
    renders raw HTML)."""
    from edgexai.study.bench.document import Section, to_html

    name = '<img src=x onerror="alert(1)">|a&b'
    s = Section(f"cell {name}").p(f"**{name}** wins").table(["model"], [[name]]).bullets([name])
    md = to_markdown(f"report {name}", [s], tmp_path)
    assert "<img" not in md and "&lt;img src=x" in md and "a&amp;b" in md
    assert "\\|a&amp;b" in md  # a table cell keeps its column
    assert "<img" not in to_html("t", [s])
