"""Class probabilities from logits, the one definition the vehicle, the API and the metrics share
(so a probability logged by `run`, returned by `edgexai.load(...).predict` and scored by ROAD is
the same number)."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of N×C logits, shifted by each row's maximum so exp cannot overflow."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
