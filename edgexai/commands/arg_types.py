"""argparse types shared by the commands: comma-separated lists, with one-line errors."""

from __future__ import annotations

import argparse


def csv_words(text: str) -> tuple[str, ...]:
    """'a, B,c' → ('a', 'b', 'c')."""
    return tuple(v.strip().lower() for v in text.split(",") if v.strip())


def csv_floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def csv_ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
