"""`edgexai detector train`: train the learned sign detector on road frames; write a build folder."""

from __future__ import annotations

import argparse

from edgexai.arg_types import (
    frame_mod,
    frame_range,
    non_negative_int,
    positive_float,
    positive_int,
)


def register(sub) -> None:
    from edgexai.detector.job import DetectorBuildOptions

    d = DetectorBuildOptions()  # the defaults live there, once
    p = sub.add_parser(
        "detector",
        help="train the learned sign detector (edgexai run's default)",
        description="The learned sign detector that `edgexai run` uses to find "
        "signs in full frames before the classifier explains them.",
    )
    dsub = p.add_subparsers(
        dest="detector_command", metavar="ACTION", required=True, parser_class=type(p)
    )
    t = dsub.add_parser(
        "train",
        help="train a detector on frames with ground truth; write <out>/<name>/",
        description="Train a CenterNet-style detector on road frames (default: the GTSDB "
        "development frames from --data-root / EDGEXAI_DATA; or --frames DIR with "
        "images and a gt.txt of `file;x1;y1;x2;y2;class` lines, GTSDB's layout), "
        "with synthetic signs (GTSRB ROI crops) pasted into sign-free places. Frames "
        "are chosen by their position in name order. Writes <out>/<name>/ with "
        "model.pt, model.onnx (decoding in the graph: boxes, scores, labels), its "
        "fp16/int8 variants, train_log.jsonl and manifest.json (held-out scores "
        "included). Interrupted runs continue with --resume.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    t.add_argument(
        "--frames",
        default=None,
        metavar="DIR",
        help="frames + gt.txt (default: GTSDB from --data-root)",
    )
    t.add_argument(
        "--data-root",
        default=None,
        help="folder holding gtsdb/ or gtsdb-dev.tar and GTSRB (default: $EDGEXAI_DATA)",
    )
    t.add_argument(
        "--train",
        type=frame_range,
        default=d.train,
        metavar="START:STOP",
        help="frame positions to train on (minus the calibration frames)",
    )
    t.add_argument(
        "--calibrate",
        type=frame_mod,
        default=d.calibrate,
        metavar="M:R",
        help="of the --train range, the frames at positions ≡ R mod M are kept out "
        "of training to select the checkpoint and calibrate thresholds (none: "
        "no selection, the last step is kept)",
    )
    t.add_argument(
        "--heldout",
        type=frame_range,
        default=d.heldout,
        metavar="START:STOP",
        help="frame positions scored once at the end (never trained on)",
    )
    t.add_argument(
        "--no-synthetic",
        action="store_true",
        help="no pasted GTSRB signs (then GTSRB is not needed)",
    )
    t.add_argument("--steps", type=positive_int, default=d.steps, help="training steps")
    t.add_argument("--batch", type=positive_int, default=d.batch, help="crops per step")
    t.add_argument(
        "--crop",
        type=multiple_of_32,
        default=d.crop,
        help="training crop size (px; a multiple of 32, at least 64)",
    )
    t.add_argument("--lr", type=positive_float, default=d.lr, help="peak AdamW learning rate")
    t.add_argument(
        "--input-size",
        type=input_size,
        default=f"{d.input_w}x{d.input_h}",
        metavar="WxH",
        help="detector input (frames are resized to it; multiples of 32)",
    )
    t.add_argument(
        "--eval-every",
        type=positive_int,
        default=d.eval_every,
        help="steps between evaluations and checkpoints",
    )
    t.add_argument(
        "--bf16",
        choices=("auto", "on", "off"),
        default=d.bf16,
        help="bfloat16 autocast on CPU (auto: where the CPU has native bf16; off "
        "by default so a build trains the same on every machine)",
    )
    t.add_argument("--threads", type=positive_int, default=None, help="torch threads")
    t.add_argument(
        "--seed", type=non_negative_int, default=d.seed, help="seed for init and sample draws"
    )
    t.add_argument("--out", default=d.out, help="parent folder of build folders")
    t.add_argument("--name", default=None, help="build folder name (default: detector-sSEED)")
    t.add_argument(
        "--resume", action="store_true", help="continue an interrupted run of the same options"
    )
    t.add_argument(
        "--force",
        action="store_true",
        help="replace an existing build of that name (once the new one is complete)",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=train)
    c = dsub.add_parser(
        "copy-default",
        help="copy the detector shipped with edgexai into a folder",
        description="Copy the packaged detector build folder (every file verified against its "
        "manifest digest) to DIR, e.g. so that a Jetson can build its TensorRT "
        "engine beside it (the package folder may not be writable).",
    )
    c.add_argument("dest", metavar="DIR", help="the new build folder (must not exist)")
    c.set_defaults(func=copy_default)


def multiple_of_32(text: str) -> int:
    """A size the detector's four stride-2 stages divide (strides 4 to 32): 64, 96, 128, …"""
    v = positive_int(text)
    if v < 64 or v % 32:
        raise argparse.ArgumentTypeError(f"expected a multiple of 32, at least 64, got {text!r}")
    return v


def input_size(text: str) -> tuple[int, int]:
    """'1344x800' → (1344, 800): the detector input, both sides multiples of 32, at least 64."""
    parts = text.lower().split("x")
    try:
        if len(parts) != 2:
            raise argparse.ArgumentTypeError
        w, h = (multiple_of_32(v.strip()) for v in parts)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected WxH, both multiples of 32 and at least 64 (e.g. 1344x800), got {text!r}"
        ) from None
    return w, h


def train(args: argparse.Namespace) -> int:
    from edgexai.detector.job import DetectorBuildOptions, build_detector

    w, h = args.input_size
    opts = DetectorBuildOptions(
        out=args.out,
        name=args.name,
        frames=args.frames,
        data_root=args.data_root,
        train=args.train,
        calibrate=args.calibrate,
        heldout=args.heldout,
        synthetic=not args.no_synthetic,
        steps=args.steps,
        batch=args.batch,
        crop=args.crop,
        lr=args.lr,
        seed=args.seed,
        input_w=w,
        input_h=h,
        eval_every=args.eval_every,
        bf16=args.bf16,
        threads=args.threads,
        resume=args.resume,
        force=args.force,
        progress=not args.no_progress,
    )
    out = build_detector(opts)
    import json

    m = json.loads((out / "manifest.json").read_text())
    held = m["metrics"].get("heldout")
    text = f"; held-out AP {held['ap']:.3f} on {held['frames']} frames" if held else ""
    print(
        f"built {out}: {m['params']:,} params, trained {m['timing_s']['train'] / 60:.1f} min{text}"
    )
    return 0


def copy_default(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    from edgexai.errors import EdgexaiError
    from edgexai.manifest import read_manifest, verify_file
    from edgexai.pipeline.finders import default_detector_dir

    src, dest = default_detector_dir(), Path(args.dest)
    if dest.exists():
        raise EdgexaiError(f"{dest} exists; choose a new folder (or remove it first)")
    manifest = read_manifest(src)
    for role in manifest["files"]:
        verify_file(src, manifest, role)
    tmp = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("engines", "__pycache__"))
        tmp.replace(dest)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EdgexaiError(f"cannot copy the detector to {dest} ({exc.strerror or exc})") from None
    print(f"copied {src} → {dest}")
    return 0
