"""Shared helpers for the pipeline tests: synthetic road-ish frames, folders, videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def road_frame_and_signs(
    seed: int, w: int = 320, h: int = 200, signs: int = 2
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A grey-green BGR frame with a few red-ring discs (sign-like) at seeded places, and their
    boxes (x1, y1, x2, y2, inclusive, as in GTSDB's gt.txt)."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.clip(rng.normal(110, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    img[: h // 3] = (200, 170, 150)  # sky
    boxes = []
    for _ in range(signs):
        r = int(rng.integers(10, 22))
        cx, cy = int(rng.integers(r + 2, w - r - 2)), int(rng.integers(r + 2, h - r - 2))
        cv2.circle(img, (cx, cy), r, (255, 255, 255), -1)
        cv2.circle(img, (cx, cy), r, (30, 30, 210), max(2, r // 4))
        boxes.append((cx - r, cy - r, cx + r, cy + r))
    return img, boxes


def road_frame(seed: int, w: int = 320, h: int = 200, signs: int = 2) -> np.ndarray:
    return road_frame_and_signs(seed, w, h, signs)[0]


def write_gt_frames(folder: Path, n: int, class_id: int = 2, **kw) -> Path:
    """Frames plus a GTSDB-style gt.txt (`file;x1;y1;x2;y2;class`) of their discs."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        img, boxes = road_frame_and_signs(i, **kw)
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), img)
        lines += [f"{i:05d}.ppm;{x1};{y1};{x2};{y2};{class_id}" for x1, y1, x2, y2 in boxes]
    (folder / "gt.txt").write_text("\n".join(lines) + "\n")
    return folder


def write_frames(folder: Path, n: int, corrupt: tuple[int, ...] = (), **kw) -> Path:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        path = folder / f"{i:05d}.jpg"
        if i in corrupt:
            path.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
        else:
            cv2.imwrite(str(path), road_frame(i, **kw))
    return folder


def write_video(path: Path, n: int, fps: float = 10.0, **kw) -> Path:
    import cv2

    frames = [road_frame(i, **kw) for i in range(n)]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


