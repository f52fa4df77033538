"""The images a bench measures every model on: the test split, loaded once, and two seeded draws
from it (one for the explanation metrics, another for each session's accuracy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from edgexai.study.bench.bench_options import BenchOptions
from edgexai.study.bench.select import BenchModel
from edgexai.train.build_folder import ACCURACY_STREAM, draw_indices, indices_digest


@dataclass
class TestDraw:
    """The test split and the two seeded draws every model of one bench is measured on."""

    source: Any  # edgexai.train.data.locate's located archive (digest, origin)
    test: Any  # edgexai.train.data.gtsrb.ArraySplit of the official test split
    ids: np.ndarray  # images for the explanation metrics
    acc_ids: np.ndarray  # other images for each session's accuracy

    @property
    def indices_sha(self) -> str:
        return indices_digest(self.ids)


def draw_test(models: list[BenchModel], opts: BenchOptions) -> TestDraw:
    """Load the test split once (as the first model reads it: GTSRB's official test set, or a
    folder build's own test split) and draw both image sets."""
    from edgexai.train.data.datasets import build_source, load_test_split

    first = models[0].manifest
    source = build_source(first, opts.data_root)
    test = load_test_split(first, opts.data_root, int(first["input_size"]), opts.progress, source)
    ids = draw_indices(len(test), opts.images, opts.seed)
    acc_ids = draw_indices(len(test), opts.accuracy_images, opts.seed, stream=ACCURACY_STREAM)
    return TestDraw(source, test, ids, acc_ids)
