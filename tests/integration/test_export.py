"""ONNX export with in-graph Grad-CAM: equality with PyTorch, precision variants, TensorRT ops check."""

from __future__ import annotations

import shutil
import tarfile

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import read_manifest, update_manifest
from edgexai.core.preprocess import normalise
from edgexai.train.export.calibration import (
    DEFAULT_LIST,
    load_images,
    make_list,
    read_list,
    write_list,
)
from edgexai.train.export.onnx_export import export_onnx
from edgexai.train.export.ops_check import check_graph, check_onnx, support_table
from edgexai.train.export.precision import ensure_variant, make_fp16, make_int8, make_nocam
from edgexai.train.models import get_spec
from edgexai.train.models.checkpoint import load_model
from edgexai.train.saliency.cam import CamModel


def _ort(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _real_test_images(root, n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The first n official test images, streamed from the archive (no full unpack)."""
    import cv2

    images, names, labels = {}, [], {}
    with tarfile.open(root / "gtsrb.tar.gz", "r|gz") as tar:
        for m in tar:
            if m.name.endswith("GT-final_test.csv"):
                rows = tar.extractfile(m).read().decode().splitlines()[1:]
                labels = {r.split(";")[0]: int(r.split(";")[-1]) for r in rows}
            elif "Final_Test/Images/" in m.name and m.name.endswith(".ppm") and len(images) < n:
                buf = np.frombuffer(tar.extractfile(m).read(), np.uint8)
                img = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                images[m.name.rsplit("/", 1)[1]] = cv2.resize(
                    img, (32, 32), interpolation=cv2.INTER_AREA
                )
            if labels and len(images) >= n:
                break
    names = sorted(images)
    return np.stack([images[k] for k in names]), np.array([labels.get(k, -1) for k in names])


@pytest.fixture(scope="module")
def exported(tiny_build, tmp_path_factory):
    """A copy of the tiny build with every ONNX variant (INT8 calibrated on fake images)."""
    d = tmp_path_factory.mktemp("exported") / tiny_build.name
    shutil.copytree(tiny_build, d)
    model = load_model(d / "model.pt")
    x = normalise(
        np.random.default_rng(0).integers(0, 255, (16, 32, 32, 3), dtype=np.uint8),
        (0.45, 0.4, 0.39),
        (0.23, 0.21, 0.22),
    )
    make_nocam(d / "model.onnx", d / "model_nocam.onnx")
    make_fp16(d / "model.onnx", d / "model_fp16.onnx")
    make_int8(d / "model.onnx", d / "model_int8.onnx", x)
    return d, model


def test_build_writes_one_checked_onnx_with_dynamic_batch(tiny_build):
    m = read_manifest(tiny_build)
    assert m["files"]["onnx"]["path"] == "model.onnx"
    assert m["onnx"]["opset"] <= 20
    assert [t["name"] for t in m["onnx"]["outputs"]] == ["logits", "cam"]
    assert m["onnx"]["inputs"][0]["shape"] == ["N", 3, 32, 32]
    assert m["onnx"]["outputs"][1]["shape"] == ["N", 32, 32]
    proto = onnx.load(str(tiny_build / "model.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert not any(t.data_location == TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert sorted(p.name for p in tiny_build.iterdir() if p.suffix == ".data") == []
    sess = _ort(tiny_build / "model.onnx")
    for n in (1, 5):
        logits, cam = sess.run(None, {"images": np.zeros((n, 3, 32, 32), np.float32)})
        assert logits.shape == (n, 43) and cam.shape == (n, 32, 32)


def test_ort_equals_pytorch_on_real_or_fake_images(tiny_build, fake_gtsrb, request):
    """Acceptance 1 in CI: logits and CAM within 1e-4 of PyTorch, same top-1."""
    try:
        root = request.getfixturevalue("real_data_root")
        images, _ = _real_test_images(root, 8)
    except pytest.skip.Exception:
        from edgexai.train.data.gtsrb import load_split
        from edgexai.train.data.locate import locate_gtsrb

        images = load_split(locate_gtsrb(str(fake_gtsrb)), "test", 32, progress=False).images[:8]
    m = read_manifest(tiny_build)
    x = normalise(images, m["mean"], m["std"])
    model = load_model(tiny_build / "model.pt")
    with torch.no_grad():
        ref_logits, ref_cam = CamModel(model, 32)(torch.from_numpy(x))
    logits, cam = _ort(tiny_build / "model.onnx").run(None, {"images": x})
    assert np.abs(logits - ref_logits.numpy()).max() <= 1e-4
    assert np.abs(cam - ref_cam.numpy()).max() <= 1e-4
    assert (logits.argmax(1) == ref_logits.numpy().argmax(1)).all()
    assert cam.min() >= 0 and cam.max() <= 1 + 1e-6


def test_all_zero_cam_stays_zero_not_nan(tmp_path):
    """The normaliser's +1e-8 survives export (a tolerant 'x+0 → x' rewrite would make 0/0)."""
    model = get_spec("resnet20").build().eval()
    with torch.no_grad():
        model.fc.weight.copy_(-model.fc.weight.abs() - 0.01)  # features ≥ 0 ⇒ CAM ≡ 0
    path = export_onnx(model, 32, tmp_path / "m.onnx")
    _, cam = _ort(path).run(
        None, {"images": np.random.default_rng(1).normal(size=(2, 3, 32, 32)).astype(np.float32)}
    )
    assert np.isfinite(cam).all() and cam.max() == 0


def test_precision_variants_agree_with_fp32(exported):
    d, _ = exported
    x = np.random.default_rng(2).normal(size=(16, 3, 32, 32)).astype(np.float32)
    ref_logits, ref_cam = _ort(d / "model.onnx").run(None, {"images": x})
    (nocam,) = _ort(d / "model_nocam.onnx").run(None, {"images": x})
    assert np.array_equal(nocam, ref_logits) or np.abs(nocam - ref_logits).max() < 1e-5
    for name, logit_tol in (("model_fp16.onnx", 0.05), ("model_int8.onnx", 1.0)):
        sess = _ort(d / name)
        assert [i.type for i in sess.get_inputs() + sess.get_outputs()] == ["tensor(float)"] * 3
        logits, cam = sess.run(None, {"images": x})
        assert np.abs(logits - ref_logits).max() < logit_tol, name
        assert np.isfinite(cam).all() and cam.min() >= 0 and cam.max() <= 1 + 1e-6


def test_int8_is_symmetric_qdq_with_float_cam_head(exported):
    proto = onnx.load(str(exported[0] / "model_int8.onnx"))
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    qdq = [n for n in proto.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert len(qdq) > 20
    for n in qdq:
        zp = inits[n.input[2]]
        assert zp.dtype == np.int8 and not zp.any(), n.name
    assert not any(n.op_type in ("QLinearConv", "ConvInteger") for n in proto.graph.node)
    matmul = next(n for n in proto.graph.node if n.op_type == "MatMul")  # the CAM product
    producers = {o: n.op_type for n in proto.graph.node for o in n.output}
    assert all(producers.get(i) != "DequantizeLinear" for i in matmul.input)


def _uneven_resnet20():
    """A channel-pruned-style ResNet-20 (layered regime): uneven per-block widths."""
    spec = get_spec("resnet20")
    widths = {
        "stem": 16,
        "stages": [
            [[8, 16], [16, 16], [8, 16]],
            [[24, 32], [16, 32], [32, 32]],
            [[40, 64], [64, 64], [48, 64]],
        ],
    }
    return spec.build(widths).eval()


def _unstructured(model, permanent: bool):
    from torch.nn.utils import prune

    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            prune.l1_unstructured(m, "weight", amount=0.2)
            if permanent:
                prune.remove(m, "weight")
    return model.eval()


@pytest.mark.parametrize("kind", ["layered", "unstructured", "masked", "resnet18"])
def test_every_graph_and_precision_passes_the_tensorrt_ops_check(exported, kind, tmp_path):
    """Each regime's graph shape (natural/adversarial: the tiny build; l1/global: pruned weights,
    permanent or still masked; layered: uneven widths; the paper-scale arch) × fp32/no-CAM/FP16/INT8."""
    if kind == "layered":
        model = _uneven_resnet20()
    elif kind in ("unstructured", "masked"):
        model = _unstructured(
            load_model(exported[0] / "model.pt"), permanent=kind == "unstructured"
        )
    else:
        model = get_spec("resnet18").build().eval()
    src = export_onnx(model, 32, tmp_path / "model.onnx")
    x = np.random.default_rng(3).normal(size=(4, 3, 32, 32)).astype(np.float32)
    paths = [
        src,
        make_nocam(src, tmp_path / "nocam.onnx"),
        make_fp16(src, tmp_path / "fp16.onnx"),
        make_int8(src, tmp_path / "int8.onnx", x),
    ]
    d = exported[0]
    paths += [
        d / "model.onnx",
        d / "model_nocam.onnx",
        d / "model_fp16.onnx",
        d / "model_int8.onnx",
    ]
    for p in paths:
        proto = onnx.load(str(p))
        assert check_graph(proto) == [], p.name
        assert all(n.op_type in support_table() for n in proto.graph.node)


def _graph(nodes, inits, opset=18, inputs=None, out_type=TensorProto.FLOAT):
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])]
    out = helper.make_tensor_value_info("y", out_type, None)
    g = helper.make_graph(nodes, "g", inputs, [out], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def test_ops_check_names_what_tensorrt_would_reject():
    f32 = lambda name, v: numpy_helper.from_array(np.asarray(v, np.float32), name)  # noqa: E731
    asym = _graph(
        [
            helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"]),
            helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"]),
        ],
        [f32("s", 0.1), numpy_helper.from_array(np.array(3, np.int8), "zp")],
    )
    assert any("zero point is not 0" in p for p in check_graph(asym))
    uint8 = _graph(
        [
            helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"]),
            helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"]),
        ],
        [f32("s", 0.1), numpy_helper.from_array(np.array(0, np.uint8), "zp")],
    )
    assert any("UINT8" in p for p in check_graph(uint8))
    axes_input = _graph(
        [helper.make_node("ReduceMax", ["x", "axes"], ["y"])],
        [],
        inputs=[
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("axes", TensorProto.INT64, [1]),
        ],
    )
    assert any("`axes` is not an initializer" in p for p in check_graph(axes_input))
    cubic = _graph(
        [helper.make_node("Resize", ["x", "", "sc"], ["y"], mode="cubic")], [f32("sc", [1, 2])]
    )
    assert any("mode 'cubic'" in p for p in check_graph(cubic))
    custom = _graph([helper.make_node("FusedGemm", ["x"], ["y"], domain="com.microsoft")], [])
    custom.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    assert any("custom domain" in p for p in check_graph(custom))
    unsupported = [op for op, s in support_table().items() if not s.supported]
    assert unsupported
    bad_op = _graph([helper.make_node(unsupported[0], ["x"], ["y"])], [])
    assert any("not supported" in p for p in check_graph(bad_op))
    assert any(
        "opset 21" in p
        for p in check_graph(_graph([helper.make_node("Relu", ["x"], ["y"])], [], opset=21))
    )
    with pytest.raises(EdgexaiError, match="would not parse in TensorRT 10"):
        check_onnx(asym)


def test_asymmetric_quantisation_is_caught(exported, tmp_path):
    """What ORT's default (asymmetric uint8) quantiser makes is what TensorRT refuses."""
    from onnxruntime.quantization import QuantFormat, quantize_static

    class Reader:
        def __init__(self):
            self.it = iter(
                [
                    {
                        "images": np.random.default_rng(4)
                        .normal(size=(4, 3, 32, 32))
                        .astype(np.float32)
                    }
                ]
            )

        def get_next(self):
            return next(self.it, None)

    out = tmp_path / "asym.onnx"
    quantize_static(
        str(exported[0] / "model.onnx"), str(out), Reader(), quant_format=QuantFormat.QDQ
    )
    problems = check_graph(onnx.load(str(out)))
    assert any("zero point is not 0" in p or "UINT8" in p for p in problems)


def test_committed_calibration_list_is_class_balanced_training_images():
    entries = read_list(DEFAULT_LIST)
    assert DEFAULT_LIST.read_text().startswith("# edgexai-calib/1")
    assert 200 <= len(entries) <= 1000 and len({e.path for e in entries}) == len(entries)
    counts = np.bincount([e.label for e in entries], minlength=43)
    assert len(counts) == 43 and counts.min() == counts.max()
    assert all(
        e.path.startswith("gtsrb/GTSRB/Training/") and e.path.endswith(".ppm") for e in entries
    )
    assert all(f"/{e.label:05d}/" in e.path for e in entries)


def test_calibration_list_draw_is_deterministic_and_int8_variant_is_recorded(
    exported, fake_gtsrb, tmp_path
):
    from edgexai.train.data.locate import locate_gtsrb

    source = locate_gtsrb(str(fake_gtsrb))
    a, b = make_list(source, per_class=2), make_list(source, per_class=2)
    assert a == b and len(a) == 86
    calib = tmp_path / "calib.txt"
    write_list(calib, a, ["test list"])
    d = tmp_path / "build"
    shutil.copytree(exported[0], d, ignore=shutil.ignore_patterns("model_int8.onnx"))

    def as_built_before_variants_shipped(m):
        m["files"].pop("onnx_int8")
        m["onnx"]["variants"].pop("int8")

    update_manifest(d, as_built_before_variants_shipped)
    path = ensure_variant(d, "int8", str(fake_gtsrb), calib)
    m = read_manifest(d)
    assert m["files"]["onnx_int8"]["path"] == path.name == "model_int8.onnx"
    assert m["onnx"]["variants"]["int8"]["calibration"]["images"] == 86
    assert ensure_variant(d, "int8") == path  # recorded: verified, not remade
    with pytest.raises(EdgexaiError, match="missing or unreadable"):
        load_images(a[:1], tmp_path, 32)  # a data root that is not the list's GTSRB


def test_every_derived_graph_goes_through_the_tensorrt_operator_check(
    exported, tmp_path, monkeypatch
):
    """Issue 13 #8: a variant TensorRT's parser would refuse fails where it is made (on the
    training machine), not on the vehicle."""
    import onnx

    import edgexai.train.export.precision as precision

    d = tmp_path / "build"
    shutil.copytree(exported[0], d)
    update_manifest(d, lambda m: (m["files"].pop("onnx_fp16"), m["onnx"]["variants"].pop("fp16")))

    def fp16_with_an_op_tensorrt_lacks(src, dst, *args):
        proto = onnx.load(str(src))
        proto.graph.node[0].op_type = "Det"  # listed unsupported by TensorRT 10.1's parser
        onnx.save_model(proto, str(dst))
        return dst

    monkeypatch.setattr(precision, "make_fp16", fp16_with_an_op_tensorrt_lacks)
    with pytest.raises(EdgexaiError, match="would not parse in TensorRT"):
        ensure_variant(d, "fp16")
