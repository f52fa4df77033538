"""`edgexai detector calibrate` (what tools/calibrate_detector.py did): the pipeline over the
tuning frames is replaced by a log of fixed candidates, and the command must print and write what
the tool printed and wrote for the same candidates (the decision's `source` names the command)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from support.pipeline import write_onnx_build

import edgexai.commands.detector as detector_command
from edgexai.cli import main
from edgexai.core.manifest import load, update_manifest

GT = (
    "00003.ppm;100;100;139;139;1\n00003.ppm;300;100;329;129;2\n00004.ppm;50;50;89;89;5\n"
    "00007.ppm;10;10;49;49;14\n00011.ppm;200;200;259;259;33\n00403.ppm;10;10;49;49;1\n"
)
FRAMES = (3, 4, 7, 8, 11, 15, 403)


def _det(box: list[int], class_id: int, sign_score: float, confidence: float) -> dict:
    return {
        "box": box,
        "class_id": class_id,
        "score": round(sign_score * confidence, 4),
        "confidence": confidence,
        "sign_score": sign_score,
    }


# What the pipeline classifies in each frame (frame 403 lies outside the tuning frames)
CANDIDATES = {
    "00003": [
        _det([101, 101, 140, 140], 1, 0.95, 0.9),
        _det([300, 100, 330, 130], 2, 0.7, 0.6),
        _det([500, 300, 540, 340], 3, 0.4, 0.8),
    ],
    "00004": [_det([50, 50, 90, 90], 5, 0.99, 0.99)],
    "00007": [_det([10, 10, 50, 50], 14, 0.85, 0.97), _det([600, 10, 640, 50], 1, 0.3, 0.9)],
    "00008": [_det([400, 20, 440, 60], 7, 0.99, 0.99)],
    "00011": [_det([201, 199, 262, 259], 33, 0.5, 0.55), _det([0, 0, 40, 40], 2, 0.9, 0.3)],
    "00015": [_det([100, 300, 140, 340], 12, 0.6, 0.7)],
    "00403": [_det([10, 10, 50, 50], 1, 0.99, 0.99)],
}
MODEL_SHA = hashlib.sha256(b"weights").hexdigest()

# tools/calibrate_detector.py's exact stdout on these candidates (git e41eb06, its pipeline run
# replaced by the same log), with --dry-run
TOOL_DEFAULT = (
    '      sign: {"rule": "sign", "min_sign_score": 0.0, "min_score": 0.95, "recall": 0.25, "precision": 1.0, "false_alarms_per_frame": 0.0}\n'
    'confidence: {"rule": "confidence", "min_sign_score": 0.0, "min_score": 0.95, "recall": 0.25, "precision": 1.0, "false_alarms_per_frame": 0.0}\n'
    '   product: {"rule": "product", "min_sign_score": 0.7, "min_score": 0.4, "recall": 0.75, "precision": 1.0, "false_alarms_per_frame": 0.0}\n'
    'decision: {"min_score": 0.4, "min_sign_score": 0.7, "min_confidence": 0.0, "source": "tools/calibrate_detector.py: frames 0:400 mod 4:3, target precision 0.95, classifier cls (model sha256 9a129038d9a0)", "calibration": {"recall": 0.75, "precision": 1.0, "false_alarms_per_frame": 0.0}, "alternatives": {"sign": {"rule": "sign", "min_sign_score": 0.0, "min_score": 0.95, "recall": 0.25, "precision": 1.0, "false_alarms_per_frame": 0.0}, "confidence": {"rule": "confidence", "min_sign_score": 0.0, "min_score": 0.95, "recall": 0.25, "precision": 1.0, "false_alarms_per_frame": 0.0}}}\n'
)
TOOL_PRECISION_06 = (
    '      sign: {"rule": "sign", "min_sign_score": 0.0, "min_score": 0.5, "recall": 1.0, "precision": 0.6667, "false_alarms_per_frame": 0.5}\n'
    'confidence: {"rule": "confidence", "min_sign_score": 0.0, "min_score": 0.9, "recall": 0.5, "precision": 0.6667, "false_alarms_per_frame": 0.25}\n'
    '   product: {"rule": "product", "min_sign_score": 0.5, "min_score": 0.275, "recall": 1.0, "precision": 0.8, "false_alarms_per_frame": 0.25}\n'
    'decision: {"min_score": 0.275, "min_sign_score": 0.5, "min_confidence": 0.0, "source": "tools/calibrate_detector.py: frames 0:400 mod 4:3, target precision 0.6, classifier cls (model sha256 9a129038d9a0)", "calibration": {"recall": 1.0, "precision": 0.8, "false_alarms_per_frame": 0.25}, "alternatives": {"sign": {"rule": "sign", "min_sign_score": 0.0, "min_score": 0.5, "recall": 1.0, "precision": 0.6667, "false_alarms_per_frame": 0.5}, "confidence": {"rule": "confidence", "min_sign_score": 0.0, "min_score": 0.9, "recall": 0.5, "precision": 0.6667, "false_alarms_per_frame": 0.25}}}\n'
)
TOOL_ALL_FRAMES_06 = (
    '      sign: {"rule": "sign", "min_sign_score": 0.0, "min_score": 0.5, "recall": 1.0, "precision": 0.625, "false_alarms_per_frame": 0.5}\n'
    'confidence: {"rule": "confidence", "min_sign_score": 0.0, "min_score": 0.9, "recall": 0.6, "precision": 0.6, "false_alarms_per_frame": 0.3333}\n'
    '   product: {"rule": "product", "min_sign_score": 0.5, "min_score": 0.275, "recall": 1.0, "precision": 0.7143, "false_alarms_per_frame": 0.3333}\n'
    'decision: {"min_score": 0.275, "min_sign_score": 0.5, "min_confidence": 0.0, "source": "tools/calibrate_detector.py: frames 0:16 mod none, target precision 0.6, classifier cls (model sha256 9a129038d9a0)", "calibration": {"recall": 1.0, "precision": 0.7143, "false_alarms_per_frame": 0.3333}, "alternatives": {"sign": {"rule": "sign", "min_sign_score": 0.0, "min_score": 0.5, "recall": 1.0, "precision": 0.625, "false_alarms_per_frame": 0.5}, "confidence": {"rule": "confidence", "min_sign_score": 0.0, "min_score": 0.9, "recall": 0.6, "precision": 0.6, "false_alarms_per_frame": 0.3333}}}\n'
)


def as_command(tool_stdout: str) -> str:
    """The tool's output as the command prints it: only the decision's `source` differs."""
    return tool_stdout.replace("tools/calibrate_detector.py:", "edgexai detector calibrate:")


@pytest.fixture
def builds(tmp_path) -> tuple[Path, Path, Path]:
    """A GTSDB-like frame folder, a classifier build (named cls) and a detector build folder."""
    gt = tmp_path / "gtsdb"
    gt.mkdir()
    (gt / "gt.txt").write_text(GT)
    for n in FRAMES:
        (gt / f"{n:05d}.jpg").write_bytes(b"\xff\xd8\xff")
    cls = write_onnx_build(tmp_path / "cls")
    (cls / "model.pt").write_bytes(b"weights")
    update_manifest(
        cls,
        lambda m: m["files"].__setitem__("model", {"path": "model.pt", "sha256": MODEL_SHA}),
    )
    det = tmp_path / "det"
    det.mkdir()
    shipped = Path(detector_command.__file__).parents[1] / "deploy/pipeline/data/detector"
    shutil.copy(shipped / "manifest.json", det)
    return gt, cls, det


@pytest.fixture
def pipeline_runs(monkeypatch) -> list[dict]:
    """Stands in for the pipeline: logs CANDIDATES for the frames of the folder it is given."""
    runs: list[dict] = []

    def fake(frames: Path, model: str, detector: str, backend: str, log: Path) -> None:
        names = sorted(p.name for p in frames.iterdir())
        assert all((frames / n).resolve().is_file() for n in names)  # links that resolve
        runs.append({"frames": names, "model": model, "detector": detector, "backend": backend})
        records = [{"event": "start"}]
        records += [
            {"frame": i, "file": n, "detections": CANDIDATES.get(Path(n).stem, [])}
            for i, n in enumerate(names)
        ]
        log.write_text("".join(json.dumps(r) + "\n" for r in [*records, {"event": "summary"}]))

    monkeypatch.setattr(detector_command, "log_candidates", fake)
    return runs


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize(
    "extra, expected, frames",
    [
        ((), TOOL_DEFAULT, ["00003.jpg", "00007.jpg", "00011.jpg", "00015.jpg"]),
        (("--target-precision", "0.6"), TOOL_PRECISION_06, None),
        (
            ("--frames", "0:16", "--mod", "none", "--target-precision", "0.6"),
            TOOL_ALL_FRAMES_06,
            ["00003.jpg", "00004.jpg", "00007.jpg", "00008.jpg", "00011.jpg", "00015.jpg"],
        ),
    ],
)
def test_calibrate_prints_what_the_tool_printed(
    builds, pipeline_runs, capsys, extra, expected, frames
):
    gt, cls, det = builds
    before = (det / "manifest.json").read_bytes()
    argv = ["detector", "calibrate", "--detector", str(det), "--model", str(cls), "--gt", str(gt)]
    rc, out, err = cli(capsys, *argv, "--dry-run", *extra)
    assert rc == 0, err
    assert out == as_command(expected)
    assert (det / "manifest.json").read_bytes() == before  # --dry-run writes nothing
    (run,) = pipeline_runs
    assert run["frames"] == frames or frames is None
    assert (run["model"], run["detector"], run["backend"]) == (str(cls), str(det), "ort")


def test_calibrate_writes_the_decision_into_the_detector_manifest(
    builds, pipeline_runs, capsys, monkeypatch
):
    gt, cls, det = builds
    monkeypatch.chdir(gt.parent)  # relative folders: the frame links still resolve
    rc, out, err = cli(
        capsys,
        "detector",
        "calibrate",
        "--detector",
        "det",
        "--model",
        "cls",
        "--gt",
        "gtsdb",
        "--target-precision",
        "0.6",
    )
    assert rc == 0, err
    printed = as_command(TOOL_PRECISION_06)
    assert out == printed + "written to det/manifest.json\n"
    decision = json.loads(printed.split("decision: ")[1])
    assert load(det).decision == decision
    assert json.loads((det / "manifest.json").read_text())["decision"] == decision
    assert decision["source"].startswith("edgexai detector calibrate: frames 0:400 mod 4:3")
    assert decision["source"].endswith(f"classifier cls (model sha256 {MODEL_SHA[:12]})")


def test_calibrate_finds_gtsdb_from_the_data_root(builds, pipeline_runs, capsys, monkeypatch):
    gt, cls, det = builds
    monkeypatch.setenv("EDGEXAI_DATA", str(gt.parent))
    rc, out, err = cli(
        capsys, "detector", "calibrate", "--detector", str(det), "--model", str(cls), "--dry-run"
    )
    assert rc == 0 and out == as_command(TOOL_DEFAULT), err


def test_calibrate_says_when_no_threshold_reaches_the_target(builds, pipeline_runs, capsys):
    gt, cls, det = builds
    before = (det / "manifest.json").read_bytes()
    argv = ["detector", "calibrate", "--detector", str(det), "--model", str(cls), "--gt", str(gt)]
    rc, out, err = cli(capsys, *argv, "--frames", "8:9", "--mod", "none")
    assert rc == 1 and "no threshold reaches precision 0.95 on these frames" in err
    assert out == "      sign: null\nconfidence: null\n   product: null\n"
    assert (det / "manifest.json").read_bytes() == before


@pytest.mark.parametrize(
    "argv, rc, text",
    [
        (("--frames", "400:0"), 2, "expected 0 ≤ START < STOP"),
        (("--mod", "4:4"), 2, "expected 0 ≤ R < M"),
        (("--target-precision", "1.5"), 2, "expected a value in [0, 1]"),
        (("--backend", "tpu"), 2, "invalid choice: 'tpu'"),
        (("--frames", "500:600"), 1, "no frame numbered in 500:600 mod 4:3"),
    ],
)
def test_calibrate_refuses_in_one_line(builds, pipeline_runs, capsys, argv, rc, text):
    gt, cls, det = builds
    code, out, err = cli(
        capsys,
        "detector",
        "calibrate",
        "--detector",
        str(det),
        "--model",
        str(cls),
        "--gt",
        str(gt),
        *argv,
    )
    assert code == rc and text in err and len(err.strip().splitlines()) == 1, err
    assert pipeline_runs == []
