"""Deployment-side inference: one `Session` interface over ONNX Runtime, TensorRT and PyTorch.

Importing this package needs numpy only; each backend imports its engine when a session opens.
"""

from edgexai.runtime.base import BACKENDS, PRECISIONS, Session, TensorInfo, open_session

__all__ = ["BACKENDS", "PRECISIONS", "Session", "TensorInfo", "open_session"]
