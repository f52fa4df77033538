"""tools/ (maintainer tools), benchmarks/ (measurement scripts) and examples/ hold scripts around
the package, not package logic: no script edits sys.path or imports another script (each imports
edgexai, installed, and third-party libraries only), and every script answers --help."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

SCRIPT_FOLDERS = ("tools", "benchmarks", "examples")
TOOLS = sorted(p for folder in SCRIPT_FOLDERS for p in (REPO / folder).glob("*.py"))
SIBLINGS = {p.stem for p in TOOLS}
PATH_HOOKS = {"addsitedir", "spec_from_file_location", "run_path"}  # site, importlib, runpy


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.module == "sys" and any(a.name == "path" for a in node.names):
            return ["sys.path"]
        return ["." * node.level + (node.module or "")]
    return []


def offences(path: Path, siblings: set[str] = SIBLINGS) -> list[str]:
    """What in one tool edits the import path or reaches a sibling tool, by line."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        for name in _imported(node):
            top = name.split(".")[0]
            if name == "sys.path" or name.startswith(".") or top in siblings:
                out.append((node.lineno, f"imports {name}"))
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "path"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            out.append((node.lineno, "uses sys.path"))
        if isinstance(node, ast.Attribute) and node.attr in PATH_HOOKS:
            out.append((node.lineno, f"loads code by path ({node.attr})"))
    return [f"line {n}: {what}" for n, what in sorted(out)]


def test_the_checker_catches_what_it_looks_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sys\nsys.path.insert(0, 'x')\nfrom sys import path\nimport gtsdb\n"
        "from .x import y\nimport importlib.util as u\nu.spec_from_file_location\n"
    )
    found = offences(bad, siblings={"gtsdb"})
    assert [f.split(":")[0] for f in found] == ["line 2", "line 3", "line 4", "line 5", "line 7"], (
        found
    )
    ok = tmp_path / "ok.py"
    ok.write_text("import sys\nimport numpy\nfrom edgexai.cli import main\nsys.exit(main())\n")
    assert offences(ok) == []


@pytest.mark.parametrize("tool", TOOLS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_tool_edits_sys_path_or_imports_another_tool(tool):
    assert offences(tool) == [], f"{tool.name}: " + "; ".join(offences(tool))


@pytest.mark.parametrize("tool", TOOLS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_tool_answers_help(tool, tmp_path):
    # -P: the script's own folder is not put on sys.path either, so only the installed edgexai
    # (and third-party libraries) can be imported; run from elsewhere than the checkout
    flags = ["-P"] if sys.version_info >= (3, 11) else []
    proc = subprocess.run(
        [sys.executable, *flags, str(tool), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout and "Traceback" not in proc.stderr


@pytest.mark.parametrize("folder", SCRIPT_FOLDERS)
def test_each_folder_readme_names_every_script_it_holds(folder):
    readme = (REPO / folder / "README.md").read_text()
    scripts = sorted(p.name for p in (REPO / folder).iterdir() if p.suffix in (".py", ".sh"))
    assert scripts, folder
    assert [s for s in scripts if f"`{s}`" not in readme] == []


def test_shrink_gtsrb_writes_a_whole_copy_that_builds_read(fake_gtsrb, tmp_path):
    from edgexai.core.preprocess import read_rgb
    from edgexai.train.data.gtsrb import list_samples
    from edgexai.train.data.locate import locate_gtsrb

    tool = REPO / "tools" / "shrink_gtsrb.py"
    run = [sys.executable, str(tool), str(tmp_path), "--size", "16", "--data-root", str(fake_gtsrb)]
    proc = subprocess.run(run, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (tmp_path / "gtsrb.partial").exists()
    original, copy = (
        locate_gtsrb(fake_gtsrb, download=False),
        locate_gtsrb(tmp_path, download=False),
    )
    for split in ("train", "test"):
        before, after = list_samples(original, split), list_samples(copy, split)
        assert [s.label for s in after] == [s.label for s in before]
        assert read_rgb(after[0].path).shape == (16, 16, 3)
        assert all(0 <= v < 16 for s in after for v in s.roi)
    again = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr
