"""Issue 17, items 5, 6 (engine, doctor, detector train), 8 (the manifest) and 9: wrong labels,
late number checks, manifest tracebacks and a doctor that said "ready" when `run` would fail.

The builds are support.pipeline's hand-made ONNX classifier, their manifests edited as text. (Each
test was checked failing on git 27c6b1b with a self-contained copy of that builder.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support.pipeline import tiny_classifier_onnx, write_onnx_build

from edgexai.core.errors import EdgexaiError

pytest.importorskip("onnx")

N_CLASSES = 43
NAMES = [f"class {i}" for i in range(N_CLASSES)]


# --- a tiny classifier build, made without torch -------------------------------------------


def make_build(folder: Path, n_classes: int = N_CLASSES, size: int = 32) -> Path:
    """A classifier build folder ONNX Runtime opens (fp32 only), with a valid manifest."""
    return write_onnx_build(folder, input_size=size, classes=NAMES[:n_classes])


def edit_manifest(folder: Path, change) -> None:
    """Change manifest.json as a person with an editor would (no validation on the way)."""
    path = folder / "manifest.json"
    m = json.loads(path.read_text())
    change(m)
    path.write_text(json.dumps(m, indent=2))


def drop_a_class(m: dict) -> None:
    """42 names for the 43-output model: 'yield' (13) gone, every later label shifted."""
    del m["classes"][13]


def drop_a_class_everywhere(m: dict) -> None:
    """42 names, and the recorded logits shape edited to match — only the model says 43."""
    drop_a_class(m)
    next(o for o in m["onnx"]["outputs"] if o["name"] == "logits")["shape"] = ["N", 42]


def an_image(path: Path) -> Path:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((48, 64, 3), 120, np.uint8))
    return path


def doctor(capsys, *args: str) -> tuple[int, list[dict]]:
    """`edgexai doctor --backend ort --json ARGS` in this process: (exit code, checks)."""
    from edgexai.cli import main

    capsys.readouterr()
    rc = main(["doctor", "--backend", "ort", "--json", *args])
    return rc, json.loads(capsys.readouterr().out)["checks"]


def failed(checks: list[dict], *words: str) -> list[dict]:
    """The failed checks whose detail mentions every one of `words`."""
    return [c for c in checks if c["status"] == "fail" and all(w in c["detail"] for w in words)]


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# --- item 5: the class list against the model's output size, at open ------------------------


@pytest.mark.parametrize("edit", [drop_a_class, drop_a_class_everywhere])
def test_item5_42_names_for_a_43_output_onnx_refused_at_open(tmp_path, edit):
    pytest.importorskip("onnxruntime")
    from edgexai.deploy.runtime.ort import OrtSession

    build = make_build(tmp_path / "b")
    edit_manifest(build, edit)
    with pytest.raises(EdgexaiError) as info:
        OrtSession(build, "fp32", threads=1)
    message = one_line(str(info.value))
    assert "42" in message and "43" in message and str(build) in message


def test_item5_the_onnx_graph_is_read_without_onnxruntime():
    from edgexai.deploy.runtime.onnx_io import graph_io, output_width

    data = tiny_classifier_onnx(43, 32)
    inputs, outputs = graph_io(data)
    assert inputs == {"images": ("N", 3, 32, 32)}
    assert outputs == {"logits": ("N", 43), "cam": ("N", 32, 32)}
    assert output_width(data) == 43


def test_item5_tensorrt_engine_of_another_width_refused_at_open(tmp_path):
    """The engine built for the 43-class graph, then the manifest edited to 42 classes (and a
    42-wide logits record): the cached engine is opened, and refused before any buffer is sized
    from the manifest."""
    pytest.importorskip("onnxruntime")
    from support.fake_trt import FakeMemory, make_fake_trt

    from edgexai.deploy.runtime.trt import TrtSession

    build = make_build(tmp_path / "b")
    memory = FakeMemory()
    trt = make_fake_trt(10, memory, [])
    TrtSession(build, "fp32", trt_module=trt, memory=memory, max_batch=4).close()
    edit_manifest(build, drop_a_class_everywhere)
    with pytest.raises(EdgexaiError) as info:
        TrtSession(build, "fp32", trt_module=trt, memory=memory, max_batch=4, rebuild="never")
    message = one_line(str(info.value))
    assert "42" in message and "43" in message and ".engine" in message


def test_item5_checkpoint_with_another_class_count_refused_at_load(tmp_path):
    torch = pytest.importorskip("torch")
    from edgexai.train.models.arch_registry import create_model
    from edgexai.train.models.checkpoint import load_model, save_model

    path = tmp_path / "model.pt"
    save_model(create_model("resnet20", None, 43), "resnet20", path)
    assert load_model(path, classes=NAMES).fc.out_features == 43
    with pytest.raises(EdgexaiError, match=r"outputs 43 classes .* names 42"):
        load_model(path, classes=NAMES[:42])
    payload = torch.load(path, weights_only=True)
    payload["num_classes"] = 42  # a file whose record disagrees with its last layer
    torch.save(payload, path)
    with pytest.raises(EdgexaiError, match=r"records 42 classes .* \(fc\) has 43 outputs"):
        load_model(path)


@pytest.mark.parametrize("edit", [drop_a_class, drop_a_class_everywhere])
def test_item5_doctor_not_ready_for_42_names(tmp_path, capsys, edit):
    pytest.importorskip("onnxruntime")
    build = make_build(tmp_path / "b")
    edit_manifest(build, edit)
    rc, checks = doctor(
        capsys, "--model", str(build), "--source", str(an_image(tmp_path / "f.png"))
    )
    assert rc == 1
    assert failed(checks, "42", "43"), checks


# --- item 6: every number option of engine, doctor and detector train, at parse time --------


@pytest.mark.parametrize(
    "argv, option",
    [
        (["engine", "--model", "m", "--max-batch", "0"], "--max-batch"),
        (["engine", "--model", "m", "--max-batch", "-3"], "--max-batch"),
        (["engine", "--model", "m", "--max-batch", "nan"], "--max-batch"),
        (["doctor", "--max-batch", "0"], "--max-batch"),
        (["doctor", "--max-batch", "inf"], "--max-batch"),
        (["detector", "train", "--steps", "0"], "--steps"),
        (["detector", "train", "--batch", "-1"], "--batch"),
        (["detector", "train", "--crop", "100"], "--crop"),
        (["detector", "train", "--lr", "nan"], "--lr"),
        (["detector", "train", "--eval-every", "0"], "--eval-every"),
        (["detector", "train", "--threads", "0"], "--threads"),
        (["detector", "train", "--seed", "-1"], "--seed"),
        (["detector", "train", "--input-size", "abc"], "--input-size"),
        (["detector", "train", "--input-size", "1344x801"], "--input-size"),
        (["detector", "train", "--input-size", "nanx640"], "--input-size"),
        (["detector", "train", "--train", "5:2"], "--train"),
        (["detector", "train", "--calibrate", "4:9"], "--calibrate"),
    ],
)
def test_item6_number_options_refused_at_parse(argv, option, capsys):
    from edgexai.cli import make_parser

    parser = make_parser()
    with pytest.raises(SystemExit) as info:
        parser.parse_args(argv)
    assert info.value.code == 2
    line = one_line(capsys.readouterr().err)
    assert f"argument {option}:" in line, line


def test_item6_good_numbers_still_parse():
    from edgexai.cli import make_parser

    args = make_parser().parse_args(
        ["detector", "train", "--input-size", "640x320", "--crop", "128", "--seed", "0"]
    )
    assert (args.input_size, args.crop, args.seed) == ((640, 320), 128, 0)
    assert make_parser().parse_args(["engine", "--model", "m", "--max-batch", "8"]).max_batch == 8


# --- item 8: a manifest without a file's path, `input_size: "abc"`: one line ----------------


def _no_path(m: dict) -> None:
    del m["files"]["onnx"]["path"]


def _abc(m: dict) -> None:
    m["input_size"] = "abc"


@pytest.mark.parametrize("edit, word", [(_no_path, "path"), (_abc, "input_size")])
def test_item8_bad_manifest_is_one_line(tmp_path, capsys, edit, word):
    pytest.importorskip("onnxruntime")
    from edgexai.cli import main
    from edgexai.deploy.sign_classifier import SignClassifier

    build = make_build(tmp_path / "b")
    edit_manifest(build, edit)
    capsys.readouterr()
    assert main(["engine", "--model", str(build), "--backend", "ort"]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith("edgexai: error:") and word in line, line
    with pytest.raises(EdgexaiError) as info:  # what `run --model` opens
        SignClassifier.open(build, "ort")
    assert word in one_line(str(info.value))


# --- item 9: doctor says "ready" only where `run` would work ---------------------------------


@pytest.mark.parametrize("name", ["clip.mp4", "frame.jpg"])
def test_item9_doctor_decodes_a_frame_of_a_file_source(tmp_path, capsys, name):
    pytest.importorskip("cv2")
    pytest.importorskip("onnxruntime")
    build = make_build(tmp_path / "b")
    fake = tmp_path / name
    fake.write_text("this is a text file, not a video or an image\n")
    rc, checks = doctor(capsys, "--model", str(build), "--source", str(fake))
    assert rc == 1
    assert failed(checks, str(fake)), checks
    rc, checks = doctor(
        capsys, "--model", str(build), "--source", str(an_image(tmp_path / "good" / "f.png"))
    )
    source = [c for c in checks if c["name"] == "source"]
    assert source and source[0]["status"] == "ok", checks


def test_item9_doctor_refuses_a_stream_without_host(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    build = make_build(tmp_path / "b")
    for uri in ("rtsp://", "rtsp:///live", "rtsp://cam:notaport/x"):
        rc, checks = doctor(capsys, "--model", str(build), "--source", uri)
        assert rc == 1
        assert failed(checks, uri), (uri, checks)


def test_item9_doctor_not_ready_for_input_size_abc(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    build = make_build(tmp_path / "b")
    edit_manifest(build, _abc)
    rc, checks = doctor(
        capsys, "--model", str(build), "--source", str(an_image(tmp_path / "f.png"))
    )
    assert rc == 1
    assert failed(checks, "input_size"), checks


def _outside(tmp_path: Path, how: str) -> Path:
    """A build whose model.onnx (with its right digest) lies in a folder beside it."""
    build = make_build(tmp_path / "builds" / "b")
    other = tmp_path / "other"
    other.mkdir()
    (build / "model.onnx").replace(other / "model.onnx")
    if how == "dotdot":
        edit_manifest(build, lambda m: m["files"]["onnx"].update(path="../../other/model.onnx"))
    else:
        (build / "model.onnx").symlink_to(other / "model.onnx")
    return build


@pytest.mark.parametrize("how", ["dotdot", "symlink"])
def test_item9_manifest_paths_that_leave_the_build_folder_are_refused(tmp_path, capsys, how):
    pytest.importorskip("onnxruntime")
    from edgexai.core.manifest import read_manifest, verify_file
    from edgexai.deploy.runtime.ort import OrtSession

    build = _outside(tmp_path, how)
    rc, checks = doctor(
        capsys, "--model", str(build), "--source", str(an_image(tmp_path / "f.png"))
    )
    assert rc == 1
    assert failed(checks, "build folder"), checks
    with pytest.raises(EdgexaiError, match="build folder"):
        OrtSession(build, "fp32", threads=1)
    with pytest.raises(EdgexaiError, match="build folder"):
        verify_file(build, read_manifest(build), "onnx")


def test_item9_a_symlinked_build_folder_is_still_inside_itself(tmp_path):
    """The check resolves both sides: a build folder reached through a link is fine."""
    pytest.importorskip("onnxruntime")
    from edgexai.deploy.runtime.ort import OrtSession

    real = make_build(tmp_path / "real")
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    with OrtSession(tmp_path / "link", "fp32", threads=1) as session:
        logits, cam = session.infer(np.zeros((2, 3, 32, 32), np.float32))
    assert logits.shape == (2, N_CLASSES) and cam.shape == (2, 32, 32)
