"""The package's import graph, read from the source (every import statement, also those inside
functions): no cycles, imports run one way, the deployment side never reaches training code and
metrics never imports torch.

Layers (docs/ARCHITECTURE.md): shared ← data/models ← training side (regimes, explain, export,
detector training, build) and shared ← runtime ← pipeline; bench, doctor and the CLI on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

from support import REPO

PACKAGE = REPO / "edgexai"

# Modules (or packages, by prefix) that the deployment side may import: stdlib-and-numpy code.
SHARED = (
    "edgexai",
    "edgexai.errors",
    "edgexai.digest",
    "edgexai.typed_json",
    "edgexai.strict_json",
    "edgexai.manifest",
    "edgexai.options",
    "edgexai.arg_types",
    "edgexai.preprocess",
    "edgexai.data.classes",
    "edgexai.detect",
    "edgexai.metrics",
)
DEPLOYMENT = (
    "edgexai.runtime",
    "edgexai.pipeline",
    "edgexai.commands.run",
    "edgexai.api.classifier",
)
TOP = ("edgexai.bench", "edgexai.commands", "edgexai.cli", "edgexai.__main__", "edgexai.doctor")
HEAVY = ("torch", "torchvision", "captum", "torch_pruning")


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


def test_deployment_side_reaches_only_deployment_and_shared_modules():
    inner, outer = _graph()
    for module in inner:
        if not _in(module, DEPLOYMENT):
            continue
        bad = {m for m in _reach(inner, module) if not _in(m, DEPLOYMENT + SHARED)}
        assert not bad, f"{module} reaches training-side modules {sorted(bad)}"
        heavy = {h for m in _reach(inner, module) | {module} for h in outer[m] if h in HEAVY}
        assert not heavy, f"{module} imports {sorted(heavy)}"


def test_shared_modules_import_only_shared_ones_and_no_torch():
    inner, outer = _graph()
    for module in inner:
        if not _in(module, SHARED) or module == "edgexai":
            continue
        assert all(_in(m, SHARED) for m in inner[module]), (module, sorted(inner[module]))
        assert not outer[module] & set(HEAVY), (module, sorted(outer[module] & set(HEAVY)))


def test_metrics_imports_no_torch():
    inner, outer = _graph()
    metrics = [m for m in inner if _in(m, ("edgexai.metrics",))]
    assert metrics
    for module in metrics:
        assert not {h for m in _reach(inner, module) | {module} for h in outer[m]} & set(HEAVY)


def test_only_the_top_imports_bench_and_commands():
    inner, _ = _graph()
    for module, targets in inner.items():
        if _in(module, TOP):
            continue
        up = {t for t in targets if _in(t, TOP)}
        assert not up, f"{module} imports {sorted(up)} (bench, doctor and the CLI are on top)"
