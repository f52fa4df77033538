"""TensorRT engine cache: `<build>/engines/<key>.engine` + sidecar `<key>.json`.

An engine is only valid for the ONNX it was built from, the GPU model (compute capability), the
TensorRT version and the precision. The sidecar records exactly those, plus the engine's own
sha256, so a stale or damaged engine is detected *before* it is deserialised. `edgexai doctor`
reads the same sidecars; the contract is in docs/ARCHITECTURE.md ("Engine cache").

Sidecar (JSON object, format `edgexai-engine/1`):
  onnx_sha256, gpu_name, compute_capability ("8.7"), trt_version, precision (fp32|fp16|int8),
  engine_sha256, created (ISO 8601 UTC), and profile {min, opt, max} (the batch range).
key = first 16 hex of sha256 over the canonical JSON (sorted keys, no spaces) of
  {onnx_sha256, gpu_name, compute_capability, trt_version, precision, profile}.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from edgexai.errors import EdgexaiError

FORMAT = "edgexai-engine/1"
KEY_FIELDS = ("onnx_sha256", "gpu_name", "compute_capability", "trt_version", "precision",
              "profile")
SIDECAR_FIELDS = KEY_FIELDS + ("engine_sha256", "created")


class EngineMismatch(EdgexaiError):
    """A cached engine that must not be deserialised here (stale, foreign or damaged)."""


def engine_key(target: dict[str, Any]) -> str:
    """The cache key of an engine target (the KEY_FIELDS of a sidecar)."""
    missing = [f for f in KEY_FIELDS if f not in target]
    if missing:
        raise ValueError(f"engine target lacks {missing}")
    canon = json.dumps({f: target[f] for f in KEY_FIELDS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class EngineCache:
    """The engines/ folder of one build."""

    def __init__(self, build_dir: str | Path) -> None:
        self.dir = Path(build_dir) / "engines"

    def paths(self, key: str) -> tuple[Path, Path]:
        return self.dir / f"{key}.engine", self.dir / f"{key}.json"

    def read_sidecar(self, path: Path) -> dict[str, Any]:
        try:
            side = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise EngineMismatch(f"engine sidecar {path} is unreadable ({exc})") from None
        if not isinstance(side, dict) or any(f not in side for f in SIDECAR_FIELDS):
            raise EngineMismatch(f"engine sidecar {path} lacks fields of {FORMAT}")
        return side

    def load(self, target: dict[str, Any]) -> bytes | None:
        """The verified engine bytes for `target`, None when not cached; EngineMismatch when a file
        is there but must not be used (fields differ, digest differs, engine missing)."""
        key = engine_key(target)
        engine, sidecar = self.paths(key)
        if not engine.exists() and not sidecar.exists():
            return None
        if not sidecar.exists():
            raise EngineMismatch(f"{engine} has no sidecar {sidecar.name}: its origin is unknown")
        side = self.read_sidecar(sidecar)
        diffs = [f"{f} {side.get(f)!r} != {target[f]!r}" for f in KEY_FIELDS if side.get(f) != target[f]]
        if diffs:
            raise EngineMismatch(f"{sidecar} does not describe this target: {'; '.join(diffs)}")
        try:
            data = engine.read_bytes()
        except OSError:
            raise EngineMismatch(f"{engine} is missing or unreadable") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != side["engine_sha256"]:
            raise EngineMismatch(f"{engine} does not match its sidecar digest (sha256 {actual[:12]}… "
                                 f"!= {side['engine_sha256'][:12]}…): truncated or corrupted")
        return data

    def store(self, target: dict[str, Any], data: bytes) -> Path:
        """Write engine then sidecar (the sidecar last: a crash leaves no valid-looking pair)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        key = engine_key(target)
        engine, sidecar = self.paths(key)
        _atomic_write(engine, data)
        side = {"format": FORMAT, **{f: target[f] for f in KEY_FIELDS},
                "engine_sha256": hashlib.sha256(data).hexdigest(),
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        _atomic_write(sidecar, (json.dumps(side, indent=2) + "\n").encode())
        return engine

    def others(self, target: dict[str, Any]) -> list[str]:
        """Why each other cached engine does not fit `target` (for a clear refusal)."""
        key = engine_key(target)
        reasons = []
        for side_path in sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []:
            if side_path.stem == key:
                continue
            try:
                side = self.read_sidecar(side_path)
            except EngineMismatch as exc:
                reasons.append(str(exc))
                continue
            diffs = [f"{f} {side.get(f)!r}" for f in KEY_FIELDS if side.get(f) != target[f]]
            reasons.append(f"{side_path.stem}: built for {', '.join(diffs)}")
        return reasons
