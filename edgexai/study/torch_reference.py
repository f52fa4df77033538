"""PyTorch reference backend: model.pt through the same module the export traces (`CamModel` for a
classifier, `DecodedDetector` for a detector).

The one backend that imports torch. It lives on the training side (it loads models with the
training code); edgexai.deploy.runtime.factory names it in its backend table and imports it only when
`--backend torch` is chosen, so the deployment side never pulls in the training stack.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.runtime.session import Session


class TorchSession(Session):
    """The reference every other backend is compared with (fp32; CPU or CUDA)."""

    backend = "torch"

    def __init__(
        self,
        build_dir: str | Path,
        precision: str = "fp32",
        cam: bool | None = None,
        device: str = "cpu",
    ) -> None:
        super().__init__(build_dir, precision, cam)
        if precision != "fp32":
            raise EdgexaiError("the torch reference backend runs fp32 only")
        try:
            import torch
        except ModuleNotFoundError:
            raise EdgexaiError(
                "the torch backend needs PyTorch (pip install 'edgexai[train]')"
            ) from None
        from edgexai.core.manifest import verify_file

        path = verify_file(self.build_dir, self.manifest, "model")  # before torch.load
        self._torch = torch
        self.device = torch.device(device)
        if self.kind == "detector":
            from edgexai.train.detector.job import load_detector
            from edgexai.train.detector.model import DecodedDetector

            self._net = DecodedDetector(load_detector(path)).to(self.device).eval()
        else:
            from edgexai.train.models.checkpoint import load_model
            from edgexai.train.saliency.cam import CamModel

            model = load_model(path, classes=self.manifest["classes"]).to(self.device)
            self._net = (
                CamModel(model, int(self.manifest["input_size"])).eval() if self.cam else model
            )
        self._names = [o.name for o in self.outputs]

    def _run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        torch = self._torch
        with torch.no_grad():
            out = self._net(torch.from_numpy(x).to(self.device))
        out = out if isinstance(out, tuple) else (out,)
        return {
            name: t.cpu().numpy() if t.dtype == torch.int32 else t.float().cpu().numpy()
            for name, t in zip(self._names, out, strict=True)
        }
