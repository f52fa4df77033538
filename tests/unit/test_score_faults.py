"""Issue 43's `edgexai score` tracebacks: a backup file beside the log, and a log whose
detections are not what `run` writes, are one line (and the backup is not read)."""

from __future__ import annotations

import json

import pytest
from test_score_command import GT, RECORDS, cli


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "gt.txt").write_text(GT)
    return tmp_path


def _log(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_a_backup_beside_the_log_is_not_a_rotated_part(folder, capsys):
    log = _log(folder / "run.jsonl", RECORDS)
    (folder / "run.jsonl.1.bak").write_text("not a log\n")
    (folder / "run.jsonl.old").write_text("not a log\n")
    rc, out, err = cli(capsys, "score", "--log", log, "--gt", str(folder), "--json")
    assert rc == 0 and json.loads(out)["frames"] == 4, err


@pytest.mark.parametrize(
    "detection, text",
    [
        ({"box": [1, 2, 3, 4], "class_id": 1}, "a detection lacks the field 'score'"),
        ("a string", "a detection is not a record of box, score and class_id"),
        ({"box": "x", "class_id": 1, "score": 0.5}, "not a record of box, score and class_id"),
    ],
)
def test_a_malformed_detection_says_which_way_in_one_line(folder, capsys, detection, text):
    records = [{"event": "start"}, {"frame": 0, "file": "00400.jpg", "detections": [detection]}]
    log = _log(folder / "bad.jsonl", records)
    rc, _, err = cli(capsys, "score", "--log", log, "--gt", str(folder))
    assert rc == 1 and text in err and len(err.strip().splitlines()) == 1, err


def test_a_frame_record_without_a_file_name_is_one_line(folder, capsys):
    log = _log(folder / "bad.jsonl", [{"frame": 0, "file": 400, "detections": []}])
    rc, _, err = cli(capsys, "score", "--log", log, "--gt", str(folder))
    assert rc == 1 and "`file` is not a file name" in err, err


def test_a_gt_box_larger_than_its_frame_is_one_line(folder, capsys):
    """Item 11: a 100000-px box was accepted (a sign no detection can match)."""
    import cv2
    import numpy as np

    cv2.imwrite(str(folder / "00400.jpg"), np.zeros((800, 1360, 3), np.uint8))
    log = _log(folder / "run.jsonl", RECORDS)
    rc, _, err = cli(capsys, "score", "--log", log, "--gt", str(folder))
    assert rc == 0, err  # GT's boxes all lie inside a 1360×800 frame
    (folder / "gt.txt").write_text(GT + "00400.ppm;100;100;100000;100139;1\n")
    rc, _, err = cli(capsys, "score", "--log", log, "--gt", str(folder))
    assert rc == 1 and "leaves its 1360×800 frame" in err, err
