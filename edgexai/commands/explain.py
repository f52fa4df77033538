"""`edgexai explain`: saliency maps (VG/IG/SG/Grad-CAM) and their quality metrics for build folders."""

from __future__ import annotations

import argparse

from edgexai.core.options import HelpFormatter, add_options, from_args
from edgexai.study.explain_options import ExplainOptions


def register(sub) -> None:
    p = sub.add_parser(
        "explain",
        help="saliency maps and their quality (Gini, ROAD, deletion) for build folders",
        description="Explain a model's decisions on a seeded draw of the official GTSRB test "
        "set: Vanilla Gradient (vg), Integrated Gradients (ig), SmoothGrad (sg), "
        "Grad-CAM (gradcam) and the analytic, in-graph CAM (cam); score the maps by "
        "Gini sparsity, ROAD (MoRF/LeRF with noisy linear imputation) and "
        "deletion/insertion AUC. Writes metrics.json, metrics.csv, road_curves.csv, "
        "grid.png and road.png, and merges the summary into each model's manifest. "
        "Give --model several times to compare models on the same images and noise.",
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="DIR",
        dest="models",
        help="a build folder (with manifest.json); repeat for several",
    )
    add_options(p, ExplainOptions)  # every other flag, with its default and help, from there
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.study.explain_job import run_explain

    opts = from_args(ExplainOptions, args, models=args.models)
    out, report = run_explain(opts)
    for mo in report["models"]:
        print(
            f"{mo['name']}: {mo['n_explained']} of {mo['n_drawn']} test images explained "
            f"(accuracy {mo['accuracy_on_drawn']:.4f}), {mo['seconds']['total']:.0f} s"
        )
        for method, r in mo["methods"].items():
            road = (r.get("road") or {}).get("summary", {})
            parts = [f"gini {r['gini']['mean']:.3f}"]
            for order in ("morf", "lerf", "gap"):
                if order in road:
                    parts.append(f"ROAD {order} {road[order]['mean']:.3f}")
            if "deletion_auc" in r:
                parts.append(
                    f"del {r['deletion_auc']['mean']:.3f} ins {r['insertion_auc']['mean']:.3f}"
                )
            print(f"  {method:8s} " + "  ".join(parts))
    print(f"wrote {out} ({report['seconds_total']:.0f} s)")
    return 0
