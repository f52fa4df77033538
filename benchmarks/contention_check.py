"""How much a competing CPU-bound process slows `edgexai` down (docs/RESULTS.md, issue 17 item 11).

Times one command alone, then beside one busy process (a pure-Python loop pinned to no core), in
fresh processes back to back, and prints the contended/alone ratio. Run it for a checkout before
and after a change with `--python` pointing at the interpreter and `--cwd` at the checkout:

    python benchmarks/contention_check.py --label after --cwd . -- \\
        -m edgexai build --preset quick --epochs 1 --limit-per-class 100 --no-robust \\
        --out /tmp/cc --name quick --device cpu --no-progress
    python benchmarks/contention_check.py --label after --cwd . -- \\
        -m edgexai run --source FRAMES --model BUILD --backend ort --headless --max-frames 300 \\
        --log /tmp/cc.jsonl --quiet

`--env K=V` sets extra environment (e.g. OMP_WAIT_POLICY=ACTIVE to see the spinning case, or
GOMP_SPINCOUNT=N); variables of edgexai.core.threads.WAIT_POLICY not named so are dropped, so the CLI's
own policy applies;
`--clean PATH` is deleted before every timing (a build folder, so each build starts afresh).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time

from edgexai.core.threads import WAIT_POLICY


def _busy(stop) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def timed(cmd: list[str], cwd: str, env: dict[str, str], clean: list[str]) -> float:
    for path in clean:
        shutil.rmtree(path, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run(
        cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--python", default=sys.executable, help="the interpreter to run")
    p.add_argument("--cwd", default=".", help="the checkout to run in")
    p.add_argument("--label", default="", help="a name for this row (e.g. before, after)")
    p.add_argument("--env", action="append", default=[], metavar="K=V")
    p.add_argument("--clean", action="append", default=[], metavar="PATH")
    p.add_argument("args", nargs=argparse.REMAINDER, help="-- then the interpreter's arguments")
    a = p.parse_args()
    args = a.args[1:] if a.args[:1] == ["--"] else a.args
    if not args:
        p.error("give the command after --")
    env = {**os.environ, **dict(kv.split("=", 1) for kv in a.env)}
    for key in WAIT_POLICY:  # the CLI's own policy applies unless --env names it
        if not any(kv.startswith(f"{key}=") for kv in a.env):
            env.pop(key, None)
    cmd = [a.python, *args]
    alone = timed(cmd, a.cwd, env, a.clean)
    stop = multiprocessing.Event()
    hog = multiprocessing.Process(target=_busy, args=(stop,), daemon=True)
    hog.start()
    try:
        contended = timed(cmd, a.cwd, env, a.clean)
    finally:
        stop.set()
        hog.join(timeout=5)
    print(
        json.dumps(
            {
                "label": a.label,
                "command": " ".join(args),
                "alone_s": round(alone, 2),
                "contended_s": round(contended, 2),
                "ratio": round(contended / alone, 2),
                "cpus": os.cpu_count(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
