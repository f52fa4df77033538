"""`edgexai engine`: prepare a build folder for inference at a precision, on this device.

`--backend trt` builds (or reuses, from `<build>/engines/`) a TensorRT engine for this GPU and
TensorRT version; `--backend ort` makes the precision's ONNX variant if the build lacks it and
checks that ONNX Runtime loads and runs it. Either way the result is smoke-tested on one batch.
"""

from __future__ import annotations

import argparse
import time

PRECISIONS = ("fp32", "fp16", "int8")


def register(sub) -> None:
    p = sub.add_parser(
        "engine", help="build/check the inference engine of a build folder (TensorRT or ORT)",
        description="Make a build folder ready to run at a precision on this device. trt: build "
                    "a TensorRT engine from the build's ONNX (cached under <model>/engines/ by "
                    "ONNX digest, GPU, TensorRT version and precision; a stale or damaged engine "
                    "is rebuilt, or refused with --no-rebuild). ort: create the FP16 / INT8 "
                    "(Q/DQ, calibrated on calibration/gtsrb_calib.txt) / no-CAM ONNX variant if "
                    "missing and check that ONNX Runtime runs it.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, metavar="DIR", help="build folder (has manifest.json)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32", help="inference precision")
    p.add_argument("--backend", choices=("auto", "trt", "ort"), default="auto",
                   help="auto: trt where TensorRT is importable, else ort")
    p.add_argument("--no-cam", action="store_true",
                   help="the logits-only variant (fp32), for measuring the in-graph CAM's cost")
    p.add_argument("--max-batch", type=int, default=32, help="trt: largest batch of the profile")
    p.add_argument("--rebuild", action="store_true", help="trt: rebuild even if a cached engine fits")
    p.add_argument("--no-rebuild", action="store_true",
                   help="trt: refuse (exit 1) instead of building when no valid engine is cached")
    p.add_argument("--provider", default="cpu", choices=("cpu", "cuda", "tensorrt", "auto"),
                   help="ort: execution provider")
    p.add_argument("--data-root", default=None,
                   help="GTSRB for INT8 calibration (default: $EDGEXAI_DATA or the cache)")
    p.add_argument("--calib-list", default=None,
                   help="calibration list (default: calibration/gtsrb_calib.txt)")
    p.set_defaults(func=run)


def _backend(choice: str) -> str:
    if choice != "auto":
        return choice
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "ort"
    return "trt"


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from edgexai.errors import EdgexaiError
    from edgexai.manifest import read_manifest
    from edgexai.runtime.base import ONNX_ROLES, variant_for

    if args.rebuild and args.no_rebuild:
        raise EdgexaiError("--rebuild and --no-rebuild contradict each other")
    backend = _backend(args.backend)
    cam = not args.no_cam
    variant = variant_for(args.precision, cam)
    manifest = read_manifest(args.model)
    if backend == "trt":
        from edgexai.runtime.trt import TensorRT

        variant = "nocam" if not cam else TensorRT().onnx_variant(args.precision)
    if ONNX_ROLES[variant] not in manifest.get("files", {}):
        from edgexai.export.precision import ensure_variant  # needs onnx (+ data for INT8)

        path = ensure_variant(args.model, variant, args.data_root, args.calib_list)
        print(f"made {path}")
    from edgexai.runtime import open_session

    options: dict = ({"provider": args.provider} if backend == "ort" else
                     {"max_batch": args.max_batch,
                      "rebuild": "always" if args.rebuild else "never" if args.no_rebuild
                      else "auto"})
    t0 = time.perf_counter()
    with open_session(args.model, backend, args.precision, cam, **options) as session:
        opened = time.perf_counter() - t0
        size = int(session.input.shape[-1])
        x = np.zeros((1, 3, size, size), np.float32)
        t1 = time.perf_counter()
        logits, cam_map = session.infer(x)
        ms = (time.perf_counter() - t1) * 1000
        info = session.describe()
    what = (f"engine {info['engine']} ({'built' if info['built_now'] else 'cached'}, TensorRT "
            f"{info['trt_version']}, {info['api']})" if backend == "trt" else
            f"ONNX Runtime on {', '.join(info['providers'])}")
    print(f"{args.model}: {args.precision}{'' if cam else ' no-CAM'} ready — {what}; opened in "
          f"{opened:.1f} s, one image → logits {tuple(logits.shape)}"
          f"{'' if cam_map is None else f', cam {tuple(cam_map.shape)}'} in {ms:.1f} ms")
    return 0
