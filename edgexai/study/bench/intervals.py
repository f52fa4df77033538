"""95 % bootstrap intervals for the bench's per-image means, and paired ones for differences and
ratios between two models (or two methods) measured on the same images.

Why bootstrap over images: every explanation figure is a mean over ~200 test images of one draw,
so how much it would move with another draw of images is the uncertainty a reader needs before
comparing two regimes. Paired resampling (the same images for both sides) removes the part of that
spread that both models share (easy and hard images), which is what makes a difference of 0.02
decidable at all.

Settings, fixed so a report is reproducible: scipy.stats.bootstrap, BCa (bias-corrected and
accelerated: better coverage than the percentile interval for bounded, skewed statistics such as
proportions near 0 or 1 and ratios), 2,000 resamples, a fresh generator seeded 0 for every
interval (so an interval does not depend on which others were computed before it). Where BCa is
undefined (a nearly constant sample: its acceleration divides by zero) the percentile interval is
used and the entry says so. No interval (and a note why) for fewer than 2 values, a constant
sample (every resample gives the same value) or a statistic that is undefined on some resamples
(a ratio whose denominator resamples to 0).

numpy and scipy.stats only: no torch, so the report side can use it anywhere.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
N_RESAMPLES = 2000
SEED = 0
METHOD = "BCa"
FALLBACK = "percentile"

# scipy >= 1.15 names the generator `rng`; older ones `random_state` (pyproject allows >= 1.10)
_RNG_KEY = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"


def settings() -> dict[str, Any]:
    """How every interval of a report was made (results.json records it once)."""
    return {
        "confidence": CONFIDENCE,
        "method": METHOD,
        "fallback": f"{FALLBACK} where {METHOD} is undefined",
        "n_resamples": N_RESAMPLES,
        "seed": SEED,
        "resampled": "images",
        "paired": "differences and ratios to natural: the images both models explained",
    }


@dataclass(frozen=True)
class Interval:
    """A statistic on a sample and its 95 % interval (None, with `note`, where there is none)."""

    value: float | None
    ci95: tuple[float, float] | None
    n: int
    method: str | None = None  # BCa | percentile; None without an interval
    note: str | None = None  # why there is no interval

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "ci95": None if self.ci95 is None else [self.ci95[0], self.ci95[1]],
            "n": self.n,
            "method": self.method,
            "note": self.note,
        }

    def excludes(self, threshold: float) -> bool:
        """The whole interval lies on one side of `threshold` (False without an interval)."""
        return self.ci95 is not None and (self.ci95[0] > threshold or self.ci95[1] < threshold)


def bootstrap(
    data: tuple[np.ndarray, ...],
    statistic: Callable[..., Any],
    paired: bool = False,
) -> Interval:
    """`statistic(*data, axis=-1)` (vectorised) with its interval, BCa then percentile."""
    arrays = tuple(np.asarray(d, dtype=np.float64).ravel() for d in data)
    n = min((len(a) for a in arrays), default=0)
    if n == 0:
        return Interval(None, None, 0, note="no values")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(statistic(*arrays, axis=-1))
    if not np.isfinite(value):
        return Interval(None, None, n, note="undefined on this sample")
    if n < 2:
        return Interval(value, None, n, note="n < 2")
    for method in (METHOD, FALLBACK):
        res = _scipy(arrays, statistic, paired, method)
        dist = np.asarray(res.bootstrap_distribution)
        if not np.all(np.isfinite(dist)):
            return Interval(value, None, n, note="undefined on some resamples")
        if np.ptp(dist) == 0:
            return Interval(value, None, n, note="constant sample")
        lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if np.isfinite(lo) and np.isfinite(hi):
            return Interval(value, (lo, hi), n, method=method)
    return Interval(value, None, n, note="no interval")  # pragma: no cover - percentile is finite


def _scipy(arrays: tuple[np.ndarray, ...], statistic, paired: bool, method: str):
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")  # degenerate-data / divide warnings: handled by the caller
        return stats.bootstrap(
            arrays,
            statistic,
            n_resamples=N_RESAMPLES,
            vectorized=True,
            paired=paired,
            axis=-1,
            confidence_level=CONFIDENCE,
            method=method,
            **{_RNG_KEY: np.random.default_rng(SEED)},
        )


def _mean(x, axis=-1):
    return np.mean(x, axis=axis)


def _diff(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def _ratio(a, b, axis=-1):
    return np.mean(a, axis=axis) / np.mean(b, axis=axis)


def mean_interval(values: np.ndarray) -> Interval:
    """The mean of `values` and its interval."""
    return bootstrap((values,), _mean)


def paired_difference(a: np.ndarray, b: np.ndarray) -> Interval:
    """mean(a) − mean(b) over aligned pairs (a[i], b[i]: one image), resampled as pairs."""
    _same_length(a, b)
    return bootstrap((a, b), _diff, paired=True)


def paired_ratio(a: np.ndarray, b: np.ndarray) -> Interval:
    """mean(a) / mean(b) over aligned pairs, resampled as pairs."""
    _same_length(a, b)
    return bootstrap((a, b), _ratio, paired=True)


def _same_length(a: np.ndarray, b: np.ndarray) -> None:
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length ({len(a)} vs {len(b)})")


def align(
    index_a: np.ndarray, values_a: np.ndarray, index_b: np.ndarray, values_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The values of the images both sides have (matched on index), in index order."""
    _, ia, ib = np.intersect1d(
        np.asarray(index_a), np.asarray(index_b), assume_unique=False, return_indices=True
    )
    return np.asarray(values_a, np.float64)[ia], np.asarray(values_b, np.float64)[ib]
