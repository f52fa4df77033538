"""`edgexai build`: train (or transform) a model under a regime, evaluate it, write a build folder."""

from __future__ import annotations

import argparse

from edgexai.build_options import add_build_arguments, options_from_args
from edgexai.options import HelpFormatter


def register(sub) -> None:
    p = sub.add_parser(
        "build",
        help="train and evaluate a model under a regime; write <out>/<name>/",
        description="Train a GTSRB classifier under a regime, evaluate it on the official test "
        "set, and write <out>/<name>/ with model.pt (loadable with "
        "torch.load(weights_only=True)), train_log.jsonl and manifest.json. "
        "Multi-GPU: torchrun --nproc_per_node N -m edgexai build ...",
        formatter_class=HelpFormatter,
    )
    add_build_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.build import run_build
    from edgexai.distributed import dist_env

    opts = options_from_args(args)
    out_dir = run_build(opts)
    import json

    manifest_path = out_dir / "manifest.json"
    if dist_env().is_main and manifest_path.exists():  # rank 0 wrote (and swapped in) the build
        m = json.loads(manifest_path.read_text())
        metrics = m["metrics"]
        robust = metrics.get("robust_accuracy")
        robust_text = "" if robust is None else f", robust accuracy {robust:.4f} (PGD-20)"
        print(
            f"built {out_dir}: test accuracy {metrics['test_accuracy']:.4f} "
            f"({m['data']['test_images']} official test images){robust_text}, "
            f"{m['params']:,} params, {m['macs']:,} MACs, "
            f"{metrics['weight_sparsity']['weights']:.1%} zero weights, "
            f"{m['timing_s']['total']:.0f} s"
        )
    return 0
