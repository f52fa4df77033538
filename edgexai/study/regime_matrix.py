"""The regime matrix (`edgexai matrix`): cells of one arch and seed built into one folder.

Each cell is one `edgexai build` in its own process (a crash costs one cell; its output goes to
OUT/logs/CELL.log, a line per cell to OUT/logs/matrix.log and the screen), at a low priority. A
cell whose build folder has a manifest is skipped and one with a checkpoint is resumed, so an
interrupted matrix continues where it stopped. The cells and their order come from the regime
registry; a Markdown table of what each manifest says ends the run (docs/RESULTS.md), and
`edgexai matrix --table` prints it alone for a folder already built.

On a shared machine run it with OMP_NUM_THREADS=1: two-thread OpenMP workers that wait for each
other burn their CPU share spinning (measured: a 2-thread build made no epoch in 8 CPU minutes
under load 10; a 1-thread build made one every ~140 s).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError
from edgexai.core.options import opt
from edgexai.train.regimes.regime_registry import default_matrix, matrix_cells

ALL = "all"


@dataclass(frozen=True)
class MatrixOptions:
    """What `edgexai matrix` is told; `build_args` go to every cell's `edgexai build`."""

    out: str = opt(
        "engines/regimes",
        "folder of the build folders; post/tuned cells reuse the "
        "natural parent ARCH-natural-sSEED there (built first when absent)",
    )
    cells: tuple[str, ...] = opt(
        (ALL,),
        "cells to build, in this order (NAME or NAME-TIMING, e.g. natural l1-tuned "
        "adversarial-tuned; adversarial alone trains from scratch). all (the default): every "
        "regime's cells, adversarial as fine-tuning, the natural parent first, then cheapest "
        "first",
        nargs="+",
        metavar="CELL",
    )
    tune_epochs: int | None = opt(
        None,
        "fine-tuning epochs of the pruning regimes' tuned cells (default: the preset's)",
        type=int,
    )
    pre_epochs: int = opt(
        6, "training epochs of the pre cells (fewer than the cpu preset's 10, to fit 2 CPU cores)"
    )
    adv_epochs: int = opt(2, "epochs of adversarial-tuned")
    adv_steps: int = opt(3, "PGD steps of adversarial-tuned's training attack")
    nice: int = opt(19, "niceness of every build (0: the matrix's own)")
    table: bool = opt(
        False,
        "build nothing: print the Markdown table of the builds already in --out (exit 1 when "
        "it has no natural build)",
    )
    build_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatrixCell:
    """One cell as it will be built: its `edgexai build` flags and its build folder."""

    stem: str
    argv: tuple[str, ...]
    folder: Path


class _BuildArgs(argparse.ArgumentParser):
    """The build command's options, parsed here so a bad flag fails before any cell runs."""

    def error(self, message: str):  # type: ignore[override]
        raise EdgexaiError(f"matrix build flags: {message}")


def parse_build_argv(argv: list[str]):
    """BuildOptions from `edgexai build` flags, validated as the build would."""
    from edgexai.train.build_options import add_build_arguments, options_from_args
    from edgexai.train.builder import validate

    parser = _BuildArgs(prog="edgexai build", add_help=False)
    add_build_arguments(parser)
    return validate(options_from_args(parser.parse_args(argv)))


def resolve_cells(cells: tuple[str, ...]) -> tuple[str, ...]:
    """`all` or known cells (in the order given)."""
    if tuple(cells) == (ALL,):
        return default_matrix()
    known = matrix_cells()
    unknown = [c for c in cells if c not in known]
    if unknown or not cells:
        raise EdgexaiError(
            f"unknown matrix cell(s) {', '.join(unknown) or '(none)'}; choose "
            f"{ALL} or from: {', '.join(known)}"
        )
    return tuple(dict.fromkeys(cells))


def _check_numbers(m: MatrixOptions) -> None:
    for flag, value in (
        ("--tune-epochs", m.tune_epochs),
        ("--pre-epochs", m.pre_epochs),
        ("--adv-epochs", m.adv_epochs),
        ("--adv-steps", m.adv_steps),
    ):
        if value is not None and value < 1:
            raise EdgexaiError(f"{flag} must be at least 1 (got {value})")


def plan(m: MatrixOptions) -> list[MatrixCell]:
    """Every cell's build flags and folder, all checked before the first build starts."""
    from edgexai.train.build_options import build_name
    from edgexai.train.presets import get_preset

    _check_numbers(m)
    table = matrix_cells()
    cells = []
    for stem in resolve_cells(m.cells):
        cls, timing = table[stem]
        argv = [
            "--out",
            m.out,
            "--no-progress",
            "--regime",
            cls.name,
            *(["--timing", timing] if timing else []),
            *cls.matrix_flags(timing, m),
            *m.build_args,
        ]
        opts = parse_build_argv(argv)
        if (opts.regime, opts.timing, opts.name) != (cls.name, timing, None):
            raise EdgexaiError(
                "the matrix sets --regime and --timing per cell and names the "
                "build folders; leave them out of the build flags"
            )
        name = build_name(opts, opts.arch or get_preset(opts.preset).arch)
        cells.append(MatrixCell(stem, tuple(argv), Path(opts.out).expanduser() / name))
    return cells


