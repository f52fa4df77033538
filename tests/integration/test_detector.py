"""The learned sign detector: in-graph decoding against the numpy reference, training a few steps
on tiny frames, export and variants, resume, the build folder contract, and scoring rules."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.pipeline import write_gt_frames

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from edgexai.core.detection.decode import decode, max_pool3  # noqa: E402
from edgexai.core.detection.scoring import FrameDets, ap, at_threshold, match_frames  # noqa: E402
from edgexai.core.errors import EdgexaiError  # noqa: E402

SMALL = {"input_w": 160, "input_h": 96}


def _options(tmp_path: Path, frames: Path, **kw):
    from edgexai.train.detector.detector_options import DetectorBuildOptions

    base = dict(
        out=str(tmp_path / "out"),
        frames=str(frames),
        train=(0, 8),
        calibrate=(4, 3),
        heldout=(8, 10),
        synthetic=False,
        steps=4,
        batch=2,
        crop=64,
        eval_every=2,
        input_w=SMALL["input_w"],
        input_h=SMALL["input_h"],
        progress=False,
        threads=1,
    )
    base.update(kw)
    return DetectorBuildOptions(**base)


@pytest.fixture(scope="module")
def gt_frames(tmp_path_factory) -> Path:
    return write_gt_frames(tmp_path_factory.mktemp("gtframes") / "f", 10)


@pytest.fixture(scope="module")
def detector_build(gt_frames, tmp_path_factory) -> Path:
    from edgexai.train.detector.job import build_detector

    return build_detector(_options(tmp_path_factory.mktemp("det"), gt_frames))


class _FixedHead(torch.nn.Module):
    """Stands in for the network: returns given head maps (the frames only fix the batch)."""

    def __init__(self, heat: np.ndarray, reg: np.ndarray, cfg) -> None:
        super().__init__()
        self.cfg = cfg
        self.register_buffer("heat", torch.from_numpy(heat))
        self.register_buffer("reg", torch.from_numpy(reg))

    def forward(self, frames):
        zero = frames.float().mean() * 0.0
        return self.heat + zero, self.reg + zero


def test_in_graph_decoding_equals_the_numpy_reference_on_synthetic_maps(tmp_path):
    from edgexai.train.detector.model import DecodedDetector, DetectorConfig
    from edgexai.train.export.onnx_export import export_graph
    from edgexai.train.export.ops_check import check_onnx

    cfg = DetectorConfig(**SMALL, top_k=12)
    h, w = cfg.input_h // cfg.stride, cfg.input_w // cfg.stride
    rng = np.random.default_rng(0)
    heat = rng.uniform(-8, -4, (1, 1, h, w)).astype(np.float32)
    grid = [(3 * i + 1, 3 * j + 1) for i in range(h // 3) for j in range(w // 3 - 1)]
    for k, g in enumerate(rng.choice(len(grid), 9, replace=False)):
        y, x = grid[g]  # cells 3 apart: windows never overlap
        heat[0, 0, y, x] = 3.0 - 0.37 * k  # well-separated peaks
        if x + 1 < w:
            heat[0, 0, y, x + 1] = 2.0 - 0.37 * k  # a neighbour that is not a peak
    reg = rng.normal(1.0, 0.4, (1, 4, h, w)).astype(np.float32)
    model = DecodedDetector(_FixedHead(heat, reg, cfg))  # type: ignore[arg-type]
    path = export_graph(
        model.eval(),
        torch.zeros(1, cfg.input_h, cfg.input_w, 3, dtype=torch.uint8),
        "frames",
        ["boxes", "scores", "labels"],
        tmp_path / "decode.onnx",
    )
    check_onnx(path)  # every decoding op is on TensorRT's parser list
    frames = np.zeros((1, cfg.input_h, cfg.input_w, 3), np.uint8)
    boxes, scores, labels = ort.InferenceSession(str(path)).run(None, {"frames": frames})
    rb, rs, rl = decode(heat, reg, (cfg.input_h, cfg.input_w), cfg.stride, cfg.top_k)
    np.testing.assert_allclose(scores, rs, atol=1e-6)
    np.testing.assert_allclose(boxes, rb, atol=1e-6)
    assert (labels == rl).all() and labels.dtype == np.int32
    # the nine peaks come first, best first, and no non-peak neighbour among them
    assert (np.diff(scores[0, :9]) < 0).all() and scores[0, 9] < 0.05
    op_types = {n.op_type for n in __import__("onnx").load(str(path)).graph.node}
    assert {"TopK", "MaxPool", "Equal", "GatherElements"} <= op_types


def test_max_pool_pads_with_minus_infinity():
    x = np.full((1, 1, 3, 3), -5.0, np.float32)
    assert (max_pool3(x) == -5.0).all()


def test_tiny_training_exports_every_variant_and_the_manifest_validates(detector_build):
    from edgexai.core.manifest import BUILD_VARIANTS, VARIANT_FILES, load, verify_file
    from edgexai.train.export.ops_check import check_onnx

    m = load(detector_build)
    assert m.kind == "detector" and m.categories == ["sign"]
    assert set(m.onnx.variants) == set(BUILD_VARIANTS["detector"])
    for variant in BUILD_VARIANTS["detector"]:
        path = detector_build / VARIANT_FILES[variant]
        check_onnx(path)
        role = m.onnx.variants[variant]["file_role"]
        assert (
            verify_file(
                detector_build, json.loads((detector_build / "manifest.json").read_text()), role
            )
            == path
        )
    assert m.metrics["heldout"]["frames"] == 2 and m.data["counts"]["calibrate"]["frames"] == 2
    assert m.data["counts"]["train"]["frames"] == 6
    assert not (detector_build / "checkpoint.pt").exists()
    assert not any(p.name.endswith(".partial") for p in detector_build.parent.iterdir())
    log = [
        json.loads(line) for line in (detector_build / "train_log.jsonl").read_text().splitlines()
    ]
    assert [r["step"] for r in log] == [2, 4] and all("ap" in r for r in log)


def test_onnx_runtime_equals_pytorch_and_variants_run(detector_build, gt_frames, tmp_path):
    """The exported network computes PyTorch's head maps; decoded outputs are compared on real
    frames by benchmarks/detector_parity.py (a 4-step model's near-flat maps make peaks ties)."""
    import cv2

    from edgexai.core.preprocess import resize_frame
    from edgexai.deploy.runtime import open_session
    from edgexai.train.detector.job import load_detector
    from edgexai.train.export.onnx_export import export_graph

    frames = np.stack(
        [resize_frame(cv2.imread(str(gt_frames / f"{i:05d}.jpg")), 160, 96) for i in range(3)]
    )
    net = load_detector(detector_build / "model.pt")
    raw = export_graph(
        net, torch.from_numpy(frames[:2]), "frames", ["heat", "reg"], tmp_path / "raw.onnx"
    )
    heat, reg = ort.InferenceSession(str(raw)).run(None, {"frames": frames})
    with torch.no_grad():
        ref_heat, ref_reg = (t.numpy() for t in net(torch.from_numpy(frames)))
    np.testing.assert_allclose(heat, ref_heat, atol=1e-4)
    np.testing.assert_allclose(reg, ref_reg, atol=1e-4)
    ref = open_session(detector_build, "torch").run(frames)
    got = open_session(detector_build, "ort").run(frames)
    assert got["scores"][:, 0] == pytest.approx(ref["scores"][:, 0], abs=1e-5)
    for precision in ("fp16", "int8"):
        out = open_session(detector_build, "ort", precision).run(frames)
        assert out["boxes"].shape == ref["boxes"].shape and out["boxes"].dtype == np.float32
        assert np.isfinite(out["scores"]).all()
    with pytest.raises(EdgexaiError, match="must be uint8"):
        open_session(detector_build, "ort").run(frames.astype(np.float32))


def test_resume_continues_to_the_same_weights(gt_frames, tmp_path):
    from edgexai.train.detector.job import build_detector, load_detector

    straight = build_detector(_options(tmp_path / "a", gt_frames, steps=4))

    class Stop(Exception):
        pass

    import edgexai.train.detector.detector_training as train_mod

    original = train_mod.DetectorTrainer._checkpoint

    def crash_after_first(self, running):
        original(self, running)
        raise Stop

    train_mod.DetectorTrainer._checkpoint = crash_after_first
    try:
        with pytest.raises(Stop):
            build_detector(_options(tmp_path / "b", gt_frames, steps=4))
    finally:
        train_mod.DetectorTrainer._checkpoint = original
    partial = tmp_path / "b" / "out" / "detector-s0.partial"
    assert (partial / "checkpoint.pt").is_file() and not (
        tmp_path / "b" / "out" / "detector-s0"
    ).exists()
    resumed = build_detector(_options(tmp_path / "b", gt_frames, steps=4, resume=True))
    a, b = load_detector(straight / "model.pt"), load_detector(resumed / "model.pt")
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(va, vb), k


def test_a_finished_build_is_not_overwritten_without_force(detector_build, gt_frames):
    from edgexai.train.detector.job import build_detector

    out = detector_build.parent
    before = (detector_build / "manifest.json").read_bytes()
    with pytest.raises(EdgexaiError, match="--force"):
        build_detector(_options(out.parent, gt_frames))
    assert (detector_build / "manifest.json").read_bytes() == before


def test_bad_options_are_one_line_errors(gt_frames, tmp_path):
    from support import run_cli

    proc = run_cli(
        "detector",
        "train",
        "--frames",
        str(gt_frames),
        "--train",
        "0:8",
        "--heldout",
        "4:10",
        "--out",
        str(tmp_path),
    )
    assert proc.returncode == 1 and "overlap" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("detector", "train", "--frames", str(tmp_path), "--out", str(tmp_path))
    assert proc.returncode == 1 and "gt.txt" in proc.stderr
    proc = run_cli("detector", "train", "--steps", "0")
    assert proc.returncode == 2 and "positive" in proc.stderr


def test_ground_truth_a_detector_cannot_learn_from_is_refused(gt_frames, tmp_path, capsys):
    """Issue 43 item 10: an empty gt.txt or one naming no frame built a detector with held-out
    AP nan that found nothing; --heldout selecting no frame built without a word."""
    import shutil

    from edgexai.train.detector.job import build_detector

    frames = Path(shutil.copytree(gt_frames, tmp_path / "frames"))
    gt = (frames / "gt.txt").read_text()
    (frames / "gt.txt").write_text("")
    with pytest.raises(EdgexaiError, match="no training frame .* has a sign"):
        build_detector(_options(tmp_path, frames))
    (frames / "gt.txt").write_text(gt.replace("000", "900", 1))  # 90000.ppm: no such frame
    with pytest.raises(EdgexaiError, match=r"names \d+ frame\(s\) that are not in the folder"):
        build_detector(_options(tmp_path, frames))
    (frames / "gt.txt").write_text(
        "\n".join(line for line in gt.splitlines() if int(line[:5]) < 8) + "\n"
    )
    with pytest.raises(EdgexaiError, match="held-out frames .* hold no sign"):
        build_detector(_options(tmp_path, frames))
    (frames / "gt.txt").write_text(gt)
    out = build_detector(_options(tmp_path, frames, heldout=(20, 30), name="no-heldout"))
    assert "--heldout 20:30 selects no frame" in capsys.readouterr().err
    assert (out / "manifest.json").is_file()


def test_samples_are_a_function_of_the_step(gt_frames):
    from edgexai.train.data.gtsdb_frames import frame_files, read_gt
    from edgexai.train.detector.data import DataConfig, SampleMaker, load_frames, real_sign_patches

    fs = load_frames(frame_files(gt_frames)[:4], read_gt(gt_frames))
    maker = SampleMaker(
        fs, [], real_sign_patches(fs), DataConfig(crop=64, batch=3), (160, 96), 4, 7
    )
    a, ta = maker.batch(5)
    b, tb = maker.batch(5)
    c, _ = maker.batch(6)
    assert np.array_equal(a, b) and all(np.array_equal(ta[k], tb[k]) for k in ta)
    assert not np.array_equal(a, c)
    assert ta["heat"].shape == (3, 1, 16, 16) and ta["heat"].max() == 1.0


def test_scoring_rules():
    gt = {"a": [(10, 10, 40, 40, 1), (100, 100, 110, 110, 2)], "b": []}
    dets = {
        "a": FrameDets(
            np.array([[11, 11, 40, 40], [100, 100, 110, 110], [200, 0, 230, 30]], np.float32),
            np.array([0.9, 0.8, 0.7]),
            np.array([1, 2, 1]),
        ),
        "b": FrameDets(np.array([[0, 0, 30, 30]], np.float32), np.array([0.6]), np.array([3])),
    }
    out = match_frames(dets, gt, min_size=20)
    # one big sign (recall base), found at 0.9; the 10-px sign's hit is neither TP nor FP for AP
    assert out.sign_big.sum() == 1 and ap(out) == pytest.approx(1.0)
    r = at_threshold(out, 0.65)
    assert r["recall"] == 1.0 and r["precision"] == pytest.approx(2 / 3)  # small-sign hit counts
    assert r["false_alarms_per_empty_frame"] == 0.0
    assert at_threshold(out, 0.5)["false_alarms_per_empty_frame"] == 1.0
    wrong = {"a": FrameDets(dets["a"].boxes[:1], np.array([0.9]), np.array([5]))}
    assert ap(match_frames(wrong, gt)) == 0.0  # class-aware: wrong class
    assert ap(match_frames(wrong, gt, class_aware=False)) == pytest.approx(1.0)


def test_calibrate_runs_the_pipeline_and_writes_a_decision_the_build_keeps(
    detector_build, gt_frames, tmp_path
):
    import shutil

    from support import run_cli
    from support.pipeline import write_onnx_build

    from edgexai.core.manifest import load

    det = tmp_path / "det"
    shutil.copytree(detector_build, det)
    cls = write_onnx_build(tmp_path / "cls")  # ONNX only: its graph's digest names it
    argv = ["detector", "calibrate", "--detector", str(det), "--model", str(cls)]
    argv += ["--gt", str(gt_frames), "--frames", "0:10", "--mod", "none"]
    proc = run_cli(*argv, "--target-precision", "0")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert [line.split(":")[0].strip() for line in lines[:3]] == ["sign", "confidence", "product"]
    decision = json.loads(lines[3].removeprefix("decision: "))
    assert lines[4] == f"written to {det}/manifest.json"
    assert load(det).decision == decision
    assert decision["source"] == (
        "edgexai detector calibrate: frames 0:10 mod none, target precision 0.0, classifier cls "
        f"(onnx sha256 {load(cls).files['onnx'].sha256[:12]})"
    )
    assert decision["calibration"]["recall"] == json.loads(lines[2].split(": ", 1)[1])["recall"]
