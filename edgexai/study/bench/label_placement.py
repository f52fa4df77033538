"""Labels beside scatter points that overlap nothing: no other label, no point, no drawn line,
no legend, and stay inside the axes (deterministic; no dependency)."""

from __future__ import annotations

import numpy as np


def repel(fig, ax, labels: list, rings: int = 14) -> None:
    """Place each annotation label (in order) at the nearest spot around its point where it
    overlaps no placed label, no point and no legend, inside the axes: candidate offsets on
    growing rings, the first free one wins (deterministic; no dependency)."""
    if not labels:
        return
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    inside = _box(ax.get_window_extent(r), -2)
    anchors = [ax.transData.transform(t.xy) for t in labels]
    blocked = [(x - 8, y - 8, x + 8, y + 8) for x, y in anchors]
    for line in ax.get_lines():  # labels keep off the drawn lines too
        blocked += [(x - 3, y - 3, x + 3, y + 3) for x, y in _along(ax, line.get_xydata())]
    legend = ax.get_legend()
    if legend is not None:
        blocked.append(_box(legend.get_window_extent(r), 2))
    for t, (x, y) in zip(labels, anchors, strict=True):
        t.set_ha("center")
        t.set_va("center")
        e = t.get_window_extent(r)
        w, h = e.width / 2 + 3, e.height / 2 + 2
        spot = _free_spot(x, y, w, h, blocked, inside, rings)
        blocked.append((spot[0] - w, spot[1] - h, spot[0] + w, spot[1] + h))
        t.xyann = ((spot[0] - x) * 72.0 / fig.dpi, (spot[1] - y) * 72.0 / fig.dpi)
    fig.canvas.draw()


def _along(ax, xy: np.ndarray, step_px: float = 6.0) -> list[tuple[float, float]]:
    """Display points every few pixels along a polyline given in data coordinates."""
    d = ax.transData.transform(np.asarray(xy, float))
    out = []
    for a, b in zip(d[:-1], d[1:], strict=True):
        n = max(int(np.hypot(*(b - a)) / step_px), 1)
        out += [tuple(a + (b - a) * t) for t in np.linspace(0, 1, n + 1)]
    return out


def _free_spot(x, y, w, h, blocked, inside, rings: int) -> tuple[float, float]:
    """The first centre on rings around (x, y) where a (2w × 2h) box is free; else the least
    crowded one tried."""
    best, fewest = (x + w + 10, y), None
    for k in range(rings):
        for a in np.deg2rad(np.arange(0, 360, 20) + (10 if k % 2 else 0)):
            cx = x + np.cos(a) * (w + 10 + 16 * k)
            cy = y + np.sin(a) * (h + 6 + 9 * k)
            box = (cx - w, cy - h, cx + w, cy + h)
            if not (inside[0] <= box[0] and box[2] <= inside[2] and inside[1] <= box[1]):
                continue
            if box[3] > inside[3]:
                continue
            hits = sum(_overlap(box, b) for b in blocked)
            if hits == 0:
                return cx, cy
            if fewest is None or hits < fewest:
                best, fewest = (cx, cy), hits
    return best


def _box(e, pad: float) -> tuple[float, float, float, float]:
    return (e.x0 - pad, e.y0 - pad, e.x1 + pad, e.y1 + pad)


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
