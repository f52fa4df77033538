"""`edgexai explain`: saliency maps (VG/IG/SG/Grad-CAM) and their quality metrics for build folders."""

from __future__ import annotations

import argparse

from edgexai.commands.arg_types import csv_floats, csv_words
from edgexai.errors import EdgexaiError

METHODS = ("vg", "ig", "sg", "gradcam", "cam")


def _limit(text: str) -> int | None:
    if text.lower() == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'all', got {text!r}") from None


def register(sub) -> None:
    p = sub.add_parser(
        "explain", help="saliency maps and their quality (Gini, ROAD, deletion) for build folders",
        description="Explain a model's decisions on a seeded draw of the official GTSRB test "
                    "set: Vanilla Gradient (vg), Integrated Gradients (ig), SmoothGrad (sg), "
                    "Grad-CAM (gradcam) and the analytic, in-graph CAM (cam); score the maps by "
                    "Gini sparsity, ROAD (MoRF/LeRF with noisy linear imputation) and "
                    "deletion/insertion AUC. Writes metrics.json, metrics.csv, road_curves.csv, "
                    "grid.png and road.png, and merges the summary into each model's manifest. "
                    "Give --model several times to compare models on the same images and noise.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", action="append", required=True, metavar="DIR", dest="models",
                   help="a build folder (with manifest.json); repeat for several")
    p.add_argument("--methods", type=csv_words, default=("vg", "ig", "sg", "gradcam"),
                   help=f"comma-separated, from: {','.join(METHODS)}")
    p.add_argument("--limit", type=_limit, default=1000,
                   help="test images drawn (seeded) before the correct-only filter, or 'all'")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for the image draw, imputation noise, tie-breaks and SmoothGrad")
    p.add_argument("--out", default=None,
                   help="output folder (default: <model>/explain, or ./explain-report for "
                        "several models)")
    p.add_argument("--data-root", default=None,
                   help="GTSRB location (default: $EDGEXAI_DATA, else the model's own data)")
    p.add_argument("--targets", choices=("correct", "all"), default="correct",
                   help="explain only correctly classified images (the paper's protocol) or all; "
                        "the target is always the true label")
    p.add_argument("--percentages", type=csv_floats,
                   default=tuple(float(v) for v in range(1, 92, 10)),
                   help="ROAD removal percentages")
    p.add_argument("--orders", type=csv_words, default=("morf", "lerf"), help="ROAD orders")
    p.add_argument("--no-road", action="store_true", help="skip ROAD")
    p.add_argument("--noise-std", type=float, default=0.01,
                   help="imputation noise σ (normalised input units)")
    p.add_argument("--deletion-steps", type=int, default=10,
                   help="deletion/insertion curve steps (0: skip)")
    p.add_argument("--deletion-fill", choices=("blur", "mean", "zero"), default="blur",
                   help="what deleted pixels become")
    p.add_argument("--ig-steps", type=int, default=50, help="Integrated Gradients steps")
    p.add_argument("--sg-samples", type=int, default=25, help="SmoothGrad noisy samples")
    p.add_argument("--sg-noise", type=float, default=0.15,
                   help="SmoothGrad noise σ as a fraction of the [0, 1] pixel range")
    p.add_argument("--batch-size", type=int, default=64, help="images per explanation batch")
    p.add_argument("--workers", type=int, default=None,
                   help="ROAD imputation processes (default: CPU cores − 1, at least 1; "
                        "0: in-process)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--grid-images", type=int, default=6, help="example images in grid.png")
    p.add_argument("--no-manifest", action="store_true",
                   help="do not merge the numbers into the models' manifests")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.explain.run import ExplainOptions, run_explain

    if args.workers is not None and args.workers < 0:
        raise EdgexaiError(f"--workers must be 0 or more (got {args.workers})")
    opts = ExplainOptions(
        models=args.models, methods=args.methods, limit=args.limit, seed=args.seed, out=args.out,
        data_root=args.data_root, targets=args.targets, percentages=args.percentages,
        orders=args.orders, road=not args.no_road, noise_std=args.noise_std,
        deletion_steps=args.deletion_steps, deletion_fill=args.deletion_fill,
        ig_steps=args.ig_steps, sg_samples=args.sg_samples, sg_noise=args.sg_noise,
        batch_size=args.batch_size, workers=args.workers, device=args.device,
        grid_images=args.grid_images, update_manifest=not args.no_manifest,
        progress=not args.no_progress)
    out, report = run_explain(opts)
    for mo in report["models"]:
        print(f"{mo['name']}: {mo['n_explained']} of {mo['n_drawn']} test images explained "
              f"(accuracy {mo['accuracy_on_drawn']:.4f}), {mo['seconds']['total']:.0f} s")
        for method, r in mo["methods"].items():
            road = (r.get("road") or {}).get("summary", {})
            parts = [f"gini {r['gini']['mean']:.3f}"]
            for order in ("morf", "lerf", "gap"):
                if order in road:
                    parts.append(f"ROAD {order} {road[order]['mean']:.3f}")
            if "deletion_auc" in r:
                parts.append(f"del {r['deletion_auc']['mean']:.3f} "
                             f"ins {r['insertion_auc']['mean']:.3f}")
            print(f"  {method:8s} " + "  ".join(parts))
    print(f"wrote {out} ({report['seconds_total']:.0f} s)")
    return 0
