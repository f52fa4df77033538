"""What the GTSRB/GTSDB class ids mean for finding signs: the GTSDB benchmark's categories, each
class's outline (for alpha-masking pasted training signs) and which classes survive a mirror flip.

Why here: the detector's training (synthetic composites, flips), its scoring (AP per category) and
the reports all need the same facts, so they live once.
"""

from __future__ import annotations

from edgexai.core.classes import NUM_CLASSES

# Houben et al. 2013 (the GTSDB paper): the three scored categories; the rest is "other".
CATEGORIES: dict[str, frozenset[int]] = {
    "prohibitory": frozenset({0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 15, 16}),
    "danger": frozenset({11, *range(18, 32)}),
    "mandatory": frozenset(range(33, 41)),
}
OTHER = "other"

# Outline of each sign, as the mask a pasted GTSRB crop is cut with.
SHAPES: dict[int, str] = {c: "circle" for c in range(NUM_CLASSES)}
SHAPES.update({c: "triangle" for c in (11, *range(18, 32))})
SHAPES.update({12: "diamond", 13: "inverted_triangle", 14: "octagon"})

# Classes whose mirror image is the same sign. Arrows, curves, digits and text never flip (a flipped
# "keep right" is not a sign a camera sees, and a flipped "30" is no sign at all).
FLIP_SAFE: frozenset[int] = frozenset({11, 12, 13, 15, 17, 18, 22, 26, 30})


def category_of(class_id: int) -> str:
    """The GTSDB category of a class id ('other' outside the three scored ones)."""
    for name, ids in CATEGORIES.items():
        if class_id in ids:
            return name
    return OTHER
