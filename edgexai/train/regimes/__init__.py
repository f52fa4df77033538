"""Training regimes: how a model is trained or transformed (natural, adversarial, pruning).

No torch at import (the CLI's --help reads the settings, their defaults and the regime names
without it). Each regime is one class in its own module (natural.py, adversarial.py, l1.py,
global_.py, layered.py) behind the protocol in base.py, found through registry.py; the torch
mechanics they call live in unstructured.py, structured.py, weights.py and edgexai.train.attacks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edgexai.core.options import opt

# The build's timings: when a regime's transformation meets training. pre: at initialisation,
# then train; post: on the trained natural parent, no training; tuned: on the parent, then
# fine-tune. Each regime says which it accepts (base.Regime.timings).
TIMINGS = ("pre", "post", "tuned")

# Defaults shown in --help (the implementations import these).
DEFAULT_EPSILON = 8 / 255  # pixel units; the paper's 0.1 was in normalised units (≈ 0.022 px)
DEFAULT_PGD_STEPS = 7  # training attack; evaluation always uses 20
LAYERED_MODES = ("remove", "mask")
LAYERED_SCOPES = ("layer", "global")
IMPORTANCES = ("l2", "l1")

PRUNING_GROUP = "pruning (l1, global, layered)"
ADVERSARIAL_GROUP = "adversarial training and robust evaluation (PGD, L-infinity)"


@dataclass(frozen=True)
class RegimeSettings:
    """Everything a regime can be told; None means the regime's own default (recorded resolved).
    Each field is also its `edgexai build` option (edgexai.core.options)."""

    amount: float | None = opt(
        None,
        "share pruned. l1: of each conv's weights (default 0.2; the paper's); global: of "
        "all conv+linear weights (0.2); layered: of each layer's channels (0.5 in remove mode; "
        "0.1 of filters in mask mode, the paper's)",
        type=float,
        group=PRUNING_GROUP,
    )
    amount_linear: float | None = opt(
        None,
        "l1: share of each linear layer's weights (default 0.1; the paper's)",
        type=float,
        group=PRUNING_GROUP,
    )
    layered_mode: str = opt(
        "remove",
        "remove: take channels out for real (Torch-Pruning dependency graph, residual "
        "groups together, classifier kept) so the model is smaller and faster; mask: the "
        "paper's ln_structured filter masks (no speed-up)",
        choices=LAYERED_MODES,
        group=PRUNING_GROUP,
    )
    layered_scope: str = opt(
        "layer",
        "layer: every layer loses --amount of its channels; global: channels ranked "
        "across layers, each layer capped at --max-layer-amount",
        choices=LAYERED_SCOPES,
        group=PRUNING_GROUP,
    )
    max_layer_amount: float = opt(
        0.8, "global scope: the most any one layer may lose", group=PRUNING_GROUP
    )
    round_to: int = opt(8, "layered: keep channel counts at multiples of this", group=PRUNING_GROUP)
    importance: str = opt(
        "l2",
        "layered: channel importance (weight-magnitude norm)",
        choices=IMPORTANCES,
        group=PRUNING_GROUP,
    )
    prune_steps: int = opt(
        1, "layered: reach --amount in this many equal pruning steps", group=PRUNING_GROUP
    )
    epsilon: float = opt(
        DEFAULT_EPSILON,
        "L-infinity budget in [0, 1] PIXEL units, for adversarial training and "
        "for the robust accuracy of every regime (default 8/255 ≈ 0.0314: each pixel may move 8 "
        "of 255 levels; adversarial images are clipped to [0, 1]). The paper's ε = 0.1 was in "
        "normalised units, ≈ 0.1 × std ≈ 0.022 here (≈ 5.7/255)",
        group=ADVERSARIAL_GROUP,
    )
    pgd_steps: int = opt(
        DEFAULT_PGD_STEPS,
        "PGD steps of the training attack (evaluation always uses --robust-steps)",
        group=ADVERSARIAL_GROUP,
    )
    pgd_step_size: float | None = opt(
        None, "PGD step in pixel units (default 2.5·ε/steps)", type=float, group=ADVERSARIAL_GROUP
    )
    random_start: bool = opt(
        True,
        "start the training attack at the image instead of a random point in the ε-ball",
        group=ADVERSARIAL_GROUP,
    )
    adv_fraction: float = opt(
        1.0,
        "share of each batch replaced by its adversarial version (1 = all adversarial; "
        "0.5 = mixed clean/adversarial)",
        group=ADVERSARIAL_GROUP,
    )

    def as_dict(self) -> dict:
        return asdict(self)
