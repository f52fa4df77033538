"""Which builds a bench compared with the paper: the paper's dataset (GTSRB) or another, and full
builds or limited ones (the quick preset, a per-class image limit, fewer epochs than their
preset), whose verdicts are marked indicative only."""

from __future__ import annotations

from typing import Any

QUICK_MARK = "quick builds: indicative only"
LIMITED_MARK = "limited builds: indicative only"


def is_gtsrb(manifest: dict[str, Any]) -> bool:
    """A GTSRB build (the paper's dataset), as edgexai.train.data.datasets answers it."""
    from edgexai.train.data.datasets import is_gtsrb as answer

    return answer(manifest)


def build_limits(manifest: dict[str, Any]) -> list[str]:
    """Why a build is not a full one (empty: it is): the quick preset, a per-class image limit,
    or fewer epochs than its preset trains (fine-tunes, for `tuned`)."""
    from edgexai.train.presets import PRESETS

    out = []
    preset = manifest.get("preset")
    if preset == "quick":
        out.append("quick preset")
    limit = (manifest.get("data") or {}).get("limit_per_class")
    if limit:
        out.append(f"{limit} training images per class")
    epochs = (manifest.get("train_config") or {}).get("epochs")
    if preset in PRESETS and epochs is not None:
        p = PRESETS[preset]
        planned = p.finetune_epochs if manifest.get("timing") == "tuned" else p.epochs
        if int(epochs) < planned:
            out.append(f"{epochs} of the preset's {planned} epochs")
    return out


def build_facts(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest facts results.json keeps per model for the paper comparison: preset, GTSRB, limits."""
    return {
        "preset": manifest.get("preset"),
        "gtsrb": is_gtsrb(manifest),
        "limits": build_limits(manifest),
    }


def mark_for(models: list[dict[str, Any]], cells: tuple[str, ...]) -> tuple[str | None, list[str]]:
    """(mark, why): the mark of a verdict read from these cells' builds (None: all full)."""
    why = [
        f"{m['name']}: {', '.join(m['limits'])}"
        for m in models
        if m.get("cell") in cells and m.get("limits")
    ]
    if not why:
        return None, []
    quick = any("quick preset" in m.get("limits", ()) for m in models if m.get("cell") in cells)
    return (QUICK_MARK if quick else LIMITED_MARK), why
