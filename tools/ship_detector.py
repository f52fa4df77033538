"""Make a detector build the one shipped with edgexai: copy it into edgexai/deploy/pipeline/data/detector/
(package data; `edgexai run`'s default), every listed file verified against its manifest digest,
nothing else copied (no engines, no checkpoint). The manifest must carry a calibrated `decision`
(`edgexai detector calibrate`) unless --uncalibrated.

  .venv/bin/python tools/ship_detector.py --detector /tmp/det/final
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from edgexai.core.manifest import MANIFEST_NAME, load, read_manifest, verify_file

REPO = Path(__file__).resolve().parents[1]

TARGET = REPO / "edgexai" / "deploy" / "pipeline" / "data" / "detector"
MAX_BYTES = 5 * 2**20  # the budget for the shipped detector


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--detector", required=True)
    p.add_argument("--uncalibrated", action="store_true")
    a = p.parse_args()
    src = Path(a.detector)
    info = load(src)
    if info.kind != "detector":
        sys.exit(f"{src} is a {info.kind} build")
    if info.decision is None and not a.uncalibrated:
        sys.exit(f"{src} has no calibrated decision: run edgexai detector calibrate first")
    manifest = read_manifest(src)
    paths = [verify_file(src, manifest, role) for role in manifest["files"]]
    size = sum(p.stat().st_size for p in paths)
    tmp = TARGET.with_name(".detector.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for path in paths:
        shutil.copy2(path, tmp / path.relative_to(src))
    shutil.copy2(src / MANIFEST_NAME, tmp / MANIFEST_NAME)
    shutil.rmtree(TARGET, ignore_errors=True)
    tmp.replace(TARGET)
    onnx = sum(
        (TARGET / f.path).stat().st_size for r, f in info.files.items() if r.startswith("onnx")
    )
    print(
        f"shipped {src} → {TARGET}: {len(paths)} files, {size / 2**20:.2f} MiB "
        f"(ONNX graphs {onnx / 2**20:.2f} MiB)"
    )
    if size > MAX_BYTES:
        sys.exit(f"over the {MAX_BYTES / 2**20:.0f} MiB budget")


if __name__ == "__main__":
    main()
