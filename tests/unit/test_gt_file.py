"""Issue 43, item 11 and the gt.txt tracebacks: what a frame folder's gt.txt may hold. A BOM is
read, a Latin-1 byte is one line, a repeated line counts once with a warning, a box that is not
finite pixels, a class outside GTSRB's and two files of one frame are refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgexai.core.errors import EdgexaiError
from edgexai.train.data.gtsdb_frames import (
    check_boxes_in_frame,
    frame_files,
    gt_without_frames,
    read_gt,
)

GOOD = "00000.ppm;10;20;40;50;14\n00001.ppm;1;2;30;40;1\n"


def _folder(tmp_path: Path, gt: bytes | str, frames=("00000.jpg", "00001.jpg")) -> Path:
    for name in frames:
        (tmp_path / name).write_bytes(b"not decoded here")
    (tmp_path / "gt.txt").write_bytes(gt.encode() if isinstance(gt, str) else gt)
    return tmp_path


def test_a_byte_order_mark_keeps_the_first_frames_boxes(tmp_path):
    gt = read_gt(_folder(tmp_path, b"\xef\xbb\xbf" + GOOD.encode()))
    assert gt["00000"] == [(10.0, 20.0, 41.0, 51.0, 14)] and len(gt) == 2


def test_a_latin1_byte_is_one_line(tmp_path):
    folder = _folder(tmp_path, b"00000.ppm;10;20;40;50;14 # Stra\xdfe\n")
    with pytest.raises(EdgexaiError, match="not UTF-8 text.*0xdf"):
        read_gt(folder)


def test_a_repeated_line_counts_once_with_a_warning(tmp_path, capsys):
    gt = read_gt(_folder(tmp_path, GOOD + "00000.ppm;10;20;40;50;14\n"))
    assert len(gt["00000"]) == 1
    assert "line 3 (= 1) repeats an earlier line" in capsys.readouterr().err


@pytest.mark.parametrize(
    "line, word",
    [
        ("00000.ppm;inf;20;40;50;14", "finite"),
        ("00000.ppm;nan;20;40;50;14", "finite"),
        ("00000.ppm;-5;20;40;50;14", "finite"),
        ("00000.ppm;10;20;40;50;999", "not a GTSRB class id"),
        ("00000.ppm;40;20;10;50;1", "empty box"),
        ("00000.ppm;10;20;40;50", "expected file;x1;y1;x2;y2;class"),
    ],
)
def test_bad_boxes_are_refused_naming_the_line(tmp_path, line, word):
    with pytest.raises(EdgexaiError, match=f"gt.txt:2: .*{word}"):
        read_gt(_folder(tmp_path, f"00001.ppm;1;2;30;40;1\n{line}\n"))


def test_two_files_of_one_frame_are_refused(tmp_path):
    folder = _folder(tmp_path, GOOD, frames=("00000.jpg", "00001.jpg", "00001.png"))
    with pytest.raises(EdgexaiError, match="00001.jpg and 00001.png are one frame"):
        frame_files(folder)


def test_lines_naming_missing_frames_are_listed(tmp_path):
    folder = _folder(tmp_path, GOOD + "00007.ppm;1;2;30;40;1\n")
    assert gt_without_frames(folder, read_gt(folder)) == ["00007"]


def test_a_box_leaving_its_frame_is_refused():
    boxes = [(10.0, 20.0, 41.0, 51.0, 14), (300.0, 20.0, 1400.0, 51.0, 1)]
    check_boxes_in_frame(Path("00000.jpg"), boxes[:1], 1360, 800)
    with pytest.raises(EdgexaiError, match="leaves its 1360×800 frame"):
        check_boxes_in_frame(Path("00000.jpg"), boxes, 1360, 800)
    assert np.isfinite(boxes[0][:4]).all()
