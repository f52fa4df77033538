"""The one inference interface: open a build folder, `run(batch) -> {output name: array}`.

Deployment side: numpy and the stdlib only at module level (a Jetson image has no torch). A session
reads the manifest (validated by edgexai.core.manifest), verifies the digest of every file it is about
to deserialise (on the very bytes it then hands to the backend), and checks each batch against the
recorded input (shape, dtype) before any backend sees it, so mistakes surface as one-line
EdgexaiErrors rather than backend tracebacks. Classifiers add `infer(batch) -> (logits, cam)`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError
from edgexai.core.manifest import (
    BUILD_VARIANTS,
    MANIFEST_NAME,
    PRECISIONS,
    VARIANT_ROLES,
    ClassifierManifest,
    DetectorManifest,
    build_path,
    has_cam,
    no_cam_reason,
    parse,
    read_manifest,
)

DEFAULT_MAX_BATCH = {"classifier": 32, "detector": 1}  # TensorRT profile: crops / frames per call


@dataclass(frozen=True)
class TensorInfo:
    """An input or output as the manifest records it ('N' marks the dynamic batch axis)."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str


def variant_for(kind: str, precision: str, cam: bool = True, graph_cam: bool = True) -> str:
    """Which ONNX variant a (precision, cam) pair reads for a build of `kind`. `graph_cam`
    False (a CAM-less build, manifest.has_cam): every precision's graph is logits only, so
    cam=False reads the precision's own variant."""
    if precision not in PRECISIONS:
        raise EdgexaiError(
            f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}"
        )
    if not cam and kind == "classifier" and not graph_cam:
        return precision
    if not cam:
        if kind != "classifier":
            raise EdgexaiError("only classifiers have a no-CAM variant")
        if precision != "fp32":
            raise EdgexaiError("the no-CAM variant exists for comparison in fp32 only")
        return "nocam"
    return precision


def make_hint(build_dir: Path, variant: str) -> str:
    precision = "fp32" if variant == "nocam" else variant
    extra = " --no-cam" if variant == "nocam" else ""
    return (
        f"make it on the training machine with `edgexai engine --model {build_dir} "
        f"--precision {precision}{extra} --backend ort` (it needs onnx, and GTSRB for "
        "INT8 calibration), then copy the build folder again"
    )


