"""Robust accuracy under PGD L∞ on a fixed, seeded subset of the official test set.

Training side only (imports torch). Every regime is scored on the same images with the same
random starts, so robust accuracies compare across regimes: the subset and the starts depend only
on `seed`, the test set and the image count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from edgexai.regimes import DEFAULT_EPSILON
from edgexai.regimes.adversarial import PGDConfig, PixelModel, pgd_attack

EVAL_STEPS = 20
EVAL_IMAGES = 1000


@dataclass(frozen=True)
class RobustEvalConfig:
    """PGD evaluation settings; step size None = 2.5·ε/steps."""

    epsilon: float = DEFAULT_EPSILON
    steps: int = EVAL_STEPS
    step_size: float | None = None
    images: int = EVAL_IMAGES
    seed: int = 0
    batch_size: int = 250

    def attack(self) -> PGDConfig:
        return PGDConfig(self.epsilon, self.steps, self.step_size, random_start=True)

    def key(self) -> str:
        """A name for cached results with these settings."""
        return (f"eps{self.epsilon:.5f}-steps{self.steps}-alpha{self.attack().alpha:.5f}"
                f"-n{self.images}-s{self.seed}")


def fixed_subset(n_total: int, n: int, seed: int) -> np.ndarray:
    """The same `n` test indices for every model (sorted, seeded)."""
    if n >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))


def robust_accuracy(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, mean, std,
                    cfg: RobustEvalConfig, device: str | torch.device = "cpu") -> dict:
    """Clean and PGD accuracy on the fixed subset; the model is evaluated in eval mode."""
    idx = fixed_subset(len(labels), cfg.images, cfg.seed)
    model = model.to(device)
    was_training = model.training
    model.eval()
    requires = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    net = PixelModel(model, mean, std)
    gen = torch.Generator().manual_seed(cfg.seed + 104729)
    clean = robust = 0
    try:
        for i in range(0, len(idx), cfg.batch_size):
            j = idx[i:i + cfg.batch_size]
            x = torch.from_numpy(images[j]).to(device).permute(0, 3, 1, 2).float().div_(255)
            y = torch.from_numpy(labels[j]).long().to(device)
            with torch.no_grad():
                clean += int((net(x).argmax(1) == y).sum())
            adv = pgd_attack(net, x, y, cfg.attack(), gen)
            with torch.no_grad():
                robust += int((net(adv).argmax(1) == y).sum())
    finally:
        for p, r in zip(model.parameters(), requires, strict=True):
            p.requires_grad_(r)
        model.train(was_training)
    n = max(1, len(idx))
    return {"robust_accuracy": round(robust / n, 6), "clean_accuracy_subset": round(clean / n, 6),
            "images": int(len(idx)), **cfg.attack().as_dict(), "seed": cfg.seed,
            "subset": "official test, seeded sample", "key": cfg.key()}
