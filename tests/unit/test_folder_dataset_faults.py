"""Issue 43's own-dataset cases (items 9, 13, 15 and the small things): what a spreadsheet or a
Mac writes is read, and what would train or test on the wrong images is refused in one line."""

from __future__ import annotations

import os
import shutil
import unicodedata

import pytest
from support.data import make_image_folder

from edgexai.core.errors import EdgexaiError
from edgexai.train.build_options import BuildOptions
from edgexai.train.data import datasets
from edgexai.train.data.folder import scan

NAMES = ("stop", "yield", "priority road")


def _opts(root, **kw) -> BuildOptions:
    return BuildOptions(dataset=str(root), progress=False, **kw)


def test_the_training_folder_as_test_dataset_is_refused(tmp_path):
    """Item 9: --test-dataset D with --dataset D measured 'test accuracy' on training images;
    a folder inside the training set, and a copy of it, are the same images."""
    train = make_image_folder(tmp_path / "d", NAMES, per_class=2, folder_names=NAMES)
    copy = shutil.copytree(train, tmp_path / "copy")
    for test in (train, train / ".." / "d", copy):
        with pytest.raises(EdgexaiError, match="holds the training images"):
            datasets.locate(_opts(train, test_dataset=str(test)))
    other = make_image_folder(tmp_path / "t", NAMES, per_class=1, folder_names=NAMES, seed=3)
    assert datasets.locate(_opts(train, test_dataset=str(other))).test is not None


def test_a_byte_order_mark_in_labels_txt_and_groups_csv_is_read(tmp_path):
    root = make_image_folder(tmp_path / "d", NAMES, per_class=3, folder_names=NAMES)
    (root / "labels.txt").write_text("\ufeff" + "\n".join(NAMES) + "\n", encoding="utf-8")
    files = scan(root).files
    rows = "\ufeffpath,group\n" + "".join(f"{f},g{i % 2}\n" for i, f in enumerate(files))
    (root / "groups.csv").write_text(rows, encoding="utf-8")
    ds = scan(root)
    assert ds.classes == NAMES and ds.grouped and len(set(ds.groups)) == 2


def test_decomposed_folder_names_match_composed_labels(tmp_path):
    """A Mac writes 'Straße'/'Überholverbot' folder names decomposed (NFD); labels.txt composed."""
    names = ("Überholverbot", "Vorfahrt", "Einfahrt verboten")
    nfd = tuple(unicodedata.normalize("NFD", n) for n in names)
    root = make_image_folder(tmp_path / "d", names, per_class=1, folder_names=nfd)
    assert scan(root).classes == names


def test_labels_txt_that_is_a_folder_is_refused(tmp_path):
    root = make_image_folder(tmp_path / "d", NAMES, per_class=1, folder_names=NAMES)
    (root / "labels.txt").unlink()
    (root / "labels.txt").mkdir()
    with pytest.raises(EdgexaiError, match="labels.txt must be a file"):
        scan(root)


def test_groups_csv_with_one_path_in_two_groups_or_an_empty_group_is_refused(tmp_path):
    """Item 13: the last row won, and every empty-group row became one group."""
    root = make_image_folder(tmp_path / "d", NAMES, per_class=2, labels_txt=False)
    first, second = scan(root).files[:2]
    (root / "groups.csv").write_text(f"path,group\n{first},a\n{second},b\n{first},b\n")
    with pytest.raises(EdgexaiError, match=r"groups.csv:4: .* group 'b' here and 'a' on line 2"):
        scan(root)
    (root / "groups.csv").write_text(f"path,group\n{first},\n{second}, \n")
    with pytest.raises(EdgexaiError, match="groups.csv:2: .* has no group"):
        scan(root)
    (root / "groups.csv").write_text(f"path,group\n{first},a\n{first},a\n")
    assert scan(root).grouped  # the same row twice says the same thing


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_links_out_of_the_dataset_or_to_folders_are_refused(tmp_path):
    """Item 15: a file link to outside the dataset was trained on; a folder link was skipped."""
    root = make_image_folder(tmp_path / "d", NAMES, per_class=2, folder_names=NAMES)
    outside = make_image_folder(tmp_path / "o", ("x",), per_class=1, labels_txt=False)
    target = next((outside / "x").iterdir())
    link = root / "stop" / "borrowed.png"
    link.symlink_to(target)
    with pytest.raises(EdgexaiError, match="links to .* outside the dataset"):
        scan(root)
    link.unlink()
    inside = root / "stop" / "again.png"
    inside.symlink_to(next((root / "yield").iterdir()))
    assert "stop/again.png" in scan(root).files  # a link inside the dataset is fine
    (root / "stop" / "more").symlink_to(outside / "x", target_is_directory=True)
    with pytest.raises(EdgexaiError, match="is a link to a folder"):
        scan(root)
