"""`edgexai matrix --table` (what tools/regime_table.py printed): the regime matrix's Markdown
table of a folder already built, with no build started."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgexai.cli import main

# folder: (regime, timing, test acc, robust acc, zero weights, params, MACs, epochs, train s)
CELLS = {
    "resnet20-natural-s0": ("natural", None, 0.9821, None, None, 272474, 40813184, 12, 700.4),
    "resnet20-l1-tuned-s0": ("l1", "tuned", 0.9794, 0.031, 0.5012, 272474, 40813184, 4, 231.0),
    "resnet20-layered-tuned-s0": (
        "layered",
        "tuned",
        0.9712,
        0.027,
        None,
        120113,
        17300000,
        4,
        180.6,
    ),
    "resnet20-adversarial-s0": (
        "adversarial",
        None,
        0.9433,
        0.412,
        None,
        272474,
        40813184,
        2,
        1500.0,
    ),
    "resnet20-global-post-s0": ("global", "post", 0.95, None, 0.3, 272474, 40813184, 0, 0),
}

# tools/regime_table.py's exact stdout for these builds (git e41eb06): registry order, the natural
# build's robust accuracy read from the robustness-*.json a child cached beside it
TOOL_TABLE = (
    "| cell | test acc | Δ vs natural (pts) | robust acc (PGD-20) | zero weights | params (% nat) | MACs (% nat) | epochs | train s |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    "| natural | 0.9821 | +0.00 | 0.012 | — | 272,474 (100.0%) | 40,813,184 (100.0%) | 12 | 700 |\n"
    "| adversarial | 0.9433 | -3.88 | 0.412 | — | 272,474 (100.0%) | 40,813,184 (100.0%) | 2 | 1500 |\n"
    "| l1-tuned | 0.9794 | -0.27 | 0.031 | 50.12% | 272,474 (100.0%) | 40,813,184 (100.0%) | 4 | 231 |\n"
    "| global-post | 0.9500 | -3.21 | — | 30.00% | 272,474 (100.0%) | 40,813,184 (100.0%) | 0 | 0 |\n"
    "| layered-tuned | 0.9712 | -1.09 | 0.027 | — | 120,113 (44.1%) | 17,300,000 (42.4%) | 4 | 181 |\n"
)


@pytest.fixture
def built(tmp_path) -> Path:
    """A matrix folder as `edgexai matrix` leaves it: one manifest per cell, and its logs."""
    for name, (regime, timing, acc, robust, zeros, params, macs, epochs, secs) in CELLS.items():
        metrics: dict = {"test_accuracy": acc}
        if robust is not None:
            metrics["robust_accuracy"] = robust
        if zeros is not None:
            metrics["weight_sparsity"] = {"weights": zeros}
        manifest = {
            "regime": regime,
            "timing": timing,
            "metrics": metrics,
            "params": params,
            "macs": macs,
            "train_config": {"epochs": epochs} if epochs else None,
            "timing_s": {"train": secs},
        }
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(json.dumps(manifest))
    cached = {"result": {"robust_accuracy": 0.0123}}
    robustness = tmp_path / "resnet20-natural-s0" / "robustness-eps0.0314-pgd20-n1000.json"
    robustness.write_text(json.dumps(cached))
    (tmp_path / "logs").mkdir()
    return tmp_path


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_table_prints_what_the_tool_printed_and_builds_nothing(built, capsys, monkeypatch):
    import edgexai.study.regime_matrix as regime_matrix

    def no_build(*args, **kwargs):
        raise AssertionError("--table must not build")

    monkeypatch.setattr(regime_matrix, "run_cell", no_build)
    before = sorted(p.relative_to(built) for p in built.rglob("*"))
    rc, out, err = cli(capsys, "matrix", "--table", "--out", str(built))
    assert rc == 0, err
    assert out == TOOL_TABLE
    assert sorted(p.relative_to(built) for p in built.rglob("*")) == before


def test_table_needs_a_natural_build(tmp_path, capsys):
    rc, out, _ = cli(capsys, "matrix", "--table", "--out", str(tmp_path / "empty"))
    assert rc == 1 and out == f"no natural build in {tmp_path / 'empty'}\n"
