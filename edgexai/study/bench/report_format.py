"""How the bench report writes a cell's numbers: mean (± std over seeds), its 95 % interval,
its ratio to natural; shared by every section's tables."""

from __future__ import annotations

from typing import Any

from edgexai.study.bench.paper_checks import fmt_ci


def fmt(
    stats: dict[str, Any], key: str, digits: int = 3, scale: float = 1.0, ratio: bool = False
) -> str:
    """'mean' or 'mean ± std' (several seeds), optionally with '(×ratio)'."""
    mean = stats["mean"].get(key)
    if mean is None:
        return "–"
    text = f"{mean * scale:.{digits}f}"
    if stats["n"] > 1:
        text += f" ± {stats['std'][key] * scale:.{digits}f}"
    if ratio and key in stats.get("ratio", {}):
        text += f" (×{stats['ratio'][key]:.2f})"
    return text


def fmt_interval(stats: dict[str, Any], key: str, digits: int = 3, ratio: bool = False) -> str:
    """fmt()'s text with the 95 % interval ('[lo, hi]', or why there is none) and, with ratio,
    the paired ratio to natural with its interval."""
    entry = (stats.get("intervals") or {}).get(key)
    text = fmt(stats, key, digits)
    if entry is None or text == "–":
        old = stats.get("ratio", {}).get(key)
        return text + (f" (×{old:.2f})" if ratio and old is not None and text != "–" else "")
    text += fmt_ci(entry["ci95"], digits) or f" ({entry['note']})"
    if ratio and entry.get("ratio") is not None:
        text += f" (×{entry['ratio']:.2f}" + (fmt_ci(entry["ratio_ci95"], 2) + ")")
    return text


def big(stats: dict[str, Any], key: str) -> str:
    """A count (params, MACs) with thousands separators and its percentage of natural."""
    mean = stats["mean"].get(key)
    if mean is None:
        return "–"
    r = stats.get("ratio", {}).get(key)
    return f"{mean:,.0f}" + (f" ({100 * r:.1f} %)" if r is not None else "")


def num(v: float | None, digits: int = 3) -> str:
    """A number, or "–" where there is none."""
    return "–" if v is None else f"{v:.{digits}f}"
