"""Choosing the decision's thresholds from scored candidates (numpy; tuning frames only).

Input: every classified candidate of the tuning frames with its sign score, classifier confidence
and class (an `edgexai run --min-score 0 --candidate-threshold LOW` log). The rule is fixed —
score = sign score × confidence (edgexai.deploy.pipeline.decision) — and the sweep picks, over a grid of
(min_sign_score, min_score), the pair with the highest class-aware recall at precision ≥ the
target; ties go to the higher thresholds. Alternatives (sign score alone, confidence alone) are
swept the same way so their figures can be reported beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from edgexai.core.detection.scoring import FrameDets, at_threshold, match_frames

GRID = np.round(np.arange(0.0, 1.0, 0.025), 3)


@dataclass
class Candidate:
    box: tuple[float, float, float, float]
    sign_score: float
    confidence: float
    class_id: int


def _frames(cands: Mapping[str, list[Candidate]], keep, score) -> dict[str, FrameDets]:
    out = {}
    for k, cs in cands.items():
        cs = [c for c in cs if keep(c)]
        out[k] = FrameDets(
            np.array([c.box for c in cs], np.float32).reshape(-1, 4),
            np.array([score(c) for c in cs], np.float32),
            np.array([c.class_id for c in cs], np.int64),
        )
    return out


def sweep(
    cands: Mapping[str, list[Candidate]],
    gt: Mapping[str, list],
    target_precision: float,
    rule: str = "product",
    min_size: float = 20.0,
) -> dict[str, float] | None:
    """The best operating point of `rule` ('product', 'sign', 'confidence') at the target."""
    score = {
        "product": lambda c: c.sign_score * c.confidence,
        "sign": lambda c: c.sign_score,
        "confidence": lambda c: c.confidence,
    }[rule]
    best = None
    gates = GRID if rule == "product" else [0.0]
    for gate in gates:
        out = match_frames(_frames(cands, lambda c, g=gate: c.sign_score >= g, score), gt, min_size)
        for t in GRID:
            r = at_threshold(out, float(t))
            if r["precision"] < target_precision:
                continue
            point = {
                "rule": rule,
                "min_sign_score": float(gate),
                "min_score": float(t),
                "recall": round(r["recall"], 4),
                "precision": round(r["precision"], 4),
                "false_alarms_per_frame": round(r["false_alarms_per_frame"], 4),
            }
            if best is None or (point["recall"], point["min_score"], point["min_sign_score"]) > (
                best["recall"],
                best["min_score"],
                best["min_sign_score"],
            ):
                best = point
    return best
