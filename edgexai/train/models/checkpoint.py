"""Model files that `torch.load(weights_only=True)` can read: arch name + widths + state dict.

Storing widths (not a pickled module) is what lets a channel-pruned network be restored safely.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from edgexai.core.errors import EdgexaiError
from edgexai.train.models.arch_registry import create_model

FORMAT = "edgexai-model/1"


def save_model(model, arch: str, path: Path, extra: dict[str, Any] | None = None) -> None:
    """Write model.pt atomically."""
    payload = {
        "format": FORMAT,
        "arch": arch,
        "num_classes": model.fc.out_features,
        "widths": model.widths(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **(extra or {}),
    }
    tmp = Path(str(path) + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _torch_reason(exc: Exception) -> str:
    """What torch found wrong, on one line, without its advice: PyTorch suggests loading with
    weights_only=False (arbitrary code execution) or allowlisting globals, never passed on."""
    text = str(exc)
    found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\.?\s*Please use|\n\n|$)", text, re.S)
    if found:
        text = found.group(1)
    elif "weights_only" in text:
        return ""
    return " ".join(text.split())[:200]


def read_weights_only(path: Path, fmt: str, what: str) -> dict[str, Any]:
    """An edgexai file of format `fmt` read with torch.load(weights_only=True); every failure is
    one line (torch raises several types for damaged files). A file that is not weights-only
    (pickled objects) is refused, saying so, never with PyTorch's advice to load it anyway."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise EdgexaiError(f"{path} does not exist (no {what} there)") from None
    except pickle.UnpicklingError as exc:
        reason = _torch_reason(exc) or "not only tensors and plain containers"
        raise EdgexaiError(
            f"{path} is not a readable {what}: it is not a weights-only file "
            f"and was refused without running it ({reason})"
        ) from None
    except Exception as exc:
        raise EdgexaiError(
            f"{path} is not a readable {what} ({type(exc).__name__}: {_torch_reason(exc)})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise EdgexaiError(f"{path} is not an edgexai {what} (expected {fmt})")
    return payload


def load_payload(path: Path) -> dict[str, Any]:
    return read_weights_only(path, FORMAT, "model file")


def class_count(payload: dict[str, Any], path: Path) -> int:
    """How many classes the stored network outputs: the rows of its last linear layer (`fc`),
    which its recorded num_classes must agree with."""
    weight = payload.get("state_dict", {}).get("fc.weight")
    rows = int(weight.shape[0]) if weight is not None and weight.ndim == 2 else None
    recorded = payload.get("num_classes")
    if rows is None or recorded != rows:
        raise EdgexaiError(
            f"{path} records {recorded!r} classes but its last linear layer "
            f"(fc) has {rows} outputs: the file is inconsistent; rebuild it"
        )
    return rows


def load_model(path: Path, classes: Sequence[str] | None = None):
    """Rebuild the architecture from its stored widths and load the weights. `classes` (the
    manifest's names) must be as many as the network's outputs, else every label would be
    wrong: refused here, at load, naming both numbers."""
    payload = load_payload(path)
    n_out = class_count(payload, path)
    if classes is not None and len(classes) != n_out:
        raise EdgexaiError(
            f"{path} outputs {n_out} classes but its manifest names "
            f"{len(classes)}: every label would be wrong; rebuild the folder"
        )
    model = create_model(payload["arch"], payload["widths"], payload["num_classes"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()
