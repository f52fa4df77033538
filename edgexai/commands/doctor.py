"""`edgexai doctor`: check that this device can run the pipeline; exit 0 = ready, 1 = not ready."""

from __future__ import annotations

import argparse
import json

from edgexai.core.arg_types import positive_int
from edgexai.core.manifest import BUILDS_ROOT, PRECISIONS
from edgexai.core.options import HelpFormatter
from edgexai.deploy.pipeline.config import FINDERS


def register(sub) -> None:
    from edgexai.deploy.doctor.readiness import BACKENDS

    p = sub.add_parser(
        "doctor",
        help="check this device (TensorRT, CUDA, OpenCV/GStreamer, camera, builds)",
        description="Report Python, JetPack, TensorRT, the CUDA device, cuda-python, ONNX Runtime, "
        "OpenCV and its GStreamer support, camera devices, and the classifier and "
        "detector build folders (every file against its manifest digest), then the "
        "exact inference path `edgexai run` would take with the same options: with "
        "TensorRT, the very engine (ONNX variant, GPU, TensorRT version, precision, "
        "batch profile) it opens; with ONNX Runtime, the precision's variant loaded "
        "and run once. Each problem comes with a fix. Exit code 0 = ready, 1 = not "
        "ready. Pass the options you pass to `edgexai run`.",
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--model",
        default=None,
        help="classifier build folder to check (default: the newest under --builds)",
    )
    p.add_argument(
        "--builds",
        "--engines",
        dest="builds",
        default=BUILDS_ROOT,
        help="parent folder of build folders (--engines: its former name)",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="the backend `edgexai run` will use; auto resolves as run does "
        "(TensorRT where importable, else ONNX Runtime)",
    )
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="the precision `edgexai run --precision` will use",
    )
    p.add_argument(
        "--max-batch",
        type=positive_int,
        default=None,
        help="the classifier engine's batch profile, if it was built with "
        "--max-batch (default: run's, 32)",
    )
    p.add_argument(
        "--finder",
        "--proposer",
        dest="finder",
        choices=FINDERS,
        default="detector",
        help="run's --finder: the detector build is checked too unless colour",
    )
    p.add_argument(
        "--detector",
        default=None,
        help="run's --detector (default: the detector shipped with edgexai)",
    )
    p.add_argument(
        "--source",
        default=None,
        help="the --source `edgexai run` will use (csi://N, /dev/videoN, N, a file, "
        "rtsp://..., a GStreamer pipeline); default: a live camera, which needs "
        "a /dev/video* device and OpenCV with GStreamer",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.deploy.doctor.readiness import diagnose, format_report

    report = diagnose(
        model=args.model,
        backend=args.backend,
        source=args.source,
        builds=args.builds,
        precision=args.precision,
        max_batch=args.max_batch,
        detector=args.detector,
        finder=args.finder,
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_report(report))
    return 0 if report.ready else 1
