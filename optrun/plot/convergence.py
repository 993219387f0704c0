"""Convergence figures: ``f - f*`` (or ``f``) against iteration, one panel per objective.

Objectives differ in scale by many decades, so each gets its own panel and y axis, sharing the
iteration axis. A series may carry a matrix of several members (a sweep): its median is drawn
with the interquartile band (25th to 75th percentile across members at each iteration). A line
style per algorithm and a colour per setting (:func:`~optrun.plot.draw.looks`), and the legend
beside the panels (never over a curve or the title), keep a sweep of dozens of configurations
readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import PlotError
from .data import (
    BAND_LINES,
    DEFAULT_DPI,
    CurveSeries,
    LegendEntry,
    Panel,
    fit_values,
    prepare_curve,
    signed_scale,
)
from .draw import looks, pyplot, save_and_close, style
from .labels import wrap
from .outputs import check_dpi, output_format
from .thin import THIN_BUDGET

PANEL_SIZE = (5.6, 3.9)  # inches per subplot when there are several
SINGLE_SIZE = (7.6, 4.8)  # inches of a one-panel convergence figure (before the legend)


def _grid_shape(n: int, columns: int | None = None) -> tuple[int, int]:
    """Rows and columns for ``n`` panels: ``columns`` when given, else side by side up to two,
    then two or three columns."""
    cols = columns or (1 if n == 1 else 2 if n <= 4 else 3)
    return -(-n // cols), cols


def convergence_figure(
    series: Sequence[CurveSeries],
    *,
    title: str,
    panels: Sequence[Panel] | None = None,
    ylabel: str = "f(x) − f*",
    log: bool = True,
    legend: Sequence[LegendEntry] | None = None,
    budget: int = THIN_BUDGET,
    band_lines: int = BAND_LINES,
    xlabel: str = "iteration",
    xlog: bool = False,
    columns: int | None = None,
    legend_below: bool = False,
):
    """Build (not save) the convergence figure: one subplot per :class:`Panel` (shared iteration
    axis, each its own y axis), a series drawn in the panel its ``panel`` index names, with its
    ``colour`` and ``linestyle`` (:func:`looks` when a series has no colour).

    A matrix series is drawn as its median with the interquartile band, shaded while a panel has
    at most ``band_lines`` lines. The legend sits outside the panels, right of them, and the
    figure grows to hold it, so it never covers a curve or the title; ``legend`` gives its rows
    (:class:`LegendEntry`), by default one per series, none for a single series (the title names
    it). Without ``panels`` there is one, with ``ylabel`` and ``log``. The shared x axis is
    labelled ``xlabel``, logarithmic with ``xlog``; ``columns`` fixes the panels per row (the
    regret figure's two); ``legend_below`` puts a legend without section headers under the
    panels, its rows side by side, so a wide figure does not grow wider. Returns the Figure.
    """
    panels = list(panels) if panels else [Panel("", ylabel, log)]
    prepared = _prepared(series, len(panels), budget)

    plt = pyplot()
    from matplotlib.ticker import FuncFormatter

    rows, cols = _grid_shape(len(panels), columns)
    base = SINGLE_SIZE if len(panels) == 1 else (PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows + 0.5)
    with plt.rc_context(style()):
        fig = plt.figure(figsize=base, layout="constrained")
        grid = fig.subplots(rows, cols, sharex=True, squeeze=False)
        axes = list(grid.flat)
        for ax in axes[len(panels) :]:
            fig.delaxes(ax)
        axes = axes[: len(panels)]
        banded = False
        for p, (ax, panel) in enumerate(zip(axes, panels)):
            here = [line for line in prepared if line["series"].panel == p]
            banded |= _draw_panel(ax, panel, here, band_lines, titled=len(panels) > 1)
            below = p + cols
            if below >= len(panels):  # the lowest panel of its column carries the iteration axis
                ax.xaxis.set_tick_params(labelbottom=True)
                ax.set_xlabel(xlabel)
        if xlog:
            axes[0].set_xscale("log")
        else:
            axes[0].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        spans = [(float(line["it"][0]), float(line["it"][-1])) for line in prepared if len(line["it"])]
        if spans:
            lo_it, hi_it = min(a for a, _ in spans), max(b for _, b in spans)
            if hi_it > lo_it:
                axes[0].set_xlim(lo_it, hi_it)
        width = max(60, int(fig.get_figwidth() * 10))
        if len(panels) > 1:
            fig.suptitle(wrap(title, width))
        else:
            axes[0].set_title(wrap(title, width))
        entries = _legend_entries(legend, prepared, banded)
        if entries:
            if legend_below and not any(e.kind == "header" for e in entries):
                _legend_below(fig, entries, base)
            else:
                _outside_legend(fig, entries, base)
    return fig


def _prepared(series: Sequence[CurveSeries], n_panels: int, budget: int) -> list[dict[str, Any]]:
    """Each series thinned for drawing (:func:`~optrun.plot.data.prepare_curve`), its panel
    checked and its colour set (:func:`looks` for a series that has none)."""
    prepared = [prepare_curve(s, budget) for s in series]
    for line in prepared:
        if not 0 <= line["series"].panel < n_panels:
            raise PlotError(
                f"series '{line['series'].label}' names panel {line['series'].panel} of {n_panels}"
            )
    if any(line["series"].colour is None for line in prepared):
        auto = looks([0] * len(prepared), list(range(len(prepared))))
        for line, (colour, _) in zip(prepared, auto):
            if line["series"].colour is None:
                line["colour"] = colour
    for line in prepared:
        line.setdefault("colour", line["series"].colour)
    return prepared


def _draw_panel(ax, panel: Panel, here: list[dict[str, Any]], band_lines: int, titled: bool) -> bool:
    """Draw one panel's lines (and their bands while it has at most ``band_lines`` of them), its
    y axis, reference line, note and grid; return whether a band was shaded."""
    scale, linthresh = signed_scale(here) if panel.signed else ("log" if panel.log else "linear", None)
    notes, bottom, floor = fit_values(here, scale == "log")
    shade = sum(1 for line in here if line["lo"] is not None) <= band_lines
    banded = False
    for line in here:
        s = line["series"]
        ax.plot(
            line["it"], line["mid"], color=line["colour"], ls=s.linestyle, lw=1.8, zorder=3, label=s.label
        )
        if line["lo"] is not None and shade:
            ax.fill_between(
                line["it"], line["lo"], line["hi"], color=line["colour"], alpha=0.2, lw=0, zorder=2
            )
            banded = True
    if scale == "symlog":
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.axhline(0.0, color="0.55", lw=0.8, zorder=1)
        notes.append(f"symmetric log scale, linear within ±{linthresh:g}")
    _mark(ax, panel)
    if scale == "log":
        ax.set_yscale("log")
        top = [
            float(np.nanmax(a[np.isfinite(a)]))
            for line in here
            for a in (line["mid"], line["hi"])
            if a is not None and np.isfinite(a).any()
        ]
        if top and floor is not None:
            low, highest = min(bottom, max(top)), max(top)
            with np.errstate(over="ignore"):  # a diverged run may reach 1e308
                highest = highest * 2.0 if np.isfinite(highest * 2.0) else highest
            ax.set_ylim(low / 2.0 if low / 2.0 > 0 else low, highest)
    ax.set_ylabel(panel.ylabel + (f"\n({'; '.join(notes)})" if notes else ""))
    if titled:
        ax.set_title(panel.title)
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", axis="y", alpha=0.12)
    return banded


def _mark(ax, panel: Panel) -> None:
    """The panel's reference line (dotted) and its note (centred, for a panel without lines)."""
    if panel.hline is not None:
        ax.axhline(panel.hline, color="0.3", ls=":", lw=1.3, zorder=1)
    if panel.note:
        ax.text(0.5, 0.5, wrap(panel.note, 36), transform=ax.transAxes, ha="center", va="center", color="0.3")


def _legend_entries(
    legend: Sequence[LegendEntry] | None, prepared: list[dict[str, Any]], banded: bool
) -> list[LegendEntry]:
    """The legend's rows: those given (a band row only if a band was shaded), else one per
    series (none for a single series: the title names it)."""
    if legend is None:
        legend = (
            []
            if len(prepared) <= 1
            else [
                LegendEntry(
                    s.label if line["members"] == 1 else f"{s.label} (median of {line['members']})",
                    "line",
                    line["colour"],
                    s.linestyle,
                )
                for line in prepared
                for s in [line["series"]]
            ]
        )
        if legend and banded:
            legend.append(LegendEntry("interquartile range", "band"))
    return [e for e in legend if e.kind != "band" or banded]


def _handles(entries: Sequence[LegendEntry]) -> list[Any]:
    """A legend handle per row: an empty one for a header, a patch for a band, else a line."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    for e in entries:
        if e.kind == "header":
            handles.append(Line2D([], [], color="none"))
        elif e.kind == "band":
            handles.append(Patch(facecolor=e.colour, alpha=0.25, lw=0))
        else:
            handles.append(Line2D([], [], color=e.colour, ls=e.linestyle, lw=1.8))
    return handles


def _legend_below(fig, entries: Sequence[LegendEntry], base: tuple[float, float]) -> None:
    """The figure's legend under the panels (its own row in the constrained layout), up to three
    rows side by side; the figure grows in height by the legend's, so the panels keep their size."""
    leg = fig.legend(
        _handles(entries),
        [wrap(e.label, 50) for e in entries],
        loc="outside lower center",
        ncols=min(3, len(entries)),
        handlelength=3.2,
        frameon=True,
        framealpha=1.0,
        edgecolor="0.7",
        borderaxespad=0.3,
    )
    fig.draw_without_rendering()
    fig.set_size_inches(base[0], base[1] + leg.get_window_extent().height / fig.dpi + 0.15)


def _outside_legend(fig, entries: Sequence[LegendEntry], base: tuple[float, float]) -> None:
    """The figure's legend right of the panels (constrained layout gives it its own column, so it
    never covers a curve or the title); the figure grows by the legend's width, and in height or
    by columns when the rows do not fit, so the panels keep their size."""
    handles = _handles(entries)
    labels = [wrap(e.label, 40) for e in entries]

    def place(ncols: int):
        leg = fig.legend(
            handles,
            labels,
            loc="outside right upper",
            ncols=ncols,
            handlelength=3.2,
            frameon=True,
            framealpha=1.0,
            edgecolor="0.7",
            borderaxespad=0.3,
        )
        for e, text in zip(entries, leg.get_texts()):
            if e.kind == "header":
                text.set_fontweight("bold")
        fig.draw_without_rendering()  # the layout, so that the legend has its size
        return leg, leg.get_window_extent()

    leg, box = place(1)
    room = base[1] - 0.3
    if box.height / fig.dpi > room:  # more rows than the panels are tall: up to three columns
        leg.remove()
        leg, box = place(min(3, int(np.ceil(box.height / fig.dpi / room))))
    fig.set_size_inches(base[0] + box.width / fig.dpi + 0.25, max(base[1], box.height / fig.dpi + 0.4))


def plot_convergence(
    series: Sequence[CurveSeries],
    out: str,
    *,
    title: str,
    ylabel: str = "f(x) − f*",
    log: bool = True,
    dpi: float = DEFAULT_DPI,
    budget: int = THIN_BUDGET,
    panels: Sequence[Panel] | None = None,
    legend: Sequence[LegendEntry] | None = None,
    **layout: Any,
) -> str:
    """Draw one line per series against iteration (:func:`convergence_figure`) into ``out``.

    With ``log`` the y axis is logarithmic; values ``<= 0`` (a run that reached ``f*`` to the
    last bit) cannot be drawn there and are clipped to a floor one decade below the smallest
    positive value, and values beyond ``VALUE_CEILING`` (a diverging run) are drawn at it; the
    axis label then says so. Each series is thinned to about ``budget`` points
    (:func:`~optrun.plot.thin.thin_curve`, applied to the median). ``layout`` (``xlabel``,
    ``xlog``, ``columns``) goes to :func:`convergence_figure`. Returns ``out``.
    """
    check_dpi(dpi)
    output_format(out)
    fig = convergence_figure(
        series, title=title, panels=panels, ylabel=ylabel, log=log, legend=legend, budget=budget, **layout
    )
    return save_and_close(fig, out, dpi)
