"""`edgexai doctor`: check that this device can run the pipeline; exit 0 = ready, 1 = not ready."""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser(
        "doctor", help="check this device (TensorRT, CUDA, OpenCV/GStreamer, camera, build folder)",
        description="Report Python, JetPack, TensorRT, the CUDA device, cuda-python, ONNX Runtime, "
                    "OpenCV and its GStreamer support, camera devices, and the build folder "
                    "(every file against its manifest digest; an engine that matches this "
                    "build, TensorRT version and GPU). Each problem comes with a fix. Exit code "
                    "0 = ready, 1 = not ready.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", default=None,
                   help="build folder to check (default: the newest under --engines)")
    p.add_argument("--engines", default="engines", help="parent folder of build folders")
    p.add_argument("--backend", choices=("trt", "ort", "auto"), default="trt",
                   help="the backend `edgexai run` will use: trt needs TensorRT, a CUDA device, "
                        "cuda-python and an engine built here; ort needs ONNX Runtime; auto: trt "
                        "where TensorRT is importable, else ort")
    p.add_argument("--source", default=None,
                   help="the --source `edgexai run` will use (csi://N, /dev/videoN, N, a file, "
                        "rtsp://..., a GStreamer pipeline); default: a live camera, which needs "
                        "a /dev/video* device and OpenCV with GStreamer")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.doctor import diagnose, format_report

    report = diagnose(model=args.model, backend=args.backend, source=args.source,
                      engines_root=args.engines)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(format_report(report))
    return 0 if report.ready else 1
