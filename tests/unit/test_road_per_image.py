"""ROAD's per-image outcomes and its seed: the means are exactly the per-image columns' means, a
seed gives what the explicit noise/tie-break arrays it stands for give, and the metrics package
exposes the standalone names without loading scipy for `gini` alone."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from support import REPO

from edgexai.core.metrics import ROAD, gini, road_scores
from edgexai.core.metrics.imputation import noise_for
from edgexai.core.metrics.perturbation import tiebreak_keys


def _classifier(images: np.ndarray) -> np.ndarray:
    """Three classes scored on the mean of three image quadrants: smooth, so ROAD's probabilities
    are not all 0/1 and their means are sums of many distinct floats."""
    a = images[:, :, :6, :6].mean(axis=(1, 2, 3))
    b = images[:, :, 6:, 6:].mean(axis=(1, 2, 3))
    c = images[:, :, :6, 6:].mean(axis=(1, 2, 3))
    return np.stack([3 * a, 3 * b, 3 * c], axis=1)


def _data(n: int = 21, size: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.normal(0, 0.3, size=(n, 3, size, size)).astype(np.float32)
    images[:, :, :6, :6] += 1.0
    maps = {"good": np.zeros((n, size, size)), "random": rng.random((n, size, size))}
    maps["good"][:, :6, :6] = 1.0  # flat: ties broken by the seeded keys
    return images, maps, np.zeros(n, np.int64)


def test_per_image_outcomes_have_the_means_exactly():
    images, maps, targets = _data()
    res = ROAD(percentages=(5, 30, 70), workers=0).run(_classifier, images, maps, targets, seed=1)
    for r in res.values():
        for o in ("morf", "lerf"):
            correct, prob = r.per_image_correct[o], r.per_image_probability[o]
            assert correct.shape == prob.shape == (len(images), 3)
            assert set(np.unique(correct.astype(int))) <= {0, 1}
            assert correct.mean(axis=0).tolist() == r.accuracy[o]  # bit for bit
            assert prob.mean(axis=0).tolist() == r.probability[o]
            assert len(set(prob[:, 0].tolist())) > 10  # really per image, not a broadcast mean
    d = res["good"].per_image_dict(6)
    assert np.array(d["morf"]["correct"]).shape == (len(images), 3)
    assert d["lerf"]["probability"][0][0] == round(
        float(res["good"].per_image_probability["lerf"][0, 0]), 6
    )


def test_a_seed_gives_what_its_noise_and_tiebreak_arrays_give():
    images, maps, targets = _data()
    ids = np.arange(100, 100 + len(images))
    road = ROAD(percentages=(10, 50), workers=0)
    explicit = road.run(
        _classifier,
        images,
        maps,
        targets,
        noise_for(4, ids, images.shape[1:]),
        tiebreak_keys(4, ids, 144),
    )
    seeded = road.run(_classifier, images, maps, targets, seed=4, ids=ids)
    other = road.run(_classifier, images, maps, targets, seed=5, ids=ids)
    for m in maps:
        assert seeded[m].as_dict() == explicit[m].as_dict()
        for o in ("morf", "lerf"):
            assert np.array_equal(
                seeded[m].per_image_probability[o], explicit[m].per_image_probability[o]
            )
    assert other["random"].probability != seeded["random"].probability


def test_without_noise_or_seed_a_noisy_road_is_refused():
    images, maps, targets = _data(n=4)
    with pytest.raises(ValueError, match="seed"):
        ROAD(workers=0).run(_classifier, images, maps, targets)
    with pytest.raises(ValueError, match="ids"):
        ROAD(workers=0).run(_classifier, images, maps, targets, seed=0, ids=np.arange(3))


def test_road_scores_in_one_call():
    images, maps, targets = _data(n=9)
    res = road_scores(_classifier, images, maps["good"], targets, seed=2, percentages=(20, 60))
    assert list(res) == ["map"]
    ref = ROAD(percentages=(20, 60), workers=0).run(
        _classifier, images, {"map": maps["good"]}, targets, seed=2
    )
    assert res["map"].as_dict() == ref["map"].as_dict()
    assert res["map"].summary["gap"]["mean"] > 0  # the quadrant map is the faithful one
    assert gini(maps["good"]).shape == (9,)


def test_the_metrics_package_loads_road_only_when_asked():
    code = (
        "import sys, edgexai.core.metrics as m; m.gini; a = 'edgexai.core.metrics.road' in sys.modules; "
        "m.ROAD; print(a, 'edgexai.core.metrics.road' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.split() == ["False", "True", "False"]
