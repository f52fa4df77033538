"""`edgexai detector train`: train the learned sign detector on road frames; write a build folder."""

from __future__ import annotations

import argparse

from edgexai.core.options import HelpFormatter, add_options, from_args


def register(sub) -> None:
    from edgexai.train.detector.job import DetectorBuildOptions

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
        formatter_class=HelpFormatter,
    )
    add_options(t, DetectorBuildOptions, exclude=("input_w", "input_h"))
    t.add_argument(
        "--input-size",
        type=input_size,
        default=f"{d.input_w}x{d.input_h}",
        metavar="WxH",
        help="detector input (frames are resized to it; multiples of 32)",
    )
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


def input_size(text: str) -> tuple[int, int]:
    """'1344x800' → (1344, 800): the detector input, both sides multiples of 32, at least 64."""
    parts = text.lower().split("x")
    try:
        if len(parts) != 2:
            raise argparse.ArgumentTypeError
        from edgexai.train.detector.job import multiple_of_32

        w, h = (multiple_of_32(v.strip()) for v in parts)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected WxH, both multiples of 32 and at least 64 (e.g. 1344x800), got {text!r}"
        ) from None
    return w, h


def train(args: argparse.Namespace) -> int:
    from edgexai.train.detector.job import DetectorBuildOptions, build_detector

    w, h = args.input_size
    opts = from_args(DetectorBuildOptions, args, input_w=w, input_h=h)
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

    from edgexai.core.errors import EdgexaiError
    from edgexai.core.manifest import read_manifest, verify_file
    from edgexai.deploy.pipeline.finders import default_detector_dir

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
