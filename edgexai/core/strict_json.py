"""JSON that strict readers accept: the one conversion every report writer applies before dumping.

numpy only (shared layer): explain, bench and anything else that writes numbers to JSON use it, so
none of them borrows it from another.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def json_safe(obj: Any) -> Any:
    """NaN/inf (no images to score) become null: strict JSON readers reject NaN. numpy scalars
    become Python numbers, keys strings."""
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj
