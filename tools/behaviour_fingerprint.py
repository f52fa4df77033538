"""Fingerprint what the package computes, so a refactor can be shown to change nothing.

Runs, through the CLI only: seeded tiny builds of every regime on real GTSRB (2 epochs, 30 images
per class), a tiny bench over them, and `edgexai run` on GTSDB held-out frames with a given
classifier, once with the learned detector (then `edgexai score`) and once with the colour
cascade. Writes one JSON of digests and numbers with every timing left out; two runs of this
script on two commits are compared with `--compare A.json B.json`.

    python tools/behaviour_fingerprint.py --out /tmp/fp-old --model BUILD --frames DIR --gt GTSDB
    python tools/behaviour_fingerprint.py --compare /tmp/fp-old/fingerprint.json /tmp/fp-new/fingerprint.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

CELLS = [
    ("natural", None),
    ("adversarial", None),
    ("l1", "tuned"),
    ("global", "post"),
    ("layered", "tuned"),
    ("layered", "pre"),
]
TIMING_KEYS = {
    "ms",
    "time",
    "seconds",
    "wall_s",
    "latency",
    "timing",
    "timings",
    "fps",
    "started",
    "finished",
    "created",
    "elapsed_s",
    "ms_per_image",
    "fps_median",
}


def cli(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "edgexai", *args],
        check=True,
        env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
    )


def weights_digest(build: Path) -> str:
    """sha256 over the state dict's tensors in key order (the file also holds metadata)."""
    import torch

    state = torch.load(build / "model.pt", map_location="cpu", weights_only=True)
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    h = hashlib.sha256()
    for key in sorted(state):
        value = state[key]
        if isinstance(value, torch.Tensor):
            h.update(key.encode())
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def strip_timings(value):
    if isinstance(value, dict):
        return {
            k: strip_timings(v)
            for k, v in value.items()
            if k not in TIMING_KEYS
            and "latency" not in k
            and "seconds" not in k
            and not k.endswith("_ms")
            and k not in ("command", "environment")
        }
    if isinstance(value, list):
        return [strip_timings(v) for v in value]
    return value


def run_log_detections(log: Path) -> list:
    """Per frame: the file, how many candidates were found and classified, and every detection
    as logged (box, class, confidence, sign score, score, CAM Gini, probe) — no timings."""
    frames = []
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        if "frame" in rec and "detections" in rec:
            frames.append(
                [rec.get("file"), rec.get("proposals"), rec.get("classified"), rec["detections"]]
            )
    return frames


def run_and_log(out: Path, name: str, model: Path, frames: Path, *extra: str) -> list:
    """`edgexai run` on the frames (once; the log is reused) → its detections."""
    log = out / f"{name}.jsonl"
    if not log.exists():
        cli(
            "run",
            "--source",
            str(frames),
            "--model",
            str(model),
            "--backend",
            "ort",
            "--headless",
            "--probe-every",
            "5",
            "--log",
            str(log),
            *extra,
        )
    return run_log_detections(log)


def fingerprint(out: Path, model: Path | None, frames: Path | None, gt: Path | None) -> dict:
    builds = out / "builds"
    result: dict = {"builds": {}}
    for regime, timing in CELLS:
        name = f"{regime}-{timing or 'none'}"
        args = [
            "build",
            "--regime",
            regime,
            "--preset",
            "quick",
            "--epochs",
            "2",
            "--parent-epochs",
            "2",
            "--limit-per-class",
            "30",
            "--seed",
            "0",
            "--out",
            str(builds),
            "--name",
            name,
            "--device",
            "cpu",
            "--no-progress",
            "--robust-images",
            "16",
            "--robust-steps",
            "2",
        ]
        if timing:
            args += ["--timing", timing]
        if not (builds / name / "manifest.json").exists():
            cli(*args)
        result["builds"][name] = weights_digest(builds / name)
    report = out / "bench"
    if not (report / "results.json").exists():
        cli(
            "bench",
            "--models",
            *[str(builds / n) for n in result["builds"]],
            "--report",
            str(report),
            "--images",
            "16",
            "--accuracy-images",
            "64",
            "--methods",
            "vg,cam",
            "--rounds",
            "1",
            "--per-round",
            "1",
            "--warmup",
            "1",
            "--batch",
            "1",
            "--backends",
            "ort",
            "--targets",
            "all",
            "--no-progress",
        )
    bench = json.loads((report / "results.json").read_text().replace(str(out), "<OUT>"))
    result["bench"] = strip_timings({k: v for k, v in bench.items() if k != "latency"})
    if model and frames:
        log = out / "heldout.jsonl"
        result["run_detections"] = run_and_log(out, "heldout", model, frames)
        result["run_colour_detections"] = run_and_log(
            out, "heldout-colour", model, frames, "--finder", "colour", "--max-frames", "60"
        )
        if gt:
            score = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "edgexai",
                    "score",
                    "--log",
                    str(log),
                    "--gt",
                    str(gt),
                    "--frames",
                    "400:600",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            result["score"] = score.stdout
    (out / "fingerprint.json").write_text(json.dumps(result, indent=1, sort_keys=True))
    return result


def compare(a: Path, b: Path) -> int:
    fa, fb = json.loads(a.read_text()), json.loads(b.read_text())
    bad = 0
    for key in sorted(set(fa) | set(fb)):
        same = fa.get(key) == fb.get(key)
        print(f"{key}: {'identical' if same else 'DIFFERENT'}")
        if not same and isinstance(fa.get(key), dict) and isinstance(fb.get(key), dict):
            for sub in sorted(set(fa[key]) | set(fb[key])):
                if fa[key].get(sub) != fb[key].get(sub):
                    print(f"  {sub}: differs")
        bad += not same
    return 1 if bad else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path)
    p.add_argument("--model", type=Path, help="a trained classifier build for the run")
    p.add_argument(
        "--frames", type=Path, help="GTSDB held-out frames (edgexai gtsdb --split heldout)"
    )
    p.add_argument("--gt", type=Path, help="the GTSDB folder that holds gt.txt, for the score")
    p.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    a = p.parse_args()
    if a.compare:
        return compare(*a.compare)
    if a.out is None:
        p.error("--out is required")
    a.out.mkdir(parents=True, exist_ok=True)
    fingerprint(a.out, a.model, a.frames, a.gt)
    print(a.out / "fingerprint.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
