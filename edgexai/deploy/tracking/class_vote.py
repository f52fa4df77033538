"""One class per track: a confidence-weighted vote over the track's frames.

Each frame adds its detection's score (sign score × classifier confidence) to its class. The track
shows no class before it is confirmed; at confirmation it shows the vote's leader. Later the shown
class changes only when another class has gathered `switch_ratio` times the shown class's weight
(a relabel, counted and logged), so a frame or two of a wrong class never makes a driver display
flicker, while a track that truly was misread early is corrected.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ClassVote:
    switch_ratio: float = 2.0
    weights: dict[int, float] = field(default_factory=dict)
    shown: int | None = None
    relabels: int = 0

    def add(self, class_id: int, weight: float) -> None:
        self.weights[class_id] = self.weights.get(class_id, 0.0) + max(float(weight), 1e-6)

    @property
    def leader(self) -> int | None:
        return max(self.weights, key=lambda k: (self.weights[k], -k)) if self.weights else None

    def confirm(self) -> int | None:
        """The class shown from now on (the leader), or a relabel when another class has
        `switch_ratio` times the shown one's weight; returns the shown class."""
        lead = self.leader
        if self.shown is None:
            self.shown = lead
        elif lead != self.shown and self.weights[lead] >= self.switch_ratio * self.weights.get(
            self.shown, 0.0
        ):
            self.shown = lead
            self.relabels += 1
        return self.shown

    def share(self, class_id: int | None) -> float:
        total = sum(self.weights.values())
        return self.weights.get(class_id, 0.0) / total if total and class_id is not None else 0.0
