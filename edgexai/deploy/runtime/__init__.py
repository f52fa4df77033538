"""Deployment-side inference: one `Session` interface over ONNX Runtime, TensorRT and PyTorch.

Importing this package needs numpy only; each backend imports its engine when a session opens.
"""

from edgexai.core.manifest import PRECISIONS
from edgexai.deploy.runtime.factory import BACKEND_CHOICES, BACKENDS, open_session, resolve_backend
from edgexai.deploy.runtime.session import Session, TensorInfo

__all__ = [
    "BACKENDS",
    "BACKEND_CHOICES",
    "PRECISIONS",
    "Session",
    "TensorInfo",
    "open_session",
    "resolve_backend",
]
