"""argparse types shared by the commands: comma-separated lists, output files, with one-line
errors."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path


def csv_words(text: str) -> tuple[str, ...]:
    """'a, B,c' → ('a', 'b', 'c')."""
    return tuple(v.strip().lower() for v in text.split(",") if v.strip())


def csv_floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def csv_ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


# What pipeline/overlay.Display writes: Motion-JPEG in .avi, MPEG-4 (mp4v) in anything else —
# so any other name would get an MPEG-4 stream under a misleading extension (x.jpg).
VIDEO_SUFFIXES = (".mp4", ".avi")


def video_output(text: str) -> str:
    """`run --output FILE`: a file name whose container the overlay writer really writes."""
    if Path(text).suffix.lower() not in VIDEO_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the overlay is written as video; name the file "
            f"{' or '.join('*' + s for s in VIDEO_SUFFIXES)}"
        )
    return text


def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def unit_interval(text: str) -> float:
    """A threshold in [0, 1] (scores, confidences)."""
    v = _number(text, float)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a value in [0, 1], got {text!r}")
    return v


def percent(text: str) -> float:
    """A share in (0, 100]."""
    v = _number(text, float)
    if not 0.0 < v <= 100.0:
        raise argparse.ArgumentTypeError(f"expected a percentage in (0, 100], got {text!r}")
    return v


def positive_int(text: str) -> int:
    v = _number(text, int)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(v)


def non_negative_int(text: str) -> int:
    v = _number(text, int)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer ≥ 0, got {text!r}")
    return int(v)


def positive_float(text: str) -> float:
    v = _number(text, float)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def device_name(text: str) -> str:
    """`--device`: auto, cpu, cuda or cuda:N (checked before any data is read)."""
    value = text.strip().lower()
    if value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit()):
        return value
    raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")


# Choosing GTSDB frames (`score`, `rejector train`, `detector train`, tools).
def frame_range(text: str) -> tuple[int, int]:
    """'400:600' → (400, 600): frames START ≤ n < STOP."""
    try:
        lo, hi = (int(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected START:STOP (frame numbers), got {text!r}"
        ) from None
    if not 0 <= lo < hi:
        raise argparse.ArgumentTypeError(f"expected 0 ≤ START < STOP, got {text!r}")
    return lo, hi


def frame_mod(text: str) -> tuple[int, int] | None:
    """'4:3' → (4, 3): only frames ≡ 3 mod 4; 'none' → None (every frame)."""
    if text.strip().lower() == "none":
        return None
    try:
        m, r = (int(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected M:R or none, got {text!r}") from None
    if not 0 <= r < m:
        raise argparse.ArgumentTypeError(f"expected 0 ≤ R < M, got {text!r}")
    return m, r


# A build adds `<name>.partial`, `.<name>.lock` and `.<name>.old-PID` beside `<out>/<name>`: a name
# keeps room for them within the 255 bytes a file system allows one name.
FOLDER_NAME_BYTES = 240


def folder_name_problem(text: str) -> str | None:
    """Why `text` is not one plain folder name inside its parent folder (None when it is).

    `--name` must never reach outside `--out`: no path separator (so no absolute path and no
    `../x`), not `.` or `..`, no hidden name (edgexai keeps its locks and replaced builds under
    names starting with `.`), no `*.partial` (another build's staging folder), no NUL or other
    control character, not empty or blank."""
    if not text.strip():
        return "is empty"
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return "contains a control character"
    if any(sep and sep in text for sep in ("/", "\\", os.sep, os.altsep)):
        return "is a path, not a folder name (--out chooses where the folder goes)"
    if text in (".", ".."):
        return "names --out itself or its parent, not a folder inside --out"
    if text.startswith("."):
        return "starts with '.' (hidden names are edgexai's own: locks, replaced builds)"
    if text.endswith(".partial"):
        return "ends with .partial (the staging folder of another build)"
    if len(os.fsencode(text)) > FOLDER_NAME_BYTES:
        return f"is longer than {FOLDER_NAME_BYTES} bytes"
    return None


def folder_name(text: str) -> str:
    """`--name`: one plain folder name inside --out (see folder_name_problem)."""
    problem = folder_name_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(
            f"{text!r} {problem}; a build name is one folder name inside --out"
        )
    return text
