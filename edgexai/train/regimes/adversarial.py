"""The adversarial regime: PGD adversarial training under an L∞ budget in [0, 1] pixel units.

From scratch (no timing) or as adversarial fine-tuning of the natural parent (`tuned`); both are
the paper's one adversarial cell. The attack and the loss are torch code in edgexai.train.attacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgexai.train.regimes.regime_base import MATRIX_PHASE, Regime, Timing
from edgexai.train.regimes.regime_registry import register_regime

if TYPE_CHECKING:
    from edgexai.core.metrics.robustness import PGDConfig
    from edgexai.train.attacks import LossFn


@register_regime
class Adversarial(Regime):
    """Cross-entropy on batches whose first `adv_fraction` is replaced by PGD examples."""

    name = "adversarial"
    timings = (None, "tuned")
    # From scratch costs ~40 natural-epoch equivalents on a CPU at 7 steps: built only when named.
    matrix_timings = ("tuned",)

    @classmethod
    def timing_error(cls, timing: Timing) -> str:
        return (
            f"--timing {timing} does not apply to adversarial; use none (train from scratch) "
            "or tuned (fine-tune the natural parent adversarially)"
        )

    def attack(self) -> PGDConfig:
        """The training attack from the build settings."""
        from edgexai.core.metrics.robustness import PGDConfig

        s = self.settings
        return PGDConfig(s.epsilon, s.pgd_steps, s.pgd_step_size, s.random_start)

    def loss_fn(self, mean, std, seed: int) -> LossFn:
        from edgexai.train.attacks import adversarial_loss

        return adversarial_loss(mean, std, self.attack(), self.settings.adv_fraction, seed)

    def record(self) -> dict[str, Any]:
        return {
            "attack": self.attack().as_dict(),
            "adv_fraction": self.settings.adv_fraction,
            "start": "natural parent" if self.from_parent else "random init",
        }

    @classmethod
    def matrix_order(cls, timing: Timing) -> tuple[int, float]:
        return MATRIX_PHASE[timing], 4.0  # every step also runs the attack's (3) steps

    @classmethod
    def matrix_flags(cls, timing: Timing, matrix: Any) -> list[str]:
        if timing != "tuned":
            return []
        return ["--epochs", str(matrix.adv_epochs), "--pgd-steps", str(matrix.adv_steps)]
