"""Do two bench runs agree? Latency ordering of the regimes and every ratio to natural.

    python benchmarks/compare_bench_runs.py RUN1 RUN2 [--tolerance 0.10] [--tie 0.05]

For each timed case (backend, precision, batch): the cells ordered by p50 in each run; the pairs
that run 1 separates by more than --tie (relative) must keep their order in run 2 (cells whose
latencies are within --tie of each other — the same architecture with different weights, e.g.
natural and l1-tuned — are ties, and their order is noise); and every cell's p50 ratio to natural
must agree within --tolerance (relative). The strict orders are printed too. Exit 1 on a
disagreement.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path


def load(run: Path) -> dict:
    return json.loads((run / "results.json").read_text() if run.is_dir() else run.read_text())


def cases(results: dict) -> dict[str, dict[str, dict[str, float]]]:
    """{case: {cell: {'p50': mean p50, 'ratio': p50 / natural's}}}."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for cell, s in results["cells"].items():
        for k, v in s["mean"].items():
            if k.startswith("latency.") and k.endswith(".p50_ms"):
                case = k[len("latency.") : -len(".p50_ms")]
                out.setdefault(case, {})[cell] = {"p50": v, "ratio": s.get("ratio", {}).get(k)}
    return out


def compare(a: dict, b: dict, tolerance: float, tie: float) -> tuple[bool, list[str]]:
    ok, lines = True, []
    ca, cb = cases(a), cases(b)
    for case in sorted(set(ca) & set(cb)):
        x, y = ca[case], cb[case]
        cells = sorted(set(x) & set(y))
        order_a = sorted(cells, key=lambda c: x[c]["p50"])
        order_b = sorted(cells, key=lambda c: y[c]["p50"])
        flips = []
        for c1, c2 in itertools.combinations(cells, 2):
            lo, hi = sorted((x[c1]["p50"], x[c2]["p50"]))
            if hi / lo - 1 <= tie:
                continue
            if (x[c1]["p50"] < x[c2]["p50"]) != (y[c1]["p50"] < y[c2]["p50"]):
                flips.append(f"{c1}/{c2}")
        ratio_bad = []
        worst = 0.0
        for c in cells:
            ra, rb = x[c]["ratio"], y[c]["ratio"]
            if ra is None or rb is None:
                continue
            d = abs(rb / ra - 1)
            worst = max(worst, d)
            if d > tolerance:
                ratio_bad.append(f"{c} {ra:.3f}→{rb:.3f}")
        same_strict = order_a == order_b
        good = not flips and not ratio_bad
        ok &= good
        lines.append(
            f"{case}: {'agree' if good else 'DISAGREE'}; strict order "
            f"{'identical' if same_strict else 'differs only within ties' if not flips else 'differs'}; "
            f"largest ratio change {100 * worst:.1f} %"
            + (f"; order flips beyond ties: {', '.join(flips)}" if flips else "")
            + (f"; ratios off: {', '.join(ratio_bad)}" if ratio_bad else "")
        )
        lines.append("  run 1: " + " < ".join(f"{c} {x[c]['p50']:.3f}" for c in order_a))
        lines.append("  run 2: " + " < ".join(f"{c} {y[c]['p50']:.3f}" for c in order_b))
    return ok, lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run1", type=Path)
    ap.add_argument("run2", type=Path)
    ap.add_argument("--tolerance", type=float, default=0.10)
    ap.add_argument("--tie", type=float, default=0.05)
    a = ap.parse_args()
    ok, lines = compare(load(a.run1), load(a.run2), a.tolerance, a.tie)
    print("\n".join(lines))
    print("runs agree" if ok else "runs DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
