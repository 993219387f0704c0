"""The tutorials' picture of a 2-D objective: its filled contour (or 3-D surface) with each run's
search path drawn over it as dots joined by a line, start and end marked, known minima starred.

This is the picture that ends both seed tutorials (``pyplot.contourf(x, y, results, levels=50,
cmap='jet')`` then ``pyplot.plot(xs, ys, '.-', color='w')``); optrun keeps their 50 levels but
defaults to the perceptually uniform ``viridis`` colormap (van der Walt and Smith 2015,
matplotlib's default since 2.0) instead of ``jet``, whose lightness is not monotone and shows
bands that are not in the data (Borland and Taylor 2007, "Rainbow color map (still) considered
harmful", IEEE CG&A 27(2)). The surface is the tutorials' 3-D view (``axis.plot_surface(x, y,
results)``) with the path lifted onto it at height ``f``.

One piece of code draws both: a view (:data:`FLAT` or :data:`SURFACE`) says how the field is
shown, where a point of a path goes (``(x, y)`` or ``(x, y, f)``) and how its ends and the
minima are marked; the paths, labels and legend are drawn the same way for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import PlotError
from .data import (
    DEFAULT_DPI,
    PathSeries,
    contour_levels,
    cut_path,
    grid_values,
    minima_in,
    region_around,
)
from .draw import pyplot, save_and_close, style
from .labels import wrap
from .outputs import check_dpi, output_format
from .thin import THIN_BUDGET

# Drawn path colours, one per run: white first (the tutorials' colour), then hues that stay
# visible on viridis; every path gets a dark outline so it also shows on the light end.
PATH_COLOURS = ("#ffffff", "#ff7f0e", "#ff3b3b", "#00e5ff", "#f781bf", "#c7e9c0", "#ffd92f", "#b3b3ff")


@dataclass(frozen=True)
class Field:
    """The objective on the grid (``X, Y, Z``) with its contour levels, colormap and norm."""

    X: np.ndarray
    Y: np.ndarray
    Z: np.ndarray
    levels: np.ndarray
    logarithmic: bool
    cmap: Any
    norm: Any
    region: np.ndarray


class Flat:
    """The filled contour in the plane; paths at ``(x, y)``."""

    label_pad: ClassVar[dict[str, Any]] = {}
    legend_style: ClassVar[dict[str, Any]] = {
        "loc": "best",
        "framealpha": 0.85,
        "facecolor": "white",
        "edgecolor": "0.6",
    }

    def field(self, plt, fd: Field):
        fig, ax = plt.subplots(figsize=(7.2, 6.0))
        filled = ax.contourf(fd.X, fd.Y, fd.Z, levels=fd.levels, cmap=fd.cmap, norm=fd.norm, extend="neither")
        cbar = fig.colorbar(
            filled,
            ax=ax,
            ticks=_cbar_ticks(fd.levels, fd.logarithmic),
            format=_cbar_format(),
            label="f(x)" + (", log-spaced levels" if fd.logarithmic else ""),
        )
        cbar.ax.tick_params(labelsize=9)
        ax.set_aspect("equal" if _square_enough(fd.region) else "auto")
        ax.set_xlim(fd.region[0])
        ax.set_ylim(fd.region[1])
        return fig, ax

    def coords(self, xy: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, ...]:
        return xy[:, 0], xy[:, 1]

    def mark_minima(self, ax, minima: np.ndarray, objective, label: str) -> None:
        ax.plot(
            minima[:, 0],
            minima[:, 1],
            "*",
            ms=19,
            color="#ffd700",
            mec="black",
            mew=0.8,
            zorder=2,
            ls="none",
            label=label,
        )

    def mark_ends(self, ax, xy: np.ndarray, f: np.ndarray, colour: str, z: int) -> None:
        # start: a ring in the run's colour on a dark ring, the first point visible inside
        ax.plot(
            *xy[0], marker="o", ms=11, mfc="none", mec="black", mew=4.0, alpha=0.75, zorder=z + 1, ls="none"
        )
        ax.plot(*xy[0], marker="o", ms=11, mfc="none", mec=colour, mew=2.0, zorder=z + 1, ls="none")
        ax.plot(*xy[-1], marker="X", ms=11, color=colour, mec="black", mew=0.8, zorder=z + 2, ls="none")


class Surface:
    """The 3-D surface; paths lifted onto it at ``(x, y, f)``."""

    label_pad: ClassVar[dict[str, Any]] = {"labelpad": 8}
    legend_style: ClassVar[dict[str, Any]] = {"loc": "upper left", "framealpha": 0.85}

    def field(self, plt, fd: Field):
        fig = plt.figure(figsize=(7.6, 6.2))
        ax = fig.add_subplot(projection="3d", computed_zorder=False)
        surf = ax.plot_surface(
            fd.X,
            fd.Y,
            np.where(np.isfinite(fd.Z), fd.Z, np.nan),
            cmap=fd.cmap,
            norm=fd.norm,
            rstride=4,
            cstride=4,
            linewidth=0,
            antialiased=True,
            alpha=0.9,
            zorder=1,
        )
        ax.set_zlabel("f(x)", labelpad=8)
        ax.view_init(elev=32, azim=-60)
        fig.colorbar(
            surf,
            ax=ax,
            shrink=0.6,
            pad=0.1,
            label="f(x)",
            ticks=_cbar_ticks(fd.levels, fd.logarithmic),
            format=_cbar_format(),
        )
        return fig, ax

    def coords(self, xy: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, ...]:
        return xy[:, 0], xy[:, 1], f

    def mark_minima(self, ax, minima: np.ndarray, objective, label: str) -> None:
        zmin = np.asarray(objective.value(minima), dtype=float)
        ax.scatter(
            minima[:, 0],
            minima[:, 1],
            zmin,
            s=330,
            marker="*",
            color="#ffd700",
            edgecolor="black",
            linewidths=0.8,
            zorder=2,
            label=label,
        )

    def mark_ends(self, ax, xy: np.ndarray, f: np.ndarray, colour: str, z: int) -> None:
        ax.scatter(
            *xy[0], f[0], s=80, marker="o", facecolor="none", edgecolor=colour, linewidths=2.2, zorder=z + 1
        )
        ax.scatter(
            *xy[-1], f[-1], s=100, marker="X", color=colour, edgecolor="black", linewidths=0.8, zorder=z + 2
        )


FLAT, SURFACE = Flat(), Surface()


def plot_contour(
    objective,
    bounds: np.ndarray,
    paths: Sequence[PathSeries],
    out: str,
    *,
    title: str,
    cmap: str = "viridis",
    dpi: float = DEFAULT_DPI,
    surface: bool = False,
    budget: int = THIN_BUDGET,
    axis_labels: tuple[str, str] = ("x0", "x1"),
) -> str:
    """Draw a 2-D objective's filled contour (or 3-D surface) with each search path; return ``out``.

    ``objective`` has ``value(XY)`` vectorized over ``(..., 2)``, ``name``, ``minima``
    (``(k, 2)``); ``bounds`` is ``(2, 2)``. Paths are cut at their first non-finite point
    and thinned to about ``budget`` points each (:func:`~optrun.plot.thin.thin_path`).
    """
    check_dpi(dpi)
    output_format(out)
    plt = pyplot()
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm

    try:
        cm = colormaps[cmap]
    except KeyError:
        raise PlotError(
            f"unknown colormap '{cmap}'; try viridis, magma, cividis or jet (any name matplotlib knows)"
        ) from None
    drawn = [cut_path(p, budget) for p in paths]
    region = region_around(bounds, [p for p, _ in drawn])
    X, Y, Z = grid_values(objective, region)
    levels, logarithmic = contour_levels(Z)
    fd = Field(X, Y, Z, levels, logarithmic, cm, BoundaryNorm(levels, cm.N, clip=True), region)
    minima = minima_in(objective, region)
    view = SURFACE if surface else FLAT

    with plt.rc_context(style()):
        fig, ax = view.field(plt, fd)
        if minima.size:  # under the paths: a converged run's end marker sits inside the star
            view.mark_minima(ax, minima, objective, _minima_label(minima))
        for i, (path, points) in enumerate(drawn):
            if len(path.xy):
                _draw_path(ax, view, path, points, i, len(drawn))
        ax.set_xlabel(axis_labels[0], **view.label_pad)
        ax.set_ylabel(axis_labels[1], **view.label_pad)
        ax.set_title(wrap(title))
        # start / end legend entries drawn in grey, so they read on the white legend box
        ax.plot([], [], "o", ms=9, mfc="none", mec="0.25", mew=2.0, ls="none", label="start")
        ax.plot([], [], "X", ms=10, color="0.25", mec="black", mew=0.6, ls="none", label="end")
        handles, labels = ax.get_legend_handles_labels()
        # left out of the layout, so that the legend never shrinks the axes
        ax.legend(handles, [wrap(label, 48) for label in labels], **view.legend_style).set_in_layout(False)
        return save_and_close(fig, out, dpi)


def _draw_path(ax, view, path: PathSeries, points: int, i: int, k: int) -> None:
    """Run ``i`` of ``k``: its path (``points`` before thinning) as dots joined by a line, and its ends."""
    xy, f = path.xy, path.f
    colour = PATH_COLOURS[i % len(PATH_COLOURS)]
    note = f"; {len(xy):,} points drawn" if len(xy) < points else ""
    label = f"{path.label} ({points - 1:,} steps{note})"
    # earlier runs are drawn wider, so a later path on the same track leaves them visible
    wider = min(k - 1 - i, 3)
    lw = 1.3 + 0.9 * wider
    size = (5.0 if len(xy) <= 200 else 2.5) + 1.5 * wider
    z = 3 + 3 * i
    ax.plot(
        *view.coords(xy, f),
        ".-",
        color=colour,
        lw=lw,
        ms=size,
        zorder=z,
        path_effects=_outlined(lw + 1.3),
        label=label,
    )
    view.mark_ends(ax, xy, f, colour, z)


def _outlined(width: float = 2.6):
    import matplotlib.patheffects as pe

    return [pe.Stroke(linewidth=width, foreground="black", alpha=0.75), pe.Normal()]


def _minima_label(minima: np.ndarray) -> str:
    return "known minimum" if len(minima) == 1 else f"known minima ({len(minima)})"


def _square_enough(region: np.ndarray) -> bool:
    w = region[:, 1] - region[:, 0]
    return 0.5 <= w[0] / w[1] <= 2.0


def _cbar_format():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:.3g}")


def _cbar_ticks(levels: np.ndarray, logarithmic: bool) -> np.ndarray:
    """About six readable colour-bar ticks among the level boundaries."""
    if not logarithmic:
        import matplotlib.ticker as mt

        return np.array(
            [t for t in mt.MaxNLocator(6).tick_values(levels[0], levels[-1]) if levels[0] <= t <= levels[-1]]
        )
    return levels[np.unique(np.linspace(0, len(levels) - 1, 6).round().astype(int))]
