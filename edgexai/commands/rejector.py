"""`edgexai rejector train`: train the colour cascade's first-stage rejector and box refiner."""

from __future__ import annotations

import argparse
import time

from edgexai.core.options import HelpFormatter


def register(sub) -> None:
    from edgexai.core.options import add_options
    from edgexai.train.rejector_train import RejectorTrainOptions

    p = sub.add_parser(
        "rejector",
        help="train the colour cascade's sign / background rejector",
        description="The colour cascade (`edgexai run --finder colour`) gates its "
        "proposals with a small perceptron on HOG + chroma features "
        "and refines their boxes; its weights ship with the package.",
    )
    rsub = p.add_subparsers(
        dest="rejector_command", metavar="ACTION", required=True, parser_class=type(p)
    )
    t = rsub.add_parser(
        "train",
        help="train the rejector and its box refiner on GTSDB frames 0–399; write FILE",
        description="Train on the proposer's own output on the GTSDB development frames 0–399 "
        "(from --data-root / EDGEXAI_DATA). Rejector positives: proposals at IoU ≥ "
        "0.5 with a sign plus jittered ground-truth boxes; negatives: proposals at "
        "IoU < 0.3. Training uses the frames ≢ 3 mod 4; the frames ≡ 3 mod 4 choose "
        "the threshold for --target-recall of sign proposals and report the box "
        "refiner's effect. Frames 400–599 are never used. Needs torch (the "
        "training side); the vehicle runs the weights in numpy. Proposing 400 frames "
        "takes minutes, so the crops are cached (--cache) for the next run. The "
        "shipped weights are edgexai/core/detection/data/rejector.npz in a checkout.",
        formatter_class=HelpFormatter,
    )
    t.add_argument(
        "--out", required=True, metavar="FILE", help="where the weights are written (.npz)"
    )
    add_options(t, RejectorTrainOptions)
    t.set_defaults(func=train)


def train(args: argparse.Namespace) -> int:
    from edgexai.core.options import from_args
    from edgexai.train.rejector_train import RejectorTrainOptions, train_rejector

    t0 = time.time()
    rej = train_rejector(from_args(RejectorTrainOptions, args, out=args.out))
    print(rej.info)
    print(f"wrote {args.out} in {time.time() - t0:.0f} s")
    return 0
