"""The paper's VGG-16: its shape and size, checkpoints (pruned too), a logits-only export, and the
CAM-less contract (manifest, runtime sessions, explain's methods, the pipeline's stages)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import has_cam, no_cam_reason
from edgexai.train.models import cam_models, create_model, get_spec
from edgexai.train.models.checkpoint import load_model, save_model
from edgexai.train.models.complexity import count_macs, count_params

NARROW = {"stages": [[8, 8], [8, 8], [16, 16, 16], [16, 16, 16], [16, 16, 16]], "hidden": [16, 16]}


def test_vgg16_forward_at_32_px_ends_in_a_1x1_map():
    model = create_model("vgg16", None, 7).eval()
    x = torch.zeros(2, 3, 32, 32)
    assert model.features(x).shape == (2, 512, 1, 1)
    assert model(x).shape == (2, 7)
    assert model.fc.in_features == 512 and model.fc.out_features == 7
    assert model.widths() == get_spec("vgg16").default_widths


def test_vgg16_size_is_the_papers():
    model = create_model("vgg16")  # 43 classes
    # 14.7 M conv + 0.55 M classifier parameters; ~313 M MACs at 32 px
    assert 15.0e6 < count_params(model) < 15.5e6
    assert 300e6 < count_macs(model, 32) < 330e6


def test_vgg16_spec_has_no_cam_and_says_why():
    spec = get_spec("vgg16")
    assert spec.cam_layer is None and not spec.has_cam
    assert "vgg16" not in cam_models() and "resnet20" in cam_models()
    assert "1×1" in spec.cam_refusal and "GAP→linear" in spec.cam_refusal
    assert "BatchNorm" in spec.description


def test_vgg_checkpoint_round_trips_after_layered_pruning(tmp_path):
    from edgexai.train.regimes.structured import LayeredConfig, apply_layered

    model = create_model("vgg16", NARROW, 5)
    done = apply_layered(model, "vgg16", 32, LayeredConfig(mode="remove", amount=0.5, round_to=4))
    widths = model.widths()
    assert widths == done["widths_after"] and widths["stages"][0] == [4, 4]
    assert model.fc.out_features == 5  # the output layer is never pruned
    path = tmp_path / "model.pt"
    save_model(model.eval(), "vgg16", path)
    assert torch.load(path, weights_only=True)["widths"] == widths
    restored = load_model(path)
    x = torch.randn(3, 3, 32, 32)
    assert torch.equal(restored(x), model(x))


def test_unstructured_pruning_reaches_vgg_convs_and_linears():
    from edgexai.train.regimes.unstructured import make_permanent, prune_global
    from edgexai.train.regimes.weights import weight_sparsity

    model = create_model("vgg16", NARROW, 5)
    prune_global(model, 0.3)
    make_permanent(model)
    sparsity = weight_sparsity(model)
    assert sparsity["weights"] == pytest.approx(0.3, abs=1e-3)
    assert sparsity["conv"] > 0 and sparsity["linear"] > 0


def test_the_cam_is_refused_for_vgg_not_approximated():
    from edgexai.train.saliency.cam import CamModel
    from edgexai.train.saliency.explainers import explain

    model = create_model("vgg16", NARROW, 5).eval()
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(EdgexaiError, match="refused rather than approximated"):
        CamModel(model, 32)
    for method in ("gradcam", "cam"):
        with pytest.raises(EdgexaiError):
            explain(model, x, torch.tensor([0, 1]), method)
    assert explain(model, x, torch.tensor([0, 1]), "vg").shape == (2, 32, 32)


def test_vgg_export_has_logits_only_and_records_no_cam(tmp_path, capsys):
    pytest.importorskip("onnx")
    from edgexai.train.export.onnx_export import export_build

    manifest = {"arch": "vgg16", "cam_layer": None}
    export_build(create_model("vgg16", NARROW, 5).eval(), 32, tmp_path, manifest)
    assert [o["name"] for o in manifest["onnx"]["outputs"]] == ["logits"]
    assert manifest["cam"] is False and manifest["cam_layer"] is None
    assert not has_cam(manifest) and no_cam_reason(manifest) == get_spec("vgg16").cam_refusal
    assert "no exact in-graph Grad-CAM" in capsys.readouterr().err


def test_has_cam_defaults_to_true_for_older_builds():
    assert has_cam({"kind": "classifier", "cam_layer": "layer3"})
    assert has_cam({"kind": "classifier", "cam_layer": None})  # hand-made test builds
    assert not has_cam({"kind": "classifier", "cam": False})
    assert not has_cam({"kind": "detector"})


def test_explain_methods_on_a_camless_build():
    from edgexai.study.explain_options import DEFAULT_METHODS
    from edgexai.train.saliency.explainers import usable_methods

    vgg = {"kind": "classifier", "name": "vgg16-natural-s0", "arch": "vgg16", "cam": False}
    vgg["cam_refusal"] = get_spec("vgg16").cam_refusal
    resnet = {"kind": "classifier", "name": "resnet20-natural-s0"}
    assert usable_methods(DEFAULT_METHODS, [resnet], False) == (DEFAULT_METHODS, [])
    kept, notes = usable_methods(DEFAULT_METHODS, [resnet, vgg], False)
    assert kept == ("vg", "ig", "sg") and "vgg16-natural-s0" in notes[0]
    with pytest.raises(EdgexaiError, match="gradcam refused for vgg16-natural-s0: vgg16 has no"):
        usable_methods(("vg", "gradcam"), [vgg], True)
    assert usable_methods(("vg", "sg"), [vgg], True) == (("vg", "sg"), [])


# --- deployment side: a CAM-less build folder, made without torch ---------------------------


@pytest.fixture
def camless_build(tmp_path):
    """support's hand-made ONNX build cut to logits, marked CAM-less as an export marks it."""
    pytest.importorskip("onnxruntime")
    from support.pipeline import write_onnx_build

    from edgexai.core.digest import sha256_file
    from edgexai.train.export.precision import make_nocam

    build = write_onnx_build(tmp_path / "camless", classes=[f"c{i}" for i in range(5)])
    make_nocam(build / "model.onnx", build / "logits.onnx")
    (build / "logits.onnx").replace(build / "model.onnx")
    m = json.loads((build / "manifest.json").read_text())
    m["files"]["onnx"]["sha256"] = sha256_file(build / "model.onnx")
    m["onnx"]["outputs"] = m["onnx"]["outputs"][:1]
    m.update(cam=False, cam_refusal=get_spec("vgg16").cam_refusal)
    (build / "manifest.json").write_text(json.dumps(m))
    return build


