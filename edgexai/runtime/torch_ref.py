"""PyTorch reference backend: model.pt through the same `CamModel` the export traces.

The one backend that imports torch, and only when a session is opened, so importing
`edgexai.runtime` never pulls in the training stack.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgexai.errors import EdgexaiError
from edgexai.runtime.base import Session


class TorchSession(Session):
    """The reference every other backend is compared with (fp32; CPU or CUDA)."""

    backend = "torch"

    def __init__(self, build_dir: str | Path, precision: str = "fp32", cam: bool = True,
                 device: str = "cpu") -> None:
        super().__init__(build_dir, precision, cam)
        if precision != "fp32":
            raise EdgexaiError("the torch reference backend runs fp32 only")
        try:
            import torch
        except ModuleNotFoundError:
            raise EdgexaiError("the torch backend needs PyTorch (pip install 'edgexai[train]')") from None
        from edgexai.explain.cam import CamModel
        from edgexai.manifest import verify_file
        from edgexai.models.checkpoint import load_model

        path = verify_file(self.build_dir, self.manifest, "model")  # before torch.load
        self._torch = torch
        self.device = torch.device(device)
        model = load_model(path).to(self.device)
        self._net = CamModel(model, int(self.manifest["input_size"])).eval() if cam else model

    def _infer(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        torch = self._torch
        with torch.no_grad():
            out = self._net(torch.from_numpy(x).to(self.device))
        if isinstance(out, tuple):
            return out[0].float().cpu().numpy(), out[1].float().cpu().numpy()
        return out.float().cpu().numpy(), None
