"""Print the regime matrix of one out folder as a Markdown table (docs/RESULTS.md).

    python tools/regime_table.py OUT

Robust accuracy of a natural build made before robust evaluation existed is read from the
robustness-<settings>.json that its first post/tuned child cached beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ORDER = [
    "natural",
    "adversarial",
    "adversarial-tuned",
    "l1-pre",
    "l1-post",
    "l1-tuned",
    "global-pre",
    "global-post",
    "global-tuned",
    "layered-pre",
    "layered-post",
    "layered-tuned",
]


def cell(m: dict) -> str:
    return "-".join(filter(None, [m["regime"], m.get("timing")]))


def robust_of(folder: Path, m: dict) -> float | None:
    value = m["metrics"].get("robust_accuracy")
    if value is not None:
        return value
    for f in sorted(folder.glob("robustness-*.json")):
        return json.loads(f.read_text())["result"]["robust_accuracy"]
    return None


def main(out: str) -> int:
    rows = {}
    for path in sorted(Path(out).glob("*/manifest.json")):
        m = json.loads(path.read_text())
        rows[cell(m)] = (path.parent, m)
    if "natural" not in rows:
        print("no natural build in", out)
        return 1
    nat = rows["natural"][1]
    print(
        "| cell | test acc | Δ vs natural (pts) | robust acc (PGD-20) | zero weights | params "
        "(% nat) | MACs (% nat) | epochs | train s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in ORDER + sorted(set(rows) - set(ORDER)):
        if name not in rows:
            continue
        folder, m = rows[name]
        acc = m["metrics"]["test_accuracy"]
        robust = robust_of(folder, m)
        sparsity = m["metrics"].get("weight_sparsity", {}).get("weights")
        cfg = m.get("train_config") or {}
        print(
            f"| {name} | {acc:.4f} | {100 * (acc - nat['metrics']['test_accuracy']):+.2f} | "
            f"{'—' if robust is None else f'{robust:.3f}'} | "
            f"{'—' if sparsity is None else f'{sparsity:.2%}'} | "
            f"{m['params']:,} ({m['params'] / nat['params']:.1%}) | "
            f"{m['macs']:,} ({m['macs'] / nat['macs']:.1%}) | {cfg.get('epochs', 0)} | "
            f"{m.get('timing_s', {}).get('train', 0):.0f} |"
        )
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "out",
        metavar="OUT",
        nargs="?",
        default="engines/regimes",
        help="the folder of build folders (default: engines/regimes)",
    )
    sys.exit(main(p.parse_args().out))
