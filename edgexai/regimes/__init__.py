"""Training regimes: how a model is trained or transformed (natural, adversarial, pruning)."""

from edgexai.errors import NotAvailableError

REGIMES = ("natural", "adversarial", "l1", "global", "layered")
TIMINGS = ("pre", "post", "tuned")
AVAILABLE = ("natural",)


def check_available(regime: str) -> None:
    """Refuse regimes whose implementation has not landed, with a clear message."""
    if regime not in AVAILABLE:
        raise NotAvailableError(f"regime {regime!r} is not available yet (available: "
                                f"{', '.join(AVAILABLE)}); it is planned in the regimes issue")
