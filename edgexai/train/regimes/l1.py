"""The l1 regime: unstructured magnitude pruning of every conv and linear layer separately."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgexai.train.regimes.regime_base import PruningRegime
from edgexai.train.regimes.regime_registry import register_regime

if TYPE_CHECKING:
    from torch import nn


@register_regime
class L1(PruningRegime):
    """The smallest-|w| share of each conv (default 20 %) and linear layer (10 %), as masks."""

    name = "l1"

    def check_settings(self) -> None:
        from edgexai.train.regimes.unstructured import check_amounts

        check_amounts(self.settings)

    def prepare(self, model: nn.Module, arch: str, input_size: int) -> dict[str, Any]:
        from edgexai.train.regimes.unstructured import L1_CONV_AMOUNT, L1_LINEAR_AMOUNT, prune_l1

        s = self.settings
        return prune_l1(
            model,
            L1_CONV_AMOUNT if s.amount is None else s.amount,
            L1_LINEAR_AMOUNT if s.amount_linear is None else s.amount_linear,
        )
