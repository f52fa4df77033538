"""Docs name only what exists. Every reference in README.md, CHANGELOG.md and docs/**/*.md must
resolve in this checkout, read from the files with ast (no imports: fast, and no torch):

- a repository path: `edgexai/…`, `tools/…`, `tests/…` (a `::test_name` after it is checked too),
  `docs/…`, `benchmarks/…`, `examples/…`, `jetson/…`, `.ci/…`; a `*` glob must match something;
- a path relative to the package, in backticks, as the docs write them: `pipeline/loop.py`,
  `pipeline/loop.py:run_pipeline`, `runtime/factory.BACKEND_SESSIONS`, `detection/` — found in
  whichever folder of edgexai/ holds it, when its first word names a package folder (present or
  former: FORMER_PACKAGES);
- a dotted symbol: `edgexai.a.b[.Name[.attr]]`, or `support.module.name` (tests/support);
- a Markdown link to a file of the repository, and its #anchor when it points into a .md file.

What is gone may be named on purpose in two ways: as the left side of a rename arrow
(`old` → `new`: only `new` is checked), and, in the records of what ran (CHANGELOG.md,
docs/benchmarks.md, docs/experiments/), as a path in RETIRED: a file that a recorded command ran
and that has been removed since.
"""

from __future__ import annotations

import ast
import functools
import glob
import re
from pathlib import Path

from support import REPO

PACKAGE = REPO / "edgexai"
ROOT_FOLDERS = ("edgexai", "tools", "tests", "docs", "benchmarks", "examples", "jetson", ".ci")
# Package folders of the flat layout before e41eb06 that no longer exist anywhere: a doc naming
# `explain/run.py` or `detect/decode.decode` is stale, not outside the package.
FORMER_PACKAGES = ("detect", "explain")
DOTTED_ROOTS = {"edgexai": PACKAGE, "support": REPO / "tests" / "support"}
# Records of what ran: they may name a RETIRED file as the command that made a figure.
HISTORY = ("CHANGELOG.md", "docs/experiments/", "docs/benchmarks.md")
# Files that recorded commands ran and that were removed since, with what replaced them.
RETIRED = frozenset(
    {
        "tools/calibrate_detector.py",  # edgexai detector calibrate
        "tools/gtsdb.py",  # edgexai gtsdb
        "tools/natural_robustness.py",  # dead: no figure rests on it
        "tools/regime_table.py",  # edgexai matrix --table
        "tools/run_regime_matrix.sh",  # edgexai matrix
        "tools/score_gtsdb.py",  # edgexai score
        "tools/time_natural_build.sh",  # benchmarks/time_build.py
        "tools/train_rejector.py",  # edgexai rejector train
    }
)

REPO_PATH = re.compile(
    r"(?<![\w./~-])(?:" + "|".join(map(re.escape, ROOT_FOLDERS)) + r")/[\w.*/-]*(?:::\w+)*"
)
DOTTED = re.compile(r"(?<![\w./-])(?:" + "|".join(DOTTED_ROOTS) + r")(?:\.\w+)+")
BACKTICKED = re.compile(r"`([^`]{1,200})`")
RELATIVE = re.compile(
    r"(?P<path>[a-z_]\w*(?:/[a-z_]\w*)*)(?P<tail>/|\.py)?(?:[.:](?P<names>\w+(?:\.\w+)*))?"
    r"(?:\(.*\))?",
    re.S,
)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
RENAMED_FROM = re.compile(r"`?\s*→")