def test_sessions_on_a_camless_build(camless_build):
    from edgexai.core.manifest import ManifestError, parse, read_manifest
    from edgexai.deploy.runtime import open_session
    from edgexai.deploy.runtime.session import variant_for

    with open_session(camless_build, "ort") as session:  # the default: as the build has it
        assert session.cam is False and session.variant == "fp32"
        logits, cam = session.infer(np.zeros((2, 3, 32, 32), np.float32))
        assert logits.shape == (2, 5) and cam is None
    with pytest.raises(EdgexaiError, match="has no in-graph CAM .*vgg16 has no exact"):
        open_session(camless_build, "ort", cam=True)
    assert variant_for("classifier", "int8", False, graph_cam=False) == "int8"
    assert variant_for("classifier", "fp32", False) == "nocam"
    bad = read_manifest(camless_build)
    bad["onnx"]["outputs"].append({"name": "cam", "shape": ["N", 32, 32], "dtype": "float32"})
    with pytest.raises(ManifestError, match="cam is false but"):
        parse(bad)


def test_pipeline_stages_on_a_camless_build(camless_build):
    from edgexai.deploy.pipeline.capture_thread import Frame
    from edgexai.deploy.pipeline.decision import Decision
    from edgexai.deploy.pipeline.stages import ClassifyStage, DecideStage, FrameClock, ProbeStage
    from edgexai.deploy.sign_classifier import SignClassifier
    from edgexai.deploy.sign_detector import Candidates

    classifier = SignClassifier.open(camless_build, "ort")
    assert classifier.info.cam is False
    frame = Frame(4, np.zeros((120, 160, 3), np.uint8), None, 0.0, 0.0)
    clock = FrameClock.start(frame)
    boxes = np.array([[10, 10, 50, 50], [60, 20, 100, 60]], np.float32)
    found = Candidates(boxes, np.ones(2, np.float32), 2, {})
    classified = ClassifyStage(classifier)(frame, found, clock)
    assert classified.cams is None and classified.logits.shape == (2, 5)
    decided = DecideStage(Decision(0.0, 0.0), classifier.info.classes, 0.5)(
        found, classified, clock
    )
    assert decided.detections and all(d["gini"] is None for d in decided.detections)
    probed = ProbeStage(classifier, 1, 10.0)(frame, classified, decided, clock)
    assert all("probe" not in d for d in probed.detections)  # nothing to probe without a CAM
    assert list(clock.ms) == ["capture", "preprocess", "infer", "post", "probe"]


def test_tensorrt_sessions_on_a_camless_build(camless_build):
    """TensorRT (the fake of tests/support): engines from the logits-only graph at every
    precision, never the fp32-only no-CAM variant."""
    from support.fake_trt import FakeMemory, make_fake_trt

    from edgexai.deploy.runtime.trt import TrtSession

    memory = FakeMemory()
    s = TrtSession(
        camless_build, "fp16", trt_module=make_fake_trt(10, memory, []), memory=memory, max_batch=2
    )
    assert s.cam is False and s.onnx_variant == "fp32" and s.variant == "fp16"
    logits, cam = s.infer(np.zeros((2, 3, 32, 32), np.float32))
    assert cam is None and logits.shape == (2, 5)
    s.close()
