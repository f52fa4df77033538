"""The pipeline's frame rate with the learned detector against the colour cascade, back to back.

Runs `edgexai run` (headless, ONNX Runtime, logging on, probe off) over the same frames once per
finder per round, alternating detector / colour / colour / detector … so drift in the machine's
load hits both alike, each run in its own process. Prints per run the FPS and the per-stage p50 /
p99 from its summary, and the median FPS per finder with their ratio.

  .venv/bin/python benchmarks/pipeline_fps.py --model CLS --frames GTSDB_DIR --rounds 2 --out /tmp/fps
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_once(finder: str, a, out: Path, tag: str) -> dict:
    log = out / f"{tag}.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "edgexai",
        "run",
        "--source",
        a.frames,
        "--model",
        a.model,
        "--backend",
        "ort",
        "--proposer",
        finder,
        "--headless",
        "--quiet",
        "--log",
        str(log),
        "--overwrite",  # its own log in --out: a second invocation replaces it
    ]
    if a.detector:
        cmd += ["--detector", a.detector]
    subprocess.run(cmd, check=True, cwd=REPO, env={**os.environ})
    return json.loads(Path(str(log) + ".summary.json").read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="classifier build folder")
    p.add_argument("--frames", required=True, help="folder of frames (GTSDB: all 600)")
    p.add_argument("--detector", default=None, help="detector build (default: the shipped one)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", default="/tmp/edgexai-fps")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    fps: dict[str, list[float]] = {"detector": [], "colour": []}
    for r in range(a.rounds):
        order = ("detector", "colour") if r % 2 == 0 else ("colour", "detector")
        for finder in order:
            s = run_once(finder, a, out, f"{finder}-{r}")
            fps[finder].append(s["fps"])
            stages = "  ".join(
                f"{k} {v['p50']:.1f}/{v['p99']:.1f}" for k, v in s["stages_ms"].items()
            )
            print(
                f"round {r} {finder:8s} {s['frames']} frames {s['wall_s']:.1f} s = "
                f"{s['fps']:.2f} FPS; CPU ms/frame main {s['cpu_ms_per_frame']['main']['mean']}"
                f" capture {s['cpu_ms_per_frame']['capture']['mean']}; p50/p99 ms: {stages}",
                flush=True,
            )
    med = {k: statistics.median(v) for k, v in fps.items()}
    print(
        json.dumps(
            {
                "median_fps": med,
                "ratio_detector_to_colour": round(med["detector"] / med["colour"], 3),
                "runs": fps,
            }
        )
    )


if __name__ == "__main__":
    main()
