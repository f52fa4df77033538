"""The reference study's numbers (Suwal et al., arXiv 2509.20148,
from their code: GTSRB, ResNet-18, mean ROAD MoRF accuracy over p = 1, 11, …, 91 %, lower = more
faithful) and a verdict on each of its findings from our measured numbers.

A verdict is stated only where it is decided: "agree" / "disagree" where the 95 % interval of the
relevant difference (edgexai.study.bench.intervals: paired over the images both sides explained) lies
wholly on one side of the finding's threshold, else "inconclusive (interval includes the
threshold)". Without per-image outcomes (an old cache) the verdict falls back to the point
estimates and says so. Builds that are not full ones (the quick preset, a per-class image limit,
fewer epochs than their preset) make a verdict indicative only, and it is marked as such.
The rule that turns one difference into a verdict is paper_checks.py's; which builds are full,
paper_builds.py's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgexai.study.bench import aggregate, intervals
from edgexai.study.bench.paper_builds import mark_for
from edgexai.study.bench.paper_checks import (
    Check,
    above,
    below,
    combine,
    fmt_ci,
    verdict_text,
    within,
)

REFERENCE_MORF: dict[str, dict[str, float]] = {
    "natural": {"vg": 0.339, "ig": 0.397, "sg": 0.293},
    "adversarial": {"vg": 0.518, "ig": 0.528, "sg": 0.477},
    "global-tuned": {"vg": 0.323, "ig": 0.376, "sg": 0.288},
    "layered-tuned": {"vg": 0.376, "ig": 0.388, "sg": 0.326},
}
PAPER_METHODS = ("vg", "ig", "sg")
# "A little": the paper's largest |Δ MoRF| from pruning is 0.037 (layered-tuned VG); we call a
# change little when it stays within 0.05.
LITTLE = 0.05
SOURCE = (
    'Suwal et al., "Smaller is Better" (arXiv 2509.20148), numbers from their code: '
    "GTSRB, ResNet-18, mean ROAD MoRF accuracy over p = 1, 11, …, 91 %"
)


MORF = "road_morf_mean"
POINT_MARK = "no intervals: point estimates only"
# the cells each finding reads (their builds decide whether its verdict is marked)
FINDING_CELLS = (
    ("natural", "adversarial"),
    ("natural", "global-tuned", "layered-tuned"),
    tuple(REFERENCE_MORF),
)

# ---------------------------------------------------------------------------------------------
# numbers: ours (with intervals where there are per-image outcomes) beside the paper's


def morf(stats: dict[str, dict[str, Any]], cell: str, method: str) -> float | None:
    s = stats.get(cell)
    if s is None:
        return None
    return s["mean"].get(f"explain.{method}.{MORF}")


def _entry(stats: dict[str, dict[str, Any]], cell: str, method: str) -> dict[str, Any] | None:
    return ((stats.get(cell) or {}).get("intervals") or {}).get(f"explain.{method}.{MORF}")


def delta(stats: dict[str, dict[str, Any]], cell: str, method: str) -> Check | None:
    """Δ MoRF cell − natural: paired over images with its interval, or the difference of the
    means (no interval) without per-image outcomes."""
    e = _entry(stats, cell, method)
    if e is not None and e.get("diff") is not None:
        return Check(method.upper(), e["diff"], e.get("diff_ci95"), note=e.get("diff_note"))
    a, b = morf(stats, cell, method), morf(stats, "natural", method)
    return None if a is None or b is None else Check(method.upper(), a - b, None, point=True)


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def side_by_side(stats: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Rows: cell × method with ours (and its interval), the paper's, and both differences from
    natural (ours paired over images, with its interval)."""
    rows = []
    for cell, ref in REFERENCE_MORF.items():
        for method in PAPER_METHODS:
            e = _entry(stats, cell, method)
            d = None if cell == "natural" else delta(stats, cell, method)
            d_ref = ref[method] - REFERENCE_MORF["natural"][method]
            rows.append(
                [
                    cell,
                    method.upper(),
                    _fmt(morf(stats, cell, method)) + fmt_ci(e and e.get("ci95")),
                    f"{ref[method]:.3f}",
                    "–" if d is None else f"{d.value:+.3f}" + fmt_ci(d.ci95, sign=True),
                    "–" if cell == "natural" else f"{d_ref:+.3f}",
                ]
            )
    return rows


