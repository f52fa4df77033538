"""What an in-vehicle display shows: the speed limit in force, overtaking bans, recent warnings.

GTSRB class ids (shared by GTSDB): speed limits 0–5, 7, 8 (20 … 120 km/h); 6 ends the 80 limit;
32 ends every speed and passing limit; 9 / 10 ban passing (all vehicles / trucks over 3.5 t),
ended by 41 / 42; the warnings 18–31 are held `warning_hold_s` seconds after their sign was last
seen. A sign acts when its track is confirmed (or relabelled), never on a single frame. The state
applies only to a classifier with the 43 GTSRB classes (a user's own class set has no such
meaning): `SignsInForce.for_classes` returns None otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgexai.core.classes import GTSRB_CLASSES

SPEED_LIMITS = {0: 20, 1: 30, 2: 50, 3: 60, 4: 70, 5: 80, 7: 100, 8: 120}
END_80, END_ALL = 6, 32
BANS = {9: "no passing", 10: "no passing for trucks"}
BAN_ENDS = {41: 9, 42: 10}
WARNINGS = range(18, 32)


@dataclass
class SignsInForce:
    warning_hold_s: float = 5.0
    speed_limit: int | None = None
    bans: dict[int, int] = field(default_factory=dict)  # ban class → the track that set it
    warnings: dict[int, tuple[float, int]] = field(default_factory=dict)  # → (until, track)
    limit_track: int | None = None

    @classmethod
    def for_classes(cls, classes: list[str], warning_hold_s: float = 5.0) -> SignsInForce | None:
        return cls(warning_hold_s) if tuple(classes) == GTSRB_CLASSES else None

    def snapshot(self) -> dict[str, Any]:
        """The state as logged and served."""
        return {
            "speed_limit": self.speed_limit,
            "limit_track": self.limit_track,
            "bans": [{"name": BANS[k], "track_id": t} for k, t in sorted(self.bans.items())],
            "warnings": [
                {"name": GTSRB_CLASSES[k], "track_id": t}
                for k, (_, t) in sorted(self.warnings.items())
            ],
        }

    def sign(self, class_id: int, track_id: int, now: float) -> list[str]:
        """A confirmed sign of `class_id`; returns what changed (empty: nothing)."""
        changes: list[str] = []
        if class_id in SPEED_LIMITS:
            if self.speed_limit != SPEED_LIMITS[class_id]:
                changes.append(f"speed limit {SPEED_LIMITS[class_id]}")
            self.speed_limit, self.limit_track = SPEED_LIMITS[class_id], track_id
        elif class_id == END_80 and self.speed_limit == 80:
            self.speed_limit, self.limit_track = None, None
            changes.append("speed limit 80 ended")
        elif class_id == END_ALL:
            if self.speed_limit is not None or self.bans:
                changes.append("all limits ended")
            self.speed_limit, self.limit_track = None, None
            self.bans.clear()
        elif class_id in BANS:
            if class_id not in self.bans:
                changes.append(BANS[class_id])
            self.bans[class_id] = track_id
        elif class_id in BAN_ENDS:
            if self.bans.pop(BAN_ENDS[class_id], None) is not None:
                changes.append(f"{BANS[BAN_ENDS[class_id]]} ended")
        elif class_id in WARNINGS:
            if class_id not in self.warnings:
                changes.append(f"warning: {GTSRB_CLASSES[class_id]}")
            self.warnings[class_id] = (now + self.warning_hold_s, track_id)
        return changes

    def seen(self, class_id: int, track_id: int, now: float) -> None:
        """A confirmed warning sign still in view keeps its warning."""
        if class_id in self.warnings:
            self.warnings[class_id] = (now + self.warning_hold_s, track_id)

    def expire(self, now: float) -> list[str]:
        gone = [k for k, (until, _) in self.warnings.items() if until < now]
        for k in gone:
            del self.warnings[k]
        return [f"warning over: {GTSRB_CLASSES[k]}" for k in sorted(gone)]
