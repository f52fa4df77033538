"""The build manifest: one JSON per build folder, the contract between training and deployment.

This module owns it: its format version, the fields of each kind of build (classifier, detector)
as typed dataclasses, validation on every read and write (a missing or mistyped field is one
line naming it — no silent defaults), the JSON Schema derived from the same dataclasses
(docs/schemas/manifest.schema.json, `python -m edgexai.core.manifest --schema`), and the lists the
commands share: precisions, ONNX variants and the files they live in.

Stdlib only: the deployment side reads it to find files and verify their digests before anything
is deserialised.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from edgexai.core.digest import sha256_file
from edgexai.core.errors import EdgexaiError
from edgexai.core.typed_json import ContractError, check, document_schema

MANIFEST_NAME = "manifest.json"
FORMAT = "edgexai-manifest/2"
KINDS = ("classifier", "detector")
PRECISIONS = ("fp32", "fp16", "int8")
# ONNX variants of a build: the `files` role and the file name of each. `nocam` (classifiers
# only) is the fp32 graph cut at `logits`, for measuring the in-graph CAM's cost.
VARIANT_ROLES = {"fp32": "onnx", "fp16": "onnx_fp16", "int8": "onnx_int8", "nocam": "onnx_nocam"}
VARIANT_FILES = {
    "fp32": "model.onnx",
    "fp16": "model_fp16.onnx",
    "int8": "model_int8.onnx",
    "nocam": "model_nocam.onnx",
}
# What a finished build ships, made on the training machine (a Jetson only builds engines).
BUILD_VARIANTS = {
    "classifier": ("fp32", "fp16", "int8", "nocam"),
    "detector": ("fp32", "fp16", "int8"),
}
_VERSIONED_PACKAGES = (
    "edgexai",
    "torch",
    "torchvision",
    "numpy",
    "onnx",
    "onnxruntime",
    "captum",
    "torch-pruning",
    "opencv-python-headless",
    "tensorrt",
)


# --- the contract, as types ---------------------------------------------------------------


@dataclass(frozen=True)
class FileEntry:
    """A file of the build: its path relative to the build folder and its sha256."""

    path: str
    sha256: str


@dataclass(frozen=True)
class TensorSpec:
    """An ONNX input or output ('N' marks the dynamic batch axis)."""

    name: str
    shape: list[int | str]
    dtype: str


@dataclass(frozen=True)
class OnnxInfo:
    """The exported graph: opset, I/O, exporter, the tensors where the backbone ends (what the
    fp16 / int8 variants convert; the rest stays float32), and the variants made from it."""

    opset: int
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    exporter: str
    backbone_outputs: list[str]
    variants: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class _Common:
    format: str
    kind: Literal[KINDS]
    name: str
    seed: int
    files: dict[str, FileEntry]
    onnx: OnnxInfo
    params: int
    metrics: dict[str, Any]
    data: dict[str, Any]
    train_config: dict[str, Any] | None
    timing_s: dict[str, float]
    versions: dict[str, str]
    git: str
    created: str
    host: dict[str, Any]


@dataclass(frozen=True)
class ClassifierManifest(_Common):
    """A GTSRB classifier of one regime: logits and, for GAP→linear heads, the in-graph CAM."""

    arch: str
    arch_description: str
    widths: dict[str, Any]
    input_size: int
    mean: list[float]
    std: list[float]
    cam_layer: str | None
    classes: list[str]
    regime: str
    timing: str | None
    preset: str | None
    regime_params: dict[str, Any]
    macs: int
    parent: dict[str, Any] | None


@dataclass(frozen=True)
class DetectorManifest(_Common):
    """A sign detector: frames (N×H×W×3 BGR uint8) → boxes, scores, labels."""

    detector: dict[str, Any]  # edgexai.train.detector.model.DetectorConfig, as a dict
    categories: list[str]
    data_config: dict[str, Any]
    decision: dict[str, Any] | None  # how `run` turns scores into reports (calibrated)


MANIFEST_TYPES = {"classifier": ClassifierManifest, "detector": DetectorManifest}


# --- validation ---------------------------------------------------------------------------


class ManifestError(ContractError):
    """A manifest that does not follow the contract (the message names the field)."""


def parse(
    manifest: dict[str, Any], where: str = MANIFEST_NAME
) -> ClassifierManifest | DetectorManifest:
    """The typed manifest; ManifestError names the first field that breaks the contract."""
    if not isinstance(manifest, dict):
        raise ManifestError(f"{where} is not a JSON object")
    if manifest.get("format") != FORMAT:
        found = manifest.get("format")
        hint = (
            " (made by an older edgexai: rebuild it with this version)"
            if isinstance(found, str) and found.startswith("edgexai-manifest/")
            else ""
        )
        raise ManifestError(f"{where} is not an {FORMAT} manifest (format {found!r}){hint}")
    kind = manifest.get("kind")
    if kind not in MANIFEST_TYPES:
        raise ManifestError(f"{where}: 'kind' is {kind!r}; expected one of {', '.join(KINDS)}")
    try:
        typed = check(manifest, MANIFEST_TYPES[kind], where.removesuffix(".json"))
    except ContractError as exc:
        raise ManifestError(str(exc)) from None
    for role, entry in typed.files.items():
        _inside(entry.path, f"{where}: files.{role}.path")
    for variant in typed.onnx.variants:
        if variant not in BUILD_VARIANTS[kind]:
            raise ManifestError(
                f"{where}: onnx.variants has {variant!r}, which a {kind} build "
                f"does not have ({', '.join(BUILD_VARIANTS[kind])})"
            )
    if isinstance(typed, ClassifierManifest):
        _check_classifier(typed, where)
        _check_cam(manifest, typed, where)
    return typed


def _check_classifier(m: ClassifierManifest, where: str) -> None:
    """What the types cannot say: a positive input size that matches the recorded input, and as
    many class names as the recorded logits have columns (else every label is shifted)."""
    if m.input_size < 1:
        raise ManifestError(f"{where}: input_size is {m.input_size}; expected a positive integer")
    if not m.classes:
        raise ManifestError(f"{where}: classes is empty")
    shape = m.onnx.inputs[0].shape if len(m.onnx.inputs) == 1 else []
    sizes = shape[2:] if len(shape) == 4 else []
    if all(isinstance(d, int) for d in sizes) and sizes not in ([], [m.input_size] * 2):
        raise ManifestError(
            f"{where}: input_size is {m.input_size} but onnx.inputs records "
            f"{'×'.join(map(str, shape))}"
        )
    logits = next((t for t in m.onnx.outputs if t.name == "logits"), None)
    width = logits.shape[-1] if logits is not None and logits.shape else None
    if width != len(m.classes):
        raise ManifestError(
            f"{where} names {len(m.classes)} classes but the model has {width} "
            "outputs (onnx.outputs: logits): every label would be wrong; rebuild "
            "the folder"
        )


NO_CAM_NOTE = "its head is not GAP→linear, so the exact Grad-CAM has no in-graph form"


def has_cam(manifest: dict[str, Any]) -> bool:
    """Whether a classifier build's graph has the in-graph Grad-CAM (`cam` output). The one
    place that answers it: `manifest["cam"]` false marks a CAM-less build (absent: true, as for
    every build made before CAM-less archs)."""
    kind = manifest.get("kind", "classifier")
    return kind == "classifier" and manifest.get("cam", True) is not False


def no_cam_reason(manifest: dict[str, Any]) -> str:
    """Why a CAM-less build has no in-graph CAM (the arch's own line, recorded at export)."""
    arch = manifest.get("arch", "the model")
    return str(manifest.get("cam_refusal") or f"{arch}: {NO_CAM_NOTE}")


def _check_cam(manifest: dict[str, Any], m: ClassifierManifest, where: str) -> None:
    """`cam` (optional, default true) is a bool, and a CAM-less build's graph has no `cam`."""
    raw = manifest.get("cam", True)
    if not isinstance(raw, bool):
        raise ManifestError(f"{where}: cam must be true or false, not {type(raw).__name__}")
    if raw is False and any(t.name == "cam" for t in m.onnx.outputs):
        raise ManifestError(f"{where}: cam is false but onnx.outputs has a 'cam' output")


def _inside(path: str, where: str) -> None:
    """Paths from a manifest stay inside the build folder (no absolute paths, no '..')."""
    p = Path(path)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise ManifestError(
            f"{where} is {path!r}: a manifest may only name files inside its build folder"
        )


def build_path(build_dir: str | Path, path: str, where: str) -> Path:
    """`build_dir / path` for a path from a manifest, refused (ManifestError) unless it stays
    inside the build folder — as written (no absolute path, no '..') and once resolved (no
    symlink, of the file or of a folder on the way, that leads out of it)."""
    _inside(path, where)
    full = Path(build_dir) / path
    try:
        inside = full.resolve().is_relative_to(Path(build_dir).resolve())
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ManifestError(f"{where} is {path!r}, which cannot be resolved ({exc})") from None
    if not inside:
        raise ManifestError(
            f"{where} is {path!r}, which leads out of the build folder (through "
            "a symbolic link): a manifest may only name files inside it"
        )
    return full


# --- the JSON Schema, derived from the same types -----------------------------------------


def schema() -> dict[str, Any]:
    """The manifest's JSON Schema (draft 2020-12): one of the kinds, by `kind`."""
    return document_schema(
        MANIFEST_TYPES,
        "edgexai build manifest (manifest.json)",
        "manifest.schema.json",
        {kind: {"format": FORMAT, "kind": kind} for kind in MANIFEST_TYPES},
    )


# --- reading and writing ------------------------------------------------------------------


def file_entry(build_dir: Path, path: Path) -> dict[str, str]:
    """A `files` entry: the path relative to the build folder and its sha256."""
    return {"path": str(path.relative_to(build_dir)), "sha256": sha256_file(path)}


def tool_versions() -> dict[str, str]:
    """Versions of the tools that shaped a build (installed ones only)."""
    versions = {"python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_revision(start: Path | None = None) -> str:
    """The git revision of the source tree (with '+dirty' when it has changes), or 'unknown'."""
    cwd = start or Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def write_manifest(build_dir: Path, manifest: dict[str, Any]) -> Path:
    """Validate, then write manifest.json atomically (never a half-written or invalid one)."""
    manifest = {"format": FORMAT, **{k: v for k, v in manifest.items() if k != "format"}}
    parse(json.loads(json.dumps(manifest)), f"the manifest for {build_dir}")
    path = Path(build_dir) / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def read_manifest(build_dir: str | Path) -> dict[str, Any]:
    """Read and validate a build folder's manifest; returns it as a dict (see `load`)."""
    path = Path(build_dir) / MANIFEST_NAME
    if not path.is_file():
        raise EdgexaiError(f"{build_dir} is not a build folder: no {MANIFEST_NAME} in it")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EdgexaiError(f"{path} is not valid JSON ({exc})") from None
    parse(manifest, str(path))
    return manifest


def load(build_dir: str | Path) -> ClassifierManifest | DetectorManifest:
    """The typed manifest of a build folder."""
    return parse(read_manifest(build_dir), str(Path(build_dir) / MANIFEST_NAME))


# The folder of build folders. It was called engines/ before (a word that also names each build's
# TensorRT cache, <build>/engines/); an engines/ root is still read, with a notice.
BUILDS_ROOT = "builds"
LEGACY_BUILDS_ROOT = "engines"


def builds_root(
    root: str | Path = BUILDS_ROOT, notice: Callable[[str], None] | None = None
) -> Path:
    """`root`, or the legacy engines/ beside it when only that one exists (told through
    `notice`)."""
    root = Path(root)
    legacy = root.with_name(LEGACY_BUILDS_ROOT)
    if root.name == BUILDS_ROOT and not root.exists() and legacy.is_dir():
        if notice:
            notice(f"reading build folders from {legacy}/ (the former name; rename it to {root}/)")
        return legacy
    return root


def newest_build(root: str | Path, kind: str = "classifier") -> Path | None:
    """The most recently written build folder of `kind` under `root` (by its manifest's
    mtime), or None. Folders whose manifest is unreadable or of another kind are passed over."""
    root = Path(root)
    found = []
    for path in root.glob(f"*/{MANIFEST_NAME}") if root.is_dir() else []:
        try:
            if json.loads(path.read_text()).get("kind") == kind:
                found.append(path)
        except (OSError, UnicodeDecodeError, ValueError, AttributeError):
            continue
    return max(found, key=lambda p: p.stat().st_mtime).parent if found else None


def update_manifest(build_dir: str | Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Read, change in place, validate and write back (explain's metrics, added variants)."""
    manifest = read_manifest(build_dir)
    change(manifest)
    write_manifest(Path(build_dir), manifest)


def verify_file(build_dir: str | Path, manifest: dict[str, Any], role: str) -> Path:
    """Return the path of a file the manifest lists under `role`, after checking its digest.

    Called before any deserialisation, so a swapped or corrupted file is refused, not parsed.
    """
    entry = manifest.get("files", {}).get(role)
    if entry is None:
        raise EdgexaiError(f"the manifest in {build_dir} lists no '{role}' file")
    path = build_path(build_dir, entry["path"], f"{build_dir}/{MANIFEST_NAME}: files.{role}.path")
    if not path.is_file():
        raise EdgexaiError(f"{path} (the '{role}' file of this build) is missing")
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise EdgexaiError(
            f"{path} does not match its manifest digest (sha256 {actual[:12]}… != "
            f"{entry['sha256'][:12]}…): the file was changed or corrupted; rebuild it"
        )
    return path


if __name__ == "__main__":  # python -m edgexai.core.manifest --schema
    if sys.argv[1:] == ["--schema"]:
        print(json.dumps(schema(), indent=2, ensure_ascii=False))
    else:
        sys.exit("usage: python -m edgexai.core.manifest --schema")
