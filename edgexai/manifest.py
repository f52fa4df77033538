"""The build manifest: one JSON per build folder, the contract between training and deployment.

Stdlib only: the deployment side reads it to find files and verify their digests before anything
is deserialised.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from edgexai.digest import sha256_file
from edgexai.errors import EdgexaiError

MANIFEST_NAME = "manifest.json"
FORMAT = "edgexai-manifest/1"
_VERSIONED_PACKAGES = (
    "edgexai", "torch", "torchvision", "numpy", "onnx", "onnxruntime", "captum",
    "torch-pruning", "opencv-python-headless", "tensorrt",
)


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
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return rev + ("+dirty" if dirty else "")


def write_manifest(build_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write manifest.json atomically (a crash never leaves a half-written manifest)."""
    manifest = {"format": FORMAT, **manifest}
    path = build_dir / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def read_manifest(build_dir: str | Path) -> dict[str, Any]:
    """Read and minimally validate a build folder's manifest."""
    path = Path(build_dir) / MANIFEST_NAME
    if not path.is_file():
        raise EdgexaiError(f"{build_dir} is not a build folder: no {MANIFEST_NAME} in it")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EdgexaiError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise EdgexaiError(f"{path} is not an edgexai manifest (expected format {FORMAT})")
    return manifest


def verify_file(build_dir: str | Path, manifest: dict[str, Any], role: str) -> Path:
    """Return the path of a file the manifest lists under `role`, after checking its digest.

    Called before any deserialisation, so a swapped or corrupted file is refused, not parsed.
    """
    entry = manifest.get("files", {}).get(role)
    if entry is None:
        raise EdgexaiError(f"the manifest in {build_dir} lists no '{role}' file")
    path = Path(build_dir) / entry["path"]
    if not path.is_file():
        raise EdgexaiError(f"{path} (the '{role}' file of this build) is missing")
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise EdgexaiError(
            f"{path} does not match its manifest digest (sha256 {actual[:12]}… != "
            f"{entry['sha256'][:12]}…): the file was changed or corrupted; rebuild it")
    return path
