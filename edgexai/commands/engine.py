"""`edgexai engine`: prepare a build folder (classifier or detector) for inference on this device.

`--backend trt` builds (or reuses, from `<build>/engines/`) a TensorRT engine for this GPU and
TensorRT version at the precision `edgexai run --precision` will ask for; `--backend ort` checks
that ONNX Runtime loads and runs the precision's ONNX variant. Either way the result is
smoke-tested on one batch. Variants come with the build (made on the training machine); a folder
built before that has its missing variant made here, which needs onnx (and GTSRB for INT8).
"""

from __future__ import annotations

import argparse
import time

from edgexai.core.arg_types import positive_int
from edgexai.core.manifest import PRECISIONS
from edgexai.core.options import HelpFormatter

ENGINE_BACKENDS = ("auto", "trt", "ort")


def register(sub) -> None:
    p = sub.add_parser(
        "engine",
        help="build/check the inference engine of a build folder (TensorRT or ORT)",
        description="Make a build folder (a classifier or a detector) ready to run at a "
        "precision on this device. trt: build a TensorRT engine from the build's "
        "ONNX (cached under <model>/engines/ by ONNX digest, GPU, TensorRT version, "
        "precision and batch profile; a stale or damaged engine is rebuilt, or "
        "refused with --no-rebuild). ort: check that ONNX Runtime runs the "
        "precision's ONNX variant. Build the engine with the --precision and "
        "--max-batch that `edgexai run` will use.",
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="DIR",
        help="build folder (has manifest.json): a classifier or a detector",
    )
    p.add_argument("--precision", choices=PRECISIONS, default="fp32", help="inference precision")
    p.add_argument(
        "--backend",
        choices=ENGINE_BACKENDS,
        default="auto",
        help="auto: trt where TensorRT is importable, else ort",
    )
    p.add_argument(
        "--no-cam",
        action="store_true",
        help="classifiers: the logits-only variant (fp32), for measuring the CAM's cost",
    )
    p.add_argument(
        "--max-batch",
        type=positive_int,
        default=None,
        help="trt: largest batch of the profile (default: 32 crops for a classifier, "
        "1 frame for a detector — what `edgexai run` asks for)",
    )
    p.add_argument(
        "--rebuild", action="store_true", help="trt: rebuild even if a cached engine fits"
    )
    p.add_argument(
        "--no-rebuild",
        action="store_true",
        help="trt: refuse (exit 1) instead of building when no valid engine is cached",
    )
    p.add_argument(
        "--provider",
        default="cpu",
        choices=("cpu", "cuda", "tensorrt", "auto"),
        help="ort: execution provider",
    )
    p.add_argument(
        "--data-root",
        default=None,
        help="older builds without their INT8 variant: GTSRB for calibration "
        "(default: $EDGEXAI_DATA or the cache)",
    )
    p.add_argument(
        "--calib-list",
        default=None,
        help="older builds: calibration list (default: the packaged GTSRB list)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from edgexai.core.errors import EdgexaiError
    from edgexai.core.manifest import VARIANT_ROLES, has_cam, load, read_manifest
    from edgexai.deploy.runtime import open_session, resolve_backend
    from edgexai.deploy.runtime.session import DEFAULT_MAX_BATCH, variant_for

    if args.rebuild and args.no_rebuild:
        raise EdgexaiError("--rebuild and --no-rebuild contradict each other")
    backend = resolve_backend(args.backend)
    info = load(args.model)
    # a CAM-less build (no in-graph CAM: VGG-16) has logits-only graphs at every precision
    graph_cam = info.kind != "classifier" or has_cam(read_manifest(args.model))
    cam = graph_cam and not args.no_cam
    variant = variant_for(info.kind, args.precision, cam, graph_cam)
    if backend == "trt":
        from edgexai.deploy.runtime.trt import TensorRT

        variant = "nocam" if variant == "nocam" else TensorRT().onnx_variant(args.precision)
    if VARIANT_ROLES[variant] not in info.files:
        from edgexai.train.export.precision import ensure_variant  # needs onnx (+ data for INT8)

        print(f"made {ensure_variant(args.model, variant, args.data_root, args.calib_list)}")
    max_batch = args.max_batch or DEFAULT_MAX_BATCH[info.kind]
    options: dict = (
        {"provider": args.provider}
        if backend == "ort"
        else {
            "max_batch": max_batch,
            "rebuild": "always" if args.rebuild else "never" if args.no_rebuild else "auto",
        }
    )
    t0 = time.perf_counter()
    with open_session(args.model, backend, args.precision, cam, **options) as session:
        opened = time.perf_counter() - t0
        x = np.zeros((1, *(int(d) for d in session.input.shape[1:])), np.dtype(session.input.dtype))
        t1 = time.perf_counter()
        outputs = session.run(x)
        ms = (time.perf_counter() - t1) * 1000
        described = session.describe()
    what = (
        f"engine {described['engine']} ({'built' if described['built_now'] else 'cached'}, "
        f"TensorRT {described['trt_version']}, {described['api']}, batch ≤ {max_batch})"
        if backend == "trt"
        else f"ONNX Runtime on {', '.join(described['providers'])}"
    )
    shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in outputs.items())
    print(
        f"{args.model}: {info.kind} {args.precision}{_cam_label(cam, graph_cam)} ready — {what}; "
        f"opened in {opened:.1f} s, one input → {shapes} in {ms:.1f} ms"
    )
    return 0


def _cam_label(cam: bool, graph_cam: bool) -> str:
    if not graph_cam:
        return " (logits only: the model has no in-graph CAM)"
    return "" if cam else " no-CAM"
