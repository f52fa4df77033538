"""The bench report's figure style: one colour per regime cell in every figure, fonts legible
at the width report.html shows them (no figure is wider than the page, so none is scaled down),
constrained layout with the legend and the notes in rows of their own."""

from __future__ import annotations

import textwrap
import zlib

DPI = 128
WIDTH_IN = 9.0  # 1152 px: narrower than report.html's column at 1280 px, so shown unscaled
MIN_FONT_PT = 10.0  # the smallest text in any figure (≥ 9 pt at the displayed width)
_RC = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": MIN_FONT_PT,
    "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT,
    "figure.titlesize": 13,
}

# Eleven clearly distinct colours for the registry's cells, in its table order (natural black,
# adversarial red, then a hue family per pruning regime); cells beyond them take _EXTRA.
PALETTE = (
    "#000000",
    "#e6194b",
    "#4363d8",
    "#42d4f4",
    "#000075",
    "#3cb44b",
    "#808000",
    "#469990",
    "#f58231",
    "#9a6324",
    "#911eb4",
)
_EXTRA = ("#f032e6", "#a9a9a9", "#800000", "#bfef45", "#dcbeff", "#fabed4")


def cell_colours() -> dict[str, str]:
    """{cell: colour} for every cell the regime registry knows, in its order."""
    from edgexai.train.regimes import regime_registry as registry

    cells = registry.cells()
    return {c: (PALETTE + _EXTRA)[i % (len(PALETTE) + len(_EXTRA))] for i, c in enumerate(cells)}


def cell_colour(cell: str) -> str:
    """The cell's colour in every figure; a cell the registry does not know gets a fixed one."""
    known = cell_colours()
    if cell in known:
        return known[cell]
    return _EXTRA[zlib.crc32(cell.encode()) % len(_EXTRA)]


def new_figure(w: float, h: float):
    """A figure in the report's style (Agg canvas, constrained layout, the report's fonts)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def styled(fn):
    """Run a figure function under the report's rcParams (text made inside takes its sizes)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(_RC):
            return fn(*args, **kwargs)

    return wrapper


def caption(fig, lines: list[str]) -> None:
    """Notes under the plot (what was left out and why), wrapped to the figure's width."""
    text = "\n".join(
        textwrap.fill(line, width=int(fig.get_figwidth() * 72 / (MIN_FONT_PT * 0.6)))
        for line in lines
        if line
    )
    if text:
        fig.supxlabel(text, fontsize=MIN_FONT_PT, ha="left", x=0.01, multialignment="left")


def with_legend_row(fig, nrows: int, ncols: int, legend_rows: int, panel_in: float):
    """(panel axes, legend axes): the panels, then a row below them that holds the shared legend
    (in the layout, so the title, the legend and the notes never overlap)."""
    legend_in = 0.28 * legend_rows + 0.15
    gs = fig.add_gridspec(nrows + 1, ncols, height_ratios=[panel_in] * nrows + [legend_in])
    axes = [fig.add_subplot(gs[i // ncols, i % ncols]) for i in range(nrows * ncols)]
    legend_ax = fig.add_subplot(gs[nrows, :])
    legend_ax.set_axis_off()
    return axes, legend_ax


def put_legend(legend_ax, handles: list, ncol: int) -> None:
    legend_ax.legend(handles=handles, loc="center", ncol=ncol, frameon=False)
