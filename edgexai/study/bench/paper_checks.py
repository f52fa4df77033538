"""How a verdict on one of the paper's findings is decided from one measured difference: a
`Check` (the difference with its 95 % interval, or a point estimate) against a threshold gives
"agree", "disagree" or "inconclusive"; several outcomes combine into one (edgexai.study.bench.paper
states the findings)."""

from __future__ import annotations

INCONCLUSIVE = "interval includes the threshold"


def fmt_ci(ci: list[float] | None, digits: int = 3, sign: bool = False) -> str:
    """' [lo, hi]', or '' without an interval."""
    if not ci:
        return ""
    f = f"{{:{'+' if sign else ''}.{digits}f}}"
    return f" [{f.format(ci[0])}, {f.format(ci[1])}]"


class Check:
    """One difference a finding tests: with its interval; a constant paired difference (every
    resample the same: `note` 'constant sample') is exact, [value, value]; without an interval
    otherwise (n < 2) it decides nothing; `point`: a difference of means (no per-image outcomes),
    decided on its value and marked."""

    def __init__(
        self,
        label: str,
        value: float,
        ci95: list[float] | None,
        note: str | None = None,
        point: bool = False,
    ) -> None:
        self.label, self.value, self.point = label, float(value), point
        exact = ci95 is None and note == "constant sample"
        self.ci95 = [self.value, self.value] if exact else ci95

    def text(self) -> str:
        return f"{self.label} {self.value:+.3f}" + fmt_ci(self.ci95, sign=True)

    def bounds(self) -> tuple[float, float] | None:
        """The interval; the value for a point estimate; None: undecidable."""
        if self.ci95 is not None:
            return self.ci95[0], self.ci95[1]
        return (self.value, self.value) if self.point else None


def above(check: Check, threshold: float) -> str:
    """The claim 'value > threshold': agree | disagree | inconclusive."""
    b = check.bounds()
    if b is None:
        return "inconclusive"
    if b[0] > threshold:
        return "agree"
    return "disagree" if b[1] < threshold or (check.point and b[1] == threshold) else "inconclusive"


def within(check: Check, limit: float) -> str:
    """The claim '|value| ≤ limit'."""
    b = check.bounds()
    if b is None:
        return "inconclusive"
    if -limit < b[0] and b[1] < limit or (check.point and abs(check.value) <= limit):
        return "agree"
    return "disagree" if b[0] > limit or b[1] < -limit else "inconclusive"


def below(check: Check, threshold: float) -> str:
    """The claim 'value < threshold'."""
    b = check.bounds()
    if b is None:
        return "inconclusive"
    if b[1] < threshold:
        return "agree"
    return "disagree" if b[0] > threshold or check.point else "inconclusive"


def combine(outcomes: list[str]) -> str:
    """All agree → agree; all disagree → disagree; any undecided → inconclusive; else partly."""
    if "inconclusive" in outcomes:
        return "inconclusive"
    if all(o == "agree" for o in outcomes):
        return "agree"
    return "disagree" if all(o == "disagree" for o in outcomes) else "partly"


def verdict_text(outcome: str, marks: list[str]) -> str:
    """'agree', 'inconclusive (interval includes the threshold)', 'agree (quick builds: …)'."""
    parts = ([INCONCLUSIVE] if outcome == "inconclusive" else []) + marks
    return outcome + (f" ({'; '.join(parts)})" if parts else "")
