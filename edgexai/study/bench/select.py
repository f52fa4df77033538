"""Which build folders a bench compares: named ones (`--models`) or the paper's cells found under a
root (`--regimes`), grouped by cell so several seeds give mean ± std."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import builds_root
from edgexai.train.regimes import regime_registry as registry

BASELINE = "natural"


def __getattr__(name: str) -> Any:
    """`CELLS`: every regime's cells in table order (the paper's eleven for the built-in
    regimes), read from the registry when asked, so a regime registered later is in it."""
    if name == "CELLS":
        return registry.cells()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class BenchModel:
    """One build folder as the bench sees it."""

    dir: Path
    manifest: dict[str, Any]
    name: str
    cell: str
    seed: int


def cell_of(manifest: dict[str, Any]) -> str:
    """natural | adversarial | <pruning regime>-<timing>. Adversarial training from scratch and
    adversarial fine-tuning of the natural parent are both the paper's one adversarial cell."""
    return registry.cell_of(str(manifest.get("regime") or ""), manifest.get("timing") or None)


def parse_cells(text: str) -> tuple[str, ...]:
    """'all' or a comma-separated list of cells, validated."""
    known = registry.cells()
    if text.strip().lower() == "all":
        return known
    chosen = tuple(c.strip().lower() for c in text.split(",") if c.strip())
    if not chosen:
        raise EdgexaiError("--regimes is empty; give 'all' or cells such as natural,layered-tuned")
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise EdgexaiError(
            f"unknown regime cell(s) {', '.join(unknown)}; choose from all, " + ", ".join(known)
        )
    return chosen


def load_model_dir(path: str | Path) -> BenchModel:
    from edgexai.core.manifest import read_manifest

    folder = Path(path).expanduser()
    manifest = read_manifest(folder)
    return BenchModel(
        folder,
        manifest,
        str(manifest.get("name") or folder.name),
        cell_of(manifest),
        int(manifest.get("seed") or 0),
    )


def find_cells(
    root: str | Path, cells: tuple[str, ...], seeds: tuple[int, ...] | None
) -> list[BenchModel]:
    """Every build under `root` whose cell is asked for (and seed, if given); a missing cell is an
    error that says how to build it, so a report never silently drops a regime."""
    root = builds_root(
        Path(root).expanduser(), lambda text: print(f"edgexai: {text}", file=sys.stderr)
    )
    if not root.is_dir():
        raise EdgexaiError(
            f"--root {root}: no such folder (build folders live there; see `edgexai build --help`)"
        )
    found: list[BenchModel] = []
    for manifest_path in sorted(root.glob("*/manifest.json")):
        try:
            model = load_model_dir(manifest_path.parent)
        except EdgexaiError:
            continue  # a half-written build folder is not a model
        if model.cell in cells and (seeds is None or model.seed in seeds):
            found.append(model)
    missing = [c for c in cells if not any(m.cell == c for m in found)]
    if missing:
        raise EdgexaiError(
            f"no build under {root} for: {', '.join(missing)}"
            + (f" (seeds {','.join(map(str, seeds))})" if seeds else "")
            + f". Build them with `edgexai matrix --out {root} --cells {' '.join(missing)}` or "
            "`edgexai build --regime R --timing T --out ROOT`, or bench fewer with --regimes"
        )
    return order_models(found)


def order_models(models: list[BenchModel]) -> list[BenchModel]:
    """Paper order of cells (unknown cells last), then seed; duplicates of a name refused."""
    names = [m.name for m in models]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise EdgexaiError(f"the same build name appears twice: {', '.join(dup)}")
    order = registry.cells()
    rank = {c: i for i, c in enumerate(order)}
    return sorted(models, key=lambda m: (rank.get(m.cell, len(order)), m.cell, m.seed, m.name))


def _refuse_mixed(models: list[BenchModel]) -> None:
    """Models that cannot share one table: different class lists (the drawn test images and the
    accuracy would mean different things), or different archs in one cell (a cell's builds are
    averaged as seeds of one model)."""
    classes = {tuple(m.manifest.get("classes") or ()) for m in models}
    if len(classes) > 1:
        raise EdgexaiError(
            f"the models name {len(classes)} different class lists (trained on different "
            "datasets), so they cannot share the bench's test images; bench them separately"
        )
    archs: dict[str, set[str]] = {}
    for m in models:
        archs.setdefault(m.cell, set()).add(str(m.manifest.get("arch")))
    for cell, names in archs.items():
        if len(names) > 1:
            raise EdgexaiError(
                f"cell {cell} holds builds of {', '.join(sorted(names))}: a cell's builds are "
                "averaged as seeds of one model; bench each architecture separately"
            )


def check_comparable(models: list[BenchModel]) -> list[str]:
    """Differences that would make the side-by-side unfair; returned as notes for the report
    (input size must match: it is refused)."""
    notes: list[str] = []
    sizes = {int(m.manifest.get("input_size") or 0) for m in models}
    if len(sizes) > 1:
        raise EdgexaiError(
            f"models with different input sizes ({sorted(sizes)}) cannot share "
            "the bench's images; bench them separately"
        )
    _refuse_mixed(models)
    for key, label in (("arch", "architectures"), ("preset", "presets")):
        values = {str(m.manifest.get(key)) for m in models}
        if len(values) > 1:
            notes.append(f"different {label} in one matrix: {', '.join(sorted(values))}")
    digests = {str((m.manifest.get("data") or {}).get("digest")) for m in models}
    if len(digests) > 1:
        notes.append("models were trained on different data archives")
    eps = {
        round(float(((m.manifest.get("metrics") or {}).get("robust") or {}).get("epsilon", -1)), 6)
        for m in models
    }
    if len(eps) > 1:
        notes.append("robust accuracy was measured at different ε across models")
    return notes
