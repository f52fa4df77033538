"""CAM fidelity (bench/fidelity.py) on a real tiny ResNet build: the ORT session's in-graph CAM is
the fp32 PyTorch Grad-CAM, and the bench's results.json and report carry the table."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest

from edgexai.study.bench.bench_options import BenchOptions
from edgexai.study.bench.explanation_sections import fidelity_section
from edgexai.study.bench.fidelity import NO_CAM, measure_fidelity
from edgexai.study.bench.select import load_model_dir

FIELDS = {
    "cell",
    "model",
    "backend",
    "precision",
    "n_images",
    "pearson_mean",
    "pearson_min",
    "spearman_mean",
    "iou_top20_mean",
    "morf_deployed",
    "morf_reference",
}


def _draw(size: int, n: int) -> SimpleNamespace:
    images = np.random.default_rng(0).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return SimpleNamespace(test=SimpleNamespace(images=images))


def test_ort_fp32_cam_is_the_pytorch_gradcam_and_cam_less_builds_are_a_row(tiny_build):
    from edgexai.study.bench.bench_sessions import open_sessions

    model = load_model_dir(tiny_build)
    n = 6
    draw = _draw(int(model.manifest["input_size"]), n + 2)
    ids = np.arange(2, n + 2)  # positions in the test split, as the bench passes them
    opts = BenchOptions(backends=("ort", "torch"), fidelity_images=n, progress=False)
    camless = dataclasses.replace(model, name="no-cam", manifest={**model.manifest, "cam": False})
    rows = measure_fidelity(
        [model, camless], draw, {model.name: ids, "no-cam": ids}, opts, open_sessions
    )
    assert len(rows) == 2  # torch is the reference itself: only ort is compared
    got, skipped = rows
    assert FIELDS <= set(got) and (got["backend"], got["precision"]) == ("ort", "fp32")
    assert got["n_images"] == n and got["note"] is None
    assert got["pearson_min"] >= 0.999 and got["spearman_mean"] >= 0.99
    assert got["iou_top20_mean"] >= 0.95 and got["class_agreement"] == 1.0
    # same ranking up to float noise, same seeds: the deployed maps score like the reference
    assert got["morf_deployed"] == pytest.approx(got["morf_reference"], abs=0.2)
    assert 0.0 <= got["morf_reference"] <= 1.0
    assert skipped["note"] == NO_CAM and skipped["pearson_mean"] is None
    section = fidelity_section({"cam_fidelity": rows, "config": {"fidelity_images": n}}, [])
    (table,) = [b for b in section.blocks if b.kind == "table"]
    assert sorted(r[2] for r in table.rows) == sorted(["ort", NO_CAM])
    assert all(len(r) == len(table.headers) for r in table.rows)


def test_bench_writes_the_fidelity_table_to_results_and_report(tiny_build, fake_gtsrb, tmp_path):
    from edgexai.study.bench.bench_job import run_bench

    opts = BenchOptions(
        models=[str(tiny_build)],
        data_root=str(fake_gtsrb),
        report=str(tmp_path),
        images=6,
        accuracy_images=8,
        targets="all",
        methods=("gradcam",),
        batches=(1,),
        rounds=1,
        per_round=1,
        warmup=0,
        grid_images=0,
        fidelity_images=4,
        progress=False,
    )
    run_bench(opts)
    results = json.loads((tmp_path / "results.json").read_text())
    (row,) = results["cam_fidelity"]
    assert FIELDS <= set(row) and row["n_images"] == 4 and row["pearson_mean"] >= 0.999
    report = (tmp_path / "report.md").read_text()
    assert "## Explanation on the device vs the study" in report
    assert "Pearson mean (min)" in report
