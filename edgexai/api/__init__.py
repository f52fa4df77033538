"""The Python API: `load` a classifier build and `predict`, `explain` images, score maps.

`load`/`Classifier`/`Prediction` are deployment side (numpy, OpenCV, a backend; no torch), so
they work on a vehicle image; `explain` is training side (torch, the build's model.pt) and is
imported only when first used. The metrics alone: `edgexai.core.metrics` (gini, road_scores, ROAD).
"""

from __future__ import annotations

from typing import Any

from edgexai.api.classifier import Classifier, Prediction, load

__all__ = ["Classifier", "Explanation", "Prediction", "explain", "load"]


def __getattr__(name: str) -> Any:
    """`explain` and `Explanation`, imported (with the training side) when first asked for."""
    if name in ("explain", "Explanation"):
        from edgexai.api import explanations

        return getattr(explanations, name)
    raise AttributeError(f"module 'edgexai.api' has no attribute {name!r}")