# ---------------------------------------------------------------------------------------------
# verdicts


def _finding(
    claim: str, rule: str, checks: list[tuple[Check, str]], evidence: str, missing: str, mark
) -> dict[str, Any]:
    """A verdict with its rule, numbers and mark, or "not measured" (saying what was missing)."""
    base = {"finding": claim, "rule": rule}
    if not checks:
        return {
            **base,
            "outcome": "not measured",
            "verdict": "not measured",
            "marked": False,
            "mark": None,
            "marked_why": [],
            "evidence": missing,
        }
    outcome = combine([o for _, o in checks])
    marks = [mark[0]] if mark[0] else []
    if any(c.point for c, _ in checks):
        marks.append(POINT_MARK)
    return {
        **base,
        "outcome": outcome,
        "verdict": verdict_text(outcome, marks),
        "marked": bool(marks),
        "mark": "; ".join(marks) or None,
        "marked_why": mark[1],
        "evidence": evidence,
    }


def _listing(checks: list[tuple[Check, str]]) -> str:
    return ", ".join(f"{c.text()} {o}" for c, o in checks)


def adversarial_finding(stats, models) -> dict[str, Any]:
    checks = [
        (d, above(d, LITTLE))
        for d in (delta(stats, "adversarial", m) for m in PAPER_METHODS)
        if d is not None
    ]
    return _finding(
        f"Adversarial training makes explanations clearly less faithful (ROAD MoRF higher by "
        f"more than {LITTLE}; the paper's rises are 0.131–0.184).",
        f"per method, agree where the 95 % interval of Δ MoRF (adversarial − natural, paired "
        f"images) lies above +{LITTLE}, disagree where it lies below, else inconclusive",
        checks,
        "Δ MoRF adversarial − natural: "
        + _listing(checks)
        + " (paper: VG +0.179, IG +0.131, SG +0.184)",
        "natural and adversarial were not both benched with ROAD",
        mark_for(models, FINDING_CELLS[0]),
    )


def pruning_finding(stats, models) -> dict[str, Any]:
    checks, parts = [], []
    for cell in ("global-tuned", "layered-tuned"):
        got = [
            (d, within(d, LITTLE))
            for d in (delta(stats, cell, m) for m in PAPER_METHODS)
            if d is not None
        ]
        checks += got
        if got:
            parts.append(f"{cell}: {_listing(got)}")
    small = sum(o == "agree" for _, o in checks)
    return _finding(
        f"Pruning changes faithfulness only a little (|Δ MoRF| ≤ {LITTLE} for global-tuned "
        "and layered-tuned; the paper's largest change is 0.037).",
        f"per cell and method, agree where the 95 % interval of Δ MoRF (cell − natural, paired "
        f"images) lies within ±{LITTLE}, disagree where it lies wholly outside, else inconclusive",
        checks,
        "; ".join(parts) + f" ({small} of {len(checks)} within {LITTLE})",
        "global-tuned / layered-tuned not benched with ROAD",
        mark_for(models, FINDING_CELLS[1]),
    )


def sg_contrast(stats, models, outcomes, cell: str, other: str) -> Check | None:
    """MoRF(SG) − MoRF(other) in one cell, paired over the images its models explained."""
    members = [m for m in models if m.get("cell") == cell]
    pairs = (
        aggregate.paired(members, members, outcomes, (("sg", "morf"), (other, "morf")))
        if outcomes
        else None
    )
    label = f"SG − {other.upper()}"
    if pairs is not None:
        d = intervals.paired_difference(*pairs)
        if d.value is not None:
            return Check(label, d.value, None if d.ci95 is None else list(d.ci95), note=d.note)
    a, b = morf(stats, cell, "sg"), morf(stats, cell, other)
    return None if a is None or b is None else Check(label, a - b, None, point=True)


