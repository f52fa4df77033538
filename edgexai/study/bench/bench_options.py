"""`edgexai bench`'s options, declared once: the dataclass the job reads and the command's flags.

Light on purpose (stdlib and the shared argparse types): the CLI imports it at start-up to build
`--help`, and `bench/report.py` reads it without importing the job (`bench/run.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgexai.core.arg_types import csv_ints, csv_words, non_negative_int, positive_int
from edgexai.core.manifest import BUILDS_ROOT
from edgexai.core.options import opt

BACKENDS = ("ort", "torch", "trt")
PRECISIONS = ("fp32", "fp16", "int8")
TARGETS = ("correct", "all")


@dataclass
class BenchOptions:
    """What `run_bench` measures and how; each `opt` field is also an `edgexai bench` flag.

    `models` and `cells` are the command's mutually exclusive `--models` / `--regimes`, declared
    by hand there; `command` is the command line, recorded in the report.
    """

    models: list[str] = field(default_factory=list)  # build folders; or, if empty, cells:
    cells: tuple[str, ...] = ()
    root: str = opt(
        BUILDS_ROOT,
        "where --regimes looks for build folders (an older engines/ "
        "root is still read, with a notice)",
    )
    seeds: tuple[int, ...] | None = opt(
        None,
        "build seeds to include, e.g. 0,1,2 (several give mean ± std); default: every seed found",
        type=csv_ints,
    )
    backends: tuple[str, ...] = opt(
        ("ort",),
        "comma-separated from ort, torch, trt (trt is "
        "skipped, with a note, where TensorRT is not "
        "importable)",
        type=csv_words,
    )
    precisions: tuple[str, ...] = opt(
        ("fp32",),
        "comma-separated from fp32, fp16, int8 "
        "(variants are made on demand; int8 calibrates "
        "on the packaged GTSRB list "
        "edgexai/train/export/data/gtsrb_calib.txt, so it "
        "needs the data)",
        type=csv_words,
    )
    batches: tuple[int, ...] = opt((1, 8), "batch sizes to time", type=csv_ints, flag="--batch")
    report: str = opt(
        "bench-report",
        "output folder, written whole: the report is made in DIR.partial/ and takes DIR's place "
        "when complete (an interrupted bench leaves DIR as it was). Not the current folder or "
        "one above it, the builds root or a build folder",
        metavar="DIR",
    )
    overwrite: bool = opt(
        False,
        "replace an earlier report in --report (without it an existing report is refused). "
        "Only the files a bench writes are replaced; a folder holding any other file is "
        "refused, naming them",
    )
    data_root: str | None = opt(
        None, "GTSRB location; unset: $EDGEXAI_DATA, else the models' own data"
    )
    seed: int = opt(0, "seed of the image draws, ROAD imputation noise and SmoothGrad")
    images: int = opt(
        200,
        "test images drawn for the explanation metrics (their cost grows "
        "linearly with it; see docs/RESULTS.md for timings)",
        type=positive_int,
    )
    accuracy_images: int = opt(
        2000, "test images drawn for each backend/precision's accuracy", type=positive_int
    )
    methods: tuple[str, ...] = opt(
        ("vg", "ig", "sg", "gradcam"),
        "explanation methods, from vg, ig, sg, gradcam, cam",
        type=csv_words,
    )
    targets: str = opt(
        "correct",
        "explain only the images each model classifies correctly (the "
        "paper's protocol) or all drawn images; the target is always "
        "the true class",
        choices=TARGETS,
    )
    road: bool = opt(True, "skip ROAD (the slowest metric)")
    ig_steps: int = opt(50, "Integrated Gradients steps", type=positive_int)
    sg_samples: int = opt(25, "SmoothGrad samples", type=positive_int)
    rounds: int = opt(15, "interleaved latency rounds", type=positive_int)
    per_round: int = opt(20, "calls per case per round", type=positive_int)
    warmup: int = opt(20, "warm-up calls per case", type=non_negative_int)
    threads: int = opt(
        1,
        "threads per inference session while timing (1 gives the steadiest "
        "figures on a small shared CPU; 0: the backend's own choice). All "
        "sessions share one process, so above 1 ONNX Runtime's spin-waiting is "
        "switched off (the report notes it)",
        type=non_negative_int,
    )
    grid_images: int = opt(5, "rows of the saliency grids", type=non_negative_int)
    fidelity_images: int = opt(
        100,
        "explained images on which each ort/trt session's in-graph CAM is compared with the "
        "fp32 PyTorch Grad-CAM (correlation, IoU of the top fifth, ROAD MoRF); 0 skips it",
        type=non_negative_int,
    )
    pipeline_summaries: list[str] = opt(
        help="an `edgexai run` summary JSON to show in the report (repeatable)",
        factory=list,
        flag="--pipeline-summary",
        action="append",
        metavar="FILE",
    )
    fresh: bool = opt(False, "recompute explanation results instead of reusing the report's cache")
    progress: bool = opt(True, "no progress bars")
    command: str = ""
