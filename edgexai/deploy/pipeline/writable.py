"""Output paths checked before the first frame: a run that cannot write its log, summary or video
says so at once, in one line, instead of after the last frame (or in a traceback); and a run never
writes over what it reads, nor over a file a user has, unless told to (--overwrite, --append)."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.pipeline.config import RunConfig
from edgexai.deploy.pipeline.source_uri import IMAGE_EXTS, SourceSpec


def check_writable_file(path: str | Path, flag: str) -> Path:
    """`path` can be created or appended to: its folder exists (or can be made), is a folder and
    is writable, and `path` itself is not a folder."""
    path = Path(path)
    if path.is_dir():
        raise EdgexaiError(f"{flag} {path}: is a folder; name a file")
    folder = path.parent
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise EdgexaiError(f"{flag} {path}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise EdgexaiError(f"{flag} {path}: not writable (read-only or no permission)")
    return path


def log_parts(log: str | Path) -> list[Path]:
    """The rotated parts LOG.1, LOG.2 … beside a log that exist (`edgexai score` reads them with
    LOG), oldest last."""
    log = Path(log)
    if not log.parent.is_dir():
        return []
    parts = [
        p
        for p in log.parent.glob(glob.escape(log.name) + ".*")
        if p.name[len(log.name) + 1 :].isdigit()
    ]
    return sorted(parts, key=lambda p: int(p.name[len(log.name) + 1 :]))


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def check_not_source(spec: SourceSpec, written: list[tuple[str, Path]]) -> None:
    """Refuse writing where the frames are read: the source file itself (through symlinks and
    hard links), or, for a folder source, a file the folder reader would read as a frame (an
    image name inside it, or an existing file one of its frames links to)."""
    if spec.kind not in ("video", "image", "folder"):
        return  # a camera, stream or pipeline: nothing on disk
    source = Path(str(spec.target))
    if spec.kind == "folder":
        _check_not_in_folder(source, written)
        return
    same = _inode(source)
    for flag, path in written:
        if path.resolve() == source.resolve() or (same and _inode(path) == same):
            raise EdgexaiError(
                f"{flag} {path}: is the source {spec.uri} itself; it would be overwritten "
                "while it is read; write it elsewhere"
            )


def _check_not_in_folder(source: Path, written: list[tuple[str, Path]]) -> None:
    folder = _inode(source)
    if folder is None:
        return  # gone since it was parsed: the reader says so
    existing: dict[tuple[int, int], tuple[str, Path]] = {}
    for flag, path in written:
        if path.suffix.lower() in IMAGE_EXTS and _inode(path.resolve().parent) == folder:
            _in_source(flag, path, source)
        if _inode(path) is not None:
            existing.setdefault(_inode(path), (flag, path))
    if existing:
        try:
            frames = [f for f in source.iterdir() if f.suffix.lower() in IMAGE_EXTS]
        except OSError:
            return  # unreadable: the reader says so
        for f in frames:
            if _inode(f) in existing:
                _in_source(*existing[_inode(f)], source)


def _in_source(flag: str, path: Path, source: Path) -> None:
    raise EdgexaiError(
        f"{flag} {path}: is inside the source folder {source}, where it would be read as a "
        "frame; write it elsewhere"
    )


def check_run_paths(
    spec: SourceSpec,
    outputs: dict[str, str | Path | None],
    backups: int,
    overwrite: bool = False,
    append: bool = False,
) -> None:
    """Before anything is opened: refuse, in one line, a run that would write over its own source
    (a video, an image, a frame of a folder), two outputs that are the same file, an existing
    --output unless `overwrite`, and an existing log (or its rotated parts) or summary unless
    `append` or `overwrite`. `outputs`: {"--output": …, "--log": …, "--summary": …, "--events": …}."""
    paths = {flag: Path(p) for flag, p in outputs.items() if p}
    log = paths.get("--log")
    written = list(paths.items())
    if log is not None:  # rotation renames the log to LOG.1 … LOG.N
        written += [("--log", log.with_name(f"{log.name}.{i}")) for i in range(1, backups + 1)]
    check_not_source(spec, written)
    seen: dict[Path, str] = {}
    for flag, path in paths.items():
        key = path.resolve()
        if key in seen:
            raise EdgexaiError(f"{flag} {path}: is the same file as {seen[key]}; name another file")
        seen[key] = flag
    out = paths.get("--output")
    if out is not None and out.is_file() and not overwrite:
        raise EdgexaiError(
            f"--output {out}: exists; pass --overwrite to replace it, or name another file"
        )
    if append or overwrite:
        return
    if log is not None:
        parts = [p for p in log_parts(log) if p.is_file()]
        if log.is_file() or parts:
            what = "exists" if log.is_file() else "is gone but its rotated parts are there"
            if log.is_file() and parts:
                what += f" with {len(parts)} rotated part{'s' * (len(parts) > 1)}"
            raise EdgexaiError(
                f"--log {log}: {what}, an earlier run's log; pass --append to add this run to "
                "it, --overwrite to replace it, or name another --log"
            )
    events = paths.get("--events")
    if events is not None and events.is_file():
        raise EdgexaiError(
            f"--events {events}: exists, an earlier run's events; pass --append to add this "
            "run's to it, --overwrite to replace it, or name another --events"
        )
    summary = paths.get("--summary")
    if summary is not None and summary.is_file():
        raise EdgexaiError(
            f"--summary {summary}: exists, an earlier run's summary; pass --overwrite to "
            "replace it, or name another --summary"
        )


def check_outputs(cfg: RunConfig, spec: SourceSpec) -> None:
    """Every output path, before anything opens: one line for each way it can go wrong."""
    check_run_paths(
        spec,
        {
            "--output": cfg.output,
            "--log": cfg.log,
            "--summary": cfg.summary_path(),
            "--events": cfg.events,
        },
        cfg.log_backups,
        overwrite=cfg.overwrite,
        append=cfg.append,
    )
    check_writable_file(cfg.log, "--log")
    check_writable_file(cfg.summary_path(), "--summary")
    if cfg.output:
        check_writable_file(cfg.output, "--output")
    if cfg.events:
        check_writable_file(cfg.events, "--events")
        if cfg.tracking is None and not cfg.quiet:
            print(
                "edgexai: note: --events needs a tracker; --tracker none writes none",
                file=sys.stderr,
            )
