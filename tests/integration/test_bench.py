"""`edgexai bench` and `edgexai demo` on tiny synthetic builds: selection, interleaved timing, seed
aggregation and ratios, the paper verdicts, the report files, the cache, and the HTML render."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from support import REPO, run_cli

from edgexai.core.errors import EdgexaiError
from edgexai.study.bench import aggregate, paper
from edgexai.study.bench.latency import Case, summarise, time_interleaved
from edgexai.study.bench.select import CELLS, find_cells, parse_cells
from edgexai.train.builder import BuildOptions, run_build
from edgexai.train.regimes import RegimeSettings

SMALL = dict(
    images=8,
    accuracy_images=40,
    targets="all",
    ig_steps=4,
    sg_samples=3,
    rounds=2,
    per_round=2,
    warmup=1,
    progress=False,
)


@pytest.fixture(scope="module")
def builds(fake_gtsrb, tmp_path_factory) -> Path:
    """natural + layered-tuned (its child) on the fake data, in one root."""
    root = tmp_path_factory.mktemp("bench-builds")
    common = dict(
        data_root=str(fake_gtsrb),
        out=str(root),
        limit_per_class=4,
        device="cpu",
        progress=False,
        robust_images=32,
        robust_steps=2,
    )
    run_build(BuildOptions(epochs=1, **common))
    run_build(
        BuildOptions(
            regime="layered", timing="tuned", epochs=1, settings=RegimeSettings(), **common
        )
    )
    return root


@pytest.fixture(scope="module")
def bench(builds, fake_gtsrb, tmp_path_factory):
    from edgexai.study.bench.bench_job import run_bench
    from edgexai.study.bench.bench_options import BenchOptions

    report = tmp_path_factory.mktemp("bench-report")
    opts = BenchOptions(
        cells=("natural", "layered-tuned"),
        root=str(builds),
        data_root=str(fake_gtsrb),
        report=str(report),
        batches=(1, 2),
        backends=("ort", "torch"),
        **SMALL,
    )
    return run_bench(opts)


def test_parse_cells_accepts_all_and_refuses_unknown_cells():
    assert parse_cells("all") == CELLS and len(CELLS) == 11
    assert parse_cells("natural, layered-tuned") == ("natural", "layered-tuned")
    with pytest.raises(EdgexaiError, match="unknown regime cell"):
        parse_cells("natural,layered-later")


def test_a_missing_cell_is_an_error_that_says_how_to_build_it(builds):
    with pytest.raises(EdgexaiError, match="no build .* for: adversarial.*edgexai matrix"):
        find_cells(builds, ("natural", "adversarial"), None)
    with pytest.raises(EdgexaiError, match="no such folder"):
        find_cells(builds / "nope", ("natural",), None)


def test_interleaved_timing_alternates_cases_and_summarises_every_call():
    calls: list[str] = []
    ticks = iter(np.arange(0, 1000, 0.001))
    cases = {Case(m, "ort", "fp32", 1): (lambda m=m: calls.append(m)) for m in ("a", "b", "c")}
    stats = time_interleaved(cases, rounds=4, per_round=2, warmup=1, clock=lambda: next(ticks))
    timed = calls[3:]  # after one warm-up call each
    assert len(timed) == 4 * 3 * 2
    firsts = [timed[r * 6] for r in range(4)]
    assert len(set(firsts)) > 1  # the order changes between rounds
    assert all(s["calls"] == 8 for s in stats.values())
    s = summarise([0.001, 0.002, 0.003, 0.004], batch=8)
    assert s["p50_ms"] == pytest.approx(2.5) and s["throughput_ips"] == pytest.approx(3200)


@pytest.mark.parametrize("threads, spinning", [(1, ""), (2, "0"), (0, "0")])
def test_multithread_ort_sessions_sharing_the_bench_process_do_not_spin(builds, threads, spinning):
    from edgexai.study.bench.bench_options import BenchOptions
    from edgexai.study.bench.bench_sessions import open_sessions
    from edgexai.study.bench.select import load_model_dir

    model = load_model_dir(next(builds.glob("resnet20-natural-*")))
    notes: list[str] = []
    sessions = open_sessions([model], BenchOptions(backends=("ort",), threads=threads), notes)
    options = sessions[(model.name, "ort", "fp32")]._session.get_session_options()
    try:
        entry = options.get_session_config_entry("session.intra_op.allow_spinning")
    except RuntimeError:  # not set: ORT's default (spinning on)
        entry = ""
    assert entry == spinning
    assert any("spinning switched off" in n for n in notes) == (threads != 1)


def test_seeds_give_mean_and_std_and_ratios_divide_by_natural():
    models = [
        {"cell": "natural", "seed": s, "name": f"n{s}", "figures": {"a": {"x": v}}}
        for s, v in ((0, 1.0), (1, 3.0))
    ]
    models += [{"cell": "layered-tuned", "seed": 0, "name": "l0", "figures": {"a": {"x": 1.0}}}]
    stats = aggregate.cell_stats(models)
    aggregate.add_ratios(stats)
    assert stats["natural"]["mean"]["a.x"] == 2.0
    assert stats["natural"]["std"]["a.x"] == pytest.approx(np.std([1.0, 3.0], ddof=1))
    assert stats["layered-tuned"]["ratio"]["a.x"] == 0.5 and stats["layered-tuned"]["n"] == 1


def _stats(morf: dict[str, dict[str, float]]) -> dict:
    return {
        cell: {"mean": {f"explain.{m}.road_morf_mean": v for m, v in per.items()}}
        for cell, per in morf.items()
    }


def test_paper_verdicts_follow_the_measured_numbers():
    agree = _stats(
        {
            "natural": {"vg": 0.3, "ig": 0.4, "sg": 0.2},
            "adversarial": {"vg": 0.5, "ig": 0.5, "sg": 0.4},
            "global-tuned": {"vg": 0.31, "ig": 0.41, "sg": 0.21},
            "layered-tuned": {"vg": 0.29, "ig": 0.38, "sg": 0.22},
        }
    )
    verdicts = [f["outcome"] for f in paper.findings(agree)]
    assert verdicts == ["agree", "agree", "agree"]
    disagree = _stats(
        {
            "natural": {"vg": 0.3, "ig": 0.4, "sg": 0.5},
            "adversarial": {"vg": 0.2, "ig": 0.3, "sg": 0.4},
            "global-tuned": {"vg": 0.5, "ig": 0.6, "sg": 0.7},
            "layered-tuned": {"vg": 0.1, "ig": 0.2, "sg": 0.3},
        }
    )
    verdicts = [f["outcome"] for f in paper.findings(disagree)]
    assert verdicts == ["disagree", "disagree", "disagree"]
    assert [f["outcome"] for f in paper.findings({})] == ["not measured"] * 3
    barely = _stats(
        {
            "natural": {"vg": 0.3, "ig": 0.4, "sg": 0.2},
            "adversarial": {"vg": 0.5, "ig": 0.41, "sg": 0.204},
        }
    )
    assert paper.findings(barely)[0]["outcome"] == "partly"  # +0.01 and +0.004 are not "clearly"


def test_bench_writes_every_report_file_with_ratios_to_natural(bench):
    out, results = bench
    for name in ("report.md", "report.html", "results.json", "results.csv"):
        assert (out / name).stat().st_size > 0
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == sorted(
        [
            "grid_vg.png",
            "grid_ig.png",
            "grid_sg.png",
            "grid_gradcam.png",
            "road_curves.png",
            "latency.png",
            "tradeoff.png",
        ]
    )
    cells = results["cells"]
    assert set(cells) == {"natural", "layered-tuned"}
    assert cells["natural"]["ratio"]["size.params"] == 1.0
    assert cells["layered-tuned"]["ratio"]["size.params"] < 0.30
    # latency: both backends, both batch sizes, every model
    assert len(results["latency"]) == 2 * 2 * 2
    lat = cells["natural"]["mean"]
    for key in ("latency.ort_fp32_b1.p99_ms", "latency.torch_fp32_b2.throughput_ips"):
        assert lat[key] > 0
    # ORT and torch agree on the same images (the same model, two backends)
    assert lat["accuracy.ort_fp32"] == pytest.approx(lat["accuracy.torch_fp32"], abs=0.03)
    for method in ("vg", "ig", "sg", "gradcam"):
        assert 0 <= lat[f"explain.{method}.road_morf_mean"] <= 1
    env = results["environment"]
    assert env["versions"]["onnxruntime"] and env["git"] and env["cpu_count"]
    saved = json.loads((out / "results.json").read_text())
    assert saved["paper"]["findings"] and saved["images"]["explain_drawn"] == 8
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    nat = [r for r in rows if r["cell"] == "natural"]
    assert nat and all(r["ratio_to_natural"] in ("1", "") for r in nat)
    md = (out / "report.md").read_text()
    assert "## Beside the paper" in md and "figures/road_curves.png" in md
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == len(pngs) and 'src="figures/' not in html


def test_a_second_bench_reuses_the_explanations_and_gives_the_same_metrics(
    bench, builds, fake_gtsrb, monkeypatch
):
    import edgexai.study.explain_item as explain_item
    from edgexai.study.bench.bench_job import run_bench
    from edgexai.study.bench.bench_options import BenchOptions

    out, first = bench

    def boom(*a, **k):
        raise AssertionError("explained again despite a matching cache")

    monkeypatch.setattr(explain_item, "explain_model", boom)
    _, second = run_bench(
        BenchOptions(
            cells=("natural", "layered-tuned"),
            root=str(builds),
            data_root=str(fake_gtsrb),
            report=str(out),
            batches=(1,),
            overwrite=True,  # the earlier report is replaced, its explanation cache reused
            **SMALL,
        )
    )
    for cell in ("natural", "layered-tuned"):
        a = {k: v for k, v in first["cells"][cell]["mean"].items() if k.startswith("explain")}
        b = {k: v for k, v in second["cells"][cell]["mean"].items() if k.startswith("explain")}
        assert a == b


def test_bench_refuses_bad_arguments_in_one_line(builds):
    r = run_cli("bench", "--regimes", "natural", "--root", str(builds), "--backends", "tpu")
    assert r.returncode == 1 and "unknown backend 'tpu'" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run_cli("bench", "--regimes", "all", "--root", str(builds))
    assert r.returncode == 1 and "no build under" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("bench")
    assert r.returncode == 2 and "one of the arguments --models --regimes is required" in r.stderr


def test_report_html_renders_in_headless_chromium_with_every_image(bench, tmp_path):
    sys.path.insert(0, str(REPO / "tools"))
    from screenshot_report import find_chromium, illegible, render

    pytest.importorskip("playwright")
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    out, _ = bench
    png = tmp_path / "shot.png"
    images = render(out / "report.html", png, chromium)
    assert len(images) == 7
    assert all(i["complete"] and i["width"] > 100 for i in images), images
    # shown at 1280 px the figures keep fonts of >= 9 pt (none is scaled down much)
    assert not illegible(images), images
    assert all(i["shown_width"] == i["width"] for i in images if i["width"] <= 1152), images
    from PIL import Image

    with Image.open(png) as shot:
        assert shot.size[0] == 1280 and shot.size[1] > 2000  # the whole page, not one screen


def test_demo_builds_runs_the_pipeline_and_writes_the_report(fake_gtsrb, tmp_path):
    import cv2

    data = tmp_path / "data"
    shutil.copytree(fake_gtsrb / "gtsrb", data / "gtsrb")
    frames = data / "gtsdb"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:05d}.jpg"), rng.integers(0, 255, (400, 680, 3), np.uint8))
    (frames / "gt.txt").write_text("00000.ppm;10;10;40;40;1\n")
    out = tmp_path / "demo"
    r = run_cli(
        "demo",
        "--out",
        str(out),
        "--data-root",
        str(data),
        "--limit-per-class",
        "4",
        "--frames",
        "3",
        "--images",
        "8",
        "--no-progress",
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out / "builds" / "resnet20-natural-s0" / "manifest.json").is_file()
    assert (out / "builds" / "resnet20-layered-tuned-s0" / "manifest.json").is_file()
    summary = json.loads((out / "pipeline.jsonl.summary.json").read_text())
    assert summary["frames"] == 3
    results = json.loads((out / "report" / "results.json").read_text())
    assert set(results["cells"]) == {"natural", "layered-tuned"}
    assert results["pipeline"][0]["frames"] == 3
    assert "Camera-frame pipeline" in (out / "report" / "report.md").read_text()
    assert "open " in r.stdout and "report.html" in r.stdout
    from edgexai.study.bench.report_folder import foreign_files

    assert foreign_files(out / "report") == []  # the pipeline figures too are known bench files
    # a second demo reuses the builds and replaces its own report (staged, then swapped in)
    again = run_cli(*r.args[3:], timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "report" / "results.json").read_text())["cells"]
    assert not (out / "report.partial").exists() and not (out / "report.replaced").exists()


def _run(p50: dict[str, float]) -> dict:
    base = p50["natural"]
    return {
        "cells": {
            c: {
                "mean": {"latency.ort_fp32_b1.p50_ms": v},
                "ratio": {"latency.ort_fp32_b1.p50_ms": v / base},
            }
            for c, v in p50.items()
        }
    }


def test_two_runs_compare_by_order_beyond_ties_and_ratio_tolerance():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from compare_bench_runs import compare

    a = _run({"natural": 1.00, "l1-tuned": 1.01, "layered-tuned": 0.45})
    same_but_tie_swapped = _run({"natural": 1.02, "l1-tuned": 1.00, "layered-tuned": 0.47})
    ok, lines = compare(a, same_but_tie_swapped, 0.10, 0.05)
    assert ok and "differs only within ties" in lines[0]
    flipped = _run({"natural": 1.00, "l1-tuned": 1.01, "layered-tuned": 1.20})
    ok, lines = compare(a, flipped, 0.10, 0.05)
    assert not ok and "order flips beyond ties" in lines[0]
    drift = _run({"natural": 1.00, "l1-tuned": 1.01, "layered-tuned": 0.52})
    ok, lines = compare(a, drift, 0.10, 0.05)
    assert not ok and "ratios off: layered-tuned" in lines[0]


def _bench_opts(*argv: str, monkeypatch):
    """The BenchOptions that `edgexai bench ARGV` would run with (the job itself not run)."""
    import edgexai.study.bench.bench_job as bench_run
    from edgexai.cli import main

    got = []

    def capture(opts):
        got.append(opts)
        raise KeyError  # stop before measuring anything

    monkeypatch.setattr(bench_run, "run_bench", capture)
    with pytest.raises(KeyError):
        main(["bench", *argv])
    return got[0]


def test_bench_flags_come_from_bench_options_with_its_defaults(monkeypatch):
    from dataclasses import replace

    from edgexai.study.bench.bench_options import BenchOptions

    opts = _bench_opts("--models", "a", "b", monkeypatch=monkeypatch)
    assert opts == replace(BenchOptions(models=["a", "b"]), command=opts.command)
    opts = _bench_opts(
        "--regimes",
        "natural",
        "--batch",
        "1,4",
        "--no-road",
        "--fresh",
        "--overwrite",
        "--no-progress",
        "--pipeline-summary",
        "x.json",
        "--pipeline-summary",
        "y.json",
        "--seeds",
        "0,2",
        "--threads",
        "0",
        "--warmup",
        "0",
        monkeypatch=monkeypatch,
    )
    assert opts.cells == ("natural",) and opts.models == [] and opts.batches == (1, 4)
    assert not opts.road and opts.fresh and not opts.progress and opts.seeds == (0, 2)
    assert opts.overwrite and not BenchOptions().overwrite
    assert opts.pipeline_summaries == ["x.json", "y.json"] and opts.threads == opts.warmup == 0


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--grid-images", "-1"),
        ("--warmup", "-1"),
        ("--images", "0"),
        ("--rounds", "0"),
        ("--threads", "-2"),
        ("--accuracy-images", "x"),
    ],
)
def test_bench_numbers_are_refused_while_parsing(flag, value, capsys):
    from edgexai.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["bench", "--models", "a", flag, value])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and flag in err[0]


def test_a_build_without_robust_settings_fits_the_results_contract(bench, tmp_path):
    """A build made without robust accuracy (metrics.robust null) is benched, not refused."""
    import copy

    from edgexai.study.bench.bench_results import write_results

    jsonschema = pytest.importorskip("jsonschema")
    _, results = bench
    results = copy.deepcopy(results)
    for r in results["models"]:
        r["robust_settings"] = None
        r["figures"]["accuracy"]["robust"] = None
    write_results(tmp_path, results)  # checks the contract before writing
    saved = json.loads((tmp_path / "results.json").read_text())
    schema = json.loads((REPO / "docs" / "schemas" / "results.schema.json").read_text())
    assert not [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(saved)]


def _imports(path: Path) -> set[str]:
    """Modules a file imports; `from a.b import c` gives both a.b and a.b.c (c may be a module)."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


