"""Pictures of runs: the tutorials' contour plot with the search path, and convergence curves.

Three kinds of picture, each written as PNG, SVG or PDF (chosen by the file's extension):

* ``contour`` (2-D objectives): a filled contour plot of ``f`` over the run's bounds with each
  run's search path drawn over it as dots joined by a line, start and end marked, and the known
  minima starred. This is the picture that ends both seed tutorials (``pyplot.contourf(x, y,
  results, levels=50, cmap='jet')`` then ``pyplot.plot(xs, ys, '.-', color='w')``); optrun keeps
  their 50 levels but defaults to the perceptually uniform ``viridis`` colormap (van der Walt and
  Smith 2015, matplotlib's default since 2.0) instead of ``jet``, whose lightness is not monotone
  and shows bands that are not in the data (Borland and Taylor 2007, "Rainbow color map (still)
  considered harmful", IEEE CG&A 27(2)).
* ``surface`` (2-D objectives): the tutorials' 3-D view (``axis.plot_surface(x, y, results)``)
  with the path lifted onto the surface at height ``f``.
* ``convergence`` (any dimension): ``f - f*`` against iteration on a logarithmic axis, one line
  per run, or ``f`` itself when ``f*`` is unknown (the axis label says so), one panel per
  objective (objectives differ in scale by many decades). A series may carry a matrix of several
  members (a sweep): its median is drawn with the interquartile band (25th to 75th percentile
  across members at each iteration). A line style per algorithm and a colour per setting, and
  the legend beside the panels (never over a curve or the title), keep a sweep of dozens of
  configurations readable; ``where`` conditions (:func:`parse_where`) choose what is drawn.

Long traces are thinned before drawing so that a 100,000-iteration run plots in bounded time:
at most a few thousand points per series are kept (see :func:`thin_curve`, :func:`thin_path`).

matplotlib is imported only inside the functions that draw, with the headless ``Agg`` backend;
without it a :class:`PlotUnavailable` error (exit 2) says how to install it.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import OptrunError
from .store.read import json_value, parse_pairs, rounds_to, same_value, significant_digits
from .text import flow

KINDS = ("auto", "contour", "surface", "convergence")
FORMATS = ("png", "svg", "pdf")
THIN_BUDGET = 2000  # points kept per path or curve (before the few always-kept extras)
GRID_POINTS = 240  # contour grid resolution per axis
CONTOUR_LEVELS = 50  # as the tutorials
DEFAULT_DPI = 100
VALUE_CEILING = 1e200  # curves are drawn no higher: matplotlib's log ticks overflow past ~1e250
# Drawn path colours, one per run: white first (the tutorials' colour), then hues that stay
# visible on viridis; every path gets a dark outline so it also shows on the light end.
PATH_COLOURS = ("#ffffff", "#ff7f0e", "#ff3b3b", "#00e5ff", "#f781bf", "#c7e9c0", "#ffd92f", "#b3b3ff")


class PlotError(OptrunError):
    """A picture cannot be drawn from these runs with these options (exit 2)."""


class PlotUnavailable(PlotError):
    """matplotlib is not installed (exit 2)."""

    def __init__(self) -> None:
        super().__init__(
            "pictures need matplotlib, which is not installed: pip install matplotlib (or the plot extra: pip install '.[plot]' in the checkout)"
        )


# ---------------------------------------------------------------------------- data in


@dataclass(frozen=True)
class PathSeries:
    """One run's search path on a 2-D objective: ``xy`` is ``(n, 2)``, ``f`` is ``(n,)``."""

    label: str
    xy: np.ndarray
    f: np.ndarray


@dataclass(frozen=True)
class CurveSeries:
    """One line of a convergence plot.

    ``iterations`` is ``(n,)``; ``values`` is ``(n,)`` for one run or ``(m, n)`` for m members
    of a sweep sharing the iterations (NaN where a member has no row), drawn as the median with
    the interquartile band. ``panel`` is the subplot it is drawn in (an index into the figure's
    panels, one per objective); ``colour`` and ``linestyle`` its look (:func:`looks` when
    ``colour`` is ``None``).
    """

    label: str
    iterations: np.ndarray
    values: np.ndarray
    panel: int = 0
    colour: str | None = None
    linestyle: Any = "-"


# ---------------------------------------------------------------------------- thinning


def _log_spaced(n: int, k: int) -> np.ndarray:
    """About ``k`` distinct indices in ``[0, n)``, evenly spaced in ``log(1 + i)``."""
    return np.unique(np.round(np.expm1(np.linspace(0.0, np.log(n), k))).astype(np.int64).clip(0, n - 1))


