"""The global regime: unstructured magnitude pruning with all conv and linear weights ranked
together. (The module is `global_` because `global` is a Python keyword.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgexai.train.regimes.regime_base import PruningRegime
from edgexai.train.regimes.regime_registry import register_regime

if TYPE_CHECKING:
    from torch import nn


@register_regime
class Global(PruningRegime):
    """The smallest-|w| share (default 20 %) of every conv and linear weight, as masks."""

    name = "global"

    def check_settings(self) -> None:
        from edgexai.train.regimes.unstructured import check_amounts

        check_amounts(self.settings)

    def prepare(self, model: nn.Module, arch: str, input_size: int) -> dict[str, Any]:
        from edgexai.train.regimes.unstructured import GLOBAL_AMOUNT, prune_global

        s = self.settings
        return prune_global(model, GLOBAL_AMOUNT if s.amount is None else s.amount)
