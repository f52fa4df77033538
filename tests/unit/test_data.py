import numpy as np
import pytest

from edgexai.core.errors import EdgexaiError
from edgexai.train.data.gtsrb import list_samples, load_split
from edgexai.train.data.locate import locate_gtsrb
from edgexai.train.data.split import limit_per_class, split_by_track


def test_locate_from_layout_folder(fake_gtsrb):
    src = locate_gtsrb(fake_gtsrb)
    assert src.root == fake_gtsrb and src.digest.startswith("listing:")
    # naming the gtsrb/ folder itself works too
    assert locate_gtsrb(fake_gtsrb / "gtsrb").root == fake_gtsrb


def test_locate_from_archive_and_its_folder_unpacks_once(fake_archive):
    a = locate_gtsrb(fake_archive)
    assert a.digest.startswith("sha256:") and (a.root / "gtsrb" / "GTSRB" / "Training").is_dir()
    mtime = a.root.stat().st_mtime_ns
    b = locate_gtsrb(fake_archive.parent)
    assert b == a and a.root.stat().st_mtime_ns == mtime


def test_corrupt_and_truncated_archives_are_refused(tmp_path, fake_archive):
    bad = tmp_path / "gtsrb.tar.gz"
    bad.write_bytes(b"garbage " * 200)
    with pytest.raises(EdgexaiError, match="not a tar archive"):
        locate_gtsrb(bad)
    cut = tmp_path / "cut" / "gtsrb.tar.gz"
    cut.parent.mkdir()
    cut.write_bytes(fake_archive.read_bytes()[: fake_archive.stat().st_size // 2])
    with pytest.raises(EdgexaiError, match="corrupt or truncated|not a tar archive"):
        locate_gtsrb(cut)


def test_missing_data_offline_says_how(tmp_path):
    with pytest.raises(EdgexaiError, match="EDGEXAI_DATA"):
        locate_gtsrb(tmp_path / "nowhere")
    with pytest.raises(EdgexaiError, match="--data-root"):
        locate_gtsrb(None, download=False)


def test_samples_carry_tracks_and_rois(fake_gtsrb):
    src = locate_gtsrb(fake_gtsrb)
    train = list_samples(src, "train")
    test = list_samples(src, "test")
    assert len(train) == 43 * 2 * 3 and len(test) == 43 * 3
    assert {s.track for s in train if s.label == 5} == {5000, 5001}
    assert all(s.track == -1 for s in test)
    assert train[0].roi == (6, 6, train[0].roi[2], train[0].roi[3])


def test_decode_and_cache(fake_gtsrb):
    src = locate_gtsrb(fake_gtsrb)
    a = load_split(src, "train", 32, progress=False)
    b = load_split(src, "train", 32, progress=False)  # from the cache
    assert a.images.shape == (258, 32, 32, 3) and a.images.dtype == np.uint8
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    roi = load_split(src, "train", 32, roi=True, progress=False)
    assert not np.array_equal(roi.images, a.images)


def test_validation_split_never_shares_a_track(fake_gtsrb):
    data = load_split(locate_gtsrb(fake_gtsrb), "train", 32, progress=False)
    train, val = split_by_track(data, 0.5, seed=0)
    assert len(train) + len(val) == len(data) and len(val) > 0
    assert not set(train.tracks.tolist()) & set(val.tracks.tolist())
    # every class keeps training images
    assert set(train.labels.tolist()) == set(range(43))


def test_limit_per_class(fake_gtsrb):
    data = load_split(locate_gtsrb(fake_gtsrb), "train", 32, progress=False)
    small = limit_per_class(data, 2, seed=0)
    assert np.bincount(small.labels).max() == 2 and len(small) == 86
    assert limit_per_class(data, None) is data


def test_gtsdb_frames_are_found_as_a_folder_or_an_archive_and_never_downloaded(
    tmp_path, monkeypatch
):
    import tarfile

    from edgexai.core.errors import EdgexaiError
    from edgexai.train.data.gtsdb_frames import locate_gtsdb

    frames = tmp_path / "src" / "gtsdb"
    frames.mkdir(parents=True)
    (frames / "00000.jpg").write_bytes(b"\xff\xd8\xff")
    (frames / "gt.txt").write_text("00000.ppm;1;2;3;4;5\n")
    assert locate_gtsdb(str(tmp_path / "src")) == frames
    packed = tmp_path / "packed"
    packed.mkdir()
    with tarfile.open(packed / "gtsdb-dev.tar", "w") as tar:
        tar.add(frames, arcname="gtsdb")
    found = locate_gtsdb(str(packed))
    assert found is not None and (found / "gt.txt").is_file() and found != frames
    assert locate_gtsdb(str(packed)) == found  # unpacked once, then reused
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "gtsdb-dev.tar").write_bytes(b"not a tar")
    with pytest.raises(EdgexaiError, match="could not be unpacked"):
        locate_gtsdb(str(bad))
    monkeypatch.delenv("EDGEXAI_DATA", raising=False)
    assert locate_gtsdb(None) is None
    assert locate_gtsdb(str(tmp_path / "nothing-here")) is None


def test_roi_framing_is_the_vehicles_crop_framing(fake_gtsrb):
    """A GTSRB sign cropped at its ROI for training is framed exactly as `edgexai run` frames a
    found sign with the same tight box (one definition: edgexai.core.preprocess.pad_boxes)."""
    from edgexai.core.batching import extract_crops
    from edgexai.core.preprocess import CROP_MARGIN, pad_boxes, read_rgb
    from edgexai.train.data.gtsrb import _decode

    sample = list_samples(locate_gtsrb(fake_gtsrb), "train")[0]
    x1, y1, x2, y2 = sample.roi  # inclusive, as GTSRB's CSV gives them
    rgb = read_rgb(sample.path)
    tight = np.array([[x1, y1, x2 + 1, y2 + 1]], np.float32)  # the pipeline's boxes: x2 exclusive
    vehicle = extract_crops(np.ascontiguousarray(rgb[..., ::-1]), pad_boxes(tight, rgb.shape), 32)
    assert np.array_equal(_decode(sample, 32, roi=True), vehicle[0])
    gx1, gy1, gx2, gy2 = pad_boxes(tight, rgb.shape)[0]
    margin = max((x2 + 1 - x1) * CROP_MARGIN, 2)
    assert abs((x1 - gx1) - margin) <= 0.5 and abs((gx2 - x2 - 1) - margin) <= 0.5
    assert (gx1, gy1) != (0, 0)  # tighter than the whole image: the ROI crop does something
