"""Time one `edgexai build` (warm data cache unless the caller clears it) and print one JSON line:
wall time, test and validation accuracy, the precision it trained in, and the machine (CPU model,
the flags that decide bf16, load average before and after, so a shared machine shows).

Usage: python benchmarks/time_build.py OUT_DIR [build options...]
       e.g. python benchmarks/time_build.py /tmp/t0 --regime natural --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from edgexai.core.host import cpu_description


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", help="the build's --out folder")
    parser.add_argument("build_args", nargs=argparse.REMAINDER, help="`edgexai build` options")
    ns = parser.parse_args(argv)
    out, args = Path(ns.out), ns.build_args
    load0 = os.getloadavg()
    t0 = time.time()
    rc = subprocess.call(["edgexai", "build", "--out", str(out), "--no-progress", *args])
    wall = time.time() - t0
    if rc:
        return rc
    manifest = max(out.glob("*/manifest.json"), key=lambda p: p.stat().st_mtime)
    m = json.loads(manifest.read_text())
    model, flags = cpu_description()
    row = {
        "build": manifest.parent.name,
        "args": args,
        "wall_s": round(wall, 1),
        "wall_min": round(wall / 60, 2),
        "test_accuracy": m["metrics"]["test_accuracy"],
        "val_accuracy": m["metrics"].get("val_accuracy"),
        "epochs": m["train_config"]["epochs"],
        "precision": m["train_config"].get("precision"),
        "train_s": (m.get("timing_s") or {}).get("train"),
        "cpu": model,
        "flags": flags,
        "cpus": os.cpu_count(),
        "load_before": [round(v, 2) for v in load0],
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "git": m.get("git"),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)),
    }
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
