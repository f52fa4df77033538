"""Deployment-side inference: one `Session` interface over ONNX Runtime, TensorRT and PyTorch.

Importing this package needs numpy only; each backend imports its engine when a session opens.
"""

from edgexai.manifest import PRECISIONS
from edgexai.runtime.base import Session, TensorInfo
from edgexai.runtime.factory import BACKEND_CHOICES, BACKENDS, open_session, resolve_backend

__all__ = [
    "BACKENDS",
    "BACKEND_CHOICES",
    "PRECISIONS",
    "Session",
    "TensorInfo",
    "open_session",
    "resolve_backend",
]
