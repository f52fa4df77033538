"""The natural regime: plain training from a fresh model, the parent of every post/tuned build."""

from __future__ import annotations

from edgexai.train.regimes.regime_base import Regime, Timing
from edgexai.train.regimes.regime_registry import register_regime


@register_regime
class Natural(Regime):
    """Nothing beyond the trainer's cross-entropy; no timing."""

    name = "natural"

    @classmethod
    def timing_error(cls, timing: Timing) -> str:
        return "--timing applies to the pruning regimes (and adversarial tuned); natural takes none"

    @classmethod
    def matrix_order(cls, timing: Timing) -> tuple[int, float]:
        return 0, 1.0  # the parent: built before every other cell
