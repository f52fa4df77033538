"""Contract 4 end to end: `edgexai explain`'s metrics.json carries each method's per-image block,
whose means are the summary numbers it already wrote; and `edgexai.explain` returns the same
outcomes as arrays, for your own images (any size), seeded."""

from __future__ import annotations

import json

import numpy as np
import pytest

import edgexai
from edgexai.core.errors import EdgexaiError
from edgexai.study.explain_job import run_explain
from edgexai.study.explain_options import ExplainOptions


@pytest.fixture(scope="module")
def report(tiny_build, fake_gtsrb, tmp_path_factory):
    out = tmp_path_factory.mktemp("explain-per-image")
    opts = ExplainOptions(
        models=[str(tiny_build)],
        data_root=str(fake_gtsrb),
        limit=16,
        targets="all",
        methods=("vg", "gradcam"),
        ig_steps=4,
        sg_samples=2,
        percentages=(10, 50, 90),
        deletion_steps=0,
        workers=0,
        seed=2,
        progress=False,
        grid_images=0,
        out=str(out),
        update_manifest=False,
    )
    run_explain(opts)
    return json.loads((out / "metrics.json").read_text())


def test_metrics_json_has_per_image_outcomes_whose_means_are_the_summary(report):
    model = report["models"][0]
    n = model["n_explained"]
    assert n == 16
    for method in ("vg", "gradcam"):
        entry = model["methods"][method]
        per = entry["per_image"]
        assert per["index"] == list(range(16)) and len(per["label"]) == n
        assert np.mean(per["gini"]) == pytest.approx(entry["gini"]["mean"], abs=1e-6)
        road = entry["road"]
        for order in ("morf", "lerf"):
            correct = np.array(per["road"][order]["correct"])
            prob = np.array(per["road"][order]["probability"])
            assert correct.shape == prob.shape == (n, 3)
            assert set(np.unique(correct)) <= {0, 1}
            assert correct.mean(axis=0).tolist() == road["accuracy"][order]  # exact: counts / n
            assert np.allclose(prob.mean(axis=0), road["probability"][order], atol=1e-6, rtol=0)


def test_the_api_explains_own_images_with_per_image_results(tiny_build):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (24 + 3 * i, 30, 3), np.uint8) for i in range(6)]
    labels = [1, 2, 3, 1, 2, 3]
    kw = dict(methods=("vg", "gradcam"), percentages=(20, 60), seed=1, workers=0)
    ex = edgexai.explain(tiny_build, images, labels, **kw)
    assert ex.index.tolist() == list(range(6)) and ex.labels.tolist() == labels
    assert len(ex.predicted) == 6 and ex.maps["vg"].shape == (6, 32, 32)
    for method in ("vg", "gradcam"):
        r = ex.road[method]
        assert r.per_image_correct["morf"].shape == (6, 2)
        assert r.per_image_probability["lerf"].mean(axis=0).tolist() == r.probability["lerf"]
        assert ex.gini_mean[method] == pytest.approx(float(np.mean(ex.gini[method])))
        block = ex.result["methods"][method]["per_image"]
        assert (
            block["road"]["morf"]["probability"]
            == np.round(r.per_image_probability["morf"], 6).tolist()
        )
    again = edgexai.explain(tiny_build, images, labels, **kw)
    assert again.road["vg"].as_dict() == ex.road["vg"].as_dict()  # seeded: the same numbers
    bgr = [np.ascontiguousarray(im[:, :, ::-1]) for im in images]
    as_bgr = edgexai.explain(tiny_build, bgr, labels, channels="bgr", **kw)
    assert np.array_equal(as_bgr.maps["vg"], ex.maps["vg"])
    correct = edgexai.explain(tiny_build, images, ex.predicted, targets="correct", road=False)
    assert correct.index.tolist() == list(range(6)) and correct.road == {}


def test_the_api_refuses_bad_explain_input(tiny_build):
    img = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(EdgexaiError, match="got 1 labels for 2 images"):
        edgexai.explain(tiny_build, [img, img], [0])
    with pytest.raises(EdgexaiError, match="class ids 0…42"):
        edgexai.explain(tiny_build, [img], [43])
    with pytest.raises(EdgexaiError, match="unknown method 'nope'"):
        edgexai.explain(tiny_build, [img], [0], methods=("nope",))
    # issue 43: a fraction was truncated to a class id; text and bools were ids too
    for labels, word in (([14.7], "14.7"), ([float("nan")], "nan"), ([True], "bool")):
        with pytest.raises(EdgexaiError, match=f"integer class ids.*{word}"):
            edgexai.explain(tiny_build, [img], labels, road=False)
    whole = edgexai.explain(tiny_build, [img], [3.0], methods="vg", road=False)
    assert whole.labels.tolist() == [3] and list(whole.maps) == ["vg"]  # "vg" is one method
