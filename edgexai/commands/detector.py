"""`edgexai detector`: train the learned sign detector on road frames (`train`), choose its
decision thresholds on tuning frames (`calibrate`), copy the shipped one (`copy-default`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgexai.core.arg_types import frame_mod, frame_range, unit_interval
from edgexai.core.options import HelpFormatter, add_options, from_args
from edgexai.deploy.pipeline.config import BACKEND_CHOICES

# The candidate threshold while calibrating: keep nearly every peak, so the sweep sees them all.
CALIBRATION_CANDIDATE_THRESHOLD = 0.05
CALIBRATE_DESCRIPTION = (
    "Run the pipeline (detector → classifier) over the tuning frames with every candidate kept "
    "(--min-score 0, a low candidate threshold), sweep the decision's thresholds (the sweep of "
    "`edgexai score --calibrate`), print the best point of each rule (sign score alone, "
    "confidence alone, their product) at --target-precision, and write the product rule's point "
    "into the detector's manifest as `decision`, naming the classifier it was calibrated with. "
    "Tuning frames only: the default is GTSDB 0–399 ≡ 3 mod 4, the frames `edgexai detector "
    "train` keeps out of training."
)
CALIBRATE_EXAMPLES = """examples:
  edgexai detector calibrate --detector builds/detector-s0 --model builds/resnet20-natural-s0
  edgexai detector calibrate --detector DET --model CLS --gt GTSDB_DIR --dry-run
