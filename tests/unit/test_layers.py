"""The package's import graph, read from the source (every import statement, also those inside
functions): no cycles, and imports run one way between the layer folders of docs/ARCHITECTURE.md:

    edgexai/core   (stdlib, numpy, OpenCV)  ← edgexai/train  (torch)
    edgexai/core                            ← edgexai/deploy (no torch: runtime, pipeline, doctor)
    core, train, deploy ← edgexai/study ← edgexai/api, edgexai/commands, edgexai/cli (on top)

A module's layer is its folder; the rules below are prefixes, not name lists.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from support import REPO

PACKAGE = REPO / "edgexai"

CORE = ("edgexai.core",)
TRAIN = ("edgexai.train",)
DEPLOY = ("edgexai.deploy",)
STUDY = ("edgexai.study",)
# What each layer may import from edgexai (the package root, edgexai itself, is shared).
MAY_IMPORT = {
    CORE: CORE,
    TRAIN: CORE + TRAIN,
    DEPLOY: CORE + DEPLOY,
    STUDY: CORE + TRAIN + DEPLOY + STUDY,
}
# The torch-free side: deploy, plus the parts of the top that run on the vehicle.
TORCH_FREE = DEPLOY + (
    "edgexai.api.classifier",
    "edgexai.commands.run",
    "edgexai.commands.doctor",
)
TOP = ("edgexai.api", "edgexai.commands", "edgexai.cli", "edgexai.__main__")
HEAVY = ("torch", "torchvision", "captum", "torch_pruning")
# Modules allowed over MAX_LINES, each with its reason.
LONG_MODULES: dict[str, str] = {
    "edgexai.core.manifest": "the build-folder contract has one owner: manifest.json's fields, "
    "validation, digests and the builds/ root are read in one place (docs/ARCHITECTURE.md)",
}
MAX_LINES = 400


def _in(module: str, prefixes: tuple[str, ...]) -> bool:
    """`module` is one of `prefixes` or inside one (the package itself, "edgexai", only as such)."""
    return any(module == p or (p != "edgexai" and module.startswith(p + ".")) for p in prefixes)


def _modules() -> dict[str, Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> tuple[set[str], set[str]]:
    """(edgexai modules imported, third-party top-level names imported) by one module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    inner, outer = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names
            ]
        for t in targets:
            if t.split(".")[0] == "edgexai":
                while t not in mods and "." in t:
                    t = t.rpartition(".")[0]
                if t != name:
                    inner.add(t)
            else:
                outer.add(t.split(".")[0])
    return inner, outer


def _graph():
    mods = _modules()
    inner, outer = {}, {}
    for name, path in mods.items():
        inner[name], outer[name] = _imports(name, path, mods)
    return inner, outer


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for w in graph.get(todo.pop(), ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def test_no_import_cycles():
    inner, _ = _graph()
    assert _cycles(inner) == []


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_module_is_in_a_layer_folder():
    inner, _ = _graph()
    layered = CORE + TRAIN + DEPLOY + STUDY + TOP
    loose = sorted(m for m in inner if m != "edgexai" and not _in(m, layered))
    assert not loose, f"modules outside the layer folders: {loose}"


def test_each_layer_imports_only_the_layers_below_it():
    inner, _ = _graph()
    for layer, allowed in MAY_IMPORT.items():
        for module in (m for m in inner if _in(m, layer)):
            bad = {t for t in inner[module] if t != "edgexai" and not _in(t, allowed)}
            assert not bad, f"{module} ({layer[0]}) imports {sorted(bad)}"


def test_the_layer_rule_catches_a_wrong_direction(tmp_path):
    """The rule is not vacuous: a core module importing training code is found."""
    inner = {"edgexai.core.x": {"edgexai.train.y"}, "edgexai.train.y": set()}
    bad = [
        (m, t)
        for layer, allowed in MAY_IMPORT.items()
        for m in inner
        if _in(m, layer)
        for t in inner[m]
        if not _in(t, allowed)
    ]
    assert bad == [("edgexai.core.x", "edgexai.train.y")]


def test_core_and_the_vehicle_side_never_reach_torch():
    inner, outer = _graph()
    checked = set()
    for module in inner:
        if not _in(module, CORE + TORCH_FREE):
            continue
        checked.add(module)
        reach = _reach(inner, module) | {module}
        if _in(module, TORCH_FREE):
            bad = {m for m in reach if m != "edgexai" and not _in(m, CORE + TORCH_FREE)}
            assert not bad, f"{module} reaches training-side modules {sorted(bad)}"
        heavy = {h for m in reach for h in outer[m] if h in HEAVY}
        assert not heavy, f"{module} imports {sorted(heavy)}"
    # the vehicle's own parts are all covered, doctor included (it runs on the Jetson)
    for part in ("doctor", "pipeline", "runtime", "tracking", "live"):
        assert any(_in(m, (f"edgexai.deploy.{part}",)) for m in checked), part
    assert {"edgexai.deploy.sign_classifier", "edgexai.deploy.sign_detector"} <= checked


def test_only_the_top_imports_the_top():
    inner, _ = _graph()
    for module, targets in inner.items():
        if _in(module, TOP):
            continue
        up = {t for t in targets if _in(t, TOP)}
        assert not up, f"{module} imports {sorted(up)} (the API and the CLI are on top)"


def test_no_two_modules_share_a_name():
    names = Counter(p.stem for p in PACKAGE.rglob("*.py") if p.stem not in ("__init__", "__main__"))
    assert not [n for n, c in names.items() if c > 1]


def test_no_module_is_longer_than_its_reason_allows():
    long = {
        ".".join(p.relative_to(REPO).with_suffix("").parts): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    unexplained = {m: n for m, n in long.items() if m not in LONG_MODULES}
    assert not unexplained, f"modules over {MAX_LINES} lines without a reason: {unexplained}"
