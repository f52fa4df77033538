"""Own datasets (ImageFolder): class ids from folders or labels.txt, groups.csv, the seeded test
split, the digest, and the one-line errors for data that does not fit."""

from __future__ import annotations

import numpy as np
import pytest
from support.data import make_image_folder

from edgexai.core.errors import EdgexaiError
from edgexai.train.build_options import BuildOptions
from edgexai.train.builder import validate
from edgexai.train.data import datasets
from edgexai.train.data.folder import scan

NAMES = ("stop", "yield", "priority road")


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def _opts(root, **kw) -> BuildOptions:
    return BuildOptions(dataset=str(root), progress=False, **kw)


def test_without_labels_txt_ids_follow_sorted_folder_names(tmp_path):
    root = make_image_folder(tmp_path / "d", ("b", "c", "a"), per_class=2, labels_txt=False)
    ds = scan(root)
    assert ds.classes == ("a", "b", "c")
    assert {f.split("/")[0]: label for f, label in zip(ds.files, ds.labels, strict=True)} == {
        "a": 0,
        "b": 1,
        "c": 2,
    }


def test_labels_txt_names_and_padded_integer_ids_give_the_line_order(tmp_path):
    named = make_image_folder(tmp_path / "n", NAMES, per_class=2, folder_names=NAMES)
    ids = make_image_folder(tmp_path / "i", NAMES, per_class=2, folder_names=("2", "00000", "01"))
    assert scan(named).classes == NAMES == scan(ids).classes
    by_folder = {f.split("/")[0]: label for f, label in zip(*_files_labels(ids), strict=True)}
    assert by_folder == {"00000": 0, "01": 1, "2": 2}
    # trailing blank lines are ignored; a name folder and an id folder mix
    (ids / "labels.txt").write_text("stop\nyield\npriority road\n\n\n")
    (ids / "01").rename(ids / "yield")
    assert scan(ids).classes == NAMES


def _files_labels(root):
    ds = scan(root)
    return ds.files, ds.labels


def test_labels_txt_that_disagrees_with_the_folders_says_how_in_one_line(tmp_path):
    root = make_image_folder(tmp_path / "d", NAMES, per_class=1, folder_names=NAMES)
    make_image_folder(tmp_path / "d", ("cat",), per_class=1, labels_txt=False)
    with pytest.raises(EdgexaiError) as exc:
        scan(root)
    msg = _one_line(exc)
    assert "labels.txt names 3 classes but" in msg and "has 4 class folders" in msg
    assert "folder 'cat' is neither a name in labels.txt nor a class id" in msg
    (root / "cat").rename(root / "7")  # out of range: not a class id either
    with pytest.raises(EdgexaiError, match="folder '7' is neither"):
        scan(root)
    (root / "7").rename(root / "0")  # stands for 'stop', which has its own folder
    with pytest.raises(EdgexaiError, match="folders '0' and 'stop' both stand for class 0"):
        scan(root)
    import shutil

    shutil.rmtree(root / "0")
    shutil.rmtree(root / "yield")
    with pytest.raises(EdgexaiError) as exc:
        scan(root)
    assert "no folder for class 1 'yield'" in _one_line(exc)


