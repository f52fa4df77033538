"""`edgexai driveby`: write a seeded synthetic drive-by (frames, gt.txt, tracks.txt) made from
GTSDB road frames, to develop and score tracking on."""

from __future__ import annotations

import argparse

from edgexai.core.options import HelpFormatter, add_options, from_args


def register(sub) -> None:
    from edgexai.study.driveby_sequences import DrivebyOptions

    p = sub.add_parser(
        "driveby",
        help="write a seeded synthetic drive-by (frames + gt.txt + tracks.txt) from GTSDB frames",
        description="Make sequences to develop tracking on: for each of --count source frames "
        "(drawn with --seed from --frames), --length frames in which the camera moves toward a "
        "vanishing point (a growing zoom: signs grow and slide outward), with zoom blur that "
        "grows with speed, gain/gamma drift and dropped frames (their numbers are skipped). "
        "The sequences are concatenated into one drive in --out: 000000.jpg …, gt.txt "
        "(GTSDB's layout: `edgexai run --source DIR`, `edgexai score --gt DIR`), tracks.txt "
        "(MOTChallenge's frame,id,x,y,w,h,1,-1,-1,-1, track ids unique across the drive) and "
        "driveby.json (seed, sources, settings, dropped frames). The same seed gives "
        "byte-identical files.",
        epilog="examples:\n"
        "  edgexai driveby --frames 400:600 --count 8 --length 40 --seed 1 --out drive\n"
        "  edgexai driveby --frames 400:600 --count 4 --sign-free --seed 2 --out empty-drive\n",
        formatter_class=HelpFormatter,
    )
    add_options(p, DrivebyOptions)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from edgexai.study.driveby_sequences import DrivebyOptions, make_driveby

    opts = from_args(DrivebyOptions, args)
    s = make_driveby(opts)
    print(
        f"wrote {opts.out}: {s['frames_written']} frames ({len(s['dropped_frames'])} dropped) "
        f"from {len(s['sequences'])} source frames, {s['tracks']} tracks, "
        f"{s['gt_boxes']} gt boxes"
    )
    return 0
