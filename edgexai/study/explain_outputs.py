"""What `edgexai explain` writes: metrics.json (everything), metrics.csv (one row per model ×
method), road_curves.csv, and the summary merged into each build's manifest."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from edgexai.core.strict_json import json_safe
from edgexai.study.explain_item import ExplainItem, rounded


def _flat_row(model: dict[str, Any], method: str, res: dict[str, Any]) -> dict[str, Any]:
    road = (res.get("road") or {}).get("summary", {})
    row: dict[str, Any] = {
        "model": model["name"],
        "regime": model["regime"],
        "method": method,
        "n_images": model["n_explained"],
        "gini_mean": res["gini"]["mean"],
        "gini_std": res["gini"]["std"],
    }
    for order in ("morf", "lerf", "gap"):
        for k in ("mean", "area"):
            v = road.get(order, {}).get(k)
            row[f"road_{order}_{k}"] = "" if v is None else rounded(v)
    row["deletion_auc"] = res.get("deletion_auc", {}).get("mean", "")
    row["insertion_auc"] = res.get("insertion_auc", {}).get("mean", "")
    row["explain_s"] = model["seconds"].get(f"explain_{method}", "")
    return row


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(json_safe(obj), indent=2) + "\n")


def write_tables(out: Path, report: dict[str, Any]) -> None:
    """metrics.json (everything), metrics.csv (one row per model × method), road_curves.csv."""
    write_json(out / "metrics.json", report)
    rows = [_flat_row(mo, me, res) for mo in report["models"] for me, res in mo["methods"].items()]
    if rows:
        with open(out / "metrics.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    with open(out / "road_curves.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "method", "order", "percentage", "accuracy", "probability"])
        for mo in report["models"]:
            for me, res in mo["methods"].items():
                road = res.get("road")
                if not road:
                    continue
                for order, accs in road["accuracy"].items():
                    for p, a, pr in zip(
                        road["percentages"], accs, road["probability"][order], strict=True
                    ):
                        writer.writerow([mo["name"], me, order, p, rounded(a), rounded(pr)])


def merge_into_manifest(item: ExplainItem, report: dict[str, Any]) -> None:
    """Add metrics.explanations (summary numbers + the settings that make them comparable)."""
    from edgexai.core.manifest import update_manifest

    res = item.result
    summary: dict[str, Any] = {}
    for method, r in res["methods"].items():
        s: dict[str, Any] = {"gini": r["gini"]["mean"]}
        for order, v in (r.get("road") or {}).get("summary", {}).items():
            s[f"road_{order}_mean"] = rounded(v["mean"])
            s[f"road_{order}_area"] = rounded(v["area"])
        if "deletion_auc" in r:
            s["deletion_auc"] = r["deletion_auc"]["mean"]
            s["insertion_auc"] = r["insertion_auc"]["mean"]
        summary[method] = s
    cfg = report["config"]
    # No report path: an absolute path of this machine means nothing where the folder is copied.
    explanations = json_safe(
        {
            "methods": summary,
            "split": "test",
            "n_drawn": res["n_drawn"],
            "n_explained": res["n_explained"],
            "targets": cfg["targets"],
            "seed": cfg["seed"],
            "indices_sha256": report["images"]["indices_sha256"],
            "percentages": cfg["percentages"],
            "noise_std": cfg["noise_std"],
            "created": report["created"],
        }
    )
    update_manifest(item.dir, lambda m: m["metrics"].__setitem__("explanations", explanations))