"""


def register(sub) -> None:
    from edgexai.train.detector.detector_options import DetectorBuildOptions

    d = DetectorBuildOptions()  # the defaults live there, once
    p = sub.add_parser(
        "detector",
        help="train or calibrate the learned sign detector (edgexai run's default)",
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
    _register_calibrate(dsub)
    c = dsub.add_parser(
        "copy-default",
        help="copy the detector shipped with edgexai into a folder",
        description="Copy the packaged detector build folder (every file verified against its "
        "manifest digest) to DIR, e.g. so that a Jetson can build its TensorRT "
        "engine beside it (the package folder may not be writable).",
    )
    c.add_argument("dest", metavar="DIR", help="the new build folder (must not exist)")
    c.set_defaults(func=copy_default)


def _register_calibrate(dsub) -> None:
    k = dsub.add_parser(
        "calibrate",
        help="choose a detector's decision thresholds on tuning frames; write them to its manifest",
        description=CALIBRATE_DESCRIPTION,
        epilog=CALIBRATE_EXAMPLES,
        formatter_class=HelpFormatter,
    )
    k.add_argument("--detector", required=True, metavar="DIR", help="the detector build folder")
    k.add_argument(
        "--model", required=True, metavar="DIR", help="the classifier the decision is made with"
    )
    k.add_argument(
        "--gt",
        default=None,
        metavar="DIR",
        help="the frame folder holding gt.txt (default: GTSDB from --data-root)",
    )
    k.add_argument(
        "--data-root",
        default=None,
        help="folder holding gtsdb/ or gtsdb-dev.tar (default: $EDGEXAI_DATA)",
    )
    k.add_argument(
        "--frames",
        type=frame_range,
        default="0:400",
        metavar="START:STOP",
        help="tuning frame range",
    )
    k.add_argument(
        "--mod",
        type=frame_mod,
        default="4:3",
        metavar="M:R",
        help="only frames ≡ R mod M ('none': all)",
    )
    k.add_argument(
        "--target-precision",
        type=unit_interval,
        default=0.95,
        help="the precision the chosen thresholds must reach",
    )
    k.add_argument("--backend", default="ort", choices=BACKEND_CHOICES, help="inference backend")
    k.add_argument("--dry-run", action="store_true", help="print, do not write the manifest")
    k.set_defaults(func=calibrate)


def input_size(text: str) -> tuple[int, int]:
    """'1344x800' → (1344, 800): the detector input, both sides multiples of 32, at least 64."""
    parts = text.lower().split("x")
    try:
        if len(parts) != 2:
            raise argparse.ArgumentTypeError
        from edgexai.train.detector.detector_options import multiple_of_32

        w, h = (multiple_of_32(v.strip()) for v in parts)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected WxH, both multiples of 32 and at least 64 (e.g. 1344x800), got {text!r}"
        ) from None
    return w, h


def train(args: argparse.Namespace) -> int:
    from edgexai.train.detector.detector_options import DetectorBuildOptions
    from edgexai.train.detector.job import build_detector

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


def link_tuning_frames(
    gt: Path, span: tuple[int, int], mod: tuple[int, int] | None, dest: Path
) -> Path:
    """A folder of links to the frames of `gt` numbered START ≤ n < STOP (and ≡ R mod M)."""
    from edgexai.core.errors import EdgexaiError
    from edgexai.train.data.gtsdb_frames import frame_files

    dest.mkdir()
    for f in frame_files(gt):
        n = int(f.stem) if f.stem.isdigit() else -1
        if span[0] <= n < span[1] and (mod is None or n % mod[0] == mod[1]):
            (dest / f.name).symlink_to(f.resolve())
    if not any(dest.iterdir()):
        raise EdgexaiError(f"{gt} has no frame numbered in {_frames_text(span, mod)}")
    return dest


def log_candidates(frames: Path, model: str, detector: str, backend: str, log: Path) -> None:
    """Run the pipeline over `frames`, logging every classified candidate to `log`."""
    from edgexai.deploy.pipeline.config import RunConfig
    from edgexai.deploy.pipeline.loop import run_pipeline

    run_pipeline(
        RunConfig(
            source=str(frames),
            model=model,
            detector=detector,
            backend=backend,
            min_score=0.0,
            candidate_threshold=CALIBRATION_CANDIDATE_THRESHOLD,
            log=str(log),
            quiet=True,
        )
    )


def decision_record(points: dict, classifier: Path | str, source: str) -> dict:
    """The manifest's `decision`: the product rule's point, with the other rules beside it."""
    from edgexai.core.manifest import load

    best = points["product"]
    cls = load(classifier)
    role = "model" if "model" in cls.files else "onnx"  # an ONNX-only build has no model.pt
    return {
        "min_score": best["min_score"],
        "min_sign_score": best["min_sign_score"],
        "min_confidence": 0.0,
        "source": f"{source}, classifier {cls.name} ({role} sha256 {cls.files[role].sha256[:12]})",
        "calibration": {k: best[k] for k in ("recall", "precision", "false_alarms_per_frame")},
        "alternatives": {k: points[k] for k in ("sign", "confidence")},
    }


def _frames_text(span: tuple[int, int], mod: tuple[int, int] | None) -> str:
    return f"{span[0]}:{span[1]} mod " + ("none" if mod is None else f"{mod[0]}:{mod[1]}")


def calibrate(args: argparse.Namespace) -> int:
    """Log the tuning frames' candidates, sweep them as `edgexai score --calibrate` does, and
    record the product rule's point as the detector's `decision` (unless --dry-run)."""
    import tempfile

    from edgexai.commands.score import calibrate_log, gt_folder
    from edgexai.core.errors import EdgexaiError
    from edgexai.core.manifest import update_manifest

    gt = gt_folder(args.gt, args.data_root)
    with tempfile.TemporaryDirectory() as tmp:
        frames = link_tuning_frames(gt, args.frames, args.mod, Path(tmp) / "frames")
        log = Path(tmp) / "calib.jsonl"
        log_candidates(frames, args.model, args.detector, args.backend, log)
        points = calibrate_log(log, gt, args.frames, args.mod, args.target_precision)
    for rule in ("sign", "confidence", "product"):
        print(f"{rule:>10}: {json.dumps(points[rule])}")
    if points["product"] is None:
        raise EdgexaiError(
            f"no threshold reaches precision {args.target_precision} on these frames"
        )
    source = (
        f"edgexai detector calibrate: frames {_frames_text(args.frames, args.mod)}, "
        f"target precision {args.target_precision}"
    )
    decision = decision_record(points, args.model, source)
    print("decision:", json.dumps(decision))
    if not args.dry_run:
        update_manifest(args.detector, lambda m: m.__setitem__("decision", decision))
        print(f"written to {args.detector}/manifest.json")
    return 0
