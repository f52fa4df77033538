"""Where a GTSRB classifier build errs on the official test set: errors per class and confusions.

    python benchmarks/class_errors.py BUILD [--top 15] [--data-root DIR]

Runs the build's logits-only ONNX on ONNX Runtime (CPU) over the official test set, framed as the
build was trained (its manifest's input size and ROI crop), and prints the overall accuracy, the
classes with the most errors (with their test and training image counts and what they were taken
for) and the most frequent (true → predicted) pairs. Data from --data-root or EDGEXAI_DATA. This is
how docs/RESULTS.md's per-class error breakdown for issue 19 was counted.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

BATCH = 256


def main(build: str, top: int = 15, data_root: str | None = None) -> int:
    import numpy as np

    from edgexai.core.errors import EdgexaiError
    from edgexai.core.preprocess import normalise
    from edgexai.deploy.runtime.factory import open_session
    from edgexai.train.data.datasets import roi_margin
    from edgexai.train.data.gtsrb import load_split
    from edgexai.train.data.locate import locate_gtsrb

    try:
        session = open_session(Path(build), backend="ort", cam=False)
        data = session.manifest["data"]
        if data.get("dataset") != "gtsrb":
            raise EdgexaiError(f"{build} was trained on {data.get('dataset')}, not GTSRB")
        roi = bool(data.get("roi_crop"))
        if data.get("roi_margin") != roi_margin(roi):
            raise EdgexaiError(
                f"{build} was framed with ROI margin {data.get('roi_margin')}; this package "
                f"crops with {roi_margin(roi)}"
            )
        source = locate_gtsrb(data_root, download=False)
        size = session.info.input_size
        test = load_split(source, "test", size, roi, progress=False)
        train = load_split(source, "train", size, roi, progress=False)
    except EdgexaiError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    y = np.asarray(test.labels)
    preds = []
    for i in range(0, len(y), BATCH):
        x = normalise(test.images[i : i + BATCH], session.mean, session.std)
        preds.append(session.infer(x)[0].argmax(1))
    p = np.concatenate(preds)
    wrong = p != y
    print(f"{build}: test accuracy {1 - wrong.mean():.4f}, {int(wrong.sum())} errors in {len(y)}")
    n_test = Counter(y.tolist())
    n_train = Counter(np.asarray(train.labels).tolist())
    print("\n| class | errors | test images | train images | taken for (count) |")
    print("| --- | --- | --- | --- | --- |")
    for c, n in Counter(y[wrong].tolist()).most_common(top):
        taken = Counter(p[wrong & (y == c)].tolist()).most_common(3)
        shown = ", ".join(f"{k} ({v})" for k, v in taken)
        print(f"| {c} | {n} | {n_test[c]} | {n_train[c]} | {shown} |")
    pairs = Counter(zip(y[wrong].tolist(), p[wrong].tolist(), strict=True)).most_common(top)
    print("\nmost frequent confusions (true → predicted: count): ", end="")
    print(", ".join(f"{a} → {b}: {n}" for (a, b), n in pairs))
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("build", metavar="BUILD", help="a classifier build folder (has manifest.json)")
    p.add_argument("--top", type=int, default=15, help="how many classes and pairs to list")
    p.add_argument("--data-root", help="the GTSRB folder or archive (default: EDGEXAI_DATA)")
    a = p.parse_args()
    if a.top < 1:
        p.error(f"--top must be at least 1, got {a.top}")
    sys.exit(main(a.build, a.top, a.data_root))
