"""The `edgexai` command: parse, call one function, print. Heavy imports happen inside commands.

Every command module in `edgexai.commands` exposes `register(subparsers)`; errors a user can fix
arrive as EdgexaiError and are printed as one line with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from edgexai import __version__
from edgexai.core.errors import EdgexaiError

COMMAND_MODULES = (
    "build",
    "detector",
    "doctor",
    "engine",
    "run",
    "explain",
    "bench",
    "demo",
    "score",
    "gtsdb",
    "driveby",
    "rejector",
    "matrix",
)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that points to --help."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def make_parser() -> argparse.ArgumentParser:
    from edgexai.core.image_files import DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV

    parser = OneLineParser(
        prog="edgexai",
        description="Traffic-sign classifiers for vehicles, with Grad-CAM explanations that run "
        "on the device. Train and evaluate a regime (build), run the camera pipeline "
        "(run), compare regimes (bench).",
        epilog="Data: --data-root or EDGEXAI_DATA names GTSRB (folder, folder holding "
        "gtsrb.tar.gz, or the archive); with a network it is downloaded. Images above "
        f"{MAX_PIXELS_ENV} (width × height, default {DEFAULT_MAX_PIXELS}) are refused "
        "before decoding.",
    )
    parser.add_argument("--version", action="version", version=f"edgexai {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"edgexai.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from edgexai.core.image_files import set_opencv_limit
    from edgexai.core.threads import contention_safe_threads

    set_opencv_limit()  # OpenCV reads its image size limit once, when cv2 is imported
    contention_safe_threads()  # before any command loads torch or ONNX Runtime
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except EdgexaiError as exc:
        print(f"edgexai: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("edgexai: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in {
            "torch",
            "torchvision",
            "captum",
            "torch_pruning",
            "onnx",
            "onnxruntime",
            "cv2",
            "tqdm",
        }:
            print(
                f"edgexai: error: this command needs {exc.name}, which is not installed "
                "(pip install 'edgexai[train]' for the training side, 'edgexai[deploy,ort]' "
                "for the deployment side)",
                file=sys.stderr,
            )
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