def test_bad_folders_are_refused_in_one_line(tmp_path):
    with pytest.raises(EdgexaiError, match="does not exist"):
        scan(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(EdgexaiError, match="is not a folder"):
        scan(tmp_path / "file")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EdgexaiError, match="no class folders"):
        scan(tmp_path / "empty")
    one = make_image_folder(tmp_path / "one", ("a",), per_class=1, labels_txt=False)
    with pytest.raises(EdgexaiError, match="at least 2"):
        scan(one)
    (one / "b").mkdir()
    with pytest.raises(EdgexaiError, match=r"class folder .*b holds no images"):
        scan(one)
    (one / "b" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(EdgexaiError, match=r"cannot decode .*broken\.png") as exc:
        datasets.load_splits(_opts(one), 16, datasets.locate(_opts(one)))
    _one_line(exc)


def test_roi_and_a_test_dataset_without_a_dataset_are_refused():
    with pytest.raises(EdgexaiError, match="--roi"):
        validate(BuildOptions(dataset="x", roi=True))
    with pytest.raises(EdgexaiError, match="--test-dataset needs --dataset"):
        validate(BuildOptions(test_dataset="x"))
    with pytest.raises(EdgexaiError, match="--test-fraction"):
        validate(BuildOptions(dataset="x", test_fraction=1.0))


def test_the_presets_roi_framing_applies_to_gtsrb_only_and_yields_to_the_flag():
    from edgexai.train.presets import PRESETS

    assert PRESETS["cpu"].roi  # the default recipe trains on ROI framing (docs/RESULTS.md, #19)
    assert validate(BuildOptions()).roi is True
    assert validate(BuildOptions(roi=False)).roi is False
    assert validate(BuildOptions(dataset="x")).roi is False  # own data has no ROI boxes
    assert validate(BuildOptions(preset="paper")).roi is False


def test_groups_stay_on_one_side_of_the_test_and_validation_splits(tmp_path):
    root = make_image_folder(tmp_path / "d", NAMES, per_class=12, labels_txt=False)
    ds = scan(root)
    rows = ["path,group"] + [f"{f},{f.split('/')[0]}-{i // 3}" for i, f in enumerate(ds.files)]
    (root / "groups.csv").write_text("\n".join(rows) + "\n")
    opts = _opts(root, val_fraction=0.25)
    source = datasets.locate(opts)
    assert source.train.grouped and len(set(source.train.groups)) == 12
    train, val, test = datasets.load_splits(opts, 16, source)
    sides = [set(s.tracks.tolist()) for s in (train, val, test)]
    assert all(sides) and not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert (len(train), len(val), len(test)) == (18, 9, 9)  # one group of 4 to test, 1 of 3 to val
    record = datasets.data_record(source, opts, (train, val, test))
    assert record["test_split"] == {"by": "group", "fraction": 0.2, "seed": 0}
    assert sum(record["class_counts"]["test"]) == len(test)
    (root / "groups.csv").write_text("path,group\nnot/there.png,g\n")
    with pytest.raises(EdgexaiError, match="not an image of the dataset"):
        scan(root)


def test_the_seeded_split_is_deterministic_and_rederived_for_the_test_set(tmp_path):
    root = make_image_folder(tmp_path / "d", NAMES, per_class=10, labels_txt=False)
    opts = _opts(root, limit_per_class=3)
    a = datasets.load_splits(opts, 16, datasets.locate(opts))
    b = datasets.load_splits(opts, 16, datasets.locate(opts))
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.tracks, y.tracks) and np.array_equal(x.images, y.images)
    manifest = {
        "input_size": 16,
        "data": datasets.data_record(datasets.locate(opts), opts, a),
    }
    assert not datasets.is_gtsrb(manifest) and datasets.is_gtsrb({"data": {}})
    test = datasets.load_test_split(manifest, progress=False)
    # the whole test split (explain/bench draw from it); the build kept ≤ 3 per class of it
    assert len(test) == 6 and set(a[2].tracks.tolist()) <= set(test.tracks.tolist())
    assert datasets.load_train_split(manifest).tracks.tolist() == a[0].tracks.tolist()


def test_the_digest_follows_the_files_and_a_changed_dataset_is_refused(tmp_path):
    root = make_image_folder(tmp_path / "d", NAMES, per_class=3, labels_txt=False)
    before = scan(root).digest
    assert scan(root).digest == before
    manifest = {
        "input_size": 16,
        "data": {"dataset": "folder", "path": str(root), "digest": before},
    }
    victim = sorted((root / "stop").iterdir())[0]
    victim.write_bytes(victim.read_bytes() + b"\0")
    assert scan(root).digest != before
    with pytest.raises(EdgexaiError) as exc:
        datasets.load_test_split(manifest, progress=False)
    msg = _one_line(exc)
    assert f"dataset at {root} changed since the build" in msg and "rebuild or restore" in msg


def test_a_test_dataset_must_have_the_training_classes(tmp_path):
    train = make_image_folder(tmp_path / "train", NAMES, per_class=2, folder_names=NAMES)
    make_image_folder(tmp_path / "ok", NAMES, per_class=1, labels_txt=False, folder_names=NAMES)
    source = datasets.locate(_opts(train, test_dataset=str(tmp_path / "ok")))
    assert source.test is not None and source.test.classes == NAMES
    make_image_folder(tmp_path / "bad", ("stop", "yield", "give way"), 1, labels_txt=False)
    with pytest.raises(EdgexaiError) as exc:
        datasets.locate(_opts(train, test_dataset=str(tmp_path / "bad")))
    assert "folder 'give way' is neither a name in the training set" in _one_line(exc)
    (tmp_path / "bad" / "labels.txt").write_text("a\nb\nc\n")
    with pytest.raises(EdgexaiError, match="does not name the training set's classes"):
        datasets.locate(_opts(train, test_dataset=str(tmp_path / "bad")))
