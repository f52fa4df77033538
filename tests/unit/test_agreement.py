"""Per-image agreement of two saliency maps (metrics/agreement.py) on maps whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from edgexai.core.metrics.agreement import pearson, spearman, top_fraction_iou


def _maps(n: int = 3, size: int = 10, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, size, size)).astype(np.float32)


def test_identical_maps_agree_fully():
    a = _maps()
    assert pearson(a, a) == pytest.approx(1.0)
    assert spearman(a, a) == pytest.approx(1.0)
    assert top_fraction_iou(a, a) == pytest.approx(1.0)


def test_a_monotone_transform_keeps_the_order_but_not_the_linearity():
    a = _maps()
    b = np.exp(8 * a)  # strictly increasing, far from linear
    assert spearman(a, b) == pytest.approx(1.0)
    assert np.all(pearson(a, b) < 0.99)
    assert top_fraction_iou(a, b) == pytest.approx(1.0)
    # an affine rescaling (the graph's min-max normalisation) changes nothing
    assert pearson(a, 3 * a + 1) == pytest.approx(1.0)


def test_values_match_scipy_per_image_not_pooled():
    a, b = _maps(seed=1), _maps(seed=2)
    b[:, :5] = np.round(b[:, :5], 1)  # ties: average ranks, as spearmanr
    for i in range(len(a)):
        assert pearson(a, b)[i] == pytest.approx(pearsonr(a[i].ravel(), b[i].ravel())[0])
        assert spearman(a, b)[i] == pytest.approx(spearmanr(a[i].ravel(), b[i].ravel())[0])


def test_disjoint_top_fifths_have_iou_zero_and_overlap_counts_exactly():
    hw = 100
    a = np.arange(hw, dtype=np.float64)[None]  # top 20 %: pixels 80..99
    assert top_fraction_iou(a, -a)[0] == 0.0  # top 20 %: pixels 0..19
    shifted = np.roll(a, 10)  # top 20 %: pixels 90..99 and 0..9 → 10 shared of 30
    assert top_fraction_iou(a, shifted)[0] == pytest.approx(10 / 30)


def test_ties_are_broken_the_same_way_every_time_and_by_the_keys_given():
    flat = np.zeros((1, 50))  # every pixel tied
    assert top_fraction_iou(flat, flat)[0] == 1.0  # same (raster) order on both sides
    keys = np.random.default_rng(0).random((1, 50))
    assert top_fraction_iou(flat, flat, tiebreak=keys)[0] == 1.0
    assert (
        top_fraction_iou(flat, flat, tiebreak=keys)[0]
        == top_fraction_iou(flat, flat, tiebreak=keys)[0]
    )


def test_constant_maps_give_defined_values():
    zero, a = np.zeros((1, 8, 8)), _maps(1, 8)
    assert pearson(zero, zero)[0] == 1.0 and spearman(zero, zero)[0] == 1.0
    assert pearson(zero, a)[0] == 0.0 and spearman(a, zero)[0] == 0.0


def test_shape_and_fraction_are_checked():
    with pytest.raises(ValueError, match="shapes"):
        pearson(np.zeros((2, 4, 4)), np.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match="fraction"):
        top_fraction_iou(np.zeros((1, 4)), np.zeros((1, 4)), fraction=0)
