"""ONNX Runtime backend: the embedded default wherever TensorRT is absent (CPU), or ORT's CUDA /
TensorRT execution providers where that onnxruntime build has them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.runtime.session import Session

PROVIDERS = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def import_ort():
    try:
        import onnxruntime
    except ModuleNotFoundError:
        raise EdgexaiError(
            "the ort backend needs onnxruntime (pip install 'edgexai[ort]', or onnxruntime-gpu)"
        ) from None
    return onnxruntime


def choose_providers(provider: str, available: list[str]) -> list[str]:
    """Provider list for 'cpu' | 'cuda' | 'tensorrt' | 'auto' (best available)."""
    if provider == "auto":
        for name in ("tensorrt", "cuda", "cpu"):
            if PROVIDERS[name][0] in available:
                return [p for p in PROVIDERS[name] if p in available]
    if provider not in PROVIDERS:
        raise EdgexaiError(f"unknown ORT provider {provider!r}; choose cpu, cuda, tensorrt or auto")
    if PROVIDERS[provider][0] not in available:
        raise EdgexaiError(
            f"this onnxruntime has no {PROVIDERS[provider][0]} (available: "
            f"{', '.join(available)}); use provider='cpu' or install onnxruntime-gpu"
        )
    return [p for p in PROVIDERS[provider] if p in available]


class OrtSession(Session):
    """ONNX Runtime over the build's ONNX variant for (precision, cam)."""

    backend = "ort"

    def __init__(
        self,
        build_dir: str | Path,
        precision: str = "fp32",
        cam: bool | None = None,
        provider: str = "cpu",
        threads: int | None = None,
        spinning: bool | None = None,
    ) -> None:
        """`threads`: intra-op threads (None: ORT's default, all cores). `spinning`: whether idle
        pool threads spin-wait (ORT's default, fastest for one session alone); switch it off when
        several sessions share a process, or their spinning threads take each other's cores."""
        super().__init__(build_dir, precision, cam)
        ort = import_ort()
        role = self.role()
        data = self.read_verified(role)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        if spinning is not None:
            options.add_session_config_entry(
                "session.intra_op.allow_spinning", "1" if spinning else "0"
            )
        self.providers = choose_providers(provider, ort.get_available_providers())
        path = self.file_path(role)
        self.check_graph_classes(data, path)
        try:
            self._session = ort.InferenceSession(
                data, sess_options=options, providers=self.providers
            )
        except Exception as exc:  # ORT raises its own exception types for bad graphs
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise EdgexaiError(
                f"{path} is not a loadable ONNX graph ({type(exc).__name__}: "
                f"{first}); re-export the build"
            ) from None
        names = [i.name for i in self._session.get_inputs()]
        outs = [o.name for o in self._session.get_outputs()]
        want = [o.name for o in self.outputs]
        if names != [self.input.name] or any(n not in outs for n in want):
            raise EdgexaiError(
                f"{path} has inputs {names} and outputs {outs}, but the manifest "
                f"says {[self.input.name]} → {want}"
            )
        self._out_names = want

    def _run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        result = self._session.run(self._out_names, {self.input.name: x})
        return dict(zip(self._out_names, result, strict=True))

    def describe(self) -> dict:
        return {**super().describe(), "providers": self.providers}

    def close(self) -> None:
        self._session = None  # type: ignore[assignment]
