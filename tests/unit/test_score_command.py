"""`edgexai score`, `edgexai gtsdb` and `edgexai rejector train` (the commands that replaced
tools/score_gtsdb.py's logic, tools/gtsdb.py and tools/train_rejector.py), and the GTSDB frame
splits in edgexai.train.data.gtsdb_frames."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgexai.cli import main

GT = (
    "00400.ppm;100;100;139;139;1\n00400.ppm;300;100;309;109;2\n00401.ppm;10;10;49;49;14\n"
    "00403.ppm;200;200;260;260;33\n"
)
RECORDS = [
    {"event": "start"},
    {
        "frame": 0,
        "file": "00400.jpg",
        "detections": [
            {
                "box": [101, 101, 140, 140],
                "class_id": 1,
                "score": 0.9,
                "confidence": 0.95,
                "sign_score": 0.947,
            },
            {
                "box": [300, 100, 310, 110],
                "class_id": 2,
                "score": 0.8,
                "confidence": 0.9,
                "sign_score": 0.889,
            },
            {
                "box": [500, 500, 540, 540],
                "class_id": 3,
                "score": 0.7,
                "confidence": 0.8,
                "sign_score": 0.875,
            },
        ],
    },
    {
        "frame": 1,
        "file": "00401.jpg",
        "detections": [
            {
                "box": [10, 10, 50, 50],
                "class_id": 13,
                "score": 0.6,
                "confidence": 0.7,
                "sign_score": 0.857,
            }
        ],
    },
    {
        "frame": 2,
        "file": "00402.jpg",
        "detections": [
            {
                "box": [5, 5, 45, 45],
                "class_id": 1,
                "score": 0.3,
                "confidence": 0.5,
                "sign_score": 0.6,
            }
        ],
    },
    {
        "frame": 3,
        "file": "00403.jpg",
        "detections": [
            {
                "box": [201, 199, 262, 259],
                "class_id": 33,
                "score": 0.55,
                "confidence": 0.6,
                "sign_score": 0.917,
            }
        ],
    },
    {"frame": 4, "file": "00700.jpg", "detections": []},
    {"event": "summary"},
]

# tools/score_gtsdb.py's exact stdout on this log (git fb89f84, before the logic moved into the
# package), byte for byte: the command must keep both the numbers and the format
TOOL_DEFAULT = """{
 "frames": 4,
 "signs": 3,
 "empty_frames": 1,
 "ap": 0.5,
 "ap_per_category": {
  "prohibitory": 1.0,
  "danger": NaN,
  "mandatory": 1.0
 },
 "at_threshold": {
  "threshold": 0.0,
  "recall": 0.6667,
  "precision": 0.5,
  "detections": 6,
  "false_alarms_per_frame": 0.75,
  "false_alarms_per_empty_frame": 1.0
 },
 "class_agnostic": {
  "ap": 0.8333,
  "recall": 1.0,
  "precision": 0.6667
 }
}
"""
TOOL_JSON_MOD = (
    '{"frames": 2, "signs": 1, "empty_frames": 1, "ap": 1.0, "ap_per_category": {"prohibitory": '
    '1.0, "danger": NaN, "mandatory": NaN}, "at_threshold": {"threshold": 0.5, "recall": 1.0, '
    '"precision": 0.6667, "detections": 3, "false_alarms_per_frame": 0.5, '
    '"false_alarms_per_empty_frame": 0.0}, "class_agnostic": {"ap": 1.0, "recall": 1.0, '
    '"precision": 0.6667}}\n'
)
TOOL_JSON_MIN_SIZE = (
    '{"frames": 4, "signs": 4, "empty_frames": 1, "ap": 0.65, "ap_per_category": {"prohibitory": '
    '1.0, "danger": NaN, "mandatory": 1.0}, "at_threshold": {"threshold": 0.0, "recall": 0.75, '
    '"precision": 0.5, "detections": 6, "false_alarms_per_frame": 0.75, '
    '"false_alarms_per_empty_frame": 1.0}, "class_agnostic": {"ap": 0.9, "recall": 1.0, '
    '"precision": 0.6667}}\n'
)


@pytest.fixture
def scored(tmp_path) -> tuple[Path, Path]:
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "gt.txt").write_text(GT)
    log = tmp_path / "run.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return log, gt


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize(
    "extra, expected",
    [
        ((), TOOL_DEFAULT),
        (("--json", "--threshold", "0.5", "--mod", "2:0"), TOOL_JSON_MOD),
        (("--json", "--frames", "400:404", "--min-size", "5"), TOOL_JSON_MIN_SIZE),
    ],
)
def test_score_prints_what_the_tool_printed(scored, capsys, extra, expected):
    log, gt = scored
    argv = ["score", "--log", str(log), "--gt", str(gt)]
    if "--frames" not in extra:
        argv += ["--frames", "400:600"]
    rc, out, err = cli(capsys, *argv, *extra)
    assert rc == 0, err
    assert out == expected


def test_score_reads_rotated_parts_and_finds_gtsdb_from_the_data_root(
    scored, capsys, monkeypatch, tmp_path
):
    log, gt = scored
    lines = log.read_text().splitlines(keepends=True)
    (tmp_path / "run.jsonl.1").write_text("".join(lines[:3]))  # the older part: frames 400, 401
    log.write_text("".join(lines[3:]))
    monkeypatch.setenv("EDGEXAI_DATA", str(gt.parent))
    (gt.parent / "gtsdb").symlink_to(gt)
    (gt / "00400.jpg").write_bytes(b"\xff\xd8\xff")  # locate_gtsdb wants frames beside gt.txt
    rc, out, err = cli(capsys, "score", "--log", str(log))
    assert rc == 0, err
    assert out == TOOL_DEFAULT


def test_score_calibrate_sweeps_the_decision(scored, capsys):
    log, gt = scored
    rc, out, err = cli(
        capsys,
        "score",
        "--log",
        str(log),
        "--gt",
        str(gt),
        "--frames",
        "400:600",
        "--calibrate",
        "--target-precision",
        "0.6",
        "--json",
    )
    assert rc == 0, err
    r = json.loads(out)
    assert r["frames"] == 4 and r["target_precision"] == 0.6
    assert set(r) == {"frames", "target_precision", "product", "sign", "confidence"}
    assert r["product"]["rule"] == "product" and r["product"]["precision"] >= 0.6
    assert {"min_score", "min_sign_score", "recall", "precision"} <= set(r["product"])


@pytest.mark.parametrize(
    "argv, rc, text",
    [
        (("--frames", "600:400"), 2, "expected 0 ≤ START < STOP"),
        (("--mod", "4:4"), 2, "expected 0 ≤ R < M"),
        (("--threshold", "1.5"), 2, "expected a value in [0, 1]"),
        (("--min-size", "0"), 2, "expected a positive number"),
        (("--frames", "0:100"), 1, "no frame numbered in 0:100"),
    ],
)
def test_score_refuses_in_one_line(scored, capsys, argv, rc, text):
    log, gt = scored
    code, out, err = cli(capsys, "score", "--log", str(log), "--gt", str(gt), *argv)
    assert code == rc and text in err and len(err.strip().splitlines()) == 1, err


def test_score_names_a_missing_log_or_ground_truth(tmp_path, capsys, monkeypatch):
    rc, _, err = cli(capsys, "score", "--log", str(tmp_path / "nope.jsonl"), "--gt", str(tmp_path))
    assert rc == 1 and "no gt.txt there" in err
    (tmp_path / "gt.txt").write_text(GT)
    rc, _, err = cli(capsys, "score", "--log", str(tmp_path / "nope.jsonl"), "--gt", str(tmp_path))
    assert rc == 1 and "no such file" in err
    monkeypatch.delenv("EDGEXAI_DATA", raising=False)
    rc, _, err = cli(capsys, "score", "--log", str(tmp_path / "nope.jsonl"))
    assert rc == 1 and "GTSDB frames not found" in err and "EDGEXAI_DATA" in err


def _frames(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"{i:05d}.jpg").write_bytes(b"\xff\xd8\xff")
    (folder / "gt.txt").write_text("00003.ppm;1;2;30;40;5\nnotes.ppm;1;2;30;40;5\n")
    return folder


def test_frame_splits_are_the_project_s():
    from edgexai.train.data.gtsdb_frames import CALIBRATION, DEVELOPMENT, HELDOUT, SPLITS

    assert (DEVELOPMENT.start, DEVELOPMENT.stop, DEVELOPMENT.mod) == (0, 400, None)
    assert CALIBRATION.numbers() == list(range(3, 400, 4))
    assert HELDOUT.numbers() == list(range(400, 600))
    assert 403 in HELDOUT and 399 not in HELDOUT and 7 in CALIBRATION and 8 not in CALIBRATION
    assert set(SPLITS) == {"tune", "tuneval", "heldout"}


def test_gt_by_number_and_require_gtsdb(tmp_path, monkeypatch):
    from edgexai.core.errors import EdgexaiError
    from edgexai.train.data.gtsdb_frames import gt_by_number, require_gtsdb

    folder = _frames(tmp_path / "data" / "gtsdb", 2)
    assert gt_by_number(folder) == {3: [(1.0, 2.0, 31.0, 41.0, 5)]}
    assert require_gtsdb(tmp_path / "data") == folder
    monkeypatch.setenv("EDGEXAI_DATA", str(tmp_path / "data"))
    assert require_gtsdb() == folder
    with pytest.raises(EdgexaiError, match="GTSDB frames not found"):
        require_gtsdb(tmp_path / "elsewhere")


def test_gtsdb_command_prints_the_folder_or_links_one_split(tmp_path, capsys, monkeypatch):
    folder = _frames(tmp_path / "data" / "gtsdb", 10)
    monkeypatch.setenv("EDGEXAI_CACHE", str(tmp_path / "cache"))
    rc, out, err = cli(capsys, "gtsdb", "--data-root", str(tmp_path / "data"))
    assert rc == 0 and out.strip() == str(folder), err
    for _ in range(2):  # a second call keeps the links
        rc, out, err = cli(
            capsys, "gtsdb", "--data-root", str(tmp_path / "data"), "--split", "tuneval"
        )
        part = Path(out.strip())
        assert rc == 0 and part == tmp_path / "cache" / "gtsdb-dev-tuneval", err
        assert sorted(p.name for p in part.iterdir()) == ["00003.jpg", "00007.jpg"]
        assert (part / "00003.jpg").resolve() == (folder / "00003.jpg").resolve()
    rc, out, err = cli(
        capsys,
        "gtsdb",
        "--data-root",
        str(tmp_path / "data"),
        "--split",
        "heldout",
        "--dest",
        str(tmp_path / "held"),
    )
    assert (
        rc == 0
        and Path(out.strip()) == tmp_path / "held"
        and not any(part.parent.glob("gtsdb-dev-heldout"))
    )
    assert list((tmp_path / "held").iterdir()) == []  # no frame 400–599 in this folder
    rc, _, err = cli(capsys, "gtsdb", "--dest", str(tmp_path / "x"))
    assert rc == 1 and "--dest needs --split" in err


def test_rejector_train_needs_out_and_gtsdb(tmp_path, capsys, monkeypatch):
    rc, _, err = cli(capsys, "rejector", "train")
    assert rc == 2 and "--out" in err
    rc, _, err = cli(
        capsys, "rejector", "train", "--out", str(tmp_path / "r.npz"), "--target-recall", "2"
    )
    assert rc == 2 and "expected a value in [0, 1]" in err
    monkeypatch.delenv("EDGEXAI_DATA", raising=False)
    rc, _, err = cli(capsys, "rejector", "train", "--out", str(tmp_path / "r.npz"))
    assert rc == 1 and "GTSDB frames not found" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.npz").exists()
