"""`edgexai gtsdb`: find (and unpack once) the GTSDB development frames; print the folder, or a
folder of links to one of the project's frame splits."""

from __future__ import annotations

import argparse

from edgexai.core.options import HelpFormatter


def register(sub) -> None:
    from edgexai.train.data.gtsdb_frames import SPLIT_HELP, SPLITS

    p = sub.add_parser(
        "gtsdb",
        help="print the GTSDB frame folder, or a folder of links to one frame split",
        description="Find the GTSDB development frames (--data-root / EDGEXAI_DATA: the gtsdb/ "
        "folder, a folder holding it, or a folder holding gtsdb-dev.tar, which is "
        "unpacked once into the cache, EDGEXAI_CACHE or ~/.cache/edgexai) and print "
        "the folder; `edgexai run --source FOLDER` plays it as a folder of images (in "
        "name order) and `edgexai score --gt FOLDER` scores a run against its "
        "gt.txt. With --split, print a folder of links to that part instead "
        f"(default: <cache>/gtsdb-dev-SPLIT): {SPLIT_HELP}.",
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--data-root",
        default=None,
        help="folder holding gtsdb/ or gtsdb-dev.tar (default: $EDGEXAI_DATA)",
    )
    p.add_argument(
        "--split",
        choices=["all", *SPLITS],
        default="all",
        help="the frames the printed folder holds",
    )
    p.add_argument(
        "--dest",
        default=None,
        metavar="DIR",
        help="with --split: where the links go (default: the cache)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.core.errors import EdgexaiError
    from edgexai.train.data.gtsdb_frames import SPLITS, link_split, require_gtsdb

    if args.dest is not None and args.split == "all":
        raise EdgexaiError("--dest needs --split (tune, tuneval or heldout)")
    folder = require_gtsdb(args.data_root)
    if args.split != "all":
        folder = link_split(folder, SPLITS[args.split], args.dest)
    print(folder)
    return 0
