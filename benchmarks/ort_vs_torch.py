"""ONNX Runtime against the PyTorch reference on real GTSRB test images, for build folders.

    EDGEXAI_DATA=../shared/data python benchmarks/ort_vs_torch.py /tmp/regimes/*/ [--n 512]

Both sides go through the same `Session` interface (`ort`: the build's model.onnx, digest-checked;
`torch`: model.pt through the `CamModel` the export traced), on the first N official test images
in file order. Prints one line per build: max |Δ| of logits and of the CAM, top-1 agreement, and
whether each is within docs' bounds (1e-4, 1e-4, 100 %). Exit 1 when any build is out of bounds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

LOGITS_TOL = 1e-4
CAM_TOL = 1e-4


def compare(build: Path, x: np.ndarray, batch: int = 64) -> dict:
    from edgexai.deploy.runtime import open_session

    with open_session(build, "ort") as ort_s, open_session(build, "torch") as torch_s:
        a = [ort_s.infer(x[i : i + batch]) for i in range(0, len(x), batch)]
        b = [torch_s.infer(x[i : i + batch]) for i in range(0, len(x), batch)]
    lo, co = np.concatenate([r[0] for r in a]), np.concatenate([r[1] for r in a])
    lt, ct = np.concatenate([r[0] for r in b]), np.concatenate([r[1] for r in b])
    return {
        "images": int(len(x)),
        "logits_max_abs_diff": float(np.abs(lo - lt).max()),
        "cam_max_abs_diff": float(np.abs(co - ct).max()),
        "top1_agreement": float((lo.argmax(1) == lt.argmax(1)).mean()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("builds", nargs="+", type=Path)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    from edgexai.core.manifest import read_manifest
    from edgexai.core.preprocess import normalise
    from edgexai.train.data.gtsrb import load_split
    from edgexai.train.data.locate import locate_gtsrb

    source = locate_gtsrb(a.data_root)
    rows, ok = [], True
    for build in a.builds:
        m = read_manifest(build)
        test = load_split(
            source,
            "test",
            int(m["input_size"]),
            bool((m.get("data") or {}).get("roi_crop")),
            progress=False,
        )
        x = normalise(test.images[: a.n], m["mean"], m["std"])
        r = {"build": m["name"], **compare(build, x)}
        within = (
            r["logits_max_abs_diff"] <= LOGITS_TOL
            and r["cam_max_abs_diff"] <= CAM_TOL
            and r["top1_agreement"] == 1.0
        )
        ok &= within
        r["within_bounds"] = within
        rows.append(r)
        print(
            f"{r['build']:28s} logits {r['logits_max_abs_diff']:.2e}  cam "
            f"{r['cam_max_abs_diff']:.2e}  top-1 {100 * r['top1_agreement']:.1f} %  "
            f"{'ok' if within else 'OUT OF BOUNDS'}"
        )
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
