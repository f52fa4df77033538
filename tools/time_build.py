"""Time one `edgexai build` (warm data cache unless the caller clears it) and print one JSON line:
wall time, test and validation accuracy, the precision it trained in, and the machine (CPU model,
the flags that decide bf16, load average before and after, so a shared machine shows).

Usage: python tools/time_build.py OUT_DIR [build options...]
       e.g. python tools/time_build.py /tmp/t0 --regime natural --seed 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path


def cpu_model() -> tuple[str, list[str]]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor(), []
    model = next(
        (ln.split(":", 1)[1].strip() for ln in text.splitlines() if "model name" in ln), ""
    )
    flags = next(
        (ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), []
    )
    keep = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "avx512_vnni")
    return model, [f for f in flags if f in keep]


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
    model, flags = cpu_model()
    row = {
        "build": manifest.parent.name,
        "args": args,
        "wall_s": round(wall, 1),
        "wall_min": round(wall / 60, 2),
        "test_accuracy": m["metrics"]["test_accuracy"],
        "val_accuracy": m["metrics"].get("val_accuracy"),
        "epochs": m["train_config"]["epochs"],
        "precision": m["train_config"].get("precision"),
        "train_s": round(m.get("train", {}).get("seconds", float("nan")), 1)
        if isinstance(m.get("train"), dict)
        else None,
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
