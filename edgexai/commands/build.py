"""`edgexai build`: train (or transform) a model under a regime, evaluate it, write a build folder."""

from __future__ import annotations

import argparse

from edgexai.models import list_models
from edgexai.presets import PRESETS
from edgexai.regimes import (
    DEFAULT_EPSILON,
    DEFAULT_PGD_STEPS,
    LAYERED_MODES,
    LAYERED_SCOPES,
    REGIMES,
    TIMINGS,
    RegimeSettings,
)


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
                   help="pruning regimes: prune at init then train (pre), prune the trained "
                        "natural model and stop (post), or prune it then fine-tune (tuned; the "
                        "default). adversarial: none = train from scratch, tuned = fine-tune the "
                        "natural parent adversarially. post/tuned reuse <out>/ARCH-natural-sSEED "
                        "when it fits, else build it first")
    p.add_argument("--arch", choices=list_models(), default=None,
                   help="architecture (default: the preset's)")
    p.add_argument("--preset", choices=list(PRESETS), default="cpu", help=presets)
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs (default: the preset's; for --timing tuned its fine-tuning epochs)")
    p.add_argument("--batch-size", type=int, default=None, help="batch size (default: the preset's)")
    p.add_argument("--lr", type=float, default=None,
                   help="peak learning rate (default: the preset's; for tuned its fine-tuning lr)")
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
    p.add_argument("--parent-epochs", type=int, default=None,
                   help="epochs for a natural parent built on the way (default: the preset's)")
    _pruning_flags(p.add_argument_group("pruning (l1, global, layered)"))
    _adversarial_flags(p.add_argument_group(
        "adversarial training and robust evaluation (PGD, L-infinity)"))
    p.set_defaults(func=run)


def _pruning_flags(g) -> None:
    d = RegimeSettings()
    g.add_argument("--amount", type=float, default=None,
                   help="share pruned. l1: of each conv's weights (default 0.2; the paper's); "
                        "global: of all conv+linear weights (0.2); layered: of each layer's "
                        "channels (0.5 in remove mode; 0.1 of filters in mask mode, the paper's)")
    g.add_argument("--amount-linear", type=float, default=None,
                   help="l1: share of each linear layer's weights (default 0.1; the paper's)")
    g.add_argument("--layered-mode", choices=LAYERED_MODES, default=d.layered_mode,
                   help="remove: take channels out for real (Torch-Pruning dependency graph, "
                        "residual groups together, classifier kept) so the model is smaller and "
                        "faster; mask: the paper's ln_structured filter masks (no speed-up)")
    g.add_argument("--layered-scope", choices=LAYERED_SCOPES, default=d.layered_scope,
                   help="layer: every layer loses --amount of its channels; global: channels "
                        "ranked across layers, each layer capped at --max-layer-amount")
    g.add_argument("--max-layer-amount", type=float, default=d.max_layer_amount,
                   help="global scope: the most any one layer may lose")
    g.add_argument("--round-to", type=int, default=d.round_to,
                   help="layered: keep channel counts at multiples of this")
    g.add_argument("--importance", choices=("l2", "l1"), default=d.importance,
                   help="layered: channel importance (weight-magnitude norm)")
    g.add_argument("--prune-steps", type=int, default=d.prune_steps,
                   help="layered: reach --amount in this many equal pruning steps")


def _adversarial_flags(g) -> None:
    d = RegimeSettings()
    g.add_argument("--epsilon", type=float, default=DEFAULT_EPSILON,
                   help="L-infinity budget in [0, 1] PIXEL units, for adversarial training and "
                        "for the robust accuracy of every regime (default 8/255 ≈ 0.0314: each "
                        "pixel may move 8 of 255 levels; adversarial images are clipped to "
                        "[0, 1]). The paper's ε = 0.1 was in normalised units, ≈ 0.1 × std ≈ "
                        "0.022 here (≈ 5.7/255)")
    g.add_argument("--pgd-steps", type=int, default=DEFAULT_PGD_STEPS,
                   help="PGD steps of the training attack (evaluation always uses --robust-steps)")
    g.add_argument("--pgd-step-size", type=float, default=None,
                   help="PGD step in pixel units (default 2.5·ε/steps)")
    g.add_argument("--no-random-start", action="store_true",
                   help="start the training attack at the image instead of a random point in "
                        "the ε-ball")
    g.add_argument("--adv-fraction", type=float, default=d.adv_fraction,
                   help="share of each batch replaced by its adversarial version (1 = all "
                        "adversarial; 0.5 = mixed clean/adversarial)")
    g.add_argument("--robust-images", type=int, default=1000,
                   help="robust accuracy: this many official test images (a fixed seeded sample)")
    g.add_argument("--robust-steps", type=int, default=20, help="robust accuracy: PGD steps")
    g.add_argument("--no-robust", action="store_true",
                   help="skip the robust accuracy (quick runs; about a minute on 2 CPU cores "
                        "for ResNet-20)")


def run(args: argparse.Namespace) -> int:
    from edgexai.build import BuildOptions, run_build

    opts = BuildOptions(regime=args.regime, timing=args.timing, arch=args.arch,
                        preset=args.preset, epochs=args.epochs, batch_size=args.batch_size,
                        lr=args.lr, seed=args.seed, data_root=args.data_root, out=args.out,
                        device=args.device, limit_per_class=args.limit_per_class, roi=args.roi,
                        val_fraction=args.val_fraction, resume=args.resume, name=args.name,
                        progress=not args.no_progress, parent_epochs=args.parent_epochs,
                        robust=not args.no_robust, robust_images=args.robust_images,
                        robust_steps=args.robust_steps,
                        settings=RegimeSettings(
                            amount=args.amount, amount_linear=args.amount_linear,
                            layered_mode=args.layered_mode, layered_scope=args.layered_scope,
                            max_layer_amount=args.max_layer_amount, round_to=args.round_to,
                            importance=args.importance, prune_steps=args.prune_steps,
                            epsilon=args.epsilon, pgd_steps=args.pgd_steps,
                            pgd_step_size=args.pgd_step_size,
                            random_start=not args.no_random_start,
                            adv_fraction=args.adv_fraction))
    out_dir = run_build(opts)
    import json

    manifest_path = out_dir / "manifest.json"
    if manifest_path.exists():
        m = json.loads(manifest_path.read_text())
        metrics = m["metrics"]
        robust = metrics.get("robust_accuracy")
        robust_text = "" if robust is None else f", robust accuracy {robust:.4f} (PGD-20)"
        print(f"built {out_dir}: test accuracy {metrics['test_accuracy']:.4f} "
              f"({m['data']['test_images']} official test images){robust_text}, "
              f"{m['params']:,} params, {m['macs']:,} MACs, "
              f"{metrics['weight_sparsity']['weights']:.1%} zero weights, "
              f"{m['timing_s']['total']:.0f} s")
    return 0
