"""Soak test: `edgexai run` on a looped source for N frames; resident memory must stay flat.

Runs the command in a subprocess (headless, --loop, --max-frames N), samples the child's RSS
(/proc/PID/status VmRSS) once a second together with the number of frames logged so far. RSS
swings by tens of MB inside a frame (temporary arrays), so a level is the median of --window
samples: the baseline right after warm-up (--warmup frames), the final level at the end; pass
when final ≤ baseline × (1 + --tolerance). The peak is reported too. SIGINT/SIGTERM stops the
run cleanly and still reports (a shortened soak says so). Linux only (/proc).

  nice -n 19 .venv/bin/python benchmarks/soak_run.py --source "$(.venv/bin/edgexai gtsdb)" \
      --model /tmp/eng-full/resnet20-natural-s0 --backend ort --frames 10000
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

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
    p.add_argument("--window", type=int, default=30, help="samples (1 s apart) per RSS level")
    p.add_argument("--probe-every", type=int, default=10)
    p.add_argument("--workdir", default=None, help="log folder (default: a temp folder)")
    p.add_argument("--out", default=None, help="write the result JSON here too")
    a = p.parse_args()
    work = Path(a.workdir or tempfile.mkdtemp(prefix="edgexai-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "soak.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "edgexai",
        "run",
        "--source",
        a.source,
        "--model",
        a.model,
        "--backend",
        a.backend,
        "--headless",
        "--loop",
        "--max-frames",
        str(a.frames),
        "--log",
        str(log),
        "--overwrite",  # the soak's own log in its workdir: a re-run replaces it
        "--log-max-mb",
        "20",
        "--log-backups",
        "2",
        "--probe-every",
        str(a.probe_every),
        "--quiet",
    ]
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.PIPE, text=True)
    stopped = []

    def stop(signum, _frame) -> None:  # a shortened soak: stop the run cleanly, still report
        stopped.append(signal.Signals(signum).name)
        proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
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
    if proc.returncode != 0 and not stopped:
        print(err[-2000:], file=sys.stderr)
        return 1
    summary_path = Path(str(log) + ".summary.json")
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    after = [s for s in samples if s[1] >= a.warmup]
    if len(after) < 2 * a.window:
        print("not enough samples after warm-up", file=sys.stderr)
        return 1
    # RSS swings by tens of MB within a frame (temporary arrays), so levels are medians over a
    # window of samples: right after warm-up (baseline) and at the end (final)
    base = float(np.median([s[2] for s in after[: a.window]]))
    final = float(np.median([s[2] for s in after[-a.window :]]))
    peak = max(s[2] for s in after)
    result = {
        "command": " ".join(cmd),
        "frames": summary.get("frames"),
        "stopped_early": stopped[0] if stopped else None,
        "wall_s": round(time.time() - t0, 1),
        "fps": summary.get("fps"),
        "warmup_frames": a.warmup,
        "window_samples": a.window,
        "rss_baseline_mib": round(base, 1),
        "rss_final_mib": round(final, 1),
        "rss_peak_after_warmup_mib": peak,
        "rss_first_mib": samples[0][2],
        "growth": round(final / base - 1, 4),
        "peak_over_baseline": round(peak / base - 1, 4),
        "pass": final <= base * (1 + a.tolerance),
        "samples": samples[:: max(1, len(samples) // 60)],
    }
    text = json.dumps(result, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0 if result["pass"] else 2


if __name__ == "__main__":
    sys.exit(main())