class Session:
    """Base of every backend: manifest, input checks, digest-verified reads; `_run` is theirs."""

    backend = "base"

    def __init__(
        self, build_dir: str | Path, precision: str = "fp32", cam: bool | None = None
    ) -> None:
        """`cam` None: the build's own answer (edgexai.core.manifest.has_cam) — a CAM-less build
        opens logits only; True on a CAM-less build is refused, saying why."""
        self.build_dir = Path(build_dir)
        self.manifest = read_manifest(self.build_dir)
        self.info: ClassifierManifest | DetectorManifest = parse(self.manifest)
        self.kind = self.info.kind
        self.precision = precision
        graph_cam = self.kind != "classifier" or has_cam(self.manifest)
        if cam and not graph_cam:
            raise EdgexaiError(
                f"{self.build_dir} has no in-graph CAM ({no_cam_reason(self.manifest)}); "
                "open it with cam=False"
            )
        self.cam = graph_cam if cam is None else cam
        cam = self.cam
        self.variant = variant_for(self.kind, precision, cam, graph_cam)
        meta = self.info.onnx
        self.inputs = [TensorInfo(t.name, tuple(t.shape), t.dtype) for t in meta.inputs]
        outputs = [TensorInfo(t.name, tuple(t.shape), t.dtype) for t in meta.outputs]
        self.outputs = outputs if cam else [t for t in outputs if t.name == "logits"]
        if len(self.inputs) != 1:
            raise EdgexaiError(
                f"expected one input in {self.build_dir}'s ONNX, found {len(self.inputs)}"
            )
        self.input = self.inputs[0]
        self.max_batch: int | None = None
        if isinstance(self.info, ClassifierManifest):
            self.classes: list[str] = list(self.info.classes)
            self.mean, self.std = tuple(self.info.mean), tuple(self.info.std)
            # (the manifest's own logits shape agrees with `classes`: edgexai.core.manifest.parse)
            if cam and not any(t.name == "cam" for t in outputs):
                raise EdgexaiError(
                    f"{self.build_dir} has no in-graph CAM (its head is not "
                    "GAP→linear); open it with cam=False"
                )
        if self.variant not in BUILD_VARIANTS[self.kind]:
            raise EdgexaiError(f"a {self.kind} build has no {self.variant} variant")

    # -- files ------------------------------------------------------------------------------
    def role(self, variant: str | None = None) -> str:
        return VARIANT_ROLES[variant or self.variant]

    def file_entry(self, role: str) -> dict[str, str]:
        entry = self.manifest["files"].get(role)
        if entry is None:
            variant = next((v for v, r in VARIANT_ROLES.items() if r == role), None)
            hint = f"; {make_hint(self.build_dir, variant)}" if variant else ""
            raise EdgexaiError(f"the manifest in {self.build_dir} lists no '{role}' file{hint}")
        return entry

    def file_path(self, role: str) -> Path:
        """Where the `role` file is: inside the build folder, or ManifestError."""
        return build_path(
            self.build_dir,
            self.file_entry(role)["path"],
            f"{self.build_dir}/{MANIFEST_NAME}: files.{role}.path",
        )

    def read_verified(self, role: str) -> bytes:
        """The file's bytes, after checking their sha256 against the manifest (before any parse)."""
        entry = self.file_entry(role)
        path = self.file_path(role)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise EdgexaiError(
                f"{path} (the '{role}' file of this build) cannot be read ({exc.strerror or exc})"
            ) from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != entry["sha256"]:
            raise EdgexaiError(
                f"{path} does not match its manifest digest (sha256 {actual[:12]}… != "
                f"{entry['sha256'][:12]}…): the file was changed, truncated or corrupted; "
                "rebuild it or copy the build folder again"
            )
        return data

    def check_classes(self, n_out: int | None, model: str | Path) -> None:
        """A classifier's model (`model`: its file) has as many outputs as the manifest names
        classes; else every label would be shifted. n_out None: the model does not say."""
        if self.kind != "classifier" or n_out is None or n_out == len(self.classes):
            return
        raise EdgexaiError(
            f"{model} outputs {n_out} classes but {self.build_dir}/{MANIFEST_NAME} "
            f"names {len(self.classes)}: every label would be wrong; rebuild the "
            "folder or copy it again"
        )

    def check_graph_classes(self, data: bytes, path: str | Path) -> None:
        """check_classes against the `logits` width the ONNX graph (`data`) declares."""
        from edgexai.deploy.runtime.onnx_io import OnnxFormatError, output_width

        if self.kind != "classifier":
            return
        try:
            width = output_width(data, "logits")
        except OnnxFormatError:
            return  # not ONNX: the backend that parses it says so, in its words
        self.check_classes(width, path)

    # -- inference --------------------------------------------------------------------------
    def check_input(self, batch: Any) -> np.ndarray:
        """The batch as a C-contiguous array of the recorded shape and dtype, or a clear error."""
        if not isinstance(batch, np.ndarray):
            raise EdgexaiError(f"the session takes a numpy array, got {type(batch).__name__}")
        want = tuple(self.input.shape[1:])
        shape = "×".join(map(str, want))
        if batch.ndim == len(want) and tuple(batch.shape) == want:
            raise EdgexaiError(
                f"the session takes a batch N×{shape}; got one item "
                f"{tuple(batch.shape)} (use batch[None])"
            )
        if batch.ndim != len(want) + 1 or tuple(batch.shape[1:]) != want:
            layout = (
                "normalised, channels first"
                if self.kind == "classifier"
                else "BGR frames at the detector's input size, channels last"
            )
            raise EdgexaiError(
                f"input '{self.input.name}' must be N×{shape} ({layout}); got "
                f"shape {tuple(batch.shape)}"
            )
        if batch.dtype != np.dtype(self.input.dtype):
            hint = (
                (
                    " — uint8 pixels must be scaled and normalised first "
                    "(edgexai.core.preprocess.normalise)"
                )
                if batch.dtype == np.uint8
                else ""
            )
            raise EdgexaiError(
                f"input '{self.input.name}' must be {self.input.dtype}; got {batch.dtype}{hint}"
            )
        n = batch.shape[0]
        if n < 1:
            raise EdgexaiError("the session needs at least one item per call")
        if self.max_batch is not None and n > self.max_batch:
            raise EdgexaiError(
                f"batch of {n} exceeds this session's maximum batch {self.max_batch} "
                "(the engine's optimisation profile); split it or rebuild with a "
                "larger --max-batch"
            )
        return np.ascontiguousarray(batch)

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of the graph for one batch, by name."""
        return self._run(self.check_input(batch))

    def infer(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Classifiers: (logits N×C, cam N×H×W in [0, 1]) — cam is None for a no-CAM session."""
        if self.kind != "classifier":
            raise EdgexaiError(f"{self.build_dir} is a {self.kind}, not a classifier: use run()")
        out = self.run(batch)
        return out["logits"], (out.get("cam") if self.cam else None)

    def _run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What this session runs: backend, precision, file, I/O (for logs and `engine`)."""
        return {
            "backend": self.backend,
            "kind": self.kind,
            "precision": self.precision,
            "cam": self.cam,
            "variant": self.variant,
            "input": self.input.__dict__,
            "outputs": [o.__dict__ for o in self.outputs],
            "max_batch": self.max_batch,
        }

    def close(self) -> None:
        """Release backend resources (device memory); safe to call twice."""

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
