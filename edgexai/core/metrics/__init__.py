"""Explanation metrics in numpy (+ scipy for imputation), shared by the training and vehicle sides.

Sparsity (Gini), faithfulness (ROAD MoRF/LeRF with noisy linear imputation; deletion/insertion
with cheap fills). No torch at import: the deployment side logs Gini and a deletion probe.

Usable on their own with any `predict(N×C×H×W float32) → logits` callable:
`from edgexai.core.metrics import gini, road_scores, ROAD`. `gini` is imported here (numpy only);
the ROAD names load `edgexai.core.metrics.road` (scipy) on first use, so `run` never pays for it.
"""

from __future__ import annotations

from typing import Any

from edgexai.core.metrics.sparsity import gini, to_map

_ROAD_NAMES = ("ROAD", "ROADResult", "road_scores", "DEFAULT_PERCENTAGES")

__all__ = ["gini", "to_map", *_ROAD_NAMES]


def __getattr__(name: str) -> Any:
    """The ROAD names, imported from edgexai.core.metrics.road when first asked for."""
    if name in _ROAD_NAMES:
        from edgexai.core.metrics import road

        return getattr(road, name)
    raise AttributeError(f"module 'edgexai.core.metrics' has no attribute {name!r}")
