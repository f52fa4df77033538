"""Show why latency candidates get a process each: two multi-threaded ONNX Runtime sessions in one
process slow each other down while their idle pool threads spin-wait.

python benchmarks/ort_spin_contention.py --build builds/resnet20-natural-s0 [--threads 2]

Times session A alone, then A and B interleaved round by round (50 calls per round, 21 rounds,
median ms per call), with ORT's intra-op spinning on (its default) or off; each setting in a fresh
process so nothing carries over. Quoted in docs/RESULTS.md ("Export and runtime").
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _median_ms(fn, rounds: int = 21, calls: int = 50) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t) / calls * 1000)
    return round(statistics.median(times), 3)


def measure(onnx_path: str, threads: int, spinning: bool) -> dict:
    import onnxruntime as ort

    def session():
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        return ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])

    a, b = session(), session()
    x = np.random.default_rng(0).normal(size=(1, 3, 32, 32)).astype(np.float32)
    fa, fb = (lambda: a.run(None, {"images": x})), (lambda: b.run(None, {"images": x}))
    for _ in range(50):
        fa()
        fb()
    alone = _median_ms(fa)
    ta, tb = [], []
    for _ in range(21):
        ta.append(_median_ms(fa, 1))
        tb.append(_median_ms(fb, 1))
    return {
        "threads": threads,
        "spinning": spinning,
        "A_alone_ms": alone,
        "A_interleaved_ms": round(statistics.median(ta), 3),
        "B_interleaved_ms": round(statistics.median(tb), 3),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", required=True, help="a build folder with model.onnx")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    args = p.parse_args()
    onnx_path = str(Path(args.build) / "model.onnx")
    if args.child:
        print(json.dumps(measure(onnx_path, args.threads, args.child == "on")))
        return 0
    for spin in ("on", "off"):
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--build",
                args.build,
                "--threads",
                str(args.threads),
                "--child",
                spin,
            ],
            check=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
