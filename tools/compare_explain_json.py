"""Compare two `edgexai explain` metrics.json files, figure by figure (docs/RESULTS.md, issue 15).

    python tools/compare_explain_json.py OLD/metrics.json NEW/metrics.json

Prints every figure that differs, ignoring what differs between any two runs (timings, creation
time, git revision) and the per-image block a newer file may add; then checks that each method's
per-image ROAD outcomes (where present) average to its summary curves. Exit 0: equal.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

IGNORED = {"created", "git", "seconds", "seconds_total", "per_image"}


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted((set(a) | set(b)) - IGNORED):
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in {'new' if k in b else 'old'}")
            else:
                out += differences(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} → {b!r}"]


def per_image_means(report: dict[str, Any]) -> list[str]:
    out = []
    for model in report["models"]:
        for method, res in model.get("methods", {}).items():
            block = res.get("per_image")
            if not block:
                continue
            for order, curves in block["road"].items():
                got = np.asarray(curves["correct"], np.float64).mean(axis=0)
                want = np.asarray(res["road"]["accuracy"][order], np.float64)
                gap = float(np.abs(got - want).max())
                out.append(
                    f"{model['name']} {method} {order}: {len(curves['correct'])} images, "
                    f"largest |mean of per-image − summary| {gap:.2e}"
                )
    return out


def main(old: str, new: str) -> int:
    a, b = (json.load(open(p)) for p in (old, new))
    diffs = differences(a, b)
    print("\n".join(diffs) if diffs else "every figure equal")
    print("\n".join(per_image_means(b)))
    return 1 if diffs else 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", help="the earlier run's metrics.json")
    p.add_argument("new", help="the later run's metrics.json")
    args = p.parse_args()
    sys.exit(main(args.old, args.new))
