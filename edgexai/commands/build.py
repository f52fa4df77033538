"""`edgexai build`: train (or transform) a model under a regime, evaluate it, write a build
folder; its help says how to bring your own data."""

from __future__ import annotations

import argparse
import sys

from edgexai.core.options import HelpFormatter
from edgexai.train.build_options import add_build_arguments, options_from_args

OWN_DATA_EPILOG = """\
examples:
  edgexai build --preset cpu                       # GTSRB (located or downloaded), ResNet-20
  edgexai build --regime layered --timing tuned    # its natural parent is built first

  Your own data (--dataset PATH), one folder per class (torchvision's ImageFolder layout):
    signs/labels.txt      optional: one class name per line, in class-id order
    signs/groups.csv      optional: header path,group (path relative to signs/); images of one
                          group (one physical sign, one drive) stay on one side of every split
    signs/stop/0001.png   a class folder: a name from labels.txt or its class id (3, 00003);
    signs/yield/a.jpg     without labels.txt any names (ids follow the sorted folder names)
    signs/00002/b.ppm     images: .ppm .png .jpg .jpeg, any size (resized to the model's input)
  Without --test-dataset, --test-fraction of each class's groups (else images) is held out for
  testing, seeded, the same for every regime and seed; validation is carved from the rest. The
  manifest records the path, digest, class names and per-class counts; explain, bench, engine
  and run follow its classes (a changed dataset is refused until rebuilt or restored). Keep
  each dataset's builds under their own --out: a tuned build reuses <out>'s natural parent.

  printf 'stop\\nyield\\npriority road\\n' > signs/labels.txt
  edgexai build --dataset signs --out builds/signs                # builds/signs/resnet20-natural-s0
  edgexai build --dataset signs --out builds/signs --regime layered --timing tuned
  edgexai build --dataset signs --test-dataset signs-test --out builds/signs-own-test
  edgexai explain --model builds/signs/resnet20-natural-s0 --methods vg,gradcam
"""


def register(sub) -> None:
    p = sub.add_parser(
        "build",
        help="train and evaluate a model under a regime; write <out>/<name>/",
        description="Train a traffic-sign classifier under a regime — on GTSRB (the default; "
        "evaluated on its official test set) or on your own ImageFolder with --dataset — and "
        "write <out>/<name>/ with model.pt (loadable with "
        "torch.load(weights_only=True)), train_log.jsonl and manifest.json. "
        "Multi-GPU: torchrun --nproc_per_node N -m edgexai build ...",
        epilog=OWN_DATA_EPILOG,
        formatter_class=HelpFormatter,
    )
    add_build_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.train.builder import run_build
    from edgexai.train.data.folder import DatasetError
    from edgexai.train.distributed import dist_env

    opts = options_from_args(args)
    try:
        out_dir = run_build(opts)
    except DatasetError as exc:  # the --dataset argument is unusable: a usage error
        print(f"edgexai build: error: {exc}", file=sys.stderr)
        return 2
    import json

    manifest_path = out_dir / "manifest.json"
    if dist_env().is_main and manifest_path.exists():  # rank 0 wrote (and swapped in) the build
        m = json.loads(manifest_path.read_text())
        metrics = m["metrics"]
        robust = metrics.get("robust_accuracy")
        test_kind = "official test" if m["data"].get("dataset", "gtsrb") == "gtsrb" else "test"
        robust_text = "" if robust is None else f", robust accuracy {robust:.4f} (PGD-20)"
        print(
            f"built {out_dir}: test accuracy {metrics['test_accuracy']:.4f} "
            f"({m['data']['test_images']} {test_kind} images){robust_text}, "
            f"{m['params']:,} params, {m['macs']:,} MACs, "
            f"{metrics['weight_sparsity']['weights']:.1%} zero weights, "
            f"{m['timing_s']['total']:.0f} s"
        )
    return 0
