"""The bench refuses models that cannot share one table, and notes lesser differences."""

from pathlib import Path

import pytest

from edgexai.core.errors import EdgexaiError
from edgexai.study.bench.select import BenchModel, check_comparable


def _model(name: str, cell: str, arch: str = "resnet20", classes=("a", "b"), preset="cpu"):
    manifest = {"arch": arch, "classes": list(classes), "input_size": 32, "preset": preset}
    return BenchModel(Path(name), manifest, name, cell, 0)


def test_different_archs_in_different_cells_are_a_note():
    notes = check_comparable([_model("a", "natural"), _model("b", "layered-tuned", "vgg16")])
    assert any("different architectures" in n for n in notes)


def test_different_archs_in_one_cell_are_refused():
    with pytest.raises(EdgexaiError, match="cell natural holds builds of resnet20, vgg16"):
        check_comparable([_model("a", "natural"), _model("b", "natural", "vgg16")])


def test_different_class_lists_are_refused():
    with pytest.raises(EdgexaiError, match="2 different class lists"):
        check_comparable([_model("a", "natural"), _model("b", "l1-tuned", classes=("a", "c"))])
