"""Explanation metrics (numpy): Gini, noisy linear imputation, ROAD, deletion/insertion."""

import os
import subprocess
import sys

import numpy as np
import pytest
from support import REPO, SUPPORT

from edgexai.core.metrics.deletion import auc, blur, deletion_insertion, perturbation_stack
from edgexai.core.metrics.imputation import (
    DIAGONAL,
    EDGE,
    NEIGHBOURS,
    NoisyLinearImputer,
    noise_for,
    solve_linear_fill,
)
from edgexai.core.metrics.perturbation import count_removed, keep_mask, rank_pixels, tiebreak_keys
from edgexai.core.metrics.road import ROAD, CurveAverager
from edgexai.core.metrics.sparsity import EPS, gini, to_map

# ---------------------------------------------------------------- Gini


def _gini_direct(m: np.ndarray) -> float:
    """The definition, written out literally (Hurley & Rickard 2009 / Quantus Sparseness)."""
    a = np.abs(m.astype(np.float64))
    a = a / a.max()
    a = np.sort(a.flatten() + EPS)
    n = len(a)
    return sum((2 * i - n - 1) * a[i - 1] for i in range(1, n + 1)) / (n * a.sum())


@pytest.mark.parametrize("shape", [(2, 2), (3, 5), (32, 32), (64, 64)])
def test_gini_one_hot_is_one_minus_one_over_n(shape):
    n = shape[0] * shape[1]
    m = np.zeros(shape)
    m[shape[0] // 2, shape[1] // 3] = 3.7
    # Exact value with the definition's +1e-7 offset; its limit is 1 − 1/n.
    assert gini(m) == pytest.approx((n - 1) / (n * (1 + n * EPS)), abs=1e-12)
    assert abs(gini(m) - (1 - 1 / n)) <= 1e-6 + n * EPS


def test_gini_one_hot_small_maps_within_1e6_of_closed_form():
    for n in (2, 4, 8):
        m = np.zeros((1, n))
        m[0, n - 1] = 1.0
        assert abs(gini(m) - (1 - 1 / n)) < 1e-6


@pytest.mark.parametrize("value", [1e-3, 1.0, 250.0])
def test_gini_uniform_is_zero(value):
    assert abs(gini(np.full((32, 32), value))) < 1e-12
    assert abs(gini(np.zeros((8, 8)))) < 1e-12  # an all-zero map is uniform too


def test_gini_matches_the_definition_on_random_maps():
    rng = np.random.default_rng(0)
    maps = np.concatenate(
        [
            rng.random((4, 16, 16)),
            rng.normal(size=(4, 16, 16)),
            rng.exponential(size=(4, 16, 16)) ** 4,
        ]
    )
    batch = gini(maps)
    assert batch.shape == (12,)
    for m, g in zip(maps, batch, strict=True):
        assert abs(g - _gini_direct(m)) < 1e-6
        assert abs(gini(m) - g) < 1e-12


def test_gini_channel_sum_and_invariances():
    rng = np.random.default_rng(1)
    attr = rng.normal(size=(3, 3, 8, 8))
    maps = to_map(attr, channel_axis=1)
    assert maps.shape == (3, 8, 8)
    assert np.allclose(gini(maps), [_gini_direct(np.abs(a).sum(0)) for a in attr], atol=1e-9)
    assert np.allclose(gini(maps), gini(7.5 * maps), atol=1e-12)  # scale invariant
    assert np.allclose(gini(maps), gini(-maps), atol=1e-12)  # |map|
    sparse, dense = np.zeros((8, 8)), np.ones((8, 8))
    sparse[:2, :2] = 1
    assert gini(sparse) > gini(dense)


# ---------------------------------------------------------------- imputation


def _neighbour_mean(img: np.ndarray, y: int, x: int) -> np.ndarray:
    h, w = img.shape[1:]
    total, weight = 0.0, 0.0
    for dy, dx, wgt in NEIGHBOURS:
        yy, xx = y + dy, x + dx
        if 0 <= yy < h and 0 <= xx < w:
            total = total + wgt * img[:, yy, xx]
            weight += wgt
    return total / weight


def test_neighbour_weights_are_one_sixth_and_one_twelfth():
    assert EDGE == pytest.approx(1 / 6) and DIAGONAL == pytest.approx(1 / 12)
    assert sum(w for _, _, w in NEIGHBOURS) == pytest.approx(1.0)
    assert sorted(abs(dy) + abs(dx) for dy, dx, _ in NEIGHBOURS) == [1] * 4 + [2] * 4


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_noise_free_imputation_is_the_8_neighbour_weighted_mean(fraction):
    rng = np.random.default_rng(2)
    images = rng.normal(size=(3, 3, 12, 10)).astype(np.float32)
    keep = rng.random((3, 12, 10)) >= fraction
    filled = NoisyLinearImputer(noise_std=0.0)(images, keep)
    assert filled.dtype == images.dtype
    # kept pixels untouched, bit for bit
    assert np.array_equal(filled * keep[:, None], images * keep[:, None])
    worst = 0.0
    for i in range(3):
        for y, x in zip(*np.nonzero(~keep[i]), strict=True):
            expected = _neighbour_mean(filled[i].astype(np.float64), y, x)
            worst = max(worst, float(np.abs(filled[i, :, y, x] - expected).max()))
            if 0 < y < 11 and 0 < x < 9:  # interior: the weights sum to 1, no renormalising
                plain = sum(
                    w * filled[i, :, y + dy, x + dx].astype(np.float64) for dy, dx, w in NEIGHBOURS
                )
                assert np.abs(filled[i, :, y, x] - plain).max() < 1e-6
    assert worst < 1e-6


def test_batched_system_equals_one_image_at_a_time():
    rng = np.random.default_rng(3)
    images = rng.normal(size=(5, 3, 9, 9))
    keep = rng.random((5, 9, 9)) > 0.6
    batched = solve_linear_fill(images, keep)
    for i in range(5):
        assert np.allclose(
            batched[i], solve_linear_fill(images[i : i + 1], keep[i : i + 1])[0], atol=1e-12
        )
    assert np.allclose(batched, solve_linear_fill(images, keep, permc_spec="COLAMD"), atol=1e-10)


def test_fully_removed_image_is_filled_with_the_mean_and_nothing_removed_is_identity():
    rng = np.random.default_rng(4)
    images = rng.normal(size=(2, 3, 6, 6))
    keep = np.ones((2, 6, 6), bool)
    keep[1] = False
    out = solve_linear_fill(images, keep)
    assert np.array_equal(out[0], images[0]) and np.all(out[1] == 0)


def test_noise_is_seeded_per_image_and_lands_only_on_removed_pixels():
    a = noise_for(7, np.array([3, 10, 11]), (3, 8, 8))
    b = noise_for(7, np.array([11, 3]), (3, 8, 8))
    assert np.array_equal(a[0], b[1]) and np.array_equal(a[2], b[0])  # keyed by image id
    assert not np.array_equal(noise_for(8, np.array([3]), (3, 8, 8))[0], a[0])
    rng = np.random.default_rng(5)
    images = rng.normal(size=(3, 3, 8, 8)).astype(np.float32)
    keep = rng.random((3, 8, 8)) > 0.5
    clean = NoisyLinearImputer(0.0)(images, keep)
    noisy = NoisyLinearImputer(0.01)(images, keep, a)
    diff = noisy - clean
    assert np.array_equal(diff * keep[:, None], np.zeros_like(diff))
    assert np.allclose(diff, 0.01 * a * ~keep[:, None], atol=1e-6)
    with pytest.raises(ValueError, match="noise array"):
        NoisyLinearImputer(0.01)(images, keep)


# ---------------------------------------------------------------- perturbation and ROAD


def test_morf_removes_the_top_and_lerf_the_bottom():
    maps = np.arange(16, dtype=float).reshape(1, 4, 4)
    ranking = rank_pixels(maps)
    k = count_removed(25, 16)
    morf = keep_mask(ranking, k, "morf", (4, 4))[0]
    lerf = keep_mask(ranking, k, "lerf", (4, 4))[0]
    assert k == 4 and not morf[3].any() and morf[:3].all()
    assert not lerf[0].any() and lerf[1:].all()


def test_ties_are_broken_by_the_seed_not_the_raster_order():
    maps = np.zeros((2, 8, 8))
    keys = tiebreak_keys(0, np.array([5, 6]), 64)
    r1, r2 = rank_pixels(maps, keys), rank_pixels(maps, tiebreak_keys(0, np.array([5, 6]), 64))
    assert np.array_equal(r1, r2)
    assert not np.array_equal(r1[0], np.arange(64))
    assert not np.array_equal(r1[0], r1[1])


def _region_classifier(images: np.ndarray) -> np.ndarray:
    """Toy 2-class model: class 1 iff the top-left 4×4 patch is bright (channel mean)."""
    score = images[:, :, :4, :4].mean(axis=(1, 2, 3))
    return np.stack([np.zeros_like(score), 4.0 * (score - 0.5)], axis=1)


def _toy_set(n=12, size=12, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.normal(0, 0.05, size=(n, 3, size, size)).astype(np.float32)
    images[:, :, :4, :4] += 2.0
    good = np.zeros((n, size, size))
    good[:, :4, :4] = 1.0 + rng.random((n, 4, 4)) * 0.1
    good += rng.random((n, size, size)) * 0.01
    return images, good, np.ones(n, np.int64)


def test_road_separates_a_faithful_map_from_its_reverse():
    images, good, targets = _toy_set()
    noise = noise_for(0, np.arange(len(images)), images.shape[1:])
    road = ROAD(percentages=(5, 15, 50), workers=0)
    res = road.run(_region_classifier, images, {"good": good, "bad": -good}, targets, noise)
    good_r, bad_r = res["good"], res["bad"]
    assert good_r.accuracy["morf"][-1] == 0.0 and good_r.accuracy["lerf"][-1] == 1.0
    assert bad_r.accuracy["morf"][-1] == 1.0
    assert good_r.summary["morf"]["mean"] < bad_r.summary["morf"]["mean"]
    assert good_r.summary["gap"]["mean"] == pytest.approx(
        good_r.summary["lerf"]["mean"] - good_r.summary["morf"]["mean"]
    )
    assert good_r.summary["gap"]["mean"] > 0 > bad_r.summary["gap"]["mean"]


def test_road_in_worker_processes_equals_in_process():
    images, good, targets = _toy_set(n=10)
    noise = noise_for(1, np.arange(10), images.shape[1:])
    maps = {"good": good, "noise": np.random.default_rng(2).random(good.shape)}
    kw = dict(percentages=(10, 60), chunk=4)
    inline = ROAD(workers=0, **kw).run(_region_classifier, images, maps, targets, noise)
    pooled = ROAD(workers=2, **kw).run(_region_classifier, images, maps, targets, noise)
    for m in maps:
        assert inline[m].as_dict() == pooled[m].as_dict()


def test_curve_averager_mean_and_area():
    out = CurveAverager()([0, 50, 100], [1.0, 0.5, 0.0])
    assert out["mean"] == pytest.approx(0.5) and out["area"] == pytest.approx(0.5)
    out = CurveAverager()(list(range(1, 92, 10)), [0.8] * 10)
    assert out["mean"] == pytest.approx(0.8) and out["area"] == pytest.approx(0.8 * 0.9)


def test_road_rejects_bad_settings():
    with pytest.raises(ValueError, match="order"):
        ROAD(orders=("most",))
    with pytest.raises(ValueError, match="percentage"):
        ROAD(percentages=(120,))


# ---------------------------------------------------------------- deletion / insertion


def test_perturbation_stack_endpoints_and_monotone_counts():
    rng = np.random.default_rng(6)
    img, base = rng.normal(size=(3, 6, 6)), np.zeros((3, 6, 6))
    ranking = rank_pixels(rng.random((1, 6, 6)))[0]
    dele = perturbation_stack(img, ranking, base, 4, "deletion")
    ins = perturbation_stack(img, ranking, base, 4, "insertion")
    assert dele.shape == (5, 3, 6, 6)
    assert np.allclose(dele[0], img) and np.allclose(dele[-1], base)
    assert np.allclose(ins[0], base) and np.allclose(ins[-1], img)
    changed = [int((d != img.astype(np.float32)).any(0).sum()) for d in dele]
    assert changed == [0, 9, 18, 27, 36]
    top_half = np.zeros(36, bool)
    top_half[ranking[:18]] = True
    top_half = top_half.reshape(6, 6)
    assert np.allclose(dele[2][:, top_half], 0) and np.allclose(
        dele[2][:, ~top_half], img[:, ~top_half]
    )
    assert np.allclose(ins[2][:, top_half], img[:, top_half]) and np.allclose(
        ins[2][:, ~top_half], 0
    )


def test_auc_and_blur():
    assert auc(np.ones(11)) == pytest.approx(1.0)
    assert auc(np.linspace(1, 0, 5)) == pytest.approx(0.5)
    const = np.full((1, 3, 9, 9), 0.3, np.float32)
    assert np.allclose(blur(const), const, atol=1e-6)


def test_deletion_and_insertion_rank_a_faithful_map_first():
    images, good, targets = _toy_set(n=6)
    good_r = deletion_insertion(_region_classifier, images, good, targets, steps=8, fill="zero")
    bad_r = deletion_insertion(_region_classifier, images, -good, targets, steps=8, fill="zero")
    assert good_r["deletion"].shape == (6,) and good_r["deletion_curve"].shape == (6, 9)
    assert good_r["deletion"].mean() < bad_r["deletion"].mean()
    assert good_r["insertion"].mean() > bad_r["insertion"].mean()


# ---------------------------------------------------------------- the deployment side's floor


def test_metrics_import_without_torch():
    env = {**os.environ, "PYTHONPATH": f"{SUPPORT}{os.pathsep}{REPO}"}
    code = (
        "import blocktorch, sys\n"
        "import edgexai.core.metrics.sparsity, edgexai.core.metrics.deletion\n"
        "import edgexai.core.metrics.perturbation, edgexai.core.metrics.imputation, "
        "edgexai.core.metrics.road\n"
        "assert 'torch' not in sys.modules\n"
        "import numpy as np\n"
        "print(edgexai.core.metrics.sparsity.gini(np.eye(4)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout) == pytest.approx(gini(np.eye(4)))