def thin_curve(values: np.ndarray, budget: int = THIN_BUDGET) -> np.ndarray:
    """Sorted indices of the points of a curve worth drawing; all of them when ``n <= budget``.

    Otherwise the union of: the first and last point; ``budget/4`` indices log-spaced in the
    iteration number (the early iterations, where curves fall fastest); ``budget/4`` evenly
    spaced; and, in each of ``budget/4`` equal buckets, the points where the curve is lowest
    and highest, so oscillations and spikes keep their envelope (the min/max decimation of
    time-series plotting); plus the first and last finite point and the first non-finite one,
    where a run diverges. At most about ``budget + 4`` indices, whatever ``n``.
    """
    v = np.asarray(values, dtype=float)
    n = len(v)
    if n <= budget:
        return np.arange(n)
    q = max(budget // 4, 1)
    parts = [np.array([0, n - 1]), _log_spaced(n, q), np.linspace(0, n - 1, q).round().astype(np.int64)]
    edges = np.linspace(0, n, q + 1).astype(np.int64)
    finite = np.isfinite(v)
    if finite.any():
        w = np.where(finite, v, np.nan)
        starts = edges[:-1]
        lo = np.fmin.reduceat(w, starts)
        hi = np.fmax.reduceat(w, starts)
        bucket = np.repeat(np.arange(q), np.diff(edges))
        with np.errstate(invalid="ignore"):
            is_lo = w == lo[bucket]
            is_hi = w == hi[bucket]
        # the first index in each bucket that attains the bucket's min (max)
        for hit in (is_lo, is_hi):
            idx = np.flatnonzero(hit)
            if idx.size:
                _, first = np.unique(bucket[idx], return_index=True)
                parts.append(idx[first])
        fi = np.flatnonzero(finite)
        parts.append(fi[[0, -1]])
    bad = np.flatnonzero(~finite)
    if bad.size:
        parts.append(bad[:1])
    return np.unique(np.concatenate(parts))


def thin_path(xy: np.ndarray, budget: int = THIN_BUDGET) -> np.ndarray:
    """Sorted indices of the points of a search path worth drawing; all when ``n <= budget``.

    Otherwise the union of: first and last point; ``3 budget/4`` points evenly spaced in arc length
    along the path (where the search moves, it keeps points; where it creeps near a minimum, it
    drops them); ``budget/4`` log-spaced in the iteration number (the first steps, which
    decide where the search goes); and, when these coincide, enough evenly spaced iterations to
    fill the budget. At most about ``budget + 2`` indices, whatever ``n``.
    ``xy`` must be finite (cut a diverging path at its first non-finite point first).
    """
    p = np.asarray(xy, dtype=float)
    n = len(p)
    if n <= budget:
        return np.arange(n)
    early = max(budget // 4, 1)
    along = max(budget - early, 1)
    parts = [np.array([0, n - 1]), _log_spaced(n, early)]
    seg = np.sqrt(np.sum(np.diff(p, axis=0) ** 2, axis=1))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] > 0:
        targets = np.linspace(0.0, s[-1], along)
        parts.append(np.searchsorted(s, targets, side="left").clip(0, n - 1))
    else:
        parts.append(np.linspace(0, n - 1, along).round().astype(np.int64))
    idx = np.unique(np.concatenate(parts))
    if len(idx) < budget:  # samples that coincided: fill up the budget evenly in iteration
        idx = np.unique(
            np.concatenate([idx, np.linspace(0, n - 1, budget - len(idx)).round().astype(np.int64)])
        )
    return idx


# ---------------------------------------------------------------------------- matplotlib


def require_matplotlib() -> None:
    """Raise :class:`PlotUnavailable` unless matplotlib can be imported (pyplot is not loaded)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable() from None


def _pyplot():
    """matplotlib's pyplot on the headless Agg backend (imported here, never at start-up)."""
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable() from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style() -> dict[str, Any]:
    return {
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.fontsize": 9.5,
        "xtick.labelsize": 10,
        "ytick.labelsize": 10,
        "figure.constrained_layout.use": True,
        "figure.constrained_layout.w_pad": 0.1,
        "figure.constrained_layout.h_pad": 0.08,
        "svg.hashsalt": "optrun",
        "svg.fonttype": "path",
    }


def output_format(path: str) -> str:
    """``png``, ``svg`` or ``pdf`` from the file name, checked before any drawing starts.

    :class:`PlotError` for another extension or a folder that does not exist.
    """
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in FORMATS:
        raise PlotError(
            f"cannot write '{path}': the file name must end in "
            f"{', '.join('.' + f for f in FORMATS)} (the format is chosen by extension)"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise PlotError(f"cannot write '{path}': the folder {folder} does not exist")
    return ext


def _check_dpi(dpi: float) -> None:
    if not (isinstance(dpi, (int, float)) and 10 <= dpi <= 1200):
        raise PlotError(f"--dpi must be between 10 and 1200, not {dpi}")


def _save(fig, path: str, dpi: float) -> str:
    """Write the figure to ``path`` atomically (a temporary file renamed over it)."""
    fmt = output_format(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(3).hex()}.tmp")
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # log axes near the float64 limit
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata={"Software": "optrun"} if fmt == "png" else None)
        os.replace(tmp, path)
    except OSError as e:
        raise PlotError(f"cannot write '{path}': {e.strerror or e}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _outlined(width: float = 2.6):
    import matplotlib.patheffects as pe

    return [pe.Stroke(linewidth=width, foreground="black", alpha=0.75), pe.Normal()]


def _grid(objective, region: np.ndarray, n: int = GRID_POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X, Y, Z`` on an ``n x n`` grid over ``region`` (``(2, 2)``): one vectorized call."""
    xs = np.linspace(region[0, 0], region[0, 1], n)
    ys = np.linspace(region[1, 0], region[1, 1], n)
    X, Y = np.meshgrid(xs, ys)
    try:
        Z = np.asarray(objective.value(np.stack([X, Y], axis=-1)), dtype=float)
    except Exception as e:  # noqa: BLE001 - a user objective that cannot take a grid
        raise PlotError(
            f"cannot evaluate the objective '{objective.name}' on a grid for the contour: "
            f"{type(e).__name__}: {e}"
        ) from None
    if Z.shape != X.shape:
        raise PlotError(
            f"the objective '{objective.name}' returned values of shape {Z.shape} for a "
            f"grid of shape {X.shape + (2,)}; it must be vectorized over (..., d)"
        )
    return X, Y, Z


def contour_levels(Z: np.ndarray, n: int = CONTOUR_LEVELS) -> tuple[np.ndarray, bool]:
    """``n + 1`` level boundaries for ``Z`` and whether they are logarithmic.

    Linear levels (the tutorials') unless the median of ``Z`` lies in the lowest tenth of its
    range, i.e. half the picture would share 5 of the 50 colours because a few high walls set the
    scale (Rosenbrock's valley, for instance); then the levels are ``min + geomspace`` so every
    decade above the minimum gets its share of colours.
    """
    z = Z[np.isfinite(Z)]
    if z.size == 0:
        raise PlotError("the objective is not finite anywhere on the plotted region")
    lo, hi = float(z.min()), float(z.max())
    if hi <= lo:
        return np.linspace(lo - 0.5, lo + 0.5, n + 1), False
    linear = np.linspace(lo, hi, n + 1)
    if np.median(z) - lo >= 0.1 * (hi - lo):
        return linear, False
    gap = z - lo
    floor = max(float(np.min(gap[gap > 0])), (hi - lo) * 1e-12)
    return lo + np.concatenate([[0.0], np.geomspace(floor, hi - lo, n)]), True


def _region(bounds: np.ndarray, paths: Sequence[PathSeries]) -> np.ndarray:
    """The run's bounds, widened to show a path that leaves them (by at most one box width)."""
    region = np.array(bounds, dtype=float)
    width = region[:, 1] - region[:, 0]
    pts = [p.xy for p in paths if len(p.xy)]
    if pts:
        allp = np.concatenate(pts)
        lo = np.maximum(allp.min(axis=0), region[:, 0] - width)
        hi = np.minimum(allp.max(axis=0), region[:, 1] + width)
        if np.any(lo < region[:, 0]) or np.any(hi > region[:, 1]):
            pad = 0.03 * width
            region[:, 0] = np.minimum(region[:, 0], lo - pad)
            region[:, 1] = np.maximum(region[:, 1], hi + pad)
    return region


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
    and thinned to about ``budget`` points each (:func:`thin_path`).
    """
    _check_dpi(dpi)
    output_format(out)
    plt = _pyplot()
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm

    try:
        cm = colormaps[cmap]
    except KeyError:
        raise PlotError(
            f"unknown colormap '{cmap}'; try viridis, magma, cividis or jet (any name matplotlib knows)"
        ) from None
    drawn = []
    for p in paths:
        xy, f = np.asarray(p.xy, dtype=float), np.asarray(p.f, dtype=float)
        ok = np.isfinite(xy).all(axis=1)
        cut = int(np.argmin(ok)) if not ok.all() else len(xy)
        xy, f = xy[:cut], f[:cut]
        idx = thin_path(xy, budget) if len(xy) else np.arange(0)
        drawn.append((p, xy[idx], f[idx], len(xy)))
    region = _region(bounds, [PathSeries(p.label, xy, f) for p, xy, f, _ in drawn])
    X, Y, Z = _grid(objective, region)
    levels, logarithmic = contour_levels(Z)
    norm = BoundaryNorm(levels, cm.N, clip=True)
    minima = np.asarray(getattr(objective, "minima", np.zeros((0, 2))), dtype=float).reshape(-1, 2)
    minima = minima[np.all((minima >= region[:, 0]) & (minima <= region[:, 1]), axis=1)]

    with plt.rc_context(_style()):
        if surface:
            fig = plt.figure(figsize=(7.6, 6.2))
            ax = fig.add_subplot(projection="3d", computed_zorder=False)
            surf = ax.plot_surface(
                X,
                Y,
                np.where(np.isfinite(Z), Z, np.nan),
                cmap=cm,
                norm=norm,
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
                ticks=_cbar_ticks(levels, logarithmic),
                format=_cbar_format(),
            )
        else:
            fig, ax = plt.subplots(figsize=(7.2, 6.0))
            filled = ax.contourf(X, Y, Z, levels=levels, cmap=cm, norm=norm, extend="neither")
            cbar = fig.colorbar(
                filled,
                ax=ax,
                ticks=_cbar_ticks(levels, logarithmic),
                format=_cbar_format(),
                label="f(x)" + (", log-spaced levels" if logarithmic else ""),
            )
            cbar.ax.tick_params(labelsize=9)
            ax.set_aspect("equal" if _square_enough(region) else "auto")
            ax.set_xlim(region[0])
            ax.set_ylim(region[1])
        k = len(drawn)
        if minima.size:  # under the paths: a converged run's end marker sits inside the star
            if surface:
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
                    label=_minima_label(minima),
                )
            else:
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
                    label=_minima_label(minima),
                )
        for i, (p, xy, f, n_all) in enumerate(drawn):
            if not len(xy):
                continue
            colour = PATH_COLOURS[i % len(PATH_COLOURS)]
            note = f"; {len(xy):,} points drawn" if len(xy) < n_all else ""
            label = f"{p.label} ({n_all - 1:,} steps{note})"
            # earlier runs are drawn wider, so a later path on the same track leaves them visible
            wider = min(k - 1 - i, 3)
            lw = 1.3 + 0.9 * wider
            size = (5.0 if len(xy) <= 200 else 2.5) + 1.5 * wider
            z = 3 + 3 * i
            if surface:
                ax.plot(
                    xy[:, 0],
                    xy[:, 1],
                    f,
                    ".-",
                    color=colour,
                    lw=lw,
                    ms=size,
                    zorder=z,
                    path_effects=_outlined(lw + 1.3),
                    label=label,
                )
                ax.scatter(
                    *xy[0],
                    f[0],
                    s=80,
                    marker="o",
                    facecolor="none",
                    edgecolor=colour,
                    linewidths=2.2,
                    zorder=z + 1,
                )
                ax.scatter(
                    *xy[-1],
                    f[-1],
                    s=100,
                    marker="X",
                    color=colour,
                    edgecolor="black",
                    linewidths=0.8,
                    zorder=z + 2,
                )
            else:
                ax.plot(
                    xy[:, 0],
                    xy[:, 1],
                    ".-",
                    color=colour,
                    lw=lw,
                    ms=size,
                    zorder=z,
                    path_effects=_outlined(lw + 1.3),
                    label=label,
                )
                # start: a ring in the run's colour on a dark ring, the first point visible inside
                ax.plot(
                    *xy[0],
                    marker="o",
                    ms=11,
                    mfc="none",
                    mec="black",
                    mew=4.0,
                    alpha=0.75,
                    zorder=z + 1,
                    ls="none",
                )
                ax.plot(*xy[0], marker="o", ms=11, mfc="none", mec=colour, mew=2.0, zorder=z + 1, ls="none")
                ax.plot(
                    *xy[-1], marker="X", ms=11, color=colour, mec="black", mew=0.8, zorder=z + 2, ls="none"
                )
        pad = {"labelpad": 8} if surface else {}
        ax.set_xlabel(axis_labels[0], **pad)
        ax.set_ylabel(axis_labels[1], **pad)
        ax.set_title(_wrap(title))
        # start / end legend entries drawn in grey, so they read on the white legend box
        ax.plot([], [], "o", ms=9, mfc="none", mec="0.25", mew=2.0, ls="none", label="start")
        ax.plot([], [], "X", ms=10, color="0.25", mec="black", mew=0.6, ls="none", label="end")
        _legend(ax, surface)
        try:
            return _save(fig, out, dpi)
        finally:
            plt.close(fig)


def _minima_label(minima: np.ndarray) -> str:
    return "known minimum" if len(minima) == 1 else f"known minima ({len(minima)})"


def _wrap(text: str, width: int = 60) -> str:
    """Long titles and legend labels broken into lines (explicit line breaks are kept)."""
    import textwrap

    return "\n".join(line for part in text.split("\n") for line in (textwrap.wrap(part, width) or [""]))


def _legend(ax, surface: bool = False) -> None:
    """The legend, labels wrapped, left out of the layout so it never shrinks the axes."""
    handles, labels = ax.get_legend_handles_labels()
    labels = [_wrap(label, 48) for label in labels]
    if surface:
        leg = ax.legend(handles, labels, loc="upper left", framealpha=0.85)
    else:
        leg = ax.legend(handles, labels, loc="best", framealpha=0.85, facecolor="white", edgecolor="0.6")
    leg.set_in_layout(False)


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


# ---------------------------------------------------------------------------- convergence


# One line style per algorithm: solid, dashed, dotted, dash-dot, then dash patterns that stay
# apart at a line width of 1.8 (matplotlib's (offset, (on, off, ...)) in line widths).
LINE_STYLES: tuple[Any, ...] = (
    "-",
    "--",
    ":",
    "-.",
    (0, (8, 2, 1.5, 2, 1.5, 2)),
    (0, (12, 3)),
    (0, (1.5, 1.5)),
    (0, (5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5)),
    (0, (14, 2, 4, 2)),
)
BAND_LINES = 6  # interquartile bands are shaded in a panel of at most this many lines (more is mud)
PANEL_SIZE = (5.6, 3.9)  # inches per subplot when there are several
SINGLE_SIZE = (7.6, 4.8)  # inches of a one-panel convergence figure (before the legend)


def palette(n: int) -> list[str]:
    """``n`` distinct colours: tab10 up to 10; tab20 up to 20 (its ten dark shades first, then
    their light partners, so neighbours differ in hue); beyond that ``n`` samples of the sequential
    ``viridis`` map (its light yellow end left out), where order is what can still be read."""
    try:
        from matplotlib import colormaps
        from matplotlib.colors import to_hex
    except ImportError:
        raise PlotUnavailable() from None

    if n <= 10:
        return [to_hex(c) for c in colormaps["tab10"].colors[:n]]
    if n <= 20:
        tab20 = colormaps["tab20"].colors
        return [to_hex(c) for c in (tab20[0::2] + tab20[1::2])[:n]]
    cmap = colormaps["viridis"]
    return [to_hex(cmap(x)) for x in np.linspace(0.0, 0.9, n)]


def looks(style_keys: Sequence[Any], colour_keys: Sequence[Any]) -> list[tuple[str, Any]]:
    """``(colour, linestyle)`` per line: a line style per style key (the algorithm) and a colour per
    colour key (the setting), so no two lines with different keys look alike.

    When only one of the two varies it sets both colour and style (three algorithms at one setting
    get three colours as well as three styles). With more algorithms than :data:`LINE_STYLES`,
    the styles repeat with a fresh set of colours."""
    styles = list(dict.fromkeys(style_keys))
    colours = list(dict.fromkeys(colour_keys))
    n_styles = len(LINE_STYLES)
    if len(styles) <= 1:
        pal = palette(len(colours))
        return [(pal[colours.index(c)], "-") for c in colour_keys]
    if len(colours) <= 1:
        pal = palette(len(styles))
        return [(pal[styles.index(s)], LINE_STYLES[styles.index(s) % n_styles]) for s in style_keys]
    cycles = -(-len(styles) // n_styles)
    pal = palette(len(colours) * cycles)
    out = []
    for s, c in zip(style_keys, colour_keys):
        si, ci = styles.index(s), colours.index(c)
        out.append((pal[ci + len(colours) * (si // n_styles)], LINE_STYLES[si % n_styles]))
    return out


@dataclass(frozen=True)
class Panel:
    """One subplot of a convergence figure: its title (the objective), y label and scale."""

    title: str
    ylabel: str = "f(x) − f*"
    log: bool = True


@dataclass(frozen=True)
class LegendEntry:
    """A legend row: ``line`` (colour and style), ``band`` (a shaded patch) or ``header`` (a
    bold caption above the rows that follow, as seaborn titles its hue and style sections)."""

    label: str
    kind: str = "line"
    colour: str = "0.25"
    linestyle: Any = "-"


def _prepare(s: CurveSeries, budget: int) -> dict[str, Any]:
    """A series thinned for drawing: iterations, median (or the values) and quartiles."""
    it = np.asarray(s.iterations, dtype=float)
    v = np.asarray(s.values, dtype=float)
    if v.ndim == 1:
        mid, q1, q3 = v, None, None
    elif v.ndim == 2 and v.shape[0] == 1:
        mid, q1, q3 = v[0], None, None
    elif v.ndim == 2:
        with warnings.catch_warnings():  # 'All-NaN slice' where no member has a row
            warnings.simplefilter("ignore", RuntimeWarning)
            q1, mid, q3 = np.nanpercentile(v, [25.0, 50.0, 75.0], axis=0)
    else:
        raise PlotError(f"series '{s.label}' has values of shape {v.shape}; expected (n,) or (m, n)")
    if mid.shape != it.shape:
        raise PlotError(f"series '{s.label}': {mid.shape[0]} values for {it.shape[0]} iterations")
    idx = thin_curve(mid, budget)
    if q1 is not None:  # keep the band's own extremes too
        idx = np.union1d(idx, np.union1d(thin_curve(q1, budget // 4), thin_curve(q3, budget // 4)))
    return {
        "series": s,
        "it": it[idx],
        "mid": mid[idx],
        "lo": None if q1 is None else q1[idx],
        "hi": None if q3 is None else q3[idx],
        "members": v.shape[0] if v.ndim == 2 else 1,
    }


def _fit_values(lines: list[dict[str, Any]], log: bool) -> tuple[list[str], float | None, float | None]:
    """Make one panel's values drawable, in place: beyond ``VALUE_CEILING`` drawn at it (matplotlib's
    axes fail near the float64 limit, which a diverging run reaches); on a log axis values ``<= 0``
    (a run that reached f* to the last bit) drawn one decade below the smallest positive value.
    Returns the notes for the y label, that floor and the smallest positive value."""
    capped = clipped = False
    for line in lines:
        for k in ("mid", "lo", "hi"):
            a = line[k]
            if a is not None:
                big = np.isfinite(a) & (np.abs(a) > VALUE_CEILING)
                capped |= bool(big.any())
                line[k] = np.where(big, np.sign(a) * VALUE_CEILING, a)
    floor = smallest = None
    if log:
        pos = [
            a[np.isfinite(a) & (a > 0)]
            for line in lines
            for a in (line["mid"], line["lo"], line["hi"])
            if a is not None
        ]
        pos = np.concatenate(pos) if pos else np.array([])
        smallest = float(pos.min()) if pos.size else 1e-300
        floor = smallest / 10.0 if smallest / 10.0 > 0 else smallest  # a denormal cannot go lower
        for line in lines:
            for k in ("mid", "lo", "hi"):
                a = line[k]
                if a is not None:
                    bad = np.isfinite(a) & (a <= 0)
                    clipped |= bool(bad.any())
                    line[k] = np.where(bad, floor, a)
    notes = ([f"values <= 0 drawn at {floor:.1e}"] if clipped else []) + (
        [f"beyond {VALUE_CEILING:.0e} drawn at {VALUE_CEILING:.0e}"] if capped else []
    )
    return notes, (floor if clipped else smallest), floor


def _grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns for ``n`` panels: side by side up to two, then two or three columns."""
    cols = 1 if n == 1 else 2 if n <= 4 else 3
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
):
    """Build (not save) the convergence figure: one subplot per :class:`Panel` (shared iteration
    axis, each its own y axis), a series drawn in the panel its ``panel`` index names, with its
    ``colour`` and ``linestyle`` (:func:`looks` when a series has no colour).

    A matrix series is drawn as its median with the interquartile band, shaded while a panel has
    at most ``band_lines`` lines. The legend sits outside the panels, right of them, and the
    figure grows to hold it, so it never covers a curve or the title; ``legend`` gives its rows
    (:class:`LegendEntry`), by default one per series, none for a single series (the title names
    it). Without ``panels`` there is one, with ``ylabel`` and ``log``. Returns the Figure.
    """
    panels = list(panels) if panels else [Panel("", ylabel, log)]
    prepared = [_prepare(s, budget) for s in series]
    for line in prepared:
        if not 0 <= line["series"].panel < len(panels):
            raise PlotError(
                f"series '{line['series'].label}' names panel {line['series'].panel} of {len(panels)}"
            )
    if any(line["series"].colour is None for line in prepared):
        auto = looks([0] * len(prepared), list(range(len(prepared))))
        for line, (colour, _) in zip(prepared, auto):
            if line["series"].colour is None:
                line["colour"] = colour
    for line in prepared:
        line.setdefault("colour", line["series"].colour)

    plt = _pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    rows, cols = _grid_shape(len(panels))
    base = SINGLE_SIZE if len(panels) == 1 else (PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows + 0.5)
    with plt.rc_context(_style()):
        fig = plt.figure(figsize=base, layout="constrained")
        grid = fig.subplots(rows, cols, sharex=True, squeeze=False)
        axes = list(grid.flat)
        for ax in axes[len(panels) :]:
            fig.delaxes(ax)
        axes = axes[: len(panels)]
        banded = False
        for p, (ax, panel) in enumerate(zip(axes, panels)):
            here = [line for line in prepared if line["series"].panel == p]
            notes, bottom, floor = _fit_values(here, panel.log)
            shade = sum(1 for line in here if line["lo"] is not None) <= band_lines
            for line in here:
                s = line["series"]
                ax.plot(
                    line["it"],
                    line["mid"],
                    color=line["colour"],
                    ls=s.linestyle,
                    lw=1.8,
                    zorder=3,
                    label=s.label,
                )
                if line["lo"] is not None and shade:
                    ax.fill_between(
                        line["it"], line["lo"], line["hi"], color=line["colour"], alpha=0.2, lw=0, zorder=2
                    )
                    banded = True
            if panel.log:
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
            if len(panels) > 1:
                ax.set_title(panel.title)
            ax.grid(True, which="major", alpha=0.35)
            ax.grid(True, which="minor", axis="y", alpha=0.12)
            below = p + cols
            if below >= len(panels):  # the lowest panel of its column carries the iteration axis
                ax.xaxis.set_tick_params(labelbottom=True)
                ax.set_xlabel("iteration")
        axes[0].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        spans = [(float(line["it"][0]), float(line["it"][-1])) for line in prepared if len(line["it"])]
        if spans:
            lo_it, hi_it = min(a for a, _ in spans), max(b for _, b in spans)
            if hi_it > lo_it:
                axes[0].set_xlim(lo_it, hi_it)
        wrap = max(60, int(fig.get_figwidth() * 10))
        if len(panels) > 1:
            fig.suptitle(_wrap(title, wrap))
        else:
            axes[0].set_title(_wrap(title, wrap))

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
        entries = [e for e in legend if e.kind != "band" or banded]
        if entries:
            handles = []
            for e in entries:
                if e.kind == "header":
                    handles.append(Line2D([], [], color="none"))
                elif e.kind == "band":
                    handles.append(Patch(facecolor=e.colour, alpha=0.25, lw=0))
                else:
                    handles.append(Line2D([], [], color=e.colour, ls=e.linestyle, lw=1.8))
            _outside_legend(fig, handles, entries, base)
    return fig


def _outside_legend(fig, handles, entries: Sequence[LegendEntry], base: tuple[float, float]) -> None:
    """The figure's legend right of the panels (constrained layout gives it its own column, so it
    never covers a curve or the title); the figure grows by the legend's width, and in height or
    by columns when the rows do not fit, so the panels keep their size."""
    labels = [_wrap(e.label, 40) for e in entries]

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
) -> str:
    """Draw one line per series against iteration (:func:`convergence_figure`) into ``out``.

    With ``log`` the y axis is logarithmic; values ``<= 0`` (a run that reached ``f*`` to the
    last bit) cannot be drawn there and are clipped to a floor one decade below the smallest
    positive value, and values beyond ``VALUE_CEILING`` (a diverging run) are drawn at it; the
    axis label then says so. Each series is thinned to about ``budget`` points (:func:`thin_curve`,
    applied to the median). Returns ``out``.
    """
    _check_dpi(dpi)
    output_format(out)
    fig = convergence_figure(
        series, title=title, panels=panels, ylabel=ylabel, log=log, legend=legend, budget=budget
    )
    return _save_and_close(fig, out, dpi)


def _save_and_close(fig, out: str, dpi: float) -> str:
    plt = _pyplot()
    try:
        with plt.rc_context(_style()):  # the SVG settings apply when the file is written
            return _save(fig, out, dpi)
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------------- from run folders


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _algorithm_text(run) -> str:
    v = run.variant
    return (run.algorithm or "?") + (f" ({v})" if v and v not in ("default", "standard") else "")


def _value_text(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def run_labels(runs: Sequence[Any]) -> list[str]:
    """Short legend labels that tell the runs apart.

    The run's name when names differ (always for a single run; the title names its algorithm),
    the algorithm when algorithms differ and the name does not already say it, then up to three
    config values that every run has but not all share (``alpha=0.05, seed=3``); the run's
    ``name-hash`` (:func:`run_tag`) when two labels would still be equal (identical configs), and
    ``#2`` on the second copy of a run given twice. A run that did not complete says how it
    ended (``[diverged]``).
    """
    names = [str(r.summary.get("name") or r.config.get("name") or r.id) for r in runs]
    algos = [_algorithm_text(r) for r in runs]
    show_name, show_algo = len(runs) == 1 or len(set(names)) > 1, len(set(algos)) > 1
    flat = [_flatten(r.config) for r in runs]
    fixed = {
        "name",
        "algorithm.name",
        "algorithm.variant",
        "iterations",  # the picture shows the steps
        "objective.name",
        "objective.dim",
    }  # the title or the panel names the objective
    if len({(r.objective, r.dim) for r in runs}) > 1:
        fixed.add("bounds")  # each objective's own box
    differ = [
        k
        for k in flat[0]
        if k not in fixed
        and not k.startswith(("expect.", "trace."))
        and all(k in f for f in flat)
        and len({repr(f[k]) for f in flat}) > 1
    ]
    labels = []
    for r, name, algo, f in zip(runs, names, algos, flat):
        status = r.status if r.status != "completed" else ""
        head = name if show_name else ""
        if show_algo and (r.algorithm or "?") not in head:
            head = f"{head}: {algo}" if head else algo
        values = ", ".join(f"{k.rsplit('.', 1)[-1]}={_value_text(f[k])}" for k in differ[:3])
        labels.append(", ".join(x for x in (head, values) if x) + (f" [{status}]" if status else ""))
    first = list(labels)
    for i, label in enumerate(first):
        if first.count(label) > 1 or not label:
            tag = run_tag(runs[i])
            labels[i] = f"{label} ({tag})" if label and tag not in label else tag
    for i, label in enumerate(labels):  # the same run given twice
        before = labels[:i].count(label)
        if before:
            labels[i] = f"{label} (#{before + 1})"
    return labels


_ID_TIME = re.compile(r"^\d{8}-\d{6}(?:\.\d+)?-")


def run_tag(run) -> str:
    """The run's ``name-hash``: its id without the start time (``amsgrad-tutorial-54a7b9``, or
    ``sweep-c7b8d8/7`` for a member), which tells apart two runs of one config."""
    return _ID_TIME.sub("", str(run.id))


def _objective_key(config: dict[str, Any]) -> str:
    return repr(sorted(_flatten({"objective": config.get("objective")}).items()))


def _bounds(run, objective) -> np.ndarray:
    """The run's ``(d, 2)`` box: a resolved config holds one pair per dimension, or one pair for
    all of them; the objective's default box when the config has none."""
    raw = run.config.get("bounds")
    if not raw:
        return np.array(objective.bounds, dtype=float)
    b = np.array(raw, dtype=float)
    if b.ndim == 1:
        d = run.dim if run.dim is not None else (objective.dim if objective is not None else 1)
        b = np.tile(b, (int(d), 1))
    return b


def _dim(run) -> int:
    d = run.dim
    return int(d) if d is not None else len(_bounds(run, None) if run.config.get("bounds") else [])


def _objective_of(run):
    from .config import validate
    from .experiment import build_objective

    return build_objective(validate(run.config, source=os.path.join(run.path, "config.yaml")))


def _trace(run) -> dict[str, np.ndarray]:
    t = run.trace()
    if "f" not in t or len(t["f"]) == 0:
        raise PlotError(f"run {run.id} has no trace rows to plot yet")
    return t


def resolve_kind(runs: Sequence[Any], kind: str = "auto") -> str:
    """``contour`` for 2-D runs whose traces hold x, ``convergence`` otherwise (for ``auto``)."""
    if kind not in KINDS:
        raise PlotError(f"unknown kind '{kind}'; choose one of {', '.join(KINDS)}")
    two_d = all(_dim(r) == 2 for r in runs)
    if kind == "auto":
        return "contour" if two_d else "convergence"
    if kind in ("contour", "surface") and not two_d:
        dims = sorted({_dim(r) for r in runs})
        raise PlotError(
            f"a {kind} plot needs 2-D objectives, but these runs have d = "
            f"{', '.join(map(str, dims))}; use --kind convergence"
        )
    return kind


def default_output(run, kind: str) -> str:
    """Where a picture of one run goes when no file is named: ``<run folder>/<kind>.png``
    (``<sweep folder>/<kind>-member-<N>.png`` for a sweep member)."""
    if getattr(run, "sweep_path", None) is not None:
        return os.path.join(run.sweep_path, f"{kind}-member-{run.member}.png")
    return os.path.join(run.path, f"{kind}.png")


def shared_output(kind: str) -> str:
    """Where a picture of several runs or sweeps goes when no file is named: ``<kind>.png`` in the
    working folder (it belongs to none of them more than to the others); ``kind`` may carry a
    :func:`subset_name` (``convergence-alpha=0.1``)."""
    return os.path.abspath(f"{kind}.png")


SUBSET_NAME_MAX = 80  # characters of a file name given to what was selected (before .png)
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]+")


def subset_name(
    selectors: Sequence[str] = (), where: Sequence[str] = (), only: dict[str, set[int]] | None = None
) -> str:
    """What part of a sweep a picture shows, as it can stand in a file name: the selectors' axis
    values (the text after ``SWEEP:``) joined by ``+``, then the ``where`` conditions joined by
    ``,`` (``algorithm=adam,alpha=0.01``: the same name for a selector and for ``--where``).
    Characters other than letters, digits and ``._=,+-`` become ``_``; a name longer than
    :data:`SUBSET_NAME_MAX` is cut and ends in a hash of the whole, so that two selections never
    share a file. Member numbers (``only`` without selectors, from Python) are named by their hash.
    """
    import hashlib

    said = list(dict.fromkeys(re.sub(r"\s*([=,:])\s*", r"\1", str(s).strip()) for s in selectors))
    text = "+".join(said)
    if where:
        text += ("," if text else "") + ",".join(w.text for w in parse_where(where))
    if not text and only:
        text = (
            "members-"
            + hashlib.sha1(repr(sorted((k, sorted(v)) for k, v in only.items())).encode()).hexdigest()[:8]
        )
    safe = _UNSAFE.sub("_", text).strip("_") or "subset"
    if len(safe) > SUBSET_NAME_MAX:
        safe = safe[: SUBSET_NAME_MAX - 9].rstrip("_,+=") + "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return safe


def default_title(runs: Sequence[Any]) -> str:
    """Objective and algorithm(s): ``sphere (d=2): amsgrad (tutorial)``, or ``... vs ...``.

    With more than three algorithms the variants are left out.
    """
    objs: list[str] = []
    algos: list[str] = []
    for r in runs:
        o = f"{r.objective or '?'} (d={_dim(r)})"
        objs += [o] if o not in objs else []
        a = _algorithm_text(r)
        algos += [a] if a not in algos else []
    if len(algos) > 3:
        algos = list(dict.fromkeys(r.algorithm or "?" for r in runs))
    return f"{', '.join(objs)}: {' vs '.join(algos)}"


def plot_runs(
    runs: Sequence[Any],
    out: str | None = None,
    *,
    kind: str = "auto",
    title: str | None = None,
    cmap: str = "viridis",
    dpi: float = DEFAULT_DPI,
    budget: int = THIN_BUDGET,
    where: Sequence[str] = (),
) -> str:
    """Draw loaded runs (:func:`optrun.store.read.load_run` objects) and return the file written.

    ``kind`` is ``auto`` (contour for 2-D runs, convergence otherwise), ``contour``, ``surface``
    or ``convergence``. ``where`` (``["algorithm=adam", "alpha=0.1"]``, :func:`parse_where`) keeps
    the runs whose config matches. ``out`` defaults to ``<run folder>/<kind>.png`` for one run
    and to ``<kind>.png`` in the working folder for several. A run given twice is drawn once.
    """
    if not runs:
        raise PlotError("give at least one run to plot")
    if where:
        runs = select_runs(runs, parse_where(where))
    given: dict[str, list[Any]] = {}
    for r in runs:
        given.setdefault(str(r.id), []).append(r)
    runs = [rs[0] for rs in given.values()]
    kind = resolve_kind(runs, kind)
    out = out or (default_output(runs[0], kind) if len(runs) == 1 else shared_output(kind))
    output_format(out)
    _check_dpi(dpi)
    title = title or default_title(runs)
    if len(runs) == 1 and runs[0].status != "completed":
        title = f"{title} [{runs[0].status}]"
    labels = [
        label + (f" (given {len(given[str(r.id)])} times)" if len(given[str(r.id)]) > 1 else "")
        for r, label in zip(runs, run_labels(runs))
    ]
    if kind == "convergence":
        return _plot_runs_convergence(runs, labels, out, title, dpi, budget)

    keys = {_objective_key(r.config) for r in runs}
    if len(keys) > 1:
        raise PlotError(
            "these runs are on different objectives, so one contour cannot show them; "
            "plot them one at a time or use --kind convergence"
        )
    objective = _objective_of(runs[0])
    bounds = _bounds(runs[0], objective)
    for r in runs[1:]:
        b = _bounds(r, objective)
        bounds[:, 0] = np.minimum(bounds[:, 0], b[:, 0])
        bounds[:, 1] = np.maximum(bounds[:, 1], b[:, 1])
    paths = []
    for r, label in zip(runs, labels):
        t = _trace(r)
        if "x0" not in t or "x1" not in t:
            raise PlotError(
                f"run {r.id} recorded no x coordinates (trace.x: none), so its path cannot "
                "be drawn; use --kind convergence"
            )
        paths.append(PathSeries(label, np.column_stack([t["x0"], t["x1"]]), t["f"]))
    return plot_contour(
        objective,
        bounds,
        paths,
        out,
        title=title,
        cmap=cmap,
        dpi=dpi,
        surface=kind == "surface",
        budget=budget,
    )


def _y_axis(series: Sequence[CurveSeries], gap: bool) -> tuple[str, bool]:
    """The y label and scale: f - f* on a log scale when every f* is known; otherwise f, on a
    log scale only when every finite value is positive."""
    if gap:
        return "f(x) − f*  (log scale)", True
    finite = np.concatenate([np.asarray(s.values)[np.isfinite(s.values)] for s in series])
    log = bool(finite.size) and bool(np.all(finite > 0))
    return "f(x)  (f* unknown" + ("; log scale)" if log else "; linear scale)"), log


def _panels(keys: Sequence[str], series: Sequence[CurveSeries], gaps: dict[str, bool]) -> list[Panel]:
    """One :class:`Panel` per objective, in order of first appearance (``series[i].panel`` indexes it)."""
    order = list(dict.fromkeys(keys))
    out = []
    for k in order:
        here = [s for s in series if s.panel == order.index(k)]
        ylabel, log = _y_axis(here, gaps[k])
        out.append(Panel(k, ylabel, log))
    return out


def _plot_runs_convergence(runs, labels, out, title, dpi, budget) -> str:
    """One panel per objective (f - f* on its own scale), a line style per algorithm, a colour per
    run."""
    f_stars = []
    for r in runs:
        fs = r.f_min
        if fs is None and "f_min" not in r.summary:  # a run that died before its summary
            try:
                fs = _objective_of(r).f_min
            except OptrunError:
                fs = None
        f_stars.append(fs)
    keys = [f"{r.objective or '?'} (d={_dim(r)})" for r in runs]
    order = list(dict.fromkeys(keys))
    gaps = {k: all(fs is not None for fs, kk in zip(f_stars, keys) if kk == k) for k in order}
    styled = looks([_algorithm_text(r) for r in runs], list(range(len(runs))))
    series = []
    for r, fs, label, key, (colour, ls) in zip(runs, f_stars, labels, keys, styled):
        t = _trace(r)
        series.append(
            CurveSeries(
                label, t["iteration"], t["f"] - fs if gaps[key] else t["f"], order.index(key), colour, ls
            )
        )
    panels = _panels(keys, series, gaps)
    return plot_convergence(series, out, title=title, dpi=dpi, budget=budget, panels=panels)


def plot_run_folder(path: str, out: str | None = None, **options: Any) -> str:
    """Load the run folder at ``path`` and draw it (``optrun run --plot``); return the file written."""
    from .store.read import load_run

    return plot_runs([load_run(path)], out, **options)


# ---------------------------------------------------------------------------- choosing what is drawn
#
# ``--where KEY=VALUE`` (repeatable) keeps the runs, or the sweep members, whose values match:
# KEY as a sweep selector names an axis (``alpha`` for ``algorithm.alpha`` when unambiguous,
# ``algorithm`` for ``algorithm.name``), VALUE typed by YAML. Several values of one key are
# alternatives, different keys must all match. A number matches at the precision it is written
# with (``alpha=0.0316228`` finds 0.03162277660168379, as compare prints it) unless some value
# matches it exactly (``alpha=0.1`` then finds 0.1, not 0.12).


@dataclass(frozen=True)
class Where:
    """One ``KEY=VALUE`` condition: ``value`` typed by YAML, ``digits`` the significant digits a
    number was written with (``None`` for anything else)."""

    key: str
    value: Any
    text: str
    digits: int | None = None


def parse_where(items: Sequence[str]) -> list[Where]:
    """``["algorithm=adam", "alpha=0.1"]`` -> :class:`Where` conditions, read as member selectors
    read theirs (:func:`optrun.store.read.parse_pairs`: YAML-typed values, the digits written)."""
    out = []
    for item in items:
        try:
            pairs = parse_pairs(str(item), "--where", "--where algorithm=adam --where alpha=0.1")
        except OptrunError as e:
            raise PlotError(e.message) from None
        for key, value, raw in pairs:
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            out.append(Where(key, value, f"{key}={raw}", significant_digits(raw) if number else None))
    return out


def value_matches(cell: Any, want: Where, exact: bool = True) -> bool:
    """Does the value ``cell`` (a member-table cell or a config value) satisfy ``want``? Numbers
    compare as member selectors compare them (:func:`optrun.store.read.same_value`), or with
    ``exact=False`` also at ``want.digits`` significant digits; a mapping matches a name
    (``objective=rosenbrock``) or a mapping of some of its keys."""
    cell, v = json_value(cell), want.value
    if isinstance(cell, dict):
        if isinstance(v, dict):
            return all(
                k in cell and value_matches(cell[k], Where(k, x, want.text), exact) for k, x in v.items()
            )
        return cell.get("name") == v
    if same_value(cell, v):
        return True
    return (
        not exact
        and want.digits is not None
        and isinstance(v, (int, float))
        and not isinstance(v, bool)
        and math.isfinite(v)
        and rounds_to(cell, v, want.digits)
    )


def _key_in(key: str, keys: Sequence[str]) -> list[str]:
    """The keys ``key`` names among ``keys``: itself, else ``key.name`` (``algorithm``), else the
    ones it ends (``alpha`` for ``algorithm.alpha``)."""
    if key in keys:
        return [key]
    if key + ".name" in keys:
        return [key + ".name"]
    return [k for k in keys if k.endswith("." + key)]


def _matching(values: Sequence[Any], want: Where) -> list[bool]:
    """Which of ``values`` match ``want``: exactly if any does, else at the written precision."""
    hits = [value_matches(v, want) for v in values]
    return hits if any(hits) else [value_matches(v, want, exact=False) for v in values]


def _shown(values: Sequence[Any]) -> str:
    distinct = list(dict.fromkeys(_value_text(json_value(v)) for v in values))
    return ", ".join(distinct[:12]) + (f", ... ({len(distinct)} values)" if len(distinct) > 12 else "")


def select_members(sweeps: Sequence[Any], wheres: Sequence[Where]) -> dict[str, set[int]]:
    """Sweep id -> the members whose axis values (or base config, for a key that is not an axis)
    match every condition. :class:`PlotError` for a key a sweep does not have, or when nothing
    matches, naming the values that exist."""
    chosen: dict[str, set[int]] = {}
    for s in sweeps:
        rows = s.rows
        base = _flatten({k: v for k, v in s.config.items() if k != "sweep"})
        keep = [True] * len(rows)
        by_key: dict[str, list[bool]] = {}
        for w in wheres:
            axes = _key_in(w.key, s.axes)
            if len(axes) > 1:
                raise PlotError(
                    f"--where {w.text}: '{w.key}' matches the axes {', '.join(axes)} of sweep "
                    f"{s.id}; give the full dotted key"
                )
            if axes:
                cells = [r.get(axes[0]) for r in rows]
                name = axes[0]
            else:
                found = _key_in(w.key, list(base))
                if len(found) != 1:
                    listed = ", ".join(s.axes) or "none"
                    raise PlotError(
                        f"--where {w.text}: sweep {s.id} has no axis or setting '{w.key}' "
                        f"(its axes: {listed})"
                    )
                cells = [base[found[0]]] * len(rows)
                name = found[0]
            hits = _matching(cells, w)
            if not any(hits) and len(sweeps) == 1:
                raise PlotError(
                    f"--where {w.text} matches no member of sweep {s.id}: {name} takes {_shown(cells)}"
                )
            prev = by_key.get(name)
            by_key[name] = hits if prev is None else [a or b for a, b in zip(prev, hits)]
        for hits in by_key.values():
            keep = [a and b for a, b in zip(keep, hits)]
        chosen[s.id] = {int(r["member"]) for r, k in zip(rows, keep) if k}
    if not any(chosen.values()):
        said = " ".join(f"--where {w.text}" for w in wheres)
        whom = f"sweep {sweeps[0].id}" if len(sweeps) == 1 else "these sweeps"
        raise PlotError(f"{said}: no member of {whom} matches all of these")
    return chosen


def select_runs(runs: Sequence[Any], wheres: Sequence[Where]) -> list[Any]:
    """The runs whose resolved config matches every condition (keys as for sweeps, looked up in
    the config). :class:`PlotError` for a key a run does not have or when no run matches."""
    flat = [_flatten(r.config) for r in runs]
    keep = [True] * len(runs)
    by_key: dict[str, list[bool]] = {}
    for w in wheres:
        cells = []
        for r, f in zip(runs, flat):
            found = _key_in(w.key, list(f))
            if len(found) != 1:
                why = "no setting" if not found else f"several settings ({', '.join(found[:4])}) for"
                raise PlotError(f"--where {w.text}: run {r.id} has {why} '{w.key}'")
            cells.append(f[found[0]])
        hits = _matching(cells, w)
        if not any(hits):
            raise PlotError(f"--where {w.text} matches none of these runs: {w.key} takes {_shown(cells)}")
        prev = by_key.get(w.key)
        by_key[w.key] = hits if prev is None else [a or b for a, b in zip(prev, hits)]
    for hits in by_key.values():
        keep = [a and b for a, b in zip(keep, hits)]
    if not any(keep):
        said = " ".join(f"--where {w.text}" for w in wheres)
        raise PlotError(f"{said}: no run matches all of these")
    return [r for r, k in zip(runs, keep) if k]


# ---------------------------------------------------------------------------- sweeps

SWEEP_PLOT_MEMBERS = 1000  # members drawn per configuration at most (evenly spaced by member number)


@dataclass
class SweepLine:
    """One configuration of a sweep as drawn: the members that differ only by seed (those chosen
    by ``where``), the objective it is on (its panel), its algorithm (its line style) and its
    other axis values (its colour)."""

    label: str
    sweep: Any
    members: list[int]
    n: int  # members of the configuration before sampling
    objective: str
    algorithm: str
    setting: dict[str, Any]


def _short_names(keys: Sequence[str]) -> dict[str, str]:
    """``algorithm.alpha`` -> ``alpha``; the full key where the short one would be ambiguous."""
    short = {k: k.rsplit(".", 1)[-1] for k in keys}
    clash = {s for s in short.values() if list(short.values()).count(s) > 1}
    return {k: (k if s in clash else s) for k, s in short.items()}


def _split_axes(sweep: Any, row: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A member's objective text (``rosenbrock (d=10)``), algorithm text (``adam``, with the variant
    when it is swept) and remaining axis values (seed left out) by dotted key."""
    obj = sweep.config.get("objective")
    obj = dict(obj) if isinstance(obj, dict) else {"name": obj}
    algo = sweep.config.get("algorithm")
    algo = dict(algo) if isinstance(algo, dict) else {"name": algo}
    variant_swept = False
    setting: dict[str, Any] = {}
    for axis in sweep.axes:
        if axis == "seed":
            continue
        v = json_value(row.get(axis))
        section, _, rest = axis.partition(".")
        if section in ("objective", "algorithm") and not rest and isinstance(v, dict):
            target = obj if section == "objective" else algo
            kept = ("name", "dim") if section == "objective" else ("name", "variant")
            target.update({k: x for k, x in v.items() if k in kept})
            variant_swept |= section == "algorithm" and "variant" in v
            setting.update({f"{section}.{k}": x for k, x in v.items() if k not in kept})
        elif section in ("objective", "algorithm") and not rest:
            (obj if section == "objective" else algo)["name"] = v
        elif (section, rest) in (
            ("objective", "name"),
            ("objective", "dim"),
            ("algorithm", "name"),
            ("algorithm", "variant"),
        ):
            (obj if section == "objective" else algo)[rest] = v
            variant_swept |= rest == "variant"
        else:
            setting[axis] = v
    dim = obj.get("dim")
    objective = f"{obj.get('name') or '?'}" + (f" (d={dim})" if dim is not None else "")
    algorithm = str(algo.get("name") or "?") + (
        f" ({algo['variant']})" if variant_swept and algo.get("variant") else ""
    )
    return objective, algorithm, setting


def sweep_lines(
    sweeps: Sequence[Any],
    group_by: str | None = None,
    where: Sequence[str] = (),
    max_members: int = SWEEP_PLOT_MEMBERS,
    only: dict[str, set[int]] | None = None,
) -> list[SweepLine]:
    """The configurations of the sweeps to draw (the members that differ only by seed, as
    :func:`optrun.compare.compare_sweeps` groups them), keeping the members ``where`` chooses
    (:func:`parse_where`), only those ``only`` names for a sweep id it holds (the members of a
    ``SWEEP:KEY=VALUE`` selector), and at most ``max_members`` per configuration, evenly spaced."""
    from .compare import compare_sweeps

    comparison = compare_sweeps(sweeps, group_by=group_by)
    by_id = {s.id: s for s in sweeps}
    chosen = select_members(sweeps, parse_where(where)) if where else None
    only = only or {}
    lines = []
    for g in comparison.groups:
        s = by_id[g.sweep]
        members = [
            m
            for m in g.members
            if (chosen is None or m in chosen[s.id]) and (s.id not in only or m in only[s.id])
        ]
        if not members:
            continue
        n = len(members)
        if n > max_members:
            members = [members[i] for i in np.linspace(0, n - 1, max_members).round().astype(int)]
        objective, algorithm, setting = _split_axes(s, s.rows[members[0]])
        label = g.label + (f", sample of {n:,}" if len(members) < n else "")
        lines.append(SweepLine(label, s, members, n, objective, algorithm, setting))
    # a setting one sweep sweeps and another holds fixed: the fixed value, from its config
    keys = list(dict.fromkeys(k for line in lines for k in line.setting))
    for line in lines:
        if len(line.setting) < len(keys):
            base = _flatten({k: v for k, v in line.sweep.config.items() if k != "sweep"})
            line.setting = {k: line.setting[k] if k in line.setting else base.get(k) for k in keys}
    # lines of several sweeps that would look the same are told apart by their sweep
    seen = [(line.objective, line.algorithm, repr(line.setting)) for line in lines]
    if len(set(seen)) < len(seen):
        sides = {g.sweep: g.side for g in comparison.groups}
        for line in lines:
            line.algorithm = f"{sides[line.sweep.id]}: {line.algorithm}"
    return lines


def _curves(lines: Sequence[SweepLine], gaps: Sequence[bool]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per line, the union of its members' recorded iterations and the ``(m, n)`` matrix of their
    f - f* (f where ``gaps`` says f* is not used). A member that stopped early keeps its last
    value (it is frozen, not missing). Every batch file is read once, whatever the lines."""
    wanted: dict[str, set[int]] = {}
    for line in lines:
        wanted.setdefault(line.sweep.id, set()).update(line.members)
    by_id = {line.sweep.id: line.sweep for line in lines}
    read = {sid: by_id[sid].traces(sorted(ms)) for sid, ms in wanted.items()}
    out = []
    for line, gap in zip(lines, gaps):
        traces = read[line.sweep.id]
        its = [traces[m]["iteration"] for m in line.members]
        grid = np.unique(np.concatenate(its)) if its else np.empty(0, dtype=np.int64)
        values = np.full((len(line.members), grid.size), np.nan)
        for k, m in enumerate(line.members):
            t = traces[m]
            if t["iteration"].size == 0:
                continue
            f = t["f"] - line.sweep.rows[m]["f_min"] if gap else t["f"]
            idx = np.searchsorted(t["iteration"], grid, side="right") - 1
            ok = idx >= 0
            values[k, ok] = f[idx[ok]]
        out.append((grid, values))
    return out


def _has_f_star(line: SweepLine) -> bool:
    return all(line.sweep.rows[m].get("f_min") is not None for m in line.members)


def sweep_curves(
    sweeps: Sequence[Any],
    group_by: str | None = None,
    max_members: int = SWEEP_PLOT_MEMBERS,
    where: Sequence[str] = (),
) -> tuple[list[CurveSeries], bool]:
    """One :class:`CurveSeries` per configuration of the sweeps (:func:`sweep_lines`), holding the
    ``(m, n)`` matrix of its members' f - f* (or f when some f* is unknown: the second value
    returned is whether it is the gap) on the union of their recorded iterations."""
    lines = sweep_lines(sweeps, group_by, where, max_members)
    gap = all(_has_f_star(line) for line in lines)
    return [
        CurveSeries(line.label, grid, values)
        for line, (grid, values) in zip(lines, _curves(lines, [gap] * len(lines)))
    ], gap


def _value_label(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}={_value_label(x)}" for k, x in v.items())
    return _value_text(v) if not isinstance(v, bool) else flow(v)


def plot_sweeps(
    sweeps: Sequence[Any],
    out: str | None = None,
    *,
    group_by: str | None = None,
    title: str | None = None,
    dpi: float = DEFAULT_DPI,
    budget: int = THIN_BUDGET,
    where: Sequence[str] = (),
    only: dict[str, set[int]] | None = None,
    selectors: Sequence[str] = (),
) -> str:
    """Convergence of sweeps (:func:`optrun.store.read.load_sweep` objects); returns the file written.

    Per configuration (:func:`sweep_lines`) the median of f - f* across its members, with the
    interquartile band; one panel per objective (own y scale, f - f* on a log scale where f* is
    known), a line style per algorithm and a colour per setting (the other axes), the legend
    outside the panels. ``where`` (``["algorithm=adam", "alpha=0.1"]``) chooses the members drawn,
    and ``only`` (sweep id -> member numbers: the groups ``SWEEP:KEY=VALUE`` selectors name) too.
    ``out`` defaults to ``<sweep folder>/convergence.png`` for one sweep, ``convergence.png`` in
    the working folder for several; a part of them (``where``, ``only``) is written beside it as
    ``convergence-<what>.png`` (:func:`subset_name` of ``selectors``, the selectors' text after
    ``SWEEP:``, and ``where``), so it never replaces the picture of the whole sweep. The title
    states the settings that every line drawn shares (``alpha = 0.01``), the legend those that differ.
    """
    if not sweeps:
        raise PlotError("give at least one sweep to plot")
    sweeps = list({s.id: s for s in sweeps}.values())
    if out is None:
        name = "convergence" + (f"-{subset_name(selectors, where, only)}" if where or only else "")
        out = os.path.join(sweeps[0].path, f"{name}.png") if len(sweeps) == 1 else shared_output(name)
    output_format(out)
    _check_dpi(dpi)
    lines = sweep_lines(sweeps, group_by, where, only=only)
    if not lines:
        raise PlotError("no member of the sweep is left to draw")
    keys = [line.objective for line in lines]
    order = list(dict.fromkeys(keys))
    gaps = {k: all(_has_f_star(line) for line in lines if line.objective == k) for k in order}
    curves = _curves(lines, [gaps[k] for k in keys])
    if not any(values.size for _, values in curves):
        raise PlotError(f"sweep {sweeps[0].id} has no trace rows to plot")

    setting_keys = list(dict.fromkeys(k for line in lines for k in line.setting))
    short = _short_names(setting_keys)
    # a setting every line shares is said once, in the title; the legend tells the lines apart
    shared = {
        k: lines[0].setting.get(k)
        for k in setting_keys
        if len({repr(json_value(line.setting.get(k))) for line in lines}) == 1
    }
    setting_keys = [k for k in setting_keys if k not in shared]
    settings = [
        ", ".join(f"{short[k]}={_value_label(line.setting.get(k))}" for k in setting_keys) for line in lines
    ]
    algorithms = [line.algorithm for line in lines]
    styled = looks(algorithms, settings)
    n_algos, n_settings = len(set(algorithms)), len(set(settings))
    labels = []
    for line, algo, setting in zip(lines, algorithms, settings):
        parts = ([algo] if n_algos > 1 else []) + ([setting] if n_settings > 1 else [])
        text = ", ".join(parts) or setting or algo
        labels.append(text + (f" (sample of {line.n:,})" if len(line.members) < line.n else ""))
    series = [
        CurveSeries(label, grid, values, order.index(key), colour, ls)
        for label, (grid, values), key, (colour, ls) in zip(labels, curves, keys, styled)
    ]
    panels = _panels(keys, series, gaps)

    per_panel = [sum(1 for line in lines if line.objective == k) for k in order]
    counts = sorted({len(line.members) for line in lines})
    banded = max(counts) > 1 and min(per_panel) <= BAND_LINES
    legend = None
    if n_algos > 1 and n_settings > 1 and n_algos <= len(LINE_STYLES):
        # seaborn's way for two encodings: a section per variable, each row one value
        one_axis = len(setting_keys) == 1
        legend = [LegendEntry("algorithm", "header")]
        legend += [
            LegendEntry(a, "line", "0.25", ls)
            for a, ls in dict.fromkeys((a, s[1]) for a, s in zip(algorithms, styled))
        ]
        legend += [LegendEntry(", ".join(short[k] for k in setting_keys) or "setting", "header")]
        shown = dict.fromkeys((s, c[0]) for s, c in zip(settings, styled))
        legend += [LegendEntry(s.partition("=")[2] if one_axis else s, "line", colour) for s, colour in shown]
        if banded:
            legend.append(LegendEntry("interquartile range", "band"))
    elif len(lines) > 1:
        legend = list(
            dict.fromkeys(LegendEntry(label, "line", c, ls) for label, (c, ls) in zip(labels, styled))
        )
        if banded:
            legend.append(LegendEntry("interquartile range", "band"))
    if title is None:
        algos = list(dict.fromkeys(algorithms))
        name = ", ".join(
            dict.fromkeys(str(s.summary.get("name") or s.config.get("name") or s.id) for s in sweeps)
        )
        head = order[0] if len(order) == 1 else name
        seeds = f"{counts[0]:,} seeds" if len(counts) == 1 else f"{counts[0]:,} to {counts[-1]:,} seeds"
        how = f"median of {seeds} per configuration" if max(counts) > 1 else "one member per configuration"
        drawn_seeds = {
            repr(json_value(line.sweep.rows[m].get("seed"))) for line in lines for m in line.members
        }
        if max(counts) == 1 and len(drawn_seeds) == 1 and all("seed" in line.sweep.axes for line in lines):
            how += (
                f", seed = {_value_label(json_value(lines[0].sweep.rows[lines[0].members[0]].get('seed')))}"
            )
        if banded and max(per_panel) > BAND_LINES:
            how += f"; interquartile range shaded in panels of at most {BAND_LINES} lines"
        elif banded:
            how += ", shaded: interquartile range"
        what = " vs ".join(algos)
        if shared:
            fixed = ", ".join(f"{short[k]} = {_value_label(v)}" for k, v in shared.items())
            what += f", {fixed}" if len(algos) == 1 else f", each with {fixed}"
        title = f"{head}: {what}\n{how}"
    return plot_convergence(series, out, title=title, dpi=dpi, budget=budget, panels=panels, legend=legend)