def _docs() -> list[Path]:
    found = [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").rglob("*.md"))]
    return [p for p in found if p.is_file()]


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _names(body: list[ast.stmt]) -> dict[str, ast.AST]:
    """Names a module or class body binds (defs, classes, assignments, imports, and the strings
    of `__all__`, which is how a lazy `__getattr__` module lists what it serves)."""
    names: dict[str, ast.AST] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        names[n.id] = node
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names[(alias.asname or alias.name).split(".")[0]] = node
        elif isinstance(node, ast.If | ast.Try):
            for block in (node.body, node.orelse, getattr(node, "finalbody", [])):
                names.update(_names(block))
    exported = names.get("__all__")
    if isinstance(exported, ast.Assign):
        for n in ast.walk(exported.value):
            if isinstance(n, ast.Constant) and isinstance(n.value, str):
                names.setdefault(n.value, exported)
            elif isinstance(n, ast.Starred) and isinstance(n.value, ast.Name):
                listed = names.get(n.value.id)
                for c in ast.walk(listed) if listed else ():
                    if isinstance(c, ast.Constant) and isinstance(c.value, str):
                        names.setdefault(c.value, exported)
    return names


def _defines(module: Path, names: list[str]) -> bool:
    """`module` binds names[0] (or, a package, has it as a submodule); a class's attribute after
    it is checked too, anything deeper is not."""
    if module.name == "__init__.py" and (
        (module.parent / f"{names[0]}.py").is_file() or (module.parent / names[0]).is_dir()
    ):
        return True
    bound = _names(_tree(module).body)
    node = bound.get(names[0])
    if node is None:
        return False
    if len(names) > 1 and isinstance(node, ast.ClassDef):
        return names[1] in _names(node.body)
    return True


def _resolve_dotted(ref: str) -> str | None:
    """Why `edgexai.a.b.Name` (or `support.x.y`) does not resolve, or None when it does."""
    parts = ref.split(".")
    path = DOTTED_ROOTS[parts[0]]
    i = 1
    while i < len(parts):
        if (path / parts[i] / "__init__.py").is_file():
            path = path / parts[i]
            i += 1
        elif (path / f"{parts[i]}.py").is_file():
            path = path / f"{parts[i]}.py"
            i += 1
            break
        else:
            break
    module = path / "__init__.py" if path.is_dir() else path
    if not module.is_file():
        return "no such module"
    if i < len(parts) and not _defines(module, parts[i:]):
        shown = module.relative_to(REPO)
        return f"{shown} does not define {'.'.join(parts[i:])}"
    return None


@functools.lru_cache(maxsize=1)
def _package_folders() -> tuple[Path, ...]:
    return (PACKAGE, *sorted(p for p in PACKAGE.rglob("*") if p.is_dir() and p.name[0] != "_"))


@functools.lru_cache(maxsize=1)
def _package_names() -> frozenset[str]:
    """First words that make a backticked `a/b…` a path inside the package."""
    return frozenset(p.name for p in _package_folders()) | frozenset(FORMER_PACKAGES)


def _resolve_relative(path: str, tail: str | None, names: str | None) -> str | None:
    """Why a package-relative `a/b.py[:name]`, `a/b[.name]` or `a/` resolves nowhere under
    edgexai/, or None when some folder holds it."""
    modules: list[Path] = []
    for folder in _package_folders():
        target = folder / path
        if tail == "/" and target.is_dir():
            return None
        if tail == ".py":
            candidates = [target.with_name(target.name + ".py")]
        elif tail is None:
            candidates = [target.with_name(target.name + ".py"), target / "__init__.py"]
            if names is None and target.is_dir():
                return None
        else:
            candidates = []
        modules += [c for c in candidates if c.is_file()]
    if not modules:
        return "no such file under edgexai/"
    if names and not any(_defines(m, names.split(".")) for m in modules):
        shown = ", ".join(str(m.relative_to(REPO)) for m in modules)
        return f"{shown} does not define {names}"
    return None


def _resolve_repo_path(ref: str) -> str | None:
    """Why a repository path (maybe with `::test` node names) does not resolve, or None."""
    path, *nodes = ref.split("::")
    if "*" in path:
        return None if glob.glob(str(REPO / path), recursive=True) else "the glob matches nothing"
    target = REPO / path
    if not target.exists():
        return "no such file or folder"
    if nodes and not (target.suffix == ".py" and _defines(target, nodes)):
        return f"{path} has no {'::'.join(nodes)}"
    return None


def _slugs(markdown: str) -> set[str]:
    """GitHub's heading anchors of a Markdown text."""
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#+\s+(.*?)\s*#*$", FENCE.sub("", markdown), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        if n:
            seen[f"{slug}-{n}"] = 1
    return set(seen)


def _resolve_link(doc: Path, text: str, target: str) -> str | None:
    """Why a Markdown link target of `doc` (whose text is `text`) does not resolve, or None (web
    links are not checked)."""
    if re.match(r"[a-z]+:", target):
        return None
    file, _, anchor = target.partition("#")
    path = (doc.parent / file).resolve()
    if file and not path.exists():
        return "no such file"
    if anchor and (not file or path.suffix == ".md"):
        if anchor not in _slugs(path.read_text(encoding="utf-8") if file else text):
            return f"{path.name if file else 'this file'} has no heading #{anchor}"
    return None


def _blank(match: re.Match) -> str:
    """A fenced block with every character but newlines blanked, so line numbers hold."""
    return re.sub(r"[^\n]", " ", match.group(0))


def check(text: str, doc: Path) -> list[str]:
    """Every unresolved reference of one Markdown text as `line: reference — why`."""
    name = doc.relative_to(REPO).as_posix() if doc.is_relative_to(REPO) else doc.name
    history = name.startswith(HISTORY)
    found: list[tuple[int, str, str | None]] = []

    def line(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    def renamed(end: int) -> bool:
        return RENAMED_FROM.match(text, end) is not None

    for m in REPO_PATH.finditer(text):
        ref = m.group(0).rstrip(".,;:'\")*")
        if renamed(m.start() + len(ref)) or (history and ref.split("::")[0] in RETIRED):
            continue
        found.append((line(m.start()), ref, _resolve_repo_path(ref)))
    for m in DOTTED.finditer(text):
        if not renamed(m.end()):
            found.append((line(m.start()), m.group(0), _resolve_dotted(m.group(0))))
    prose = FENCE.sub(_blank, text)
    for m in BACKTICKED.finditer(prose):
        span = m.group(1).strip()
        rel = RELATIVE.fullmatch(span)
        if not rel or span.startswith(ROOT_FOLDERS) or renamed(m.end()):
            continue
        first = rel["path"].split("/")[0]
        if ("/" in rel["path"] or rel["tail"] == "/") and first in _package_names():
            why = _resolve_relative(rel["path"], rel["tail"], rel["names"])
            found.append((line(m.start()), span, why))
    for m in LINK.finditer(prose):
        found.append((line(m.start()), m.group(1), _resolve_link(doc, text, m.group(1))))
    return [f"{name}:{n}: {ref} — {why}" for n, ref, why in found if why]


def test_docs_name_only_files_and_symbols_that_exist():
    problems = [p for doc in _docs() for p in check(doc.read_text(encoding="utf-8"), doc)]
    assert not problems, "stale references:\n" + "\n".join(problems)


def test_retired_paths_are_really_gone():
    assert not [p for p in RETIRED if (REPO / p).exists()]


MADE_UP = """\
See edgexai/deploy/pipeline/nothing.py, tools/no_such_tool.py, tests/unit/test_no_such.py,
docs/no_such.md, benchmarks/no_such.py and tests/unit/test_layers.py::test_no_such_test.
`pipeline/no_such.py`, `runtime/factory.NO_SUCH_NAME`, `pipeline/loop.py:no_such_function`,
`explain/cam.py` (a former folder), edgexai.core.no_such_module, edgexai.core.manifest.NoSuchName,
support.pipeline.no_such_helper, [a link](no_such_file.md), [an anchor](#no-such-heading).
"""
REAL = """\
# Real

edgexai/deploy/pipeline/loop.py, tests/unit/test_layers.py, docs/ARCHITECTURE.md, `detection/`,
`pipeline/loop.py:run_pipeline`, `runtime/factory.BACKEND_SESSIONS`, `core/manifest.py`,
edgexai.core.manifest.BUILDS_ROOT, edgexai.load, edgexai.api.explain, support.pipeline.write_onnx_build,
`edgexai.no_such` → `edgexai.core`, [here](#real), [arch](docs/ARCHITECTURE.md#layers).
"""


def test_the_checker_reports_made_up_references_and_passes_real_ones():
    reported = check(MADE_UP, REPO / "made_up.md")
    for ref in (
        "edgexai/deploy/pipeline/nothing.py",
        "tools/no_such_tool.py",
        "tests/unit/test_no_such.py",
        "docs/no_such.md",
        "benchmarks/no_such.py",
        "tests/unit/test_layers.py::test_no_such_test",
        "pipeline/no_such.py",
        "runtime/factory.NO_SUCH_NAME",
        "pipeline/loop.py:no_such_function",
        "explain/cam.py",
        "edgexai.core.no_such_module",
        "edgexai.core.manifest.NoSuchName",
        "support.pipeline.no_such_helper",
        "no_such_file.md",
        "#no-such-heading",
    ):
        assert any(f": {ref} — " in r for r in reported), f"{ref} not reported: {reported}"
    assert check(REAL, REPO / "real.md") == []
