"""Which backend runs a build, and opening it: the one place that knows every backend.

`auto` means what it means everywhere (run, engine, doctor, bench): TensorRT where its Python
package is importable, else ONNX Runtime. Backends are imported only when chosen, so importing
this module needs numpy only.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError
from edgexai.deploy.runtime.session import Session

# backend → the module and Session class that implement it, imported only when chosen. The torch
# reference lives on the training side (edgexai.study.torch_reference): a vehicle image has no torch,
# and the deployment side never imports training code; naming it here is the whole coupling.
BACKEND_SESSIONS = {
    "ort": ("edgexai.deploy.runtime.ort", "OrtSession"),
    "trt": ("edgexai.deploy.runtime.trt", "TrtSession"),
    "torch": ("edgexai.study.torch_reference", "TorchSession"),
}
BACKENDS = tuple(BACKEND_SESSIONS)
BACKEND_CHOICES = ("auto", *BACKENDS)


def resolve_backend(choice: str) -> str:
    """auto → trt where `tensorrt` is importable, else ort; anything else must be a backend."""
    if choice == "auto":
        return "trt" if importlib.util.find_spec("tensorrt") is not None else "ort"
    if choice not in BACKENDS:
        raise EdgexaiError(
            f"unknown backend {choice!r}; choose one of {', '.join(BACKEND_CHOICES)}"
        )
    return choice


def open_session(
    build_dir: str | Path,
    backend: str = "auto",
    precision: str = "fp32",
    cam: bool | None = None,
    **options: Any,
) -> Session:
    """Open a build folder (classifier or detector) with a backend. `cam` None: as the build
    has it (a CAM-less classifier opens logits only); True on a CAM-less build is refused."""
    module, cls = BACKEND_SESSIONS[resolve_backend(backend)]
    session: type[Session] = getattr(importlib.import_module(module), cls)
    return session(build_dir, precision, cam, **options)


def open_for_run(
    build_dir: str | Path, backend: str, precision: str, threads: int | None = None
) -> Session:
    """A session as the vehicle opens one (`run`, `edgexai.load`): TensorRT engines at the kind's
    default batch profile (what `edgexai engine` and `doctor` assume), never built here."""
    backend = resolve_backend(backend)
    options: dict[str, Any] = {}
    if backend == "ort":
        # The run process holds two sessions (detector, classifier) and a capture thread: idle
        # ONNX Runtime pools that spin-wait take the cores from the session running (measured:
        # docs/RESULTS.md, "Learned sign detector"), so their threads sleep when idle.
        options["spinning"] = False
        if threads:
            options["threads"] = threads
    if backend == "trt":
        options["rebuild"] = "never"
    return open_session(build_dir, backend=backend, precision=precision, **options)
