"""What `edgexai run --serve` with connected viewers costs in frame rate (issue 44's acceptance:
≤ 10 % with 3 viewers).

Alternates, `--repeats` times on the same source: a run without `--serve`, then one with
`--serve 127.0.0.1:0` and `--viewers` clients that each read the MJPEG video and the server-sent
events for the whole run (curl processes on the same machine, so their CPU counts against the
run; a real display reads from another device). Both runs are headless with the default tracker.
Prints one JSON line per run and the FPS ratio of the medians.

    python benchmarks/serve_cost.py --model builds/resnet20-natural-s0 --source DRIVEBY
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(args, serve: bool) -> dict:
    log = Path(tempfile.mkdtemp()) / "run.jsonl"
    cmd = ["edgexai", "run", "--source", args.source, "--loop", "--model", args.model]
    cmd += ["--headless", "--quiet", "--backend", "ort", "--log", str(log)]
    cmd += ["--max-frames", str(args.frames)]
    if serve:
        cmd += ["--serve", "127.0.0.1:0", "--serve-fps", str(args.serve_fps)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    viewers = []
    if serve:
        url = None
        while url is None:
            line = proc.stderr.readline()
            if not line:
                raise SystemExit("the run ended before serving")
            m = re.search(r"live view at (http://\S+)", line)
            url = m.group(1) if m else None
        for _ in range(args.viewers):
            for path in ("video.mjpg", "events"):
                viewers.append(
                    subprocess.Popen(
                        ["curl", "-s", "-N", "-o", "/dev/null", url + path],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
    proc.stderr.read()
    _, _, usage = os.wait4(proc.pid, 0)  # the run's own CPU time (its threads, not the viewers')
    proc.returncode = 0
    time.sleep(0.2)
    for v in viewers:
        v.kill()
        v.wait()
    summary = json.loads(Path(str(log) + ".summary.json").read_text())
    return {
        "serve": serve,
        "viewers": args.viewers if serve else 0,
        "fps": summary["fps"],
        "frame_ms_p50": summary["frame_ms"]["p50"],
        "render_p50": summary["stages_ms"]["render"]["p50"],
        "cpu_ms_per_frame": round((usage.ru_utime + usage.ru_stime) * 1000 / summary["frames"], 2),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--frames", type=int, default=600)
    p.add_argument("--viewers", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--serve-fps", type=float, default=15.0, help="the run's --serve-fps")
    args = p.parse_args()
    rows = []
    for _ in range(args.repeats):
        for serve in (False, True):
            rows.append(run(args, serve))
            print(json.dumps(rows[-1]), flush=True)
    base = statistics.median(r["fps"] for r in rows if not r["serve"])
    served = statistics.median(r["fps"] for r in rows if r["serve"])
    cpu0 = statistics.median(r["cpu_ms_per_frame"] for r in rows if not r["serve"])
    cpu1 = statistics.median(r["cpu_ms_per_frame"] for r in rows if r["serve"])
    print(
        json.dumps(
            {
                "fps_without": base,
                "fps_with": served,
                "ratio": round(served / base, 3),
                "cpu_ms_per_frame_without": cpu0,
                "cpu_ms_per_frame_with": cpu1,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
