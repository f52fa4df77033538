"""Where a classifier build writes: a staging folder, swapped in when complete, under a lock.

Every file of `<out>/<name>/` is first written to `<out>/<name>.partial/` (the training checkpoint
too, so `--resume` continues it there). When the manifest is written the staging folder replaces
`<out>/<name>/` by a rename; an older build there is removed only after that, so a crash or a
kill leaves whole builds, never a mixture (in the instant between the two renames of a --force
rebuild, the old build sits at `<out>/.<name>.old-PID/` and the new one at `<name>.partial/`;
stdlib Python has no atomic exchange of two folders). A finished build is not replaced without
`--force`.

`<out>/<name>` never leaves `--out`: the name is one plain folder name (build_folder; the command
lines refuse others when parsed), and --out is a folder or not there yet. A build that fails
removes its staging folder, unless it holds a checkpoint that `--resume` continues: then the
error says that it is kept and how to continue it (after_failure).

The lock is `<out>/.<name>.lock`, held with flock(2) from before the staging folder is touched
until after the swap: a second build of the same folder refuses at once, in one line. The kernel
drops a flock when the process holding it ends, however it ends (kill -9 included), so a lock file
left behind never blocks a later build; that is why it is a flock and not a pid file (the pid
written into it is only for people). The file itself is left in place: removing it would let two
builds lock two different files of the same name.

Stdlib only; under torchrun only rank 0 locks, stages and swaps (the other ranks write nothing).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from edgexai.core.arg_types import folder_name_problem
from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import MANIFEST_NAME

try:
    import fcntl
except ImportError:  # not POSIX: builds are not locked there
    fcntl = None  # type: ignore[assignment]

PARTIAL_SUFFIX = ".partial"
CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "train_log.jsonl"


def check_out_folder(out: Path, flag: str = "--out") -> None:
    """Refuse an --out that is a file, or lies under one, in one line (before anything is read)."""
    for folder in (out, *out.parents):
        try:
            if not folder.exists():
                continue
        except OSError as exc:
            raise EdgexaiError(
                f"{flag} {out}: cannot read {folder} ({exc.strerror or exc})"
            ) from None
        if not folder.is_dir():
            where = "is a file" if folder == out else f"lies under the file {folder}"
            raise EdgexaiError(
                f"{flag} {out} {where}: cannot write there; {flag} must be a folder "
                "(made when absent)"
            )
        return


def check_name(name: str, flag: str = "--name") -> None:
    """Refuse a build name that is not one plain folder name (`..`, `.`, a path, an absolute
    path...): a build never replaces anything outside --out."""
    problem = folder_name_problem(name)
    if problem:
        raise EdgexaiError(
            f"{flag} {name!r} {problem}; a build name is one folder name inside --out"
        )


def build_folder(out: str, name: str) -> Path:
    """`<out>/<name>`, once the name and --out are checked (check_name, check_out_folder)."""
    check_name(name)
    parent = Path(out).expanduser()
    check_out_folder(parent)
    return parent / name


def after_failure(partial: Path, exc: BaseException) -> None:
    """A failed build's staging folder: removed, unless it holds a checkpoint for --resume; then
    kept, and the error (or, for a crash or an interrupt, stderr) says so."""
    if not (partial / CHECKPOINT_NAME).is_file():
        shutil.rmtree(partial, ignore_errors=True)
        return
    note = (
        f"the unfinished build is kept in {partial}; continue it by adding --resume to the "
        "same command (without --resume a build starts over)"
    )
    if isinstance(exc, EdgexaiError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]}; {note}",)  # the one line the command prints
    else:
        print(f"edgexai: {note}", file=sys.stderr, flush=True)


def staging_path(final: Path) -> Path:
    """The staging folder of the build folder `final`."""
    return final.with_name(final.name + PARTIAL_SUFFIX)


def lock_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.lock")


def check_target(final: Path, force: bool, resume: str | None) -> None:
    """Refuse, before any work, a build folder that holds something --force was not given for:
    a finished build, or files that are not a build this one can continue."""
    if force or not final.exists():
        return
    if (final / MANIFEST_NAME).is_file():
        raise EdgexaiError(
            f"{final} already holds a finished build; pass --force to replace it "
            "(the old one stays until the new one is complete) or choose --name"
        )
    if final.is_dir() and not any(final.iterdir()):
        return
    if resume and (final / CHECKPOINT_NAME).is_file():
        return  # an unfinished build from before staging: --resume continues its checkpoint
    raise EdgexaiError(
        f"{final} exists but holds no finished build (no {MANIFEST_NAME}); pass "
        "--force to replace it or choose --name"
    )


def resume_from(resume: str | None, final: Path) -> Path | None:
    """The checkpoint --resume continues: a path as given, or (auto) the staging folder's,
    else one an unfinished build from before staging left in the build folder itself."""
    if resume is None:
        return None
    if resume != "auto":
        return Path(resume)
    legacy = final / CHECKPOINT_NAME
    staged = staging_path(final) / CHECKPOINT_NAME
    return legacy if legacy.is_file() and not staged.is_file() else staged


def stage(final: Path, resume: str | None) -> Path:
    """The staging folder, emptied unless resuming, made and proved writable (rank 0, locked)."""
    partial = staging_path(final)
    try:
        if partial.exists() and not resume:
            shutil.rmtree(partial)
        partial.mkdir(parents=True, exist_ok=True)
        probe = partial / ".write-test"
        probe.write_text("ok")
        probe.unlink()
        source = resume_from(resume, final)
        if (
            source == final / CHECKPOINT_NAME
            and (final / LOG_NAME).is_file()
            and not (partial / LOG_NAME).exists()
        ):
            shutil.copy2(final / LOG_NAME, partial / LOG_NAME)  # the resumed epochs' log
    except OSError as exc:
        raise EdgexaiError(
            f"--out {final.parent}: cannot write there ({exc.strerror or exc})"
        ) from None
    return partial


def swap_in(partial: Path, final: Path) -> None:
    """Move the finished staging folder into place; an older build there goes only after that."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(partial, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class BuildLock:
    """An exclusive, non-blocking flock on `<out>/.<name>.lock` for the `with` block."""

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path = lock_path(final)
        self._fd: int | None = None

    def __enter__(self) -> BuildLock:
        if fcntl is None:
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise EdgexaiError(
                f"--out {self.path.parent}: cannot write there ({exc.strerror or exc})"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            if isinstance(exc, BlockingIOError):
                raise EdgexaiError(
                    f"another build (pid {holder}) is writing {self.final}; wait "
                    f"for it or choose --name (lock: {self.path})"
                ) from None
            raise EdgexaiError(f"cannot lock {self.path} ({exc.strerror or exc})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