class FakeSession:
    """A deterministic stand-in engine for in-process tests: no model file, no backend.

    Logits come from a fixed random projection of coarse colour statistics (so different crops
    get different, repeatable classes); the CAM is the crop's local chroma magnitude, min-max
    normalised — shaped like the real outputs, cheap, and sensitive to the probe's deletions.
    """

    def __init__(self, n_classes: int = 43, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = rng.normal(0, 3.0, (n_classes, 12)).astype(np.float32)
        self.calls = 0

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls += 1
        x = np.asarray(batch, np.float32)
        n, _, h, w = x.shape
        q = x.reshape(n, 3, 2, h // 2, 2, w // 2).mean((3, 5)).reshape(n, 12)
        logits = q @ self.w.T
        cam = np.abs(x - x.mean((2, 3), keepdims=True)).sum(1)
        lo = cam.reshape(n, -1).min(1)[:, None, None]
        hi = cam.reshape(n, -1).max(1)[:, None, None]
        return logits.astype(np.float32), ((cam - lo) / np.maximum(hi - lo, 1e-6)).astype(
            np.float32
        )


def tiny_classifier_onnx(n_classes: int, size: int, seed: int = 0) -> bytes:
    """images N×3×S×S → logits N×C and a min-max normalised CAM N×S×S, from a 1×1 conv, global
    average pooling and a linear layer: the outputs' names, shapes and ranges of a real build."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.normal(0, 1, (8, 3, 1, 1)).astype(np.float32), "w")
    fc = numpy_helper.from_array(rng.normal(0, 3, (8, n_classes)).astype(np.float32), "fc")
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    hw = numpy_helper.from_array(np.array([1, 2], np.int64), "hw")
    eps = numpy_helper.from_array(np.array(1e-6, np.float32), "eps")
    nodes = [
        helper.make_node("Conv", ["images", "w"], ["f0"]),
        helper.make_node("Relu", ["f0"], ["f"]),
        helper.make_node("GlobalAveragePool", ["f"], ["g"]),
        helper.make_node("Flatten", ["g"], ["gf"]),
        helper.make_node("MatMul", ["gf", "fc"], ["logits"]),
        helper.make_node("ReduceMean", ["f", "axes"], ["m"], keepdims=0),
        helper.make_node("ReduceMin", ["m", "hw"], ["lo"], keepdims=1),
        helper.make_node("ReduceMax", ["m", "hw"], ["hi"], keepdims=1),
        helper.make_node("Sub", ["m", "lo"], ["num"]),
        helper.make_node("Sub", ["hi", "lo"], ["den0"]),
        helper.make_node("Max", ["den0", "eps"], ["den"]),
        helper.make_node("Div", ["num", "den"], ["cam"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 3, size, size])],
        [
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", n_classes]),
            helper.make_tensor_value_info("cam", TensorProto.FLOAT, ["N", size, size]),
        ],
        [w, fc, axes, hw, eps],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model.SerializeToString()


def write_onnx_build(folder, input_size: int = 32, classes: list[str] | None = None, seed: int = 0):
    """A real classifier build folder that ONNX Runtime opens, made without torch: a tiny graph
    with the outputs of a real export (logits, in-graph CAM), its digest, a valid manifest."""
    import hashlib
    from pathlib import Path

    from edgexai.core.classes import GTSRB_CLASSES
    from edgexai.core.manifest import write_manifest

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = list(classes or GTSRB_CLASSES)
    n = len(names)
    data = tiny_classifier_onnx(n, input_size, seed)
    (folder / "model.onnx").write_bytes(data)
    write_manifest(
        folder,
        {
            "kind": "classifier",
            "name": folder.name,
            "seed": seed,
            "files": {"onnx": {"path": "model.onnx", "sha256": hashlib.sha256(data).hexdigest()}},
            "onnx": {
                "opset": 18,
                "exporter": "onnx.helper (test build)",
                "backbone_outputs": ["logits"],
                "inputs": [
                    {
                        "name": "images",
                        "shape": ["N", 3, input_size, input_size],
                        "dtype": "float32",
                    }
                ],
                "outputs": [
                    {"name": "logits", "shape": ["N", n], "dtype": "float32"},
                    {"name": "cam", "shape": ["N", input_size, input_size], "dtype": "float32"},
                ],
                "variants": {},
            },
            "params": 24 + 8 * n,
            "metrics": {},
            "data": {},
            "train_config": None,
            "timing_s": {},
            "versions": {},
            "git": "unknown",
            "created": "",
            "host": {},
            "arch": "tiny-onnx",
            "arch_description": "a hand-made ONNX graph for tests",
            "widths": {},
            "input_size": input_size,
            "mean": [0.34, 0.31, 0.32],
            "std": [0.27, 0.26, 0.27],
            "cam_layer": None,
            "classes": names,
            "regime": "natural",
            "timing": None,
            "preset": None,
            "regime_params": {},
            "macs": 0,
            "parent": None,
        },
    )
    return folder


def start_run(args: list[str], block_torch: bool = True):
    """`edgexai run ARGS` in a subprocess (Popen) where importing torch fails, as on a Jetson
    image (support.blocktorch), with OpenMP at one thread."""
    import os
    import subprocess
    import sys

    from support import REPO, SUPPORT

    env = {**os.environ, "PYTHONPATH": f"{SUPPORT}{os.pathsep}{REPO}", "OMP_NUM_THREADS": "1"}
    code = ("import blocktorch\n" if block_torch else "") + (
        "import sys, edgexai.cli\nsys.exit(edgexai.cli.main(sys.argv[1:]))\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, "run", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write_drive_frames(
    folder: Path, n: int, w: int = 320, h: int = 200, start: tuple[int, int] = (200, 80)
) -> Path:
    """A short drive past one red-ring sign: the disc grows and slides out of the vanishing point
    (the frame's centre) frame by frame, as a sign does from a moving car."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    vp = np.array([w / 2, h / 2])
    for i in range(n):
        rng = np.random.default_rng(i)
        img = np.clip(rng.normal(110, 12, (h, w, 3)), 0, 255).astype(np.uint8)
        img[: h // 3] = (200, 170, 150)
        s = 1.04**i
        cx, cy = (vp + (np.array(start) - vp) * s).astype(int)
        r = int(12 * s)
        cv2.circle(img, (int(cx), int(cy)), r, (255, 255, 255), -1)
        cv2.circle(img, (int(cx), int(cy)), r, (30, 30, 210), max(2, r // 4))
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), img)
    return folder


class OneClassSession(FakeSession):
    """FakeSession whose every crop is `class_id` (a confident classifier on one sign)."""

    def __init__(self, class_id: int, n_classes: int = 43) -> None:
        super().__init__(n_classes)
        self.class_id = class_id

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        logits, cam = super().infer(batch)
        logits = np.zeros_like(logits)
        logits[:, self.class_id] = 8.0
        return logits, cam


def looped_drive_args(drive: Path, model: Path, log: Path) -> list[str]:
    """`edgexai run` arguments for a looped drive past the synthetic sign, on ONNX Runtime with
    the colour finder (the shipped detector is trained on real roads, not on drawn discs)."""
    return [
        *("--source", str(drive), "--loop", "--model", str(model), "--backend", "ort"),
        *("--finder", "colour", "--min-score", "0", "--headless", "--log", str(log)),
    ]