# the bench job's modules (the order of work in bench_job.py's docstring) and the report's
BENCH_JOB = (
    "bench_job",
    "bench_validation",
    "bench_draw",
    "explanation_cache",
    "bench_sessions",
    "bench_environment",
    "bench_results",
)
BENCH_REPORT = (
    "report",
    "report_sections",
    "explanation_sections",
    "report_format",
    "plots",
    "plot_style",
    "label_placement",
)


def test_bench_and_explain_import_one_way():
    """report takes the job's results and never imports the job; explain knows nothing of bench;
    the options modules stay light (the CLI imports them to build --help)."""
    pkg = REPO / "edgexai"
    bench = pkg / "study" / "bench"
    job = {f"edgexai.study.bench.{m}" for m in BENCH_JOB}
    assert all((bench / f"{m}.py").is_file() for m in BENCH_JOB + BENCH_REPORT)
    for name in BENCH_REPORT:
        assert not _imports(bench / f"{name}.py") & job, name
    explain = [*(pkg / "study").glob("explain_*.py"), *(pkg / "train" / "saliency").glob("*.py")]
    assert (pkg / "study" / "explain_job.py") in explain and len(explain) > 6
    for path in explain:
        assert not {n for n in _imports(path) if n.startswith("edgexai.study.bench")}, path
    for path in (
        bench / "bench_options.py",
        pkg / "study" / "explain_options.py",
    ):
        heavy = {n for n in _imports(path) if n.split(".")[0] in ("torch", "captum", "cv2")}
        assert not heavy and not _imports(path) & job, path