def _say(logs: Path, text: str) -> None:
    print(text, flush=True)
    with open(logs / "matrix.log", "a", encoding="utf-8") as f:
        f.write(text + "\n")


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _has_checkpoint(folder: Path) -> bool:
    """An interrupted build of `folder`: its checkpoint in the staging folder (or, from before
    staging, in the folder itself)."""
    from edgexai.train.build_staging import CHECKPOINT_NAME, staging_path

    return any((f / CHECKPOINT_NAME).is_file() for f in (staging_path(folder), folder))


def run_cell(cell: MatrixCell, logs: Path, nice: int = 0) -> bool:
    """Build one cell unless it is built (resuming its checkpoint); False when the build failed."""
    if (cell.folder / "manifest.json").is_file():
        _say(logs, f"== {cell.stem}: already built, skipped")
        return True
    argv = [*cell.argv, *(["--resume"] if _has_checkpoint(cell.folder) else [])]
    _say(
        logs,
        f"== {time.strftime('%H:%M:%S', time.gmtime())} {cell.stem}: edgexai build "
        f"{shlex.join(argv)}",
    )
    log = logs / f"{cell.stem}.log"
    renice = (lambda: os.nice(nice)) if nice > 0 and hasattr(os, "nice") else None
    with open(log, "a", encoding="utf-8") as out:
        rc = subprocess.run(
            [sys.executable, "-m", "edgexai", "build", *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=renice,
        ).returncode
    _say(logs, f"   FAILED (see {log})" if rc != 0 else _last_line(log))
    return rc == 0


def run_matrix(m: MatrixOptions) -> int:
    """Build the cells in order and print the table; 1 when a cell failed (the rest still run).
    With `table`, only print the table of what is built."""
    if m.table:
        return print_table(Path(m.out).expanduser())
    cells = plan(m)
    logs = Path(m.out).expanduser() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    failed = [c.stem for c in cells if not run_cell(c, logs, m.nice)]
    for line in matrix_table(Path(m.out).expanduser()):
        print(line)
    if failed:
        print(f"failed: {', '.join(failed)} (logs in {logs})", file=sys.stderr)
    return 1 if failed else 0


# -- the table -------------------------------------------------------------------------------


def _robust_of(folder: Path, m: dict[str, Any]) -> float | None:
    """The manifest's robust accuracy, else one a child cached beside an older natural build."""
    value = m["metrics"].get("robust_accuracy")
    if value is not None:
        return value
    for f in sorted(folder.glob("robustness-*.json")):
        return json.loads(f.read_text())["result"]["robust_accuracy"]
    return None


def _row(stem: str, folder: Path, m: dict[str, Any], nat: dict[str, Any]) -> str:
    acc = m["metrics"]["test_accuracy"]
    robust = _robust_of(folder, m)
    sparsity = m["metrics"].get("weight_sparsity", {}).get("weights")
    cfg = m.get("train_config") or {}
    return (
        f"| {stem} | {acc:.4f} | {100 * (acc - nat['metrics']['test_accuracy']):+.2f} | "
        f"{'—' if robust is None else f'{robust:.3f}'} | "
        f"{'—' if sparsity is None else f'{sparsity:.2%}'} | "
        f"{m['params']:,} ({m['params'] / nat['params']:.1%}) | "
        f"{m['macs']:,} ({m['macs'] / nat['macs']:.1%}) | {cfg.get('epochs', 0)} | "
        f"{m.get('timing_s', {}).get('train', 0):.0f} |"
    )


def matrix_table(out: Path) -> list[str]:
    """A Markdown table of the builds under `out`, one row per cell, registry order."""
    rows: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in sorted(out.glob("*/manifest.json")):
        m = json.loads(path.read_text())
        rows["-".join(filter(None, [m["regime"], m.get("timing")]))] = (path.parent, m)
    if "natural" not in rows:
        return [f"no natural build in {out}"]
    nat = rows["natural"][1]
    order = list(matrix_cells())
    lines = [
        "| cell | test acc | Δ vs natural (pts) | robust acc (PGD-20) | zero weights | params "
        "(% nat) | MACs (% nat) | epochs | train s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for stem in order + sorted(set(rows) - set(order)):
        if stem in rows:
            lines.append(_row(stem, *rows[stem], nat))
    return lines


def print_table(out: Path) -> int:
    """Print the table of the builds under `out`; 1 when there is none (no natural build)."""
    lines = matrix_table(out)
    print("\n".join(lines))
    return 0 if len(lines) > 1 else 1
