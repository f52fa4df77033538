"""`--arch vgg16` through the whole tool on the fake GTSRB: a CAM-less build (logits-only graphs,
one-line note), explained with VG/IG/SG, Grad-CAM refused on one line, benched and run.

VGG-16 is ~313 M MACs per 32 px image: one build (1 epoch, 2 images per class) serves every test,
and each command sees a handful of images."""

from __future__ import annotations

import json

import pytest
from support import run_cli
from support.pipeline import start_run, write_frames

from edgexai.core.manifest import VARIANT_ROLES, has_cam, read_manifest

NO_CAM = "vgg16 has no exact in-graph Grad-CAM"


@pytest.fixture(scope="module")
def vgg_build(fake_gtsrb, tmp_path_factory):
    out = tmp_path_factory.mktemp("vgg")
    r = run_cli(
        "build",
        "--arch",
        "vgg16",
        "--data-root",
        str(fake_gtsrb),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--limit-per-class",
        "2",
        "--no-robust",
        "--device",
        "cpu",
        "--no-progress",
        env={"OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return out / "vgg16-natural-s0", r.stderr


def test_the_build_is_camless_with_every_variant(vgg_build):
    build, stderr = vgg_build
    notes = [line for line in stderr.splitlines() if NO_CAM in line]
    assert len(notes) == 1 and notes[0].startswith("edgexai: note:")
    m = read_manifest(build)
    assert m["cam"] is False and m["cam_layer"] is None and not has_cam(m)
    assert [o["name"] for o in m["onnx"]["outputs"]] == ["logits"]
    assert 15.0e6 < m["params"] < 15.5e6 and "BatchNorm" in m["arch_description"]
    assert set(m["onnx"]["variants"]) == set(VARIANT_ROLES)
    # the no-CAM variant of a logits-only graph is that graph
    assert m["files"]["onnx_nocam"]["sha256"] == m["files"]["onnx"]["sha256"]


def test_explain_with_vg_ig_sg_and_gradcam_refused(vgg_build, fake_gtsrb, tmp_path):
    build, _ = vgg_build
    common = ["explain", "--model", str(build), "--data-root", str(fake_gtsrb), "--no-progress"]
    small = ["--limit", "4", "--targets", "all", "--ig-steps", "2", "--sg-samples", "2"]
    small += ["--percentages", "10,50", "--deletion-steps", "2", "--workers", "0"]
    refused = run_cli(*common, "--methods", "vg,gradcam")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "gradcam refused for vgg16-natural-s0" in lines[0], lines
    out = tmp_path / "explain"
    r = run_cli(*common, *small, "--out", str(out), "--no-manifest")  # the default methods
    assert r.returncode == 0, r.stderr[-2000:]
    assert "gradcam left out for vgg16-natural-s0" in r.stderr
    report = json.loads((out / "metrics.json").read_text())
    methods = report["models"][0]["methods"]
    assert list(methods) == ["vg", "ig", "sg"]
    assert all(0 <= methods[m]["gini"]["mean"] <= 1 for m in methods)
    assert all("road" in methods[m] for m in methods)


def test_bench_treats_it_as_camless(vgg_build, fake_gtsrb, tmp_path):
    build, _ = vgg_build
    report = tmp_path / "bench"
    r = run_cli(
        "bench",
        "--models",
        str(build),
        "--data-root",
        str(fake_gtsrb),
        "--backends",
        "ort",
        "--precisions",
        "fp32,int8",
        "--batch",
        "1",
        "--images",
        "3",
        "--accuracy-images",
        "6",
        "--targets",
        "all",
        "--ig-steps",
        "2",
        "--sg-samples",
        "2",
        "--rounds",
        "2",
        "--per-round",
        "2",
        "--warmup",
        "1",
        "--report",
        str(report),
        "--no-progress",
        env={"OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    results = json.loads((report / "results.json").read_text())
    (model,) = results["models"]
    assert set(model["figures"]["explain"]) == {"vg", "ig", "sg"}
    assert {"ort_fp32_b1", "ort_int8_b1"} <= set(model["figures"]["latency"])
    assert any(NO_CAM in note for note in results["notes"])
    assert NO_CAM in (report / "report.md").read_text()
    assert not (report / "figures" / "grid_gradcam.png").exists()


def test_engine_and_run_without_torch(vgg_build, tmp_path):
    pytest.importorskip("cv2")
    build, _ = vgg_build
    r = run_cli("engine", "--model", str(build), "--backend", "ort", "--precision", "int8")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "logits only" in r.stdout and "cam" not in r.stdout.split("→")[-1]
    frames = write_frames(tmp_path / "f", 3)
    log, video = tmp_path / "run.jsonl", tmp_path / "overlay.mp4"
    args = ["--source", str(frames), "--model", str(build), "--backend", "ort", "--headless"]
    args += ["--log", str(log), "--output", str(video), "--probe-every", "1"]
    proc = start_run([*args, "--min-score", "0", "--sign-threshold", "0"])
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "has no in-graph CAM" in err
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records[0]["cam"] is False and records[-1]["frames"] == 3
    dets = [d for rec in records if "frame" in rec for d in rec["detections"]]
    assert dets and all(d["gini"] is None and "probe" not in d for d in dets)
    assert video.is_file() and video.stat().st_size > 0