def smoothgrad_finding(stats, models, outcomes) -> dict[str, Any]:
    checks, parts = [], []
    for cell in REFERENCE_MORF:
        got = [sg_contrast(stats, models, outcomes, cell, o) for o in ("vg", "ig")]
        if any(c is None for c in got):
            continue
        each = [below(c, 0.0) for c in got]  # type: ignore[arg-type]
        regime = "disagree" if "disagree" in each else combine(each)
        vals = {m: morf(stats, cell, m) for m in PAPER_METHODS}
        best = min(PAPER_METHODS, key=lambda m: np.inf if vals[m] is None else vals[m])
        checks.append((got[0], regime))  # one verdict per regime
        parts.append(
            f"{cell}: lowest {best.upper()} ({_fmt(vals[best])}); "
            + ", ".join(c.text() for c in got)  # type: ignore[union-attr]
            + f" → {regime}"
        )
    hits = sum(o == "agree" for _, o in checks)
    return _finding(
        "SmoothGrad is the most faithful of VG, IG and SG (lowest MoRF) in every regime the "
        "paper reports.",
        "per regime, agree where the 95 % intervals of MoRF(SG) − MoRF(VG) and MoRF(SG) − "
        "MoRF(IG) (the same images) both lie below 0, disagree where one lies above 0, else "
        "inconclusive",
        checks,
        "; ".join(parts) + f" ({hits} of {len(checks)} regimes agree)",
        "VG, IG and SG not all benched",
        mark_for(models, FINDING_CELLS[2]),
    )


def findings(
    stats: dict[str, dict[str, Any]],
    models: list[dict[str, Any]] | None = None,
    outcomes: aggregate.Outcomes | None = None,
) -> list[dict[str, Any]]:
    """One verdict per finding (see the module docstring), with its rule, numbers and mark."""
    models = models or []
    return [
        adversarial_finding(stats, models),
        pruning_finding(stats, models),
        smoothgrad_finding(stats, models, outcomes),
    ]


def not_compared(models: list[dict[str, Any]]) -> str | None:
    """Why the paper comparison does not apply (None: it does): it is about GTSRB only."""
    other = [m["name"] for m in models if m.get("gtsrb") is False]
    if not other:
        return None
    return (
        "the paper's numbers are on GTSRB; "
        + ", ".join(other)
        + " trained on another dataset, so this bench is not compared with them"
    )


def paper_block(
    stats: dict[str, dict[str, Any]], models: list[dict[str, Any]], outcomes: aggregate.Outcomes
) -> dict[str, Any]:
    """results.json's `paper`: the reference, how intervals were made, and the verdicts."""
    why_not = not_compared(models)
    return {
        "source": SOURCE,
        "reference_morf": REFERENCE_MORF,
        "compared": why_not is None,
        "not_compared": why_not,
        "intervals": intervals.settings(),
        "findings": [] if why_not else findings(stats, models, outcomes),
    }


def differences(models: list[dict[str, Any]]) -> list[str]:
    """Where our setup differs from the paper's, read from the benched manifests."""
    archs = sorted({str(m.get("arch")) for m in models})
    # the preset is the build's (results.json keeps it per model from its manifest)
    presets = sorted({str(m.get("preset") or "not recorded") for m in models})
    limits = sorted({reason for m in models for reason in m.get("limits") or ()})
    out = [
        f"Model: {', '.join(archs)} (preset {', '.join(presets)}"
        + (f"; not full builds: {', '.join(limits)}" if limits else "")
        + "); the paper trained ResNet-18 for 100 epochs without augmentation at 32 px.",
        "Test images: a seeded draw from the official GTSRB test set, correctly classified "
        "images only; the paper used a random 80/20 split of the training set, which puts "
        "near-duplicate images of one physical sign (same track) on both sides.",
    ]
    adv = [m for m in models if m.get("cell") == "adversarial"]
    if adv:
        timing = {str(m.get("timing") or "from scratch") for m in adv}
        how = (
            "fine-tuning of the natural parent"
            if timing == {"tuned"}
            else "training " + ", ".join(sorted(timing))
        )
        out.append(
            f"Adversarial: PGD L∞ at ε = 8/255 in pixel units, as {how} (the manifest "
            "has steps and epochs); the paper trained from scratch at ε = 0.1 in "
            "normalised units (0.021–0.023 in pixel units by channel, 5.5–5.9/255), "
            "40 steps."
        )
    if any(str(m.get("cell", "")).startswith("layered") for m in models):
        out.append(
            "Layered: channels removed for real with Torch-Pruning (ratio in each "
            "manifest); the paper masked 10 % of filters, which removes no computation."
        )
    out.append(
        "ROAD: the paper's definition (noisy linear imputation, N(0, 0.01) noise, "
        "p = 1 … 91 %), with one fixed noise seed shared by every regime."
    )
    return out
