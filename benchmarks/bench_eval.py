"""Test accuracy of a build, the old way against the current one: time, and whether anything moved.

    python benchmarks/bench_eval.py BUILD [--rounds 2] [--data-root DIR]

Old = what builds did until 2026-12-04: contiguous (NCHW) weights and inputs in batches of 512.
New = `edgexai.train.evaluate.predict_logits` as it is now (channels-last where
`edgexai.train.models.memory_format` allows it, batches of `EVAL_BATCH`). Both run the build's model.pt
over the official test set, framed as the build was trained, in interleaved rounds on the CPU
threads torch is given. Prints seconds per pass, the accuracy of each and how many test
predictions differ.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _old_logits(model, images, mean, std):
    import torch

    from edgexai.train.evaluate import to_input

    model.to(memory_format=torch.contiguous_format)
    out = []
    with torch.no_grad():
        for i in range(0, len(images), 512):
            out.append(model(to_input(images[i : i + 512], mean, std)).float())
    return torch.cat(out).numpy()


def main(build: str, rounds: int, data_root: str | None) -> int:
    import numpy as np
    import torch

    from edgexai.core.errors import EdgexaiError
    from edgexai.train.data.gtsrb import load_split
    from edgexai.train.data.locate import locate_gtsrb
    from edgexai.train.evaluate import EVAL_BATCH, predict_logits
    from edgexai.train.regimes.parent import load_parent

    try:
        model, manifest = load_parent(Path(build))  # model.pt's digest checked before loading
        source = locate_gtsrb(data_root, download=False)
        roi = bool(manifest["data"].get("roi_crop"))
        test = load_split(source, "test", manifest["input_size"], roi, progress=False)
    except (EdgexaiError, OSError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    model.eval()
    mean, std, y = manifest["mean"], manifest["std"], np.asarray(test.labels)
    print(f"torch threads {torch.get_num_threads()}, {len(y)} test images, new batch {EVAL_BATCH}")
    for r in range(rounds):
        preds = {}
        for way in ("old", "new"):
            t = time.perf_counter()
            if way == "old":
                logits = _old_logits(model, test.images, mean, std)
            else:
                logits = predict_logits(model, test.images, mean, std)
            seconds = time.perf_counter() - t
            preds[way] = logits.argmax(1)
            acc = float((preds[way] == y).mean())
            print(f"round {r + 1} {way}: test accuracy {acc:.6f} in {seconds:.1f} s", flush=True)
        print(f"  test predictions that differ: {int((preds['old'] != preds['new']).sum())}")
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("build", metavar="BUILD", help="a classifier build folder (has model.pt)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved old/new rounds")
    p.add_argument("--data-root", help="the GTSRB folder or archive (default: EDGEXAI_DATA)")
    a = p.parse_args()
    if a.rounds < 1:
        p.error(f"--rounds must be at least 1, got {a.rounds}")
    sys.exit(main(a.build, a.rounds, a.data_root))
