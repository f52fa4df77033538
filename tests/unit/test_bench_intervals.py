"""The bench's bootstrap intervals (edgexai.study.bench.intervals) against scipy itself and against
the textbook interval of a mean, and the per-image outcomes → cell intervals of aggregate."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from edgexai.study.bench import aggregate, intervals


def _scipy(data, statistic, paired=False):
    return stats.bootstrap(
        data,
        statistic,
        n_resamples=intervals.N_RESAMPLES,
        paired=paired,
        vectorized=True,
        axis=-1,
        method="BCa",
        **{intervals._RNG_KEY: np.random.default_rng(intervals.SEED)},
    ).confidence_interval


def test_mean_interval_is_scipys_bca_interval_with_the_fixed_seed():
    x = np.random.default_rng(3).integers(0, 11, 150) / 10  # per-image MoRF-like values
    got = intervals.mean_interval(x)
    ref = _scipy((x,), lambda v, axis: v.mean(axis=axis))
    assert got.method == "BCa" and got.n == 150 and got.value == pytest.approx(x.mean())
    assert got.ci95 == pytest.approx((ref.low, ref.high), abs=1e-12)
    assert intervals.mean_interval(x) == got  # reproducible: same seed, same interval


def test_a_large_normal_samples_interval_covers_the_mean_with_the_textbook_width():
    mu, sigma, n = 1.5, 2.0, 4000
    x = np.random.default_rng(7).normal(mu, sigma, n)
    got = intervals.mean_interval(x)
    lo, hi = got.ci95
    assert lo < mu < hi
    assert hi - lo == pytest.approx(2 * 1.96 * sigma / np.sqrt(n), rel=0.1)


def test_paired_difference_is_scipys_paired_interval_and_narrower_than_unpaired():
    rng = np.random.default_rng(1)
    hard = rng.uniform(0, 1, 200)  # per-image difficulty shared by both models
    a = np.clip(hard + rng.normal(0, 0.05, 200), 0, 1)
    b = np.clip(hard + 0.08 + rng.normal(0, 0.05, 200), 0, 1)
    got = intervals.paired_difference(a, b)
    ref = _scipy((a, b), lambda u, v, axis: u.mean(axis=axis) - v.mean(axis=axis), paired=True)
    assert got.ci95 == pytest.approx((ref.low, ref.high), abs=1e-12)
    assert got.value == pytest.approx(a.mean() - b.mean())
    assert got.ci95[1] < 0  # the shift is decided on paired images ...
    unpaired = _scipy((a, b), lambda u, v, axis: u.mean(axis=axis) - v.mean(axis=axis))
    assert got.ci95[1] - got.ci95[0] < (unpaired.high - unpaired.low) / 3  # ... far more tightly
    ratio = intervals.paired_ratio(a, b)
    assert ratio.ci95[0] < a.mean() / b.mean() < ratio.ci95[1] < 1


def test_degenerate_samples_give_no_interval_and_say_why():
    assert intervals.mean_interval(np.array([0.4])).note == "n < 2"
    one = intervals.mean_interval(np.array([0.4]))
    assert one.value == 0.4 and one.ci95 is None
    assert intervals.mean_interval(np.ones(30)).note == "constant sample"
    assert intervals.mean_interval(np.zeros(0)).note == "no values"
    zero = intervals.paired_ratio(np.ones(20), np.zeros(20))
    assert zero.value is None and zero.ci95 is None
    nearly = np.zeros(40)
    nearly[0] = 1.0  # BCa's acceleration is undefined for some near-constant samples
    got = intervals.mean_interval(nearly)
    assert got.ci95 is not None and got.method in ("BCa", "percentile")
    with pytest.raises(ValueError):
        intervals.paired_difference(np.ones(3), np.ones(4))


def test_align_pairs_the_images_both_sides_have():
    a, b = intervals.align(
        np.array([5, 1, 3]), np.array([0.5, 0.1, 0.3]), np.array([3, 4, 5]), np.array([3, 4, 5.0])
    )
    assert a.tolist() == [0.3, 0.5] and b.tolist() == [3.0, 5.0]


def _result(index, gini, morf, lerf):
    """An explain result with contract 4's per-image block for one method."""
    return {
        "methods": {
            "vg": {
                "per_image": {
                    "index": list(index),
                    "label": [0] * len(index),
                    "gini": list(gini),
                    "road": {
                        "morf": {"correct": morf, "probability": morf},
                        "lerf": {"correct": lerf, "probability": lerf},
                    },
                }
            }
        }
    }


def test_per_image_morf_is_the_mean_over_percentages_and_averages_to_the_curve_mean():
    morf = [[1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 1, 1]]
    lerf = [[1, 1, 1], [1, 1, 0], [1, 1, 1], [1, 1, 1]]
    got = aggregate.image_outcomes(_result([0, 2, 3, 7], [0.1, 0.2, 0.3, 0.4], morf, lerf))["vg"]
    assert got["morf"].tolist() == pytest.approx([1 / 3, 2 / 3, 0, 1])
    # the paper's number, the mean over percentages of the accuracy, is the mean of these
    assert got["morf"].mean() == pytest.approx(np.mean(np.mean(morf, axis=0)))
    assert got["gap"].tolist() == pytest.approx((got["lerf"] - got["morf"]).tolist())
    assert aggregate.image_outcomes({"methods": {"vg": {"gini": {"mean": 0.3}}}}) == {}


def _model(name, cell, seed):
    return {"name": name, "cell": cell, "seed": seed, "figures": {}}


def test_cell_intervals_pair_on_shared_images_pool_seeds_and_survive_an_old_cache():
    rng = np.random.default_rng(0)

    def outcomes(index, shift):
        index = np.asarray(index)
        morf = np.clip(rng.integers(0, 11, len(index)) / 10 + shift, 0, 1)
        return {"vg": {"index": index, "morf": morf, "gini": np.full(len(index), 0.5)}}

    models = [
        _model("n0", "natural", 0),
        _model("n1", "natural", 1),
        _model("a0", "adversarial", 0),
        _model("a1", "adversarial", 1),
        _model("old", "layered-tuned", 0),
    ]
    out = {
        "n0": outcomes(range(0, 60), 0.0),
        "n1": outcomes(range(0, 60), 0.0),
        "a0": outcomes(range(10, 60), 0.0),  # explained fewer images: 50 shared with n0
        "a1": outcomes(range(0, 40), 0.0),  # 40 shared with n1
    }
    stats = aggregate.cell_stats(models)
    aggregate.add_intervals(stats, models, out)
    e = stats["adversarial"]["intervals"]["explain.vg.road_morf_mean"]
    assert e["n"] == 90 and e["n_paired"] == 90  # pooled over both seeds
    a, b = aggregate.paired(
        models[2:4], models[:2], out, (("vg", "morf"), ("vg", "morf"))
    )  # a0 ↔ n0 and a1 ↔ n1 on their shared images
    assert e["diff"] == pytest.approx(a.mean() - b.mean())
    assert e["ratio"] == pytest.approx(a.mean() / b.mean())
    assert e["diff_ci95"][0] < e["diff"] < e["diff_ci95"][1]
    nat = stats["natural"]["intervals"]["explain.vg.road_morf_mean"]
    assert nat["diff"] is None and nat["n"] == 120 and nat["ci95"] is not None
    assert stats["natural"]["intervals"]["explain.vg.gini"]["note"] == "constant sample"
    assert stats["layered-tuned"]["intervals"] == {}  # no per-image outcomes: no intervals
