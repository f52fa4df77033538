"""What every in-process reader of build folders does the same way: load one (digest-checked),
find the GTSRB data it should be measured on, and draw the seeded test images.

explain and bench both use these, so two models benched and explained see the same images from the
same data; neither borrows them from the other. Heavy imports (torch) happen inside `load_build`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Stream numbers of the seeded draws (np.random.default_rng([seed, stream])): the explanation
# images and the per-session accuracy images come from one seed without being the same draw.
EXPLAIN_STREAM = 4
ACCURACY_STREAM = 7


@dataclass
class LoadedBuild:
    """A build folder read for use in this process."""

    dir: Path
    manifest: dict[str, Any]
    model: Any  # torch.nn.Module; Any keeps this module importable without torch
    name: str = ""


def load_build(build_dir: str | Path) -> LoadedBuild:
    """Read a build folder's manifest, verify model.pt's digest, then load it."""
    from edgexai.core.manifest import read_manifest, verify_file
    from edgexai.train.models.checkpoint import load_model

    path = Path(build_dir).expanduser()
    manifest = read_manifest(path)
    model = load_model(verify_file(path, manifest, "model"), classes=manifest["classes"])
    return LoadedBuild(path, manifest, model, name=str(manifest.get("name") or path.name))


def data_root_for(data_root: str | None, manifest: dict[str, Any]) -> str | None:
    """--data-root, else $EDGEXAI_DATA, else where the model's own data came from (if present)."""
    from edgexai.train.data.locate import ENV_DATA

    if data_root is not None or os.environ.get(ENV_DATA):
        return data_root
    origin = (manifest.get("data") or {}).get("origin")
    if origin and Path(origin).exists():
        return origin
    return None


def draw_indices(
    n_total: int, limit: int | None, seed: int, stream: int = EXPLAIN_STREAM
) -> np.ndarray:
    """A seeded draw of test indices (sorted), the same for every model of a run."""
    if limit is None or limit >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng([seed, stream]).choice(n_total, size=limit, replace=False))


def indices_digest(indices: np.ndarray) -> str:
    """sha256 of a draw, as reports record it (the same images ⇔ the same digest)."""
    return hashlib.sha256(indices.astype(np.int64).tobytes()).hexdigest()
