"""Unstructured magnitude pruning with torch.nn.utils.prune: per layer (l1) or global.

Masks stay attached while the model trains (pruned weights stay zero whatever the optimiser
does); `make_permanent` folds them into plain weights before saving, so neither the state dict
nor an exported graph carries the mask multiply.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils import prune

from edgexai.core.errors import EdgexaiError
from edgexai.train.regimes import RegimeSettings
from edgexai.train.regimes.weights import prunable_layers

# The paper's settings (Suwal et al. 2025, arXiv 2509.20148): l1 20 % of each conv, 10 % of each linear; global 20 %.
L1_CONV_AMOUNT = 0.2
L1_LINEAR_AMOUNT = 0.1
GLOBAL_AMOUNT = 0.2


def check_amount(flag: str, amount: float) -> None:
    if not 0 <= amount < 1:
        raise EdgexaiError(f"{flag} must be in [0, 1) (got {amount})")


def check_amounts(settings: RegimeSettings) -> None:
    """--amount and --amount-linear in [0, 1) (None: the regime's default, which is)."""
    check_amount("--amount", 0.0 if settings.amount is None else settings.amount)
    check_amount(
        "--amount-linear", 0.0 if settings.amount_linear is None else settings.amount_linear
    )


def expected_zeros(n: int, amount: float) -> int:
    """How many weights torch's pruning zeroes in a tensor of n (it rounds amount·n)."""
    return round(amount * n)


def prune_l1(
    model: nn.Module, conv_amount: float = L1_CONV_AMOUNT, linear_amount: float = L1_LINEAR_AMOUNT
) -> dict:
    """Zero the smallest-|w| fraction of every conv and linear layer separately."""
    check_amount("--amount", conv_amount)
    check_amount("--amount-linear", linear_amount)
    target = total = 0
    for _, m in prunable_layers(model):
        amount = conv_amount if isinstance(m, nn.Conv2d) else linear_amount
        prune.l1_unstructured(m, "weight", amount=amount)
        target += expected_zeros(m.weight.numel(), amount)
        total += m.weight.numel()
    return {
        "method": "torch.nn.utils.prune.l1_unstructured per layer",
        "amount_conv": conv_amount,
        "amount_linear": linear_amount,
        "requested_sparsity": round(target / max(1, total), 6),
    }


def prune_global(model: nn.Module, amount: float = GLOBAL_AMOUNT) -> dict:
    """Zero the smallest-|w| fraction of all conv and linear weights ranked together."""
    check_amount("--amount", amount)
    params = [(m, "weight") for _, m in prunable_layers(model)]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    return {
        "method": "torch.nn.utils.prune.global_unstructured(L1Unstructured) over conv+linear",
        "amount": amount,
        "requested_sparsity": amount,
    }


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold every attached pruning mask into its weight (prune.remove) and drop the hooks."""
    for _, m in model.named_modules():
        if prune.is_pruned(m) and not list(m.children()):
            for hook in list(m._forward_pre_hooks.values()):
                if isinstance(hook, prune.BasePruningMethod):
                    prune.remove(m, hook._tensor_name)
    return model
