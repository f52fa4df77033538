"""What the tests share (imported as `support`, never from conftest): where the repository and
this folder are, the CLI runner, and build-folder edits; support.data makes a synthetic GTSRB
tree, support.pipeline frames, videos, a hand-made ONNX classifier build and an in-process engine
stand-in; support.fake_trt the TensorRT API fake; support.blocktorch blocks the training stack in
a subprocess (put SUPPORT on its PYTHONPATH); support.latency_factories serves the isolated
latency tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

SUPPORT = Path(__file__).resolve().parent
REPO = SUPPORT.parents[1]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: int = 300):
    """Run `python -m edgexai ARGS` in a subprocess; returns CompletedProcess."""
    import subprocess

    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "edgexai", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=REPO,
    )


def drop_variant(build: Path, variant: str) -> None:
    """Make a build folder look as if made before every build shipped `variant` (file and manifest
    entry gone)."""
    from edgexai.core.manifest import VARIANT_ROLES, update_manifest

    role = VARIANT_ROLES[variant]

    def drop(m):
        entry = m["files"].pop(role)
        m["onnx"]["variants"].pop(variant, None)
        (build / entry["path"]).unlink(missing_ok=True)

    update_manifest(build, drop)
