"""What robust accuracy measures: the PGD settings and the fixed, seeded test subset (numpy only).

The attack itself runs in torch, in edgexai.train.attacks; keeping its settings here lets the manifest
side (cache keys, reports) name them without torch. Every regime is scored on the same images with
the same random starts, so robust accuracies compare across regimes: the subset and the starts
depend only on `seed`, the test set and the image count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgexai.core.errors import EdgexaiError

EVAL_STEPS = 20
EVAL_IMAGES = 1000


@dataclass(frozen=True)
class PGDConfig:
    """One PGD L∞ attack in [0, 1] pixel units; `step_size` None means 2.5·ε/steps (Madry et
    al.'s rule of thumb). No defaults for ε and steps: training and evaluation each state theirs."""

    epsilon: float
    steps: int
    step_size: float | None = None
    random_start: bool = True

    @property
    def alpha(self) -> float:
        return (
            self.step_size
            if self.step_size is not None
            else 2.5 * self.epsilon / max(1, self.steps)
        )

    def check(self) -> None:
        if not 0 < self.epsilon <= 1:
            raise EdgexaiError(
                f"--epsilon must be in (0, 1] pixel units (got {self.epsilon}); "
                "8/255 ≈ 0.031 is the usual budget"
            )
        if self.steps < 1:
            raise EdgexaiError(f"--pgd-steps must be at least 1 (got {self.steps})")
        if self.step_size is not None and not self.step_size > 0:
            raise EdgexaiError(f"--pgd-step-size must be positive (got {self.step_size})")

    def as_dict(self) -> dict[str, float | int | bool | str]:
        return {
            "norm": "linf",
            "units": "pixel [0,1]",
            "epsilon": self.epsilon,
            "steps": self.steps,
            "step_size": self.alpha,
            "random_start": self.random_start,
        }


@dataclass(frozen=True)
class RobustEvalConfig:
    """PGD evaluation settings; step size None = 2.5·ε/steps."""

    epsilon: float
    steps: int = EVAL_STEPS
    step_size: float | None = None
    images: int = EVAL_IMAGES
    seed: int = 0
    batch_size: int = 250

    def attack(self) -> PGDConfig:
        return PGDConfig(self.epsilon, self.steps, self.step_size, random_start=True)

    def key(self) -> str:
        """A name for cached results with these settings."""
        return (
            f"eps{self.epsilon:.5f}-steps{self.steps}-alpha{self.attack().alpha:.5f}"
            f"-n{self.images}-s{self.seed}"
        )


def fixed_subset(n_total: int, n: int, seed: int) -> np.ndarray:
    """The same `n` test indices for every model (sorted, seeded)."""
    if n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))
