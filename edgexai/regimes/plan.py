"""What a regime does at each step of a build, so build.py only dispatches.

A build is: start model (fresh, or the natural parent for post/tuned) → `prepare` (prune or
mask) → train with the regime's `loss_fn` unless the timing is `post` → `finalize` (masks made
permanent) → evaluate. The per-regime code lives in adversarial.py, unstructured.py and
structured.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from edgexai.errors import EdgexaiError
from edgexai.regimes import PRUNING, RegimeSettings
from edgexai.regimes.train import LossFn


@dataclass(frozen=True)
class RegimePlan:
    regime: str
    timing: str | None
    settings: RegimeSettings

    @property
    def from_parent(self) -> bool:
        """post and tuned (pruning, and adversarial tuned) start from the natural parent."""
        return self.timing in ("post", "tuned")

    @property
    def trains(self) -> bool:
        return self.timing != "post"

    @property
    def fine_tunes(self) -> bool:
        return self.timing == "tuned"

    def check(self) -> None:
        """Reject bad settings before any data is read."""
        from edgexai.regimes.adversarial import adversarial_config
        from edgexai.regimes.structured import layered_config

        s = self.settings
        adversarial_config(s).check()
        if self.regime == "layered":
            layered_config(s).check()
        if self.regime in ("l1", "global"):
            from edgexai.regimes.unstructured import check_amount

            check_amount("--amount", 0.0 if s.amount is None else s.amount)
            check_amount("--amount-linear", 0.0 if s.amount_linear is None else s.amount_linear)
        if not 0 < s.adv_fraction <= 1:
            raise EdgexaiError(f"--adv-fraction must be in (0, 1] (got {s.adv_fraction})")

    def prepare(self, model: nn.Module, arch: str, input_size: int) -> dict | None:
        """Prune or mask the start model in place; returns what was done (None: nothing)."""
        s = self.settings
        if self.regime == "l1":
            from edgexai.regimes.unstructured import L1_CONV_AMOUNT, L1_LINEAR_AMOUNT, prune_l1

            return prune_l1(model, L1_CONV_AMOUNT if s.amount is None else s.amount,
                            L1_LINEAR_AMOUNT if s.amount_linear is None else s.amount_linear)
        if self.regime == "global":
            from edgexai.regimes.unstructured import GLOBAL_AMOUNT, prune_global

            return prune_global(model, GLOBAL_AMOUNT if s.amount is None else s.amount)
        if self.regime == "layered":
            from edgexai.regimes.structured import apply_layered, layered_config

            return apply_layered(model, arch, input_size, layered_config(s))
        return None

    def loss_fn(self, mean, std, seed: int) -> LossFn | None:
        """The adversarial loss for adversarial builds; None = the trainer's cross-entropy."""
        if self.regime != "adversarial":
            return None
        from edgexai.regimes.adversarial import adversarial_config, adversarial_loss

        return adversarial_loss(mean, std, adversarial_config(self.settings),
                                self.settings.adv_fraction, seed)

    def finalize(self, model: nn.Module) -> nn.Module:
        """Make masks permanent (no-op where there are none)."""
        if self.regime in PRUNING:
            from edgexai.regimes.unstructured import make_permanent

            make_permanent(model)
        return model

    def parameters(self, prepared: dict | None) -> dict:
        """The regime's parameters as used, for the manifest."""
        out: dict = {"regime": self.regime, "timing": self.timing}
        if self.regime == "adversarial":
            from edgexai.regimes.adversarial import adversarial_config

            out["attack"] = adversarial_config(self.settings).as_dict()
            out["adv_fraction"] = self.settings.adv_fraction
            out["start"] = "natural parent" if self.from_parent else "random init"
        if prepared is not None:
            out["pruning"] = prepared
        return out
