"""`edgexai build`: train (or transform) a model under a regime, evaluate it, write a build folder."""

from __future__ import annotations

import argparse

from edgexai.models import list_models
from edgexai.presets import PRESETS
from edgexai.regimes import REGIMES, TIMINGS


def register(sub) -> None:
    presets = "; ".join(f"{k}: {v.summary}" for k, v in PRESETS.items())
    p = sub.add_parser(
        "build", help="train and evaluate a model under a regime; write <out>/<name>/",
        description="Train a GTSRB classifier under a regime, evaluate it on the official test "
                    "set, and write <out>/<name>/ with model.pt (loadable with "
                    "torch.load(weights_only=True)), train_log.jsonl and manifest.json. "
                    "Multi-GPU: torchrun --nproc_per_node N -m edgexai build ...",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--regime", default="natural", choices=REGIMES, help="training regime")
    p.add_argument("--timing", choices=TIMINGS, default=None,
                   help="for pruning regimes: prune at init (pre), after training (post) or "
                        "after training then fine-tune (tuned)")
    p.add_argument("--arch", choices=list_models(), default=None,
                   help="architecture (default: the preset's)")
    p.add_argument("--preset", choices=list(PRESETS), default="cpu", help=presets)
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the preset's)")
    p.add_argument("--batch-size", type=int, default=None, help="batch size (default: the preset's)")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the preset's)")
    p.add_argument("--seed", type=int, default=0, help="seed for init, data order and augmentation")
    p.add_argument("--data-root", default=None,
                   help="GTSRB: a folder holding gtsrb/, a folder holding gtsrb.tar.gz, or the "
                        "archive (default: $EDGEXAI_DATA, else the cache, else download)")
    p.add_argument("--out", default="engines", help="parent folder of build folders")
    p.add_argument("--name", default=None, help="build folder name (default: arch-regime-sSEED)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--limit-per-class", type=int, default=None,
                   help="keep at most N images per class in every split (quick runs; the "
                        "manifest records the counts)")
    p.add_argument("--roi", action="store_true", help="crop each image to its CSV ROI box")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="fraction of each class's tracks held out for validation")
    p.add_argument("--resume", nargs="?", const="auto", default=None, metavar="CHECKPOINT",
                   help="continue an interrupted build (default: <out>/<name>/checkpoint.pt)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.build import BuildOptions, run_build

    opts = BuildOptions(regime=args.regime, timing=args.timing, arch=args.arch,
                        preset=args.preset, epochs=args.epochs, batch_size=args.batch_size,
                        lr=args.lr, seed=args.seed, data_root=args.data_root, out=args.out,
                        device=args.device, limit_per_class=args.limit_per_class, roi=args.roi,
                        val_fraction=args.val_fraction, resume=args.resume, name=args.name,
                        progress=not args.no_progress)
    out_dir = run_build(opts)
    import json

    manifest_path = out_dir / "manifest.json"
    if manifest_path.exists():
        m = json.loads(manifest_path.read_text())
        print(f"built {out_dir}: test accuracy {m['metrics']['test_accuracy']:.4f} "
              f"({m['data']['test_images']} official test images), "
              f"{m['params']:,} params, {m['macs']:,} MACs, {m['timing_s']['total']:.0f} s")
    return 0
