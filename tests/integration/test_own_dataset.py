"""Issue 15, acceptance 1: a user's own ImageFolder (5 classes, labels.txt) through build,
explain, engine, bench and run; the five names on the overlay and in the log; a labels.txt that
disagrees with the folders refused in one line that says how."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import run_cli
from support.data import SHAPE_NAMES, make_image_folder

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def own_build(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("own")
    data = make_image_folder(root / "shapes", SHAPE_NAMES, per_class=20)
    r = run_cli(
        "build",
        "--dataset",
        str(data),
        "--epochs",
        "1",
        "--no-robust",
        "--no-progress",
        "--device",
        "cpu",
        "--out",
        str(root / "builds"),
    )
    assert r.returncode == 0, r.stderr
    assert "(20 test images)" in r.stdout
    return root / "builds" / "resnet20-natural-s0"


def test_the_manifest_records_the_dataset_and_its_names(own_build):
    m = json.loads((own_build / "manifest.json").read_text())
    assert m["classes"] == list(SHAPE_NAMES)
    data = m["data"]
    assert data["dataset"] == "folder" and data["test_path"] is None
    assert data["test_split"] == {"by": "image", "fraction": 0.2, "seed": 0}
    assert data["class_counts"]["test"] == [4] * 5 and data["digest"].startswith("sha256:")
    assert sum(data["class_counts"]["train"]) == data["train_images"]
    assert m["onnx"]["variants"]["int8"]["calibration"]["source"] == "training split"


def test_explain_engine_and_bench_follow_the_build(own_build, tmp_path):
    out = tmp_path / "explain"
    r = run_cli(
        *("explain", "--model", str(own_build), "--methods", "vg,gradcam", "--limit", "6"),
        *("--targets", "all", "--percentages", "10,50", "--workers", "1", "--no-progress"),
        *("--out", str(out), "--no-manifest"),
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "metrics.json").read_text())["images"]["n_drawn"] == 6
    r = run_cli("engine", "--model", str(own_build), "--backend", "ort", "--precision", "int8")
    assert r.returncode == 0, r.stderr
    assert "logits (1, 5)" in r.stdout
    report = tmp_path / "bench"
    r = run_cli(
        *("bench", "--models", str(own_build), "--images", "6", "--accuracy-images", "20"),
        *("--methods", "vg,gradcam", "--targets", "all", "--rounds", "1", "--per-round", "1"),
        *("--warmup", "1", "--batch", "1", "--no-road", "--no-progress", "--report", str(report)),
    )
    assert r.returncode == 0, r.stderr
    assert (report / "results.json").is_file()


def test_run_labels_the_overlay_and_the_log_with_the_five_names(own_build, tmp_path, monkeypatch):
    """In-process, so the labels handed to the overlay renderer can be seen."""
    pytest.importorskip("cv2")
    from support.pipeline import write_frames

    from edgexai.cli import main
    from edgexai.deploy.pipeline import stages
    from edgexai.deploy.pipeline.log import read_jsonl

    drawn: list[str] = []
    real_draw = stages.draw

    def spy(frame, detections, *rest, **kw):
        drawn.extend(d["class_name"] for d in detections)
        return real_draw(frame, detections, *rest, **kw)

    monkeypatch.setattr(stages, "draw", spy)
    frames = write_frames(tmp_path / "frames", 3)
    log = tmp_path / "run.jsonl"
    rc = main(
        [
            *("run", "--source", str(frames), "--model", str(own_build), "--backend", "ort"),
            *("--headless", "--output", str(tmp_path / "overlay.avi"), "--log", str(log)),
            *("--min-score", "0", "--sign-threshold", "0"),
        ]
    )
    assert rc == 0
    records, bad = read_jsonl(log)
    logged = [d["class_name"] for r in records if "frame" in r for d in r["detections"]]
    assert bad == 0 and logged and set(logged) <= set(SHAPE_NAMES)
    assert drawn == logged


def test_a_labels_txt_that_disagrees_with_the_folders_is_one_line_that_says_how(tmp_path):
    data = make_image_folder(tmp_path / "shapes", SHAPE_NAMES, per_class=1)
    (data / "labels.txt").write_text("\n".join(SHAPE_NAMES[:4]) + "\n")
    r = run_cli("build", "--dataset", str(data), "--out", str(tmp_path / "b"), "--no-progress")
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1, r.stderr
    assert "labels.txt names 4 classes but" in err[0] and "has 5 class folders" in err[0]
    assert "folder '00004' is neither a name in labels.txt nor a class id 0..3" in err[0]
    assert not (tmp_path / "b").exists()
