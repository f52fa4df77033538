"""Output paths checked before the first frame: a run that cannot write its log, summary or video
says so at once, in one line, instead of after the last frame (or in a traceback)."""

from __future__ import annotations

import os
from pathlib import Path

from edgexai.core.errors import EdgexaiError


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
