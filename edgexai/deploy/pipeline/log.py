"""The per-frame log: JSON Lines, one object per frame, each line one write(2), rotated by size.

Why one unbuffered write per line: after a crash or kill -9 the file holds every complete line
the process wrote (the kernel has it even if the process never flushed a userspace buffer), so a
reader loses at most the line being written. Rotation keeps a vehicle's disk from filling:
LOG → LOG.1 → … → LOG.N when LOG would exceed max_bytes. Every file a rotation starts begins with
the run's start record again (marked `"continued": true`), so each kept file names its run even
after the part holding the original has been dropped.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.pipeline.writable import log_parts


class LogWriteError(EdgexaiError):
    """The log could not be written (a full disk, a vanished mount): the run stops cleanly."""


def _default(o: Any):
    """numpy scalars/arrays in log records become plain JSON numbers/lists."""
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _line(record: dict[str, Any]) -> bytes:
    return (
        json.dumps(record, default=_default, separators=(",", ":"), allow_nan=False) + "\n"
    ).encode()


class JsonlLog:
    """Append-only JSON Lines writer with size-based rotation (max_bytes ≤ 0: never rotate).

    fresh: start an empty log: truncate LOG and delete its rotated parts LOG.1 … (an earlier
    run's, which `edgexai score` would otherwise read with this one); else append to LOG."""

    def __init__(
        self,
        path: str | Path,
        max_bytes: int = 50 * 2**20,
        backups: int = 5,
        fresh: bool = False,
    ) -> None:
        self.path = Path(path)
        self.max_bytes, self.backups = max_bytes, max(1, backups)
        self.failed: str | None = None  # why writing stopped, once it did
        self.header: bytes = b""  # the run's start record, repeated atop every rotated file
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if fresh:
                for part in log_parts(self.path):
                    part.unlink()
            self._fd = self._open(os.O_TRUNC if fresh else 0)
        except OSError as exc:
            raise EdgexaiError(
                f"--log {self.path}: cannot write it ({exc.strerror or exc})"
            ) from None
        self.size = os.fstat(self._fd).st_size
        self.lines = 0
        self._lock = threading.Lock()  # the capture thread logs fault events too

    def _open(self, extra: int = 0) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | extra, 0o644)

    def _rotate(self) -> None:
        os.close(self._fd)
        for i in range(self.backups - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._fd = self._open()
        self.size = 0
        if self.header:
            self._write(self.header)
            self.size = len(self.header)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:  # a regular file takes it in one write; loops only when pathological
            n = os.write(self._fd, view)
            view = view[n:]

    def start(self, record: dict[str, Any]) -> None:
        """Write the run's start record; every file a later rotation starts begins with it
        too, marked `"continued": true`."""
        self.header = _line({**record, "continued": True})
        self.write(record)

    def write(self, record: dict[str, Any]) -> None:
        data = _line(record)
        with self._lock:
            if self._fd < 0:
                return
            try:
                if self.max_bytes > 0 and self.size and self.size + len(data) > self.max_bytes:
                    self._rotate()
                self._write(data)
            except OSError as exc:
                self._fail(exc)
            self.size += len(data)
            self.lines += 1

    def _fail(self, exc: OSError) -> None:
        """Cut a half-written line off (so every line still parses), stop writing, say why."""
        for step in (lambda: os.ftruncate(self._fd, self.size), lambda: os.close(self._fd)):
            try:
                step()
            except OSError:
                pass
        self._fd = -1
        self.failed = f"{self.path}: {exc.strerror or exc}"
        raise LogWriteError(f"the log stopped: {self.failed}") from None

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> JsonlLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_jsonl(path: str | Path) -> tuple[list[dict], int]:
    """Every complete line of a log (and how many incomplete/unparsable lines were skipped)."""
    records, bad = [], 0
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                bad += 1
                continue
            try:
                records.append(json.loads(raw))
            except json.JSONDecodeError:
                bad += 1
    return records, bad
