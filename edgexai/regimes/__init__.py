"""Training regimes: how a model is trained or transformed (natural, adversarial, pruning).

Stdlib only at import (the CLI's --help reads these names and defaults without torch); the
implementations live in adversarial.py, unstructured.py, structured.py, parent.py and plan.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from edgexai.errors import EdgexaiError, NotAvailableError

REGIMES = ("natural", "adversarial", "l1", "global", "layered")
PRUNING = ("l1", "global", "layered")
TIMINGS = ("pre", "post", "tuned")
AVAILABLE = REGIMES

# Defaults shown in --help (the implementations import these).
DEFAULT_EPSILON = 8 / 255  # pixel units; the paper's 0.1 was in normalised units (≈ 0.022 px)
DEFAULT_PGD_STEPS = 7  # training attack; evaluation always uses 20
LAYERED_MODES = ("remove", "mask")
LAYERED_SCOPES = ("layer", "global")


@dataclass(frozen=True)
class RegimeSettings:
    """Everything a regime can be told; None means the regime's own default (recorded resolved)."""

    amount: float | None = None  # l1: conv share (0.2); global: 0.2; layered: 0.5 (mask: 0.1)
    amount_linear: float | None = None  # l1 only: linear share (0.1)
    layered_mode: str = "remove"  # remove channels for real | mask filters (the paper's)
    layered_scope: str = "layer"  # one ratio per layer | ranked globally with a per-layer cap
    max_layer_amount: float = 0.8  # cap per layer in the global scope
    round_to: int = 8  # channel counts kept at multiples of this
    importance: str = "l2"  # channel importance: L2 or L1 magnitude
    prune_steps: int = 1  # iterative schedule steps for layered
    epsilon: float = DEFAULT_EPSILON  # PGD L∞ budget in [0, 1] pixel units (train and evaluation)
    pgd_steps: int = DEFAULT_PGD_STEPS  # training attack steps
    pgd_step_size: float | None = None  # None: 2.5·ε/steps
    random_start: bool = True
    adv_fraction: float = 1.0  # share of each batch replaced by its adversarial version

    def as_dict(self) -> dict:
        return asdict(self)


def check_available(regime: str) -> None:
    """Refuse regimes whose implementation has not landed, with a clear message."""
    if regime not in AVAILABLE:
        raise NotAvailableError(f"regime {regime!r} is not available yet (available: "
                                f"{', '.join(AVAILABLE)}); it is planned in the regimes issue")


def resolve_timing(regime: str, timing: str | None) -> str | None:
    """The timing a build really uses: pruning defaults to `tuned`; natural takes none;
    adversarial takes none (trained from scratch) or `tuned` (adversarial fine-tuning of the
    natural parent)."""
    if timing is not None and timing not in TIMINGS:
        raise EdgexaiError(f"unknown timing {timing!r}; choose one of: {', '.join(TIMINGS)}")
    if regime in PRUNING:
        return timing or "tuned"
    if regime == "natural" and timing is not None:
        raise EdgexaiError("--timing applies to the pruning regimes (and adversarial tuned); "
                           "natural takes none")
    if regime == "adversarial" and timing not in (None, "tuned"):
        raise EdgexaiError(f"--timing {timing} does not apply to adversarial; use none (train "
                           "from scratch) or tuned (fine-tune the natural parent adversarially)")
    return timing
