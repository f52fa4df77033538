"""The layered regime: structured pruning, channels removed for real (or the paper's filter
masks); the Torch-Pruning mechanics are in structured.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edgexai.train.regimes.regime_base import MATRIX_PHASE, PruningRegime, Timing
from edgexai.train.regimes.regime_registry import register_regime

if TYPE_CHECKING:
    from torch import nn


@register_regime
class Layered(PruningRegime):
    """Half of each layer's channels removed by default (remove mode), or 10 % of filters masked."""

    name = "layered"

    def check_settings(self) -> None:
        from edgexai.train.regimes.structured import layered_config

        layered_config(self.settings).check()

    def prepare(self, model: nn.Module, arch: str, input_size: int) -> dict[str, Any]:
        from edgexai.train.regimes.structured import apply_layered, layered_config

        return apply_layered(model, arch, input_size, layered_config(self.settings))

    @classmethod
    def matrix_order(cls, timing: Timing) -> tuple[int, float]:
        # what trains after pruning is a quarter of the natural model's MACs
        return MATRIX_PHASE[timing], 1.0 if timing == "post" else 0.25
