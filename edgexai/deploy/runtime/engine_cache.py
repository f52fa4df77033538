"""TensorRT engine cache: `<build>/engines/<key>.engine` + sidecar `<key>.json`.

An engine is only valid for the ONNX it was built from, the GPU model, the TensorRT version, the
precision and the batch profile. The sidecar records exactly those, plus the engine's own sha256,
so a stale or damaged engine is detected *before* it is deserialised. `edgexai doctor` reads the
same sidecars with these field lists; the contract is in docs/ARCHITECTURE.md ("Engine cache").

Sidecar (JSON object, format `edgexai-engine/1`): the KEY_FIELDS below, `engine_sha256` and
`created` (ISO 8601 UTC). The GPU is named by DEVICE_FIELDS: `gpu_name`, `compute_capability`
("8.7"), `sm_count` and `memory_gib`, because name and compute capability alone are the same
("Orin", 8.7) on AGX Orin, Orin NX and Orin Nano.
key = first 16 hex of sha256 over the canonical JSON (sorted keys, no spaces) of the KEY_FIELDS.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from edgexai.core.errors import EdgexaiError

FORMAT = "edgexai-engine/1"


@dataclass(frozen=True)
class EngineSidecar:
    """`<key>.json` beside `<key>.engine`: what the engine was built from and for, and its own
    sha256 (docs/schemas/engine.schema.json is derived from this)."""

    format: str
    onnx_sha256: str
    gpu_name: str
    compute_capability: str
    sm_count: int
    memory_gib: int
    trt_version: str
    precision: str
    profile: dict[str, int]
    engine_sha256: str
    created: str


# The GPU as cuda_mem.GpuInfo reports it (field names as in the sidecar).
DEVICE_FIELDS = ("gpu_name", "compute_capability", "sm_count", "memory_gib")
KEY_FIELDS = ("onnx_sha256", *DEVICE_FIELDS, "trt_version", "precision", "profile")
SIDECAR_FIELDS = tuple(f.name for f in fields(EngineSidecar) if f.name != "format")


def sidecar_schema() -> dict[str, Any]:
    from edgexai.core.typed_json import document_schema

    return document_schema(
        {"sidecar": EngineSidecar},
        "edgexai TensorRT engine sidecar",
        "engine.schema.json",
        {"sidecar": {"format": FORMAT}},
    )


class EngineMismatch(EdgexaiError):
    """A cached engine that must not be deserialised here (stale, foreign or damaged)."""


def engine_key(target: dict[str, Any]) -> str:
    """The cache key of an engine target (the KEY_FIELDS of a sidecar)."""
    missing = [f for f in KEY_FIELDS if f not in target]
    if missing:
        raise ValueError(f"engine target lacks {missing}")
    canon = json.dumps({f: target[f] for f in KEY_FIELDS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def engine_profile(max_batch: int, opt_batch: int | None = None) -> dict[str, int]:
    """The batch profile {min, opt, max} of an engine (part of its key; `run`, `engine` and
    `doctor` all derive it from the same max batch)."""
    if max_batch < 1:
        raise EdgexaiError("--max-batch must be at least 1")
    return {"min": 1, "opt": min(opt_batch or max(1, max_batch // 2), max_batch), "max": max_batch}


def engine_target(
    onnx_sha256: str, gpu: Any, trt_version: str, precision: str, profile: dict[str, int]
) -> dict[str, Any]:
    """The KEY_FIELDS of the engine for an ONNX on this GPU (a cuda_mem.GpuInfo): TrtSession
    looks it up, `edgexai doctor` checks for exactly it."""
    return {
        "onnx_sha256": onnx_sha256,
        **device_target(gpu),
        "trt_version": trt_version,
        "precision": precision,
        "profile": profile,
    }


def device_target(info: Any) -> dict[str, Any]:
    """The DEVICE_FIELDS of an engine target from a cuda_mem.GpuInfo."""
    return {
        "gpu_name": info.name,
        "compute_capability": info.compute_capability,
        "sm_count": info.sm_count,
        "memory_gib": info.memory_gib,
    }


def timing_cache_name(target: dict[str, Any]) -> str:
    """TensorRT's timing cache file for this TensorRT version and GPU: one shared file would be
    offered to every TensorRT and GPU that sees the folder (a build folder is rsync'ed from the
    desktop to the Jetson), and TensorRT rejects or misreads a foreign one."""
    gpu = re.sub(r"[^a-z0-9]+", "-", str(target["gpu_name"]).lower()).strip("-") or "gpu"
    parts = (
        f"trt{target['trt_version']}",
        gpu,
        f"cc{target['compute_capability']}",
        f"{target['sm_count']}sm",
        f"{target['memory_gib']}gib",
    )
    return "timing-" + "-".join(re.sub(r"[^A-Za-z0-9.]+", "_", str(p)) for p in parts) + ".cache"


def write_hint(build_dir: Path, precision: str) -> str:
    return (
        f"run `edgexai engine --model {build_dir} --precision {precision} --backend trt` as "
        "a user who can write it (the folder's owner), or make it writable for this user"
    )


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


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
        from edgexai.core.typed_json import ContractError, check

        try:
            check(side, EngineSidecar, f"engine sidecar {path}")
        except ContractError as exc:
            raise EngineMismatch(f"{exc} ({FORMAT})") from None
        if side["format"] != FORMAT:
            raise EngineMismatch(f"engine sidecar {path} is not {FORMAT}")
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
        diffs = [
            f"{f} {side.get(f)!r} != {target[f]!r}" for f in KEY_FIELDS if side.get(f) != target[f]
        ]
        if diffs:
            raise EngineMismatch(f"{sidecar} does not describe this target: {'; '.join(diffs)}")
        try:
            data = engine.read_bytes()
        except OSError:
            raise EngineMismatch(f"{engine} is missing or unreadable") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != side["engine_sha256"]:
            raise EngineMismatch(
                f"{engine} does not match its sidecar digest (sha256 {actual[:12]}… "
                f"!= {side['engine_sha256'][:12]}…): truncated or corrupted"
            )
        return data

    def _unwritable(self, target: dict[str, Any], exc: OSError | None = None) -> EdgexaiError:
        why = f" ({exc.strerror or exc})" if exc is not None else ""
        return EdgexaiError(
            f"cannot write TensorRT engines to {self.dir}{why}: "
            + write_hint(self.dir.parent, str(target.get("precision", "fp16")))
        )

    def check_writable(self, target: dict[str, Any]) -> None:
        """Fail before a build of minutes, not after it, when the engine could not be stored:
        a probe file is written the way `store` writes (permission bits alone do not tell, e.g.
        for root on a read-only mount)."""
        probe = self.dir / f".write-probe-{os.getpid()}"
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            atomic_write(probe, b"")
            probe.unlink()
        except OSError as exc:
            raise self._unwritable(target, exc) from None

    def store(self, target: dict[str, Any], data: bytes) -> Path:
        """Write engine then sidecar (the sidecar last: a crash leaves no valid-looking pair)."""
        key = engine_key(target)
        engine, sidecar = self.paths(key)
        side = {
            "format": FORMAT,
            **{f: target[f] for f in KEY_FIELDS},
            "engine_sha256": hashlib.sha256(data).hexdigest(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            atomic_write(engine, data)
            atomic_write(sidecar, (json.dumps(side, indent=2) + "\n").encode())
        except OSError as exc:
            raise self._unwritable(target, exc) from None
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
