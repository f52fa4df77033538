"""Soak test: `edgexai run` on a looped source for N frames; resident memory must stay flat.

Runs the command in a subprocess (headless, --loop, --max-frames N), samples the child's RSS
(/proc/PID/status VmRSS) once a second together with the number of frames logged so far, takes
the RSS at the end of warm-up (--warmup frames) as the baseline, and reports the largest RSS after
it relative to that baseline (pass: ≤ 1 + --tolerance). Linux only (/proc).

  nice -n 19 .venv/bin/python tools/soak_run.py --source "$(.venv/bin/python tools/gtsdb.py)" \
      --model /tmp/eng-full/resnet20-natural-s0 --backend ort --frames 10000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--backend", default="ort")
    p.add_argument("--frames", type=int, default=10000)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--tolerance", type=float, default=0.10)
    p.add_argument("--probe-every", type=int, default=10)
    p.add_argument("--workdir", default=None, help="log folder (default: a temp folder)")
    p.add_argument("--out", default=None, help="write the result JSON here too")
    a = p.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="edgexai-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "soak.jsonl"
    cmd = [sys.executable, "-m", "edgexai", "run", "--source", a.source, "--model", a.model,
           "--backend", a.backend, "--headless", "--loop", "--max-frames", str(a.frames),
           "--log", str(log), "--log-max-mb", "20", "--log-backups", "2",
           "--probe-every", str(a.probe_every), "--quiet"]
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int, float]] = []
    frames, pos = 0, 0
    while proc.poll() is None:
        time.sleep(1.0)
        r = rss_mib(proc.pid)
        try:  # count frames logged so far (rotation restarts the file: reset the offset)
            size = log.stat().st_size
            if size < pos:
                pos = 0
            with open(log, "rb") as f:
                f.seek(pos)
                chunk = f.read()
            frames += chunk.count(b'"frame":')
            pos += len(chunk)
        except OSError:
            pass
        if r is not None:
            samples.append((round(time.time() - t0, 1), frames, round(r, 1)))
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        print(err[-2000:], file=sys.stderr)
        return 1
    base = next((s for s in samples if s[1] >= a.warmup), None)
    summary_path = Path(str(log) + ".summary.json")
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    if base is None:
        print("not enough frames to pass warm-up", file=sys.stderr)
        return 1
    after = [s for s in samples if s[0] >= base[0]]
    peak = max(after, key=lambda s: s[2])
    last = samples[-1]
    result = {"command": " ".join(cmd), "frames": summary.get("frames"),
              "wall_s": round(time.time() - t0, 1), "fps": summary.get("fps"),
              "warmup_frames": a.warmup, "rss_baseline_mib": base[2],
              "rss_peak_after_warmup_mib": peak[2], "rss_last_mib": last[2],
              "rss_first_mib": samples[0][2] if samples else None,
              "growth": round(peak[2] / base[2] - 1, 4),
              "pass": peak[2] <= base[2] * (1 + a.tolerance),
              "samples": samples[:: max(1, len(samples) // 40)]}
    text = json.dumps(result, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0 if result["pass"] else 2


if __name__ == "__main__":
    sys.exit(main())
