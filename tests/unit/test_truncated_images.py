"""Issue 43, item 12 and the detector's gt tracebacks: a truncated JPEG is refused in training
data (OpenCV decoded it grey below the cut, with only libjpeg's note on stderr), a camera trailer
after the end marker is not, and a gt.txt box that leaves its frame is one line (it was a
cv2.error in the paste synthesiser)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from support.data import make_image_folder

from edgexai.core.errors import EdgexaiError
from edgexai.core.image_files import truncated_jpeg
from edgexai.train.data.folder import load_arrays, scan
from edgexai.train.detector.data import load_frames


def _jpeg(path: Path, h: int = 64, w: int = 80) -> Path:
    rng = np.random.default_rng(0)
    cv2.imwrite(str(path), rng.integers(0, 256, (h, w, 3), np.uint8))
    return path


def test_a_cut_jpeg_is_truncated_and_a_trailer_is_not(tmp_path):
    whole = _jpeg(tmp_path / "a.jpg")
    data = whole.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) * 2 // 3])
    trailer = tmp_path / "trailer.jpg"
    trailer.write_bytes(data + b"SEFT-like camera trailer\x00\x00")
    png = tmp_path / "a.png"
    cv2.imwrite(str(png), np.zeros((8, 8, 3), np.uint8))
    assert cv2.imread(str(cut)) is not None  # what made the silent case: it still decodes
    assert truncated_jpeg(cut)
    assert not truncated_jpeg(whole) and not truncated_jpeg(trailer) and not truncated_jpeg(png)


def test_a_dataset_with_a_truncated_jpeg_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEXAI_CACHE", str(tmp_path / "cache"))
    root = make_image_folder(tmp_path / "d", ("a", "b"), per_class=3, labels_txt=False)
    victim = next(p for p in sorted((root / "a").iterdir()) if p.suffix == ".jpg")
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(EdgexaiError, match=r"a/.*\.jpg is a truncated JPEG"):
        load_arrays(scan(root), 16, progress=False)


def test_detector_frames_refuse_a_truncated_frame_and_a_box_leaving_its_frame(tmp_path):
    frame = _jpeg(tmp_path / "00000.jpg", 100, 120)
    good = [(10.0, 10.0, 40.0, 40.0, 1)]
    assert len(load_frames([frame], {"00000": good}).images) == 1
    with pytest.raises(EdgexaiError, match="leaves its 120×100 frame"):
        load_frames([frame], {"00000": [(100.0, 10.0, 160.0, 40.0, 1)]})
    data = frame.read_bytes()
    frame.write_bytes(data[: len(data) // 2])
    with pytest.raises(EdgexaiError, match="truncated JPEG"):
        load_frames([frame], {"00000": good})
