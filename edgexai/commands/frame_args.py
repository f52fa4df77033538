"""argparse types for choosing frames: START:STOP ranges and M:R residues, with one-line errors.

(`edgexai score`, `edgexai rejector train`; `edgexai detector train` has its own copies, which
read the same way.)"""

from __future__ import annotations

import argparse


def frame_range(text: str) -> tuple[int, int]:
    """'400:600' → (400, 600): frames START ≤ n < STOP."""
    try:
        lo, hi = (int(v) for v in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:STOP (frame numbers), got {text!r}"
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
