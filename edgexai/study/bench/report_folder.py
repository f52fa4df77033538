"""Where `edgexai bench` writes its report: staged, then swapped in, never over a user's files.

The report is written into the sibling folder `DIR.partial/` and renamed to `DIR` only when it
is complete, so an interrupted or failed bench leaves an earlier report in `DIR` as it was (the
unfinished one stays in `DIR.partial/` only while it holds explanation results to resume from).
An existing `DIR` is replaced only with `--overwrite`, and only when everything in it is a file a
bench writes (`bench_file`): anything else is refused by name and never deleted. A `--report`
that is the file-system root, the home folder, the current folder or one above it, the builds
root (or above it), or a build folder (or inside or above a benched one) is refused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from edgexai.core.errors import EdgexaiError
from edgexai.study.bench.results_contract import FORMAT as RESULTS_FORMAT

REPORT_FILES = ("results.json", "results.csv", "report.md", "report.html")
# every PNG the report draws (report.py, pipeline_figures.py): a PNG of another name is the user's
FIGURE = re.compile(
    r"(grid_[A-Za-z0-9_-]+|road_curves|latency|tradeoff"
    r"|pipeline_(frame|stages|classes)_\d+)\.png"
)
CACHE_ENTRY = re.compile(r"[^/\\]+\.(json|npz)")  # explanation_cache: <model>-<key>.json / .npz
STAGING_SUFFIX = ".partial"
REPLACED_SUFFIX = ".replaced"
_SHOWN = 5  # foreign files named in a refusal


def bench_file(rel: str) -> bool:
    """Whether a path inside a report folder (relative, '/'-separated) is one a bench writes."""
    parts = rel.split("/")
    if len(parts) == 1:
        return parts[0] in REPORT_FILES
    if len(parts) == 2 and parts[0] == "figures":
        return FIGURE.fullmatch(parts[1]) is not None
    if len(parts) == 2 and parts[0] == "cache":
        return CACHE_ENTRY.fullmatch(parts[1]) is not None
    return False


def _entries(folder: Path) -> tuple[list[str], list[str]]:
    """(the bench's files, everything else) in a report folder, relative; links are never
    followed, and a folder other than figures/ and cache/ counts as one foreign entry."""
    ours: list[str] = []
    foreign: list[str] = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False) and entry.name in ("figures", "cache"):
            for sub in sorted(os.scandir(entry.path), key=lambda e: e.name):
                rel = f"{entry.name}/{sub.name}"
                file = sub.is_file(follow_symlinks=False)
                (ours if file and bench_file(rel) else foreign).append(rel)
        elif entry.is_file(follow_symlinks=False) and bench_file(entry.name):
            ours.append(entry.name)
        else:
            foreign.append(entry.name + ("/" if entry.is_dir(follow_symlinks=False) else ""))
    return ours, foreign


def foreign_files(folder: Path) -> list[str]:
    """What is in a report folder that no bench writes (relative paths)."""
    return _entries(folder)[1]


def is_report(folder: Path) -> bool:
    """An edgexai bench report: its results.json follows the results contract's format."""
    try:
        data = json.loads((folder / "results.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == RESULTS_FORMAT


def remove_bench_files(folder: Path, keep_cache: bool = False) -> list[str]:
    """Delete the files a bench writes in `folder` (not its cache/ with keep_cache), then the
    folders left empty; never anything else. Returns what is left, relative."""
    ours, _ = _entries(folder)
    for rel in ours:
        if not (keep_cache and rel.startswith("cache/")):
            (folder / rel).unlink(missing_ok=True)
    for sub in ("figures", "cache"):
        path = folder / sub
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()
    left = sorted(p.name for p in folder.iterdir())
    if not left:
        folder.rmdir()
    return left


def _named(paths: list[str]) -> str:
    shown = ", ".join(paths[:_SHOWN])
    return shown + (f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else "")


def _sibling(folder: Path, suffix: str) -> Path:
    return folder.with_name(folder.name + suffix)


def check_place(out: Path, root: str, model_dirs: list[Path]) -> None:
    """Refuse a --report that would replace a folder the bench does not own."""
    real = out.resolve()
    where = f"--report {out}"
    if real.parent == real:
        raise EdgexaiError(f"{where} is the file-system root; name a new folder for the report")
    cwd = Path.cwd().resolve()
    if real == cwd or real in cwd.parents:
        raise EdgexaiError(
            f"{where} is the current folder or one above it; the report replaces its folder "
            "as a whole, so name a folder of its own (e.g. --report bench-report)"
        )
    if real == Path.home().resolve():
        raise EdgexaiError(f"{where} is the home folder; name a folder of its own for the report")
    builds = Path(root).expanduser().resolve()
    if real == builds or real in builds.parents:
        raise EdgexaiError(f"{where} is the builds root {root} or a folder above it")
    if (real / "manifest.json").is_file():
        raise EdgexaiError(f"{where} is a build folder (it holds manifest.json)")
    for d in model_dirs:
        d = d.resolve()
        if real == d or real in d.parents or d in real.parents:
            raise EdgexaiError(f"{where} is inside, or above, the benched build folder {d}")


def _check_existing(out: Path, overwrite: bool) -> None:
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir():
        raise EdgexaiError(f"--report {out} is a file, not a folder; name a folder for the report")
    ours, foreign = _entries(out)
    if foreign:
        raise EdgexaiError(
            f"--report {out} holds files an edgexai bench did not write ({_named(foreign)}); "
            "they are never replaced or deleted: move them away or name another folder"
        )
    if ours and not overwrite:
        what = (
            "an earlier edgexai bench report"
            if is_report(out)
            else "files an edgexai bench writes but no results.json (an unfinished bench?)"
        )
        raise EdgexaiError(
            f"--report {out} holds {what}; --overwrite replaces it (only the files a bench "
            "writes), or name another folder"
        )


def _recover(out: Path) -> None:
    """Undo what a bench stopped between its two renames left: `DIR.replaced/` with no `DIR`
    is the earlier report (put back); beside a `DIR` it is one to delete."""
    old = _sibling(out, REPLACED_SUFFIX)
    if not old.is_dir() or old.is_symlink() or not is_report(old) or foreign_files(old):
        return  # not what a bench left: someone's own folder of that name is never touched
    if not out.exists() and not out.is_symlink():
        os.rename(old, out)
        print(f"edgexai: put the earlier report back from {old}", file=sys.stderr)
        return
    left = remove_bench_files(old)
    if left:
        raise EdgexaiError(f"{old} (an earlier report, replaced) holds other files: {_named(left)}")


def _seed_cache(source: Path, cache: Path) -> None:
    """The earlier report's explanation results into the staged cache (hard links where the
    file system allows: explanation_cache replaces files, never writes into them)."""
    if not source.is_dir() or source.is_symlink():
        return
    cache.mkdir(exist_ok=True)
    for f in source.iterdir():
        if not (f.is_file() and bench_file(f"cache/{f.name}")) or (cache / f.name).exists():
            continue
        try:
            os.link(f, cache / f.name)
        except OSError:
            shutil.copy2(f, cache / f.name)


@dataclass
class ReportStage:
    """A report being written: `staging` while it is, `final` once `commit` swapped it in."""

    final: Path
    staging: Path
    overwrite: bool

    def commit(self) -> None:
        """Swap the finished report in for `final` (only bench files there are deleted)."""
        old = _sibling(self.final, REPLACED_SUFFIX)
        try:
            _check_existing(self.final, self.overwrite)  # again: it may have changed meanwhile
        except EdgexaiError as exc:
            raise EdgexaiError(f"{exc} (the new report is in {self.staging})") from None
        try:
            if self.final.exists():
                os.rename(self.final, old)
            os.rename(self.staging, self.final)
        except OSError as exc:
            raise EdgexaiError(
                f"--report {self.final}: cannot swap the new report in from {self.staging} "
                f"({exc.strerror or exc})"
            ) from None
        if old.exists():
            left = remove_bench_files(old)
            if left:
                print(f"edgexai: kept {old}: it holds {_named(left)}", file=sys.stderr)

    def abandon(self) -> None:
        """After a failure or an interruption: the earlier report is untouched; the staging
        folder goes, unless it holds explanation results for the next bench to resume from."""
        try:
            left = remove_bench_files(self.staging, keep_cache=True)
        except OSError:
            left = ["?"]
        if left:
            print(
                f"edgexai: the bench did not finish; {self.final} is as it was, and "
                f"{self.staging} keeps the explanation results the next bench into "
                f"{self.final} resumes from",
                file=sys.stderr,
            )


def stage_report(
    report: str, overwrite: bool, fresh: bool, root: str, model_dirs: list[Path]
) -> ReportStage:
    """Check --report, then make (or resume) its staging folder `DIR.partial/`."""
    if not str(report).strip():
        raise EdgexaiError("--report needs a folder name")
    out = Path(report).expanduser()
    check_place(out, root, model_dirs)
    out = out.resolve()  # a link to a folder: the swap replaces the folder it names
    staging = _sibling(out, STAGING_SUFFIX)
    try:
        _recover(out)
        _check_existing(out, overwrite)
        if staging.exists() or staging.is_symlink():
            if not staging.is_dir() or staging.is_symlink():
                raise EdgexaiError(f"{staging} (the bench's staging folder) is not a folder")
            foreign = foreign_files(staging)
            if foreign:
                raise EdgexaiError(
                    f"{staging} (the bench's staging folder) holds files an edgexai bench did "
                    f"not write ({_named(foreign)}); move them away"
                )
            if remove_bench_files(staging, keep_cache=True):
                print(f"edgexai: resuming the unfinished bench in {staging}", file=sys.stderr)
        staging.mkdir(parents=True, exist_ok=True)
        if not fresh:
            _seed_cache(out / "cache", staging / "cache")
    except OSError as exc:
        raise EdgexaiError(f"--report {out}: cannot write there ({exc.strerror or exc})") from None
    return ReportStage(out, staging, overwrite)
