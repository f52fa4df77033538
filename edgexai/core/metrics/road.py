"""ROAD (Rong et al. 2022): remove-and-debias faithfulness, MoRF and LeRF, numpy + scipy.

Composed, as pytorch-grad-cam composes its ROAD metrics, from three parts: a perturbation (rank
the map's pixels, remove the top/bottom p %), an imputer (noisy linear imputation, which leaks
no mask shape to the classifier) and an averager (a curve over p → its mean and area). The
classifier is any `predict(images N×C×H×W float32) → logits N×K` callable, so the same code
scores a PyTorch model or an ONNX Runtime / TensorRT session. Each image's outcome at each
percentage is kept (`ROADResult.per_image_correct` / `per_image_probability`), not only the
means, so a study can pair images across methods or models; `road_scores` is the one-call form.

Imputation dominates the cost; it runs in worker processes (numpy/scipy only, spawned, so no
torch state is forked) on chunks of images, while the parent classifies finished chunks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from edgexai.core.metrics.imputation import NoisyLinearImputer, noise_for
from edgexai.core.metrics.perturbation import (
    ORDERS,
    count_removed,
    keep_mask,
    rank_pixels,
    tiebreak_keys,
)
from edgexai.core.softmax import softmax

DEFAULT_PERCENTAGES: tuple[int, ...] = tuple(range(1, 92, 10))  # the paper's 1, 11, …, 91

Predict = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class CurveAverager:
    """A curve over removal percentages → its mean (the paper's number) and its area.

    area: trapezoidal integral over the removed fraction p/100, between the first and last
    percentage (accuracy × fraction); mean: the plain mean over the points.
    """

    def __call__(self, percentages: Sequence[float], values: Sequence[float]) -> dict[str, float]:
        p = np.asarray(percentages, np.float64) / 100.0
        v = np.asarray(values, np.float64)
        area = float(np.sum((v[1:] + v[:-1]) * np.diff(p)) / 2.0) if len(v) > 1 else 0.0
        return {"mean": float(v.mean()), "area": area}


@dataclass
class ROADResult:
    """Per order: accuracy and mean target probability at each percentage, plus summaries.

    `per_image_correct[order]` (0/1) and `per_image_probability[order]` are n_images ×
    n_percentages; their column means are exactly `accuracy[order]` / `probability[order]`.
    """

    percentages: list[float]
    n_images: int
    accuracy: dict[str, list[float]] = field(default_factory=dict)
    probability: dict[str, list[float]] = field(default_factory=dict)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)
    per_image_correct: dict[str, np.ndarray] = field(default_factory=dict)
    per_image_probability: dict[str, np.ndarray] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The summary numbers (JSON-ready); `per_image_dict` holds the per-image outcomes."""
        return {
            "percentages": self.percentages,
            "n_images": self.n_images,
            "accuracy": self.accuracy,
            "probability": self.probability,
            "summary": self.summary,
        }

    def per_image_dict(self, digits: int = 6) -> dict[str, dict[str, list[list[float]]]]:
        """{order: {"correct": n×P, "probability": n×P}} as lists, probabilities rounded."""
        return {
            o: {
                "correct": self.per_image_correct[o].astype(int).tolist(),
                "probability": np.round(self.per_image_probability[o], digits).tolist(),
            }
            for o in self.per_image_correct
        }


def _impute_chunk(
    images: np.ndarray,
    ranking: np.ndarray,
    noise: np.ndarray | None,
    k: int,
    order: str,
    noise_std: float,
) -> np.ndarray:
    """Worker: remove k pixels per image in `order` and impute (numpy/scipy only)."""
    n, _, h, w = images.shape
    keep = keep_mask(ranking, k, order, (h, w))
    return NoisyLinearImputer(noise_std)(images, keep, noise).astype(np.float32, copy=False)


@contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Spawned workers inherit the environment: one BLAS/OpenMP thread each, or N workers ×
    M threads oversubscribe the cores the parent's classifier also needs."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k: "1" for k in names})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class _Task:
    method: str
    order: str
    p_index: int
    start: int
    stop: int


class ROAD:
    """ROAD MoRF/LeRF over several explanation methods for one classifier and one image set.

    Parameters: `percentages` removed (default 1, 11, …, 91), `orders` ("morf", "lerf"),
    `noise_std` of the imputation (0.01), `chunk` images per imputation job, `workers` processes
    (0: in this process), `progress` bar.
    """

    def __init__(
        self,
        percentages: Sequence[float] = DEFAULT_PERCENTAGES,
        orders: Sequence[str] = ORDERS,
        noise_std: float = 0.01,
        chunk: int = 128,
        workers: int | None = None,
        progress: bool = False,
        averager: CurveAverager | None = None,
    ) -> None:
        for o in orders:
            if o not in ORDERS:
                raise ValueError(f"unknown ROAD order {o!r}; expected one of {ORDERS}")
        self.percentages = [float(p) for p in percentages]
        for p in self.percentages:
            count_removed(p, 1)  # validates the range
        self.orders = list(orders)
        self.noise_std = noise_std
        self.chunk = max(1, int(chunk))
        self.workers = (os.cpu_count() or 1) if workers is None else int(workers)
        self.progress = progress
        self.averager = averager or CurveAverager()

    def run(
        self,
        predict: Predict,
        images: np.ndarray,
        maps: dict[str, np.ndarray],
        targets: np.ndarray,
        noise: np.ndarray | None = None,
        tiebreak: np.ndarray | None = None,
        *,
        seed: int | None = None,
        ids: np.ndarray | None = None,
    ) -> dict[str, ROADResult]:
        """Score every method in `maps` (name → N×H×W) on `images` (N×C×H×W, model input).

        `noise`: standard-normal N×C×H×W shared by all methods, orders and percentages (see
        imputation.noise_for); `tiebreak`: N×HW keys for equal map values (perturbation).
        `seed` (instead): draws whichever of the two is not given, per image id (`ids`, default
        0…N−1) — `edgexai explain` draws both so with its seed and its image ids.
        """
        n, _, h, w = images.shape
        images = np.ascontiguousarray(images, np.float32)
        targets = np.asarray(targets, np.int64)
        if seed is not None:
            noise, tiebreak = self._seeded(seed, ids, images.shape, noise, tiebreak)
        if self.noise_std > 0 and noise is None:
            raise ValueError("ROAD with imputation noise needs a noise array (noise_for) or a seed")
        rankings = {m: rank_pixels(v, tiebreak) for m, v in maps.items()}
        ks = [count_removed(p, h * w) for p in self.percentages]
        tasks = [
            _Task(m, o, j, s, min(s + self.chunk, n))
            for m in maps
            for o in self.orders
            for j in range(len(ks))
            for s in range(0, n, self.chunk)
        ]
        # per image, so the totals do not depend on the order in which workers finish
        correct = {(m, o): np.zeros((len(ks), n), bool) for m in maps for o in self.orders}
        prob = {(m, o): np.zeros((len(ks), n)) for m in maps for o in self.orders}

        def args(t: _Task):
            sl = slice(t.start, t.stop)
            return (
                images[sl],
                rankings[t.method][sl],
                None if noise is None else noise[sl],
                ks[t.p_index],
                t.order,
                self.noise_std,
            )

        for t, imputed in self._imputed(tasks, args):
            probs = softmax(np.asarray(predict(imputed), np.float64))
            tgt = targets[t.start : t.stop]
            correct[t.method, t.order][t.p_index, t.start : t.stop] = probs.argmax(1) == tgt
            prob[t.method, t.order][t.p_index, t.start : t.stop] = probs[np.arange(len(tgt)), tgt]

        results: dict[str, ROADResult] = {}
        for m in maps:
            r = ROADResult(self.percentages, n)
            for o in self.orders:
                acc = correct[m, o].mean(axis=1).tolist()
                r.accuracy[o] = acc
                r.probability[o] = prob[m, o].mean(axis=1).tolist()
                r.summary[o] = self.averager(self.percentages, acc)
                # transposed views of the same buffers: numpy then reduces a column along the
                # same memory axis as above, so column means equal the lists bit for bit
                r.per_image_correct[o] = correct[m, o].T
                r.per_image_probability[o] = prob[m, o].T
            if {"morf", "lerf"} <= set(self.orders):
                r.summary["gap"] = {
                    k: r.summary["lerf"][k] - r.summary["morf"][k] for k in ("mean", "area")
                }
            results[m] = r
        return results

    def _seeded(
        self,
        seed: int,
        ids: np.ndarray | None,
        shape: tuple[int, ...],
        noise: np.ndarray | None,
        tiebreak: np.ndarray | None,
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """(noise, tiebreak) drawn from `seed` per image id where the caller gave none."""
        n, c, h, w = shape
        ids = np.arange(n) if ids is None else np.asarray(ids, np.int64)
        if len(ids) != n:
            raise ValueError(f"ROAD got {len(ids)} image ids for {n} images")
        if noise is None and self.noise_std > 0:
            noise = noise_for(seed, ids, (c, h, w))
        if tiebreak is None:
            tiebreak = tiebreak_keys(seed, ids, h * w)
        return noise, tiebreak

    def _imputed(self, tasks: list[_Task], args) -> Iterator[tuple[_Task, np.ndarray]]:
        """Yield (task, imputed chunk) — in order inline, as they finish with workers."""
        from tqdm import tqdm

        bar = tqdm(
            total=len(tasks),
            desc="ROAD imputation",
            unit="chunk",
            disable=not self.progress,
            leave=False,
        )
        try:
            if self.workers <= 0 or len(tasks) <= 1:
                for t in tasks:
                    yield t, _impute_chunk(*args(t))
                    bar.update()
                return
            import multiprocessing as mp

            ctx = mp.get_context("spawn")
            with (
                _single_threaded_children(),
                ProcessPoolExecutor(self.workers, mp_context=ctx) as pool,
            ):
                pending: dict[Future, _Task] = {}
                queue = iter(tasks)
                limit = 2 * self.workers + 1  # bounds memory; keeps every worker busy
                while True:
                    while len(pending) < limit:
                        t = next(queue, None)
                        if t is None:
                            break
                        pending[pool.submit(_impute_chunk, *args(t))] = t
                    if not pending:
                        break
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for f in done:
                        yield pending.pop(f), f.result()
                        bar.update()
        finally:
            bar.close()


def road_scores(
    predict: Predict,
    images: np.ndarray,
    maps: dict[str, np.ndarray] | np.ndarray,
    targets: np.ndarray,
    seed: int = 0,
    percentages: Sequence[float] = DEFAULT_PERCENTAGES,
    orders: Sequence[str] = ORDERS,
    noise_std: float = 0.01,
    workers: int = 0,
    ids: np.ndarray | None = None,
) -> dict[str, ROADResult]:
    """ROAD in one call: `ROAD(...).run(predict, images, maps, targets, seed=seed, ids=ids)`.

    `maps`: name → N×H×W, or one N×H×W array (scored as "map"); `images`: N×C×H×W, the model's
    normalised input; `ids`: each image's id for its noise stream (default 0…N−1); `workers` 0
    imputes in this process (no spawned workers).
    """
    named = maps if isinstance(maps, dict) else {"map": np.asarray(maps)}
    road = ROAD(percentages, orders, noise_std, workers=workers)
    return road.run(predict, images, named, targets, seed=seed, ids=ids)
