"""Robust accuracy of an existing natural build, cached beside it for its post/tuned children.

    python tools/natural_robustness.py OUT [ARCH] [SEED]

A natural build made before robust evaluation existed has none in its manifest; its children
record the parent's robust accuracy at their ε and compute it on first use. Doing it once up front
keeps concurrent children from computing it twice. Uses the build defaults (ε = 8/255, PGD-20,
1,000 seeded official test images) and EDGEXAI_DATA for the data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(out: str, arch: str = "resnet20", seed: int = 0) -> int:
    from edgexai.train.builder import BuildOptions, load_data, robust_config
    from edgexai.train.models import get_spec
    from edgexai.train.regimes import parent as parents
    from edgexai.train.regimes.train_loop import seed_everything

    folder = Path(out) / parents.parent_name(arch, seed)
    model, manifest = parents.load_parent(folder)
    opts = BuildOptions(out=out, arch=arch, seed=seed, progress=False)
    spec = get_spec(arch)
    seed_everything(seed)
    _, _, _, test = load_data(opts, spec.input_size)
    result = parents.parent_robustness(
        folder, manifest, model, test, spec.mean, spec.std, robust_config(opts), "cpu"
    )
    print(
        f"{folder.name}: robust accuracy {result['robust_accuracy']:.4f} "
        f"(clean on the same {result['images']} images {result['clean_accuracy_subset']:.4f}, "
        f"ε {result['epsilon']:.4f}, {result['steps']} steps)"
    )
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", metavar="OUT", help="the folder holding the natural build")
    p.add_argument("arch", metavar="ARCH", nargs="?", default="resnet20")
    p.add_argument("seed", metavar="SEED", nargs="?", type=int, default=0)
    a = p.parse_args()
    sys.exit(main(a.out, a.arch, a.seed))
