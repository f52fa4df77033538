"""When a classified candidate is reported as a sign: the rule and its calibrated thresholds.

score = sign score × classifier confidence, where the sign score is the finder's (the detector's
heat-map peak, or the colour cascade's HOG rejector). A candidate is reported when its sign score
reaches `min_sign_score` (the detector's candidates are cut there before classifying), its
confidence reaches `min_confidence`, and its score reaches `min_score`. The product measured
better than either score alone for the cascade (docs/RESULTS.md, issue 6) and for the detector
(issue 18). Each finder carries its own calibration: the cascade's constants below (GTSDB frames
0–399 ≡ 3 mod 4), the detector's in its build manifest (`decision`, written by
`edgexai detector calibrate` from frames 0–399 only), with built-in values for a detector that has
none yet.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from edgexai.core.errors import EdgexaiError


@dataclass(frozen=True)
class Decision:
    min_score: float
    min_confidence: float = 0.0
    min_sign_score: float = 0.0
    source: str = "built-in"

    def score(self, sign: np.ndarray, confidence: np.ndarray) -> np.ndarray:
        return np.asarray(sign, np.float64) * np.asarray(confidence, np.float64)

    def accepts(self, sign: np.ndarray, confidence: np.ndarray, score: np.ndarray) -> np.ndarray:
        return (
            (np.asarray(sign) >= self.min_sign_score)
            & (np.asarray(confidence) >= self.min_confidence)
            & (score >= self.min_score)
        )

    def override(self, min_score: float | None, min_confidence: float | None) -> Decision:
        """The user's --min-score / --min-confidence over the calibrated values."""
        changes = {
            k: v
            for k, v in (("min_score", min_score), ("min_confidence", min_confidence))
            if v is not None
        }
        return replace(self, **changes, source=self.source + " + command line") if changes else self

    def describe(self) -> dict[str, Any]:
        return {"rule": "sign_score × confidence", **asdict(self)}


# The cascade's calibration (the score sweep, now `edgexai score --calibrate`, on frames 0–399 ≡ 3 mod 4).
COLOUR = Decision(min_score=0.5, source="colour cascade, calibrated on GTSDB 0–399 ≡ 3 mod 4")
# A detector whose manifest has no calibrated decision yet.
DETECTOR = Decision(min_score=0.3, min_sign_score=0.1, source="built-in (uncalibrated detector)")


def from_manifest(entry: dict[str, Any]) -> Decision:
    """A detector build's calibrated decision (manifest `decision`)."""
    try:
        d = Decision(
            min_score=float(entry["min_score"]),
            min_confidence=float(entry.get("min_confidence", 0.0)),
            min_sign_score=float(entry["min_sign_score"]),
            source=str(entry.get("source", "the detector's manifest")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise EdgexaiError(f"the detector manifest's 'decision' is malformed ({exc})") from None
    for name, v in (
        ("min_score", d.min_score),
        ("min_confidence", d.min_confidence),
        ("min_sign_score", d.min_sign_score),
    ):
        if not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise EdgexaiError(f"the detector manifest's decision.{name} must be in [0, 1]")
    return d
