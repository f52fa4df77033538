"""`edgexai.load(...).predict(images)` on a hand-made ONNX build (no torch): the numbers `run`'s
classify/decide stages compute for the same crop, RGB/BGR and any size, clear errors for bad
input, CAM-less builds, and the acceptance one-liner in a process where torch cannot import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from support import REPO, SUPPORT
from support.pipeline import write_onnx_build

import edgexai
from edgexai.core.errors import EdgexaiError

pytest.importorskip("onnxruntime")

NAMES = ["stop", "yield", "priority road", "no entry", "give way"]


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    return write_onnx_build(tmp_path_factory.mktemp("api") / "tiny", input_size=32, classes=NAMES)


@pytest.fixture(scope="module")
def model(build):
    with edgexai.load(build, backend="ort") as m:
        yield m


def _images(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), np.uint8) for h, w in ((48, 40), (20, 64), (32, 32))]


def test_predict_gives_the_numbers_the_run_stages_compute(model):
    """The classify stage on a frame that is the crop (its box the whole frame, which padding
    cannot grow), then the decide stage's softmax and log rounding: what `run` logs for that
    crop. Both go through the one `SignClassifier` object."""
    from edgexai.deploy.pipeline.capture_thread import Frame
    from edgexai.deploy.pipeline.decision import Decision
    from edgexai.deploy.pipeline.stages import ClassifyStage, DecideStage, FrameClock
    from edgexai.deploy.sign_classifier import SignClassifier
    from edgexai.deploy.sign_detector import Candidates

    assert isinstance(model.engine, SignClassifier)
    for i, rgb in enumerate(_images(1)):
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        (pred,) = model.predict([rgb])
        frame = Frame(i, bgr, None, 0.0, 0.0)
        clock = FrameClock.start(frame)
        h, wd = rgb.shape[:2]
        found = Candidates(np.array([[0, 0, wd, h]], np.float32), np.ones(1, np.float32), 1, {})
        classified = ClassifyStage(model.engine)(frame, found, clock)
        p = classified.probabilities[0]
        assert pred.class_id == int(p.argmax()) and pred.class_name == NAMES[pred.class_id]
        assert pred.confidence == float(p[pred.class_id])
        assert np.array_equal(pred.cam, classified.cams[0])
        decided = DecideStage(Decision(0.0, 0.0), model.classes, 0.5)(found, classified, clock)
        (logged,) = decided.detections
        assert logged["class_id"] == pred.class_id and logged["class_name"] == pred.class_name
        assert logged["confidence"] == round(pred.confidence, 4)
        assert logged["gini"] == round(pred.gini, 4)


def test_predict_takes_lists_arrays_rgb_and_bgr(model):
    images = _images(2)
    preds = model.predict(images, top_k=3)
    assert [p.cam.shape for p in preds] == [(32, 32)] * 3
    for p in preds:
        assert len(p.top_k) == 3 and p.top_k[0] == (p.class_id, p.class_name, p.confidence)
        probs = [t[2] for t in p.top_k]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-9
        assert 0.0 <= p.cam.min() and p.cam.max() <= 1.0
    bgr = [np.ascontiguousarray(im[:, :, ::-1]) for im in images]
    assert model.predict(bgr, channels="bgr", top_k=3) == preds  # compares all but the cam
    same = np.stack([images[2], images[2]])
    a, b = model.predict(same)
    assert a == b == model.predict([images[2]])[0]
    assert len(model.predict(images, top_k=99)[0].top_k) == len(NAMES)
    assert "cam=32×32" in repr(preds[0]) and "class_name=" in repr(preds[0])


def test_classifier_describes_its_build(model, build):
    assert model.classes == NAMES and model.input_size == 32 and model.has_cam
    assert model.info.name == "tiny" and model.info.backend == "ort"
    x = model.preprocess(_images()[:2])
    assert x.shape == (2, 3, 32, 32) and x.dtype == np.float32
    assert model.logits(x).shape == (2, len(NAMES))


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ([], "images is empty"),
        ([np.zeros((8, 8, 3), np.float32)], "image 0 is float32; pass uint8"),
        ([np.zeros((8, 8), np.uint8)], "image 0 has shape \\(8, 8\\); expected H×W×3"),
        ([np.zeros((8, 8, 4), np.uint8)], "expected H×W×3"),
        (np.zeros((8, 8, 3), np.uint8), "pass a list \\[image\\]"),
        ("sign.png", "list of H×W×3 uint8 arrays, not str"),
        ([[1, 2, 3]], "image 0 is a list, not a numpy array"),
    ],
)
def test_bad_input_is_one_clear_line(model, images, message):
    with pytest.raises(EdgexaiError, match=message) as exc:
        model.predict(images)
    assert "\n" not in str(exc.value)


def test_bad_options_and_missing_builds(model, build, tmp_path):
    with pytest.raises(EdgexaiError, match="channels must be 'rgb' or 'bgr'"):
        model.predict(_images(), channels="hsv")
    with pytest.raises(EdgexaiError, match="top_k must be a positive integer"):
        model.predict(_images(), top_k=0)
    with pytest.raises(EdgexaiError, match="is not a build folder"):
        edgexai.load(tmp_path / "nowhere")
    with pytest.raises(EdgexaiError, match="is a detector build; edgexai.load takes a classifier"):
        edgexai.load(REPO / "edgexai" / "deploy" / "pipeline" / "data" / "detector")
    with pytest.raises(EdgexaiError, match="unknown backend 'nope'"):
        edgexai.load(build, backend="nope")


def test_a_camless_build_predicts_without_a_cam(build, tmp_path):
    """Cut to logits and marked `cam: false` as a VGG-16 export is (contract 3)."""
    import shutil

    from edgexai.core.digest import sha256_file
    from edgexai.train.export.precision import make_nocam

    camless = tmp_path / "camless"
    shutil.copytree(build, camless)
    make_nocam(build / "model.onnx", camless / "model.onnx")
    m = json.loads((camless / "manifest.json").read_text())
    m["files"]["onnx"]["sha256"] = sha256_file(camless / "model.onnx")
    m["onnx"]["outputs"] = m["onnx"]["outputs"][:1]
    m["cam"] = False
    (camless / "manifest.json").write_text(json.dumps(m))
    with edgexai.load(build, backend="ort") as full, edgexai.load(camless, backend="ort") as cut:
        assert not cut.has_cam
        (p,) = cut.predict(_images()[:1])
        (q,) = full.predict(_images()[:1])
        assert p.cam is None and p.gini is None and "cam=None" in repr(p)
        assert p == q  # same logits graph: same class, confidence and top-k


def test_import_is_light_and_load_works_with_torch_blocked(build):
    """The acceptance check: `import edgexai; m = edgexai.load(...); print(m.predict([img]))`
    where torch cannot be imported (support.blocktorch), on an ORT build made without torch."""
    code = (
        "import blocktorch, sys\n"
        "import edgexai\n"
        "light = not any(k.startswith(('edgexai.api', 'numpy')) for k in sys.modules)\n"
        "import numpy as np\n"
        "img = np.full((40, 36, 3), 120, np.uint8)\n"
        f"m = edgexai.load({str(build)!r}, backend='ort')\n"
        "print(m.predict([img]))\n"
        "print('light', light, 'torch' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{SUPPORT}{os.pathsep}{REPO}", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "[Prediction(class_id=" in out.stdout and "cam=32×32" in out.stdout
    assert "light True False" in out.stdout


def test_edgexai_explain_is_the_api_function_after_the_explain_modules_load():
    """`edgexai.explain` is the API call (no subpackage of that name any more): importing the
    explain job's modules leaves it the same callable."""
    code = (
        "import edgexai\n"
        "first = edgexai.explain\n"
        "import edgexai.study.explain_job, edgexai.study.explain_options as o\n"
        "from edgexai.api import explain\n"
        "assert edgexai.explain is first and callable(first), type(first)\n"
        "try:\n"
        "    edgexai.explain('/nowhere', [], [])\n"
        "except edgexai.api.classifier.EdgexaiError as e:\n"
        "    print(e)\n"
        "print(callable(explain), o.DEFAULT_METHODS)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "images is empty; pass at least one H×W×3 uint8 image",
        "True ('vg', 'ig', 'sg', 'gradcam')",
    ]
